// LGPKI beside JPKI in one data directory (pki/lgpki.h): its keys go into the key store JPKI's CA
// keeps its own in (DIR/pki/keys, the same passphrase), under labels of their own, and neither CA
// disturbs the other.
#include <gtest/gtest.h>

#include "ca_fixture.h"
#include "pki/lgpki.h"
#include "requests.h"
#include "test_ca.h"

namespace jlis::pki::testing {
namespace {

TEST_F(CaTest, LgpkiKeepsItsKeysInTheJpkiKeyStoreBesideJpkisOwn) {
  {
    auto conn = db_->connect().value();
    ASSERT_TRUE(LgpkiAuthority::migrate(*conn).is_ok());
    ASSERT_TRUE(LgpkiAuthority::migrate(*conn).is_ok());  // idempotent
  }
  KeyStoreConfig config;
  config.directory = (dir_ / "pki" / "keys").string();
  config.passphrase = "a test passphrase";  // JPKI's (ca_fixture.h)
  auto keys = KeyStore::open(config);
  ASSERT_TRUE(keys.ok()) << keys.status().to_string();
  LgpkiOptions options;
  options.clock = [this] { return now_.load(); };
  auto lgpki = LgpkiAuthority::open(*pool_, *writer_, **keys, options);
  ASSERT_TRUE(lgpki.ok()) << lgpki.status().to_string();
  ASSERT_TRUE((*lgpki)->init().is_ok());
  std::set<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "pki" / "keys")) files.insert(e.path().filename());
  for (const char* f : {"lgpki-root-g1.key.pem", "lgpki-organisation-g1.key.pem", "lgpki-position-g1.key.pem",
                        "lgpki-application-g1.key.pem"})
    EXPECT_TRUE(files.count(f)) << f;
  EXPECT_GT(files.size(), 4u);  // JPKI's keys are there too
  for (const auto& f : files)
    EXPECT_TRUE(f.rfind("lgpki-", 0) == 0 || f.rfind("signature-", 0) == 0 || f.rfind("authentication-", 0) == 0)
        << f;
  // Both issue.
  EvpPkeyPtr key = make_key();
  LgpkiIssuance in;
  in.profile = LgpkiProfile::document_signing;
  in.request = request_der({key.get()});
  in.subject = {"131016", "千代田区", "", "", "千代田区 電子公印"};
  auto cert = (*lgpki)->issue(in);
  ASSERT_TRUE(cert.ok()) << cert.status().to_string();
  EXPECT_TRUE(ca_->load_keys().is_ok());
  auto crls = ca_->generate_crls();
  ASSERT_TRUE(crls.ok()) << crls.status().to_string();
  // The LGPKI key files are opened with the same passphrase by a new store, as a new process would.
  lgpki->reset();
  keys->reset();
  keys = KeyStore::open(config);
  ASSERT_TRUE(keys.ok());
  auto reopened = LgpkiAuthority::open(*pool_, *writer_, **keys, options);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_TRUE((*reopened)->make_crl(LgpkiCa::organisation, 1).ok());
  // With the wrong passphrase the authority opens (its keys are loaded when they first sign), and
  // signing is refused: no certificate and no CRL is made or recorded.
  config.passphrase = "another passphrase";
  auto wrong = KeyStore::open(config);
  ASSERT_TRUE(wrong.ok());
  auto locked = LgpkiAuthority::open(*pool_, *writer_, **wrong, options);
  ASSERT_TRUE(locked.ok()) << locked.status().to_string();
  in.request = request_der({make_key().get()});
  EXPECT_EQ((*locked)->issue(in).status().code(), Code::permission_denied);
  EXPECT_EQ((*locked)->make_crl(LgpkiCa::organisation, 1).status().code(), Code::permission_denied);
  auto conn = pool_->acquire().value();
  EXPECT_EQ(conn->query_int64("SELECT COUNT(*) FROM lgpki_certificates", {}).value(), std::optional<int64_t>(1));
  EXPECT_EQ(conn->query_int64("SELECT COUNT(*) FROM lgpki_crls WHERE name = ?",
                              {lgpki_crl_name(LgpkiCa::organisation, 1)}).value(),
            std::optional<int64_t>(1));
}

}  // namespace
}  // namespace jlis::pki::testing
