// The HTTP server's request parsing (src/http/server.cpp): the bytes of a connection go through
// Beast's request_parser<string_body> configured as the server configures it (body limit 1 MiB,
// Beast's default header limit), then the request target as the session splits it: absolute-form
// stripped, the path split and percent-decoded (internal::split_path), the query parsed
// (internal::parse_query).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.h"

namespace bhttp = boost::beast::http;

namespace {

void split_target(std::string_view target) {
  if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
    const size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const size_t question = target.find('?');
  std::string_view raw_query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  raw_query = raw_query.substr(0, raw_query.find('#'));
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  jlis::http::internal::split_path(target.substr(0, question), segments);
  jlis::http::internal::parse_query(raw_query, query);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Several requests on one keep-alive connection: parse one after the other until an error.
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec == bhttp::error::need_more) {
      parser.put_eof(ec);
      return 0;
    }
    if (ec || used == 0) return 0;
    if (parser.is_header_done()) {
      auto& msg = parser.get();
      (void)msg.keep_alive();
      (void)msg[bhttp::field::expect];
      (void)msg["X-Request-Id"];
      split_target(std::string_view(msg.target().data(), msg.target().size()));
    }
    input.remove_prefix(used);
    if (!parser.is_done()) return 0;
  }
  return 0;
}
