// Issue 18 (trust hardening) and issue 17 rules of the register as users and attackers meet them:
// the HTTP API of the real `jlis serve` and the `jlis` command.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "common/date.h"
#include "common/identifiers.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Headers;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;

std::string today_minus_days(int days) { return Date::today().add_days(-days).to_iso(); }

class RegistryTrustE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("trust");
    // Prepared once per build and copied (template_dir.h).
    const auto out =
        prepared_dir(dir_, {{"init", "--data", "{dir}"},
                            {"population", "generate", "--data", "{dir}", "--count", "60", "--seed", "11"},
                            {"agency", "add", "--data", "{dir}", "--name", "日本年金機構", "--purposes", "pension"},
                            {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                            {"municipality", "token", "--data", "{dir}", "--code", "131024"}});
    ASSERT_EQ(out.size(), 5u) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    ASSERT_EQ(out[1].exit_code, 0) << out[1].err;
    const Output& agency = out[2];
    ASSERT_EQ(agency.exit_code, 0) << agency.err;
    agency_ = agency.last_line();
    chiyoda_ = out[3].last_line();
    chuo_ = out[4].last_line();
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0) << "jlis serve did not start";
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0);
    delete server_;
    std::filesystem::remove_all(dir_);
  }

  static Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  Reply get(const std::string& target, const std::string& token, Headers extra = {}) {
    Headers h = bearer(token);
    h.insert(h.end(), extra.begin(), extra.end());
    return Client(server_->port()).get(target, h);
  }
  Reply post(const std::string& target, const std::string& body, const std::string& token) {
    return Client(server_->port()).request(bhttp::verb::post, target, body, bearer(token));
  }
  Reply event(const std::string& municipality, const json& e, const std::string& token) {
    return post("/v1/municipalities/" + municipality + "/events", e.dump(), token);
  }
  static json body(const Reply& r) { return json::parse(r.body()); }

  // A resident born in 千代田区 through the API (female, 2001-02-03).
  std::string born(const std::string& id) {
    json e = {{"event_id", id}, {"type", "birth"}, {"date", "2001-02-03"},
              {"person", {{"name", "渡邊　結衣"}, {"name_kana", "わたなべ ゆい"}, {"date_of_birth", "2001-02-03"},
                          {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目2番3号"}}}};
    auto r = event("131016", e, chiyoda_);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return body(r)["resident_code"].get<std::string>();
  }
  // A resident code nobody has: the check digit of the code is recomputed by ResidentCode.
  static std::string unknown_code(const std::string& taken) {
    auto code = ResidentCode::parse(taken).value();
    return ResidentCode::from_body((code.body() + 7) % 10'000'000'000ULL).str();
  }

  static inline std::string dir_, agency_, chiyoda_, chuo_;
  static inline Server* server_ = nullptr;
};

// Defect 5: 中央区 cannot take over a resident abroad with the resident code alone.
TEST_F(RegistryTrustE2E, ATakeoverOfAResidentAbroadWithoutTheBasicFourIsRefused) {
  const std::string code = born("trust-takeover-1");
  auto out = event("131016", {{"event_id", "trust-takeover-2"}, {"type", "move_out"}, {"date", today_minus_days(30)},
                              {"resident_code", code}, {"to", "abroad"}, {"address_abroad", "Paris"}}, chiyoda_);
  ASSERT_EQ(out.result_int(), 201) << out.body();
  const std::string before = get("/v1/residents/" + code, chiyoda_).body();
  json in = {{"event_id", "trust-takeover-3"}, {"type", "move_in"}, {"date", today_minus_days(10)},
             {"resident_code", code}, {"from", "abroad"}, {"address", "東京都中央区銀座一丁目1番1号"}};
  auto bare = event("131024", in, chuo_);
  EXPECT_EQ(bare.result_int(), 400) << bare.body();  // the basic four are required
  in["name"] = "渡邊　結衣";
  in["date_of_birth"] = "2001-02-04";
  in["sex"] = "female";
  auto wrong = event("131024", in, chuo_);
  EXPECT_EQ(wrong.result_int(), 409) << wrong.body();
  EXPECT_EQ(body(wrong)["error"]["code"], "conflict");
  EXPECT_EQ(get("/v1/residents/" + code, chiyoda_).body(), before);
  // The true basic four, spelt differently (渡辺, half-width space): accepted, and the history says who.
  in["event_id"] = "trust-takeover-4";
  in["name"] = "渡辺 結衣";
  in["date_of_birth"] = "2001-02-03";
  auto ok = event("131024", in, chuo_);
  ASSERT_EQ(ok.result_int(), 201) << ok.body();
  auto history = body(get("/v1/residents/" + code + "/history", chuo_))["events"];
  EXPECT_EQ(history.back()["municipality_code"], "131024");
}

// Defect 7: a municipality gets one answer for an unknown code and another municipality's resident.
TEST_F(RegistryTrustE2E, UnknownAndNotYoursAreTheSameAnswerOnEveryResidentRoute) {
  const std::string theirs = born("trust-oracle-1");
  const std::string nobody = unknown_code(theirs);
  auto same = [&](const char* what, auto request) {
    Reply a = request(theirs), b = request(nobody);
    EXPECT_EQ(a.result_int(), b.result_int()) << what << ": " << a.body() << " / " << b.body();
    EXPECT_EQ(a.result_int(), 404) << what;
    EXPECT_EQ(a.body(), b.body()) << what;
  };
  same("read", [&](const std::string& c) { return get("/v1/residents/" + c, chuo_); });
  same("history", [&](const std::string& c) { return get("/v1/residents/" + c + "/history", chuo_); });
  same("provisions", [&](const std::string& c) { return get("/v1/residents/" + c + "/provisions", chuo_); });
  same("certificates", [&](const std::string& c) { return get("/v1/residents/" + c + "/certificates", chuo_); });
  same("card application", [&](const std::string& c) {
    return post("/v1/cards/applications", R"({"resident_code": ")" + c + R"(", "channel": "web", "photo": true})",
                chuo_);
  });
  int n = 0;
  same("relocation", [&](const std::string& c) {
    return event("131024", {{"event_id", "trust-oracle-r" + std::to_string(++n)}, {"type", "relocation"},
                            {"date", today_minus_days(1)}, {"resident_code", c},
                            {"address", "東京都中央区銀座一丁目1番1号"}}, chuo_);
  });
  same("death", [&](const std::string& c) {
    return event("131024", {{"event_id", "trust-oracle-d" + std::to_string(++n)}, {"type", "death"},
                            {"date", today_minus_days(1)}, {"resident_code", c}}, chuo_);
  });
}

// Defect 7: text fields have a real register's lengths: longer is 400 and nothing is stored.
TEST_F(RegistryTrustE2E, OverLongFieldsAre400AndNothingIsStored) {
  std::string huge;
  for (int i = 0; i < 100'000; ++i) huge += "花";
  json e = {{"event_id", "trust-long-1"}, {"type", "birth"}, {"date", "2001-02-03"},
            {"person", {{"name", "山田　" + huge}, {"name_kana", "ヤマダ"}, {"date_of_birth", "2001-02-03"},
                        {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目2番3号"}}}};
  auto r = event("131016", e, chiyoda_);
  EXPECT_EQ(r.result_int(), 400) << r.body().substr(0, 300);
  EXPECT_EQ(body(r)["error"]["code"], "invalid_argument");
  // The key was not used: the same event_id with a valid event is a first registration (201).
  e["person"]["name"] = "山田　花子";
  EXPECT_EQ(event("131016", e, chiyoda_).result_int(), 201);
  const std::string code = born("trust-long-2");
  auto out = event("131016", {{"event_id", "trust-long-3"}, {"type", "move_out"}, {"date", today_minus_days(1)},
                              {"resident_code", code}, {"to", "abroad"}, {"address_abroad", std::string(201, 'a')}},
                   chiyoda_);
  EXPECT_EQ(out.result_int(), 400) << out.body();
  EXPECT_EQ(body(get("/v1/residents/" + code, chiyoda_))["status"], "resident");
}

// Issue 17: a reused event_id with content invalid on its own is 409; a retry after the resident
// moved away answers 200 with the original body.
TEST_F(RegistryTrustE2E, IdempotencyIsDecidedBeforeValidation) {
  const std::string code = born("trust-idem-1");
  json reloc = {{"event_id", "trust-idem-2"}, {"type", "relocation"}, {"date", today_minus_days(20)},
                {"resident_code", code}, {"address", "東京都千代田区千代田1番1号"}};
  auto first = event("131016", reloc, chiyoda_);
  ASSERT_EQ(first.result_int(), 201) << first.body();
  auto out = event("131016", {{"event_id", "trust-idem-3"}, {"type", "move_out"}, {"date", today_minus_days(10)},
                              {"resident_code", code}, {"to", "131024"}}, chiyoda_);
  ASSERT_EQ(out.result_int(), 201) << out.body();
  auto retry = event("131016", reloc, chiyoda_);
  EXPECT_EQ(retry.result_int(), 200) << retry.body();
  EXPECT_EQ(retry.body(), first.body());
  json reused = reloc;
  reused["address"] = "東京都中央区銀座一丁目1番1号";  // not in 千代田区: invalid on its own
  auto conflict = event("131016", reused, chiyoda_);
  EXPECT_EQ(conflict.result_int(), 409) << conflict.body();
  reused["address"] = "nowhere at all";
  EXPECT_EQ(event("131016", reused, chiyoda_).result_int(), 409);
}

// Defect 7: the provision record keeps the server's request id; the client's goes beside it.
TEST_F(RegistryTrustE2E, TheProvisionRecordKeepsTheServersRequestId) {
  const std::string code = born("trust-reqid-1");
  auto read = get("/v1/residents/" + code + "?purpose=pension", agency_, {{"X-Request-Id", "forged-id-1"}});
  ASSERT_EQ(read.result_int(), 200) << read.body();
  auto list = body(get("/v1/residents/" + code + "/provisions", chiyoda_))["provisions"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0]["request_id"], "forged-id-1");
  EXPECT_FALSE(list[0]["request_id"].get<std::string>().empty());
  EXPECT_EQ(list[0].value("client_request_id", ""), "forged-id-1");
}

// Issue 17 and defect 7: the export shows no My Number unless the operator asks, with a purpose,
// which is recorded; --output creates an owner-only new file and never overwrites one.
TEST_F(RegistryTrustE2E, TheExportHidesMyNumbersByDefaultAndWritesAnOwnerOnlyFile) {
  auto plain = jlis({"residents", "export", "--data", dir_, "--municipality", "131016"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.substr(0, plain.out.find('\n')),
            "resident_code,name,name_kana,date_of_birth,sex,address,municipality_code,status");
  EXPECT_EQ(jlis({"residents", "export", "--data", dir_, "--with-my-number"}).exit_code, 1);

  const std::string file = dir_ + "-export.csv";
  std::filesystem::remove(file);
  ::umask(022);
  auto written = jlis({"residents", "export", "--data", dir_, "--municipality", "131016", "--output", file});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  struct stat st{};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = jlis({"residents", "export", "--data", dir_, "--output", file});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_FALSE(again.err.empty());
  std::filesystem::remove(file);

  const std::string code = born("trust-export-1");
  auto with = jlis({"residents", "export", "--data", dir_, "--municipality", "131016", "--with-my-number",
                    "--purpose", "statutory audit 2026"});
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(with.out.substr(0, with.out.find('\n')),
            "resident_code,my_number,name,name_kana,date_of_birth,sex,address,municipality_code,status");
  const size_t at = with.out.find("\n" + code + ",");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(with.out.substr(at + 13, 12).find_first_not_of("0123456789"), std::string::npos);
  auto list = body(get("/v1/residents/" + code + "/provisions", chiyoda_))["provisions"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["agency_id"], "operator");
  EXPECT_EQ(list[0]["purpose"], "statutory audit 2026");
}

}  // namespace
}  // namespace jlis::e2e
