// Private to the HTTP server: URL decoding and route matching.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/metrics.h"
#include "http/server.h"

namespace jlis::http::internal {

// Decodes %XX escapes; '+' becomes a space only when plus_is_space (query strings, not paths).
// nullopt on a malformed escape ("%4", "%zz").
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Parses "a=1&b=x+y&c" into out (the last of repeated names wins; "c" maps to "").
// False on a malformed escape.
bool parse_query(std::string_view query, std::map<std::string, std::string>& out);

// Splits an origin-form path ("/a/b%2Fc") into decoded segments ({"a", "b/c"}). Splitting before
// decoding keeps an encoded slash inside its segment. False when the path does not start with '/'
// or has a malformed escape.
bool split_path(std::string_view path, std::vector<std::string>& segments);

// Routes are added before the server starts; matching is then read-only and needs no lock.
class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    Handler handler;           // one of the two is set
    DeferredHandler deferred;
    FastHandler fast;          // with handler, optionally: tried first on the I/O thread
    Series* series;  // metrics of this route
  };

  struct Match {
    enum Kind { kFound, kNotFound, kMethodNotAllowed } kind = kNotFound;
    const Route* route = nullptr;  // kFound
    Series* series = nullptr;      // where to count the answer (also for 404 and 405)
    std::string allow;             // kMethodNotAllowed: "GET, POST"
  };

  explicit Router(Metrics& metrics) : metrics_(metrics) {}

  // Adds or replaces the handler of (method, pattern): `handler`, or `deferred` when it is empty;
  // `fast`, when set, is offered each request first (Server::route with a FastHandler).
  void add(std::string method, std::string_view pattern, Handler handler, DeferredHandler deferred = {},
           FastHandler fast = {});
  // Every (method, pattern), in the order patterns were first added.
  std::vector<RouteEntry> routes() const;

  // Matches decoded segments. On kFound fills params from the pattern's {name} segments. A last
  // segment {name...} (a rest parameter) matches one or more remaining segments and binds them
  // joined with "/" (the decoded segments: "/ocsp/a%2Fb/c" binds "a/b/c"). When several patterns
  // match, the first segment where they differ decides: a literal beats a parameter, which beats a
  // rest parameter ("/residents/search" over "/residents/{code}" over "/residents/{rest...}").
  Match match(std::string_view method, const std::vector<std::string>& segments,
              std::map<std::string, std::string>& params) const;

 private:
  struct Segment {
    enum Kind { kRest, kParam, kLiteral };  // in increasing order of precedence
    std::string text;  // literal text, or the parameter name
    Kind kind;
  };
  struct Pattern {
    std::string text;
    std::vector<Segment> segments;
    std::vector<Route> routes;
    // 405 answers are counted per pattern and method class, so the labels stay bounded.
    std::array<Series*, kMethodClasses> mismatch{};
  };

  static bool matches(const Pattern& p, const std::vector<std::string>& segments);
  static bool more_specific(const Pattern& a, const Pattern& b);

  Metrics& metrics_;
  std::vector<Pattern> patterns_;
};

}  // namespace jlis::http::internal
