// CSV output as the CLI writes it (RFC 4180 quoting).
#pragma once

#include <string>
#include <string_view>

namespace jlis {

// A CSV field: as it is, or quoted (inner quotes doubled) when it holds a comma, a quote or a line break.
inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace jlis
