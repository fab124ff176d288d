// A small HTTP/1.1 server on Boost.Beast: keep-alive, a worker pool, routing by method and path
// pattern, JSON errors, /healthz and /metrics (Prometheus text) built in.
//
// Handlers run on the server's worker threads and may block (for example on a database commit);
// they must be thread-safe. A handler that throws answers 500 with a JSON error and the message
// "internal error" (the exception text is logged, never sent).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace jlis::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path, without the query string
  std::map<std::string, std::string> query;         // decoded query parameters (last one wins)
  std::map<std::string, std::string> path_params;   // from the route pattern: {code} -> value
  std::map<std::string, std::string> headers;       // lower-case names
  std::string body;
  std::string request_id;  // unique per request; logged and echoed as X-Request-Id
  // The server's own id of the request, never taken from the client (equal to request_id when the
  // client sent no usable X-Request-Id); what records such as the provision record keep.
  std::string server_request_id;
  std::string client_request_id;  // the client's X-Request-Id after sanitising, or ""
  // The client's IP address as the connection shows it ("127.0.0.1", "::1"), for per-client
  // limits; "" when unknown. Never taken from a header (X-Forwarded-For is the client's to forge).
  std::string peer;

  // The value of a header (lower-case name) or "".
  std::string header(std::string_view lower_name) const;
  // The token of "Authorization: Bearer <token>", or "" when absent.
  std::string bearer_token() const;
  std::string query_param(const std::string& name) const;  // "" when absent
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response json(int status, std::string body);
  // {"error": {"code": "<code_name>", "message": "..."}} with code_http_status(status.code()).
  static Response error(const Status& status);
  // The same body for an HTTP-level failure that has no Status code: 405 "method_not_allowed",
  // 413 "payload_too_large", 431 "headers_too_large" (docs/openapi.yaml lists every code).
  static Response error(int status, std::string_view code, std::string_view message);
};

using Handler = std::function<Response(const Request&)>;
// A route's answer made on the connection's I/O thread, without the hand-off to a worker (two
// thread wake-ups per request): for an answer that is ready in memory, such as a pre-produced OCSP
// response. It must never block (no store, no signature, no lock held for long) and answers
// nullopt to pass the request on to the route's Handler on a worker.
using FastHandler = std::function<std::optional<Response>(const Request&)>;

namespace internal {
struct ReplyState;
}

// The answer of a deferred route (Server::route_deferred): the handler returns at once and whoever
// holds a copy of the Reply sends the response later, from any thread; for example the store's
// writer thread once the commit the answer waits for is done, so that no worker blocks on it.
// Copies share one answer: the first send() is sent, later ones are ignored. When the last copy is
// dropped unsent (a handler that threw, a callback that was never called) the client gets 500
// "internal error". Once the Reply is sent, or handed to something that may send it, the handler
// must not touch the Request any more: the connection may already be reading its next request.
// Server::stop() waits until every Reply of the server has been sent or dropped.
class Reply {
 public:
  explicit Reply(std::shared_ptr<internal::ReplyState> state) : state_(std::move(state)) {}  // made by the server
  void send(Response response) const;

 private:
  std::shared_ptr<internal::ReplyState> state_;
};

using DeferredHandler = std::function<void(const Request&, Reply)>;

// One entry of the route table: a method and its pattern as given to Server::route.
struct RouteEntry {
  std::string method;
  std::string pattern;  // "/v1/residents/{resident_code}", "/ocsp/{request...}"
  bool operator==(const RouteEntry&) const = default;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;        // 0 picks a free port; see Server::port()
  int io_threads = 0;       // 0 = number of cores
  int worker_threads = 0;   // blocking handler pool; 0 = 4 x cores
  size_t max_body_bytes = 1 << 20;  // larger bodies answer 413
  bool simulation = false;  // /healthz answers "simulation": true (a simulation's data directory)
  // One of two centres (store/centre.h): /healthz adds "centre" and "store_role", the role of the
  // store the read paths use, asked of `store_role` on each call ("primary" or "standby"); when it
  // fails, /healthz answers 503 with "status": "unavailable".
  std::string centre = {};
  std::function<Result<std::string>()> store_role = {};
};

// "HOST:PORT" (a --listen option) as its host and port; invalid_argument otherwise.
Result<std::pair<std::string, uint16_t>> parse_listen(std::string_view listen);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes: pattern segments in braces bind path parameters: "/v1/residents/{code}/history".
  // A path that matches no pattern answers 404; a known path with another method answers 405.
  void route(std::string method, std::string pattern, Handler handler);
  // The same with a FastHandler tried first, on the I/O thread (see FastHandler).
  void route(std::string method, std::string pattern, Handler handler, FastHandler fast);
  // The same for a handler that answers later through its Reply (see Reply).
  void route_deferred(std::string method, std::string pattern, DeferredHandler handler);
  // Requests whose target starts with `path_prefix` may carry bodies of up to `max_bytes` (others:
  // ServerOptions::max_body_bytes) when `admit` says yes to their bearer token ("" without one),
  // asked once the header is in and before the body is read: a body over the ordinary limit from
  // anyone else is 413 unread. The body is read whole into Request::body. Before start().
  void allow_body_bytes(std::string path_prefix, size_t max_bytes,
                        std::function<bool(const std::string& bearer_token)> admit);
  // Lines appended to /metrics (Prometheus text) on every scrape, besides the server's own.
  void add_metrics_source(std::function<std::string()> source);
  // What /metrics answers now (the server's own series, then every source's lines).
  std::string metrics_text() const;
  // Every route added so far (the built-in /healthz and /metrics included), in the order added.
  // The contract tests compare it with the paths of docs/openapi.yaml.
  std::vector<RouteEntry> routes() const;

  // Binds and starts serving in background threads. Fails when the address cannot be bound.
  Status start();
  uint16_t port() const;  // the bound port, after start()
  // Stops accepting, closes connections, joins the threads. Idempotent.
  void stop();
  // Blocks until stop() is called (e.g. from a signal handler thread) or SIGINT/SIGTERM arrives;
  // a signal then stops the server. From the first start() on, SIGINT and SIGTERM are caught by the
  // server (not fatal): one that arrives before wait() is kept and ends the next wait() at once.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::http
