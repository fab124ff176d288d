// A real browser for the page tests: headless Chromium (Debian's `chromium`) driven over the
// DevTools protocol on loopback, as a person would use a page: open it, click its buttons, read
// what it shows, take a screenshot. Also collects the page's Content-Security-Policy violations
// (a listener installed before any page script, by the DevTools protocol, which the policy does not
// govern), checks a page's accessibility with axe-core, and uses the keyboard as a person without a
// pointer would. Failures throw std::runtime_error (a test that meets one fails with its message); a
// page being replaced by a navigation (a form just posted) is waited for, not a failure.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace jlis::http::testing {

class Chromium {
 public:
  // Starts Chromium with its own profile in `profile_dir` (created; left for the caller to remove)
  // and a blank page of `width` × `height` CSS pixels.
  explicit Chromium(const std::string& profile_dir, int width = 1024, int height = 768) : ws_(ioc_) {
    std::filesystem::create_directories(profile_dir);
    const std::string profile = "--user-data-dir=" + profile_dir;
    const std::string size = "--window-size=" + std::to_string(width) + "," + std::to_string(height);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      ::execlp("chromium", "chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--hide-scrollbars", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
               profile.c_str(), size.c_str(), "about:blank", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Chromium names its port and the browser's endpoint in DevToolsActivePort once it listens.
    const std::filesystem::path active = std::filesystem::path(profile_dir) / "DevToolsActivePort";
    std::string port, path;
    for (int i = 0; i < 600 && path.empty(); ++i) {
      std::ifstream in(active);
      if (!(in >> port >> path)) path.clear();
      if (path.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (path.empty()) throw std::runtime_error("chromium did not start (no DevToolsActivePort)");
    auto endpoint = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                   static_cast<unsigned short>(std::stoi(port)));
    ws_.next_layer().connect(endpoint);
    ws_.handshake("127.0.0.1:" + port, path);
    // One page, attached in flat mode: its commands carry the session id on this connection.
    const auto target = browser_call("Target.createTarget", {{"url", "about:blank"}});
    session_ = browser_call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}})["sessionId"];
    call("Page.enable");
    call("Emulation.setDeviceMetricsOverride",
         {{"width", width}, {"height", height}, {"deviceScaleFactor", 1}, {"mobile", false}});
    call("Page.addScriptToEvaluateOnNewDocument",
         {{"source",
           "window.__violations = []; document.addEventListener('securitypolicyviolation', "
           "e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"}});
  }
  ~Chromium() {
    boost::system::error_code ignored;
    ws_.next_layer().close(ignored);
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // A DevTools command on the page; its result.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object()) {
    return send(method, params, session_);
  }

  // Opens `url` and waits until it has loaded.
  void open(const std::string& url) {
    call("Page.navigate", {{"url", url}});
    wait_until("document.readyState === 'complete' && location.href !== 'about:blank'");
  }

  // The value of a JavaScript expression in the page (evaluated by the protocol, not by the page).
  // A page in the middle of a navigation (a form just posted) is waited for, up to 10 s.
  nlohmann::json evaluate(const std::string& expression) {
    for (int tries = 0;; ++tries) {
      nlohmann::json r;
      try {
        r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
      } catch (const Navigating&) {
        if (tries == 200) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (r.contains("exceptionDetails")) throw std::runtime_error("page script failed: " + expression);
      return r["result"].value("value", nlohmann::json());
    }
  }

  // Waits (polling) until `expression` is true in a loaded page; false after `timeout`. A page in
  // the middle of a navigation counts as not yet.
  bool wait_until(const std::string& expression, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string guarded = "(() => { try { return document.readyState === 'complete' && !!(" + expression +
                                "); } catch (e) { return false; } })()";
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        auto r = call("Runtime.evaluate", {{"expression", guarded}, {"returnByValue", true}});
        if (r.contains("result") && r["result"].value("value", nlohmann::json(false)) == true) return true;
      } catch (const Navigating&) {
        // the page is being replaced: not yet
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // The text of the first element matching `selector` ("" when none).
  std::string text(const std::string& selector) {
    auto v = evaluate("(document.querySelector(" + nlohmann::json(selector).dump() + ") || {}).innerText || ''");
    return v.is_string() ? v.get<std::string>() : "";
  }

  // Clicks the first element matching `selector` as a touch would (throws when there is none).
  void click(const std::string& selector) {
    auto done = evaluate("(() => { const e = document.querySelector(" + nlohmann::json(selector).dump() +
                         "); if (!e) return false; e.click(); return true; })()");
    if (done != true) throw std::runtime_error("nothing to click at " + selector);
  }

  // Clicks `selector` and waits until the page that follows shows `heading` in its <h2>.
  bool click_to(const std::string& selector, const std::string& heading) {
    click(selector);
    return wait_until("document.querySelector('h2') && document.querySelector('h2').innerText === " +
                      nlohmann::json(heading).dump());
  }

  // The page as a PNG image (its bytes, base64 as the protocol answers it).
  std::string screenshot_base64() { return call("Page.captureScreenshot", {{"format", "png"}})["data"]; }

  // The accessibility faults of the current page as axe-core finds them: the WCAG 2.1 A and AA rules
  // (labels, names, contrast, structure, language) and axe's best practices (landmarks, headings).
  // "rule: element, element" each; empty when none. axe-core is tools/contract's pinned copy
  // (`make test-deps`), run by the protocol, so the page's script policy does not stop it.
  std::vector<std::string> accessibility_faults() {
    static const std::string axe = [] {
      std::ifstream in(JLIS_AXE_SCRIPT, std::ios::binary);
      if (!in) throw std::runtime_error(std::string("axe-core is missing (make test-deps): ") + JLIS_AXE_SCRIPT);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    evaluate(axe + "\n;true");
    auto r = call("Runtime.evaluate",
                  {{"expression",
                    "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
                    "'best-practice']}}).then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => "
                    "n.target.join(' ')).join(', ')))"},
                   {"awaitPromise", true},
                   {"returnByValue", true}});
    if (r.contains("exceptionDetails")) throw std::runtime_error("axe-core failed: " + r["exceptionDetails"].dump());
    return r["result"]["value"].get<std::vector<std::string>>();
  }

  // Presses a key (as the keyboard sends it: "Tab", "Enter", " "); with `shift` held for Shift+Tab.
  void press(const std::string& key, bool shift = false) {
    static const std::map<std::string, std::pair<std::string, int>> codes = {
        {"Tab", {"Tab", 9}}, {"Enter", {"Enter", 13}}, {" ", {"Space", 32}}};
    const auto& [code, vk] = codes.at(key);
    nlohmann::json event = {{"key", key}, {"code", code}, {"windowsVirtualKeyCode", vk}, {"modifiers", shift ? 8 : 0}};
    if (key == "Enter") event["text"] = "\r";
    if (key == " ") event["text"] = " ";
    event["type"] = key == "Tab" ? "rawKeyDown" : "keyDown";
    call("Input.dispatchKeyEvent", event);
    event.erase("text");
    event["type"] = "keyUp";
    call("Input.dispatchKeyEvent", event);
  }
  // Types `text` into the focused element.
  void type(const std::string& text) { call("Input.insertText", {{"text", text}}); }
  // The focused element: "tag#id" or "tag:its text" ("body" when nothing is).
  std::string focused() {
    auto v = evaluate("(() => { const e = document.activeElement; if (!e) return 'body'; const t = e.tagName.toLowerCase();"
                      " return e.id ? t + '#' + e.id : t === 'body' ? t : t + ':' + (e.innerText || e.value || '').trim(); })()");
    return v.is_string() ? v.get<std::string>() : "";
  }

  // The Content-Security-Policy violations of the current page ("directive blocked-URI" each).
  std::vector<std::string> violations() {
    auto v = evaluate("window.__violations || []");
    return v.is_array() ? v.get<std::vector<std::string>>() : std::vector<std::string>{};
  }

 private:
  // The page was replaced while a command ran on it ("Inspected target navigated or closed").
  struct Navigating : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  nlohmann::json browser_call(const std::string& method, const nlohmann::json& params) {
    return send(method, params, "");
  }
  nlohmann::json send(const std::string& method, const nlohmann::json& params, const std::string& session) {
    nlohmann::json message = {{"id", ++id_}, {"method", method}, {"params", params}};
    if (!session.empty()) message["sessionId"] = session;
    ws_.text(true);
    ws_.write(boost::asio::buffer(message.dump()));
    for (;;) {  // events arrive in between; the answer carries our id
      boost::beast::flat_buffer buffer;
      ws_.read(buffer);
      auto answer = nlohmann::json::parse(boost::beast::buffers_to_string(buffer.data()), nullptr, false);
      if (!answer.is_object() || answer.value("id", -1) != id_) continue;
      if (answer.contains("error")) {
        const std::string error = answer["error"].dump();
        if (error.find("navigated or closed") != std::string::npos) throw Navigating(method + ": " + error);
        throw std::runtime_error(method + ": " + error);
      }
      return answer.value("result", nlohmann::json::object());
    }
  }

  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  pid_t pid_ = -1;
  std::string session_;
  int id_ = 0;
};

}  // namespace jlis::http::testing
