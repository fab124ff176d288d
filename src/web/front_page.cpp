#include "web/front_page.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <string_view>

#include "http/html.h"

namespace jlis::web {
namespace {

using http::html_escape;

constexpr std::string_view kFrontPageStyle =
    "body{font-family:'Noto Sans CJK JP',sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a;line-height:1.6}"
    "header{background:#0b4f8a;color:#fff;padding:1rem 2rem}header h1{margin:0;font-size:1.75rem}"
    "header p{margin:.25rem 0 0}main{max-width:60rem;margin:1.5rem auto;padding:0 1.5rem}"
    "section{background:#fff;border:1px solid #c8ccd0;padding:1rem 1.5rem;margin-bottom:1.25rem}"
    "h2{font-size:1.3rem;margin:0 0 .5rem}.en{color:#3d4247}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;vertical-align:top;padding:.4rem .6rem;border-top:1px solid #d5d9dd}"
    "th{white-space:nowrap}code{font-size:.95em}a{color:#0b4f8a}a:focus{outline:3px solid #c25e00;outline-offset:2px}"
    ".figure{font-size:1.5rem;font-weight:bold}ul{margin:.25rem 0;padding-left:1.25rem}li{margin:.35rem 0}";

struct Component {
  std::string_view name, ja, en, entry;
};
constexpr Component kComponents[] = {
    {"registry", "住民基本台帳ネットワーク（本人確認情報、異動、提供の記録）",
     "Basic Resident Register Network: identity information, changes, provisions", "/v1/residents/…"},
    {"card", "マイナンバーカード（申請、製造、交付、一時停止、失効）",
     "My Number Card: applications, production, handover, suspension, revocation", "/v1/cards/…"},
    {"pki", "公的個人認証（署名用・利用者証明用電子証明書、CRL、OCSP）",
     "JPKI: signature and user-authentication certificates, CRLs, OCSP", "/v1/pki/ca, /crl/…, /ocsp"},
    {"municipal", "市区町村の記録と証明書（世帯、戸籍、印鑑、課税、証明書の発行）",
     "Municipal records and documents: households, family registers, seals, tax, issuance",
     "/v1/municipalities/…, /v1/issuance/…"},
    {"kiosk", "証明書交付センター（コンビニ交付）", "Convenience-store issuance centre", "/v1/kiosk/sessions, /verify"},
    {"portal", "本人のページ（カードでログイン、提供の記録の確認）",
     "The resident's own page: card log-in, who got their data", "/portal, /v1/portal/…"},
};

std::string page(const FrontPageFacts& f, const std::string& population) {
  std::string h =
      "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\"><title>OpenJLIS</title><style>" +
      std::string(kFrontPageStyle) +
      "</style></head><body><header><h1>OpenJLIS</h1><p>地方公共団体情報システム機構（J-LIS）の基幹システムのオープンな"
      "実装 <span lang=\"en\">— an open implementation of the systems J-LIS runs for Japan's local governments"
      "</span></p></header><main>";

  h += "<section aria-labelledby=\"data\"><h2 id=\"data\">このサーバーのデータ <span class=\"en\" lang=\"en\">This "
       "server's data</span></h2><p><span class=\"figure\">" + html_escape(population) +
       "</span> 住民 <span class=\"en\" lang=\"en\">residents</span></p><p>" +
       (f.simulation ? "シミュレーション：生成された住民と試験用の認証局（O=JPKI-TEST）。<span class=\"en\" "
                       "lang=\"en\">A simulation: generated residents and a test CA (O=JPKI-TEST).</span>"
                     : "本番のデータです。<span class=\"en\" lang=\"en\">Production data.</span>") +
       "</p>";
  if (!f.centre.empty()) {
    std::string role = "?";
    if (f.store_role) {
      auto r = f.store_role();
      role = r.ok() ? *r : "unavailable";
    }
    h += "<p>センター <span class=\"en\" lang=\"en\">Centre</span>: <strong>" + html_escape(f.centre) +
         "</strong>, データベース <span class=\"en\" lang=\"en\">store</span>: <strong>" + html_escape(role) +
         "</strong></p>";
  }
  h += "</section>";

  h += "<section aria-labelledby=\"components\"><h2 id=\"components\">稼働中のコンポーネント <span class=\"en\" "
       "lang=\"en\">Components running</span></h2><table><thead><tr><th scope=\"col\">名前 <span class=\"en\" "
       "lang=\"en\">Name</span></th><th scope=\"col\">内容 <span class=\"en\" lang=\"en\">What it is</span></th><th "
       "scope=\"col\">API</th></tr></thead><tbody>";
  for (const Component& c : kComponents) {
    bool on = false;
    for (const std::string& name : f.components) on |= name == c.name;
    if (!on) continue;
    h += "<tr><th scope=\"row\"><code>" + std::string(c.name) + "</code></th><td>" + std::string(c.ja) +
         "<br><span class=\"en\" lang=\"en\">" + std::string(c.en) + "</span></td><td><code>" + std::string(c.entry) +
         "</code></td></tr>";
  }
  h += "</tbody></table></section>";

  h += "<section aria-labelledby=\"open\"><h2 id=\"open\">開く <span class=\"en\" lang=\"en\">Open</span></h2><ul>"
       "<li><a href=\"/api\">API の説明</a> <span class=\"en\" lang=\"en\">The API description: every route, who "
       "may call it, what it answers</span> (<a href=\"/openapi.yaml\">openapi.yaml</a>, OpenAPI 3)</li>";
  bool kiosk = false;
  for (const std::string& name : f.components) kiosk |= name == "kiosk";
  if (kiosk)
    h += "<li><a href=\"/verify\">証明書の確認</a> <span class=\"en\" lang=\"en\">Check a printed document by its "
         "issuance number</span></li>";
  bool portal = false;
  for (const std::string& name : f.components) portal |= name == "portal";
  if (portal)
    h += "<li><a href=\"/portal\">本人のページ</a> <span class=\"en\" lang=\"en\">Your own record: log in with "
         "your card and see who got your data</span></li>";
  if (!f.kiosk_screen_url.empty())
    h += "<li><a href=\"" + html_escape(f.kiosk_screen_url) + "\">コンビニの端末の画面</a> <span class=\"en\" "
         "lang=\"en\">The kiosk's touch screen, as a resident at a store sees it</span></li>";
  h += "<li><a href=\"/console\">運用コンソール</a> <span class=\"en\" lang=\"en\">The operator console (an "
       "operator token logs in)</span></li><li><a href=\"/healthz\">稼働状態</a> <span class=\"en\" lang=\"en\">Health</span></li><li><a "
       "href=\"/metrics\">計測値（Prometheus）</a> <span class=\"en\" lang=\"en\">Metrics</span></li></ul><p>API "
       "の呼び出しにはトークンが要ります（<code>jlis token create</code>、<code>make run</code> が表示します）。"
       "<br><span class=\"en\" lang=\"en\">Calling the API takes a token (<code>jlis token create</code>; "
       "<code>make run</code> prints some).</span></p></section></main></body></html>\n";
  return h;
}

}  // namespace

void add_front_page(http::Server& server, FrontPageFacts facts) {
  struct State {
    FrontPageFacts facts;
    std::string policy;
    std::mutex mu;
    std::string population = "—";
    std::chrono::steady_clock::time_point counted{};
  };
  auto state = std::make_shared<State>();
  state->facts = std::move(facts);
  state->policy = http::page_policy(kFrontPageStyle);
  server.route("GET", "/", [state](const http::Request&) {
    std::string population;
    {
      std::lock_guard lock(state->mu);
      const auto now = std::chrono::steady_clock::now();
      if (state->facts.population &&
          (state->counted == std::chrono::steady_clock::time_point{} || now - state->counted > std::chrono::minutes(1))) {
        auto n = state->facts.population();
        if (n.ok()) {
          std::string digits = std::to_string(*n), grouped;
          for (size_t i = 0; i < digits.size(); ++i) {
            if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
            grouped += digits[i];
          }
          state->population = grouped;
          state->counted = now;
        }
      }
      population = state->population;
    }
    return http::html_response(200, page(state->facts, population), state->policy);
  });
}

}  // namespace jlis::web
