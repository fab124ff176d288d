// LGPKI's time-stamp authority (LgpkiAuthority::time_stamp_authority): J-LIS's own time-stamping
// certificate under the current generation's application CA, whose answers openssl ts verifies
// from the LGPKI root; made once and kept (across a reopen, as another process sees it), replaced
// when revoked, near its expiry, or of an older generation; never a local government's.
#include <openssl/x509.h>

#include <fstream>
#include <iterator>

#include "lgpki_fixture.h"
#include "pki/document_seal.h"
#include "pki/lgpki_workflow.h"
#include "pki/timestamp.h"
#include "pdfs.h"

namespace jlis::pki {
namespace {

using testing::LgpkiTest;

class LgpkiTsaTest : public LgpkiTest {
 protected:
  std::shared_ptr<const TimeStampAuthority> tsa() {
    auto out = lgpki_->time_stamp_authority();
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : nullptr;
  }
  static std::string serial_of(const TimeStampAuthority& t) {
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(t.certificate()), nullptr));
    char* hex = BN_bn2hex(bn.get());
    std::string out(hex);
    OPENSSL_free(hex);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return std::string(32 - std::min<size_t>(32, out.size()), '0') + out;
  }
  int64_t recorded() { return count("SELECT COUNT(*) FROM lgpki_certificates WHERE profile = 'time-stamping'"); }
  // openssl ts -verify of the authority's answer to openssl's own query over `text`, trusting only
  // the root of `generation`; answers its output ("Verification: OK" when it holds).
  std::string openssl_verifies(const TimeStampAuthority& t, const std::string& text, int generation, int* rc) {
    save("data.txt", text);
    const std::string suffix = generation == 1 ? "" : "-g" + std::to_string(generation);
    save_ca_certificates();
    cmd("openssl ts -query -data data.txt -sha256 -cert -out q.tsq", rc);
    EXPECT_EQ(*rc, 0);
    std::ifstream in(tmp_ / "q.tsq", std::ios::binary);
    const std::string query((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto answer = t.respond(query, now_);
    EXPECT_TRUE(answer.ok()) << answer.status().to_string();
    save("a.tsr", answer.ok() ? *answer : "");
    return cmd("openssl ts -verify -data data.txt -in a.tsr -CAfile root" + suffix + ".pem -untrusted application" +
                   suffix + ".pem",
               rc);
  }
};

// Rule (RFC 3161 §2.3, lgpki_profile.h): the authority's certificate is J-LIS's, from the
// application CA, with the time-stamping EKU alone and critical and the time-stamping policy; its
// answers verify with openssl ts from the LGPKI root and name that policy; another file fails.
TEST_F(LgpkiTsaTest, ItsCertificateIsJLissOwnAndOpensslVerifiesItsTimeStampsFromTheRoot) {
  auto t = tsa();
  ASSERT_NE(t, nullptr);
  X509* cert = t->certificate();
  EXPECT_EQ(lgpki_name_text(X509_get_subject_name(cert)),
            "CN=LGPKI Time-Stamping Authority,OU=Time-Stamping Authority,O=LGPKI,C=JP");
  EXPECT_EQ(lgpki_name_text(X509_get_issuer_name(cert)), "OU=Application CA,O=LGPKI,C=JP");
  EXPECT_EQ(testing::lgpki_eku(cert), std::vector<std::string>{"1.3.6.1.5.5.7.3.8"});
  EXPECT_TRUE(testing::lgpki_critical(cert, NID_ext_key_usage));
  EXPECT_EQ(testing::lgpki_policies(cert), std::vector<std::string>{"1.2.392.200149.8.6.1.5"});
  EXPECT_EQ(recorded(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates WHERE profile = 'time-stamping' AND municipality = '' AND "
                  "ca = 'application' AND key_label LIKE 'lgpki-tsa-g1-%'"),
            1);

  int rc = -1;
  std::string out = openssl_verifies(*t, "住民票の写し", 1, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Verification: OK"), std::string::npos) << out;
  out = cmd("openssl ts -reply -in a.tsr -text", &rc);
  EXPECT_NE(out.find("Policy OID: 1.2.392.200149.8.6.1.5"), std::string::npos) << out;
  save("other.txt", "戸籍謄本");
  out = cmd("openssl ts -verify -data other.txt -in a.tsr -CAfile root.pem -untrusted application.pem", &rc);
  EXPECT_NE(rc, 0) << out;
}

// Rule: one authority is kept, in this process and for the next; a revoked one is replaced by a new
// key and certificate (its key never used again), so are one within 30 days of its expiry and one
// of an older generation (then from the new application CA, verified from the new root).
TEST_F(LgpkiTsaTest, KeptAcrossCallsAndProcessesReplacedWhenRevokedExpiringOrOfAnOlderGeneration) {
  auto first = tsa();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(tsa(), first);
  open();  // another process
  auto reopened = tsa();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(serial_of(*reopened), serial_of(*first));
  EXPECT_EQ(recorded(), 1);

  ASSERT_TRUE(lgpki_->revoke(serial_of(*first), RevocationReason::key_compromise).ok());
  auto replaced = tsa();
  ASSERT_NE(replaced, nullptr);
  EXPECT_NE(serial_of(*replaced), serial_of(*first));
  EXPECT_EQ(recorded(), 2);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT key_label) FROM lgpki_certificates WHERE profile = 'time-stamping'"), 2);

  const auto until = lgpki_->certificate(serial_of(*replaced)).value().not_after;
  now_ = until - 31 * 86400;
  EXPECT_EQ(serial_of(*tsa()), serial_of(*replaced));
  now_ = until - 29 * 86400;
  auto renewed = tsa();
  ASSERT_NE(renewed, nullptr);
  EXPECT_NE(serial_of(*renewed), serial_of(*replaced));
  EXPECT_EQ(recorded(), 3);

  now_ = static_cast<int64_t>(std::time(nullptr));
  ASSERT_EQ(lgpki_->new_generation().value(), 2);
  auto second = tsa();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(recorded(), 4);
  EXPECT_EQ(lgpki_->certificate(serial_of(*second)).value().generation, 2);
  int rc = -1;
  const std::string out = openssl_verifies(*second, "附票の写し", 2, &rc);
  EXPECT_EQ(rc, 0) << out;
}

// Rule: J-LIS's time-stamping certificate signs nothing once its issuing CA is revoked (revoke_ca):
// the authority is unavailable, here and in another process, and no key or certificate is
// made for the revoked CA; the next generation's application CA certifies a new one.
TEST_F(LgpkiTsaTest, RefusedWhileItsIssuingCaIsRevokedThenMadeFromTheNextGeneration) {
  auto first = tsa();
  ASSERT_NE(first, nullptr);
  const int64_t keys = key_files();
  ASSERT_TRUE(lgpki_->revoke_ca(LgpkiCa::application, 1, RevocationReason::ca_compromise).is_ok());
  for (int call = 0; call < 2; ++call) {
    auto refused = lgpki_->time_stamp_authority();
    ASSERT_FALSE(refused.ok()) << "call " << call;
    EXPECT_EQ(refused.status().code(), Code::unavailable) << refused.status().to_string();
  }
  open();  // another process
  EXPECT_EQ(lgpki_->time_stamp_authority().status().code(), Code::unavailable);
  EXPECT_EQ(recorded(), 1);
  EXPECT_EQ(key_files(), keys);

  ASSERT_EQ(lgpki_->new_generation().value(), 2);
  auto second = tsa();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(recorded(), 2);
  EXPECT_EQ(lgpki_->certificate(serial_of(*second)).value().generation, 2);
}

// Rule: a time-stamping certificate is never a local government's: issuance refuses the profile
// for a subject that names one.
TEST_F(LgpkiTsaTest, NoLocalGovernmentGetsATimeStampingCertificate) {
  LgpkiSubject s = kiyose();
  auto out = issue(LgpkiProfile::time_stamping, s);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::invalid_argument);
  EXPECT_NE(out.status().message().find("J-LIS's own"), std::string::npos) << out.status().message();
  EXPECT_EQ(recorded(), 0);
}

// Rule: a document sealed without a time-stamp authority of its own is time-stamped by LGPKI's:
// the signature carries a time-stamp token whose signer is that authority.
TEST_F(LgpkiTsaTest, DocumentSealsAreTimeStampedByTheLgpkiAuthority) {
  auto made = make_key_and_request(*keys_, LgpkiProfile::document_signing, "132217");
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  LgpkiIssuance in;
  in.profile = LgpkiProfile::document_signing;
  in.request = made->request;
  in.subject = subject_for(LgpkiProfile::document_signing);
  in.key_label = made->key_label;
  ASSERT_TRUE(lgpki_->issue(in).ok());
  DocumentSeal seal(*lgpki_, *keys_);
  auto sealed = seal.seal("132217", testing::one_page_pdf("住民票"), "住民票の写し", now_);
  ASSERT_TRUE(sealed.ok()) << sealed.status().to_string();
  ASSERT_FALSE(sealed->serial.empty());
  save("sealed.pdf", sealed->pdf);
  int rc = -1;
  std::string out = cmd("pdfsig -dump sealed.pdf && openssl cms -cmsout -print -inform DER -in sealed.pdf.sig0", &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("id-smime-aa-timeStampToken"), std::string::npos) << out;
  // The token carries its authority's certificate (certReq): the name is in the signature's bytes.
  std::ifstream file(tmp_ / "sealed.pdf.sig0", std::ios::binary);
  const std::string cms((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(cms.find("LGPKI Time-Stamping Authority"), std::string::npos);
  EXPECT_EQ(recorded(), 1);
}

}  // namespace
}  // namespace jlis::pki
