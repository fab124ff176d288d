#include "http/router.h"

#include <algorithm>
#include <cassert>

namespace jlis::http::internal {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_into(std::string_view text, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;  // fewer than two characters follow
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  if (!decode_into(text, plus_is_space, out)) return std::nullopt;
  return out;
}

bool parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  std::string name;
  std::string value;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view raw_value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (!decode_into(pair.substr(0, eq), true, name)) return false;
    if (!decode_into(raw_value, true, value)) return false;
    if (name.empty()) continue;
    out.insert_or_assign(name, value);
  }
  return true;
}

bool split_path(std::string_view path, std::vector<std::string>& segments) {
  segments.clear();
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  // "/" is one empty segment, "/a/" is {"a", ""}: a trailing slash is significant.
  for (;;) {
    const size_t slash = path.find('/');
    segments.emplace_back();
    if (!decode_into(path.substr(0, slash), false, segments.back())) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

void Router::add(std::string method, std::string_view pattern, Handler handler, DeferredHandler deferred,
                 FastHandler fast) {
  assert(!pattern.empty() && pattern[0] == '/');
  Pattern* p = nullptr;
  for (auto& existing : patterns_) {
    if (existing.text == pattern) p = &existing;
  }
  if (p == nullptr) {
    Pattern fresh;
    fresh.text = std::string(pattern);
    std::string_view rest = pattern.substr(1);
    for (;;) {
      const size_t slash = rest.find('/');
      std::string_view s = rest.substr(0, slash);
      const bool param = s.size() >= 2 && s.front() == '{' && s.back() == '}';
      std::string_view name = param ? s.substr(1, s.size() - 2) : s;
      const bool is_rest = param && name.size() > 3 && name.substr(name.size() - 3) == "...";
      if (is_rest) name.remove_suffix(3);
      assert(!is_rest || slash == std::string_view::npos);  // a rest parameter ends the pattern
      fresh.segments.push_back({std::string(name), is_rest ? Segment::kRest
                                                   : param ? Segment::kParam
                                                           : Segment::kLiteral});
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    for (int i = 0; i < kMethodClasses; ++i) {
      fresh.mismatch[i] = metrics_.series(pattern, method_class_name(i), false);
    }
    patterns_.push_back(std::move(fresh));
    p = &patterns_.back();
  }
  for (auto& r : p->routes) {
    if (r.method == method) {
      r.handler = std::move(handler);
      r.deferred = std::move(deferred);
      r.fast = std::move(fast);
      return;
    }
  }
  Series* series = metrics_.series(pattern, method, true);
  p->routes.push_back(
      {std::move(method), std::string(pattern), std::move(handler), std::move(deferred), std::move(fast), series});
}

std::vector<RouteEntry> Router::routes() const {
  std::vector<RouteEntry> out;
  for (const Pattern& p : patterns_) {
    for (const Route& r : p.routes) out.push_back({r.method, r.pattern});
  }
  return out;
}

bool Router::matches(const Pattern& p, const std::vector<std::string>& segments) {
  const bool rest = p.segments.back().kind == Segment::kRest;
  if (rest ? segments.size() < p.segments.size() : segments.size() != p.segments.size()) return false;
  for (size_t i = 0; i < p.segments.size(); ++i) {
    if (p.segments[i].kind == Segment::kLiteral && p.segments[i].text != segments[i]) return false;
  }
  return true;
}

bool Router::more_specific(const Pattern& a, const Pattern& b) {
  const size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.segments[i].kind != b.segments[i].kind) return a.segments[i].kind > b.segments[i].kind;
  }
  return false;
}

Router::Match Router::match(std::string_view method, const std::vector<std::string>& segments,
                            std::map<std::string, std::string>& params) const {
  const Pattern* best = nullptr;  // best pattern that has the method
  const Route* best_route = nullptr;
  const Pattern* any = nullptr;  // best pattern regardless of method
  for (const Pattern& p : patterns_) {
    if (!matches(p, segments)) continue;
    if (any == nullptr || more_specific(p, *any)) any = &p;
    for (const Route& r : p.routes) {
      if (r.method == method && (best == nullptr || more_specific(p, *best))) {
        best = &p;
        best_route = &r;
      }
    }
  }

  Match m;
  if (best != nullptr) {
    for (size_t i = 0; i < best->segments.size(); ++i) {
      const Segment& s = best->segments[i];
      if (s.kind == Segment::kParam) {
        params.insert_or_assign(s.text, segments[i]);
      } else if (s.kind == Segment::kRest) {
        std::string joined = segments[i];
        for (size_t j = i + 1; j < segments.size(); ++j) {
          joined += '/';
          joined += segments[j];
        }
        params.insert_or_assign(s.text, std::move(joined));
      }
    }
    m.kind = Match::kFound;
    m.route = best_route;
    m.series = best_route->series;
  } else if (any != nullptr) {
    // Allow lists the methods of every matching pattern: any of them would have been answered.
    m.kind = Match::kMethodNotAllowed;
    m.series = any->mismatch[method_class(method)];
    std::vector<std::string_view> seen;
    for (const Pattern& p : patterns_) {
      if (!matches(p, segments)) continue;
      for (const Route& r : p.routes) {
        if (std::find(seen.begin(), seen.end(), r.method) != seen.end()) continue;
        seen.push_back(r.method);
        if (!m.allow.empty()) m.allow += ", ";
        m.allow += r.method;
      }
    }
  } else {
    m.kind = Match::kNotFound;
    m.series = metrics_.unmatched(method);
  }
  return m;
}

}  // namespace jlis::http::internal
