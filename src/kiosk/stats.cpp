#include "kiosk/stats.h"

#include "common/csv.h"

namespace jlis::kiosk {
namespace {


// The first second of the month of `d` in Japan, as seconds since the epoch.
int64_t month_start(Date d) { return Date::from_ymd(d.year(), d.month(), 1).value().days_since_epoch() * 86400 - kJstOffsetSeconds; }

}  // namespace

Result<MonthlyStats> monthly_stats(store::Connection& conn, Date month) {
  const Date first = Date::from_ymd(month.year(), month.month(), 1).value();
  const int64_t from = month_start(first), to = month_start(first.add_days(31));
  MonthlyStats out;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT COUNT(*), COUNT(certificate_serial), SUM(CASE WHEN end_reason = 'incident' THEN 1 ELSE 0 END) "
      "FROM kiosk_sessions WHERE opened_at >= ? AND opened_at < ?",
      {from, to}, [&](const store::Row& r) {
        out.sessions = r.int64(0);
        out.logged_in = r.int64(1);
        out.incidents = r.int64(2);  // 0 for no session (NULL)
        return false;
      }));
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT SUBSTR(s.issuance_number, 1, 6) AS m, s.document_type, t.operator_name, COUNT(*), SUM(s.copies), "
      "SUM(s.fee), SUM(CASE WHEN s.end_reason = 'printed' THEN 1 ELSE 0 END) "
      "FROM kiosk_sessions s JOIN kiosk_terminals t ON t.terminal_id = s.terminal_id "
      "WHERE s.opened_at >= ? AND s.opened_at < ? AND s.document_type IS NOT NULL AND "
      "(s.end_reason IS NULL OR s.end_reason <> 'incident') "
      "GROUP BY SUBSTR(s.issuance_number, 1, 6), s.document_type, t.operator_name ORDER BY 1, 2, 3",
      {from, to}, [&](const store::Row& r) {
        out.rows.push_back({r.text(0), r.text(1), r.text(2), r.int64(3), r.int64(4), r.int64(5), r.int64(6)});
        return true;
      }));
  return out;
}

std::string stats_csv(const MonthlyStats& s) {
  int64_t documents = 0;
  for (const auto& r : s.rows) documents += r.documents;
  std::string out = "# sessions,logged_in,documents,incidents\n# " + std::to_string(s.sessions) + "," +
                    std::to_string(s.logged_in) + "," + std::to_string(documents) + "," + std::to_string(s.incidents) +
                    "\nmunicipality_code,document_type,operator,documents,copies,fees_yen,printed\n";
  for (const auto& r : s.rows)
    out += r.municipality_code + "," + r.document_type + "," + csv_field(r.operator_name) + "," +
           std::to_string(r.documents) + "," + std::to_string(r.copies) + "," + std::to_string(r.fees) + "," +
           std::to_string(r.printed) + "\n";
  return out;
}

}  // namespace jlis::kiosk
