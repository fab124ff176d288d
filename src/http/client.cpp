#include "http/client.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace jlis::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Url {
  std::string host, port, target;
};

Result<Url> parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return invalid_argument("only http:// URLs are supported: " + url);
  const std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  Url u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  u.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  if (u.host.empty() || u.port.empty() || u.port.size() > 5 ||
      !std::all_of(u.port.begin(), u.port.end(), [](unsigned char c) { return std::isdigit(c); }))
    return invalid_argument("not an http://HOST[:PORT]/ URL: " + url);
  return u;
}

}  // namespace

std::string ClientResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

Result<ClientResponse> fetch(const ClientRequest& request) {
  JLIS_ASSIGN_OR_RETURN(Url url, parse_url(request.url));
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code failed;
  std::string step = "resolve";

  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url.host, url.port, failed);
  if (failed) return unavailable("cannot resolve " + url.host + ": " + failed.message());

  bhttp::request<bhttp::string_body> req;
  const auto verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown) return invalid_argument("unknown HTTP method " + request.method);
  req.method(verb);
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, url.host + ":" + url.port);
  req.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.body.empty() || verb == bhttp::verb::post) req.set(bhttp::field::content_type, request.content_type);
  req.body() = request.body;
  req.prepare_payload();

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(request.max_body_bytes);
  // Asynchronous operations on a private io_context, so that each step has its deadline.
  step = "connect";
  stream.expires_after(request.connect_timeout);
  stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) {
      failed = ec;
      return;
    }
    step = "send the request";
    stream.expires_after(request.timeout);
    bhttp::async_write(stream, req, [&](beast::error_code ec2, size_t) {
      if (ec2) {
        failed = ec2;
        return;
      }
      step = "read the answer";
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code ec3, size_t) { failed = ec3; });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (failed) {
    const bool timed_out = failed == beast::error::timeout;
    return unavailable("http " + request.method + " " + request.url + ": cannot " + step + " (" +
                       (timed_out ? std::string("timed out") : failed.message()) + ")");
  }
  auto res = parser.release();
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = std::string(field.value());
  }
  out.content_type = out.header("content-type");
  out.body = std::move(res.body());
  return out;
}

}  // namespace jlis::http
