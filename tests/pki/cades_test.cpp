// Detached CAdES signatures (pki/cades.h) with LGPKI certificates, as the linkage platform's
// messages carry them: verified by cades_verify and independently by openssl cms -verify; a changed
// byte of the message or of the signature fails; across a root rollover the link certificate joins
// the generations; a server certificate, another hierarchy's signer or an expired one is refused.
#include "lgpki_fixture.h"
#include "pki/cades.h"

namespace jlis::pki {
namespace {

using testing::LgpkiTest;

class CadesTest : public LgpkiTest {
 protected:
  // The signature of `message` by a fresh certificate of `profile`, with its issuing CA embedded.
  std::string signed_by(LgpkiProfile profile, const std::string& message, LgpkiCertificate* cert = nullptr) {
    const LgpkiCertificate c = issued(profile);
    if (cert != nullptr) *cert = c;
    auto cas = save_ca_certificates();
    X509Ptr x509 = x509_from_der(c.der).value();
    const std::string ca = lgpki_crl_name(c.ca, c.generation);
    auto out = cades_sign(message, {x509.get(), subscriber_keys_.at(c.serial).get(), {cas.at(ca).get()}}, now_);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : "";
  }
  Result<CadesVerified> verify(const std::string& sig, const std::string& message, const std::string& root,
                               const std::vector<std::string>& untrusted = {}) {
    auto cas = save_ca_certificates();
    std::vector<X509*> extra;
    for (const auto& name : untrusted) extra.push_back(cas.at(name).get());
    return cades_verify(sig, message, {cas.at(root).get()}, extra, now_);
  }
  static constexpr const char* kMessage = R"({"procedure":"年金給付","items":["世帯情報","所得"]})";
};

// Rule: an organisation certificate's signature verifies, names its signer and its signing time,
// and openssl cms -verify (an independent verifier) accepts it from the root alone.
TEST_F(CadesTest, AnOrganisationCertificatesSignatureVerifiesHereAndInOpenssl) {
  LgpkiCertificate cert;
  const std::string sig = signed_by(LgpkiProfile::organisation, kMessage, &cert);
  auto v = verify(sig, kMessage, "root");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(x509_der(v->signer.get()).value(), cert.der);
  EXPECT_EQ(v->signing_time, now_.load());
  EXPECT_FALSE(v->time_stamped);
  save("message.json", kMessage);
  save("message.p7s", sig);
  int rc = -1;
  const std::string out = cmd("openssl cms -verify -binary -inform DER -in message.p7s -content message.json "
                              "-CAfile root.pem -out /dev/null",
                              &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Verification successful"), std::string::npos) << out;
}

// Rule: a changed byte, in the message or in the signature, and anything that is not a signature,
// is refused with invalid_argument.
TEST_F(CadesTest, AChangedByteOrGarbageIsRefused) {
  const std::string sig = signed_by(LgpkiProfile::organisation, kMessage);
  std::string message = kMessage;
  message[5] ^= 1;
  EXPECT_EQ(verify(sig, message, "root").status().code(), Code::invalid_argument);
  std::string changed = sig;
  changed[changed.size() - 10] ^= 1;
  EXPECT_EQ(verify(changed, kMessage, "root").status().code(), Code::invalid_argument);
  for (const std::string& bad : {std::string(), std::string("not DER"), sig.substr(0, sig.size() / 2), sig + "x"})
    EXPECT_EQ(verify(bad, kMessage, "root").status().code(), Code::invalid_argument) << bad.size();
}

// Rule: after a root rollover a second-generation signer verifies for a relying party trusting the
// first root, through the link certificate the new root's key got from the old one, and not
// without it.
TEST_F(CadesTest, AcrossARolloverTheLinkCertificateJoinsTheGenerations) {
  ASSERT_EQ(lgpki_->new_generation().value(), 2);
  const std::string sig = signed_by(LgpkiProfile::organisation, kMessage);
  auto direct = verify(sig, kMessage, "root-g2");
  EXPECT_TRUE(direct.ok()) << direct.status().to_string();
  auto linked = verify(sig, kMessage, "root", {"root-link-1-2"});
  EXPECT_TRUE(linked.ok()) << linked.status().to_string();
  EXPECT_EQ(verify(sig, kMessage, "root").status().code(), Code::invalid_argument);
}

// Rule: only certificates for signing sign messages (an application server's has serverAuth alone);
// a signer of another hierarchy and a signer past its validity are refused.
TEST_F(CadesTest, AServerCertificateAnotherHierarchyOrAnExpiredSignerIsRefused) {
  const std::string server = signed_by(LgpkiProfile::application_server, kMessage);
  auto refused = verify(server, kMessage, "root");
  EXPECT_EQ(refused.status().code(), Code::invalid_argument);
  LgpkiCertificate cert;
  const std::string sig = signed_by(LgpkiProfile::position, kMessage, &cert);
  EXPECT_TRUE(verify(sig, kMessage, "root").ok());
  EvpPkeyPtr other = testing::make_key();
  testing::CertSpec spec;
  spec.common_name = "Another Root";
  spec.ca = true;
  X509Ptr other_root = testing::make_cert(spec, other.get());
  EXPECT_EQ(cades_verify(sig, kMessage, {other_root.get()}, {}, now_).status().code(), Code::invalid_argument);
  now_ = cert.not_after + 1;
  EXPECT_EQ(verify(sig, kMessage, "root").status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::pki
