// LGPKI through the real `jlis` binary (pki/lgpki_commands.h): a municipality files for its mayor's
// position certificate, its registration sub-authority and J-LIS approve, the certificate is issued;
// after revocation, `openssl verify -crl_check` with the CRL fetched from `jlis serve` rejects it,
// and `openssl ocsp` asking `jlis serve`'s LGPKI responder turns from good to revoked, the
// revocation made by another `jlis` process.
// And the refusals: wrong token, wrong government, wrong state, bad input, each exit 1 with nothing
// written.
#include <stdlib.h>

#include <chrono>
#include <thread>

#include "pki_fixture.h"

namespace jlis::e2e {
namespace {

class LgpkiE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("lgpki");
    work_ = dir_ + "-files";
    fs::remove_all(work_);
    fs::create_directories(work_);
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    ::unsetenv("JLIS_TOKEN");
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"lgpki", "init", "--data", "{dir}", "--public-url", "http://lgpki.example.jp"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "132217"},
                                         {"token", "create", "--data", "{dir}", "--role", "lgpki-registration",
                                          "--name", "132217"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                                         {"token", "create", "--data", "{dir}", "--role", "lgpki-registration",
                                          "--name", "131016"},
                                         {"linkage", "key", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 8u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    kiyose_ = out[3].last_line();
    kiyose_registration_ = out[4].last_line();
    chiyoda_ = out[5].last_line();
    chiyoda_registration_ = out[6].last_line();
  }
  void TearDown() override {
    ::unsetenv("JLIS_TOKEN");
    fs::remove_all(dir_);
    fs::remove_all(work_);
  }
  // `jlis lgpki args...` on the directory, as the holder of `token` (empty: the operator).
  Output lgpki(const std::string& token, std::vector<std::string> args) {
    if (token.empty()) ::unsetenv("JLIS_TOKEN");
    else ::setenv("JLIS_TOKEN", token.c_str(), 1);
    args.insert(args.begin(), "lgpki");
    args.insert(args.begin() + 2, {"--data", dir_});
    Output o = jlis(args);
    ::unsetenv("JLIS_TOKEN");
    return o;
  }
  std::vector<std::string> mayor() {
    return {"apply", "--municipality", "132217", "--profile", "position", "--organisation", "清瀬市", "--position", "市長",
            "--common-name", "清瀬市長"};
  }
  std::string filed() {
    const Output o = lgpki(kiyose_, mayor());
    EXPECT_EQ(o.exit_code, 0) << o.err;
    return o.last_line();
  }
  int64_t applications() {
    const Output o = lgpki("", {"list"});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    return static_cast<int64_t>(std::count(o.out.begin(), o.out.end(), '\n')) - 1;
  }
  void save(const std::string& name, const std::string& data) { write_file(fs::path(work_) / name, data); }
  Output in_work(const std::string& line) { return shell("cd " + quote(work_) + " && " + line + " 2>&1"); }

  std::string dir_, work_, kiyose_, kiyose_registration_, chiyoda_, chiyoda_registration_;
};

TEST_F(LgpkiE2E, AMayorsPositionCertificateIsIssuedAndOnceRevokedTheCrlServedOverHttpRejectsIt) {
  const std::string id = filed();
  ASSERT_EQ(id.rfind("la-", 0), 0u) << id;
  Output o = lgpki(kiyose_registration_, {"review", "--application", id});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("state: reviewed"), std::string::npos) << o.out;
  o = lgpki("", {"approve", "--application", id, "--by", "jlis-lgpki"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  o = lgpki("", {"issue", "--application", id, "--by", "jlis-lgpki"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string issued_pem = o.out;
  ASSERT_EQ(issued_pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u) << issued_pem;
  save("mayor.pem", issued_pem);
  // Delivered: the government reads it back with its own token.
  o = lgpki(kiyose_, {"show", "--application", id, "--pem"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, issued_pem);
  o = in_work("openssl x509 -in mayor.pem -noout -subject -nameopt utf8,sep_comma_plus");
  EXPECT_NE(o.out.find("title=市長"), std::string::npos) << o.out;

  Server server(dir_);
  ASSERT_NE(server.port(), 0);
  Client client(server.port());
  auto root = client.get("/lgpki/ca/root.cer");
  ASSERT_EQ(root.result_int(), 200) << root.body();
  EXPECT_EQ(root[bhttp::field::content_type], "application/pkix-cert");
  auto position_ca = client.get("/lgpki/ca/position.cer");
  ASSERT_EQ(position_ca.result_int(), 200);
  save("root.pem", der_to_pem(root.body()));
  save("position-ca.pem", der_to_pem(position_ca.body()));
  auto crl = client.get("/lgpki/crl/position.crl");
  ASSERT_EQ(crl.result_int(), 200) << crl.body();
  EXPECT_EQ(crl[bhttp::field::content_type], "application/pkix-crl");
  save("position.crl.pem", crl_pem(crl.body()));
  const std::string verify =
      "openssl verify -crl_check -CAfile root.pem -untrusted position-ca.pem -CRLfile position.crl.pem mayor.pem";
  o = in_work(verify);
  EXPECT_EQ(o.exit_code, 0) << o.out;
  // The OCSP responder the certificate names, asked with the root alone trusted: good (and cached).
  const std::string ocsp = "openssl ocsp -issuer position-ca.pem -cert mayor.pem -CAfile root.pem -no_nonce -url "
                           "http://127.0.0.1:" + std::to_string(server.port()) + "/lgpki/ocsp";
  o = in_work(ocsp);
  EXPECT_NE(o.out.find("Response verify OK"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("mayor.pem: good"), std::string::npos) << o.out;

  o = lgpki(kiyose_registration_, {"revoke", "--application", id, "--request", "--reason", "affiliationChanged",
                                   "--note", "市長の交代"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  o = lgpki("", {"revoke", "--application", id, "--by", "jlis-lgpki"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("state: revoked"), std::string::npos) << o.out;
  // Every step, with who took it.
  for (const char* step : {"filed by municipality:132217", "reviewed by lgpki-registration:132217",
                           "approved by operator:jlis-lgpki", "issued by operator:jlis-lgpki",
                           "revocation-requested by lgpki-registration:132217", "revoked by operator:jlis-lgpki"})
    EXPECT_NE(o.out.find(step), std::string::npos) << step << "\n" << o.out;
  // Revoked by another process: jlis serve's ticker brings it into its OCSP answers within seconds.
  for (int i = 0; i < 50; ++i) {
    o = in_work(ocsp);
    if (o.out.find("mayor.pem: revoked") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_NE(o.out.find("mayor.pem: revoked"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Reason: affiliationChanged"), std::string::npos) << o.out;

  crl = client.get("/lgpki/crl/position.crl");
  ASSERT_EQ(crl.result_int(), 200);
  save("position.crl.pem", crl_pem(crl.body()));
  o = in_work(verify);
  EXPECT_NE(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("certificate revoked"), std::string::npos) << o.out;

  // The ARL, the other CRLs; unknown names are 404.
  for (const char* name : {"arl", "organisation", "application"}) {
    auto r = client.get(std::string("/lgpki/crl/") + name + ".crl");
    EXPECT_EQ(r.result_int(), 200) << name;
  }
  EXPECT_EQ(client.get("/lgpki/crl/position-g2.crl").result_int(), 404);
  EXPECT_EQ(client.get("/lgpki/ca/root-g3.cer").result_int(), 404);
  EXPECT_EQ(server.stop(), 0);

  // `jlis lgpki crl` writes the lists as files too.
  o = lgpki("", {"crl", "--out", work_ + "/crls"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(fs::exists(work_ + "/crls/position.crl"));
  EXPECT_TRUE(fs::exists(work_ + "/crls/arl.crl"));
}

// Rule: J-LIS revokes a compromised issuing CA with `jlis lgpki revoke-ca` (the operator only, beside
// a running `jlis serve`): the ARL that server serves lists it from then on, so `openssl verify
// -crl_check_all` rejects the mayor's certificate it issued, though that certificate's own CRL
// does not list it; the CA issues no more; bad input, another caller and a second revocation
// exit 1.
TEST_F(LgpkiE2E, ARevokedIssuingCaIsListedInTheServedArlAndItsCertificatesFail) {
  const std::string id = filed();
  ASSERT_EQ(lgpki(kiyose_registration_, {"review", "--application", id}).exit_code, 0);
  ASSERT_EQ(lgpki("", {"approve", "--application", id}).exit_code, 0);
  Output o = lgpki("", {"issue", "--application", id});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  save("mayor.pem", o.out);
  Server server(dir_);
  ASSERT_NE(server.port(), 0);
  Client client(server.port());
  save("root.pem", der_to_pem(client.get("/lgpki/ca/root.cer").body()));
  save("position-ca.pem", der_to_pem(client.get("/lgpki/ca/position.cer").body()));
  const auto lists = [&] {
    save("arl.crl.pem", crl_pem(client.get("/lgpki/crl/arl.crl").body()));
    save("position.crl.pem", crl_pem(client.get("/lgpki/crl/position.crl").body()));
  };
  const std::string verify = "openssl verify -crl_check_all -CAfile root.pem -untrusted position-ca.pem "
                             "-CRLfile arl.crl.pem -CRLfile position.crl.pem mayor.pem";
  lists();
  o = in_work(verify);
  ASSERT_EQ(o.exit_code, 0) << o.out;

  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"revoke-ca", "--ca", "treasury"},
           {"revoke-ca", "--ca", "position", "--generation", "9"},
           {"revoke-ca", "--ca", "position", "--reason", "certificateHold"},
           {"revoke-ca", "--ca", "position", "--reason", "sleepy"}}) {
    o = lgpki("", bad);
    EXPECT_EQ(o.exit_code, 1) << bad[2] << ": " << o.out;
    EXPECT_FALSE(o.err.empty());
  }
  o = lgpki(kiyose_registration_, {"revoke-ca", "--ca", "position"});
  EXPECT_EQ(o.exit_code, 1) << "a government's token: " << o.out;
  o = in_work(verify);
  EXPECT_EQ(o.exit_code, 0) << "nothing revoked yet: " << o.out;

  o = lgpki("", {"revoke-ca", "--ca", "position", "--by", "jlis-security"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("revoked the LGPKI position CA of generation 1"), std::string::npos) << o.out;
  EXPECT_EQ(lgpki("", {"revoke-ca", "--ca", "position"}).exit_code, 1) << "revoked already";
  lists();
  o = in_work("openssl crl -in arl.crl.pem -noout -text");
  EXPECT_NE(o.out.find("CA Compromise"), std::string::npos) << o.out;
  o = in_work(verify);
  EXPECT_NE(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("certificate revoked"), std::string::npos) << o.out;
  o = lgpki(chiyoda_, {"apply", "--municipality", "131016", "--profile", "position", "--organisation", "千代田区",
                       "--position", "区長", "--common-name", "千代田区長"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string next = o.last_line();
  ASSERT_EQ(lgpki(chiyoda_registration_, {"review", "--application", next}).exit_code, 0);
  ASSERT_EQ(lgpki("", {"approve", "--application", next}).exit_code, 0);
  o = lgpki("", {"issue", "--application", next});
  EXPECT_EQ(o.exit_code, 1) << "a revoked CA issues no more: " << o.out;
}

TEST_F(LgpkiE2E, AnApplicationWithItsOwnCsrIsIssuedForThatKey) {
  Output o = in_work("openssl req -new -newkey rsa:2048 -nodes -keyout own.key -subj /CN=ignored -sha256 -out own.csr");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  o = lgpki(kiyose_, {"apply", "--municipality", "132217", "--profile", "document-signing", "--organisation", "清瀬市",
                      "--common-name", "清瀬市 電子公印", "--csr", work_ + "/own.csr"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string id = o.last_line();
  EXPECT_EQ(o.out.find("key store"), std::string::npos) << "the key is the government's own";
  ASSERT_EQ(lgpki(kiyose_registration_, {"review", "--application", id}).exit_code, 0);
  ASSERT_EQ(lgpki("", {"approve", "--application", id}).exit_code, 0);
  o = lgpki("", {"issue", "--application", id});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  save("doc.pem", o.out);
  o = in_work("openssl x509 -in doc.pem -noout -pubkey > doc.pub && openssl pkey -in own.key -pubout > own.pub && "
              "cmp doc.pub own.pub");
  EXPECT_EQ(o.exit_code, 0) << o.out;
}

TEST_F(LgpkiE2E, RefusalsExitOneWithAMessageAndWriteNothing) {
  // Filing: no token, another government's token, the sub-authority's token, a bad profile, a bad CSR.
  struct Case {
    std::string token;
    std::vector<std::string> args;
    std::string says;
  };
  save("garbage.csr", "-----BEGIN CERTIFICATE REQUEST-----\nnot one\n-----END CERTIFICATE REQUEST-----\n");
  std::vector<std::string> bad_csr = mayor();
  bad_csr.insert(bad_csr.end(), {"--csr", work_ + "/garbage.csr"});
  std::vector<std::string> missing_csr = mayor();
  missing_csr.insert(missing_csr.end(), {"--csr", work_ + "/none.csr"});
  std::vector<std::string> no_position = {"apply", "--municipality", "132217", "--profile", "position",
                                          "--organisation", "清瀬市"};
  const std::vector<Case> filing = {
      {"", mayor(), "JLIS_TOKEN"},
      {chiyoda_, mayor(), "for itself only"},
      {kiyose_registration_, mayor(), "for itself only"},
      {kiyose_, {"apply", "--municipality", "132217", "--profile", "mayor", "--organisation", "清瀬市"}, "profile"},
      {kiyose_, no_position, "position"},
      {kiyose_, bad_csr, "request"},
      {kiyose_, missing_csr, "no such file"},
  };
  for (const auto& c : filing) {
    const Output o = lgpki(c.token, c.args);
    EXPECT_EQ(o.exit_code, 1) << c.says << "\n" << o.out;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << o.err;
    EXPECT_EQ(o.err.find("terminate"), std::string::npos) << o.err;
  }
  EXPECT_EQ(applications(), 0);
  EXPECT_FALSE(fs::exists(dir_ + "/pki/keys") && std::any_of(fs::directory_iterator(dir_ + "/pki/keys"), {},
                                                             [](const fs::directory_entry& e) {
                                                               return e.path().filename().string().find("132217") !=
                                                                      std::string::npos;
                                                             }))
      << "a refused filing leaves no key";

  const std::string id = filed();
  const std::vector<Case> steps = {
      {kiyose_, {"review", "--application", id}, "only the lgpki-registration role"},
      {chiyoda_registration_, {"review", "--application", id}, "no LGPKI application"},
      {kiyose_registration_, {"review", "--application", id, "--refuse", ""}, "reason"},
      {"", {"approve", "--application", id}, "must be reviewed"},
      {"", {"issue", "--application", id}, "must be approved"},
      {"", {"revoke", "--application", id}, "request the revocation"},
      {kiyose_registration_, {"revoke", "--application", id, "--request", "--reason", "certificateHold"},
       "certificateHold"},
      {kiyose_, {"revoke", "--application", id, "--request"}, "only the lgpki-registration role"},
      {"", {"show", "--application", "la-nothex"}, "application id"},
      {"", {"init"}, "exists already"},
  };
  for (const auto& c : steps) {
    const Output o = lgpki(c.token, c.args);
    EXPECT_EQ(o.exit_code, 1) << c.says << "\n" << o.out;
    EXPECT_NE(o.err.find(c.says), std::string::npos) << c.says << ": " << o.err;
  }
  // Still filed, one step.
  Output o = lgpki("", {"show", "--application", id});
  EXPECT_NE(o.out.find("state: filed"), std::string::npos) << o.out;
  // A refusal with its reason ends it.
  o = lgpki(kiyose_registration_, {"review", "--application", id, "--refuse", "職責名の誤り"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("review-refused by lgpki-registration:132217 (職責名の誤り)"), std::string::npos) << o.out;
  o = lgpki("", {"approve", "--application", id});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("is refused"), std::string::npos) << o.err;
  // Another government's token sees none of it.
  o = lgpki(chiyoda_, {"list", "--municipality", "132217"});
  EXPECT_EQ(o.exit_code, 1);
  // A sub-authority token is a government's: its name is a local-government code.
  o = jlis({"token", "create", "--data", dir_, "--role", "lgpki-registration", "--name", "清瀬市"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("6-digit code"), std::string::npos) << o.err;
}

TEST_F(LgpkiE2E, ADirectoryWithoutLgpkiSaysHowToMakeIt) {
  const std::string other = temp_dir("lgpki-none");
  ASSERT_EQ(jlis({"init", "--data", other}).exit_code, 0);
  const Output o = jlis({"lgpki", "list", "--data", other});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("jlis lgpki init"), std::string::npos) << o.err;
  fs::remove_all(other);
}

}  // namespace
}  // namespace jlis::e2e
