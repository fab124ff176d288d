// A linkage-body token (a body of the information-linkage platform, linkage/bodies.h) reaches no
// route of `jlis serve` but the platform's own (/v1/linkage/..., linkage_attacks_test.cpp): no
// other component's route takes the role. Each refusal is 403 JSON, changes nothing and provides
// nothing. Once the body is removed, its token is 401 at once on the running server.
#include "world.h"

namespace jlis::security {
namespace {

class LinkageBodyToken : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("linkage-body").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }
  static inline World* world_ = nullptr;
};

TEST_F(LinkageBodyToken, ReachesNoRouteAndIsRefusedOnceItsBodyIsRemoved) {
  const std::string token =
      world_->token({"linkage", "body", "add", "--data", world_->dir(), "--kind", "pension-service", "--name",
                     "日本年金機構", "--code", "1011105003233"});
  const auto& r = world_->resident();
  struct Route {
    std::string method, path, body;
  };
  const std::vector<Route> routes = {
      {"GET", "/v1/residents/" + r.resident_code + "?purpose=pension", ""},
      {"GET", "/v1/residents?my_number=" + r.my_number + "&purpose=pension", ""},
      {"POST", "/v1/residents/search?purpose=pension", R"({"name":"髙橋　花子"})"},
      {"GET", "/v1/residents/" + r.resident_code + "/history?purpose=pension", ""},
      {"GET", "/v1/residents/" + r.resident_code + "/provisions", ""},
      {"GET", "/v1/residents/" + r.resident_code + "/certificates?purpose=pension", ""},
      {"GET", "/v1/cards/" + r.card_id, ""},
      {"POST", "/v1/cards/" + r.card_id + "/suspend", "{}"},
      {"GET", "/v1/pki/certificates/" + r.signature_serial, ""},
      {"GET", "/v1/pki/linkage/" + r.signature_serial, ""},
      {"POST", "/v1/municipalities/131016/events",
       R"({"event_id":"linkage-attack-1","type":"birth","date":"2020-01-01","person":{"name":"攻撃　太郎","name_kana":"コウゲキ　タロウ","date_of_birth":"2020-01-01","sex":"male","address":"東京都千代田区丸の内一丁目1番1号"}})"},
  };
  const std::string before = world_->table_digest();
  for (const auto& [method, path, body] : routes) {
    auto reply = method == "GET" ? world_->get(path, token) : world_->post(path, body, token);
    EXPECT_EQ(reply.result_int(), 403) << method << " " << path << ": " << reply.body();
    EXPECT_NE(reply.body().find("\"error\""), std::string::npos) << reply.body();
  }
  EXPECT_EQ(world_->table_digest(), before);

  auto removed = world_->cli({"linkage", "body", "remove", "--data", world_->dir(), "--body",
                              "pension-service-1011105003233"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(world_->get(routes[0].path, token).result_int(), 401);
}

}  // namespace
}  // namespace jlis::security
