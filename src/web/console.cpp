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

constexpr std::string_view kStyle =
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
    ".en{color:#3d4247}";

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

// The value of label `label` in a series key `name{a="x",label="y"}`.
std::string label_of(const std::string& key, const std::string& label) {
  const size_t at = key.find(label + "=\"");
  if (at == std::string::npos) return "";
  const size_t from = at + label.size() + 2;
  return key.substr(from, key.find('"', from) - from);
}

// Sum of the series named `name` (any labels) in each sample, grouped by `label` ("" for one group).
std::map<std::string, std::vector<double>> totals(const std::deque<Sample>& samples, const std::string& name,
                                                  const std::string& label) {
  std::map<std::string, std::vector<double>> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (const auto& [key, value] : samples[i]) {
      if (key.compare(0, name.size(), name) != 0 || (key.size() > name.size() && key[name.size()] != '{')) continue;
      auto& v = out[label.empty() ? "" : label_of(key, label)];
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

  Impl(auth::Directory& d, ConsoleOptions o) : directory(d), options(std::move(o)), policy(http::page_policy(kStyle)) {}

  auth::Directory& directory;
  ConsoleOptions options;
  const std::string policy;

  std::mutex mu;
  std::map<std::string, Session> sessions;
  std::deque<Sample> samples;
  std::vector<Tally> tallies;
  Clock::time_point tallied{};

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

  std::string page(std::string_view title, const std::string& body, const Session* s, bool refresh = false) {
    std::string h = "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                    "content=\"width=device-width, initial-scale=1\">";
    if (refresh)
      h += "<meta http-equiv=\"refresh\" content=\"" +
           std::to_string(std::max<int64_t>(2, std::chrono::duration_cast<std::chrono::seconds>(options.sample_every).count())) +
           "\">";
    h += "<title>" + html_escape(title) + " — OpenJLIS 運用コンソール</title><style>" + std::string(kStyle) +
         "</style></head><body><header><h1>OpenJLIS 運用コンソール <span lang=\"en\">Console</span></h1>";
    if (s != nullptr)
      h += "<nav aria-label=\"コンソール\"><a href=\"/console\">概況 <span lang=\"en\">Overview</span></a><a "
           "href=\"/console/tokens\">トークン <span lang=\"en\">Tokens</span></a><a href=\"/console/audit\">記録 <span "
           "lang=\"en\">Audit</span></a></nav><form method=\"post\" action=\"/console/logout\">" + csrf_field(*s) +
           "<button class=\"quiet\" type=\"submit\">ログアウト</button></form>";
    return h + "</header><main><h2>" + html_escape(title) + "</h2>" + body + "</main></body></html>\n";
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

  std::vector<Tally> current_tallies() {
    {
      std::lock_guard lock(mu);
      if (tallied != Clock::time_point{} && Clock::now() - tallied < kTallyEvery) return tallies;
    }
    std::vector<Tally> fresh;
    for (const auto& f : options.tallies)
      if (auto t = f(); t.ok()) fresh.push_back(std::move(*t));
    std::lock_guard lock(mu);
    tallies = fresh;
    tallied = Clock::now();
    return fresh;
  }

  std::string overview() {
    std::deque<Sample> s;
    {
      std::lock_guard lock(mu);
      s = samples;
    }
    const double interval = std::chrono::duration<double>(options.sample_every).count();
    const int seconds = static_cast<int>(std::max(1.0, interval));
    std::string b = "<div class=\"charts\">";
    std::vector<Series> events;
    for (const auto& [type, counter] : totals(s, "jlis_registry_events_applied_total", "type"))
      events.push_back({type, rates(counter, interval, 60)});
    b += line_chart("events", "異動（1分あたり、種類別） Change events per minute, by type", events, "/min", seconds);
    std::vector<Series> provisions;
    for (const auto& [_, counter] : totals(s, "jlis_registry_provisions_total", ""))
      provisions.push_back({"提供 provisions", rates(counter, interval, 60)});
    b += line_chart("provisions", "本人確認情報の提供（1分あたり） Provisions per minute", provisions, "/min", seconds);
    std::vector<Series> ocsp;
    for (const auto& [_, counter] : totals(s, "jlis_ocsp_requests_total", ""))
      ocsp.push_back({"OCSP", rates(counter, interval, 1)});
    b += line_chart("ocsp", "OCSP 応答（毎秒） OCSP answers per second", ocsp, "/s", seconds);
    const auto commits = totals(s, "jlis_store_commits_total", ""), jobs = totals(s, "jlis_store_jobs_total", "");
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
    for (const Tally& t : current_tallies()) {
      std::vector<Bar> bars;
      for (const auto& [label, count] : t.counts) bars.push_back({label, static_cast<double>(count)});
      b += bar_chart("tally-" + std::to_string(n++), t.title, bars, "");
    }
    return b + "</div>";
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
    for (const char* role : {"card-centre", "call-centre", "verifier", "operator", "issuance-centre"})
      b += std::string("<option>") + role + "</option>";
    b += "</select><label for=\"holder\">持ち主 <span class=\"en\" lang=\"en\">Who holds it</span></label><input "
         "id=\"holder\" name=\"holder\" required><br><button type=\"submit\">作る</button></form><p>市区町村と機関の"
         "トークンは <code>jlis municipality token</code>、下の「機関を登録する」で。</p></section><section><h2>機関を登録する <span class=\"en\" lang=\"en\">New agency</span></h2><form "
         "method=\"post\" action=\"/console/agencies/add\">" + csrf_field(s) +
         "<label for=\"agency\">機関名 <span class=\"en\" lang=\"en\">Agency</span></label><input id=\"agency\" "
         "name=\"name\" required><label for=\"purposes\">利用目的（カンマ区切り） <span class=\"en\" lang=\"en\">Purposes, "
         "comma-separated</span></label><input id=\"purposes\" name=\"purposes\" required><br><button type=\"submit\">"
         "登録する</button></form></section>";
    return b;
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
    return c.html(200, c.page("概況 Overview", c.overview(), &*s, true));
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
      const Status revoked = c.directory.revoke_token(field(form, "token_id"), s.by);
      if (!revoked.is_ok()) return c.html(400, c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(revoked)), &s));
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
      auto made = c.directory.create_token(*role, holder, holder, {.expires_at = std::nullopt, .by = s.by});
      if (!made.ok()) return c.html(400, c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(made.status())), &s));
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
      auto added = c.directory.add_agency(field(form, "name"), purposes, {.expires_at = std::nullopt, .by = s.by});
      if (!added.ok()) return c.html(400, c.page("トークン Tokens", c.tokens_page(s, Impl::error_notice(added.status())), &s));
      return c.html(200, c.page("トークン Tokens",
                                c.tokens_page(s, Impl::secret_notice("機関 " + added->first.agency_id + " を登録しました",
                                                                     added->second)),
                                &s));
    });
  });
}

}  // namespace jlis::web
