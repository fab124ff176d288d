// LGPKI with its CA keys on a PKCS#11 token (SoftHSM2), as JPKI's may be (pki/keys.h): the
// hierarchy, issuance, a CRL and a root rollover sign with keys that never leave the token, and a
// new process finds them again by their labels.
#include <gtest/gtest.h>

#include "lgpki_fixture.h"
#include "softhsm.h"

namespace jlis::pki::testing {
namespace {

constexpr const char* kLgpkiToken = "jlis-lgpki";
constexpr const char* kLgpkiPin = "246810";

class LgpkiPkcs11Test : public LgpkiTest {
 protected:
  static void SetUpTestSuite() {
    module_ = find_softhsm_module();
    char tmpl[] = "/tmp/jlis-lgpki-hsm-XXXXXX";
    if (module_.empty() || mkdtemp(tmpl) == nullptr) return;
    root_ = tmpl;
    token_ready_ = init_softhsm_token(root_, kLgpkiToken, "135791", kLgpkiPin);
  }
  static void TearDownTestSuite() {
    ::unsetenv("SOFTHSM2_CONF");
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  void SetUp() override {
    ASSERT_FALSE(module_.empty()) << "softhsm2 is not installed (the Makefile installs it: make deps)";
    ASSERT_TRUE(token_ready_) << "softhsm2-util --init-token failed";
    LgpkiTest::SetUp();
  }
  KeyStoreConfig key_store_config() override {
    KeyStoreConfig c;
    c.kind = KeyStoreConfig::Kind::pkcs11;
    c.module = module_;
    c.token_label = kLgpkiToken;
    c.pin = kLgpkiPin;
    return c;
  }
  static inline std::string module_, root_;
  static inline bool token_ready_ = false;
};

TEST_F(LgpkiPkcs11Test, TheHierarchyIssuesRevokesAndRollsOverWithKeysOnTheToken) {
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "data" / "pki" / "keys"));  // nothing on disk
  const LgpkiCertificate old_mayor = issued(LgpkiProfile::position);
  ASSERT_TRUE(lgpki_->revoke(old_mayor.serial, RevocationReason::affiliation_changed).ok());
  auto crl = lgpki_->make_crl(LgpkiCa::position, 1);
  ASSERT_TRUE(crl.ok()) << crl.status().to_string();
  ASSERT_EQ(lgpki_->new_generation().status().code(), Code::ok);
  const LgpkiCertificate new_mayor = issued(LgpkiProfile::position);
  save_ca_certificates();
  save_cert(old_mayor, "old-mayor");
  save_cert(new_mayor, "new-mayor");
  save_crl(*crl, "position");
  int rc = -1;
  std::string out = cmd("openssl verify -crl_check -CAfile root.pem -untrusted position.pem -CRLfile "
                        "position.crl.pem old-mayor.pem",
                        &rc);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl verify -CAfile root.pem -untrusted root-link-1-2.pem -untrusted position-g2.pem new-mayor.pem",
            &rc);
  EXPECT_EQ(rc, 0) << out;
  // A new process (a new KeyStore on the same token) loads every key by its label and signs.
  lgpki_.reset();
  keys_.reset();
  keys_ = KeyStore::open(key_store_config()).value();
  open();
  EXPECT_EQ(lgpki_->generation(), 2);
  EXPECT_EQ(issued(LgpkiProfile::document_signing).generation, 2);
  EXPECT_TRUE(lgpki_->make_arl(1).ok());
}

}  // namespace
}  // namespace jlis::pki::testing
