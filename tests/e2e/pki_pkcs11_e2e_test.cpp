// A CA whose keys live on a PKCS#11 token (SoftHSM2), through the real binary: `jlis ca init
// --pkcs11-module`, `jlis serve`, a handover; the certificates verify with openssl, and OCSP answers
// signed by the responder key on the token.
#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "jlis_process.h"
#include "pki/openssl.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

std::string softhsm_module() {
  for (const char* p : {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"})
    if (fs::exists(p)) return p;
  return "";
}

int run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

// A fresh SoftHSM2 configuration in `root` with one token "jlis-ca" (PIN 87654321, given to jlis in
// JLIS_PKCS11_PIN); false when the token cannot be made.
bool make_token(const fs::path& root) {
  fs::remove_all(root);
  fs::create_directories(root / "tokens");
  std::ofstream(root / "softhsm2.conf") << "directories.tokendir = " << (root / "tokens").string()
                                        << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", (root / "softhsm2.conf").c_str(), 1);
  ::setenv("JLIS_PKCS11_PIN", "87654321", 1);
  return run("softhsm2-util --init-token --free --label jlis-ca --so-pin 12345678 --pin 87654321") == 0;
}

TEST(PkiPkcs11E2E, CaKeysOnATokenIssueAndAnswerOcsp) {
  const std::string module = softhsm_module();
  ASSERT_FALSE(module.empty()) << "softhsm2 is not installed (the Makefile installs it)";
  const fs::path root = fs::temp_directory_path() / ("jlis-e2e-p11-" + std::to_string(::getpid()));
  ASSERT_TRUE(make_token(root));
  const std::string dir = (root / "data").string();
  ASSERT_EQ(jlis({"init", "--data", dir}).exit_code, 0);
  auto init = jlis({"ca", "init", "--data", dir, "--pkcs11-module", module, "--pkcs11-token", "jlis-ca"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  // No private key reached the data directory.
  EXPECT_FALSE(fs::exists(fs::path(dir) / "pki" / "keys"));
  const std::string muni = jlis({"municipality", "token", "--data", dir, "--code", "131016"}).last_line();
  {
    ::unsetenv("JLIS_PKCS11_PIN");  // without the PIN the CA cannot sign: serve refuses to start
    auto refused = jlis({"serve", "--data", dir, "--listen", "127.0.0.1:0"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("JLIS_PKCS11_PIN"), std::string::npos) << refused.err;
    ::setenv("JLIS_PKCS11_PIN", "87654321", 1);
  }
  Server server(dir);
  ASSERT_NE(server.port(), 0);
  auto post = [&](const std::string& target, const json& body) {
    return Client(server.port()).request(bhttp::verb::post, target, body.dump(), {{"Authorization", "Bearer " + muni}});
  };
  auto get = [&](const std::string& target) {
    return Client(server.port()).get(target, {{"Authorization", "Bearer " + muni}});
  };
  json e = {{"event_id", "p11-1"}, {"type", "birth"}, {"date", "1980-02-29"},
            {"person", {{"name", "渡邊　一郎"}, {"name_kana", "ワタナベ　イチロウ"}, {"date_of_birth", "1980-02-29"},
                        {"sex", "male"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
  auto born = post("/v1/municipalities/131016/events", e);
  ASSERT_EQ(born.result_int(), 201) << born.body();
  const std::string resident = json::parse(born.body())["resident_code"];
  auto applied = post("/v1/cards/applications", {{"resident_code", resident}, {"channel", "window"}, {"photo", true}});
  ASSERT_EQ(applied.result_int(), 201);
  ASSERT_EQ(jlis({"cards", "produce", "--data", dir}).exit_code, 0);
  const std::string card = json::parse(get("/v1/cards/applications/" +
                                           std::to_string(json::parse(applied.body())["application_id"].get<int64_t>()))
                                           .body())["card_id"];
  auto sig = pki::generate_rsa(2048).value(), auth = pki::generate_rsa(2048).value();
  auto handed = post("/v1/cards/" + card + "/handover",
                     {{"identity_checked", true},
                      {"public_keys", {{"signature", pki::public_key_pem(sig.get()).value()},
                                       {"authentication", pki::public_key_pem(auth.get()).value()}}}});
  ASSERT_EQ(handed.result_int(), 200) << handed.body();
  auto list = json::parse(get("/v1/residents/" + resident + "/certificates").body())["certificates"];
  ASSERT_EQ(list.size(), 2u);
  for (const auto& c : list) {
    const std::string kind = c["kind"];
    auto der = get("/v1/pki/certificates/" + c["serial"].get<std::string>());
    ASSERT_EQ(der.result_int(), 200);
    std::ofstream((root / (kind + ".pem")).string()) << pki::x509_pem(pki::x509_from_der(der.body())->get()).value();
    const json published = json::parse(Client(server.port()).get("/v1/pki/ca").body())["certificates"];
    for (const auto& p : published)
      std::ofstream((root / (p["kind"].get<std::string>() + ".pem")).string()) << p["pem"].get<std::string>();
    const std::string ca = (root / (kind + "-ca.pem")).string(), leaf = (root / (kind + ".pem")).string();
    EXPECT_EQ(run("openssl verify -CAfile " + ca + " " + leaf), 0) << kind;
    const std::string out = (root / "ocsp.txt").string();
    std::system(("openssl ocsp -issuer " + ca + " -cert " + leaf + " -url http://127.0.0.1:" +
                 std::to_string(server.port()) + "/ocsp -CAfile " + ca + " -no_nonce > " + out + " 2>&1").c_str());
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find(": good"), std::string::npos) << text;
  }
  EXPECT_EQ(server.stop(), 0);
  ::unsetenv("SOFTHSM2_CONF");
  ::unsetenv("JLIS_PKCS11_PIN");
  fs::remove_all(root);
}

}  // namespace
}  // namespace jlis::e2e

namespace jlis::e2e {
namespace {

// LGPKI beside a JPKI CA whose keys are on a token: `jlis lgpki init` and `apply` make their keys on
// the same token through the CA's one KeyStore (a module is open once per process), `jlis serve`
// serves the LGPKI CRLs with both on the token, and no key file appears in the data directory.
TEST(PkiPkcs11E2E, LgpkiSharesTheJpkiTokenForItsCasAndAGovernmentsKey) {
  const std::string module = softhsm_module();
  ASSERT_FALSE(module.empty()) << "softhsm2 is not installed (the Makefile installs it)";
  const fs::path root = fs::temp_directory_path() / ("jlis-e2e-p11-lgpki-" + std::to_string(::getpid()));
  ASSERT_TRUE(make_token(root));
  ::unsetenv("JLIS_CA_PASSPHRASE");
  const std::string dir = (root / "data").string();
  ASSERT_EQ(jlis({"init", "--data", dir}).exit_code, 0);
  auto init = jlis({"ca", "init", "--data", dir, "--pkcs11-module", module, "--pkcs11-token", "jlis-ca"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto lgpki = jlis({"lgpki", "init", "--data", dir});
  ASSERT_EQ(lgpki.exit_code, 0) << lgpki.err;
  const std::string muni = jlis({"municipality", "token", "--data", dir, "--code", "132217"}).last_line();
  const std::string ra =
      jlis({"token", "create", "--data", dir, "--role", "lgpki-registration", "--name", "132217"}).last_line();
  ::setenv("JLIS_TOKEN", muni.c_str(), 1);
  auto applied = jlis({"lgpki", "apply", "--data", dir, "--municipality", "132217", "--profile", "document-signing",
                       "--organisation", "清瀬市", "--common-name", "清瀬市 電子公印"});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  const std::string id = applied.last_line();
  ::setenv("JLIS_TOKEN", ra.c_str(), 1);
  ASSERT_EQ(jlis({"lgpki", "review", "--data", dir, "--application", id}).exit_code, 0);
  ::unsetenv("JLIS_TOKEN");
  ASSERT_EQ(jlis({"lgpki", "approve", "--data", dir, "--application", id}).exit_code, 0);
  auto issued = jlis({"lgpki", "issue", "--data", dir, "--application", id});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  EXPECT_EQ(issued.out.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  EXPECT_FALSE(fs::exists(fs::path(dir) / "pki" / "keys")) << "no key file: every key is on the token";
  auto shown = jlis({"lgpki", "show", "--data", dir, "--application", id});
  EXPECT_NE(shown.out.find("key: lgpki-document-signing-132217-" + id.substr(3) + " (in the key store)"),
            std::string::npos)
      << shown.out;
  Server server(dir);
  ASSERT_NE(server.port(), 0);
  auto crl = Client(server.port()).get("/lgpki/crl/organisation.crl");
  EXPECT_EQ(crl.result_int(), 200) << crl.body();
  EXPECT_EQ(crl[bhttp::field::content_type], "application/pkix-crl");
  EXPECT_EQ(server.stop(), 0);
  ::unsetenv("SOFTHSM2_CONF");
  fs::remove_all(root);
}

}  // namespace
}  // namespace jlis::e2e
