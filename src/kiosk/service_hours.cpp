#include "kiosk/service_hours.h"

#include <array>
#include <cstdio>
#include <optional>
#include <sstream>

#include "common/date.h"
#include "store/migrations.h"

namespace jlis::kiosk {
namespace {

const std::vector<store::Migration> kHoursMigrations = {{1, R"(
  CREATE TABLE kiosk_service_hours (
    id BIGINT PRIMARY KEY CHECK (id = 1), opens TEXT NOT NULL, closes TEXT NOT NULL, closed TEXT NOT NULL);
)"}};


std::string hhmm(int minutes) {
  char out[24];
  std::snprintf(out, sizeof out, "%02d:%02d", minutes / 60, minutes % 60);
  return out;
}

std::string mmdd(int month, int day) {
  char out[24];
  std::snprintf(out, sizeof out, "%02d-%02d", month, day);
  return out;
}

// "06:30" → 390; "24:00" is allowed as a closing time (midnight).
Result<int> parse_hhmm(std::string_view text) {
  int h = 0, m = 0;
  char tail = 0;
  if (text.size() != 5 || std::sscanf(std::string(text).c_str(), "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 ||
      m < 0 || m > 59 || h > 24 || (h == 24 && m != 0))
    return invalid_argument("a time must be HH:MM (00:00 to 24:00): '" + std::string(text) + "'");
  return h * 60 + m;
}

// "12-29" → (12, 29), checked against a leap year so that 02-29 is a day.
Result<std::pair<int, int>> parse_mmdd(std::string_view text) {
  int month = 0, day = 0;
  char tail = 0;
  if (text.size() != 5 || std::sscanf(std::string(text).c_str(), "%2d-%2d%c", &month, &day, &tail) != 2 ||
      !Date::from_ymd(2024, month, day).ok())
    return invalid_argument("a day must be MM-DD and exist: '" + std::string(text) + "'");
  return std::pair{month, day};
}

bool within(const ServiceHours::Closure& c, int month, int day) {
  const int at = month * 100 + day, from = c.from_month * 100 + c.from_day, to = c.to_month * 100 + c.to_day;
  return from <= to ? (at >= from && at <= to) : (at >= from || at <= to);  // the second runs over New Year
}

}  // namespace

bool ServiceHours::open_at(int64_t unix_seconds) const {
  const int64_t local = unix_seconds + kJstOffsetSeconds;
  int64_t days = local / 86400, second = local % 86400;
  if (second < 0) {
    second += 86400;
    --days;
  }
  const Date date = Date::from_days(days);
  for (const auto& c : closures)
    if (within(c, date.month(), date.day())) return false;
  const int minute = static_cast<int>(second / 60);
  return minute >= opens && minute < closes;
}

std::string ServiceHours::describe() const {
  std::string out = hhmm(opens) + "-" + hhmm(closes) + " closed ";
  if (closures.empty()) return out + "none";
  for (size_t i = 0; i < closures.size(); ++i) {
    const auto& c = closures[i];
    out += (i ? "," : "") + mmdd(c.from_month, c.from_day) + ".." + mmdd(c.to_month, c.to_day);
  }
  return out;
}

Result<ServiceHours> ServiceHours::parse(std::string_view opens, std::string_view closes, std::string_view closures) {
  ServiceHours out;
  JLIS_ASSIGN_OR_RETURN(out.opens, parse_hhmm(opens));
  JLIS_ASSIGN_OR_RETURN(out.closes, parse_hhmm(closes));
  if (out.closes <= out.opens) return invalid_argument("the closing time must come after the opening time");
  out.closures.clear();
  if (closures == "none") return out;
  std::stringstream list{std::string(closures)};
  for (std::string item; std::getline(list, item, ',');) {
    const size_t dots = item.find("..");
    if (dots == std::string::npos) return invalid_argument("a closure must be MM-DD..MM-DD: '" + item + "'");
    JLIS_ASSIGN_OR_RETURN(auto from, parse_mmdd(std::string_view(item).substr(0, dots)));
    JLIS_ASSIGN_OR_RETURN(auto to, parse_mmdd(std::string_view(item).substr(dots + 2)));
    out.closures.push_back({from.first, from.second, to.first, to.second});
  }
  if (out.closures.empty()) return invalid_argument("closures: MM-DD..MM-DD, comma-separated, or none");
  return out;
}

Status ServiceHours::migrate(store::Connection& conn) {
  return store::migrate(conn, "kiosk_service_hours", kHoursMigrations);
}

Result<ServiceHours> ServiceHours::load(store::Connection& conn) {
  std::optional<std::array<std::string, 3>> row;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT opens, closes, closed FROM kiosk_service_hours WHERE id = 1", {},
                                  [&](const store::Row& r) {
                                    row = {r.text(0), r.text(1), r.text(2)};
                                    return false;
                                  }));
  if (!row) return ServiceHours{};
  return parse((*row)[0], (*row)[1], (*row)[2]);
}

Status ServiceHours::save(store::Connection& conn) const {
  const std::string text = describe();  // "HH:MM-HH:MM closed LIST"
  return conn
      .execute("INSERT INTO kiosk_service_hours (id, opens, closes, closed) VALUES (1, ?, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET opens = excluded.opens, closes = excluded.closes, closed = excluded.closed",
               {hhmm(opens), hhmm(closes), text.substr(text.find("closed ") + 7)})
      .status();
}

}  // namespace jlis::kiosk
