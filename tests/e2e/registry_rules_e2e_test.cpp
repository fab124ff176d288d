// Registry rules as callers and attackers meet them over HTTP through the real `jlis serve`: who may
// read identity information, which reads are recorded, what happens when recording fails, and
// concurrent retries of one event.
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "../http/client.h"
#include "data_dir_store.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Headers;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;

class RegistryRulesE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (std::filesystem::temp_directory_path() / ("jlis-e2e-registry-rules-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    // Prepared once per build and copied (template_dir.h).
    const char* const roles[] = {"card-centre", "call-centre", "verifier", "operator"};
    std::vector<std::vector<std::string>> steps = {
        {"init", "--data", "{dir}"},
        {"municipality", "token", "--data", "{dir}", "--code", "131016"},
        {"municipality", "token", "--data", "{dir}", "--code", "131024"},
        {"agency", "add", "--data", "{dir}", "--name", "日本年金機構", "--purposes", "pension"}};
    for (const char* role : roles) steps.push_back({"token", "create", "--data", "{dir}", "--role", role});
    const auto out = prepared_dir(dir_, steps);
    ASSERT_EQ(out.size(), steps.size()) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    chiyoda_ = out[1].last_line();
    chuo_ = out[2].last_line();
    agency_ = out[3].last_line();
    for (size_t i = 0; i < std::size(roles); ++i) roles_[roles[i]] = out[4 + i].last_line();
    for (const auto& [role, token] : roles_) ASSERT_EQ(token.rfind("jlis_", 0), 0u) << role;
    ASSERT_EQ(agency_.rfind("jlis_", 0), 0u);
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0);
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0);
    delete server_;
    std::filesystem::remove_all(dir_);
  }

  Reply get(const std::string& target, const std::string& token) {
    return Client(server_->port()).get(target, {{"Authorization", "Bearer " + token}});
  }
  Reply post(const std::string& target, const std::string& body, const std::string& token) {
    return Client(server_->port()).request(bhttp::verb::post, target, body, {{"Authorization", "Bearer " + token}});
  }
  static json body(const Reply& r) { return json::parse(r.body()); }

  static json birth(const std::string& id, const std::string& name) {
    return {{"event_id", id}, {"type", "birth"}, {"date", "2001-02-03"},
            {"person", {{"name", name}, {"name_kana", "わたなべ ゆい"}, {"date_of_birth", "2001-02-03"},
                        {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目2番3号"}}}};
  }
  std::string born(const std::string& id, const std::string& name) {
    auto r = post("/v1/municipalities/131016/events", birth(id, name).dump(), chiyoda_);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return body(r)["resident_code"];
  }
  json provisions(const std::string& code) {
    auto r = get("/v1/residents/" + code + "/provisions", chiyoda_);
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return body(r)["provisions"];
  }

  static inline std::string dir_, chiyoda_, chuo_, agency_;
  static inline std::map<std::string, std::string> roles_;
  static inline Server* server_ = nullptr;
};

TEST_F(RegistryRulesE2E, ReadsByEveryNonEntitledRoleAreRefusedAndProvideNothing) {
  const std::string code = born("rr-roles", "渡邊　結衣");
  std::map<std::string, std::string> callers = roles_;
  callers["other municipality"] = chuo_;
  const std::vector<std::string> purposes = {"", "?purpose=pension"};
  for (const auto& [who, token] : callers) {
    for (const auto& q : purposes) {
      for (const std::string& target : {"/v1/residents/" + code + q, "/v1/residents/" + code + "/history" + q}) {
        auto r = get(target, token);
        // Another municipality gets the answer of an unknown code (no existence oracle).
        const bool municipality = who == "other municipality";
        EXPECT_EQ(r.result_int(), municipality ? 404 : 403) << who << " " << target << ": " << r.body();
        EXPECT_EQ(r.body().find("渡邊"), std::string::npos) << who << " " << target;
        EXPECT_EQ(body(r)["error"]["code"], municipality ? "not_found" : "permission_denied") << who;
      }
      auto s = post("/v1/residents/search" + q, R"({"name":"渡邊　結衣"})", token);
      EXPECT_EQ(s.result_int(), 403) << who << " search: " << s.body();
      EXPECT_EQ(s.body().find("渡邊"), std::string::npos) << who;
    }
  }
  // The agency without a purpose, and with a purpose it was not granted.
  for (const std::string q : {"", "?purpose=tax"}) {
    EXPECT_EQ(get("/v1/residents/" + code + q, agency_).result_int(), 403) << q;
    EXPECT_EQ(get("/v1/residents/" + code + "/history" + q, agency_).result_int(), 403) << q;
    EXPECT_EQ(post("/v1/residents/search" + q, R"({"name":"渡邊　結衣"})", agency_).result_int(), 403) << q;
  }
  EXPECT_TRUE(provisions(code).empty());
}

TEST_F(RegistryRulesE2E, MunicipalityReadsOfItsOwnResidentsAreNotRecordedAsProvisions) {
  const std::string code = born("rr-muni", "佐藤　美咲");
  ASSERT_EQ(get("/v1/residents/" + code, chiyoda_).result_int(), 200);
  ASSERT_EQ(get("/v1/residents/" + code + "/history", chiyoda_).result_int(), 200);
  EXPECT_TRUE(provisions(code).empty());
  // An agency read is recorded: exactly one entry, so the empty list above is not a broken record.
  ASSERT_EQ(get("/v1/residents/" + code + "?purpose=pension", agency_).result_int(), 200);
  EXPECT_EQ(provisions(code).size(), 1u);
}

TEST_F(RegistryRulesE2E, WhenRecordingTheProvisionFailsTheAgencyGetsAnErrorAndNoData) {
  const std::string code = born("rr-record-fails", "鈴木　一郎");
  // Inject a failing provision write: the audit log refuses every insert.
  auto conn = connect_data_dir(dir_);
  ASSERT_TRUE(conn);
  const bool pg = conn->dialect() == "postgresql";
  ASSERT_TRUE(conn->execute_script(
                      pg ? "CREATE FUNCTION audit.fail_provisions() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$BEGIN RAISE EXCEPTION 'injected failure'; END$$; "
                           "CREATE TRIGGER fail_provisions BEFORE INSERT ON audit.provisions "
                           "FOR EACH ROW EXECUTE FUNCTION audit.fail_provisions()"
                         : "CREATE TRIGGER audit.fail_provisions BEFORE INSERT ON provisions "
                           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END").is_ok());
  auto read = get("/v1/residents/" + code + "?purpose=pension", agency_);
  auto history = get("/v1/residents/" + code + "/history?purpose=pension", agency_);
  auto search = post("/v1/residents/search?purpose=pension", R"({"name":"鈴木　一郎"})", agency_);
  ASSERT_TRUE(conn->execute_script(pg ? "DROP TRIGGER fail_provisions ON audit.provisions"
                                      : "DROP TRIGGER audit.fail_provisions").is_ok());
  for (const Reply* r : {&read, &history, &search}) {
    EXPECT_GE(r->result_int(), 400) << r->body();
    EXPECT_EQ(r->body().find("鈴木"), std::string::npos) << r->body();
    EXPECT_EQ(r->body().find(code), std::string::npos) << r->body();
    EXPECT_TRUE(body(*r)["error"].contains("code")) << r->body();
  }
  EXPECT_TRUE(provisions(code).empty());
  // With the audit log writable again, the same read is answered and recorded.
  ASSERT_EQ(get("/v1/residents/" + code + "?purpose=pension", agency_).result_int(), 200);
  EXPECT_EQ(provisions(code).size(), 1u);
}

TEST_F(RegistryRulesE2E, ConcurrentDuplicatesOfOneEventAreAnswered201OnceThen200) {
  constexpr int kClients = 8;
  const std::string event = birth("rr-dup", "高橋　陽向").dump();
  std::vector<int> status(kClients);
  std::vector<std::string> codes(kClients);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kClients) std::this_thread::yield();
      auto r = post("/v1/municipalities/131016/events", event, chiyoda_);
      status[i] = r.result_int();
      if (r.result_int() / 100 == 2) codes[i] = body(r)["resident_code"];
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(status.begin(), status.end(), 201), 1);
  EXPECT_EQ(std::count(status.begin(), status.end(), 200), kClients - 1);
  for (int i = 1; i < kClients; ++i) EXPECT_EQ(codes[i], codes[0]);
  auto history = get("/v1/residents/" + codes[0] + "/history", chiyoda_);
  ASSERT_EQ(history.result_int(), 200);
  EXPECT_EQ(body(history)["events"].size(), 1u) << history.body();
}

}  // namespace
}  // namespace jlis::e2e
