// `jlis` on PostgreSQL as a new operator meets it (run as PostgresqlE2E.*_pg, skipped on SQLite):
// `jlis init --store postgresql://…`, `jlis ca init`, `jlis serve`; a birth over HTTP, an agency's
// lookup (recorded as a provision), a card applied for, produced by `jlis cards produce` and handed
// over with certificates, and an OCSP answer from `openssl ocsp` that turns to revoked after a
// relocation. Nothing of it is in the data directory but the store's URI.
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "../store/test_store.h"
#include "card_key.h"
#include "jlis_process.h"
#include "pki/openssl.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

TEST(PostgresqlE2E, InitServeEventLookupHandoverAndOcsp) {
  store::testing::TestStore store;
  if (!store.postgresql()) GTEST_SKIP() << "PostgreSQL only (JLIS_TEST_STORE)";
  const std::string dir = (fs::temp_directory_path() / ("jlis-e2e-pg-" + std::to_string(::getpid()))).string();
  const std::string work = dir + "-files";
  fs::remove_all(dir);
  fs::remove_all(work);
  fs::create_directories(work);
  ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
  auto init = jlis({"init", "--data", dir, "--store", store.url()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_FALSE(fs::exists(fs::path(dir) / "jlis.db"));  // the register is in PostgreSQL
  auto ca = jlis({"ca", "init", "--data", dir});
  ASSERT_EQ(ca.exit_code, 0) << ca.err;
  const std::string chiyoda = jlis({"municipality", "token", "--data", dir, "--code", "131016"}).last_line();
  const std::string agency = jlis({"agency", "add", "--data", dir, "--name", "Pension", "--purposes", "pension"}).last_line();
  ASSERT_EQ(agency.rfind("jlis_", 0), 0u);
  {
    Server server(dir);
    ASSERT_NE(server.port(), 0);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
    auto post = [&](const std::string& target, const json& body, const std::string& token) {
      return Client(server.port()).request(bhttp::verb::post, target, body.dump(), {{"Authorization", "Bearer " + token}});
    };
    auto get = [&](const std::string& target, const std::string& token) {
      return Client(server.port()).get(target, {{"Authorization", "Bearer " + token}});
    };
    const json cas = json::parse(Client(server.port()).get("/v1/pki/ca").body())["certificates"];
    for (const auto& c : cas)
      write_file(fs::path(work) / (c["kind"].get<std::string>() + ".pem"), c["pem"]);

    // A birth, and an agency's lookup, recorded as a provision the resident can see.
    json birth = {{"event_id", "pg-e2e-1"}, {"type", "birth"}, {"date", "1985-04-02"},
                  {"person", {{"name", "髙橋　花子"}, {"name_kana", "タカハシ　ハナコ"}, {"date_of_birth", "1985-04-02"},
                              {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto born = post("/v1/municipalities/131016/events", birth, chiyoda);
    ASSERT_EQ(born.result_int(), 201) << born.body();
    const std::string resident = json::parse(born.body())["resident_code"];
    auto again = post("/v1/municipalities/131016/events", birth, chiyoda);  // a retry: applied once
    EXPECT_EQ(json::parse(again.body())["resident_code"], resident) << again.body();
    auto looked = get("/v1/residents/" + resident + "?purpose=pension", agency);
    ASSERT_EQ(looked.result_int(), 200) << looked.body();
    EXPECT_EQ(json::parse(looked.body())["name"], "髙橋　花子");
    auto provisions = get("/v1/residents/" + resident + "/provisions", chiyoda);
    ASSERT_EQ(provisions.result_int(), 200) << provisions.body();
    EXPECT_EQ(json::parse(provisions.body())["provisions"].size(), 1u) << provisions.body();

    // A card: applied for, produced by the factory command, handed over with the card's keys.
    auto applied = post("/v1/cards/applications", {{"resident_code", resident}, {"channel", "window"}, {"photo", true}}, chiyoda);
    ASSERT_EQ(applied.result_int(), 201) << applied.body();
    auto produced = jlis({"cards", "produce", "--data", dir});
    ASSERT_EQ(produced.exit_code, 0) << produced.err;
    auto a = get("/v1/cards/applications/" + std::to_string(json::parse(applied.body())["application_id"].get<int64_t>()), chiyoda);
    const std::string card = json::parse(a.body())["card_id"];
    const CardKey sig = CardKey::make(), auth = CardKey::make();
    auto handed = post("/v1/cards/" + card + "/handover",
                       {{"identity_checked", true}, {"public_keys", {{"signature", sig.public_pem}, {"authentication", auth.public_pem}}}},
                       chiyoda);
    ASSERT_EQ(handed.result_int(), 200) << handed.body();
    std::string serial;
    auto certificates = get("/v1/residents/" + resident + "/certificates", chiyoda);
    const json list = json::parse(certificates.body())["certificates"];
    for (const auto& c : list)
      if (c["kind"] == "signature") serial = c["serial"];
    ASSERT_FALSE(serial.empty()) << certificates.body() << "\n" << handed.body();
    auto der = get("/v1/pki/certificates/" + serial, chiyoda);
    ASSERT_EQ(der.result_int(), 200);
    write_file(fs::path(work) / "sig.pem", pki::x509_pem(pki::x509_from_der(der.body()).value().get()).value());

    // OCSP: good; after a relocation (which revokes the signature certificate), revoked.
    const std::string ocsp = "openssl ocsp -issuer " + work + "/signature-ca.pem -cert " + work + "/sig.pem -url " + url +
                             "/ocsp -CAfile " + work + "/signature-ca.pem -no_nonce";
    auto good = shell(ocsp);
    EXPECT_NE(good.out.find("sig.pem: good"), std::string::npos) << good.out;
    EXPECT_NE(good.out.find("Response verify OK"), std::string::npos) << good.out;
    auto moved = post("/v1/municipalities/131016/events",
                      {{"event_id", "pg-e2e-2"}, {"type", "relocation"}, {"date", "2025-01-10"},
                       {"resident_code", resident}, {"address", "東京都千代田区永田町一丁目7番1号"}},
                      chiyoda);
    ASSERT_EQ(moved.result_int() / 100, 2) << moved.body();
    Output revoked;
    for (int i = 0; i < 300; ++i) {  // the responder follows revocations within seconds; bounded generously
      revoked = shell(ocsp);
      if (revoked.out.find("sig.pem: revoked") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(revoked.out.find("sig.pem: revoked"), std::string::npos) << revoked.out;
    EXPECT_EQ(server.stop(), 0);
  }
  fs::remove_all(dir);
  fs::remove_all(work);
}

}  // namespace
}  // namespace jlis::e2e
