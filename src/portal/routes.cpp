#include "portal/routes.h"

#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/rate_limit.h"
#include "http/html.h"
#include "http/json_body.h"
#include "pki/card_login.h"

namespace jlis::portal {
namespace {

using http::html_escape;
using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::string_view kCookie = "jlis_portal";
// The largest log-in body: a certificate of a few kilobytes and a 2048-bit signature.
constexpr size_t kLoginBytes = 16 * 1024;

constexpr std::string_view kStyle =
    "*{box-sizing:border-box}body{margin:0;font-family:'Noto Sans CJK JP',sans-serif;background:#f4f6f8;color:#1a1a1a;"
    "line-height:1.6}header{background:#0b4f8a;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;"
    "align-items:center;flex-wrap:wrap}header h1{font-size:1.3rem;margin:0}header form{margin-left:auto}"
    "main{max-width:64rem;margin:1rem auto;padding:0 1.5rem}section{background:#fff;border:1px solid #c8ccd0;"
    "padding:.75rem 1.25rem;margin-bottom:1rem}h2{font-size:1.25rem;margin:.25rem 0 .5rem}h3{font-size:1.1rem;"
    "margin:.25rem 0 .5rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;"
    "border-top:1px solid #d5d9dd;vertical-align:top}dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1.5rem;"
    "margin:0}dt{font-weight:bold}dd{margin:0}label{display:block;font-weight:bold;margin:.6rem 0 .2rem}"
    "textarea,input{font-family:monospace;font-size:.9rem;width:100%;padding:.4rem;border:2px solid #4a4f55}"
    "button{font-size:1rem;padding:.5rem 1.2rem;margin-top:.6rem;background:#0b4f8a;color:#fff;border:0;cursor:pointer}"
    "button.quiet{background:#fff;color:#0b4f8a;border:2px solid #0b4f8a;margin:0}a:focus,textarea:focus,"
    "input:focus,button:focus{outline:3px solid #c25e00;outline-offset:2px}.challenge{font-family:monospace;"
    "background:#fff6d6;padding:.5rem;word-break:break-all}.notice{border-left:6px solid #b3261e;padding:.4rem .8rem;"
    "background:#fdeceb}.refused{color:#9c1c14;font-weight:bold}.provided{color:#1b6e3a;font-weight:bold}"
    ".none{color:#3d4247}";

// The resident's words for a refusal of the log-in (pki/card_login.h's reasons).
std::string refusal_text(const std::string& reason) {
  if (reason == pki::kRefusedSignature) return "署名が検証できませんでした。カードをもう一度読み取ってください。";
  if (reason == pki::kRefusedNotAuthentication) return "署名用電子証明書ではログインできません。利用者証明用電子証明書を使ってください。";
  if (reason == pki::kRefusedUntrusted) return "この証明書は公的個人認証サービスの利用者証明用電子証明書として確認できません。";
  if (reason == pki::kRefusedUnknown) return "この証明書は発行記録にありません。";
  if (reason == pki::kRefusedOnHold) return "このカードの電子証明書は一時保留中です（カードの一時停止）。";
  if (reason == pki::kRefusedRevoked) return "このカードの電子証明書は失効しています。";
  if (reason == pki::kRefusedExpired) return "このカードの電子証明書は有効期限が切れています。";
  return "ログインできませんでした。";
}

std::string cookie(const Request& req) {
  std::stringstream all(req.header("cookie"));
  for (std::string part; std::getline(all, part, ';');) {
    const size_t start = part.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    part = part.substr(start);
    if (part.size() > kCookie.size() && part.compare(0, kCookie.size(), kCookie) == 0 && part[kCookie.size()] == '=')
      return part.substr(kCookie.size() + 1);
  }
  return "";
}

// The session's secret: the bearer token, else the cookie.
std::string credential(const Request& req) {
  std::string bearer = req.bearer_token();
  return bearer.empty() ? cookie(req) : bearer;
}

// A browser-session cookie (no Max-Age: it goes when the browser closes); the server ends the
// session itself when it is idle or old (portal.h).
std::string set_cookie(const std::string& secret) {
  return std::string(kCookie) + "=" + secret + "; Path=/; HttpOnly; SameSite=Strict";
}
std::string clear_cookie() { return std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"; }

// The answer of a failed step: 403 with the refusal's reason, else the status's own.
Response failure(const Status& s) {
  if (const std::string reason = pki::refusal_reason(s); !reason.empty()) {
    const std::string message = s.message().substr(s.message().find(": ") + 2);
    return json_response(403, {{"error", {{"code", "permission_denied"}, {"message", s.message()}}},
                               {"refusal", {{"reason", reason}, {"message", message}}}});
  }
  return Response::error(s);
}

Response redirect(const std::string& to, const std::string& cookie_line = "") {
  Response r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.headers = {{"Location", to}, {"Cache-Control", "no-store"}};
  if (!cookie_line.empty()) r.headers.emplace_back("Set-Cookie", cookie_line);
  return r;
}

std::string page(std::string_view title, const std::string& body, bool logged_in) {
  std::string h = "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                  "content=\"width=device-width, initial-scale=1\"><title>" +
                  html_escape(title) + " — 本人のページ（OpenJLIS）</title><style>" + std::string(kStyle) +
                  "</style></head><body><header><h1>本人のページ <span lang=\"en\">Your own record</span></h1>";
  if (logged_in)
    h += "<form method=\"post\" action=\"/portal/logout\"><button class=\"quiet\" type=\"submit\">ログアウト</button></form>";
  return h + "</header><main><h2>" + html_escape(title) + "</h2>" + body + "</main></body></html>\n";
}

std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// "2026-12-04T04:20:00Z" as the page shows it: 2026-12-04 04:20:00 UTC.
std::string when(const std::string& iso) {
  if (iso.size() < 19) return html_escape(iso);
  return html_escape(iso.substr(0, 10) + " " + iso.substr(11, 8)) + " <abbr title=\"協定世界時\">UTC</abbr>";
}

struct Labels {
  const RouteOptions& options;
  std::string body(const std::string& id) const {
    const std::string name = options.body_name ? options.body_name(id) : "";
    return name.empty() ? html_escape(id) : html_escape(name) + " <span class=\"none\">(" + html_escape(id) + ")</span>";
  }
  std::string procedure(const std::string& code) const {
    const std::string name = options.procedure_name ? options.procedure_name(code) : "";
    return html_escape(code) + (name.empty() ? "" : "<br>" + html_escape(name));
  }
  std::string item(const std::string& code) const {
    const std::string name = options.item_name ? options.item_name(code) : "";
    return html_escape(code) + (name.empty() ? "" : "（" + html_escape(name) + "）");
  }
};

std::string sex_text(const std::string& sex) {
  if (sex == "male") return "男";
  if (sex == "female") return "女";
  return html_escape(sex);
}

std::string information_text(const std::string& info) {
  if (info == "identity") return "本人確認情報（4情報・個人番号・住民票コード）";
  if (info == "fuhyo_identity") return "附票本人確認情報";
  return html_escape(info);
}

// The record page (Portal::record's JSON as HTML).
std::string record_html(const json& rec, const Labels& labels) {
  const json& r = rec["resident"];
  std::string b = "<section aria-labelledby=\"identity\"><h3 id=\"identity\">本人確認情報</h3><dl>";
  b += "<dt>氏名</dt><dd>" + html_escape(text(r, "name")) + "</dd>";
  b += "<dt>氏名（カナ）</dt><dd>" + html_escape(text(r, "name_kana")) + "</dd>";
  b += "<dt>生年月日</dt><dd>" + html_escape(text(r, "date_of_birth")) + "</dd>";
  b += "<dt>性別</dt><dd>" + sex_text(text(r, "sex")) + "</dd>";
  b += "<dt>住所</dt><dd>" + html_escape(text(r, "address")) + "</dd>";
  b += "<dt>住民票コード</dt><dd>" + html_escape(text(r, "resident_code")) + "</dd>";
  const std::string number = text(r, "my_number");
  // The page shows the last four digits only: a screen is seen by whoever stands behind it.
  b += "<dt>個人番号</dt><dd>" +
       (number.size() == 12 ? "＊＊＊＊＊＊＊＊" + html_escape(number.substr(8)) + "（下4桁のみ表示）" : std::string("なし")) +
       "</dd></dl></section>";

  b += "<section aria-labelledby=\"provisions\"><h3 id=\"provisions\">本人確認情報の提供状況</h3>";
  const json& provisions = rec["provisions"];
  if (!provisions.is_array() || provisions.empty()) {
    b += "<p class=\"none\">住民基本台帳ネットワークからの提供はありません。</p>";
  } else {
    b += "<table><caption class=\"none\">住民基本台帳ネットワークシステムがあなたの情報を提供した先</caption><thead><tr>"
         "<th scope=\"col\">提供日時</th><th scope=\"col\">提供先</th><th scope=\"col\">利用事務</th>"
         "<th scope=\"col\">提供した情報</th></tr></thead><tbody>";
    for (const auto& p : provisions)
      b += "<tr><td>" + when(text(p, "provided_at")) + "</td><td>" + html_escape(text(p, "agency_name")) + "</td><td>" +
           html_escape(text(p, "purpose")) + "</td><td>" + information_text(text(p, "information")) + "</td></tr>";
    b += "</tbody></table>";
  }
  b += "</section>";

  if (rec.contains("linkage_records")) {
    b += "<section aria-labelledby=\"linkage\"><h3 id=\"linkage\">情報連携の記録（情報提供等記録）</h3>";
    const json& records = rec["linkage_records"];
    if (!records.is_array() || records.empty()) {
      b += "<p class=\"none\">あなたについての情報照会・情報提供はありません。</p>";
    } else {
      b += "<table><caption class=\"none\">あなたについての情報照会と、その提供または不提供</caption><thead><tr>"
           "<th scope=\"col\">照会日時</th><th scope=\"col\">照会機関</th><th scope=\"col\">提供機関</th>"
           "<th scope=\"col\">事務手続</th><th scope=\"col\">特定個人情報</th><th scope=\"col\">結果</th></tr></thead><tbody>";
      for (const auto& q : records) {
        std::string items;
        if (q.contains("items") && q["items"].is_array())
          for (const auto& i : q["items"])
            if (i.is_string()) items += (items.empty() ? "" : "<br>") + labels.item(i.get<std::string>());
        const bool provided = text(q, "outcome") == "provided";
        std::string outcome = provided ? "<span class=\"provided\">提供</span>（" + when(text(q, "answered_at")) + "）"
                                       : "<span class=\"refused\">不提供</span>（理由: " + html_escape(text(q, "reason")) + "）";
        b += "<tr><td>" + when(text(q, "requested_at")) + "</td><td>" + labels.body(text(q, "requester")) + "</td><td>" +
             labels.body(text(q, "provider")) + "</td><td>" + labels.procedure(text(q, "procedure")) + "</td><td>" + items +
             "</td><td>" + outcome + "</td></tr>";
      }
      b += "</tbody></table>";
    }
    b += "</section>";
  }

  if (rec.contains("issuances")) {
    b += "<section aria-labelledby=\"issuances\"><h3 id=\"issuances\">証明書の交付記録</h3>";
    const json& list = rec["issuances"];
    if (!list.is_array() || list.empty()) {
      b += "<p class=\"none\">証明書の交付はありません。</p>";
    } else {
      b += "<table><thead><tr><th scope=\"col\">日時</th><th scope=\"col\">証明書</th><th scope=\"col\">交付方法</th>"
           "<th scope=\"col\">結果</th><th scope=\"col\">発行番号</th></tr></thead><tbody>";
      for (const auto& i : list)
        b += "<tr><td>" + when(text(i, "recorded_at")) + "</td><td>" + html_escape(text(i, "type")) + "</td><td>" +
             html_escape(text(i, "channel")) + "</td><td>" + html_escape(text(i, "outcome")) + "</td><td>" +
             html_escape(text(i, "issuance_number")) + "</td></tr>";
      b += "</tbody></table>";
    }
    b += "</section>";
  }
  return b;
}

std::string login_html(const Opened& o, std::string_view notice) {
  std::string b;
  if (!notice.empty()) b += "<p class=\"notice\" role=\"alert\">" + html_escape(notice) + "</p>";
  b += "<section><p>マイナンバーカードの利用者証明用電子証明書でログインします。カードリーダーのソフトウェアが、"
       "下のチャレンジにカードで署名し（利用者証明用暗証番号（4桁）の入力が必要です）、証明書と署名を欄に入れます。"
       "ブラウザはカードを直接読めないため、この2つの欄はカードリーダーのソフトウェアが埋めます。</p>"
       "<p>チャレンジ（" + html_escape(iso8601_seconds(o.expires_at)) + " まで有効）:</p><p class=\"challenge\" id=\"challenge\">" +
       html_escape(o.challenge) + "</p>";
  b += "<form method=\"post\" action=\"/portal/login\"><input type=\"hidden\" name=\"session_id\" value=\"" +
       html_escape(o.session_id) +
       "\"><label for=\"certificate\">利用者証明用電子証明書（PEM）</label><textarea id=\"certificate\" name=\"certificate\" "
       "rows=\"6\" required autocomplete=\"off\" spellcheck=\"false\"></textarea><label for=\"signature\">チャレンジへの署名"
       "（base64）</label><input id=\"signature\" name=\"signature\" type=\"text\" required autocomplete=\"off\" "
       "spellcheck=\"false\"><button id=\"login\" type=\"submit\">ログイン</button></form></section>";
  return page("ログイン", b, false);
}

}  // namespace

void add_routes(http::Server& server, Portal& portal, RouteOptions options) {
  auto limiter = std::make_shared<RateLimiter>(options.logins_per_minute);
  auto too_many = [limiter](Response r) {
    r.headers.emplace_back("Retry-After", std::to_string(limiter->retry_after_seconds()));
    return r;
  };
  const std::string csp = http::page_policy(kStyle);
  auto labels = std::make_shared<RouteOptions>(std::move(options));

  server.route("POST", "/v1/portal/sessions", [&portal, limiter, too_many](const Request& req) {
    if (!limiter->allow(req.peer))
      return too_many(Response::error(429, "too_many_requests", "too many log-ins from this address; try later"));
    auto o = portal.open();
    if (!o.ok()) return Response::error(o.status());
    return json_response(201, {{"session_id", o->session_id}, {"challenge", o->challenge},
                               {"expires_at", iso8601_seconds(o->expires_at)}});
  });

  server.route("POST", "/v1/portal/sessions/{session_id}/login", [&portal](const Request& req) {
    if (req.body.size() > kLoginBytes) return Response::error(413, "payload_too_large", "a log-in is a few kilobytes");
    auto body = http::object_body(req);
    if (!body.ok()) return Response::error(body.status());
    for (const auto& [k, v] : body->items())
      if ((k != "certificate" && k != "signature") || !v.is_string())
        return Response::error(
            invalid_argument("a log-in is {\"certificate\": PEM, \"signature\": base64}: '" + k + "' is not right"));
    if (!body->contains("certificate") || !body->contains("signature"))
      return Response::error(invalid_argument("certificate and signature are required"));
    auto s = portal.log_in(req.path_params.at("session_id"), (*body)["certificate"].get<std::string>(),
                           (*body)["signature"].get<std::string>());
    if (!s.ok()) return failure(s.status());
    Response r = json_response(200, {{"session_id", s->session_id}, {"secret", s->secret},
                                     {"expires_at", iso8601_seconds(s->expires_at)}});
    r.headers.emplace_back("Set-Cookie", set_cookie(s->secret));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });

  server.route("GET", "/v1/portal/me", [&portal](const Request& req) {
    auto rec = portal.record(credential(req));
    if (!rec.ok()) return Response::error(rec.status());
    Response r = json_response(200, *rec);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  });

  server.route("POST", "/v1/portal/sessions/{session_id}/logout", [&portal](const Request& req) {
    const std::string id = req.path_params.at("session_id");
    Status s = portal.log_out(credential(req), id);
    if (!s.is_ok()) return Response::error(s);
    Response r = json_response(200, {{"session_id", id}, {"ended", true}});
    r.headers.emplace_back("Set-Cookie", clear_cookie());
    return r;
  });

  // The pages.
  server.route("GET", "/portal", [&portal, limiter, too_many, csp](const Request& req) {
    if (const std::string secret = cookie(req); !secret.empty() && portal.resident(secret).ok())
      return redirect("/portal/me");
    if (!limiter->allow(req.peer))
      return too_many(http::html_response(
          429, page("ログイン", "<p class=\"notice\" role=\"alert\">ログインの回数が多すぎます。しばらくしてからもう一度お試しください。</p>", false),
          csp));
    auto o = portal.open();
    if (!o.ok()) return http::html_response(503, page("ログイン", "<p class=\"notice\" role=\"alert\">ただいまログインできません。</p>", false), csp);
    return http::html_response(200, login_html(*o, ""), csp);
  });

  server.route("POST", "/portal/login", [&portal, limiter, csp](const Request& req) {
    auto again = [&](int status, std::string_view notice) {
      auto o = limiter->allow(req.peer) ? portal.open() : Result<Opened>(unavailable("limit"));
      if (!o.ok())
        return http::html_response(status, page("ログイン", "<p class=\"notice\" role=\"alert\">" + html_escape(notice) +
                                                                "</p><p><a href=\"/portal\">ログインをやり直す</a></p>", false), csp);
      return http::html_response(status, login_html(*o, notice), csp);
    };
    if (http::foreign_post(req))
      return http::html_response(403, page("操作できません", "<p class=\"notice\" role=\"alert\">このページの外からの操作は受け付けません。</p>", false), csp);
    if (req.body.size() > kLoginBytes) return again(413, "送られた内容が大きすぎます。");
    auto form = http::parse_form(req.body);
    auto field = [&](const std::string& name) -> std::string {
      if (!form) return "";
      auto it = form->find(name);
      return it == form->end() ? "" : it->second;
    };
    auto s = portal.log_in(field("session_id"), field("certificate"), field("signature"));
    if (!s.ok()) {
      const std::string reason = pki::refusal_reason(s.status());
      if (!reason.empty()) return again(403, refusal_text(reason));
      if (s.status().code() == Code::not_found) return again(400, "ログインの有効期限が切れました。もう一度カードを読み取ってください。");
      if (s.status().code() == Code::invalid_argument) return again(400, "証明書または署名の形式が正しくありません。");
      return again(Response::error(s.status()).status, "ログインできませんでした。");
    }
    return redirect("/portal/me", set_cookie(s->secret));
  });

  server.route("GET", "/portal/me", [&portal, labels, csp](const Request& req) {
    auto rec = portal.record(cookie(req));
    if (!rec.ok()) {
      const int status = rec.status().code() == Code::unauthenticated ? 401 : Response::error(rec.status()).status;
      Response r = http::html_response(
          status, page("ログインしてください", "<p class=\"notice\" role=\"alert\">" +
                                                  std::string(status == 401 ? "ログインしていないか、ログインの有効期限が切れました。"
                                                                            : "記録を読み出せませんでした。") +
                                                  "</p><p><a href=\"/portal\">カードでログインする</a></p>", false),
          csp);
      if (status == 401) r.headers.emplace_back("Set-Cookie", clear_cookie());
      return r;
    }
    return http::html_response(200, page("あなたの記録", record_html(*rec, Labels{*labels}), true), csp);
  });

  server.route("POST", "/portal/logout", [&portal, csp](const Request& req) {
    if (http::foreign_post(req))
      return http::html_response(403, page("操作できません", "<p class=\"notice\" role=\"alert\">このページの外からの操作は受け付けません。</p>", false), csp);
    (void)portal.log_out(cookie(req));
    return redirect("/portal", clear_cookie());
  });

  server.add_metrics_source([&portal] { return portal.metrics(); });
}

}  // namespace jlis::portal
