#include "web/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "http/html.h"

namespace jlis::web {
namespace {

using http::html_escape;

// Colours with at least 4.5:1 against white, told apart also by their order in the table.
constexpr const char* kColours[] = {"#0b4f8a", "#b3261e", "#1b6e3a", "#7a4a00", "#5b3a8c", "#006a78", "#8a3b6e"};

}  // namespace

std::string number(double v) {
  char buf[32];
  if (std::fabs(v - std::round(v)) < 1e-9) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  }
  std::string digits = buf, out;
  const size_t dot = digits.find('.');
  const std::string whole = digits.substr(0, dot), rest = dot == std::string::npos ? "" : digits.substr(dot);
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && whole[i - 1] != '-' && (whole.size() - i) % 3 == 0) out += ',';
    out += whole[i];
  }
  return out + rest;
}

namespace {

// `heads`: the table's column headings after the first.
std::string figure(std::string_view id, std::string_view title, const std::string& svg, const std::string& rows,
                   std::string_view head, const std::vector<std::string>& heads) {
  const std::string i(id);
  std::string h = "<figure class=\"chart\" aria-labelledby=\"" + i + "-title\"><figcaption id=\"" + i + "-title\">" +
                  html_escape(title) + "</figcaption>" + svg + "<table id=\"" + i + "\"><thead><tr><th scope=\"col\">" +
                  std::string(head) + "</th>";
  for (const auto& column : heads) h += "<th scope=\"col\">" + column + "</th>";
  return h + "</tr></thead><tbody>" + rows + "</tbody></table></figure>";
}

}  // namespace

std::string bar_chart(std::string_view id, std::string_view title, const std::vector<Bar>& bars,
                      std::string_view unit) {
  const int row = 28, label_width = 150, bar_width = 260, height = std::max<int>(1, bars.size()) * row + 8;
  double top = 0;
  for (const Bar& b : bars) top = std::max(top, b.value);
  std::string svg = "<svg viewBox=\"0 0 " + std::to_string(label_width + bar_width + 90) + " " +
                    std::to_string(height) + "\" role=\"img\" aria-label=\"" + html_escape(title) + "\">";
  std::string rows;
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const int y = static_cast<int>(i) * row + 4;
    const int w = top > 0 ? static_cast<int>(std::lround(b.value / top * bar_width)) : 0;
    svg += "<text x=\"" + std::to_string(label_width - 8) + "\" y=\"" + std::to_string(y + 18) +
           "\" text-anchor=\"end\" font-size=\"14\" fill=\"#1a1a1a\">" + html_escape(b.label) + "</text><rect x=\"" +
           std::to_string(label_width) + "\" y=\"" + std::to_string(y + 4) + "\" width=\"" + std::to_string(std::max(w, 1)) +
           "\" height=\"18\" fill=\"" + kColours[i % 7] + "\"/><text x=\"" + std::to_string(label_width + w + 6) +
           "\" y=\"" + std::to_string(y + 18) + "\" font-size=\"14\" fill=\"#1a1a1a\">" + number(b.value) +
           html_escape(unit) + "</text>";
    rows += "<tr><th scope=\"row\">" + html_escape(b.label) + "</th><td>" + number(b.value) + html_escape(unit) +
            "</td></tr>";
  }
  return figure(id, title, svg + "</svg>", rows, "区分", {"値"});
}

std::string line_chart(std::string_view id, std::string_view title, const std::vector<Series>& series,
                       std::string_view unit, int seconds) {
  const int width = 480, height = 160, left = 48, bottom = 20;
  size_t samples = 0;
  double top = 0;
  for (const Series& s : series) {
    samples = std::max(samples, s.values.size());
    for (double v : s.values) top = std::max(top, v);
  }
  if (top <= 0) top = 1;
  std::string svg = "<svg viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"" + html_escape(title) + "\"><line x1=\"" + std::to_string(left) +
                    "\" y1=\"4\" x2=\"" + std::to_string(left) + "\" y2=\"" + std::to_string(height - bottom) +
                    "\" stroke=\"#4a4f55\"/><line x1=\"" + std::to_string(left) + "\" y1=\"" +
                    std::to_string(height - bottom) + "\" x2=\"" + std::to_string(width - 4) + "\" y2=\"" +
                    std::to_string(height - bottom) + "\" stroke=\"#4a4f55\"/><text x=\"" + std::to_string(left - 6) +
                    "\" y=\"14\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">" + number(top) +
                    "</text><text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(height - bottom) +
                    "\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">0</text><text x=\"" +
                    std::to_string(width - 4) + "\" y=\"" + std::to_string(height - 4) +
                    "\" text-anchor=\"end\" font-size=\"12\" fill=\"#1a1a1a\">今 / now (" +
                    std::to_string(std::max<size_t>(samples, 1) * seconds) + " s)</text>";
  std::string rows;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::string points;
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double x = left + (samples <= 1 ? width - left - 4
                                            : static_cast<double>(i + samples - s.values.size()) * (width - left - 4) /
                                                  static_cast<double>(samples - 1));
      const double y = (height - bottom) - s.values[i] / top * (height - bottom - 8);
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x, y);
      points += buf;
    }
    svg += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(kColours[k % 7]) + "\" points=\"" +
           points + "\"/>";
    const double peak = s.values.empty() ? 0 : *std::max_element(s.values.begin(), s.values.end());
    rows += "<tr><th scope=\"row\">" + html_escape(s.label) + "</th><td>" +
            (s.values.empty() ? std::string("—") : number(s.values.back()) + html_escape(unit)) + "</td><td>" +
            (s.values.empty() ? std::string("—") : number(peak) + html_escape(unit)) + "</td></tr>";
  }
  return figure(id, title, svg + "</svg>", rows, "系列", {"今 now", "最大 peak"});
}

std::string table_figure(std::string_view id, const Table& t) {
  const std::string i(id);
  std::string h = "<figure class=\"table\" aria-labelledby=\"" + i + "-title\"><figcaption id=\"" + i + "-title\">" +
                  html_escape(t.title) + "</figcaption><table id=\"" + i + "\"><thead><tr>";
  for (const auto& c : t.columns) h += "<th scope=\"col\">" + html_escape(c) + "</th>";
  h += "</tr></thead><tbody>";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const bool marked = r < t.marked.size() && t.marked[r];
    h += marked ? "<tr class=\"marked\">" : "<tr>";
    for (size_t c = 0; c < t.rows[r].size(); ++c)
      h += "<td>" + std::string(marked && c == 0 ? "<strong>" + html_escape(t.mark) + "</strong> " : "") +
           html_escape(t.rows[r][c]) + "</td>";
    h += "</tr>";
  }
  if (t.rows.empty()) h += "<tr><td colspan=\"" + std::to_string(std::max<size_t>(1, t.columns.size())) + "\">なし none</td></tr>";
  h += "</tbody></table>";
  if (!t.note.empty()) h += "<p>" + html_escape(t.note) + "</p>";
  return h + "</figure>";
}

}  // namespace jlis::web
