#include "cli/console_sources.h"

#include <algorithm>
#include <ctime>
#include <set>

namespace jlis::cli {
namespace {

// "12 分" / "3 時間" / "2 日": how long ago `then` (Unix seconds) was.
std::string age(int64_t then, int64_t now) {
  const int64_t s = std::max<int64_t>(0, now - then);
  if (s < 3600) return std::to_string(s / 60) + " 分 min";
  if (s < 2 * 86400) return std::to_string(s / 3600) + " 時間 h";
  return std::to_string(s / 86400) + " 日 days";
}

std::string utc(int64_t t) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// The production queue: the next applications in production order, then the late express ones.
Result<web::Table> production_queue(card::CardSystem& cards) {
  constexpr size_t kShown = 10;
  JLIS_ASSIGN_OR_RETURN(auto q, cards.production_queue(kShown));
  web::Table t{"カード製造の待ち行列 Card production queue",
               {"申請 application", "特急 express", "申請日 applied", "期限 due", "市区町村 municipality", "状態 status"},
               {}};
  t.mark = "遅延 late";
  const Date today = cards.today();
  auto row = [&](const card::Application& a) {
    t.rows.push_back({std::to_string(a.application_id), std::string(card::express_name(a.express)),
                      a.applied_on.to_iso(), a.due_on ? a.due_on->to_iso() : "", a.municipality_code.str(),
                      std::string(card::application_status_name(a.status))});
    t.marked.push_back(a.late(today));
  };
  std::set<int64_t> shown;
  for (const auto& a : q.head) {
    row(a);
    shown.insert(a.application_id);
  }
  for (const auto& a : q.late_applications)
    if (!shown.count(a.application_id)) row(a);
  auto n = [](int64_t v) { return web::number(static_cast<double>(v)); };
  t.note = "待ち " + n(q.waiting) + " 件（うち特急 " + n(q.express) + "）、特急の遅延 " + n(q.late) + " 件。 Waiting " +
           n(q.waiting) + " (express " + n(q.express) + "); late express " + n(q.late) +
           ". The first rows are the next produced, express first; late express applications are marked.";
  return t;
}

Result<web::Table> crls(pki::CertificateAuthority& ca) {
  JLIS_ASSIGN_OR_RETURN(auto published, ca.published_crls());
  web::Table t{"失効リスト CRLs",
               {"CRL", "番号 number", "発行 this update", "経過 age", "次回 next update", "件数 entries", "大きさ bytes"},
               {}};
  t.mark = "期限切れ expired";
  const int64_t now = std::time(nullptr);
  for (const auto& c : published) {
    t.rows.push_back({c.name, c.crl_number ? std::to_string(c.crl_number) : "", utc(c.this_update),
                      age(c.this_update, now), utc(c.next_update), web::number(static_cast<double>(c.entries)),
                      web::number(static_cast<double>(c.bytes))});
    t.marked.push_back(c.next_update < now);
  }
  return t;
}

}  // namespace

web::ConsoleOptions console_sources(App& app, http::Server& server, bool cards, pki::CertificateAuthority* ca,
                                    std::chrono::milliseconds sample_every) {
  web::ConsoleOptions o;
  o.metrics = [&server] { return server.metrics_text(); };
  o.sample_every = sample_every;
  if (cards) {
    o.tallies.push_back([&app]() -> Result<web::Tally> {
      JLIS_ASSIGN_OR_RETURN(auto counts, app.cards().count_by_status());
      return web::Tally{"マイナンバーカード（状態別） Cards by state", std::move(counts)};
    });
    o.tables.push_back([&app] { return production_queue(app.cards()); });
  }
  if (ca) {
    o.tallies.push_back([ca]() -> Result<web::Tally> {
      JLIS_ASSIGN_OR_RETURN(auto counts, ca->count_by_status(std::time(nullptr)));
      return web::Tally{"電子証明書（状態別） Certificates by status", std::move(counts)};
    });
    o.tables.push_back([ca] { return crls(*ca); });
    o.generate_crls = [ca]() -> Result<std::string> {
      JLIS_ASSIGN_OR_RETURN(auto made, ca->generate_crls());
      std::string said = "失効リストを生成しました Generated:";
      for (const auto& c : made) said += " " + c.name + " (" + std::to_string(c.entries) + ")";
      return said + ", " + std::to_string(ca->partitions_generated()) + " partitions";
    };
    o.add_verifier = [ca, &app](const std::string& name, bool consent,
                                const auth::TokenGrant& grant) -> Result<std::pair<std::string, std::string>> {
      JLIS_ASSIGN_OR_RETURN(auto added, ca->add_verifier(app.directory(), name, consent, grant));
      return std::pair{added.first.verifier_id, added.second};
    };
  }
  return o;
}

}  // namespace jlis::cli
