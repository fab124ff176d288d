// Certificate expiry notices (notices.h).
#include <map>
#include <set>

#include "card/validity.h"
#include "common/clock.h"
#include "pki/ca_internal.h"

namespace jlis::pki {
namespace {

using store::Connection;
using store::Row;

// The last day of validity, in Japan, of a certificate valid through `not_after`.
Date expiry_day(int64_t not_after) { return Date::from_days((not_after + 9 * 3600) / 86400); }

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

}  // namespace

Result<CertificateNoticeRun> CertificateAuthority::expiry_notices(const std::string& month) {
  Impl& d = *impl_;
  JLIS_ASSIGN_OR_RETURN(const Date first, Date::parse_month(month));
  if (d.cards == nullptr) return internal_error("the CA is not attached to the card system");
  CertificateNoticeRun run;
  run.covers_from = card::add_months(first, 2);
  run.covers_until = card::add_months(first, 3).add_days(-1);
  const store::Params expiry_range = {run.covers_from.to_iso(), run.covers_until.to_iso()};

  // The candidates: good card certificates expiring in the range, by card and expiry day, less
  // the notices recorded already (the writer's transaction below decides again).
  std::map<std::pair<Date, std::string>, CertificateExpiryNotice> by_card;  // in expiry order
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
    std::set<std::pair<std::string, std::string>> recorded;
    JLIS_RETURN_IF_ERROR(conn->query("SELECT card_id, expires_on FROM pki_expiry_notices WHERE expires_on >= ? "
                                     "AND expires_on <= ?",
                                     expiry_range, [&](const Row& r) {
                                       recorded.emplace(r.text(0), r.text(1));
                                       return true;
                                     }));
    JLIS_RETURN_IF_ERROR(conn->query(
        "SELECT serial, ca, card_id, resident_code, not_after FROM pki_certificates WHERE not_after >= ? "
        "AND not_after <= ? AND device = 'card' AND revoked_at IS NULL ORDER BY not_after, card_id, ca DESC",
        {start_of_day_jst(run.covers_from), start_of_day_jst(run.covers_until.add_days(1)) - 1}, [&](const Row& r) {
          const Date expires_on = expiry_day(r.int64(4));
          const std::string card_id = r.text(2);
          if (recorded.count({card_id, expires_on.to_iso()})) return true;
          CertificateExpiryNotice& n = by_card[{expires_on, card_id}];
          n.card_id = card_id;
          n.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(3)));
          n.expires_on = expires_on;
          n.kinds.push_back(parse_kind(r.text(1)).value());  // ca DESC: signature, then authentication
          n.serials.push_back(r.text(0));
          return true;
        }));
    // How each is sent: by the holder's record now, and the card's application for an e-mail.
    for (auto& [key, n] : by_card) {
      JLIS_ASSIGN_OR_RETURN(registry::Resident holder, d.registry.get(n.resident_code));
      JLIS_ASSIGN_OR_RETURN(card::Card card, d.cards->card(*conn, n.card_id));
      n.municipality_code = holder.municipality_code;
      if (holder.status == registry::ResidentStatus::abroad) {
        n.kind = card::NoticeKind::email;
        n.email = card.email;
        n.email_missing = !card.email;
      } else {
        n.kind = card::NoticeKind::letter;
        n.name = holder.person.name;
        n.address = holder.person.address;
      }
    }
  }

  // Recording decides: a notice that another run recorded in the meantime is not sent twice.
  std::vector<CertificateExpiryNotice> candidates;
  for (auto& [key, n] : by_card) candidates.push_back(std::move(n));
  std::vector<bool> fresh(candidates.size(), false);
  const std::string at = now_iso8601();
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      const auto& n = candidates[i];
      JLIS_ASSIGN_OR_RETURN(auto changed, conn.execute(
          "INSERT INTO pki_expiry_notices (card_id, expires_on, month, kind, serials, recorded_at) "
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (card_id, expires_on) DO NOTHING",
          {n.card_id, n.expires_on.to_iso(), month, std::string(card::notice_kind_name(n.kind)), joined(n.serials),
           at}));
      fresh[i] = changed == 1;
    }
    return Status::ok();
  }));
  for (size_t i = 0; i < candidates.size(); ++i)
    if (fresh[i]) run.notices.push_back(std::move(candidates[i]));
  JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
  JLIS_ASSIGN_OR_RETURN(auto total, conn->query_int64(
      "SELECT COUNT(*) FROM pki_expiry_notices WHERE expires_on >= ? AND expires_on <= ?", expiry_range));
  run.already_recorded = total.value_or(0) - static_cast<int64_t>(run.notices.size());
  d.notices += run.notices.size();
  return run;
}

}  // namespace jlis::pki
