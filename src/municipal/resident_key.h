// Internal to municipal/: a resident code as the records' tables store it (its ten-digit body as a
// bigint; the check digit follows from it).
#pragma once

#include <cstdint>

#include "common/identifiers.h"

namespace jlis::municipal::internal {

inline int64_t resident_key(const ResidentCode& code) { return static_cast<int64_t>(code.body()); }
inline ResidentCode resident_of_key(int64_t key) { return ResidentCode::from_body(static_cast<uint64_t>(key)); }

}  // namespace jlis::municipal::internal
