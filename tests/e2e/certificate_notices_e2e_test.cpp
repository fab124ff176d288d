// `jlis certificates notices` as an operator runs it beside `jlis serve`: residents get cards and
// certificates through the API, on today's date (every expectation is computed from it); the
// notices of a month are the certificates expiring two months later, a letter in Japan and an
// e-mail abroad to the address given when applying, printed once and never again; a malformed
// month is refused and writes nothing.
#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "card/validity.h"
#include "card_key.h"
#include "data_dir_store.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

std::string notice_month(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", d.year(), d.month());
  return buf;
}

class CertificateNoticesE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("certificate-notices");
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                                         {"token", "create", "--data", "{dir}", "--role", "call-centre"}});
    ASSERT_EQ(out.size(), 4u) << out.back().err;
    ASSERT_EQ(out[1].exit_code, 0) << out[1].err;
    chiyoda_ = out[2].last_line();
    call_centre_ = out[3].last_line();
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0);
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0);
    delete server_;
    fs::remove_all(dir_);
  }

  Reply post(const std::string& target, const json& body, const std::string& token) {
    return Client(server_->port())
        .request(bhttp::verb::post, target, body.dump(), {{"Authorization", "Bearer " + token}});
  }
  Reply get(const std::string& target) {
    return Client(server_->port()).get(target, {{"Authorization", "Bearer " + chiyoda_}});
  }

  // A resident of 千代田区 born on `birth`, with a card (applied for with `email`, when given)
  // handed over with both keys: answers {resident_code, card_id}.
  std::pair<std::string, std::string> holder(const std::string& id, const std::string& name, Date birth,
                                             const std::string& email = "") {
    json e = {{"event_id", id}, {"type", "birth"}, {"date", birth.to_iso()},
              {"person", {{"name", name}, {"name_kana", "ヤマダ　ハナコ"}, {"date_of_birth", birth.to_iso()},
                          {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto born = post("/v1/municipalities/131016/events", e, chiyoda_);
    EXPECT_EQ(born.result_int(), 201) << born.body();
    const std::string resident = json::parse(born.body())["resident_code"];
    json application = {{"resident_code", resident}, {"channel", "window"}, {"photo", true}};
    if (!email.empty()) application["email"] = email;
    auto applied = post("/v1/cards/applications", application, chiyoda_);
    EXPECT_EQ(applied.result_int(), 201) << applied.body();
    EXPECT_EQ(jlis({"cards", "produce", "--data", dir_}).exit_code, 0);
    const std::string card = json::parse(get("/v1/cards/applications/" +
                                             std::to_string(json::parse(applied.body())["application_id"].get<int64_t>()))
                                             .body())["card_id"];
    const CardKey sig = CardKey::make(), auth = CardKey::make();
    auto h = post("/v1/cards/" + card + "/handover",
                  json{{"identity_checked", true},
                       {"public_keys", {{"signature", sig.public_pem}, {"authentication", auth.public_pem}}}},
                  chiyoda_);
    EXPECT_EQ(h.result_int(), 200) << h.body();
    return {resident, card};
  }

  static int64_t recorded_notices() {
    auto conn = connect_data_dir(dir_);
    if (!conn) return -1;
    return conn->query_int64("SELECT COUNT(*) FROM pki_expiry_notices").value().value_or(0);
  }

  static inline std::string dir_, chiyoda_, call_centre_;
  static inline Server* server_ = nullptr;
};

TEST_F(CertificateNoticesE2E, AMonthsNoticesAreLettersInJapanAndEmailAbroadPrintedOnce) {
  // Holders who turn 40 on the 10th of the month after next (15th, 20th): their certificates,
  // handed over today, expire on their 44th birthday, the 5th after today (card/validity.h).
  const Date today = Date::today();
  const Date ahead = card::add_months(Date::from_ymd(today.year(), today.month(), 1).value(), 2);
  const Date birth = Date::from_ymd(ahead.year() - 40, ahead.month(), 10).value();
  const Date expiry = Date::from_ymd(birth.year() + 44, birth.month(), 10).value();
  const Date abroad_expiry = expiry.add_days(5);
  const auto [home, home_card] = holder("cn-home", "山田　花子", birth);
  const auto [away, away_card] = holder("cn-away", "海外　花子", birth.add_days(5), "hanako@example.jp");
  // A holder a month later: the next run's.
  const auto [later, later_card] = holder("cn-later", "後藤　花子", card::add_months(birth, 1));
  // The holder abroad takes the continued-use procedure and leaves: their signature certificate
  // is revoked (a new address), the authentication certificate stays and gets an e-mail notice.
  auto continued = post("/v1/cards/continued-use", json{{"resident_code", away}, {"departure_on", today.to_iso()}},
                        call_centre_);
  ASSERT_EQ(continued.result_int(), 201) << continued.body();
  auto left = post("/v1/municipalities/131016/events",
                   json{{"event_id", "cn-away-out"}, {"type", "move_out"}, {"date", today.to_iso()},
                        {"resident_code", away}, {"to", "abroad"}, {"address_abroad", "1 Rue de Rivoli, Paris"}},
                   chiyoda_);
  ASSERT_EQ(left.result_int(), 201) << left.body();

  const std::string header = "card_id,resident_code,municipality_code,expires_on,certificates,kind,name,address,email\n";
  const std::string month = notice_month(card::add_months(expiry, -2));
  // Nothing is due the month before.
  auto early = jlis({"certificates", "notices", "--data", dir_, "--month", notice_month(card::add_months(expiry, -3))});
  ASSERT_EQ(early.exit_code, 0) << early.err;
  EXPECT_EQ(early.out, header);

  auto run = jlis({"certificates", "notices", "--data", dir_, "--month", month});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, header + home_card + "," + home + ",131016," + expiry.to_iso() +
                         ",signature;authentication,letter,山田　花子,東京都千代田区丸の内一丁目1番1号,\n" + away_card +
                         "," + away + ",131016," + abroad_expiry.to_iso() +
                         ",authentication,email,,,hanako@example.jp\n");
  EXPECT_NE(run.err.find("2 notices for certificates expiring"), std::string::npos) << run.err;
  EXPECT_EQ(recorded_notices(), 2);

  // Never twice: the same month again prints the header only, says why, and records nothing.
  auto again = jlis({"certificates", "notices", "--data", dir_, "--month", month});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, header);
  EXPECT_NE(again.err.find("no new notices"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("all 2 were recorded by an earlier run"), std::string::npos) << again.err;
  EXPECT_EQ(recorded_notices(), 2);

  // A malformed month: refused with its reason, nothing printed or recorded.
  for (const char* bad : {"2030-13", "2030-1", "next"}) {
    auto refused = jlis({"certificates", "notices", "--data", dir_, "--month", bad});
    EXPECT_EQ(refused.exit_code, 1) << bad;
    EXPECT_EQ(refused.out, "") << bad;
    EXPECT_NE(refused.err.find("the month must be YYYY-MM"), std::string::npos) << refused.err;
  }
  EXPECT_EQ(recorded_notices(), 2);

  // The next month: the later holder only.
  auto next = jlis({"certificates", "notices", "--data", dir_, "--month", notice_month(card::add_months(expiry, -1))});
  ASSERT_EQ(next.exit_code, 0) << next.err;
  EXPECT_EQ(next.out, header + later_card + "," + later + ",131016," + card::add_months(expiry, 1).to_iso() +
                          ",signature;authentication,letter,後藤　花子,東京都千代田区丸の内一丁目1番1号,\n");
  EXPECT_EQ(recorded_notices(), 3);
}

}  // namespace
}  // namespace jlis::e2e
