// Rest parameters ({name...}): the matcher directly, then through a running server.
#include <gtest/gtest.h>

#include "client.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"

namespace jlis::http {
namespace {

using testing::Client;

Handler answer(std::string text) {
  return [text](const Request& r) {
    std::string out = text;
    for (const auto& [k, v] : r.path_params) out += "|" + k + "=" + v;
    Response res = Response::json(200, out);
    res.content_type = "text/plain";
    return res;
  };
}

class RestParamRouter : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/ocsp/{request...}", answer("rest"));
    router_.add("GET", "/ocsp/status", answer("literal"));
    router_.add("GET", "/ocsp/{a}/{b}", answer("two"));
    router_.add("GET", "/files/{dir}/{rest...}", answer("dir-rest"));
    router_.add("POST", "/ocsp", answer("post"));
  }

  // The route text of the match plus its parameters, or "404" / "405".
  std::string route(std::string_view method, std::string_view path) {
    std::vector<std::string> segments;
    EXPECT_TRUE(internal::split_path(path, segments));
    std::map<std::string, std::string> params;
    auto m = router_.match(method, segments, params);
    if (m.kind == internal::Router::Match::kNotFound) return "404";
    if (m.kind == internal::Router::Match::kMethodNotAllowed) return "405 " + m.allow;
    Request req;
    req.path_params = params;
    return m.route->handler(req).body;
  }

  internal::Metrics metrics_;
  internal::Router router_{metrics_};
};

TEST_F(RestParamRouter, MatchesOneOrMoreSegmentsJoinedWithSlash) {
  EXPECT_EQ(route("GET", "/ocsp/MEow"), "rest|request=MEow");
  EXPECT_EQ(route("GET", "/ocsp/ME/ow/x+y"), "rest|request=ME/ow/x+y");
  EXPECT_EQ(route("GET", "/ocsp/a%2Fb"), "rest|request=a/b");
  EXPECT_EQ(route("GET", "/ocsp/a%2Fb/c/d"), "rest|request=a/b/c/d");
  EXPECT_EQ(route("GET", "/ocsp/a%2Bb%3D"), "rest|request=a+b=");
  EXPECT_EQ(route("GET", "/ocsp/a//b/"), "rest|request=a//b/");
  EXPECT_EQ(route("GET", "/ocsp/"), "rest|request=");
  EXPECT_EQ(route("GET", "/files/d/x/y"), "dir-rest|dir=d|rest=x/y");
}

TEST_F(RestParamRouter, NeedsAtLeastOneSegment) {
  EXPECT_EQ(route("GET", "/ocsp"), "405 POST");
  EXPECT_EQ(route("GET", "/files/d"), "404");
}

TEST_F(RestParamRouter, LiteralAndSingleParameterWin) {
  EXPECT_EQ(route("GET", "/ocsp/status"), "literal");
  EXPECT_EQ(route("GET", "/ocsp/x/y"), "two|a=x|b=y");
  EXPECT_EQ(route("GET", "/ocsp/x/y/z"), "rest|request=x/y/z");
}

TEST_F(RestParamRouter, OtherMethodIs405) {
  EXPECT_EQ(route("POST", "/ocsp/abc"), "405 GET");
}

TEST(RestParamServer, BindsRawAndEncodedSlashesAndKeepsPlus) {
  ServerOptions o;
  o.io_threads = 1;
  o.worker_threads = 2;
  Server server(o);
  server.route("GET", "/ocsp/{request...}", answer("rest"));
  server.route("GET", "/ocsp/{one}", answer("one"));
  ASSERT_TRUE(server.start().is_ok());
  Client client(server.port());
  auto r = client.get("/ocsp/MEow/AB+c%2Fd==");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "rest|request=MEow/AB+c/d==");
  r = client.get("/ocsp/ME%2Bow");
  EXPECT_EQ(r.body(), "one|one=ME+ow");
}

}  // namespace
}  // namespace jlis::http
