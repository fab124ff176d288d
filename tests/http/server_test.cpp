#include "http/server.h"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "client.h"
#include "http/router.h"

namespace jlis::http {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::Reply;
using testing::bhttp::verb;
using Clock = std::chrono::steady_clock;

std::string header(const Reply& r, std::string_view name) {
  auto it = r.find(boost::beast::string_view(name.data(), name.size()));
  return it == r.end() ? "" : std::string(it->value());
}

ServerOptions small_options() {
  ServerOptions o;
  o.port = 0;
  o.io_threads = 2;
  o.worker_threads = 4;
  return o;
}

// A server with the routes the tests use, started on an ephemeral port.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { add_routes(server_); }

  void start() { ASSERT_TRUE(server_.start().is_ok()); }

  static void add_routes(Server& s) {
    s.route("GET", "/v1/residents/{code}", [](const Request& r) {
      return Response::json(200, "{\"code\":\"" + r.path_params.at("code") + "\"}");
    });
    s.route("GET", "/v1/residents/search", [](const Request&) {
      return Response::json(200, R"({"search":true})");
    });
    s.route("GET", "/v1/residents/{code}/history/{n}", [](const Request& r) {
      return Response::json(200, r.path_params.at("code") + "," + r.path_params.at("n"));
    });
    s.route("PUT", "/v1/residents/{code}", [](const Request& r) {
      return Response::json(201, "put " + r.path_params.at("code") + " " + r.body);
    });
    s.route("GET", "/files/{name}", [](const Request& r) {
      Response res = Response::json(200, r.path_params.at("name"));
      res.content_type = "text/plain";
      res.headers.emplace_back("X-Path", r.path);
      return res;
    });
    s.route("GET", "/query", [](const Request& r) {
      std::string out;
      for (const auto& [k, v] : r.query) out += "[" + k + "=" + v + "]";
      return Response::json(200, out);
    });
    s.route("POST", "/echo", [](const Request& r) { return Response::json(200, r.body); });
    s.route("GET", "/echo/{v}", [](const Request& r) {
      return Response::json(200, r.path_params.at("v"));
    });
    s.route("GET", "/whoami", [](const Request& r) {
      return Response::json(200, r.bearer_token() + "|" + r.header("x-custom") + "|" +
                                     r.request_id);
    });
    s.route("GET", "/throw", [](const Request&) -> Response {
      throw std::runtime_error("secret detail 123456789012");
    });
    s.route("GET", "/slow", [](const Request&) {
      std::this_thread::sleep_for(500ms);
      return Response::json(200, R"({"slow":true})");
    });
    s.route("GET", "/fail", [](const Request&) {
      return Response::error(conflict("record changed \"meanwhile\""));
    });
  }

  Server server_{small_options()};
};

TEST(PercentDecode, DecodesAndRejectsMalformed) {
  using internal::percent_decode;
  EXPECT_EQ(percent_decode("a%20b+c", false), "a b+c");
  EXPECT_EQ(percent_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(percent_decode("%E5%B1%B1%e7%94%b0", true), "山田");
  EXPECT_EQ(percent_decode("%zz", true), std::nullopt);
  EXPECT_EQ(percent_decode("%4", true), std::nullopt);
  EXPECT_EQ(percent_decode("abc%", true), std::nullopt);
}

TEST(ParseQuery, LastWinsAndEmptyValues) {
  std::map<std::string, std::string> q;
  ASSERT_TRUE(internal::parse_query("a=1&b=x+y&a=2&flag&&=ignored&c=%26%3D", q));
  EXPECT_EQ(q, (std::map<std::string, std::string>{
                   {"a", "2"}, {"b", "x y"}, {"flag", ""}, {"c", "&="}}));
  EXPECT_FALSE(internal::parse_query("a=%G1", q));
}

TEST_F(ServerTest, RoutesWithParameters) {
  start();
  Client c(server_.port());
  auto r = c.get("/v1/residents/123");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), R"({"code":"123"})");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(header(r, "X-Request-Id").empty());

  // A literal segment beats a parameter, regardless of registration order.
  EXPECT_EQ(c.get("/v1/residents/search").body(), R"({"search":true})");
  EXPECT_EQ(c.get("/v1/residents/7/history/2").body(), "7,2");

  r = c.request(verb::put, "/v1/residents/9", "data");
  EXPECT_EQ(r.result_int(), 201);
  EXPECT_EQ(r.body(), "put 9 data");
}

TEST_F(ServerTest, UnknownPathIs404Json) {
  start();
  Client c(server_.port());
  for (std::string path : {"/nope", "/v1/residents", "/v1/residents/1/", "/"}) {
    auto r = c.get(path);
    EXPECT_EQ(r.result_int(), 404) << path;
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_NE(r.body().find(R"("code":"not_found")"), std::string::npos) << r.body();
    EXPECT_FALSE(header(r, "X-Request-Id").empty());
  }
}

TEST_F(ServerTest, OtherMethodIs405WithAllow) {
  start();
  Client c(server_.port());
  auto r = c.request(verb::delete_, "/v1/residents/5");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(header(r, "Allow"), "GET, PUT");
  // 405 has its own error code (docs/openapi.yaml, Error), not the 400 code.
  EXPECT_EQ(r.body(), R"({"error":{"code":"method_not_allowed","message":"method not allowed"}})");
  r = c.request(verb::post, "/healthz");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(header(r, "Allow"), "GET");
  // The connection is still usable after error answers.
  EXPECT_EQ(c.get("/healthz").result_int(), 200);
}

TEST_F(ServerTest, QueryAndPathAreDecoded) {
  start();
  Client c(server_.port());
  EXPECT_EQ(c.get("/query?name=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E&x=1&x=2&flag").body(),
            "[flag=][name=山田 太郎][x=2]");
  EXPECT_EQ(c.get("/query").body(), "");
  auto r = c.get("/files/a%20b+c%2Fd?ignored=1");
  EXPECT_EQ(r.body(), "a b+c/d");  // '+' is literal in a path; %2F stays inside its segment
  EXPECT_EQ(header(r, "X-Path"), "/files/a b+c/d");
  EXPECT_EQ(header(r, "Content-Type"), "text/plain");
  EXPECT_EQ(c.get("/files/%E5%B1%B1").body(), "山");
  EXPECT_EQ(c.get("/files/%zz").result_int(), 400);
  EXPECT_EQ(c.get("/query?a=%4").result_int(), 400);
  // Absolute-form target.
  EXPECT_EQ(c.get("http://127.0.0.1/files/abs?q=1").body(), "abs");
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  Client c(server_.port());
  for (int i = 0; i < 100; ++i) {
    auto r = c.get("/echo/" + std::to_string(i));
    ASSERT_EQ(r.result_int(), 200);
    ASSERT_EQ(r.body(), std::to_string(i));
    ASSERT_TRUE(r.keep_alive());
  }
  auto r = c.request(verb::post, "/echo", std::string(5000, 'x'));
  EXPECT_EQ(r.body().size(), 5000u);
}

TEST_F(ServerTest, ConcurrentClientsAllAnsweredCorrectly) {
  start();
  constexpr int kThreads = 8;
  constexpr int kRequests = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client c(server_.port());
      for (int i = 0; i < kRequests; ++i) {
        const std::string v = std::to_string(t) + "-" + std::to_string(i);
        auto r = (i % 2 == 0) ? c.get("/echo/" + v) : c.request(verb::post, "/echo", v);
        if (r.result_int() == 200 && r.body() == v) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRequests);
}

// Rule: a handler that blocks does not stall other connections: while one handler is held inside
// its call (a count of in-flight handlers proves it), 20 requests on another connection are all
// answered; the held request is answered once released. No elapsed-time bound: the waits below
// only guard against a hang.
TEST(ServerConcurrency, BlockingHandlerDoesNotStallOtherConnections) {
  Server s(small_options());
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;  // handlers of /block inside their call
  bool release = false;
  s.route("GET", "/block", [&](const Request&) {
    std::unique_lock lock(mu);
    ++in_flight;
    cv.notify_all();
    cv.wait_for(lock, 60s, [&] { return release; });
    --in_flight;
    return Response::json(200, R"({"released":true})");
  });
  ASSERT_TRUE(s.start().is_ok());
  auto blocked = std::async(std::launch::async, [&] { return Client(s.port()).get("/block"); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return in_flight == 1; })) << "the handler never started";
  }
  auto others = std::async(std::launch::async, [&] {
    Client c(s.port());
    int ok = 0;
    for (int i = 0; i < 20; ++i) ok += c.get("/healthz").result_int() == 200;
    return ok;
  });
  const bool answered = others.wait_for(30s) == std::future_status::ready;
  int still_blocked;
  {
    std::lock_guard lock(mu);
    still_blocked = in_flight;
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(answered) << "requests on another connection waited for the blocked handler";
  EXPECT_EQ(others.get(), 20);
  EXPECT_EQ(still_blocked, 1);  // the 20 answers overlapped the blocked handler
  auto r = blocked.get();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), R"({"released":true})");
}

TEST_F(ServerTest, HandlerErrorStatusBecomesJson) {
  start();
  Client c(server_.port());
  auto r = c.get("/fail");
  EXPECT_EQ(r.result_int(), 409);
  EXPECT_EQ(r.body(), R"({"error":{"code":"conflict","message":"record changed \"meanwhile\""}})");
}

TEST_F(ServerTest, ThrowingHandlerAnswers500WithoutDetails) {
  start();
  Client c(server_.port());
  auto r = c.get("/throw");
  EXPECT_EQ(r.result_int(), 500);
  EXPECT_EQ(r.body(), R"({"error":{"code":"internal","message":"internal error"}})");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(header(r, "X-Request-Id").empty());
  EXPECT_EQ(c.get("/healthz").result_int(), 200);  // the connection survives
}

TEST(ServerLimits, BodyOverLimitIs413AndCloses) {
  ServerOptions o = small_options();
  o.max_body_bytes = 1024;
  Server s(o);
  s.route("POST", "/echo", [](const Request& r) { return Response::json(200, r.body); });
  ASSERT_TRUE(s.start().is_ok());
  {
    Client c(s.port());
    EXPECT_EQ(c.request(verb::post, "/echo", std::string(1024, 'a')).result_int(), 200);
    auto r = c.request(verb::post, "/echo", std::string(200000, 'b'));
    EXPECT_EQ(r.result_int(), 413);
    // 413 has its own error code (docs/openapi.yaml, Error), not the 400 code.
    EXPECT_EQ(r.body(), R"({"error":{"code":"payload_too_large","message":"request body is too large"}})");
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(c.server_closed());
  }
  {
    // Chunked bodies have no Content-Length; the limit applies while reading.
    Client c(s.port());
    c.send_raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string chunk(600, 'c');
    for (int i = 0; i < 2; ++i) c.send_raw("258\r\n" + chunk + "\r\n");
    c.send_raw("0\r\n\r\n");
    EXPECT_EQ(c.read().result_int(), 413);
  }
  {
    // Expect: 100-continue gets the interim answer before the body is sent.
    Client c(s.port());
    c.send_raw(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(c.read_until("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
    c.send_raw("hello");
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), "hello");
  }
}

TEST_F(ServerTest, HeaderOverLimitIs431WithItsOwnCode) {
  start();
  Client c(server_.port());
  // Beast's parser allows 8 KiB of header; 16 KiB in one field is over it.
  c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'h') + "\r\n\r\n");
  auto r = c.read();
  EXPECT_EQ(r.result_int(), 431);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  EXPECT_EQ(r.body(), R"({"error":{"code":"headers_too_large","message":"request header is too large"}})");
}

TEST_F(ServerTest, MalformedRequestIs400AndCloses) {
  start();
  for (std::string raw : {std::string("GARBAGE\r\n\r\n"),
                          std::string("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"),
                          std::string("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"),
                          std::string("POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n")}) {
    Client c(server_.port());
    c.send_raw(raw);
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 400) << raw;
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_EQ(r.body(), R"({"error":{"code":"invalid_argument","message":"malformed HTTP request"}})");
    EXPECT_FALSE(header(r, "X-Request-Id").empty());
    EXPECT_TRUE(c.server_closed()) << raw;
  }
  // The server keeps serving others.
  Client c(server_.port());
  EXPECT_EQ(c.get("/healthz").result_int(), 200);
}

TEST_F(ServerTest, Healthz) {
  start();
  Client c(server_.port());
  auto r = c.get("/healthz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), R"({"status":"ok","simulation":false})");
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
}

// Two centres: /healthz names the centre and the role of the store its reads use, asked on each
// call; a store that does not answer makes the centre unhealthy (503), so a load balancer skips it.
TEST(ServerHealth, HealthzNamesTheCentreAndTheStoreRoleAndIs503WhenTheStoreDoesNotAnswer) {
  std::atomic<bool> reachable{true};
  ServerOptions o = small_options();
  o.centre = "east";
  o.store_role = [&]() -> Result<std::string> {
    if (!reachable) return unavailable("connection refused");
    return std::string("standby");
  };
  Server server(o);
  ASSERT_TRUE(server.start().is_ok());
  Client c(server.port());
  auto r = c.get("/healthz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), R"({"status":"ok","simulation":false,"centre":"east","store_role":"standby"})");
  reachable = false;
  r = c.get("/healthz");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r.body(), R"({"status":"unavailable","simulation":false,"centre":"east","store_role":"unreachable"})");
}

TEST_F(ServerTest, MetricsCountRequestsByPattern) {
  server_.add_metrics_source([] { return "jlis_store_commits_total 42"; });
  start();
  Client c(server_.port());
  for (int i = 0; i < 3; ++i) c.get("/v1/residents/" + std::to_string(i));
  c.get("/no/such/path");
  c.request(verb::delete_, "/v1/residents/1");
  c.get("/throw");
  auto r = c.get("/metrics");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(header(r, "Content-Type"), "text/plain; version=0.0.4");
  const std::string& text = r.body();
  auto has = [&](const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has(R"(jlis_http_requests_total{route="/v1/residents/{code}",method="GET",status="200"} 3)")) << text;
  EXPECT_TRUE(has(R"(jlis_http_requests_total{route="unmatched",method="GET",status="404"} 1)")) << text;
  EXPECT_TRUE(has(R"(jlis_http_requests_total{route="/v1/residents/{code}",method="DELETE",status="405"} 1)")) << text;
  EXPECT_TRUE(has(R"(jlis_http_requests_total{route="/throw",method="GET",status="500"} 1)")) << text;
  EXPECT_TRUE(has(R"(jlis_http_request_duration_seconds_count{route="/v1/residents/{code}",method="GET"} 3)")) << text;
  EXPECT_TRUE(has(R"(jlis_http_request_duration_seconds_bucket{route="/v1/residents/{code}",method="GET",le="+Inf"} 3)")) << text;
  EXPECT_TRUE(has("# TYPE jlis_http_request_duration_seconds histogram"));
  EXPECT_TRUE(has("jlis_store_commits_total 42"));
  EXPECT_EQ(text.find("/v1/residents/1\""), std::string::npos);  // concrete paths never labels

  // The scrape itself is counted for the next one.
  r = c.get("/metrics");
  EXPECT_TRUE(r.body().find(R"(jlis_http_requests_total{route="/metrics",method="GET",status="200"} 1)") !=
              std::string::npos);
}

TEST_F(ServerTest, RequestIdIsUniqueOrEchoedSanitized) {
  start();
  Client c(server_.port());
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(header(c.get("/healthz"), "X-Request-Id"));
  EXPECT_EQ(ids.size(), 50u);

  auto r = c.get("/whoami", {{"X-Request-Id", "abc-123<script>\"x\""}});
  EXPECT_EQ(header(r, "X-Request-Id"), "abc-123scriptx");
  EXPECT_EQ(r.body(), "||abc-123scriptx");
  r = c.get("/whoami", {{"X-Request-Id", "<<>>"}});  // nothing left: a fresh id
  EXPECT_FALSE(header(r, "X-Request-Id").empty());
  EXPECT_EQ(header(c.get("/whoami", {{"X-Request-Id", std::string(500, 'a')}}), "X-Request-Id"),
            std::string(128, 'a'));
}

TEST_F(ServerTest, HeadersAndBearerToken) {
  start();
  Client c(server_.port());
  auto body = [&](testing::Headers h) {
    std::string b = c.get("/whoami", h).body();
    return b.substr(0, b.rfind('|'));
  };
  EXPECT_EQ(body({{"Authorization", "Bearer tok-1"}, {"X-Custom", "v"}}), "tok-1|v");
  EXPECT_EQ(body({{"Authorization", "bEaReR   tok-2  "}}), "tok-2|");
  EXPECT_EQ(body({{"Authorization", "Basic dXNlcjpwYXNz"}}), "|");
  EXPECT_EQ(body({{"Authorization", "Bearer"}}), "|");
  EXPECT_EQ(body({}), "|");
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAlive) {
  start();
  {
    Client c(server_.port());
    auto r = c.request(verb::get, "/healthz", "", {}, 10);
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(header(r, "Connection"), "close");
    EXPECT_TRUE(c.server_closed());
  }
  {
    Client c(server_.port());
    auto r = c.request(verb::get, "/healthz", "", {{"Connection", "keep-alive"}}, 10);
    EXPECT_EQ(header(r, "Connection"), "keep-alive");
    EXPECT_EQ(c.request(verb::get, "/healthz", "", {{"Connection", "close"}}).result_int(), 200);
    EXPECT_TRUE(c.server_closed());
  }
}

TEST(ServerLifecycle, PortInUseFails) {
  Server a(small_options());
  ASSERT_TRUE(a.start().is_ok());
  ASSERT_NE(a.port(), 0);
  ServerOptions o = small_options();
  o.port = a.port();
  Server b(o);
  Status st = b.start();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("bind"), std::string::npos) << st.to_string();
  b.stop();  // stopping a server that never started is harmless
  Client c(a.port());
  EXPECT_EQ(c.get("/healthz").result_int(), 200);
}

TEST(ServerLifecycle, BadAddressFails) {
  ServerOptions o = small_options();
  o.host = "256.1.1.1.invalid";
  Server s(o);
  EXPECT_FALSE(s.start().is_ok());
}

TEST(ServerLifecycle, StartTwiceFails) {
  Server s(small_options());
  ASSERT_TRUE(s.start().is_ok());
  EXPECT_FALSE(s.start().is_ok());
}

TEST(ServerLifecycle, StartStopRepeatedly) {
  Server s(small_options());
  s.route("GET", "/slow", [](const Request&) {
    std::this_thread::sleep_for(100ms);
    return Response::json(200, "{}");
  });
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(s.start().is_ok()) << i;
    Client idle(s.port());  // an idle keep-alive connection must not hold stop() up
    EXPECT_EQ(idle.get("/healthz").result_int(), 200);
    // A request in flight in a blocking handler while stopping.
    std::thread busy([port = s.port()] {
      try {
        Client c(port);
        c.get("/slow");
      } catch (const std::exception&) {
        // the server may close the connection without answering
      }
    });
    std::this_thread::sleep_for(20ms);
    s.stop();
    s.stop();
    busy.join();
    EXPECT_TRUE(idle.server_closed());
  }
}

TEST(ServerLifecycle, WaitReturnsOnStop) {
  Server s(small_options());
  s.wait();  // not running: returns at once
  ASSERT_TRUE(s.start().is_ok());
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    s.wait();
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());
  s.stop();
  waiter.join();
  EXPECT_TRUE(returned.load());
}

TEST(ServerLifecycle, WaitStopsOnSigterm) {
  // In a child process: the signal must not reach the test runner. The parent sends SIGTERM as
  // soon as it has the port, which may be before the child reaches wait(): that must not kill it.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    Server s(small_options());
    if (!s.start().is_ok()) _exit(2);
    const uint16_t port = s.port();
    if (write(fds[1], &port, sizeof port) != sizeof port) _exit(3);
    s.wait();
    _exit(0);
  }
  close(fds[1]);
  uint16_t port = 0;
  ASSERT_EQ(read(fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  close(fds[0]);
  {
    Client c(port);
    EXPECT_EQ(c.get("/healthz").result_int(), 200);
  }
  kill(pid, SIGTERM);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 500 && (done = waitpid(pid, &status, WNOHANG)) == 0; ++i) std::this_thread::sleep_for(10ms);
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  ASSERT_EQ(done, pid) << "wait() did not return on SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServerLifecycle, ASigtermBeforeWaitIsKeptAndEndsWaitNotTheProcess) {
  // The window the serve command has between announcing its port and calling wait().
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Server s(small_options());
    if (!s.start().is_ok()) _exit(2);
    kill(getpid(), SIGTERM);
    std::this_thread::sleep_for(50ms);  // the signal has been delivered before wait()
    s.wait();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ServerLifecycle, RouteOverridesBuiltin) {
  Server s(small_options());
  s.route("GET", "/healthz", [](const Request&) { return Response::json(200, R"({"db":"ok"})"); });
  ASSERT_TRUE(s.start().is_ok());
  Client c(s.port());
  EXPECT_EQ(c.get("/healthz").body(), R"({"db":"ok"})");
}

// Rule (deferred routes): the answer leaves when the Reply is sent, from whichever thread holds it;
// the connection then serves its next request; a Reply dropped unsent answers 500; a second send
// is ignored; stop() waits for a Reply still held.
// A FastHandler answers on the I/O thread: with the one worker blocked, its answer still leaves;
// one that passes (nullopt) leaves the request to the handler on a worker, so it waits for one;
// one that throws answers 500.
TEST(ServerFast, AFastAnswerNeedsNoWorkerAndAPassedOneWaitsForTheHandler) {
  ServerOptions o = small_options();
  o.worker_threads = 1;
  Server s(o);
  std::mutex mu;
  std::condition_variable cv;
  bool blocking = false, release = false;
  s.route("GET", "/block", [&](const Request&) {
    std::unique_lock lock(mu);
    blocking = true;
    cv.notify_all();
    cv.wait_for(lock, 60s, [&] { return release; });
    return Response::json(200, "released");
  });
  s.route(
      "GET", "/fast/{v}", [](const Request&) { return Response::json(200, "from the handler"); },
      [](const Request& r) -> std::optional<Response> {
        const std::string& v = r.path_params.at("v");
        if (v == "throw") throw std::runtime_error("secret detail");
        if (v == "pass") return std::nullopt;
        return Response::json(200, "fast " + v);
      });
  ASSERT_TRUE(s.start().is_ok());
  auto blocked = std::async(std::launch::async, [&] { return Client(s.port()).get("/block"); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return blocking; })) << "the handler never started";
  }
  Client c(s.port());
  auto fast = std::async(std::launch::async, [&] { return c.get("/fast/ready"); });
  const bool answered = fast.wait_for(30s) == std::future_status::ready;
  auto passed = std::async(std::launch::async, [&] { return Client(s.port()).get("/fast/pass"); });
  const bool passed_early = passed.wait_for(300ms) == std::future_status::ready;
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(answered) << "the fast answer waited for the blocked worker";
  EXPECT_EQ(fast.get().body(), "fast ready");
  EXPECT_FALSE(passed_early) << "a passed request was answered without the (blocked) worker";
  EXPECT_EQ(passed.get().body(), "from the handler");
  EXPECT_EQ(blocked.get().body(), "released");
  auto thrown = c.get("/fast/throw");
  EXPECT_EQ(thrown.result_int(), 500);
  EXPECT_EQ(thrown.body().find("secret"), std::string::npos);
}

TEST(ServerDeferred, TheAnswerLeavesWhenTheReplyIsSentFromAnotherThread) {
  Server s(small_options());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<http::Reply> held;
  s.route_deferred("GET", "/later/{v}", [&](const Request& r, http::Reply reply) {
    const std::string v = r.path_params.at("v");
    if (v == "drop") return;  // dropped unsent
    if (v == "twice") {
      reply.send(Response::json(200, "first"));
      reply.send(Response::json(200, "second"));
      return;
    }
    std::lock_guard lock(mu);
    held.push_back(reply);
    cv.notify_all();
  });
  ASSERT_TRUE(s.start().is_ok());
  Client c(s.port());
  EXPECT_EQ(c.get("/later/drop").result_int(), 500);
  EXPECT_EQ(c.get("/later/twice").body(), "first");

  auto later = std::async(std::launch::async, [&] { return Client(s.port()).get("/later/x"); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return held.size() == 1; }));
  }
  EXPECT_EQ(later.wait_for(200ms), std::future_status::timeout);  // nothing leaves before send()
  std::thread([&] { held[0].send(Response::json(201, "sent from elsewhere")); }).join();
  auto r = later.get();
  EXPECT_EQ(r.result_int(), 201);
  EXPECT_EQ(r.body(), "sent from elsewhere");

  // A Reply outstanding at stop(): stop() returns only after it was sent, and the client has it.
  Client kept(s.port());
  auto pending = std::async(std::launch::async, [&] { return kept.get("/later/y"); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return held.size() == 2; }));
  }
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s.stop();
    stopped = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(stopped.load());  // waiting for the Reply
  held[1].send(Response::json(200, "last"));
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_EQ(pending.get().body(), "last");
  held.clear();
}

}  // namespace
}  // namespace jlis::http
