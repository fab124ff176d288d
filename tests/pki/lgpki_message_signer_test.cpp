// The information-linkage platform's message-signing key (LgpkiAuthority::message_signer): J-LIS's
// own certificate under the current generation's organisation CA, whose CMS signatures openssl cms
// verifies from the LGPKI root with the S/MIME signing purpose; made once and kept (across a reopen),
// replaced when revoked, near its expiry or of an older generation; never a local government's.
#include <openssl/x509.h>

#include "lgpki_fixture.h"

namespace jlis::pki {
namespace {

using testing::LgpkiTest;

class LgpkiMessageSignerTest : public LgpkiTest {
 protected:
  std::shared_ptr<const LgpkiOwnKey> signer() {
    auto out = lgpki_->message_signer();
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : nullptr;
  }
  int64_t recorded() { return count("SELECT COUNT(*) FROM lgpki_certificates WHERE profile = 'message-signing'"); }
  // openssl cms -verify of the signer's detached signature over `text`, trusting only the root of
  // `generation`; answers its output ("Verification successful" when it holds).
  std::string openssl_verifies(const LgpkiOwnKey& key, const std::string& text, int generation, int* rc) {
    auto signature = key.sign(text, now_);
    EXPECT_TRUE(signature.ok()) << signature.status().to_string();
    save("answer.json", text);
    save("answer.p7s", signature.ok() ? *signature : "");
    save_ca_certificates();
    const std::string root = generation == 1 ? "root.pem" : "root-g" + std::to_string(generation) + ".pem";
    return cmd("openssl cms -verify -binary -inform DER -in answer.p7s -content answer.json -purpose smimesign "
               "-CAfile " + root + " -out /dev/null",
               rc);
  }
};

// Rule (lgpki_profile.h): the platform's certificate is J-LIS's, from the organisation CA, with
// keyUsage digitalSignature and nonRepudiation, the emailProtection EKU alone and the
// message-signing policy; its signatures verify with openssl cms from the LGPKI root, and the same
// signature over other bytes does not.
TEST_F(LgpkiMessageSignerTest, ItsCertificateIsJLissOwnAndOpensslVerifiesItsSignaturesFromTheRoot) {
  auto key = signer();
  ASSERT_NE(key, nullptr);
  X509* cert = key->x509.get();
  EXPECT_EQ(lgpki_name_text(X509_get_subject_name(cert)),
            "CN=J-LIS Information-Linkage Platform,OU=Information-Linkage Platform,O=LGPKI,C=JP");
  EXPECT_EQ(lgpki_name_text(X509_get_issuer_name(cert)), "OU=Organization CA,O=LGPKI,C=JP");
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION));
  EXPECT_EQ(testing::lgpki_eku(cert), std::vector<std::string>{"1.3.6.1.5.5.7.3.4"});
  EXPECT_EQ(testing::lgpki_policies(cert), std::vector<std::string>{"1.2.392.200149.8.6.1.6"});
  EXPECT_EQ(recorded(), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates WHERE profile = 'message-signing' AND municipality = '' "
                  "AND ca = 'organisation' AND key_label LIKE 'lgpki-message-signing-g1-%'"),
            1);

  int rc = -1;
  std::string out = openssl_verifies(*key, R"({"query_id":"q-1","items":{"A01":"3"}})", 1, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Verification successful"), std::string::npos) << out;
  save("other.json", R"({"query_id":"q-1","items":{"A01":"4"}})");
  out = cmd("openssl cms -verify -binary -inform DER -in answer.p7s -content other.json -purpose smimesign "
            "-CAfile root.pem -out /dev/null",
            &rc);
  EXPECT_NE(rc, 0) << out;
}

// Rule: one key is kept, in this process and for the next; a revoked one is replaced by a new key
// and certificate, so are one within 30 days of its expiry and one of an older generation (then from
// the new organisation CA, verified from the new root).
TEST_F(LgpkiMessageSignerTest, KeptAcrossCallsAndProcessesReplacedWhenRevokedExpiringOrOfAnOlderGeneration) {
  auto first = signer();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(signer(), first);
  open();  // another process
  auto reopened = signer();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->certificate.serial, first->certificate.serial);
  EXPECT_EQ(recorded(), 1);

  ASSERT_TRUE(lgpki_->revoke(first->certificate.serial, RevocationReason::key_compromise).ok());
  auto replaced = signer();
  ASSERT_NE(replaced, nullptr);
  EXPECT_NE(replaced->certificate.serial, first->certificate.serial);
  EXPECT_NE(replaced->certificate.key_label, first->certificate.key_label);
  EXPECT_EQ(recorded(), 2);

  const int64_t until = replaced->certificate.not_after;
  now_ = until - 31 * 86400;
  EXPECT_EQ(signer()->certificate.serial, replaced->certificate.serial);
  now_ = until - 29 * 86400;
  auto renewed = signer();
  ASSERT_NE(renewed, nullptr);
  EXPECT_NE(renewed->certificate.serial, replaced->certificate.serial);
  EXPECT_EQ(recorded(), 3);

  now_ = static_cast<int64_t>(std::time(nullptr));
  ASSERT_EQ(lgpki_->new_generation().value(), 2);
  auto second = signer();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(recorded(), 4);
  EXPECT_EQ(second->certificate.generation, 2);
  int rc = -1;
  const std::string out = openssl_verifies(*second, R"({"records":[]})", 2, &rc);
  EXPECT_EQ(rc, 0) << out;
}

// Rule: the platform's message-signing certificate signs nothing once its issuing CA is revoked
// (revoke_ca): the key is unavailable, here and in another process, and no key or
// certificate is made for the revoked CA; the next generation's organisation CA certifies a new one.
TEST_F(LgpkiMessageSignerTest, RefusedWhileItsIssuingCaIsRevokedThenMadeFromTheNextGeneration) {
  auto first = signer();
  ASSERT_NE(first, nullptr);
  const int64_t keys = key_files();
  ASSERT_TRUE(lgpki_->revoke_ca(LgpkiCa::organisation, 1, RevocationReason::ca_compromise).is_ok());
  for (int call = 0; call < 2; ++call) {
    auto refused = lgpki_->message_signer();
    ASSERT_FALSE(refused.ok()) << "call " << call;
    EXPECT_EQ(refused.status().code(), Code::unavailable) << refused.status().to_string();
  }
  open();  // another process
  EXPECT_EQ(lgpki_->message_signer().status().code(), Code::unavailable);
  EXPECT_EQ(recorded(), 1);
  EXPECT_EQ(key_files(), keys);

  ASSERT_EQ(lgpki_->new_generation().value(), 2);
  auto second = signer();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(recorded(), 2);
  EXPECT_EQ(second->certificate.generation, 2);
}

// Rule: a message-signing certificate is never a local government's: issuance refuses the profile
// for a subject that names one.
TEST_F(LgpkiMessageSignerTest, NoLocalGovernmentGetsAMessageSigningCertificate) {
  auto out = issue(LgpkiProfile::message_signing, kiyose());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::invalid_argument);
  EXPECT_NE(out.status().message().find("J-LIS's own"), std::string::npos) << out.status().message();
  EXPECT_EQ(recorded(), 0);
}

}  // namespace
}  // namespace jlis::pki
