#include "kiosk/screen_pages.h"

#include <nlohmann/json.hpp>

#include "http/html.h"
#include "municipal/document_content.h"

namespace jlis::kiosk::screen {
namespace {

using http::html_escape;

// A kiosk of 1024×768 and up; buttons at least 80 px high, text of 24 px and more, contrast above
// 7:1 for the text on its buttons.
constexpr std::string_view kStyle =
    "*{box-sizing:border-box}body{margin:0;font-family:'Noto Sans CJK JP',sans-serif;font-size:24px;"
    "background:#eef2f5;color:#111}header{background:#0b4f8a;color:#fff;padding:12px 24px;display:flex;"
    "justify-content:space-between;align-items:center}header h1{font-size:28px;margin:0}"
    "ol.steps{list-style:none;display:flex;gap:8px;margin:0;padding:0;font-size:18px}"
    "ol.steps li{padding:4px 10px;border:2px solid #fff;border-radius:16px}"
    "ol.steps li[aria-current]{background:#fff;color:#0b4f8a;font-weight:bold}"
    "main{max-width:960px;margin:16px auto;padding:16px 32px;background:#fff;border:1px solid #b8c0c8}"
    "h2{font-size:32px;margin:0 0 16px}p{margin:12px 0}"
    "button{font:inherit;font-size:28px;min-height:88px;min-width:160px;padding:12px 24px;border-radius:12px;"
    "border:3px solid #0b4f8a;background:#fff;color:#0b4f8a;cursor:pointer}"
    "button.go{background:#0b4f8a;color:#fff}button.go .fee{color:#fff}button.quiet{border-color:#4a4f55;color:#1a1a1a}"
    "button:focus{outline:4px solid #c25e00;outline-offset:3px}button[disabled]{border-color:#8a9096;color:#5c6166}"
    ".actions{display:flex;justify-content:space-between;gap:16px;margin-top:24px}"
    ".list{display:grid;grid-template-columns:1fr 1fr;gap:16px}.list button{width:100%;text-align:left}"
    ".fee{display:block;font-size:22px;color:#333;overflow-wrap:anywhere}"
    ".pad{display:grid;grid-template-columns:repeat(3,120px);gap:12px;justify-content:center}"
    ".pad button{min-width:120px;min-height:80px;font-size:36px}.pad button.sub{font-size:24px}"
    ".dots{font-size:40px;letter-spacing:16px;text-align:center;margin:0 0 8px}"
    ".notice{border-left:8px solid #b3261e;padding:8px 16px;background:#fdeceb;color:#7a1712;font-weight:bold}"
    "fieldset{border:2px solid #b8c0c8;border-radius:12px;margin:0 0 16px;padding:8px 16px 16px}"
    "legend{font-weight:bold;padding:0 8px}label{display:inline-flex;align-items:center;gap:12px;min-height:64px;"
    "margin:4px 24px 4px 0}input[type=radio],input[type=checkbox]{width:36px;height:36px}"
    ".copies{display:flex;align-items:center;gap:24px}.copies button{min-width:88px;font-size:36px}"
    ".count{font-size:36px;font-weight:bold;min-width:96px;text-align:center}dl{display:grid;grid-template-columns:auto 1fr;gap:8px 24px;margin:0}"
    "dt{font-weight:bold}dd{margin:0}.total{font-size:36px;font-weight:bold}"
    "a.pdf{display:inline-block;font-size:28px;padding:16px 24px;border:3px solid #0b4f8a;border-radius:12px;"
    "color:#0b4f8a}a.pdf:focus{outline:4px solid #c25e00}.links{display:flex;gap:16px;flex-wrap:wrap}";

constexpr const char* kSteps[] = {"カード", "暗証番号", "証明書の選択", "確認", "印刷"};

// The page around `body`; `step` is 1 to 5 (0: none current).
std::string page(int step, std::string_view title, const std::string& body, bool refresh = false) {
  std::string h = "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  if (refresh) h += "<meta http-equiv=\"refresh\" content=\"1\">";
  h += "<title>" + html_escape(title) + " — 証明書交付サービス</title><style>" + std::string(kStyle) +
       "</style></head><body><header><h1>証明書交付サービス</h1><ol class=\"steps\" aria-label=\"手順\">";
  for (int i = 0; i < 5; ++i)
    h += std::string("<li") + (i + 1 == step ? " aria-current=\"step\"" : "") + ">" + std::to_string(i + 1) + " " +
         kSteps[i] + "</li>";
  return h + "</ol></header><main><h2>" + html_escape(title) + "</h2>" + body + "</main></body></html>\n";
}

// やめる inside another step's form: it posts that form to /finish instead.
constexpr std::string_view kCancelInForm =
    "<button class=\"quiet\" type=\"submit\" formaction=\"/finish\">やめる</button>";

// The button that ends the resident's use of the screen at any step.
std::string cancel_form(std::string_view label = "やめる") {
  return "<form method=\"post\" action=\"/finish\"><button class=\"quiet\" type=\"submit\">" + std::string(label) +
         "</button></form>";
}

std::string title_of(std::string_view type) {
  auto t = municipal::parse_document_type(type);
  return t.ok() ? std::string(municipal::document_title(*t)) : std::string(type);
}

bool has_household_options(std::string_view type) { return type == "juminhyo" || type == "kisai-jiko"; }

std::string describe(const Choice& c) {
  std::string d;
  if (has_household_options(c.type)) {
    d = c.whole_household ? "世帯全員" : "本人のみ";
    if (c.head_and_relationship) d += "・世帯主と続柄あり";
    if (c.honseki) d += "・本籍と筆頭者あり";
    if (c.my_number) d += "・個人番号あり";
  } else if (c.type == "koseki") {
    d = c.individual ? "個人事項証明書（抄本）" : "全部事項証明書（謄本）";
  }
  return d.empty() ? "なし" : d;
}

std::string yen(int64_t amount) { return std::to_string(amount) + "円"; }

std::string radio(std::string_view name, std::string_view value, bool checked, std::string_view label) {
  return "<label><input type=\"radio\" name=\"" + std::string(name) + "\" value=\"" + std::string(value) + "\"" +
         (checked ? " checked" : "") + ">" + std::string(label) + "</label>";
}
std::string checkbox(std::string_view value, bool checked, std::string_view label) {
  return "<label><input type=\"checkbox\" name=\"items\" value=\"" + std::string(value) + "\"" +
         (checked ? " checked" : "") + ">" + std::string(label) + "</label>";
}

}  // namespace

nlohmann::json document_request(const Choice& c) {
  nlohmann::json options = nlohmann::json::object();
  if (has_household_options(c.type)) {
    options["members"] = c.whole_household ? "all" : "self";
    nlohmann::json items = nlohmann::json::array();
    if (c.head_and_relationship) items.push_back("household");
    if (c.honseki) items.push_back("honseki");
    if (c.my_number) items.push_back("my-number");
    options["items"] = items;
  } else if (c.type == "koseki") {
    options["individual"] = c.individual;
  }
  return {{"type", c.type}, {"options", options}, {"copies", c.copies}};
}

std::string_view screen_style() { return kStyle; }

std::string insert_card_page(const std::vector<std::string>& cards) {
  std::string b = "<p>マイナンバーカードを読み取り部に置いてください。</p><p>住民票の写し・印鑑登録証明書などの証明書を"
                  "発行します（利用者証明用電子証明書の暗証番号、数字4桁が必要です）。</p><form method=\"post\" "
                  "action=\"/card\" class=\"list\">";
  for (size_t i = 0; i < cards.size(); ++i)
    b += "<button class=\"go\" type=\"submit\" name=\"card\" value=\"" + std::to_string(i) + "\">カードを置く<span "
         "class=\"fee\">" + html_escape(cards[i]) + "</span></button>";
  return page(1, "カードを置いてください", b + "</form>");
}

std::string pin_page(size_t digits, std::string_view notice) {
  std::string dots;
  for (size_t i = 0; i < 4; ++i) dots += i < digits ? "●" : "○";
  std::string b;
  if (!notice.empty()) b += "<p class=\"notice\" role=\"alert\">" + html_escape(notice) + "</p>";
  b += "<p>利用者証明用の暗証番号（数字4桁）を入力し、「確定」を押してください。</p><p class=\"dots\" "
       "aria-label=\"入力済み " + std::to_string(digits) + " 桁（4桁中）\">" + dots + "</p><form method=\"post\" "
       "action=\"/pin\" class=\"pad\">";
  for (const char* key : {"1", "2", "3", "4", "5", "6", "7", "8", "9"})
    b += std::string("<button type=\"submit\" name=\"key\" value=\"") + key + "\">" + key + "</button>";
  b += "<button class=\"sub quiet\" type=\"submit\" name=\"key\" value=\"clear\">訂正</button><button type=\"submit\" "
       "name=\"key\" value=\"0\">0</button><button class=\"sub go\" type=\"submit\" name=\"key\" value=\"enter\"" +
       std::string(digits == 4 ? "" : " disabled") + ">確定</button></form><div class=\"actions\">" + cancel_form() +
       "</div>";
  return page(2, "暗証番号を入力してください", b);
}

std::string choose_page(const KioskOfferShown& offer) {
  std::string b = "<p>発行する証明書を選んでください（市区町村コード " + html_escape(offer.municipality_code) +
                  "）。</p><form method=\"post\" action=\"/document\" class=\"list\">";
  for (const auto& [type, fee] : offer.documents)
    b += "<button type=\"submit\" name=\"type\" value=\"" + html_escape(type) + "\">" + html_escape(title_of(type)) +
         "<span class=\"fee\">1通 " + yen(fee) + "</span></button>";
  if (offer.documents.empty()) b += "<p>この市区町村はコンビニ交付で発行する証明書がありません。</p>";
  return page(3, "証明書を選んでください", b + "</form><div class=\"actions\">" + cancel_form() + "</div>");
}

std::string options_page(const KioskOfferShown& offer, const Choice& c) {
  std::string b = "<p>" + html_escape(title_of(c.type)) + "（1通 " + yen(offer.fee(c.type)) +
                  "）</p><form method=\"post\" action=\"/options\">";
  if (has_household_options(c.type)) {
    b += "<fieldset><legend>記載する人</legend>" + radio("members", "self", !c.whole_household, "本人のみ") +
         radio("members", "all", c.whole_household, "世帯全員") + "</fieldset><fieldset><legend>記載する事項"
         "（必要なものだけ選んでください）</legend>" +
         checkbox("household", c.head_and_relationship, "世帯主の氏名と続柄") +
         checkbox("honseki", c.honseki, "本籍と筆頭者") + checkbox("my-number", c.my_number, "個人番号") +
         "</fieldset>";
  } else if (c.type == "koseki") {
    b += "<fieldset><legend>種類</legend>" + radio("individual", "0", !c.individual, "全部事項証明書（謄本）") +
         radio("individual", "1", c.individual, "個人事項証明書（抄本）") + "</fieldset>";
  }
  // The copies with − and ＋ (each press posts the form, the choices above kept).
  b += "<fieldset class=\"copies\"><legend>部数</legend><input type=\"hidden\" name=\"copies\" value=\"" +
       std::to_string(c.copies) + "\"><button class=\"quiet\" type=\"submit\" name=\"go\" value=\"fewer\" "
       "aria-label=\"1通減らす\"" + std::string(c.copies <= 1 ? " disabled" : "") + ">－</button><output class=\"count\" "
       "aria-live=\"polite\">" + std::to_string(c.copies) + "通</output><button class=\"quiet\" type=\"submit\" "
       "name=\"go\" value=\"more\" aria-label=\"1通増やす\"" + std::string(c.copies >= 10 ? " disabled" : "") +
       ">＋</button></fieldset><div class=\"actions\"><button class=\"quiet\" type=\"submit\" name=\"go\" "
       "value=\"back\">戻る</button>" + std::string(kCancelInForm) + "<button class=\"go\" type=\"submit\" "
       "name=\"go\" value=\"next\">次へ</button></div></form>";
  return page(3, "内容を選んでください", b);
}

std::string confirm_page(const KioskOfferShown& offer, const Choice& c) {
  const int64_t total = offer.fee(c.type) * c.copies;
  std::string b = "<dl><dt>証明書</dt><dd>" + html_escape(title_of(c.type)) + "</dd><dt>内容</dt><dd>" + describe(c) +
                  "</dd><dt>部数</dt><dd>" + std::to_string(c.copies) + "通</dd><dt>手数料</dt><dd class=\"total\">" +
                  yen(total) + "</dd></dl><p>手数料をお支払いのうえ「発行する」を押してください（この模擬端末では"
                  "支払いを省きます）。</p><form method=\"post\" action=\"/confirm\"><div class=\"actions\"><button "
                  "class=\"quiet\" type=\"submit\" name=\"go\" value=\"back\">戻る</button>" +
                  std::string(kCancelInForm) + "<button class=\"go\" type=\"submit\" name=\"go\" value=\"issue\">"
                  "発行する</button></div></form>";
  return page(4, "内容と手数料を確認してください", b);
}

std::string printing_page() {
  return page(5, "印刷しています",
              "<p role=\"status\">証明書を印刷しています。しばらくお待ちください。</p>", true);
}

std::string done_page(const PrintedDocument& d, std::string_view verify_url) {
  std::string b = "<p role=\"status\">印刷が終わりました。証明書・カード・レシートをお取り忘れのないようご注意ください。"
                  "</p><dl><dt>証明書</dt><dd>" + html_escape(title_of(d.type)) + " " + std::to_string(d.copies) +
                  "通</dd><dt>発行番号</dt><dd>" + html_escape(d.issuance_number) + "</dd><dt>手数料</dt><dd>" +
                  yen(d.fee) + "</dd></dl><p class=\"links\"><a class=\"pdf\" href=\"/printed.pdf\">印刷した証明書を見る"
                  "（PDF）</a><a class=\"pdf\" href=\"" + html_escape(verify_url) + "\">発行番号を確認ページで確かめる</a>"
                  "</p><div class=\"actions\">" + cancel_form("終了する") + "</div>";
  return page(5, "お取り忘れにご注意ください", b);
}

std::string message_page(std::string_view title, std::string_view text) {
  return page(0, title, "<p role=\"alert\">" + html_escape(text) + "</p><div class=\"actions\">" +
                            cancel_form("最初の画面に戻る") + "</div>");
}

std::pair<std::string, std::string> refusal_words(std::string_view reason) {
  const std::string window = "お住まいの市区町村の窓口にお問い合わせください。";
  if (reason == "outside_service_hours")
    return {"サービス時間外です", "ただいまは証明書を発行できません。サービス時間（6:30〜23:00、年末年始を除く）内に"
                               "ご利用ください。"};
  if (reason == "certificate_on_hold")
    return {"カードが一時停止中です", "このカードの電子証明書は一時停止されているため利用できません。" + window};
  if (reason == "certificate_revoked")
    return {"カードの電子証明書が失効しています", "このカードの電子証明書は失効しているため利用できません。" + window};
  if (reason == "certificate_expired" || reason == "certificate_not_good")
    return {"カードの電子証明書が有効ではありません", "このカードの電子証明書は有効期限切れか、利用できない状態です。" + window};
  if (reason == "signature_invalid" || reason == "untrusted_certificate" || reason == "unknown_certificate" ||
      reason == "not_authentication_certificate")
    return {"カードを確認できませんでした", "このカードでは本人確認ができませんでした。" + window};
  if (reason == "not_offered")
    return {"この証明書はコンビニ交付で発行していません", "選んだ証明書は、この市区町村ではコンビニ交付の対象外です。" + window};
  if (reason == "no_seal" || reason == "seal_abolished")
    return {"印鑑登録証明書を発行できません", "印鑑登録の記録が確認できないため発行できません。" + window};
  if (reason == "no_family_register")
    return {"戸籍の証明書を発行できません", "この市区町村に戸籍の記録がないため発行できません。本籍地の市区町村にお問い合わせください。"};
  if (reason == "no_tax_record")
    return {"課税証明書を発行できません", "課税の記録が確認できないため発行できません。" + window};
  // not_resident, deceased, support_measure and any other: nothing more than "ask at the window".
  return {"この証明書は発行できません", "コンビニ交付では発行できません。" + window};
}

}  // namespace jlis::kiosk::screen
