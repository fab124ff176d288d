// The card lifecycle as its users meet it: municipalities, the card centre and the call centre over
// HTTP, the factory run by `jlis cards produce`, notices by `jlis cards notices`.
#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "card/validity.h"
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

class CardE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (std::filesystem::temp_directory_path() / ("jlis-e2e-cards-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    // Prepared once per build and copied (template_dir.h).
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131024"},
                                         {"token", "create", "--data", "{dir}", "--role", "card-centre"},
                                         {"token", "create", "--data", "{dir}", "--role", "call-centre"}});
    ASSERT_EQ(out.size(), 5u) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    chiyoda_ = out[1].last_line();
    chuo_ = out[2].last_line();
    card_centre_ = out[3].last_line();
    call_centre_ = out[4].last_line();
    ASSERT_EQ(call_centre_.rfind("jlis_", 0), 0u);
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

  std::string adult(const std::string& id) {
    json e = {{"event_id", id}, {"type", "birth"}, {"date", "1990-06-15"},
              {"person", {{"name", "青木　蓮"}, {"name_kana", "アオキ　レン"}, {"date_of_birth", "1990-06-15"},
                          {"sex", "male"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto r = post("/v1/municipalities/131016/events", e.dump(), chiyoda_);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return body(r)["resident_code"];
  }

  static inline std::string dir_, chiyoda_, chuo_, card_centre_, call_centre_;
  static inline Server* server_ = nullptr;
};

TEST_F(CardE2E, ApplicationProductionHandoverSuspensionAndLoss) {
  const std::string resident = adult("card-e2e-1");
  auto applied = post("/v1/cards/applications",
                      json{{"resident_code", resident}, {"channel", "window"}, {"photo", true}}.dump(), chiyoda_);
  ASSERT_EQ(applied.result_int(), 201) << applied.body();
  const int64_t application = body(applied)["application_id"];
  EXPECT_EQ(body(applied)["status"], "accepted");
  // A second application while one is pending is refused with its reason.
  auto again = post("/v1/cards/applications",
                    json{{"resident_code", resident}, {"channel", "web"}, {"photo", true}}.dump(), card_centre_);
  EXPECT_EQ(again.result_int() / 100, 4) << again.body();
  EXPECT_FALSE(body(again)["error"]["message"].get<std::string>().empty());

  auto produced = jlis({"cards", "produce", "--data", dir_});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  EXPECT_NE(produced.out.find("produced 1"), std::string::npos) << produced.out;

  auto status = get("/v1/cards/applications/" + std::to_string(application), chiyoda_);
  ASSERT_EQ(status.result_int(), 200) << status.body();
  EXPECT_EQ(body(status)["status"], "shipped");
  const std::string card = body(status)["card_id"];

  EXPECT_EQ(post("/v1/cards/" + card + "/handover", R"({"identity_checked":true})", chuo_).result_int(), 403);
  EXPECT_EQ(post("/v1/cards/" + card + "/handover", R"({"identity_checked":false})", chiyoda_).result_int() / 100, 4);
  auto handed = post("/v1/cards/" + card + "/handover", R"({"identity_checked":true})", chiyoda_);
  ASSERT_EQ(handed.result_int(), 200) << handed.body();
  EXPECT_EQ(body(handed)["status"], "active");
  EXPECT_EQ(body(get("/v1/residents/" + resident, chiyoda_))["card_id"], card);

  EXPECT_EQ(post("/v1/cards/" + card + "/suspend", "", chiyoda_).result_int(), 403);
  auto suspended = post("/v1/cards/" + card + "/suspend", "", call_centre_);
  ASSERT_EQ(suspended.result_int(), 200) << suspended.body();
  EXPECT_EQ(body(suspended)["status"], "suspended");
  EXPECT_EQ(body(post("/v1/cards/" + card + "/resume", "", call_centre_))["status"], "active");
  auto lost = post("/v1/cards/" + card + "/report-lost", R"({"reason":"stolen"})", call_centre_);
  ASSERT_EQ(lost.result_int(), 200) << lost.body();
  EXPECT_EQ(body(lost)["status"], "lost");  // invalid at once and for good
  EXPECT_EQ(post("/v1/cards/" + card + "/resume", "", call_centre_).result_int(), 409);
  auto shown = get("/v1/cards/" + card, chiyoda_);
  ASSERT_EQ(shown.result_int(), 200);
  EXPECT_EQ(body(shown)["status"], "lost");
  // The history is every step, once each, in order (the refused attempts left none).
  const json shown_card = body(shown);
  std::vector<std::string> actions;
  for (const auto& h : shown_card["history"]) actions.push_back(h["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"produced", "shipped", "handed_over", "suspended", "resumed",
                                               "reported_lost"}))
      << shown.body();
  EXPECT_EQ(shown_card["history"].back()["note"], "stolen");
  EXPECT_EQ(post("/v1/cards/" + card + "/fly", "", call_centre_).result_int(), 404);
}

TEST_F(CardE2E, InvalidApplicationsAreRejectedWithTheirReason) {
  const std::string resident = adult("card-e2e-2");
  auto no_photo = post("/v1/cards/applications",
                       json{{"resident_code", resident}, {"channel", "post"}, {"photo", false}}.dump(), card_centre_);
  EXPECT_EQ(no_photo.result_int() / 100, 4) << no_photo.body();
  EXPECT_EQ(body(no_photo)["status"], "rejected");
  EXPECT_EQ(post("/v1/cards/applications", "{oops", chiyoda_).result_int(), 400);
  EXPECT_EQ(post("/v1/cards/applications",
                 json{{"resident_code", resident}, {"channel", "fax"}, {"photo", true}}.dump(), chiyoda_).result_int(),
            400);
  EXPECT_EQ(get("/v1/cards/applications/999999", chiyoda_).result_int(), 404);
}

TEST_F(CardE2E, ExpiryNoticesOfMonthMListTheActiveCardsExpiringInMonthMPlus2OnceEach) {
  // `jlis serve` and `jlis cards produce` run on today's date; everything here is relative to it.
  // A holder who turns 40 on the 1st of next month: an adult card, valid through the 10th birthday
  // after the production day (validity.h).
  const Date today = Date::today();
  const Date next_month = card::add_months(Date::from_ymd(today.year(), today.month(), 1).value(), 1);
  const Date birth = Date::from_ymd(next_month.year() - 40, next_month.month(), 1).value();
  json e = {{"event_id", "card-e2e-notice"}, {"type", "birth"}, {"date", birth.to_iso()},
            {"person", {{"name", "石田　陽菜"}, {"name_kana", "イシダ　ヒナ"}, {"date_of_birth", birth.to_iso()},
                        {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目9番9号"}}}};
  auto born = post("/v1/municipalities/131016/events", e.dump(), chiyoda_);
  ASSERT_EQ(born.result_int(), 201) << born.body();
  const std::string resident = body(born)["resident_code"];
  auto applied = post("/v1/cards/applications",
                      json{{"resident_code", resident}, {"channel", "window"}, {"photo", true}}.dump(), chiyoda_);
  ASSERT_EQ(applied.result_int(), 201) << applied.body();
  ASSERT_EQ(jlis({"cards", "produce", "--data", dir_}).exit_code, 0);
  const std::string card = body(get("/v1/cards/applications/" +
                                        std::to_string(body(applied)["application_id"].get<int64_t>()), chiyoda_))["card_id"];
  ASSERT_EQ(post("/v1/cards/" + card + "/handover", R"({"identity_checked":true})", chiyoda_).result_int(), 200);

  const Date expires = Date::from_ymd(next_month.year() + 9, next_month.month(), 1).value();  // turning 49
  EXPECT_EQ(body(get("/v1/cards/" + card, chiyoda_))["expires_on"], expires.to_iso());
  auto month_of = [](Date d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", d.year(), d.month());
    return std::string(buf);
  };
  const std::string header = "card_id,resident_code,municipality_code,expires_on,kind,name,address,email\n";
  // Month M = two months before the expiry: exactly this card's letter.
  const std::string month = month_of(card::add_months(expires, -2));
  auto notices = jlis({"cards", "notices", "--data", dir_, "--month", month});
  ASSERT_EQ(notices.exit_code, 0) << notices.err;
  EXPECT_EQ(notices.out, header + card + "," + resident + ",131016," + expires.to_iso() +
                             ",letter,石田　陽菜,東京都千代田区丸の内一丁目9番9号,\n");
  // Run again: already noticed, no second row.
  auto again = jlis({"cards", "notices", "--data", dir_, "--month", month});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, header);
  // The months around it do not cover this expiry.
  for (int shift : {-3, -1}) {
    auto other = jlis({"cards", "notices", "--data", dir_, "--month", month_of(card::add_months(expires, shift))});
    ASSERT_EQ(other.exit_code, 0) << other.err;
    EXPECT_EQ(other.out, header) << shift;
  }
  EXPECT_EQ(jlis({"cards", "notices", "--data", dir_, "--month", "2030-1"}).exit_code, 1);
}

}  // namespace
}  // namespace jlis::e2e
