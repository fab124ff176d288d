#include "web/console.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/digest.h"
#include "http/html.h"
#include "web/charts.h"

namespace jlis::web {
namespace {

using Clock = std::chrono::steady_clock;
using http::html_escape;
using Form = std::multimap<std::string, std::string>;
using Sample = std::map<std::string, double>;

constexpr auto kSessionLifetime = std::chrono::hours(8);
constexpr auto kSessionIdle = std::chrono::minutes(30);
constexpr auto kTallyEvery = std::chrono::minutes(1);
constexpr const char* kCookie = "jlis_console";

constexpr std::string_view kConsoleStyle =
    "body{font-family:'Noto Sans CJK JP',sans-serif;margin:0;background:#f4f6f8;color:#1a1a1a;line-height:1.5}"
    "header{background:#0b4f8a;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;align-items:center;"
    "flex-wrap:wrap}header h1{font-size:1.3rem;margin:0}header a{color:#fff}header nav{display:flex;gap:1rem}"
    "header form{margin-left:auto}main{max-width:72rem;margin:1rem auto;padding:0 1.5rem}"
    "section{background:#fff;border:1px solid #c8ccd0;padding:.75rem 1.25rem;margin-bottom:1rem}"
    "h2{font-size:1.2rem;margin:.25rem 0 .5rem}.charts{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(30rem,1fr));gap:1rem}figure{margin:0;background:#fff;border:1px solid #c8ccd0;padding:.75rem}"
    "figcaption{font-weight:bold;margin-bottom:.25rem}svg{width:100%;height:auto}table{border-collapse:collapse;"
    "width:100%}th,td{text-align:left;padding:.25rem .5rem;border-top:1px solid #d5d9dd;vertical-align:top}"
    "label{display:block;font-weight:bold;margin:.5rem 0 .2rem}input,select{font-size:1rem;padding:.4rem;"
    "border:2px solid #4a4f55;min-width:18rem}button{font-size:1rem;padding:.4rem 1rem;margin-top:.5rem;"
    "background:#0b4f8a;color:#fff;border:0;cursor:pointer}button.quiet{background:#fff;color:#0b4f8a;"
    "border:2px solid #0b4f8a;margin:0}a:focus,input:focus,select:focus,button:focus{outline:3px solid #c25e00;"
    "outline-offset:2px}.secret{font-family:monospace;font-size:1.05rem;background:#fff6d6;padding:.5rem;"
    "word-break:break-all}.notice{border-left:6px solid #b3261e;padding:.4rem .8rem;background:#fdeceb}"
    ".en{color:#3d4247}.done{border-left:6px solid #1b6e3a;padding:.4rem .8rem;background:#e8f5ec}tr.marked td{background:#fdeceb}.refresh{display:flex;gap:1rem;align-items:center}"
    ".refresh label,.check label{display:inline;font-weight:normal;margin:0 0 0 .4rem}.refresh input,.check input{"
    "min-width:0;width:1.2rem;height:1.2rem;vertical-align:middle}";

// The overview's one script: every `data-every` seconds, unless the box is unticked, the figures
// are fetched again and put in place (a session that ended reloads the page: the log-in).
constexpr std::string_view kRefresh =
    "const f=document.getElementById('figures'),box=document.getElementById('auto');"
    "setInterval(async()=>{if(!box.checked)return;try{const r=await fetch('/console/figures');"
    "if(r.redirected||!r.ok){location.reload();return;}f.innerHTML=await r.text();}catch(e){}},"
    "1000*Number(f.dataset.every));";

bool same(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

std::string cookie(const http::Request& req, std::string_view name) {
  std::stringstream all(req.header("cookie"));
  for (std::string part; std::getline(all, part, ';');) {
    const size_t start = part.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    part = part.substr(start);
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=')
      return part.substr(name.size() + 1);
  }
  return "";
}

std::string field(const Form& form, const std::string& name) {
  auto it = form.find(name);
  return it == form.end() ? "" : it->second;
}

http::Response redirect(const std::string& to, const std::string& set_cookie = "") {
  http::Response r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.headers = {{"Location", to}, {"Cache-Control", "no-store"}};
  if (!set_cookie.empty()) r.headers.emplace_back("Set-Cookie", set_cookie);
  return r;
}

Sample parse_metrics(const std::string& text) {
  Sample s;
  std::stringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      s[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (...) {
    }
  }
  return s;
}

// The value of label `label` in a series key `name{a="x",label="y"}` (escapes undone).
std::string label_of(const std::string& key, const std::string& label) {
  size_t at = std::string::npos;
  for (const char before : {'{', ','}) {
    at = key.find(before + label + "=\"");
    if (at != std::string::npos) break;
  }
  if (at == std::string::npos) return "";
  std::string out;
  for (size_t i = at + label.size() + 3; i < key.size() && key[i] != '"'; ++i) {
    if (key[i] == '\\' && i + 1 < key.size()) {
      ++i;
      out += key[i] == 'n' ? '\n' : key[i];
    } else {
      out += key[i];
    }
  }
  return out;
}

// Sum of the series named `name` (any labels) in each sample, grouped by the values of `labels`
// (joined by " · "; one group when there are none).
std::map<std::string, std::vector<double>> totals(const std::deque<Sample>& samples, const std::string& name,
                                                  const std::vector<std::string>& labels = {}) {
  std::map<std::string, std::vector<double>> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (const auto& [key, value] : samples[i]) {
      if (key.compare(0, name.size(), name) != 0 || (key.size() > name.size() && key[name.size()] != '{')) continue;
      std::string group;
      for (const auto& label : labels) group += (group.empty() ? "" : " · ") + label_of(key, label);
      auto& v = out[group];
      v.resize(samples.size(), 0);
      v[i] += value;
    }
  }
  return out;
}

// Per-interval increases of a counter, scaled to `per` seconds.
std::vector<double> rates(const std::vector<double>& counter, double interval_seconds, double per) {
  std::vector<double> out;
  for (size_t i = 1; i < counter.size(); ++i) out.push_back(std::max(0.0, counter[i] - counter[i - 1]) * per / interval_seconds);
  return out;
}

}  // namespace

struct Console::Impl {
  struct Session {
    std::string token, csrf, by;
    Clock::time_point started, seen;
  };

  Impl(auth::Directory& d, ConsoleOptions o)
      : directory(d), options(std::move(o)), policy(http::page_policy(kConsoleStyle)),
        overview_policy(http::page_policy(kConsoleStyle, kRefresh)) {}

  auth::Directory& directory;
  ConsoleOptions options;
  const std::string policy, overview_policy;

  std::mutex mu;
  std::map<std::string, Session> sessions;
  std::deque<Sample> samples;
  std::vector<Tally> tallies;
  Clock::time_point tallied{};
  std::vector<Table> tables;
  Clock::time_point tabled{};

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread sampler;

  void sample_loop() {
    std::unique_lock lock(stop_mu);
    while (!stopping) {
      Sample s = options.metrics ? parse_metrics(options.metrics()) : Sample{};
      {
        std::lock_guard data(mu);
        samples.push_back(std::move(s));
        while (samples.size() > options.samples + 1) samples.pop_front();
      }
      stop_cv.wait_for(lock, options.sample_every, [this] { return stopping; });
    }
  }

  // The operator's session of this request, its token authenticated again; nullopt otherwise (the
  // session, if any, is ended).
  std::optional<Session> session(const http::Request& req) {
    const std::string id = cookie(req, kCookie);
    if (id.empty()) return std::nullopt;
    Session s;
    {
      std::lock_guard lock(mu);
      auto it = sessions.find(id);
      if (it == sessions.end()) return std::nullopt;
      const auto now = Clock::now();
      if (now - it->second.started > kSessionLifetime || now - it->second.seen > kSessionIdle) {
        sessions.erase(it);
        return std::nullopt;
      }
      it->second.seen = now;
      s = it->second;
    }
    auto principal = directory.authenticate(s.token);
    if (!principal.ok() || principal->role != auth::Role::operator_) {
      std::lock_guard lock(mu);
      sessions.erase(id);
      return std::nullopt;
    }
    return s;
  }

  // A whole page; `script` (the overview's) goes last in the body.
  std::string page(std::string_view title, const std::string& body, const Session* s, std::string_view script = {}) {
    std::string h = "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                    "content=\"width=device-width, initial-scale=1\">";
    h += "<title>" + html_escape(title) + " — OpenJLIS 運用コンソール</title><style>" + std::string(kConsoleStyle) +
         "</style></head><body><header><h1>OpenJLIS 運用コンソール <span lang=\"en\">Console</span></h1>";
    if (s != nullptr)
      h += "<nav aria-label=\"コンソール\"><a href=\"/console\">概況 <span lang=\"en\">Overview</span></a><a "
           "href=\"/console/tokens\">トークン <span lang=\"en\">Tokens</span></a><a href=\"/console/audit\">記録 <span "
           "lang=\"en\">Audit</span></a></nav><form method=\"post\" action=\"/console/logout\">" + csrf_field(*s) +
           "<button class=\"quiet\" type=\"submit\">ログアウト</button></form>";
    h += "</header><main><h2>" + html_escape(title) + "</h2>" + body + "</main>";
    if (!script.empty()) h += "<script>" + std::string(script) + "</script>";
    return h + "</body></html>\n";
  }
  static std::string csrf_field(const Session& s) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + s.csrf + "\">";
  }
  http::Response html(int status, std::string body) { return http::html_response(status, std::move(body), policy); }

  std::string login_page(std::string_view notice) {
    std::string b;
    if (!notice.empty()) b += "<p class=\"notice\" role=\"alert\">" + html_escape(notice) + "</p>";
    b += "<section><form method=\"post\" action=\"/console/login\"><label for=\"token\">運用者トークン <span "
         "class=\"en\" lang=\"en\">Operator token</span></label><input id=\"token\" name=\"token\" type=\"password\" "
         "autocomplete=\"off\" required><br><button type=\"submit\">ログイン <span lang=\"en\">Log in</span></button>"
         "</form><p>トークンは <code>jlis token create --data DIR --role operator --subject NAME</code> で作ります。</p>"
         "</section>";
    return page("ログイン", b, nullptr);
  }

  http::Response login(const http::Request& req) {
    if (http::foreign_post(req)) return html(403, login_page("この画面の外からの操作は受け付けません。"));
    auto form = http::parse_form(req.body);
    const std::string token = form ? field(*form, "token") : "";
    auto principal = directory.authenticate(token);
    if (!principal.ok()) return html(401, login_page("トークンが正しくないか、失効しています。"));
    if (principal->role != auth::Role::operator_) return html(403, login_page("運用者（operator）のトークンではありません。"));
    auto id = random_hex(32);
    auto csrf = random_hex(32);
    if (!id.ok() || !csrf.ok()) return html(500, login_page("ログインできませんでした。"));
    {
      std::lock_guard lock(mu);
      const auto now = Clock::now();
      // Sessions abandoned past their time go when the next one begins.
      std::erase_if(sessions, [now](const auto& entry) {
        return now - entry.second.started > kSessionLifetime || now - entry.second.seen > kSessionIdle;
      });
      sessions[*id] = {token, *csrf, "console:" + principal->name + " (" + principal->subject + ")", now, now};
    }
    return redirect("/console", std::string(kCookie) + "=" + *id +
                                    "; Path=/console; HttpOnly; SameSite=Strict; Max-Age=28800");
  }

  // A POST of the console: the session, its CSRF token and the page's own origin, then `action`.
  http::Response post(const http::Request& req, const std::function<http::Response(const Session&, const Form&)>& action) {
    if (http::foreign_post(req)) return html(403, page("操作できません", "<p>この画面の外からの操作は受け付けません。</p>", nullptr));
    auto s = session(req);
    if (!s) return redirect("/console/login");
    auto form = http::parse_form(req.body);
    if (!form || !same(field(*form, "csrf"), s->csrf))
      return html(403, page("操作できません", "<p>フォームが古いか、正しくありません。画面を開き直してください。</p>", &*s));
    return action(*s, *form);
  }

  // `fresh` at most every `every`: the cached copy in `cache` (stamped `at`) otherwise.
  template <typename T>
  std::vector<T> cached(std::vector<T>& cache, Clock::time_point& at, Clock::duration every,
                        const std::vector<std::function<Result<T>()>>& sources) {
    {
      std::lock_guard lock(mu);
      if (at != Clock::time_point{} && Clock::now() - at < every) return cache;
    }
    std::vector<T> fresh;
    for (const auto& f : sources)
      if (auto t = f(); t.ok()) fresh.push_back(std::move(*t));
    std::lock_guard lock(mu);
    cache = fresh;
    at = Clock::now();
    return fresh;
  }

  // The figures (GET /console/figures, and the overview's #figures).
  std::string figures() {
    std::deque<Sample> s;
    {
      std::lock_guard lock(mu);
      s = samples;
    }
    const double interval = std::chrono::duration<double>(options.sample_every).count();
    const int seconds = static_cast<int>(std::max(1.0, interval));
    // A line per group of the counter `name`, as a rate per `per` seconds.
    auto lines = [&](const std::string& name, const std::vector<std::string>& labels, double per,
                     const std::string& only = "") {
      std::vector<Series> out;
      for (const auto& [group, counter] : totals(s, name, labels))
        out.push_back({only.empty() ? group : only, rates(counter, interval, per)});
      return out;
    };
    std::string b = "<div class=\"charts\">";
    b += line_chart("events", "異動（1分あたり、種類別） Change events per minute, by type",
                    lines("jlis_registry_events_applied_total", {"type"}, 60), "/min", seconds);
    b += line_chart("provisions", "本人確認情報の提供（1分あたり、機関・目的別） Provisions per minute, by agency and purpose",
                    lines("jlis_registry_provisions_by_purpose_total", {"agency_name", "purpose"}, 60), "/min", seconds);
    b += line_chart("ocsp", "OCSP 応答（毎秒） OCSP answers per second", lines("jlis_ocsp_requests_total", {}, 1, "OCSP"),
                    "/s", seconds);
    b += line_chart("kiosk", "コンビニ交付（1分あたり、証明書別） Kiosk documents per minute, by type",
                    lines("jlis_kiosk_documents_total", {"type"}, 60), "/min", seconds);
    const auto commits = totals(s, "jlis_store_commits_total"), jobs = totals(s, "jlis_store_jobs_total");
    std::vector<Series> writer;
    if (commits.count("")) {
      writer.push_back({"コミット commits/s", rates(commits.at(""), interval, 1)});
      if (jobs.count("")) {
        Series batch{"平均バッチ jobs per commit", {}};
        const auto& c = commits.at("");
        const auto& j = jobs.at("");
        for (size_t i = 1; i < c.size() && i < j.size(); ++i)
          batch.values.push_back(c[i] > c[i - 1] ? (j[i] - j[i - 1]) / (c[i] - c[i - 1]) : 0);
        writer.push_back(std::move(batch));
      }
    }
    b += line_chart("writer", "書き込み Writer: commits per second and batch size", writer, "", seconds);
    int n = 0;
    for (const Tally& t : cached(tallies, tallied, kTallyEvery, options.tallies)) {
      std::vector<Bar> bars;
      for (const auto& [label, count] : t.counts) bars.push_back({label, static_cast<double>(count)});
      b += bar_chart("tally-" + std::to_string(n++), t.title, bars, "");
    }
    n = 0;
    for (const Table& t : cached(tables, tabled, options.sample_every, options.tables))
      b += table_figure("table-" + std::to_string(n++), t);
    return b + "</div>";
  }

  std::string overview(const Session& s, const std::string& notice) {
    const int every = static_cast<int>(std::max<int64_t>(
        2, std::chrono::duration_cast<std::chrono::seconds>(options.sample_every).count()));
    std::string b = notice;
    b += "<div class=\"refresh\"><p><input type=\"checkbox\" id=\"auto\" checked><label for=\"auto\">自動更新（" +
         std::to_string(every) + " 秒ごと） <span class=\"en\" lang=\"en\">Auto-refresh every " + std::to_string(every) +
         " s</span></label></p><p><a href=\"/console\">今すぐ更新 <span lang=\"en\">Refresh now</span></a></p></div>"
         "<div id=\"figures\" data-every=\"" + std::to_string(every) + "\">" + figures() + "</div>";
    if (options.generate_crls)
      b += "<section><h2>失効リスト <span class=\"en\" lang=\"en\">CRLs</span></h2><p>失効リストは失効のたびと毎日、自動で"
           "作られます。今すぐ作るには: <span class=\"en\" lang=\"en\">The CRLs are made after each revocation and daily; "
           "to make them now:</span></p><form method=\"post\" action=\"/console/crl/generate\">" + csrf_field(s) +
           "<button type=\"submit\">失効リストを今すぐ生成 <span lang=\"en\">Generate the CRLs now</span></button></form>"
           "</section>";
    return b;
  }

  std::string tokens_page(const Session& s, const std::string& notice) {
    std::string b = notice;
    auto all = directory.tokens();
    b += "<section><h2>トークン <span class=\"en\" lang=\"en\">Tokens</span></h2><table><thead><tr><th scope=\"col\">"
         "ID</th><th scope=\"col\">役割 role</th><th scope=\"col\">名前 name</th><th scope=\"col\">対象 subject</th><th "
         "scope=\"col\">作成 created</th><th scope=\"col\">状態 state</th></tr></thead><tbody>";
    if (all.ok()) {
      for (const auto& t : *all) {
        b += "<tr><td><code>" + html_escape(t.token_id) + "</code></td><td>" + std::string(auth::role_name(t.role)) +
             "</td><td>" + html_escape(t.name) + "</td><td>" + html_escape(t.subject) + "</td><td>" +
             html_escape(t.created_at) + "</td><td>";
        if (t.revoked_at) {
          b += "失効 " + html_escape(*t.revoked_at);
        } else {
          b += "<form method=\"post\" action=\"/console/tokens/revoke\">" + csrf_field(s) +
               "<input type=\"hidden\" name=\"token_id\" value=\"" + html_escape(t.token_id) +
               "\"><button class=\"quiet\" type=\"submit\" aria-label=\"" + html_escape(t.token_id) +
               " を失効させる\">失効させる</button></form>";
        }
        b += "</td></tr>";
      }
    }
    b += "</tbody></table></section><section><h2>トークンを作る <span class=\"en\" lang=\"en\">New token</span></h2><form "
         "method=\"post\" action=\"/console/tokens/create\">" + csrf_field(s) +
         "<label for=\"role\">役割 <span class=\"en\" lang=\"en\">Role</span></label><select id=\"role\" name=\"role\">";
    for (const char* role : {"card-centre", "call-centre", "verifier", "operator", "issuance-centre", "lgpki-registration"})
      b += std::string("<option>") + role + "</option>";
    b += "</select><label for=\"holder\">持ち主 <span class=\"en\" lang=\"en\">Who holds it</span></label><input "
         "id=\"holder\" name=\"holder\" required><br><button type=\"submit\">作る</button></form><p>市区町村と機関の"
         "トークンは <code>jlis municipality token</code>、下の「機関を登録する」で。LGPKI の登録分局（lgpki-registration）の持ち主は団体コード（6桁）。</p></section><section><h2>機関を登録する <span class=\"en\" lang=\"en\">New agency</span></h2><form "
         "method=\"post\" action=\"/console/agencies/add\">" + csrf_field(s) +
         "<label for=\"agency\">機関名 <span class=\"en\" lang=\"en\">Agency</span></label><input id=\"agency\" "
         "name=\"name\" required><label for=\"purposes\">利用目的（カンマ区切り） <span class=\"en\" lang=\"en\">Purposes, "
         "comma-separated</span></label><input id=\"purposes\" name=\"purposes\" required><br><button type=\"submit\">"
         "登録する</button></form></section>";
    if (options.add_verifier)
      b += "<section><h2>署名検証者を登録する <span class=\"en\" lang=\"en\">New verifier</span></h2><form method=\"post\" "
           "action=\"/console/verifiers/add\">" + csrf_field(s) +
           "<label for=\"verifier\">検証者名 <span class=\"en\" lang=\"en\">Verifier</span></label><input id=\"verifier\" "
           "name=\"name\" required><p class=\"check\"><input type=\"checkbox\" id=\"consent\" name=\"consent\" "
           "value=\"yes\"><label for=\"consent\">本人の同意で基本4情報を受け取れる <span class=\"en\" lang=\"en\">May "
           "receive the basic four with the holder's consent</span></label></p><button type=\"submit\">登録する</button>"
           "</form></section>";
    return b;
  }

  // What the console's changes are made with: the operator's name, and its token for the check
  // inside the writing transaction.
  static auth::TokenGrant grant(const Session& s) {
    return {.expires_at = std::nullopt, .by = s.by, .operator_token = s.token};
  }
  http::Response overview_page(const Session& s, const std::string& notice, int status) {
    return http::html_response(status, page("概況 Overview", overview(s, notice), &s, kRefresh), overview_policy);
  }

  static std::string secret_notice(const std::string& what, const std::string& secret) {
    return "<section role=\"status\"><p>" + html_escape(what) + "。トークンはこの画面でだけ表示されます。<span class=\"en\" "
           "lang=\"en\">The token is shown on this page only.</span></p><p class=\"secret\">" + html_escape(secret) +
           "</p></section>";
  }
  static std::string error_notice(const Status& s) {
    return "<p class=\"notice\" role=\"alert\">" + html_escape(s.message()) + "</p>";
  }

  std::string audit_page() {
    auto changes = directory.changes();
    std::string b = "<section><table><thead><tr><th scope=\"col\">日時 at</th><th scope=\"col\">誰が by</th><th "
                    "scope=\"col\">操作 action</th><th scope=\"col\">対象 target</th><th scope=\"col\">詳細 detail</th>"
                    "</tr></thead><tbody>";
    if (changes.ok())
      for (auto it = changes->rbegin(); it != changes->rend(); ++it)
        b += "<tr><td>" + html_escape(it->at) + "</td><td>" + html_escape(it->by) + "</td><td>" + html_escape(it->action) +
             "</td><td>" + html_escape(it->target) + "</td><td>" + html_escape(it->detail) + "</td></tr>";
    return b + "</tbody></table></section>";
  }
};

Console::Console(auth::Directory& directory, ConsoleOptions options)
    : impl_(std::make_unique<Impl>(directory, std::move(options))) {
  impl_->sampler = std::thread([this] { impl_->sample_loop(); });
}

Console::~Console() {
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->sampler.join();
}

void Console::add_routes(http::Server& server) {
  Impl& c = *impl_;
  server.route("GET", "/console/login", [&c](const http::Request&) { return c.html(200, c.login_page("")); });
  server.route("POST", "/console/login", [&c](const http::Request& req) { return c.login(req); });
  server.route("POST", "/console/logout", [&c](const http::Request& req) {
    return c.post(req, [&c, &req](const Impl::Session&, const Form&) {
      std::lock_guard lock(c.mu);
      c.sessions.erase(cookie(req, kCookie));
      return redirect("/console/login", std::string(kCookie) + "=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    });
  });
  server.route("GET", "/console", [&c](const http::Request& req) {
    auto s = c.session(req);
    if (!s) return redirect("/console/login");
    return c.overview_page(*s, "", 200);
  });
  server.route("GET", "/console/figures", [&c](const http::Request& req) {
    auto s = c.session(req);
    if (!s) return redirect("/console/login");
    return c.html(200, c.figures());
  });
  server.route("POST", "/console/crl/generate", [&c](const http::Request& req) {
    return c.post(req, [&c](const Impl::Session& s, const Form&) {
      if (!c.options.generate_crls) return c.overview_page(s, Impl::error_notice(not_found("no CA is served here")), 404);
      // Recorded, with the operator's token checked, before the CRLs are made.
      Status allowed = c.directory.record_action(s.by, s.token, "crl.generate", "", "");
      if (!allowed.is_ok()) return c.overview_page(s, Impl::error_notice(allowed), code_http_status(allowed.code()));
      auto made = c.options.generate_crls();
      if (!made.ok()) return c.overview_page(s, Impl::error_notice(made.status()), 500);
      {
        std::lock_guard lock(c.mu);
        c.tabled = {};  // the CRL table shows the new ones
      }
      return c.overview_page(s, "<p class=\"done\" role=\"status\">" + html_escape(*made) + "</p>", 200);
    });
  });
  server.route("GET", "/console/tokens", [&c](const http::Request& req) {
    auto s = c.session(req);
    if (!s) return redirect("/console/login");
    return c.html(200, c.page("トークン Tokens", c.tokens_page(*s, ""), &*s));
  });
  server.route("GET", "/console/audit", [&c](const http::Request& req) {
    auto s = c.session(req);
    if (!s) return redirect("/console/login");
    return c.html(200, c.page("記録 Audit", c.audit_page(), &*s));
  });
  server.route("POST", "/console/tokens/revoke", [&c](const http::Request& req) {
    return c.post(req, [&c](const Impl::Session& s, const Form& form) {
      const Status revoked = c.directory.revoke_token(field(form, "token_id"), s.by, s.token);
      if (!revoked.is_ok()) return c.html(code_http_status(revoked.code()), c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(revoked)), &s));
      return redirect("/console/tokens");
    });
  });
  server.route("POST", "/console/tokens/create", [&c](const http::Request& req) {
    return c.post(req, [&c](const Impl::Session& s, const Form& form) {
      auto role = auth::parse_role(field(form, "role"));
      Status allowed = role.ok() ? auth::check_plain_token_role(*role) : role.status();
      const std::string holder = field(form, "holder");
      if (allowed.is_ok() && (holder.empty() || holder.size() > 200)) allowed = invalid_argument("name who holds the token");
      if (!allowed.is_ok()) return c.html(400, c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(allowed)), &s));
      auto made = c.directory.create_token(*role, holder, holder, Impl::grant(s));
      if (!made.ok())
        return c.html(code_http_status(made.status().code()),
                      c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(made.status())), &s));
      return c.html(200, c.page("トークン Tokens", c.tokens_page(s, Impl::secret_notice("トークンを作りました", *made)), &s));
    });
  });
  server.route("POST", "/console/agencies/add", [&c](const http::Request& req) {
    return c.post(req, [&c](const Impl::Session& s, const Form& form) {
      std::vector<std::string> purposes;
      std::stringstream list(field(form, "purposes"));
      for (std::string p; std::getline(list, p, ',');) {
        const size_t a = p.find_first_not_of(' '), z = p.find_last_not_of(' ');
        if (a != std::string::npos) purposes.push_back(p.substr(a, z - a + 1));
      }
      auto added = c.directory.add_agency(field(form, "name"), purposes, Impl::grant(s));
      if (!added.ok())
        return c.html(code_http_status(added.status().code()),
                      c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(added.status())), &s));
      return c.html(200, c.page("トークン Tokens",
                                c.tokens_page(s, Impl::secret_notice("機関 " + added->first.agency_id + " を登録しました",
                                                                     added->second)),
                                &s));
    });
  });
  server.route("POST", "/console/verifiers/add", [&c](const http::Request& req) {
    return c.post(req, [&c](const Impl::Session& s, const Form& form) {
      if (!c.options.add_verifier)
        return c.html(404, c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(not_found("no CA is served here"))), &s));
      auto added = c.options.add_verifier(field(form, "name"), field(form, "consent") == "yes", Impl::grant(s));
      if (!added.ok())
        return c.html(code_http_status(added.status().code()),
                      c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(added.status())), &s));
      return c.html(200, c.page("トークン Tokens",
                                c.tokens_page(s, Impl::secret_notice("署名検証者 " + added->first + " を登録しました",
                                                                     added->second)),
                                &s));
    });
  });
}

}  // namespace jlis::web
