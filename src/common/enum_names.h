// Enumerations written as their stable lower-case names in JSON, SQL and the CLI: one table of names
// per enumeration, indexed by the enumerator's value.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/status.h"

namespace jlis {

// The enumerator whose name is `text`. An empty name in the table stands for a value with no written
// form (it never matches). Fails with invalid_argument "<what> must be one of a, b, c".
template <class Enum, size_t N>
Result<Enum> parse_enum_name(const std::array<std::string_view, N>& names, std::string_view text,
                             std::string_view what) {
  for (size_t i = 0; i < N; ++i)
    if (!names[i].empty() && names[i] == text) return static_cast<Enum>(i);
  std::string allowed;
  for (auto n : names)
    if (!n.empty()) allowed += (allowed.empty() ? "" : ", ") + std::string(n);
  return invalid_argument(std::string(what) + " must be one of " + allowed);
}

}  // namespace jlis
