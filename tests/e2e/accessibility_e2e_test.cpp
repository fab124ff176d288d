// The pages people open in a browser, checked for accessibility: axe-core's WCAG 2.1 A and AA rules
// and best practices (labels, names, contrast, headings, landmarks, language) on every page of the
// front door and the console, and the console used with the keyboard alone. (The kiosk screen's
// pages: tests/kiosk/screen_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "../http/chromium.h"
#include "jlis_process.h"
#include "template_dir.h"

namespace jlis::e2e {
namespace {

namespace fs = std::filesystem;
using http::testing::Chromium;

class AccessibilityE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("accessibility");
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}", "--simulation"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"population", "generate", "--data", "{dir}", "--count", "60", "--key-pool", "2"},
                                         {"token", "create", "--data", "{dir}", "--role", "operator", "--name", "Ops"}});
    ASSERT_EQ(out.size(), 4u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    std::string s = out[3].out;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    operator_ = s.substr(s.rfind('\n') + 1);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static inline std::string dir_, operator_;
};

// Rule: the console is usable with the keyboard alone: from the log-in form, Tab reaches the token
// field, typing and Enter log in; on every console page Tab visits each link, field and button in
// turn, each showing a visible focus outline, and comes back round; and every page, front door and
// console, has no fault axe-core finds.
TEST_F(AccessibilityE2E, EveryPagePassesAxeAndTheConsoleWorksByKeyboard) {
  Server server(dir_, {"--kiosk-screen-url", "http://127.0.0.1:9/screen"});
  ASSERT_NE(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  Chromium browser(dir_ + "/chromium", 1280, 900);

  // The checker itself finds faults: a page with an unlabelled field and grey on white.
  browser.open("data:text/html,<!doctype html><html><head><title>t</title></head><body><main><h1>t</h1><input>"
               "<p style='color:%23bbb'>faint</p></main></body></html>");
  const auto faults = browser.accessibility_faults();
  EXPECT_TRUE(std::any_of(faults.begin(), faults.end(), [](const auto& f) { return f.rfind("label:", 0) == 0; }));
  EXPECT_TRUE(std::any_of(faults.begin(), faults.end(), [](const auto& f) { return f.rfind("color-contrast:", 0) == 0; }));

  for (const char* path : {"/", "/api", "/verify", "/console/login"}) {
    browser.open(base + path);
    EXPECT_EQ(browser.accessibility_faults(), std::vector<std::string>{}) << path;
  }

  // The log-in by keyboard: the first Tab stop is the token field.
  browser.press("Tab");
  ASSERT_EQ(browser.focused(), "input#token");
  browser.type(operator_);
  browser.press("Enter");
  ASSERT_TRUE(browser.wait_until("location.pathname === '/console' && document.querySelector('#events')"));

  for (const char* path : {"/console", "/console/tokens", "/console/audit"}) {
    browser.open(base + path);
    EXPECT_EQ(browser.accessibility_faults(), std::vector<std::string>{}) << path;
    // Every control, in document order, is a Tab stop with a visible outline; Tab goes round them all.
    const auto controls =
        browser.evaluate("[...document.querySelectorAll('a[href], input:not([type=hidden]), select, button, "
                         "textarea')].filter(e => !e.disabled).length")
            .get<int>();
    ASSERT_GT(controls, 0) << path;
    std::set<std::string> visited;
    for (int i = 0; i < controls; ++i) {
      browser.press("Tab");
      const std::string at = browser.focused();
      EXPECT_NE(at, "body") << path << ": Tab stop " << i;
      EXPECT_EQ(browser.evaluate("getComputedStyle(document.activeElement).outlineStyle"), "solid")
          << path << ": no visible focus on " << at;
      visited.insert(browser.evaluate("(() => { const all = [...document.querySelectorAll('a[href], "
                                      "input:not([type=hidden]), select, button, textarea')]; return "
                                      "String(all.indexOf(document.activeElement)); })()")
                         .get<std::string>());
    }
    EXPECT_EQ(visited.size(), static_cast<size_t>(controls)) << path << ": Tab missed a control";
    EXPECT_EQ(visited.count("-1"), 0u) << path << ": Tab stopped outside the controls";
  }
}

}  // namespace
}  // namespace jlis::e2e
