#include "kiosk/verify_page.h"

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/date.h"
#include "common/rate_limit.h"
#include "http/html.h"
#include "municipal/document_content.h"

namespace jlis::kiosk {
namespace {

using nlohmann::json;

constexpr std::string_view kStyle =
    "body{font-family:'Noto Sans CJK JP',sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a;line-height:1.6}"
    "main{max-width:44rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #c8ccd0}"
    "h1{font-size:1.5rem;margin-top:0}label{display:block;font-weight:bold;margin-bottom:.25rem}"
    "input{font-size:1.1rem;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid #4a4f55}"
    "button{margin-top:.75rem;font-size:1.1rem;padding:.5rem 1.5rem;background:#0b4f8a;color:#fff;border:0}"
    "input:focus,button:focus{outline:3px solid #e07b00;outline-offset:2px}"
    ".ok{color:#0a5c2b;font-weight:bold}.no{color:#9b1c1c;font-weight:bold}"
    "dt{font-weight:bold}dd{margin:0 0 .5rem 0}.en{color:#3d4247}";

json to_json(const municipal::IssuanceCheck& c) {
  if (!c.issued) return {{"issued", false}};
  return {{"issued", true},
          {"issuance_number", c.issuance_number},
          {"document_type", std::string(municipal::document_type_name(c.type))},
          {"document_title", std::string(municipal::document_title(c.type))},
          {"municipality", {{"code", c.municipality.str()}, {"name", c.municipality_name}}},
          {"issued_on", c.issued_on.to_iso()},
          {"channel", c.channel},
          {"code_verified", c.code_verified}};
}

std::string answer_html(const municipal::IssuanceCheck& c) {
  if (!c.issued)
    return "<p class=\"no\">この番号の証明書は発行されていません。<br><span class=\"en\" lang=\"en\">No document "
           "was issued with this code.</span></p>";
  auto era = format_japanese(c.issued_on);
  std::string h = "<p class=\"ok\">この証明書は発行されています。<br><span class=\"en\" lang=\"en\">This document "
                  "was issued.</span></p><dl>";
  auto row = [&h](std::string_view ja, std::string_view en, const std::string& value) {
    h += "<dt>" + std::string(ja) + " <span class=\"en\" lang=\"en\">" + std::string(en) + "</span></dt><dd>" +
         http::html_escape(value) + "</dd>";
  };
  row("発行番号", "Issuance number", c.issuance_number);
  row("証明書", "Document", std::string(municipal::document_title(c.type)));
  row("発行者", "Issuer", c.municipality_name + "（" + c.municipality.str() + "）");
  row("発行日", "Date of issue", (era.ok() ? *era + "（" : std::string("（")) + c.issued_on.to_iso() + "）");
  row("交付方法", "Issued at", c.channel == "kiosk" ? "コンビニ交付（証明書交付センター） / convenience-store kiosk"
                                                     : "市区町村の窓口 / municipal counter");
  h += "</dl>";
  if (c.code_verified)
    h += "<p>QRコードの電子署名と記載内容のダイジェストを確認しました。<br><span class=\"en\" lang=\"en\">The QR "
         "code's signature and content digest were verified.</span></p>";
  h += "<p>このページは個人の情報を表示しません。氏名などの記載は証明書そのものでご確認ください。<br><span class=\"en\" "
       "lang=\"en\">This page shows no personal data: read the names on the document itself.</span></p>";
  return h;
}

std::string page(const std::string& code, const std::string& answer) {
  return "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>証明書の確認 — Certificate verification</title><style>" +
         std::string(kStyle) +
         "</style></head><body><main><h1>証明書の確認 <span class=\"en\" lang=\"en\">Certificate "
         "verification</span></h1><form method=\"get\" action=\"/verify\"><label for=\"code\">証明書に印字された発行番号"
         "（またはQRコードの内容） <span class=\"en\" lang=\"en\">The issuance number printed on the document (or its "
         "QR code)</span></label><input id=\"code\" name=\"code\" maxlength=\"400\" autocomplete=\"off\" required value=\"" +
         http::html_escape(code) + "\"><button type=\"submit\">確認する / Verify</button></form><section aria-live=\"polite\">" +
         answer + "</section></main></body></html>\n";
}

}  // namespace

void add_verify_routes(http::Server& server, municipal::IssuanceServer& issuance, uint32_t per_minute) {
  auto limiter = std::make_shared<RateLimiter>(per_minute);
  const std::string csp = http::page_policy(kStyle);
  auto too_many = [limiter](http::Response r) {
    r.headers.emplace_back("Retry-After", std::to_string(limiter->retry_after_seconds()));
    return r;
  };
  server.route("GET", "/v1/verify/{code...}", [&issuance, limiter, too_many](const http::Request& req) {
    if (!limiter->allow(req.peer))
      return too_many(http::Response::error(429, "too_many_requests", "too many verifications from this address; try later"));
    auto c = issuance.check_code(req.path_params.at("code"));
    if (!c.ok()) return http::Response::error(c.status());
    return http::Response::json(200, to_json(*c).dump());
  });
  auto answer_page = [&issuance, limiter, too_many, csp](const http::Request& req, const std::string& code) {
    if (code.empty()) return http::html_response(200, page("", ""), csp);
    const auto alert = [&](int status, std::string_view why) {
      return http::html_response(status, page(code, "<p class=\"no\" role=\"alert\">" + std::string(why) + "</p>"), csp);
    };
    if (!limiter->allow(req.peer))
      return too_many(alert(429, "確認の回数が多すぎます。しばらくしてからもう一度お試しください。 / Too many "
                                 "verifications from this address; try again later."));
    auto c = issuance.check_code(code);
    if (!c.ok()) {
      const int status = http::Response::error(c.status()).status;
      return alert(status, status == 400 ? "発行番号またはQRコードの内容として読めません。 / This is not an issuance "
                                           "number or a verification code."
                                         : "確認できませんでした。 / The verification failed.");
    }
    return http::html_response(200, page(code, answer_html(*c)), csp);
  };
  server.route("GET", "/verify", [answer_page](const http::Request& req) { return answer_page(req, req.query_param("code")); });
  server.route("GET", "/verify/{code...}",
               [answer_page](const http::Request& req) { return answer_page(req, req.path_params.at("code")); });
}

}  // namespace jlis::kiosk
