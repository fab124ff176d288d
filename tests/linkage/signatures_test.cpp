// Signed messages (linkage/signatures.h): a body's message is accepted only with a CMS signature over
// its exact bytes by a certificate that chains to LGPKI, whose OCSP status is good and no older than
// the freshness limit, and that is registered to the body acting; each refusal names its rule. The
// LGPKI is real (its CAs, its OCSP responder in-process, on an injected clock); so are the store,
// the message log and OpenSSL.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "../pki/lgpki_fixture.h"
#include "auth/directory.h"
#include "common/clock.h"
#include "common/digest.h"
#include "linkage/bodies.h"
#include "linkage/message_log.h"
#include "linkage/signatures.h"
#include "pki/cades.h"
#include "pki/lgpki_profile.h"

namespace jlis::linkage {
namespace {

using pki::LgpkiCertificate;
using pki::LgpkiProfile;

constexpr std::chrono::seconds kLimit{3600};
constexpr const char* kMessage = R"({"code":"0123456789abcdef0123456789abcdef","procedure":"J031-01"})";

class SignaturesTest : public pki::testing::LgpkiTest {
 protected:
  void SetUp() override {
    pki::testing::LgpkiTest::SetUp();
    if (HasFatalFailure()) return;
    auto conn = db_->connect().value();
    for (Status s : {auth::Directory::migrate(*conn), Bodies::migrate(*conn), migrate_message_log(*conn)})
      ASSERT_TRUE(s.is_ok()) << s.to_string();
    directory_ = std::make_unique<auth::Directory>(*pool_, *writer_);
    bodies_ = std::make_unique<Bodies>(*pool_, *writer_, *directory_);
    pension_ = bodies_->add(BodyKind::pension_service, "日本年金機構", "1011105003233").value().first.body_id;
    city_ = bodies_->add(BodyKind::municipality, "清瀬市", "132217").value().first.body_id;
    cas_ = save_ca_certificates();
  }
  void TearDown() override {
    bodies_.reset();
    directory_.reset();
    pki::testing::LgpkiTest::TearDown();
  }

  MessageVerifier verifier(std::chrono::seconds limit = kLimit) {
    auto v = lgpki_verifier(*lgpki_, limit, [this] { return now_.load(); });
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    return std::move(v).value();
  }
  // A verifier trusting LGPKI's roots, asking `ocsp` and `arl`.
  MessageVerifier verifier_with(OcspService ocsp, ArlService arl) {
    VerifierOptions options;
    for (const auto& [name, ca] : cas_) {
      const bool root = name.rfind("root", 0) == 0 && name.find("link") == std::string::npos;
      (root ? options.trusted : options.untrusted).push_back(pki::x509_from_der(pki::x509_der(ca.get()).value()).value());
    }
    options.ocsp = std::move(ocsp);
    options.arl = std::move(arl);
    options.clock = [this] { return now_.load(); };
    return MessageVerifier::make(std::move(options)).value();
  }
  // An organisation certificate with its key, registered to `body` unless empty.
  LgpkiCertificate certificate(const std::string& body) {
    LgpkiCertificate c = issued(LgpkiProfile::organisation);
    if (!body.empty()) {
      auto added = bodies_->add_certificate(body, pki::x509_pem(pki::x509_from_der(c.der).value().get()).value());
      EXPECT_TRUE(added.ok()) << added.status().to_string();
    }
    return c;
  }
  // The header's value: base64 of the detached CMS signature of `c`'s key over `message`.
  std::string sign(const LgpkiCertificate& c, const std::string& message) {
    auto cert = pki::x509_from_der(c.der).value();
    auto der = pki::cades_sign(message, {cert.get(), subscriber_keys_.at(c.serial).get(), {cas_.at("organisation").get()}},
                               now_);
    EXPECT_TRUE(der.ok()) << der.status().to_string();
    return der.ok() ? pki::base64_encode(*der) : std::string();
  }
  // Verifies and, in a writer transaction, accepts `header` over `message` as `body`'s; answers
  // the refusal's message ("" when accepted).
  std::string refusal(const MessageVerifier& v, const std::string& body, const std::string& message,
                      const std::string& header) {
    auto verified = v.verify(message, header);
    if (!verified.ok()) return verified.status().message();
    Status s = writer_->run([&](store::Connection& conn) -> Status {
      LogAppender log(conn);
      JLIS_RETURN_IF_ERROR(accept_signed(conn, log, body, "query", *verified, iso8601_seconds(now_)));
      return log.finish();
    });
    return s.is_ok() ? "" : s.message();
  }
  static bool names(const std::string& message, std::string_view rule) {
    return message.find("[" + std::string(rule) + "]") != std::string::npos;
  }

  std::unique_ptr<auth::Directory> directory_;
  std::unique_ptr<Bodies> bodies_;
  std::string pension_, city_;
  std::map<std::string, pki::X509Ptr> cas_;
};

// Rule: a message signed by the acting body's registered, good certificate is accepted and logged
// with its bytes and signature, the signer matched by the certificate's SHA-256.
TEST_F(SignaturesTest, TheBodysOwnSignatureIsAcceptedAndLoggedWithTheMessage) {
  const LgpkiCertificate c = certificate(pension_);
  const MessageVerifier v = verifier();
  const std::string header = sign(c, kMessage);
  auto verified = v.verify(kMessage, header);
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  EXPECT_EQ(verified->signer, sha256_hex(c.der));
  EXPECT_EQ(pki::base64_encode(verified->signature), header);
  EXPECT_EQ(refusal(v, pension_, kMessage, header), "");
  auto conn = pool_->acquire().value();
  EXPECT_EQ(log_state(*conn).value().entries, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE sender = '" + pension_ + "' AND kind = 'query'"), 1);
}

// Rule: every way a message fails its signature is refused before anything is written, naming its
// rule: no signature, not base64, not CMS, the bytes changed, a signer outside LGPKI.
TEST_F(SignaturesTest, AMissingForgedOrForeignSignatureIsRefusedByItsRule) {
  const LgpkiCertificate c = certificate(pension_);
  const MessageVerifier v = verifier();
  const std::string good = sign(c, kMessage);
  std::string changed = kMessage;
  changed[10] = changed[10] == '0' ? '1' : '0';
  // A self-made root and a certificate under it, not LGPKI's.
  auto root_key = pki::testing::make_key();
  auto root = pki::testing::make_cert({.common_name = "LGPKI Root (not)", .ca = true}, root_key.get());
  auto foreign_key = pki::testing::make_key();
  auto foreign_cert = pki::testing::make_cert(
      {.common_name = "日本年金機構", .serial_hex = "02", .issuer = root.get(), .issuer_key = root_key.get()},
      foreign_key.get());
  auto foreign_der = pki::cades_sign(kMessage, {foreign_cert.get(), foreign_key.get(), {}}, now_).value();
  const struct {
    std::string name, message, header;
    std::string_view rule;
  } rows[] = {
      {"no signature", kMessage, "", kSignatureMissing},
      {"not base64", kMessage, "%%%", kSignatureInvalid},
      {"not CMS", kMessage, pki::base64_encode("not a signature"), kSignatureInvalid},
      {"the message changed", changed, good, kSignatureInvalid},
      {"a signer outside LGPKI", kMessage, pki::base64_encode(foreign_der), kSignatureInvalid},
  };
  for (const auto& row : rows) {
    const std::string why = refusal(v, pension_, row.message, row.header);
    EXPECT_TRUE(names(why, row.rule)) << row.name << ": " << why;
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log"), 0) << "a refused message is not logged";
}

// Rule: the token says who acts, the certificate must agree: a good LGPKI signature by a certificate
// not registered, registered to another body, or removed is refused [signer-not-registered].
TEST_F(SignaturesTest, ASignerNotRegisteredToTheActingBodyIsRefused) {
  const MessageVerifier v = verifier();
  const LgpkiCertificate unregistered = certificate("");
  const LgpkiCertificate citys = certificate(city_);
  const LgpkiCertificate removed = certificate(pension_);
  ASSERT_TRUE(bodies_->remove_certificate(sha256_hex(removed.der)).is_ok());
  for (const LgpkiCertificate* c : {&unregistered, &citys, &removed}) {
    const std::string why = refusal(v, pension_, kMessage, sign(*c, kMessage));
    EXPECT_TRUE(names(why, kSignerNotRegistered)) << why;
  }
  EXPECT_EQ(refusal(v, city_, kMessage, sign(citys, kMessage)), "") << "the city's own certificate signs for it";
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log"), 1);
}

// Rule: the signer's status is asked by OCSP for every message: a revoked certificate is refused
// at once (LGPKI re-signs its answer on revocation), and no usable answer refuses too.
TEST_F(SignaturesTest, ARevokedSignerOrAnUnansweredStatusIsRefused) {
  const LgpkiCertificate c = certificate(pension_);
  const MessageVerifier v = verifier();
  const std::string header = sign(c, kMessage);
  ASSERT_EQ(refusal(v, pension_, kMessage, header), "");
  ASSERT_TRUE(lgpki_->revoke(c.serial, pki::RevocationReason::key_compromise).ok());
  EXPECT_TRUE(names(refusal(v, pension_, kMessage, header), kSignerRevoked));

  // A responder that cannot answer (an outage): nothing vouches for the signer.
  const LgpkiCertificate other = certificate(pension_);
  const MessageVerifier down =
      verifier_with([](std::string_view) -> Result<std::string> { return unavailable("connection refused"); },
                    [this](X509*) { return lgpki_->published_crl(pki::lgpki_arl_name(1)); });
  EXPECT_TRUE(names(refusal(down, pension_, kMessage, sign(other, kMessage)), kSignerStatusUnknown));
}

// Rule: the signer's issuing CA is checked in its generation's ARL (signed by the root that issued
// the CA): once LGPKI revokes the CA, every certificate it issued is refused, though OCSP still
// answers good for each, and none of them registers; an ARL that cannot be had refuses too.
TEST_F(SignaturesTest, ACertificateOfARevokedIssuingCaIsRefusedByTheArl) {
  const LgpkiCertificate c = certificate(pension_);
  const std::string header = sign(c, kMessage);
  ASSERT_EQ(refusal(verifier(), pension_, kMessage, header), "");

  // A verifier as the platform's, but for where its ARLs come from.
  auto responder = lgpki_->ocsp_responder().value();
  const auto with_arls = [&](ArlService arl) {
    return verifier_with([responder](std::string_view request) { return responder->answer(request)->der; },
                         std::move(arl));
  };
  // No ARL to be had, another list, an ARL past its nextUpdate: nothing vouches for the issuing CA.
  std::string why = refusal(with_arls([](X509*) -> Result<std::string> { return unavailable("connection refused"); }),
                            pension_, kMessage, header);
  EXPECT_TRUE(names(why, kSignerStatusUnknown)) << why;
  why = refusal(with_arls([this](X509*) { return lgpki_->make_crl(pki::LgpkiCa::organisation, 1); }), pension_,
                kMessage, header);
  EXPECT_TRUE(names(why, kSignerStatusUnknown)) << why;
  const std::string arl = lgpki_->published_crl(pki::lgpki_arl_name(1)).value();
  const MessageVerifier fixed = with_arls([arl](X509*) -> Result<std::string> { return arl; });
  ASSERT_EQ(refusal(fixed, pension_, kMessage, header), "");
  now_ += 400 * 24 * 3600;
  why = fixed.verify(kMessage, header).status().message();
  now_ -= 400 * 24 * 3600;
  EXPECT_NE(why.find("nextUpdate"), std::string::npos) << why;

  ASSERT_TRUE(lgpki_->revoke_ca(pki::LgpkiCa::organisation, 1, pki::RevocationReason::ca_compromise).is_ok());
  why = refusal(verifier(), pension_, kMessage, header);
  EXPECT_TRUE(names(why, kSignerRevoked)) << why;
  EXPECT_NE(why.find("issuing CA"), std::string::npos) << why;
  auto cert = pki::x509_from_der(c.der).value();
  EXPECT_FALSE(verifier().check_certificate(cert.get()).is_ok()) << "a certificate of a revoked CA registers";
}

// Rule: the OCSP freshness limit: an answer older than the limit refuses the message, a longer
// limit accepts it, and a responder whose answers live no longer than the limit (how jlis serve
// opens LGPKI) re-signs in time, so the same signer is accepted as time passes.
TEST_F(SignaturesTest, AnOcspAnswerOlderThanTheLimitIsStaleAndTheLimitIsConfigurable) {
  const LgpkiCertificate c = certificate(pension_);
  const std::string header = sign(c, kMessage);
  ASSERT_EQ(refusal(verifier(), pension_, kMessage, header), "");  // LGPKI's answer signed now, kept 24 h
  now_ += kLimit.count() + 60;
  const std::string why = refusal(verifier(), pension_, kMessage, header);
  EXPECT_TRUE(names(why, kSignerStatusStale)) << why;
  EXPECT_EQ(refusal(verifier(2 * kLimit), pension_, kMessage, header), "") << "a longer limit takes the same answer";

  // LGPKI's answers valid for the limit: re-signed past half of it, never stale.
  pki::LgpkiOptions options;
  options.clock = [this] { return now_.load(); };
  options.public_url = public_url_;
  options.ocsp.validity = kLimit;
  lgpki_.reset();
  lgpki_ = pki::LgpkiAuthority::open(*pool_, *writer_, *keys_, options).value();
  const MessageVerifier v = verifier();
  for (int step = 0; step < 4; ++step, now_ += kLimit.count() * 3 / 4)
    EXPECT_EQ(refusal(v, pension_, kMessage, header), "") << "step " << step;
}

// Rule: what registers a body's certificate: it chains to LGPKI now and may sign messages (a
// server certificate may not); one certificate belongs to one body.
TEST_F(SignaturesTest, OnlyAnLgpkiSigningCertificateRegistersAndToOneBodyOnly) {
  const MessageVerifier v = verifier();
  const LgpkiCertificate org = certificate("");
  const LgpkiCertificate server = issued(LgpkiProfile::application_server);
  auto org_cert = pki::x509_from_der(org.der).value();
  EXPECT_TRUE(v.check_certificate(org_cert.get()).is_ok());
  Status s = v.check_certificate(pki::x509_from_der(server.der).value().get());
  EXPECT_EQ(s.code(), Code::invalid_argument) << s.to_string();

  const std::string pem = pki::x509_pem(org_cert.get()).value();
  ASSERT_TRUE(bodies_->add_certificate(pension_, pem).ok());
  EXPECT_EQ(bodies_->add_certificate(pension_, pem).status().code(), Code::conflict);
  EXPECT_EQ(bodies_->add_certificate(city_, pem).status().code(), Code::conflict);
  EXPECT_EQ(bodies_->add_certificate("pension-service-9999999999999", pem).status().code(), Code::not_found);
  EXPECT_EQ(bodies_->add_certificate(pension_, "not a certificate").status().code(), Code::invalid_argument);
  auto list = bodies_->certificates(pension_).value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].fingerprint, sha256_hex(org.der));
  EXPECT_EQ(list[0].serial, org.serial);
}

}  // namespace
}  // namespace jlis::linkage
