// The centre's monthly statistics (`jlis kiosk stats --month YYYY-MM`): the documents handed to
// kiosks in a month (Japan time, by the opening of their session), per issuing municipality (the
// issuance number's code), document type and operator, with copies, fees and how many were
// confirmed printed. Read from the centre's own register of sessions (sessions.h): a document is
// one recorded on its session (a type); a number discarded before that (another person's, or its
// session timed out while the municipality answered) is not one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/date.h"
#include "common/status.h"
#include "store/database.h"

namespace jlis::kiosk {

struct MonthlyRow {
  std::string municipality_code, document_type, operator_name;
  int64_t documents = 0, copies = 0, fees = 0, printed = 0;
};

struct MonthlyStats {
  int64_t sessions = 0;   // opened in the month
  int64_t logged_in = 0;  // of which a card logged in
  int64_t incidents = 0;  // documents discarded as not the holder's
  std::vector<MonthlyRow> rows;  // ordered by municipality, type, operator
};

// `month`: any day of the month.
Result<MonthlyStats> monthly_stats(store::Connection& conn, Date month);

// The CSV `jlis kiosk stats` prints: a header, then one line per row; the totals as comment lines
// ("# sessions,logged_in,documents,incidents" and their values) first.
std::string stats_csv(const MonthlyStats& stats);

}  // namespace jlis::kiosk
