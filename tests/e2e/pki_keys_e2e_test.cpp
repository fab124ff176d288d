// The key policy and the one-certificate-per-key rule as the window meets them, through
// `jlis serve` (issue 18, defect 2): a weak key or a key certified before is refused at handover,
// renewal and smartphone issuance with 400 and a reason, and the refusal changes nothing. And the
// simulation mode that alone allows the generated populations' shared key pool.
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "data_dir_store.h"
#include "jlis_process.h"
#include "template_dir.h"
#include "../pki/requests.h"
#include "pki/ca.h"
#include "pki/openssl.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

std::string good_key() { return pki::public_key_pem(pki::generate_rsa(2048)->get()).value(); }

pki::EvpPkeyPtr key_pair_with_exponent(unsigned long e) {
  pki::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  pki::BignumPtr bn(BN_new());
  BN_set_word(bn.get(), e);
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), bn.get()), 1);
  EXPECT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
  return pki::EvpPkeyPtr(raw);
}
std::string key_with_exponent(unsigned long e) { return pki::public_key_pem(key_pair_with_exponent(e).get()).value(); }
std::string pem_of(const pki::EvpPkeyPtr& key) { return pki::public_key_pem(key.get()).value(); }

std::string ca_subject(const std::string& dir) {
  auto cert = pki::x509_from_pem([&] {
    std::ifstream in(fs::path(dir) / "pki" / "signature-ca.pem");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  if (!cert.ok()) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert->get()), buf, sizeof buf);
  return buf;
}

class PkiKeysE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("jlis-e2e-pki-keys-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    // Prepared once per build and copied (template_dir.h).
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                                         {"linkage", "key", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 4u) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    ASSERT_EQ(out[1].exit_code, 0) << out[1].err;
    chiyoda_ = out[2].last_line();
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0);
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0);
    delete server_;
    fs::remove_all(dir_);
  }
  Reply get(const std::string& target) {
    return Client(server_->port()).get(target, {{"Authorization", "Bearer " + chiyoda_}});
  }
  Reply post(const std::string& target, const json& body) {
    return Client(server_->port()).request(bhttp::verb::post, target, body.dump(),
                                           {{"Authorization", "Bearer " + chiyoda_}});
  }
  static json body(const Reply& r) { return json::parse(r.body(), nullptr, false); }

  // A resident with a shipped card; answers the card id and sets *resident.
  std::string shipped_card(const std::string& id, std::string* resident) {
    json e = {{"event_id", id}, {"type", "birth"}, {"date", "1985-04-02"},
              {"person", {{"name", "青木　蓮"}, {"name_kana", "アオキ　レン"}, {"date_of_birth", "1985-04-02"},
                          {"sex", "male"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto r = post("/v1/municipalities/131016/events", e);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    *resident = body(r)["resident_code"];
    auto applied = post("/v1/cards/applications", {{"resident_code", *resident}, {"channel", "window"}, {"photo", true}});
    EXPECT_EQ(applied.result_int(), 201) << applied.body();
    EXPECT_EQ(jlis({"cards", "produce", "--data", dir_}).exit_code, 0);
    auto a = get("/v1/cards/applications/" + std::to_string(body(applied)["application_id"].get<int64_t>()));
    return body(a)["card_id"];
  }
  Reply handover(const std::string& card, const std::string& sig, const std::string& auth) {
    return post("/v1/cards/" + card + "/handover",
                {{"identity_checked", true}, {"public_keys", {{"signature", sig}, {"authentication", auth}}}});
  }
  size_t certificate_count(const std::string& resident) {
    return body(get("/v1/residents/" + resident + "/certificates"))["certificates"].size();
  }
  // Renewal (device "card") or smartphone issuance with requests signed by `sig` / `auth` (either
  // may be null) over a fresh challenge; a smartphone request is authorised by `card_auth`.
  Reply request_certificates(const std::string& card, const char* device, EVP_PKEY* sig, EVP_PKEY* auth,
                             EVP_PKEY* card_auth = nullptr) {
    auto c = post("/v1/cards/" + card + "/certificate-challenges", json::object());
    EXPECT_EQ(c.result_int(), 201) << c.body();
    const std::string challenge = body(c)["challenge"];
    json requests = json::object();
    std::string sig_der, auth_der;
    if (sig) {
      requests["signature"] = pki::testing::request_pem({sig, nullptr, challenge});
      sig_der = pki::testing::request_der({sig, nullptr, challenge});
    }
    if (auth) {
      requests["authentication"] = pki::testing::request_pem({auth, nullptr, challenge});
      auth_der = pki::testing::request_der({auth, nullptr, challenge});
    }
    json b = {{"challenge_id", body(c)["challenge_id"]}, {"requests", requests}};
    if (card_auth)
      b["authorisation"] = pki::base64_encode(pki::testing::sign_bytes(
          card_auth, pki::CertificateAuthority::authorisation_message(challenge, sig_der, auth_der)));
    return post("/v1/cards/" + card + "/" + device, b);
  }
  // Expects a 400 JSON error whose message contains `reason`.
  static void expect_refused(const Reply& r, const std::string& reason) {
    EXPECT_EQ(r.result_int(), 400) << r.body();
    const json j = body(r);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body();
    EXPECT_EQ(j["error"]["code"], "invalid_argument") << r.body();
    EXPECT_NE(j["error"]["message"].get<std::string>().find(reason), std::string::npos) << r.body();
  }

  static inline std::string dir_, chiyoda_;
  static inline Server* server_ = nullptr;
};

TEST_F(PkiKeysE2E, HandoverRefusesAnExponentOf3AndChangesNothing) {
  std::string resident;
  const std::string card = shipped_card("keys-1", &resident);
  expect_refused(handover(card, key_with_exponent(3), good_key()), "exponent");
  expect_refused(handover(card, good_key(), key_with_exponent(3)), "exponent");
  EXPECT_EQ(body(get("/v1/cards/" + card))["status"], "shipped");
  EXPECT_EQ(certificate_count(resident), 0u);
  auto ok = handover(card, good_key(), good_key());
  EXPECT_EQ(ok.result_int(), 200) << ok.body();
  EXPECT_EQ(certificate_count(resident), 2u);
}

TEST_F(PkiKeysE2E, HandoverRefusesOneKeyForBothCertificates) {
  std::string resident;
  const std::string card = shipped_card("keys-2", &resident);
  const std::string key = good_key();
  expect_refused(handover(card, key, key), "certified before");
  EXPECT_EQ(body(get("/v1/cards/" + card))["status"], "shipped");
  EXPECT_EQ(certificate_count(resident), 0u);
}

TEST_F(PkiKeysE2E, AKeyCertifiedForAnotherCardIsRefusedEverywhere) {
  std::string first, second;
  const std::string card1 = shipped_card("keys-3", &first), card2 = shipped_card("keys-4", &second);
  auto sig1_pair = pki::generate_rsa(2048).value(), auth1_pair = pki::generate_rsa(2048).value();
  const std::string sig1 = pem_of(sig1_pair), auth1 = pem_of(auth1_pair);
  ASSERT_EQ(handover(card1, sig1, auth1).result_int(), 200);
  // Handover of another holder's card with the first card's key.
  expect_refused(handover(card2, sig1, good_key()), "certified before");
  EXPECT_EQ(certificate_count(second), 0u);
  ASSERT_EQ(handover(card2, good_key(), good_key()).result_int(), 200);
  // Renewal and smartphone issuance with a key certified before (here: the other card's, and the
  // card's own current one).
  expect_refused(request_certificates(card2, "certificates", sig1_pair.get(), nullptr), "certified before");
  expect_refused(request_certificates(card1, "certificates", nullptr, auth1_pair.get()), "certified before");
  auto fresh = pki::generate_rsa(2048).value();
  expect_refused(request_certificates(card1, "smartphone-certificates", fresh.get(), auth1_pair.get(), auth1_pair.get()),
                 "certified before");
  auto weak = key_pair_with_exponent(3);
  expect_refused(request_certificates(card1, "smartphone-certificates", nullptr, weak.get(), auth1_pair.get()),
                 "exponent");
  expect_refused(request_certificates(card1, "certificates", weak.get(), nullptr), "exponent");
  EXPECT_EQ(certificate_count(first), 2u);
  EXPECT_EQ(certificate_count(second), 2u);
  const auto listed = body(get("/v1/residents/" + first + "/certificates"));
  for (const auto& c : listed["certificates"])
    EXPECT_EQ(c["status"], "good") << c.dump();  // nothing superseded by a refused request
}

TEST_F(PkiKeysE2E, AProductionDirectoryIsNoSimulation) {
  auto health = Client(server_->port()).get("/healthz");
  ASSERT_EQ(health.result_int(), 200);
  EXPECT_EQ(body(health)["simulation"], false);
  EXPECT_NE(ca_subject(dir_).find("/O=JPKI/"), std::string::npos) << ca_subject(dir_);
  auto pool = jlis({"population", "generate", "--data", dir_, "--count", "3", "--key-pool", "2"});
  EXPECT_NE(pool.exit_code, 0);
  EXPECT_NE(pool.err.find("simulation"), std::string::npos) << pool.err;
}

TEST(PkiSimulationE2E, ASimulationSharesItsKeyPoolAndSaysSo) {
  const std::string dir = (fs::temp_directory_path() / ("jlis-e2e-sim-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
  ASSERT_EQ(jlis({"init", "--data", dir, "--simulation"}).exit_code, 0);
  EXPECT_NE(jlis({"init", "--data", dir}).exit_code, 0);  // a simulation stays one
  ASSERT_EQ(jlis({"ca", "init", "--data", dir}).exit_code, 0);
  EXPECT_NE(ca_subject(dir).find("/O=JPKI-TEST/"), std::string::npos) << ca_subject(dir);
  auto generated = jlis({"population", "generate", "--data", dir, "--count", "40", "--seed", "1", "--key-pool", "2"});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  // Its certificates are issued under the test hierarchy's name, and their subjects carry no
  // organisation at all (never O=JPKI): openssl reads one of each kind.
  {
    auto conn = connect_data_dir(dir);
    ASSERT_NE(conn, nullptr);
    for (const char* kind : {"signature", "authentication"}) {
      std::string der_b64;
      ASSERT_TRUE(conn->query("SELECT der FROM pki_certificates WHERE ca = ? ORDER BY serial LIMIT 1", {std::string(kind)},
                              [&](const store::Row& r) {
                                der_b64 = r.text(0);
                                return false;
                              }).is_ok());
      ASSERT_FALSE(der_b64.empty()) << kind;
      auto cert = pki::x509_from_der(pki::base64_decode(der_b64).value());
      ASSERT_TRUE(cert.ok());
      const std::string pem = dir + "-" + kind + ".pem";
      write_file(pem, pki::x509_pem(cert->get()).value());
      auto names = shell("openssl x509 -noout -subject -issuer -nameopt RFC2253 -in " + pem);
      ASSERT_EQ(names.exit_code, 0) << names.out;
      const std::string subject = names.out.substr(0, names.out.find('\n'));
      const std::string issuer = names.out.substr(names.out.find('\n') + 1);
      EXPECT_EQ(subject.find("O="), std::string::npos) << subject;
      EXPECT_EQ(subject.find("JPKI"), std::string::npos) << subject;
      EXPECT_EQ(subject.find(",L=") != std::string::npos, std::string(kind) == "signature") << subject;
      EXPECT_NE(issuer.find(",O=JPKI-TEST,C=JP"), std::string::npos) << issuer;
      fs::remove(pem);
    }
  }
  {
    Server server(dir);
    ASSERT_NE(server.port(), 0);
    auto health = Client(server.port()).get("/healthz");
    EXPECT_EQ(json::parse(health.body())["simulation"], true) << health.body();
    EXPECT_EQ(server.stop(), 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace jlis::e2e
