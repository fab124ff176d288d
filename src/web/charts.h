// Charts drawn on the server as inline SVG (no script, nothing fetched), each followed by the same
// numbers as a table, so a screen reader and a test read what the picture shows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace jlis::web {

struct Bar {
  std::string label;
  double value = 0;
};
// Horizontal bars, one per label, longest to scale; `unit` follows each value ("枚", "/s").
std::string bar_chart(std::string_view id, std::string_view title, const std::vector<Bar>& bars,
                      std::string_view unit);

struct Series {
  std::string label;
  std::vector<double> values;  // oldest first, one per sample
};
// Lines over the last samples (the newest at the right edge), `seconds` between samples; the
// table gives each series' newest value and its peak over the samples.
std::string line_chart(std::string_view id, std::string_view title, const std::vector<Series>& series,
                       std::string_view unit, int seconds);

}  // namespace jlis::web
