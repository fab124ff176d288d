// Attacks on the information-linkage platform's routes (linkage/routes.h) through `jlis serve`:
// every other role is refused every linkage route (403 JSON) and no token is 401, each changing
// nothing and providing nothing; a body cannot use another body's code (the replica is 404, the
// query is refused as an unknown code and recorded), cannot act as another body (a requester named
// in the body is ignored: the token's body is the requester), a ministry gets no code and the
// registry records no provision for it; a removed body's token is 401 at once and a query to it as
// provider is refused; a bulk job is its body's alone, and only a body may send a large file.
// Every message is the body's own only with its signature (linkage/signatures.h): unsigned, forged,
// signed by another body's key or by a revoked certificate, it is refused and changes nothing. An
// unknown procedure is refused and recorded; an expired body token is 401 everywhere.
#include <nlohmann/json.hpp>

#include "../e2e/linkage_signers.h"
#include "world.h"

namespace jlis::security {
namespace {


constexpr const char* kCity = "municipality-131016";
constexpr const char* kPension = "pension-service-1011105003233";

class LinkageAttacks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The platform checks the bodies' signatures against LGPKI: made with the world, then served.
    world_ = World::create("linkage-attacks", {{"lgpki", "init", "--data", "{dir}"}}).release();
    if (!world_->ok()) return;
    auto body = [](const char* kind, const char* name, const char* code) {
      return world_->token({"linkage", "body", "add", "--data", world_->dir(), "--kind", kind, "--name", name,
                            "--code", code});
    };
    city_ = body("municipality", "千代田区", "131016");
    pension_ = body("pension-service", "日本年金機構", "1011105003233");
    ministry_ = body("ministry", "厚生労働省", "6000012070001");
    certify({{city_, kCity}, {pension_, kPension}, {ministry_, "ministry-6000012070001"}});
  }
  static void certify(const std::map<std::string, std::string>& bodies) {
    std::vector<std::string> ids;
    for (const auto& [token, id] : bodies) ids.push_back(id);
    signers_.certify(world_->dir(), ids);
    signer_of_.insert(bodies.begin(), bodies.end());
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }

  // As the body whose token it is: a message (POST, PUT) signed with the body's key.
  static Reply call(bhttp::verb method, const std::string& target, const std::string& token,
                    const std::string& body = "") {
    auto signer = signer_of_.find(token);
    if ((method != bhttp::verb::post && method != bhttp::verb::put) || signer == signer_of_.end())
      return world_->request(method, target, body, token);
    return world_->request(method, target, body, token, {{"JLIS-Signature", signers_.sign(signer->second, body)}});
  }
  static std::string code_of(const std::string& token) {
    auto r = call(bhttp::verb::post, "/v1/linkage/codes", token, json{{"my_number", world_->resident().my_number}}.dump());
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return json::parse(r.body(), nullptr, false).value("code", "");
  }
  static int64_t count(const std::string& sql) {
    auto conn = e2e::connect_data_dir(world_->dir());
    auto n = conn->query_int64(sql);
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? n->value_or(-1) : -1;
  }

  static inline World* world_ = nullptr;
  static inline std::string city_, pension_, ministry_;
  static inline e2e::LinkageSigners signers_;
  static inline std::map<std::string, std::string> signer_of_;  // token → body id
};

struct Route {
  bhttp::verb method;
  std::string path, body;
};

std::vector<Route> linkage_routes(const std::string& my_number, const std::string& code) {
  const std::string query = json{{"code", code}, {"procedure", "J031-01"}, {"provider", kCity}, {"items", {"RS001"}}}.dump();
  return {{bhttp::verb::post, "/v1/linkage/codes", json{{"my_number", my_number}}.dump()},
          {bhttp::verb::put, "/v1/linkage/replicas/" + code, R"({"items":{"RS001":"3"}})"},
          {bhttp::verb::get, "/v1/linkage/replicas/" + code, ""},
          {bhttp::verb::put, "/v1/linkage/replicas/" + code + "/live", R"({"live":true})"},
          {bhttp::verb::post, "/v1/linkage/queries", query},
          {bhttp::verb::get, "/v1/linkage/records", ""},
          {bhttp::verb::get, "/v1/linkage/bodies", ""},
          {bhttp::verb::post, "/v1/linkage/bulk-jobs", query + "\n" + query},
          {bhttp::verb::get, "/v1/linkage/bulk-jobs/" + std::string(32, '0'), ""},
          {bhttp::verb::get, "/v1/linkage/bulk-jobs/" + std::string(32, '0') + "/results", ""}};
}

// Rule: the linkage routes are the bodies' alone: every other role 403, no token or a forged one
// 401, each as JSON, with nothing written and nothing provided.
TEST_F(LinkageAttacks, EveryOtherRoleIsRefusedEveryRoute) {
  const std::string code = code_of(city_);
  const std::string digest = world_->table_digest();
  const int64_t provisions = world_->provision_count();
  for (const auto& route : linkage_routes(world_->resident().my_number, code)) {
    for (const auto& [role, token] : world_->tokens().by_name()) {
      auto r = call(route.method, route.path, token, route.body);
      EXPECT_TRUE(is_error_json(r, 403)) << role << " " << route.path << ": " << r.body();
    }
    for (const std::string& token : {std::string(), "jlis_" + std::string(64, '0')}) {
      auto r = call(route.method, route.path, token, route.body);
      EXPECT_TRUE(is_error_json(r, 401)) << route.path << ": " << r.body();
    }
  }
  EXPECT_EQ(world_->table_digest(), digest);
  EXPECT_EQ(world_->provision_count(), provisions);
}

// Rule: a body holds only its own codes: another body's code reads and writes no replica (404, as
// for a code that does not exist) and marks nothing answered live, and a query by it is refused as
// an unknown code and recorded as the caller's refusal, with nothing of the replica answered.
TEST_F(LinkageAttacks, AnotherBodysCodeIsUnknownToTheCaller) {
  const std::string city_code = code_of(city_);
  ASSERT_EQ(call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, city_, R"({"items":{"TX001":"4250000"}})")
                .result_int(),
            200);
  auto read = call(bhttp::verb::get, "/v1/linkage/replicas/" + city_code, pension_);
  EXPECT_TRUE(is_error_json(read, 404)) << read.body();
  auto write = call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, pension_, R"({"items":{"TX001":"1"}})");
  EXPECT_TRUE(is_error_json(write, 404)) << write.body();
  // Nor may it divert the city's answers about the person to a system of its choosing.
  auto live = call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code + "/live", pension_, R"({"live":true})");
  EXPECT_TRUE(is_error_json(live, 404)) << live.body();
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_live_answers"), 0);
  const int64_t refused = count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused'");
  auto q = call(bhttp::verb::post, "/v1/linkage/queries", pension_,
                json{{"code", city_code}, {"procedure", "J031-01"}, {"provider", kCity}, {"items", {"TX001"}}}.dump());
  EXPECT_TRUE(is_error_json(q, 404)) << q.body();
  EXPECT_EQ(q.body().find("4250000"), std::string::npos);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused' AND reason = 'unknown-code' "
                  "AND requester = '" + std::string(kPension) + "'"),
            1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused'"), refused + 1);
  auto mine = call(bhttp::verb::get, "/v1/linkage/replicas/" + city_code, city_);
  EXPECT_EQ(json::parse(mine.body(), nullptr, false)["items"]["TX001"], "4250000") << "the write was refused whole";
}

// Rule: a bulk file over the ordinary 1 MiB is read only from a registered body: without a token,
// with a forged one or with another role's, it is 413 before its body is read, and nothing is
// stored.
TEST_F(LinkageAttacks, OnlyABodyMaySendALargeFile) {
  const std::string big(2 << 20, ' ');
  const std::string before = world_->table_digest();
  for (const std::string& token :
       {std::string(), "jlis_" + std::string(64, '0'), world_->tokens().by_name().at("municipality")}) {
    auto r = call(bhttp::verb::post, "/v1/linkage/bulk-jobs", token, big);
    EXPECT_TRUE(is_error_json(r, 413)) << r.body();
  }
  EXPECT_EQ(world_->table_digest(), before);
}

// Rule: a bulk job and its results are its body's alone: another body gets 404, as for a job that
// does not exist, and learns nothing of it.
TEST_F(LinkageAttacks, AnotherBodysBulkJobIsNotFound) {
  const std::string code = code_of(city_);
  auto submitted = call(bhttp::verb::post, "/v1/linkage/bulk-jobs", city_,
                        json{{"code", code}, {"procedure", "J074-01"}, {"provider", kCity}, {"items", {"RS001"}}}.dump());
  ASSERT_EQ(submitted.result_int(), 202) << submitted.body();
  const std::string job = json::parse(submitted.body(), nullptr, false).value("job_id", "");
  ASSERT_EQ(job.size(), 32u);
  for (const std::string& path : {"/v1/linkage/bulk-jobs/" + job, "/v1/linkage/bulk-jobs/" + job + "/results"}) {
    auto r = call(bhttp::verb::get, path, pension_);
    EXPECT_TRUE(is_error_json(r, 404)) << path << ": " << r.body();
    EXPECT_EQ(r.body().find(code), std::string::npos);
  }
}

// Rule: the token's body is the requester, whatever the request says: a requester named in the body
// is not taken, so a body cannot ask as one the table allows.
TEST_F(LinkageAttacks, ABodyCannotAskAsAnother) {
  const std::string city_code = code_of(city_);
  // The city asks as if it were the pension service (J031-01 is the pension service's): refused for
  // the city, and recorded as the city's.
  json q = {{"code", city_code}, {"procedure", "J031-01"}, {"provider", kCity}, {"items", {"RS001"}},
            {"requester", kPension}};
  auto r = call(bhttp::verb::post, "/v1/linkage/queries", city_, q.dump());
  EXPECT_TRUE(is_error_json(r, 403)) << r.body();
  EXPECT_NE(r.body().find("[requester-not-entitled]"), std::string::npos) << r.body();
  auto records = call(bhttp::verb::get, "/v1/linkage/records?limit=1", city_);
  json newest = json::parse(records.body(), nullptr, false)["records"][0];
  EXPECT_EQ(newest["requester"], kCity);
  EXPECT_EQ(newest["reason"], "requester-not-entitled");
}

// Rule: a ministry holds no My Numbers: it gets no code, and the registry records no provision of
// the resident code for it.
TEST_F(LinkageAttacks, AMinistryGetsNoCodeAndNothingIsProvided) {
  const int64_t provisions = world_->provision_count();
  auto r = call(bhttp::verb::post, "/v1/linkage/codes", ministry_,
                json{{"my_number", world_->resident().my_number}}.dump());
  EXPECT_TRUE(is_error_json(r, 403)) << r.body();
  EXPECT_EQ(world_->provision_count(), provisions);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes WHERE body = 'ministry-6000012070001'"), 0);
}

// Rule: a removed body's token is 401 on every linkage route at once, and a query naming it as
// provider is refused (403) and records nothing.
TEST_F(LinkageAttacks, ARemovedBodyIsShutOutAtOnce) {
  const std::string token = world_->token({"linkage", "body", "add", "--data", world_->dir(), "--kind", "municipality",
                                           "--name", "八王子市", "--code", "132012"});
  certify({{token, "municipality-132012"}});
  const std::string code = code_of(token);
  ASSERT_EQ(call(bhttp::verb::get, "/v1/linkage/bodies", token).result_int(), 200);
  auto removed = world_->cli({"linkage", "body", "remove", "--data", world_->dir(), "--body", "municipality-132012"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  for (const auto& route : linkage_routes(world_->resident().my_number, code)) {
    auto r = call(route.method, route.path, token, route.body);
    EXPECT_TRUE(is_error_json(r, 401)) << route.path << ": " << r.body();
  }
  const int64_t records = count("SELECT COUNT(*) FROM linkage_provisions");
  auto q = call(bhttp::verb::post, "/v1/linkage/queries", pension_,
                json{{"code", code_of(pension_)}, {"procedure", "J031-01"}, {"provider", "municipality-132012"},
                     {"items", {"RS001"}}}
                    .dump());
  EXPECT_TRUE(is_error_json(q, 403)) << q.body();
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions"), records);
}

// Rule: a message is the calling body's only with its own signature over these bytes: for every
// route that takes one, no signature, a signature over other bytes, another body's signature and a
// signature by a certificate of no body are each 403 naming the rule, and change nothing.
TEST_F(LinkageAttacks, AMessageUnsignedForgedOrSignedByAnotherKeyIsRefused) {
  const std::string code = code_of(pension_);
  const std::string digest = world_->table_digest();
  for (const auto& route : linkage_routes(world_->resident().my_number, code)) {
    if (route.method != bhttp::verb::post && route.method != bhttp::verb::put) continue;
    const struct {
      std::string name, header;
      const char* rule;
    } forgeries[] = {
        {"unsigned", "", "[signature-missing]"},
        {"other bytes", signers_.sign(kPension, route.body + " "), "[signature-invalid]"},
        {"the city's key", signers_.sign(kCity, route.body), "[signer-not-registered]"},
        {"garbage", "AAAA", "[signature-invalid]"},
    };
    for (const auto& f : forgeries) {
      auto r = world_->request(route.method, route.path, route.body, pension_, {{"JLIS-Signature", f.header}});
      EXPECT_TRUE(is_error_json(r, 403)) << f.name << " " << route.path << ": " << r.body();
      EXPECT_NE(r.body().find(f.rule), std::string::npos) << f.name << " " << route.path << ": " << r.body();
    }
  }
  EXPECT_EQ(world_->table_digest(), digest);
}

// Rule: a signer's revocation reaches the platform by OCSP within the server's tick (LGPKI revoked
// by another process): its next message is refused [signer-revoked] and nothing is answered.
TEST_F(LinkageAttacks, ARevokedSignersMessagesAreRefused) {
  const std::string token = world_->token({"linkage", "body", "add", "--data", world_->dir(), "--kind",
                                           "health-insurer", "--name", "協会けんぽ東京支部", "--code", "01130012"});
  certify({{token, "health-insurer-01130012"}});
  ASSERT_EQ(code_of(token).size(), 32u);
  signers_.revoke(world_->dir(), "health-insurer-01130012");
  Reply r = call(bhttp::verb::post, "/v1/linkage/codes", token, json{{"my_number", world_->resident().my_number}}.dump());
  for (int i = 0; i < 100 && r.result_int() == 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    r = call(bhttp::verb::post, "/v1/linkage/codes", token, json{{"my_number", world_->resident().my_number}}.dump());
  }
  EXPECT_TRUE(is_error_json(r, 403)) << r.body();
  EXPECT_NE(r.body().find("[signer-revoked]"), std::string::npos) << r.body();
}

// Rule: a procedure the legal table does not have is refused by name over HTTP ([unknown-procedure],
// 403) and the refusal is recorded, with nothing of the replica answered.
TEST_F(LinkageAttacks, AnUnknownProcedureIsRefusedAndRecorded) {
  const std::string code = code_of(pension_);
  const int64_t records = count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused' AND reason = "
                                "'unknown-procedure'");
  auto r = call(bhttp::verb::post, "/v1/linkage/queries", pension_,
                json{{"code", code}, {"procedure", "X999-99"}, {"provider", kCity}, {"items", {"RS001"}}}.dump());
  EXPECT_TRUE(is_error_json(r, 403)) << r.body();
  EXPECT_NE(r.body().find("[unknown-procedure]"), std::string::npos) << r.body();
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused' AND reason = 'unknown-procedure'"),
            records + 1);
}

// Rule: a body's token that has expired is 401 on every route at once, as an unknown one.
TEST_F(LinkageAttacks, AnExpiredBodyTokenIsRefusedEveryRoute) {
  const std::string token = world_->token({"linkage", "body", "add", "--data", world_->dir(), "--kind",
                                           "health-insurer", "--name", "全国健康保険協会", "--code", "01130020",
                                           "--expires", "2s"});
  ASSERT_EQ(call(bhttp::verb::get, "/v1/linkage/bodies", token).result_int(), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  for (const auto& route : linkage_routes(world_->resident().my_number, std::string(32, 'a'))) {
    auto r = call(route.method, route.path, token, route.body);
    EXPECT_TRUE(is_error_json(r, 401)) << route.path << ": " << r.body();
  }
}

}  // namespace
}  // namespace jlis::security
