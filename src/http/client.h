// A small blocking HTTP/1.1 client (Boost.Beast) for one component calling another over the
// network: the issuance centre relaying to a municipality's issuance server. Plain http:// only
// (TLS ends at the deployment's proxy, as for the server). One connection per call, closed after
// the answer; no redirects, no retries (the caller decides what a failure means).
//
// Thread-safe: each call has its own io_context and socket. The call blocks its thread for at most
// connect_timeout + timeout: run it on a thread of the caller's own, never on an HTTP server worker
// whose server the call may reach (a server whose workers all wait on themselves deadlocks).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace jlis::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://HOST[:PORT]/PATH[?QUERY]
  std::string body;
  std::string content_type = "application/json";  // sent with a body
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(3)};
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // the request written and the answer read
  size_t max_body_bytes = 16 << 20;
};

struct ClientResponse {
  int status = 0;
  std::string content_type;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& lower_name) const;  // "" when absent
};

// Sends `request` and reads the answer. Any status is an answer (the caller reads it); errors:
// invalid_argument for a URL that is not http://HOST[:PORT]/..., unavailable when the server
// cannot be reached, a timeout passes, or the answer is not HTTP (or larger than max_body_bytes).
Result<ClientResponse> fetch(const ClientRequest& request);

}  // namespace jlis::http
