// The resident's own page (portal/portal.h) in headless Chromium, as a resident uses it with a card
// reader: the page shows the challenge; the reader's software (the test, with the resident's
// virtual card and its PIN) signs it and fills the certificate and signature fields; the resident
// clicks ログイン and reads their record: their identity, the registry's provision to the agency
// that read them, and, in a linkage world, the pension service's query of their household and
// income (answered) and its query for an item the legal table does not allow (refused). The same
// record as JSON. No policy violation, no accessibility fault.
//
// With JLIS_SCREENSHOTS=DIR the record page is saved there as portal.png (docs/images/portal.png).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "../http/chromium.h"
#include "../portal/portal_client.h"
#include "kiosk/virtual_card.h"
#include "linkage_signers.h"

namespace jlis::e2e {
namespace {

using http::testing::Chromium;
using nlohmann::json;
using portal::testing::PortalClient;
using security::World;
namespace bhttp = boost::beast::http;

constexpr const char* kCity = "municipality-131016";
constexpr const char* kPension = "pension-service-1011105003233";

class PortalE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // LGPKI too: the bodies sign their messages with its certificates (linkage/signatures.h).
    world_ = World::create("portal-e2e", {{"lgpki", "init", "--data", "{dir}"}}).release();
    if (!world_ || !world_->ok()) return;
    // The linkage bodies: the city (the world's resident lives there) and the pension service.
    auto city = world_->cli({"linkage", "body", "add", "--data", world_->dir(), "--kind", "municipality", "--name",
                             "千代田区", "--code", "131016"});
    auto pension = world_->cli({"linkage", "body", "add", "--data", world_->dir(), "--kind", "pension-service", "--name",
                                "日本年金機構", "--code", "1011105003233"});
    ASSERT_EQ(city.exit_code, 0) << city.err;
    ASSERT_EQ(pension.exit_code, 0) << pension.err;
    city_ = city.last_line();
    pension_ = pension.last_line();
    signers_.certify(world_->dir(), {kCity, kPension});
    world_->start();  // the new bodies' tokens, read fresh
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok() && !city_.empty()) << "the world was not built"; }

  // As the body whose token it is, its message signed with its key.
  static http::testing::Reply call(bhttp::verb method, const std::string& target, const std::string& token,
                                   const std::string& body = "") {
    return world_->request(method, target, body, token,
                           {{"JLIS-Signature", signers_.sign(token == city_ ? kCity : kPension, body)}});
  }
  static std::string code_of(const std::string& token) {
    auto r = call(bhttp::verb::post, "/v1/linkage/codes", token, json{{"my_number", world_->resident().my_number}}.dump());
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return json::parse(r.body()).value("code", "");
  }
  static http::testing::Reply ask(const std::string& code, const std::vector<std::string>& items) {
    json q = {{"code", code}, {"procedure", "J031-01"}, {"provider", kCity}, {"items", items}};
    return call(bhttp::verb::post, "/v1/linkage/queries", pension_, q.dump());
  }

  static inline World* world_ = nullptr;
  static inline std::string city_, pension_;
  static inline LinkageSigners signers_;
};

// Rule (issue 11's acceptance, the resident's side): after an agency's read and the pension
// service's two queries (one answered, one refused by the legal table), the resident logs in with
// the card in the browser and the page shows their identity, the provision to the agency, and both
// linkage records with requester, provider, procedure, items and outcome; GET /v1/portal/me with
// the same session answers the same records; the cookie is HttpOnly and SameSite=Strict; no CSP
// violation, no axe fault on either page; after log-out the record page is 401.
TEST_F(PortalE2E, TheResidentLogsInWithTheCardAndSeesWhoGotTheirData) {
  const auto& me = world_->resident();
  ASSERT_EQ(world_->get("/v1/residents/" + me.resident_code + "?purpose=" + World::kPurpose, world_->tokens().agency)
                .result_int(),
            200);
  const std::string city_code = code_of(city_), pension_code = code_of(pension_);
  auto put = call(bhttp::verb::put, "/v1/linkage/replicas/" + city_code, city_,
                  R"({"items":{"RS001":"3","RS002":"01","RS003":"2019-04-01","TX001":"4250000","TX005":"5100000"}})");
  ASSERT_EQ(put.result_int(), 200) << put.body();
  ASSERT_EQ(ask(pension_code, {"RS001", "RS002", "TX001"}).result_int(), 200);
  ASSERT_EQ(ask(pension_code, {"RS001", "RS004"}).result_int(), 403);

  PortalClient client(*world_);
  kiosk::VirtualCard card =
      kiosk::VirtualCard::make(me.card_id, client.certificate_pem(me.authentication_serial),
                               pki::private_key_pem(world_->authentication_key().key.get()).value(), "1234",
                               std::nullopt, std::nullopt, "")
          .value();
  const std::string base = "http://127.0.0.1:" + std::to_string(world_->port());
  Chromium browser(world_->dir() + "/chromium", 1100, 1500);
  browser.open(base + "/portal");
  ASSERT_TRUE(browser.wait_until("document.querySelector('#challenge') !== null"));
  EXPECT_EQ(browser.accessibility_faults(), std::vector<std::string>{}) << "the log-in page";
  // The reader's software: the challenge off the page, the card's signature after its PIN.
  const std::string challenge = browser.text("#challenge");
  auto bytes = pki::base64_decode(challenge);
  ASSERT_TRUE(bytes.ok()) << challenge;
  auto signature = card.sign(card::CardSecret::authentication_pin, "1234", *bytes);
  ASSERT_TRUE(signature.ok()) << signature.status().to_string();
  browser.evaluate("document.querySelector('#certificate').value = " +
                   json(card.slot(card::CardSecret::authentication_pin)->certificate_pem).dump());
  browser.evaluate("document.querySelector('#signature').value = " + json(pki::base64_encode(*signature)).dump());
  browser.click("#login");
  ASSERT_TRUE(browser.wait_until("location.pathname === '/portal/me' && document.querySelector('#linkage') !== null"))
      << browser.text("main");

  const std::string page = browser.text("main");
  EXPECT_NE(page.find("髙橋　花子"), std::string::npos) << page;
  EXPECT_NE(page.find("東京都千代田区丸の内一丁目1番1号"), std::string::npos);
  EXPECT_NE(page.find(me.resident_code), std::string::npos);
  EXPECT_EQ(page.find(me.my_number), std::string::npos) << "the page shows the My Number's last four digits only";
  EXPECT_NE(page.find(me.my_number.substr(8)), std::string::npos);
  const std::string provisions = browser.text("section[aria-labelledby=provisions] tbody");
  EXPECT_NE(provisions.find("Pension"), std::string::npos) << provisions;
  EXPECT_NE(provisions.find(World::kPurpose), std::string::npos) << provisions;
  const std::string linkage = browser.text("section[aria-labelledby=linkage] tbody");
  auto rows = browser.evaluate("document.querySelectorAll('section[aria-labelledby=linkage] tbody tr').length");
  EXPECT_EQ(rows, 2) << linkage;
  EXPECT_NE(linkage.find("日本年金機構"), std::string::npos) << linkage;
  EXPECT_NE(linkage.find("千代田区"), std::string::npos) << linkage;
  EXPECT_NE(linkage.find("J031-01"), std::string::npos) << linkage;
  EXPECT_NE(linkage.find("国民年金法による年金である給付の支給に関する事務"), std::string::npos) << linkage;
  for (const char* item : {"RS001", "RS002", "TX001", "RS004"}) EXPECT_NE(linkage.find(item), std::string::npos) << item;
  EXPECT_NE(linkage.find("提供"), std::string::npos) << linkage;
  EXPECT_NE(linkage.find("不提供"), std::string::npos) << linkage;
  EXPECT_NE(linkage.find("item-not-allowed"), std::string::npos) << linkage;
  EXPECT_EQ(browser.violations(), std::vector<std::string>{});
  EXPECT_EQ(browser.accessibility_faults(), std::vector<std::string>{}) << "the record page";
  if (const char* shots = std::getenv("JLIS_SCREENSHOTS"); shots != nullptr && *shots != 0) {
    auto png = pki::base64_decode(browser.screenshot_base64());
    ASSERT_TRUE(png.ok());
    std::ofstream(std::string(shots) + "/portal.png", std::ios::binary) << *png;
  }

  auto cookies = browser.call("Network.getCookies", {{"urls", {base + "/portal/me"}}});
  ASSERT_EQ(cookies["cookies"].size(), 1u);
  EXPECT_EQ(cookies["cookies"][0]["name"], "jlis_portal");
  EXPECT_EQ(cookies["cookies"][0]["httpOnly"], true);
  EXPECT_EQ(cookies["cookies"][0]["sameSite"], "Strict");
  const std::string secret = cookies["cookies"][0]["value"];
  auto r = client.me(secret);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  json rec = json::parse(r.body());
  EXPECT_EQ(rec["resident_code"], me.resident_code);
  ASSERT_EQ(rec["linkage_records"].size(), 2u) << r.body();
  std::multiset<std::string> outcomes;
  for (const auto& l : rec["linkage_records"]) {
    EXPECT_EQ(l["requester"], "pension-service-1011105003233");
    EXPECT_EQ(l["provider"], kCity);
    EXPECT_EQ(l["procedure"], "J031-01");
    outcomes.insert(l["outcome"].get<std::string>() + ":" + l.value("reason", ""));
  }
  EXPECT_EQ(outcomes, (std::multiset<std::string>{"provided:", "refused:item-not-allowed"}));
  bool agency = false;
  for (const auto& p : rec["provisions"]) agency |= p["agency_name"] == "Pension";
  EXPECT_TRUE(agency) << r.body();

  browser.click("header button");
  ASSERT_TRUE(browser.wait_until("location.pathname === '/portal' && document.querySelector('#challenge') !== null"));
  EXPECT_EQ(client.me(secret).result_int(), 401) << "logged out";
  EXPECT_EQ(browser.violations(), std::vector<std::string>{});
}

}  // namespace
}  // namespace jlis::e2e
