// The small HTTP client (http/client.h) against the in-process server and a listener that never
// answers: answers of any status are answers, failures and deadlines are `unavailable`, bad URLs
// `invalid_argument`.
#include "http/client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/server.h"

namespace jlis::http {
namespace {

TEST(HttpClient, ReadsAnAnswerOfAnyStatusWithItsHeaders) {
  Server server({});
  server.route("POST", "/echo/{word}", [](const Request& req) {
    Response r = Response::json(req.path_params.at("word") == "teapot" ? 418 : 200, req.body);
    r.headers = {{"X-Word", req.path_params.at("word")}, {"X-Auth", req.bearer_token()}};
    return r;
  });
  ASSERT_TRUE(server.start().is_ok());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  ClientRequest req;
  req.method = "POST";
  req.url = base + "/echo/hello";
  req.body = R"({"a":1})";
  req.headers = {{"Authorization", "Bearer t0ken"}};
  auto r = fetch(req);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"a":1})");
  EXPECT_EQ(r->header("x-word"), "hello");
  EXPECT_EQ(r->header("x-auth"), "t0ken");
  EXPECT_EQ(r->content_type.rfind("application/json", 0), 0u);
  req.url = base + "/echo/teapot";
  auto teapot = fetch(req);
  ASSERT_TRUE(teapot.ok());
  EXPECT_EQ(teapot->status, 418);
}

TEST(HttpClient, ASilentServerIsADeadlineNotAHang) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor listener(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  // Listening, never accepting: the connection completes in the kernel's backlog, no answer comes.
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(listener.local_endpoint().port()) + "/";
  req.timeout = std::chrono::milliseconds(200);
  auto r = fetch(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
}

TEST(HttpClient, BadUrlsAndClosedPortsAreErrors) {
  for (const char* url : {"https://127.0.0.1/", "127.0.0.1:80/", "http://:80/", "http://host:port/", "http://h:123456/"}) {
    ClientRequest req;
    req.url = url;
    auto r = fetch(req);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << url << ": " << r.status().message();
  }
  ClientRequest closed;
  closed.url = "http://127.0.0.1:1/";
  auto r = fetch(closed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::unavailable);
}

}  // namespace
}  // namespace jlis::http
