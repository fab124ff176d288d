// Threading: io_threads run one io_context. Every connection is a Session on its own strand. A
// parsed request is handed to a worker pool (handlers may block on a database commit; running them
// on an io thread would stall every connection that thread serves).
//
// A session serves one request at a time and has no operation outstanding while its handler runs,
// so the worker owns it exclusively until it starts the next operation. The worker therefore sends
// the response itself with a non-blocking write and starts the next read; only when the socket
// would block is the rest written asynchronously on the strand. Posting every response back to the
// strand costs a second thread wake-up per request, which measured as the largest cost of the
// server. Completion handlers always run on the strand. A route with a FastHandler (server.h) is
// first offered the request on the strand itself: an answer ready in memory is sent from there,
// with no worker at all; only when it passes is the request handed to a worker.
//
// Shutdown: stop() stops the io_context, joins its threads, then stops the pool (handlers already
// running finish; queued ones are dropped), and finally destroys the io_context, which destroys
// every pending completion handler and with them the sessions and their sockets.
#include "http/server.h"

#include "common/clock.h"
#include "common/text.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "http/metrics.h"
#include "http/router.h"
#include "http/worker_pool.h"

namespace jlis::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Idle keep-alive connections and slow senders are dropped after this long.
constexpr auto kReadTimeout = std::chrono::seconds(60);
// A client that stops reading its response is dropped after this long.
constexpr auto kWriteTimeout = std::chrono::seconds(60);
// After an error answer the rest of the request is read and discarded for at most this long (or
// kMaxLingerBytes): closing with unread input makes the kernel send RST, which can destroy the
// error answer before the client reads it.
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kMaxLingerBytes = 4 << 20;
constexpr size_t kMaxRequestIdLength = 128;

std::string_view to_sv(beast::string_view s) { return {s.data(), s.size()}; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

void append_int(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "<process-random prefix>-<counter>": unique within the process and, with high probability,
// across restarts, without a syscall or a lock per request.
void new_request_id(std::string& out) {
  static const uint32_t prefix = std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  const uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  out.clear();  // keeps the capacity of the session's previous id
  fmt::format_to(std::back_inserter(out), "{:08x}-{:010x}", prefix, n);
}

// A client's X-Request-Id is echoed and logged, so only characters that are harmless in a header
// and a log line are kept.
void request_id_from(std::string_view client_id, std::string& id) {
  id.clear();
  for (char c : client_id) {
    if (id.size() == kMaxRequestIdLength) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=') {
      id += c;
    }
  }
}

// A usable client X-Request-Id becomes the request's echoed id and its client_request_id; the
// server's own id stays in server_request_id.
void client_request_id(std::string_view header, Request& req) {
  std::string id;
  request_id_from(header, id);
  if (id.empty()) return;
  req.request_id = id;
  req.client_request_id = std::move(id);
}

// The Date header, formatted at most once per second per thread.
std::string_view date_header() {
  thread_local std::time_t cached_second = -1;
  thread_local std::string date;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    date = jlis::http_date(now);
    cached_second = now;
  }
  return date;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// No CR, LF or NUL: a handler's header value must not be able to inject headers.
bool is_safe_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

Response internal_error_response() {
  return Response::error(internal_error("internal error"));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Request / Response

std::string Request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

namespace {

// The token of an Authorization header's value "Bearer <token>", or "".
std::string bearer_of(std::string_view v) {
  const size_t start = v.find_first_not_of(" \t");
  if (start == std::string_view::npos) return "";
  v.remove_prefix(start);
  if (v.size() < 7 || !iequals(v.substr(0, 6), "bearer") || (v[6] != ' ' && v[6] != '\t')) return "";
  v.remove_prefix(7);
  const size_t first = v.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const size_t last = v.find_last_not_of(" \t");
  return std::string(v.substr(first, last - first + 1));
}

}  // namespace

std::string Request::bearer_token() const {
  auto it = headers.find("authorization");
  return it == headers.end() ? "" : bearer_of(it->second);
}

std::string Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::error(const Status& status) {
  return error(code_http_status(status.code()), code_name(status.code()), status.message());
}

Response Response::error(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body.reserve(48 + message.size());
  r.body += R"({"error":{"code":)";
  append_json_string(r.body, code);
  r.body += R"(,"message":)";
  append_json_string(r.body, message);
  r.body += "}}";
  return r;
}

// ---------------------------------------------------------------------------------------------
// Server::Impl

namespace internal {

// What a session needs from its server. Server::Impl is private to Server, so sessions see this.
struct ServerCore {
  explicit ServerCore(ServerOptions o) : options(std::move(o)), router(metrics) {}

  const ServerOptions options;
  Metrics metrics;
  Router router;  // read-only while running
  // Paths (by prefix) whose requests may carry more than options.max_body_bytes, for the callers
  // `admit` lets (Server::allow_body_bytes); read-only while running.
  struct LargeBodies {
    std::string prefix;
    size_t bytes;
    std::function<bool(const std::string& bearer_token)> admit;
  };
  std::vector<LargeBodies> large_bodies;

  // The body limit of a request for `target` from the holder of `bearer_token`.
  size_t body_limit(std::string_view target, const std::string& bearer_token) const {
    for (const auto& l : large_bodies)
      if (target.starts_with(l.prefix)) return l.admit(bearer_token) ? l.bytes : options.max_body_bytes;
    return options.max_body_bytes;
  }
  // The largest body any request may carry: the parser's limit while the header is read (it checks
  // a Content-Length against it), narrowed to the request's once the header is in.
  size_t largest_body_limit() const {
    size_t most = options.max_body_bytes;
    for (const auto& l : large_bodies) most = std::max(most, l.bytes);
    return most;
  }
  std::unique_ptr<WorkerPool> pool;  // exists while running

  // Replies of deferred routes not yet sent: stop() waits for them before the pool and the
  // sessions' io_context go.
  std::mutex replies_mu;
  std::condition_variable replies_done;
  size_t replies_outstanding = 0;
  void reply_opened() {
    std::lock_guard lock(replies_mu);
    ++replies_outstanding;
  }
  void reply_closed() {
    std::lock_guard lock(replies_mu);
    if (--replies_outstanding == 0) replies_done.notify_all();
  }
  void wait_for_replies() {
    std::unique_lock lock(replies_mu);
    replies_done.wait(lock, [&] { return replies_outstanding == 0; });
  }
};

// The session a Reply answers on (the Session class below).
struct ReplyTarget {
  virtual ~ReplyTarget() = default;
  virtual void reply(Response response) = 0;
};

struct ReplyState {
  ReplyState(std::shared_ptr<ReplyTarget> t, ServerCore& c) : target(std::move(t)), core(c) { core.reply_opened(); }
  ~ReplyState() { answer(internal_error_response()); }
  // The first answer is sent; false for any later one. From a thread that is not a worker (the
  // store's writer), the sending goes to a worker: a send on loopback runs the receiver's side of
  // TCP too, and the writer must not spend its time on that.
  bool answer(Response response) {
    if (sent.exchange(true)) return false;
    auto send = [target = std::move(target), &core = core, response = std::move(response)]() mutable {
      target->reply(std::move(response));
      target.reset();
      core.reply_closed();  // after the sending: stop() stops the pool only when none is left
    };
    if (WorkerPool::on_worker()) {
      send();
    } else {
      core.pool->post(std::move(send));
    }
    return true;
  }

  std::shared_ptr<ReplyTarget> target;
  ServerCore& core;
  std::atomic<bool> sent{false};
};

}  // namespace internal

void Reply::send(Response response) const {
  if (!state_->answer(std::move(response))) spdlog::error("http: a deferred reply was sent twice; the second is dropped");
}

struct Server::Impl : internal::ServerCore {
  explicit Impl(ServerOptions o) : ServerCore(std::move(o)) {}

  Status start();
  void stop();
  void wait();
  void accept();
  void run_io();

  std::mutex sources_mu;
  std::vector<std::function<std::string()>> sources;

  std::mutex life_mu;  // start() / stop(); guards everything below
  bool running = false;
  std::unique_ptr<asio::io_context> ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::vector<std::thread> io_threads;
  std::atomic<uint16_t> port{0};

  // SIGINT and SIGTERM are caught from the first start() on, before the port is announced: a
  // signal that comes before wait() is kept and ends the next wait(), never the process.
  std::mutex wait_mu;  // taken after life_mu, never before
  bool waitable = false;  // true while running: wait() blocks
  asio::io_context signal_context{1};  // run by wait(); stopped by stop()
  std::optional<asio::signal_set> signals;
  bool signal_armed = false;  // an async_wait is pending (guarded by wait_mu)
  std::atomic<int> signalled{0};
};

// ---------------------------------------------------------------------------------------------
// Session: one connection.

namespace {

class Session : public internal::ReplyTarget, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, internal::ServerCore& server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) req_.peer = peer.address().to_string();
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->body_limit(server_.largest_body_limit());
    stream_.expires_after(kReadTimeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return on_request();
    if (!server_.large_bodies.empty()) {
      const auto& head = parser_->get();
      const auto length_of = parser_->content_length();
      // Only a body over the ordinary limit asks who sends it (the admission may read the store).
      const size_t limit = length_of && *length_of <= server_.options.max_body_bytes
                               ? server_.options.max_body_bytes
                               : server_.body_limit(to_sv(head.target()), bearer_of(to_sv(head[bhttp::field::authorization])));
      if (auto length = parser_->content_length(); length && *length > limit)
        return on_read_error(bhttp::error::body_limit);
      parser_->body_limit(limit);  // a chunked body is counted as it comes
    }
    if (iequals(to_sv(parser_->get()[bhttp::field::expect]), "100-continue")) {
      // The client holds the body back until it sees this (curl waits a second otherwise).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->close();
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    // Connection-level failures and a client that closes between or inside requests: nobody to
    // answer.
    if (ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category() ||
        ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
      return close();
    }
    started_ = Clock::now();
    int status = 400;
    const char* code = "invalid_argument";
    const char* message = "malformed HTTP request";
    if (ec == bhttp::error::body_limit) {
      status = 413;
      code = "payload_too_large";
      message = "request body is too large";
    } else if (ec == bhttp::error::header_limit) {
      status = 431;
      code = "headers_too_large";
      message = "request header is too large";
    }
    const bool header_done = parser_->is_header_done();
    req_.method = header_done ? std::string(to_sv(parser_->get().method_string())) : "";
    new_request_id(req_.server_request_id);
    req_.request_id = req_.server_request_id;
    req_.client_request_id.clear();
    if (header_done) client_request_id(to_sv(parser_->get()["X-Request-Id"]), req_);
    spdlog::debug("http: {} answering {} (request {})", ec.message(), status, req_.request_id);
    series_ = server_.metrics.unmatched(req_.method);
    res_ = Response::error(status, code, message);
    keep_alive_ = false;
    linger_ = true;  // the unread rest of the request must be drained before closing
    head_only_ = false;
    respond();
  }

  void on_request() {
    started_ = Clock::now();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    http10_ = msg.version() < 11;
    head_only_ = msg.method() == bhttp::verb::head;
    linger_ = false;

    req_.method.assign(to_sv(msg.method_string()));
    req_.headers.clear();
    for (const auto& field : msg) {
      std::string name(to_sv(field.name_string()));
      for (char& c : name) c = lower(c);
      auto [it, inserted] = req_.headers.try_emplace(std::move(name), to_sv(field.value()));
      if (!inserted) {  // repeated header: RFC 9110 says it is equivalent to a comma list
        it->second += ", ";
        it->second += to_sv(field.value());
      }
    }
    new_request_id(req_.server_request_id);
    req_.request_id = req_.server_request_id;
    req_.client_request_id.clear();
    if (auto id = req_.headers.find("x-request-id"); id != req_.headers.end()) client_request_id(id->second, req_);
    req_.body = std::move(msg.body());
    req_.query.clear();
    req_.path_params.clear();

    std::string_view target = to_sv(msg.target());
    // Absolute-form ("http://host/path") must be accepted by servers too (RFC 9112 3.2.2).
    if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
      const size_t slash = target.find('/', target.find("//") + 2);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    const size_t question = target.find('?');
    std::string_view raw_query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    raw_query = raw_query.substr(0, raw_query.find('#'));
    if (!internal::split_path(target.substr(0, question), segments_) ||
        !internal::parse_query(raw_query, req_.query)) {
      series_ = server_.metrics.unmatched(req_.method);
      res_ = Response::error(invalid_argument("malformed request target"));
      return respond();
    }
    req_.path.clear();
    for (const auto& s : segments_) {
      req_.path += '/';
      req_.path += s;
    }

    auto match = server_.router.match(req_.method, segments_, req_.path_params);
    series_ = match.series;
    switch (match.kind) {
      case internal::Router::Match::kFound:
        route_ = match.route;
        if (route_->fast && run_fast()) return;
        server_.pool->post([self = shared_from_this()] { self->run_handler(); });
        return;
      case internal::Router::Match::kNotFound:
        res_ = Response::error(not_found("no route for this path"));
        return respond();
      case internal::Router::Match::kMethodNotAllowed:
        res_ = Response::error(405, "method_not_allowed", "method not allowed");
        res_.headers.emplace_back("Allow", std::move(match.allow));
        return respond();
    }
  }

  // On the strand: the route's FastHandler; true when it answered (and the answer is on its way).
  bool run_fast() {
    std::optional<Response> answer;
    try {
      answer = route_->fast(req_);
    } catch (const std::exception& e) {
      spdlog::error("http: fast handler {} {} threw: {} (request {})", route_->method, route_->pattern, e.what(),
                    req_.request_id);
      answer = internal_error_response();
    } catch (...) {
      spdlog::error("http: fast handler {} {} threw a non-exception (request {})", route_->method, route_->pattern,
                    req_.request_id);
      answer = internal_error_response();
    }
    if (!answer) return false;
    res_ = std::move(*answer);
    respond();
    return true;
  }

  // From the thread that holds the deferred route's Reply, which owns the session as a worker does.
  void reply(Response response) override {
    res_ = std::move(response);
    respond();
  }

  // On a worker thread, which owns the session until respond() starts the next operation (for a
  // deferred route: until the Reply is sent).
  void run_handler() {
    if (route_->deferred) {
      try {
        route_->deferred(req_, Reply(std::make_shared<internal::ReplyState>(shared_from_this(), server_)));
      } catch (const std::exception& e) {  // the Reply dropped by the unwinding answers 500
        spdlog::error("http: handler {} {} threw: {}", route_->method, route_->pattern, e.what());
      } catch (...) {
        spdlog::error("http: handler {} {} threw a non-exception", route_->method, route_->pattern);
      }
      return;
    }
    try {
      res_ = route_->handler(req_);
    } catch (const std::exception& e) {
      spdlog::error("http: handler {} {} threw: {} (request {})", route_->method, route_->pattern,
                    e.what(), req_.request_id);
      res_ = internal_error_response();
    } catch (...) {
      spdlog::error("http: handler {} {} threw a non-exception (request {})", route_->method,
                    route_->pattern, req_.request_id);
      res_ = internal_error_response();
    }
    respond();
  }

  // Sends res_, on the strand or on the worker that owns the session (see the top of the file).
  void respond() {
    if (res_.status < 200 || res_.status > 999) {
      spdlog::error("http: handler answered invalid status {} (request {})", res_.status,
                    req_.request_id);
      res_ = internal_error_response();
    }
    const auto elapsed = Clock::now() - started_;
    series_->record(res_.status, elapsed);
    spdlog::debug("http: {} {} -> {} in {}us (request {})", req_.method, series_->route(),
                  res_.status,
                  std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(),
                  req_.request_id);

    // The head is formatted by hand into a reused buffer: cheaper than beast's field container,
    // which allocates a node per header.
    const bool no_body = res_.status == 204 || res_.status == 304;
    head_.clear();
    head_ += "HTTP/1.1 ";
    append_int(head_, static_cast<uint64_t>(res_.status));
    head_ += ' ';
    auto reason = to_sv(bhttp::obsolete_reason(static_cast<bhttp::status>(res_.status)));
    if (reason != "<unknown-status>") head_ += reason;
    head_ += "\r\nDate: ";
    head_ += date_header();
    head_ += "\r\nContent-Type: ";
    head_ += is_safe_value(res_.content_type) ? res_.content_type : "application/octet-stream";
    if (!no_body) {
      head_ += "\r\nContent-Length: ";
      append_int(head_, res_.body.size());
    }
    head_ += "\r\nX-Request-Id: ";
    head_ += req_.request_id;
    head_ += "\r\n";
    for (const auto& [name, value] : res_.headers) {
      // Framing and connection headers belong to the server.
      if (!is_token(name) || !is_safe_value(value) || iequals(name, "content-length") ||
          iequals(name, "transfer-encoding") || iequals(name, "connection")) {
        spdlog::warn("http: dropping response header '{}' (request {})", name, req_.request_id);
        continue;
      }
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (!keep_alive_) {
      head_ += "Connection: close\r\n";
    } else if (http10_) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";

    body_size_ = no_body || head_only_ ? 0 : res_.body.size();
    beast::error_code ec;
    const size_t n = stream_.socket().write_some(buffers_from(0), ec);  // never blocks
    if (ec && ec != asio::error::would_block) return close();
    if (!ec && n == head_.size() + body_size_) return after_write();
    // The socket buffer is full (a large body or a slow reader): finish on the strand.
    written_ = ec ? 0 : n;
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->write_rest(); });
  }

  // The unsent part of head_ + body, from byte `offset`.
  std::array<asio::const_buffer, 2> buffers_from(size_t offset) const {
    std::array<asio::const_buffer, 2> b = {asio::buffer(head_),
                                           asio::buffer(res_.body.data(), body_size_)};
    if (offset < head_.size()) {
      b[0] += offset;
    } else {
      b[1] += offset - head_.size();
      b[0] = asio::const_buffer();
    }
    return b;
  }

  void write_rest() {
    stream_.expires_after(kWriteTimeout);
    asio::async_write(stream_, buffers_from(written_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->after_write();
                      });
  }

  void after_write() {
    if (keep_alive_) return read_header();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!linger_) return close();
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxLingerBytes) return self->close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  internal::ServerCore& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::vector<std::string> segments_;
  Request req_;
  Response res_;
  std::string head_;
  const internal::Router::Route* route_ = nullptr;
  internal::Series* series_ = nullptr;
  Clock::time_point started_;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_only_ = false;
  bool linger_ = false;
  size_t body_size_ = 0;  // bytes of res_.body to send (0 for HEAD, 204, 304)
  size_t written_ = 0;    // bytes of head_ + body already sent by the non-blocking write
  size_t drained_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lifecycle

Status Server::Impl::start() {
  std::lock_guard lock(life_mu);
  if (running) return internal_error("the HTTP server is already running");

  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int n_io = options.io_threads > 0 ? options.io_threads : cores;
  const int n_workers = options.worker_threads > 0 ? options.worker_threads : 4 * cores;

  auto context = std::make_unique<asio::io_context>(n_io);
  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {  // a host name such as "localhost"
    tcp::resolver resolver(*context);
    auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
    if (ec || results.empty()) {
      return invalid_argument(fmt::format("cannot resolve listen address '{}'", options.host));
    }
    endpoint = results.begin()->endpoint();
  }

  auto listener = std::make_unique<tcp::acceptor>(*context);
  const char* step = "open";
  if (!listener->open(endpoint.protocol(), ec)) {
    // Rebinding a port whose old connections are in TIME_WAIT must work after a restart; a port
    // with a live listener still fails to bind.
    step = "set SO_REUSEADDR on";
    if (!listener->set_option(asio::socket_base::reuse_address(true), ec)) {
      step = "bind";
      if (!listener->bind(endpoint, ec)) {
        step = "listen on";
        listener->listen(asio::socket_base::max_listen_connections, ec);
      }
    }
  }
  if (ec) {
    return unavailable(fmt::format("cannot {} {}:{}: {}", step, options.host, options.port,
                                   ec.message()));
  }
  port = listener->local_endpoint(ec).port();

  ioc = std::move(context);
  acceptor = std::move(listener);
  accept_retry = std::make_unique<asio::steady_timer>(*ioc);
  pool = std::make_unique<internal::WorkerPool>(n_workers);
  work.emplace(ioc->get_executor());
  accept();
  for (int i = 0; i < n_io; ++i) io_threads.emplace_back([this] { run_io(); });
  running = true;
  {
    std::lock_guard wait_lock(wait_mu);
    waitable = true;
    signal_context.restart();
    if (!signals) signals.emplace(signal_context, SIGINT, SIGTERM);
    if (!signal_armed) {
      signal_armed = true;
      signals->async_wait([this](beast::error_code ec, int signal) {
        std::lock_guard lock(wait_mu);
        signal_armed = false;
        if (!ec) signalled = signal;
      });
    }
  }
  spdlog::info("http: listening on {}:{} ({} io threads, {} workers)", options.host, port.load(),
               n_io, n_workers);
  return Status::ok();
}

void Server::Impl::run_io() {
  for (;;) {
    try {
      ioc->run();
      return;
    } catch (const std::exception& e) {  // a bug in a completion handler; keep serving
      spdlog::error("http: io thread caught: {}", e.what());
    }
  }
}

void Server::Impl::accept() {
  acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Typically EMFILE: retrying at once would spin, so back off a little.
      spdlog::warn("http: accept failed: {}", ec.message());
      accept_retry->expires_after(std::chrono::milliseconds(100));
      accept_retry->async_wait([this](beast::error_code ec) {
        if (!ec) accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    socket.non_blocking(true, ec);  // for the worker's write_some, which must never block
    std::make_shared<Session>(std::move(socket), *this)->start();
    accept();
  });
}

void Server::Impl::stop() {
  std::lock_guard lock(life_mu);
  {
    std::lock_guard wait_lock(wait_mu);
    waitable = false;
    signal_context.stop();
  }
  if (!running) return;
  running = false;
  work.reset();
  ioc->stop();
  for (auto& t : io_threads) t.join();
  io_threads.clear();
  wait_for_replies();  // they post to the pool, and their sessions need the io_context
  pool->stop();
  pool.reset();
  accept_retry.reset();
  acceptor.reset();
  ioc.reset();
  spdlog::info("http: stopped");
}

void Server::Impl::wait() {
  {
    std::lock_guard lock(wait_mu);
    if (!waitable) return;
  }
  signal_context.run();  // until a signal (kept since start()), or until stop() stops the context
  if (const int signal = signalled.exchange(0); signal != 0) {
    spdlog::info("http: signal {} received, stopping", signal);
    stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  route("GET", "/healthz", [impl = impl_.get()](const Request&) {
    const ServerOptions& o = impl->options;
    const std::string simulation = o.simulation ? "true" : "false";
    if (o.centre.empty()) return Response::json(200, R"({"status":"ok","simulation":)" + simulation + "}");
    // The centre's name is [a-z0-9-] (store::record_centre) and the role a fixed word: no escaping.
    Result<std::string> role = o.store_role ? o.store_role() : Result<std::string>(std::string("unknown"));
    if (!role.ok()) {
      spdlog::warn("healthz: the store of centre {} does not answer: {}", o.centre, role.status().message());
      return Response::json(503, R"({"status":"unavailable","simulation":)" + simulation + R"(,"centre":")" +
                                     o.centre + R"(","store_role":"unreachable"})");
    }
    return Response::json(200, R"({"status":"ok","simulation":)" + simulation + R"(,"centre":")" + o.centre +
                                   R"(","store_role":")" + *role + R"("})");
  });
  route("GET", "/metrics", [this](const Request&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_text();
    return r;
  });
}

std::string Server::metrics_text() const {
  std::string text;
  impl_->metrics.render(text);
  std::lock_guard lock(impl_->sources_mu);
  for (const auto& source : impl_->sources) {
    text += source();
    if (!text.empty() && text.back() != '\n') text += '\n';
  }
  return text;
}

Server::~Server() { stop(); }

void Server::route(std::string method, std::string pattern, Handler handler) {
  route(std::move(method), std::move(pattern), std::move(handler), {});
}

void Server::route(std::string method, std::string pattern, Handler handler, FastHandler fast) {
  std::lock_guard lock(impl_->life_mu);
  if (impl_->running) {  // matching reads the routes without a lock
    spdlog::error("http: route {} {} added while running; ignored", method, pattern);
    return;
  }
  impl_->router.add(std::move(method), pattern, std::move(handler), {}, std::move(fast));
}

void Server::allow_body_bytes(std::string path_prefix, size_t max_bytes,
                              std::function<bool(const std::string& bearer_token)> admit) {
  std::lock_guard lock(impl_->life_mu);
  if (impl_->running) {
    spdlog::error("http: body limit for {} set while running; ignored", path_prefix);
    return;
  }
  impl_->large_bodies.push_back({std::move(path_prefix), max_bytes, std::move(admit)});
}

void Server::route_deferred(std::string method, std::string pattern, DeferredHandler handler) {
  std::lock_guard lock(impl_->life_mu);
  if (impl_->running) {
    spdlog::error("http: route {} {} added while running; ignored", method, pattern);
    return;
  }
  impl_->router.add(std::move(method), pattern, {}, std::move(handler));
}

void Server::add_metrics_source(std::function<std::string()> source) {
  std::lock_guard lock(impl_->sources_mu);
  impl_->sources.push_back(std::move(source));
}

std::vector<RouteEntry> Server::routes() const {
  std::lock_guard lock(impl_->life_mu);
  return impl_->router.routes();
}

Status Server::start() { return impl_->start(); }
uint16_t Server::port() const { return impl_->port.load(); }
void Server::stop() { impl_->stop(); }
void Server::wait() { impl_->wait(); }

Result<std::pair<std::string, uint16_t>> parse_listen(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid_argument("--listen must be HOST:PORT");
  const std::string_view digits = listen.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoi(std::string(digits)) > 65535)
    return invalid_argument("--listen has an invalid port");
  return std::pair{std::string(listen.substr(0, colon)), static_cast<uint16_t>(std::stoi(std::string(digits)))};
}

}  // namespace jlis::http
