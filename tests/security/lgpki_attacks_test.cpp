// Attacks on LGPKI's public routes (GET /lgpki/crl/{name}.crl, GET /lgpki/ca/{name}.cer): names
// outside the published ones, paths out of the folder, encoded bytes, are 404 JSON and make no list;
// no route answers anything but DER CRLs and certificates (no personal data), with or without a token.
#include "world.h"

namespace jlis::security {
namespace {

class LgpkiAttacks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = e2e::temp_dir("lgpki-attacks");
    ::setenv("JLIS_CA_PASSPHRASE", "security passphrase, not a real one", 1);
    const auto out = e2e::prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                              {"ca", "init", "--data", "{dir}"},
                                              {"lgpki", "init", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 3u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    server_ = std::make_unique<e2e::Server>(dir_);
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<e2e::Server> server_;
};

TEST_F(LgpkiAttacks, NamesOutsideThePublishedListsAndCertificatesAreNotFound) {
  Client client(server_->port());
  for (const char* name :
       {"arl-g2.crl", "position-g0.crl", "root.crl", "POSITION.crl", "position.crl.tmp", "position", ".crl",
        "..%2fposition.crl", "..%2f..%2fpki%2flgpki.json", "position%00.crl", "position.crl%00", "%2e%2e",
        "position.crl.crl", "position-g1.crl", "a-very-long-name-that-goes-on-and-on-and-on.crl"}) {
    auto r = client.get(std::string("/lgpki/crl/") + name);
    EXPECT_TRUE(is_error_json(r, 404)) << name;
  }
  for (const char* name : {"root.crl", "root", "..%2froot.cer", "ROOT.cer", "root-link-1-2.cer", "root-g2.cer",
                           "root.cer%00", "lgpki-root-g1.cer", "lgpki-root-g1.key.pem"}) {
    auto r = client.get(std::string("/lgpki/ca/") + name);
    EXPECT_TRUE(is_error_json(r, 404)) << name;
  }
  // The real ones answer DER, also to a caller with a (bogus) token: the routes take none.
  auto crl = client.get("/lgpki/crl/position.crl", {{"Authorization", "Bearer jlis_not_a_token"}});
  EXPECT_EQ(crl.result_int(), 200);
  EXPECT_EQ(crl[bhttp::field::content_type], "application/pkix-crl");
  auto root = client.get("/lgpki/ca/root.cer");
  EXPECT_EQ(root.result_int(), 200);
  EXPECT_EQ(root.body().find("PRIVATE"), std::string::npos);
}

TEST_F(LgpkiAttacks, RepeatedFetchesServeTheRecordedListAndMakeNoNewOnes) {
  Client client(server_->port());
  auto first = client.get("/lgpki/crl/organisation.crl");
  ASSERT_EQ(first.result_int(), 200);
  for (int i = 0; i < 20; ++i) {
    auto again = client.get("/lgpki/crl/organisation.crl");
    ASSERT_EQ(again.result_int(), 200);
    EXPECT_EQ(again.body(), first.body()) << "a GET signs no new CRL while the last is fresh and nothing changed";
  }
}

}  // namespace
}  // namespace jlis::security
