// The registry as its users meet it: the `jlis` command and the HTTP API of `jlis serve`.
#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "common/date.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Headers;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;

TEST(Cli, CommandsRefuseADirectoryThatIsNotADataDirectory) {
  std::string dir = temp_dir("not-data");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/something") << "x";
  auto init = jlis({"init", "--data", dir});
  EXPECT_EQ(init.exit_code, 1);
  EXPECT_NE(init.err.find("not an OpenJLIS data directory"), std::string::npos) << init.err;
  auto token = jlis({"municipality", "token", "--data", dir + "/missing", "--code", "131016"});
  EXPECT_EQ(token.exit_code, 1);
  EXPECT_NE(token.err.find("jlis init"), std::string::npos) << token.err;
  EXPECT_NE(jlis({"frobnicate"}).exit_code, 0);
  auto help = jlis({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("population"), std::string::npos);
  std::filesystem::remove_all(dir);
}

class RegistryE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("registry");
    // Prepared once per build and copied (template_dir.h).
    const auto out =
        prepared_dir(dir_, {{"init", "--data", "{dir}"},
                            {"population", "generate", "--data", "{dir}", "--count", "500", "--seed", "3"},
                            {"agency", "add", "--data", "{dir}", "--name", "日本年金機構", "--purposes", "pension,benefit"},
                            {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                            {"municipality", "token", "--data", "{dir}", "--code", "131024"}});
    ASSERT_EQ(out.size(), 5u) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    const Output& gen = out[1];
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    EXPECT_NE(gen.out.find("created 500 residents"), std::string::npos) << gen.out;
    const Output& agency = out[2];
    ASSERT_EQ(agency.exit_code, 0) << agency.err;
    agency_ = agency.last_line();
    chiyoda_ = out[3].last_line();
    chuo_ = out[4].last_line();
    ASSERT_EQ(agency_.rfind("jlis_", 0), 0u);
    ASSERT_EQ(chiyoda_.rfind("jlis_", 0), 0u);
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0) << "jlis serve did not start";
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0);  // a clean shutdown on SIGTERM
    delete server_;
    std::filesystem::remove_all(dir_);
  }

  static Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  Reply get(const std::string& target, const std::string& token) {
    return Client(server_->port()).get(target, token.empty() ? Headers{} : bearer(token));
  }
  Reply post(const std::string& target, const std::string& body, const std::string& token) {
    return Client(server_->port()).request(bhttp::verb::post, target, body, bearer(token));
  }
  static json body(const Reply& r) { return json::parse(r.body()); }
  static std::string error_code(const Reply& r) { return body(r)["error"]["code"].get<std::string>(); }

  // A birth in 千代田区 through the API; answers the resident JSON.
  json born(const std::string& id, const std::string& name = "渡邊　結衣") {
    json e = {{"event_id", id}, {"type", "birth"}, {"date", "2001-02-03"},
              {"person", {{"name", name}, {"name_kana", "わたなべ ゆい"}, {"date_of_birth", "2001-02-03"},
                          {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目2番3号"}}}};
    auto r = post("/v1/municipalities/131016/events", e.dump(), chiyoda_);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return body(r);
  }
  size_t history_size(const std::string& code) {
    return body(get("/v1/residents/" + code + "/history", chiyoda_))["events"].size();
  }

  static inline std::string dir_, agency_, chiyoda_, chuo_;
  static inline Server* server_ = nullptr;
};

TEST_F(RegistryE2E, AMunicipalitySubmitsEventsAndARetryIsAnsweredAsBefore) {
  json e = {{"event_id", "e2e-birth-1"}, {"type", "birth"}, {"date", "2024-05-05"},
            {"person", {{"name", "佐藤 陽翔"}, {"name_kana", "サトウ ハルト"}, {"date_of_birth", "2024-05-05"},
                        {"sex", "male"}, {"address", "東京都千代田区千代田1番1号"}}}};
  auto first = post("/v1/municipalities/131016/events", e.dump(), chiyoda_);
  ASSERT_EQ(first.result_int(), 201) << first.body();
  json r = body(first);
  for (const char* f : {"resident_code", "my_number", "name", "name_kana", "date_of_birth", "sex", "address",
                        "municipality_code", "status"})
    EXPECT_TRUE(r.contains(f)) << f;
  EXPECT_EQ(r["name"], "佐藤　陽翔");
  EXPECT_EQ(r["sex"], "male");
  EXPECT_EQ(r["status"], "resident");
  EXPECT_EQ(r["municipality_code"], "131016");
  auto retry = post("/v1/municipalities/131016/events", e.dump(), chiyoda_);
  EXPECT_EQ(retry.result_int(), 200);
  EXPECT_EQ(body(retry), r);
  EXPECT_EQ(history_size(r["resident_code"]), 1u);
}

TEST_F(RegistryE2E, BadEventsGetAClearErrorAndChangeNothing) {
  json r = born("e2e-bad-base");
  const std::string code = r["resident_code"];
  const std::string events = "/v1/municipalities/131016/events";
  // Two days ahead of the server's clock (one could be today at the server across midnight).
  const std::string in_two_days = Date::today().add_days(2).to_iso();
  struct Case {
    std::string body, token, path;
    int status;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"{not json", chiyoda_, events, 400, "invalid_argument"},
      {R"({"event_id":"x1","type":"death","date":"2024-01-01"})", chiyoda_, events, 400, "invalid_argument"},
      {R"({"event_id":"x2","type":"relocation","date":"2024-01-01","resident_code":")" + code +
           R"(","address":"東京都中央区銀座一丁目1番1号"})", chiyoda_, events, 409, "conflict"},
      {R"({"event_id":"x3","type":"relocation","date":"1999-01-01","resident_code":")" + code +
           R"(","address":"東京都千代田区千代田1番1号"})", chiyoda_, events, 409, "conflict"},
      {R"({"event_id":"x4","type":"death","date":"2024-01-01","resident_code":"00000000019"})", chiyoda_, events,
       404, "not_found"},
      {R"({"event_id":"x5","type":"death","date":"2024-01-01","resident_code":")" + code + R"("})", chuo_,
       "/v1/municipalities/131024/events", 404, "not_found"},
      {R"({"event_id":"x6","type":"death","date":"2024-01-01","resident_code":")" + code + R"("})", chuo_, events,
       403, "permission_denied"},
      {R"({"event_id":"x7","type":"death","date":"2024-01-01","resident_code":")" + code + R"("})", agency_, events,
       403, "permission_denied"},
      {R"({"event_id":"x8","type":"death","date":"2024-01-01","resident_code":")" + code + R"("})", "", events, 401,
       "unauthenticated"},
      {R"({"event_id":"x9","type":"death","date":"2024-01-01","resident_code":")" + code + R"("})", "jlis_forged",
       events, 401, "unauthenticated"},
      {R"({"event_id":"x10","type":"death","date":"2024-01-01","resident_code":")" + code + R"("})", chiyoda_,
       "/v1/municipalities/131017/events", 400, "invalid_argument"},
      {R"({"event_id":"x11","type":"death","date":")" + in_two_days + R"(","resident_code":")" + code + R"("})",
       chiyoda_, events, 400, "invalid_argument"},
  };
  for (const auto& c : cases) {
    auto reply = post(c.path, c.body, c.token);
    EXPECT_EQ(reply.result_int(), c.status) << c.body << " -> " << reply.body();
    EXPECT_EQ(error_code(reply), c.error) << c.body;
    EXPECT_FALSE(body(reply)["error"]["message"].get<std::string>().empty());
  }
  json now = body(get("/v1/residents/" + code, chiyoda_));
  EXPECT_EQ(now, r);
  EXPECT_EQ(history_size(code), 1u);
}

TEST_F(RegistryE2E, AgenciesReadForAGrantedPurposeAndEveryProvisionIsDisclosed) {
  const std::string code = born("e2e-provide")["resident_code"];
  EXPECT_EQ(get("/v1/residents/" + code + "?purpose=pension", "").result_int(), 401);
  EXPECT_EQ(get("/v1/residents/" + code + "?purpose=tax", agency_).result_int(), 403);
  EXPECT_EQ(get("/v1/residents/" + code, agency_).result_int(), 403);
  EXPECT_EQ(get("/v1/residents/" + code + "/provisions", agency_).result_int(), 403);
  EXPECT_EQ(get("/v1/residents/" + code + "/provisions", chuo_).result_int(), 404);
  EXPECT_EQ(get("/v1/residents/12345?purpose=pension", agency_).result_int(), 400);
  EXPECT_EQ(get("/v1/residents/00000000019?purpose=pension", agency_).result_int(), 404);
  EXPECT_EQ(get("/v1/residents?purpose=pension", agency_).result_int(), 400);
  EXPECT_EQ(get("/v1/residents?my_number=123&purpose=pension", agency_).result_int(), 400);
  // Refused reads provide nothing.
  EXPECT_TRUE(body(get("/v1/residents/" + code + "/provisions", chiyoda_))["provisions"].empty());

  auto read = get("/v1/residents/" + code + "?purpose=pension", agency_);
  ASSERT_EQ(read.result_int(), 200) << read.body();
  EXPECT_EQ(body(read)["name"], "渡邊　結衣");
  auto history = get("/v1/residents/" + code + "/history?purpose=benefit", agency_);
  ASSERT_EQ(history.result_int(), 200);
  auto search = post("/v1/residents/search?purpose=pension",
                     R"({"name":"渡辺 結衣","date_of_birth":"2001-02-03","address":"千代田区"})", agency_);
  ASSERT_EQ(search.result_int(), 200) << search.body();
  bool found = false;
  const json results = body(search)["results"];
  for (const auto& x : results) found |= x["resident_code"] == code;
  EXPECT_TRUE(found) << search.body();

  auto disclosed = get("/v1/residents/" + code + "/provisions", chiyoda_);
  ASSERT_EQ(disclosed.result_int(), 200);
  json list = body(disclosed)["provisions"];
  // Exactly one provision per successful read (the read, the history, the search that found the
  // resident), in order; the refused reads above recorded nothing.
  ASSERT_EQ(list.size(), 3u) << list.dump();
  EXPECT_EQ(list[0]["agency_name"], "日本年金機構");
  EXPECT_EQ(list[0]["purpose"], "pension");
  EXPECT_EQ(list[0]["request_id"], read["X-Request-Id"]);
  EXPECT_EQ(list[1]["purpose"], "benefit");
  EXPECT_EQ(list[1]["request_id"], history["X-Request-Id"]);
  EXPECT_EQ(list[2]["purpose"], "pension");
  EXPECT_EQ(list[2]["request_id"], search["X-Request-Id"]);
}

TEST_F(RegistryE2E, SearchValidatesItsInput) {
  const std::string s = "/v1/residents/search?purpose=pension";
  EXPECT_EQ(post(s, "[]", agency_).result_int(), 400);
  EXPECT_EQ(post(s, "{}", agency_).result_int(), 400);
  EXPECT_EQ(post(s, R"({"sex":"male"})", agency_).result_int(), 400);
  EXPECT_EQ(post(s, R"({"name":"x","colour":"red"})", agency_).result_int(), 400);
  EXPECT_EQ(post(s, R"({"date_of_birth":"03/02/2001"})", agency_).result_int(), 400);
  EXPECT_EQ(post(s, R"({"name":"x","limit":500})", agency_).result_int(), 400);
  EXPECT_EQ(post("/v1/residents/search", R"({"name":"x"})", agency_).result_int(), 403);
  EXPECT_EQ(post("/v1/residents/search", R"({"name":"x","purpose":"pension"})", agency_).result_int(), 200);
  EXPECT_EQ(post(s, R"({"name":"x"})", chiyoda_).result_int(), 403);
}

TEST_F(RegistryE2E, AMoveBetweenMunicipalitiesOverHttp) {
  const std::string code = born("e2e-move")["resident_code"];
  auto out = post("/v1/municipalities/131016/events",
                  R"({"event_id":"e2e-move-out","type":"move_out","date":"2025-01-10","resident_code":")" + code +
                      R"(","to":"131024"})", chiyoda_);
  ASSERT_EQ(out.result_int(), 201) << out.body();
  EXPECT_EQ(body(out)["status"], "moved_out");
  auto in = post("/v1/municipalities/131024/events",
                 R"({"event_id":"e2e-move-in","type":"move_in","date":"2025-01-12","resident_code":")" + code +
                     R"(","from":"131016","address":"東京都中央区銀座一丁目5番5号","name":"渡邊　結衣",)"
                     R"("date_of_birth":"2001-02-03","sex":"female"})", chuo_);
  ASSERT_EQ(in.result_int(), 201) << in.body();
  EXPECT_EQ(body(in)["municipality_code"], "131024");
  EXPECT_EQ(body(in)["resident_code"], code);
  // Now 中央区 holds the record, and 千代田区 may no longer read it.
  EXPECT_EQ(get("/v1/residents/" + code, chiyoda_).result_int(), 404);
  EXPECT_EQ(get("/v1/residents/" + code, chuo_).result_int(), 200);
  auto stats = jlis({"stats", "migration", "--data", dir_, "--month", "2025-01"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("131024,東京都,中央区,"), std::string::npos) << stats.out;
}

TEST_F(RegistryE2E, OperatorCommands) {
  // Two residents of 千代田区 at least (the generated population need not have any there).
  const std::string first = born("op-1")["resident_code"], second = born("op-2", "佐藤　花子")["resident_code"];
  auto csv = jlis({"residents", "export", "--data", dir_, "--municipality", "131016"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')),
            "resident_code,name,name_kana,date_of_birth,sex,address,municipality_code,status");
  std::istringstream lines(csv.out);
  std::string line;
  std::getline(lines, line);
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    EXPECT_NE(line.find(",131016,resident"), std::string::npos) << line;
  }
  EXPECT_GE(rows, 2);
  EXPECT_NE(csv.out.find("\n" + first + ",渡邊　結衣,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("\n" + second + ",佐藤　花子,"), std::string::npos) << csv.out;
  EXPECT_EQ(jlis({"stats", "migration", "--data", dir_, "--month", "2025-13"}).exit_code, 1);
  EXPECT_EQ(jlis({"municipality", "token", "--data", dir_, "--code", "130001"}).exit_code, 1);  // 東京都
  EXPECT_EQ(jlis({"municipality", "token", "--data", dir_, "--code", "131017"}).exit_code, 1);  // check digit
  EXPECT_EQ(jlis({"agency", "add", "--data", dir_, "--name", "x", "--purposes", "Bad Purpose"}).exit_code, 1);
  EXPECT_EQ(jlis({"residents", "export", "--data", dir_, "--municipality", "1"}).exit_code, 1);
}

TEST_F(RegistryE2E, HealthAndMetrics) {
  auto health = get("/healthz", "");
  EXPECT_EQ(health.result_int(), 200);
  born("e2e-metrics");
  auto metrics = get("/metrics", "");
  ASSERT_EQ(metrics.result_int(), 200);
  EXPECT_NE(metrics.body().find("jlis_registry_events_total{outcome=\"applied\"}"), std::string::npos);
  EXPECT_NE(metrics.body().find("route=\"/v1/municipalities/{code}/events\""), std::string::npos);
  // jlis serve keeps SQLite's memory statistics, which its bound (--sqlite-memory) needs; every
  // other command turns them off (store::skip_sqlite_memory_statistics).
  const std::string gauge = "\njlis_store_sqlite_memory_bytes ";
  const size_t at = metrics.body().find(gauge);
  ASSERT_NE(at, std::string::npos) << metrics.body();
  if (!store::testing::testing_on_postgresql()) {
    EXPECT_GT(std::atoll(metrics.body().c_str() + at + gauge.size()), 0);
  }
  EXPECT_EQ(get("/v1/nothing", "").result_int(), 404);
}

}  // namespace
}  // namespace jlis::e2e
