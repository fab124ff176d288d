// The centre's service hours (利用時間): kiosks are served from 6:30 to 23:00 Japan time every day
// except from 29 December to 3 January, as the real centre does; both are configurable (`jlis kiosk
// hours`) and kept in the store, so that both centres agree. A session is opened only while the
// centre is open (checked in the transaction that opens it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace jlis::kiosk {

struct ServiceHours {
  // A closure of whole days, inclusive, by month and day; it may run over the year's end.
  struct Closure {
    int from_month = 12, from_day = 29, to_month = 1, to_day = 3;
    bool operator==(const Closure&) const = default;
  };
  int opens = 6 * 60 + 30;  // minutes after midnight, Japan time (UTC+9)
  int closes = 23 * 60;     // the first minute closed again; after `opens`
  std::vector<Closure> closures = {Closure{}};

  // Whether a session may be opened at `unix_seconds`.
  bool open_at(int64_t unix_seconds) const;
  // "06:30-23:00 closed 12-29..01-03" (the closures comma-separated; "closed none" when there is none).
  std::string describe() const;

  // From the forms `jlis kiosk hours` takes: "06:30", "23:00", and "12-29..01-03,08-13..08-15" or
  // "none". invalid_argument when a time or a day does not exist (02-30 is refused; 02-29 is allowed)
  // or `closes` is not after `opens`.
  static Result<ServiceHours> parse(std::string_view opens, std::string_view closes, std::string_view closures);

  // The table (component "kiosk_service_hours": one row; none means the defaults above).
  static Status migrate(store::Connection& conn);
  static Result<ServiceHours> load(store::Connection& conn);
  Status save(store::Connection& conn) const;

  bool operator==(const ServiceHours&) const = default;
};

}  // namespace jlis::kiosk
