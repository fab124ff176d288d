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

// A table of figures that is no chart (the card production queue, the CRLs published): each row's
// cells as text; a `marked` row is highlighted and its first cell says why (`mark`).
struct Table {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> marked = {};  // by row; missing: not marked
  std::string mark = {};          // the words a marked row's first cell begins with ("遅延 late")
  std::string note = {};          // a line under the table (counts, what the rows are)
};
std::string table_figure(std::string_view id, const Table& table);

// `value` with thousands separators ("1,234,567"; one decimal place when not whole).
std::string number(double value);

}  // namespace jlis::web
