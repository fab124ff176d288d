// The centre's public verification page (kiosk/verify_page.h) through the real `jlis serve`, with
// no token: it confirms a document the centre issued by the issuance number printed on it or by its
// QR code's payload (read from the rendered PDF with pdftoppm and zbarimg, as a phone would), says
// "not issued" for a number never given and for an altered QR code, never shows whom the document is
// about, escapes what it echoes under a strict Content-Security-Policy, and limits how fast one
// address may sweep the sequential numbers.
#include <cctype>
#include <cstdio>
#include <fstream>

#include "common/date.h"
#include "world.h"

namespace jlis::security {
namespace {

class VerifyPageAttacks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = World::create("verify-page").release();
    if (!world_->ok()) return;
    // One 住民票の写し printed at a kiosk for the world's resident.
    auto r = world_->post("/v1/issuance/131016/documents",
                          json{{"certificate_serial", world_->resident().authentication_serial},
                               {"session", "ks-verify"}, {"type", "juminhyo"}}
                              .dump(),
                          world_->tokens().issuance_centre);
    ASSERT_EQ(r.result_int(), 200) << r.body();
    number_ = std::string(r["X-Issuance-Number"]);
    pdf_ = r.body();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok() && !number_.empty()) << "the world was not built"; }

  // Every byte but letters and digits percent-encoded (the payload's alphabet has ' ', '%', '/', ...).
  static std::string encoded(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c)) {
        out += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", c);
        out += hex;
      }
    }
    return out;
  }
  static Reply verify_json(const std::string& code) { return world_->get("/v1/verify/" + encoded(code), ""); }
  // The QR code's payload on the document's first page.
  static std::string payload() {
    const fs::path dir = fs::path(world_->dir()) / "verify-scan";
    fs::create_directories(dir);
    std::ofstream(dir / "doc.pdf", std::ios::binary) << pdf_;
    e2e::shell("pdftoppm -r 100 -png -f 1 -l 1 -singlefile '" + (dir / "doc.pdf").string() + "' '" +
               (dir / "page").string() + "'");
    // Its complaints (no D-Bus in a container) kept out of what it read.
    std::string out = e2e::shell("{ zbarimg --quiet --raw -Sdisable -Sqrcode.enable '" + (dir / "page.png").string() +
                                 "' 2>/dev/null; }")
                          .out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  static inline World* world_ = nullptr;
  static inline std::string number_, pdf_;
};

// Rule: the printed issuance number is confirmed with the document's kind, issuer, date of issue
// (today in Japan, the date printed) and channel, and nothing about the person: neither the
// resident code, the My Number, the name nor the kiosk session.
TEST_F(VerifyPageAttacks, AnIssuedNumberIsConfirmedWithoutPersonalData) {
  auto r = verify_json(number_);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  const json j = json::parse(r.body());
  EXPECT_EQ(j["issued"], true);
  EXPECT_EQ(j["issuance_number"], number_);
  EXPECT_EQ(j["document_type"], "juminhyo");
  EXPECT_EQ(j["document_title"], "住民票の写し");
  EXPECT_EQ(j["municipality"]["code"], "131016");
  EXPECT_EQ(j["municipality"]["name"], "千代田区");
  EXPECT_EQ(j["issued_on"], Date::today().to_iso());
  EXPECT_EQ(j["channel"], "kiosk");
  EXPECT_EQ(j["code_verified"], false);
  EXPECT_EQ(j.size(), 8u) << r.body();
  for (const std::string& secret : {world_->resident().resident_code, world_->resident().my_number,
                                    std::string("髙橋"), std::string("ks-verify"), world_->resident().authentication_serial})
    EXPECT_EQ(r.body().find(secret), std::string::npos) << secret << " in " << r.body();
}

// Rule: a number in the right form that was never given is "not issued" (200, nothing else said);
// a text that is neither a number nor a payload is a 400 JSON error.
TEST_F(VerifyPageAttacks, ANumberNeverGivenIsNotIssuedAndGarbageIsABadRequest) {
  auto never = verify_json("131016-2026-9999999");
  ASSERT_EQ(never.result_int(), 200) << never.body();
  EXPECT_EQ(json::parse(never.body()), json({{"issued", false}}));
  EXPECT_TRUE(is_error_json(verify_json(std::string(33, '7')), 400));
  EXPECT_TRUE(is_error_json(verify_json("JLIS1:not base45!"), 400));
}

// Rule: the QR code's payload confirms the document with its signature and content digest checked;
// the same payload with one signature byte changed is "not issued".
TEST_F(VerifyPageAttacks, TheQrCodeConfirmsTheDocumentAndAnAlteredOneDoesNot) {
  const std::string code = payload();
  ASSERT_EQ(code.rfind("JLIS1:", 0), 0u) << "no QR code read: '" << code << "'";
  auto r = verify_json(code);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  const json j = json::parse(r.body());
  EXPECT_EQ(j["issued"], true);
  EXPECT_EQ(j["issuance_number"], number_);
  EXPECT_EQ(j["code_verified"], true);
  // The first character of a base45 triple in the signature, the triple's least significant digit:
  // lowered to '0' (or raised from it by one) the triple still decodes, to another signature byte.
  const size_t body = 6, groups = (code.size() - body) / 3;
  const size_t at = body + 3 * (groups - 2);
  std::string altered = code;
  altered[at] = altered[at] == '0' ? '1' : '0';
  auto forged = verify_json(altered);
  ASSERT_EQ(forged.result_int(), 200) << forged.body();
  EXPECT_EQ(json::parse(forged.body()), json({{"issued", false}}));
}

// Rule: the HTML page says the same in Japanese and English, under a Content-Security-Policy that
// allows no script, and what it echoes of the question is escaped.
TEST_F(VerifyPageAttacks, ThePageConfirmsInHtmlAndEchoesNoMarkup) {
  auto r = world_->get("/verify/" + number_, "");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(std::string(r[bhttp::field::content_type]), "text/html; charset=utf-8");
  const std::string csp(r["Content-Security-Policy"]);
  EXPECT_EQ(csp.rfind("default-src 'none'; style-src 'sha256-", 0), 0u) << csp;
  EXPECT_EQ(csp.find("script"), std::string::npos) << csp;
  EXPECT_NE(r.body().find("この証明書は発行されています"), std::string::npos);
  EXPECT_NE(r.body().find("This document was issued"), std::string::npos);
  EXPECT_NE(r.body().find("住民票の写し"), std::string::npos);
  EXPECT_EQ(r.body().find("髙橋"), std::string::npos);

  auto form = world_->get("/verify", "");
  ASSERT_EQ(form.result_int(), 200);
  EXPECT_NE(form.body().find("<label for=\"code\">"), std::string::npos);

  auto hostile = world_->get("/verify?code=" + encoded("<script>alert(1)</script>"), "");
  EXPECT_EQ(hostile.result_int(), 400);
  EXPECT_EQ(hostile.body().find("<script>"), std::string::npos);
  EXPECT_NE(hostile.body().find("&lt;script&gt;"), std::string::npos);
}

// Rule: in a real browser (headless Chromium, as a person opens the link), the form submitted with
// the printed number shows the answer, and the page's own Content-Security-Policy refuses nothing of
// the page (its style is allowed by hash; there is no script to refuse).
TEST_F(VerifyPageAttacks, ChromiumShowsTheAnswerAndThePolicyRefusesNothingOfThePage) {
  const fs::path profile = fs::path(world_->dir()) / "chromium-profile";
  const std::string url = "http://127.0.0.1:" + std::to_string(world_->port()) + "/verify?code=" + number_;
  auto dom = e2e::shell("chromium --headless=new --no-sandbox --disable-gpu --user-data-dir='" + profile.string() +
                        "' --enable-logging=stderr --v=0 --dump-dom '" + url + "'");
  EXPECT_EQ(dom.exit_code, 0) << dom.out;
  EXPECT_NE(dom.out.find("この証明書は発行されています"), std::string::npos) << dom.out;
  EXPECT_NE(dom.out.find(number_), std::string::npos);
  EXPECT_EQ(dom.out.find("Content Security Policy"), std::string::npos) << dom.out;
}

// Attack: sweeping the sequential numbers. One address gets 60 answers a minute, then 429 with
// Retry-After, on the JSON and the HTML form alike.
TEST_F(VerifyPageAttacks, OneAddressSweepingNumbersIsLimited) {
  int answered = 0;
  for (int i = 0; i < 60; ++i) answered += verify_json("131016-2026-" + std::to_string(1000000 + i)).result_int() == 200;
  EXPECT_EQ(answered, 60);
  auto limited = verify_json(number_);
  EXPECT_TRUE(is_error_json(limited, 429));
  EXPECT_FALSE(std::string(limited["Retry-After"]).empty());
  EXPECT_EQ(world_->get("/verify/" + number_, "").result_int(), 429);
}

}  // namespace
}  // namespace jlis::security
