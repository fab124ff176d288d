// What koseki.cpp and fuhyo.cpp share: the idempotency record of notices and the 附票's part in a
// member's move from one register to another. Not a public header.
#pragma once

#include <optional>
#include <string>

#include "municipal/koseki.h"

namespace jlis::municipal::koseki_internal {

// The outcome of the notice `event_id` of `by` when it was applied before with the same content
// `fingerprint` (replay set), nullopt when never seen; conflict when the key was used for another.
Result<std::optional<KosekiOutcome>> replayed(store::Connection& conn, const LocalGovernmentCode& by,
                                              const std::string& event_id, const std::string& fingerprint);
// Records the notice's outcome under its key (after its writes, in the same transaction).
Status remember(store::Connection& conn, const LocalGovernmentCode& by, const std::string& event_id,
                const std::string& fingerprint, const KosekiOutcome& outcome);
// invalid_argument for an empty or over-long event_id.
Status check_event_id(const std::string& event_id);
// invalid_argument when `d` is after today (Japan).
Status check_not_future(Date d, const char* what);

// The 附票 when a member moves to another register: `to` starts with `from`'s current entry (same
// 住所を定めた年月日), and `from`'s is closed on `date` (除籍). Nothing when `from` has none.
Status carry_fuhyo(store::Connection& conn, const MemberRef& from, const MemberRef& to, Date date);
// Closes the member's current 附票 entry, if any.
Status close_fuhyo(store::Connection& conn, const MemberRef& ref, Date date, const std::string& reason);

}  // namespace jlis::municipal::koseki_internal
