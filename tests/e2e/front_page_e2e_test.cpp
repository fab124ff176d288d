// The front page (`GET /`, web/front_page.h) as a newcomer opens it in a browser after `make run`:
// it names what the server runs and the population it holds, and every link on it works; and the
// API description rendered readably (`GET /api`, web/api_page.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../http/chromium.h"
#include "../http/client.h"
#include "data_dir_store.h"
#include "jlis_process.h"
#include "pki/openssl.h"
#include "template_dir.h"
#include "web/api_page.h"

namespace jlis::e2e {
namespace {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

class FrontPageE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("front-page");
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}", "--simulation"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"population", "generate", "--data", "{dir}", "--count", "120", "--key-pool", "2"}});
    ASSERT_EQ(out.size(), 3u) << out.back().err;
    ASSERT_EQ(out[2].exit_code, 0) << out[2].err;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static int64_t living() {
    auto conn = connect_data_dir(dir_);
    auto n = conn->query_int64("SELECT COUNT(*) FROM residents WHERE status = 'resident'");
    return n.ok() ? n->value_or(-1) : -1;
  }

  static inline std::string dir_;
};

// Rule: the page says what runs (every component served, none other), the population as the
// register counts it, that the data is a simulation; each of its links answers 200 (the kiosk
// screen's is the URL the server was given); its policy refuses nothing of it.
TEST_F(FrontPageE2E, ANewcomerSeesWhatRunsAndEveryLinkWorks) {
  Server server(dir_, {"--components", "registry,card,pki,kiosk", "--kiosk-screen-url", "http://127.0.0.1:9/screen"});
  ASSERT_NE(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  http::testing::Chromium browser(dir_ + "/chromium");
  browser.open(base + "/");
  EXPECT_EQ(browser.text("h1"), "OpenJLIS");
  const int64_t population = living();
  ASSERT_GT(population, 0);
  EXPECT_EQ(browser.text(".figure"), std::to_string(population));
  EXPECT_NE(browser.text("main").find("シミュレーション"), std::string::npos);
  const auto components = browser.evaluate(
      "[...document.querySelectorAll('#components ~ table tbody th code')].map(e => e.innerText).join(',')");
  EXPECT_EQ(components, "registry,card,pki,kiosk");
  EXPECT_EQ(browser.violations(), std::vector<std::string>{});
  // With JLIS_SCREENSHOTS=DIR the pages are saved there (docs/images/front-page.png, api-page.png).
  const char* shots = std::getenv("JLIS_SCREENSHOTS");
  auto shot = [&](const std::string& name) {
    if (shots == nullptr || *shots == 0) return;
    auto png = pki::base64_decode(browser.screenshot_base64());
    ASSERT_TRUE(png.ok());
    std::ofstream(std::string(shots) + "/" + name + ".png", std::ios::binary) << *png;
  };
  shot("front-page");

  const auto links = browser.evaluate("[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))")
                         .get<std::vector<std::string>>();
  EXPECT_EQ(links, (std::vector<std::string>{"/api", "/openapi.yaml", "/verify", "http://127.0.0.1:9/screen", "/console",
                                             "/healthz", "/metrics"}));
  http::testing::Client client(server.port());
  for (const std::string& link : links) {
    if (link.front() != '/') continue;  // the kiosk screen is another program
    auto r = client.get(link);
    if (r.result_int() == 303) r = client.get(std::string(r[bhttp::field::location]));  // the console's log-in
    EXPECT_EQ(r.result_int(), 200) << link;
  }
  browser.open(base + "/api");
  EXPECT_EQ(browser.violations(), std::vector<std::string>{}) << "/api";
  shot("api-page");
}

// Rule: a server without the kiosk component links no verification page, and without
// --kiosk-screen-url no kiosk screen.
TEST_F(FrontPageE2E, ItLinksOnlyWhatRuns) {
  Server server(dir_, {"--components", "registry"});
  ASSERT_NE(server.port(), 0);
  http::testing::Client client(server.port());
  auto page = client.get("/");
  ASSERT_EQ(page.result_int(), 200);
  EXPECT_EQ(page.body().find("href=\"/verify\""), std::string::npos);
  EXPECT_EQ(page.body().find("コンビニの端末の画面"), std::string::npos);
  EXPECT_NE(page.body().find("<code>registry</code>"), std::string::npos);
  EXPECT_EQ(page.body().find("<code>card</code>"), std::string::npos);
}

// Rule: the API page shows every operation of the document the server serves, each once, with who
// may call it; a document that is not OpenAPI is refused, not rendered.
TEST_F(FrontPageE2E, TheApiPageShowsEveryOperation) {
  Server server(dir_, {"--components", "registry"});
  ASSERT_NE(server.port(), 0);
  http::testing::Client client(server.port());
  const std::string yaml = client.get("/openapi.yaml").body();
  const std::string page = client.get("/api").body();
  size_t operations = 0;
  for (size_t at = yaml.find("operationId: "); at != std::string::npos; at = yaml.find("operationId: ", at + 1)) {
    ++operations;
    const size_t end = yaml.find('\n', at);
    const std::string id = yaml.substr(at + 13, end - at - 13);
    EXPECT_NE(page.find("<section id=\"" + id + "\">"), std::string::npos) << id;
  }
  EXPECT_GT(operations, 50u);
  size_t shown = 0;
  for (size_t at = page.find("<span class=\"method\">"); at != std::string::npos;
       at = page.find("<span class=\"method\">", at + 1))
    ++shown;
  EXPECT_EQ(shown, operations);
  EXPECT_NE(page.find("Who may call: anyone (no token)"), std::string::npos);
  EXPECT_NE(page.find("Who may call: <code>bearerAuth</code>"), std::string::npos);

  EXPECT_EQ(web::render_api_page("paths: [").status().code(), Code::invalid_argument);
  EXPECT_EQ(web::render_api_page("title: not an API").status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::e2e
