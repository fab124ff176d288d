#include "kiosk/screen.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "http/html.h"
#include "http/server.h"
#include "kiosk/screen_pages.h"
#include "kiosk/sessions.h"
#include "kiosk/terminal_client.h"

namespace jlis::kiosk {

using Clock = std::chrono::steady_clock;
using screen::Choice;

namespace {

enum class Step { insert_card, pin, choose, options, confirm, printing, done, message };

http::Response see_screen() {
  http::Response r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.headers = {{"Location", "/"}, {"Cache-Control", "no-store"}};
  return r;
}

}  // namespace

struct Screen::Impl {
  explicit Impl(ScreenOptions o) : options(std::move(o)) {}

  ScreenOptions options;
  const std::string policy = http::page_policy(screen::screen_style());
  std::vector<std::string> labels;  // a card's label on the insert page: its file's name
  std::unique_ptr<http::Server> server;

  // The resident's state, under mu. `terminal` is used by the printing task alone while the
  // step is printing, and by the handlers (under mu) otherwise.
  std::mutex mu;
  std::optional<TerminalClient> terminal;
  Step step = Step::insert_card;
  Clock::time_point touched = Clock::now();
  std::optional<VirtualCard> card;
  size_t card_index = 0;
  std::string pin, notice;
  KioskOfferShown offer;
  Choice choice;
  std::future<Result<PrintedDocument>> printing;
  PrintedDocument printed;
  std::string title, text;  // the message step's

  // Forgets the resident: back to the insert step with nothing of theirs kept.
  void forget() {
    step = Step::insert_card;
    card.reset();
    pin.clear();
    notice.clear();
    offer = {};
    choice = {};
    printed = {};
    title.clear();
    text.clear();
  }
  void show_message(std::string t, std::string body) {
    forget();
    step = Step::message;
    title = std::move(t);
    text = std::move(body);
  }
  void show_failure(const Status& s) {
    if (const std::string reason = refusal_reason(s); !reason.empty()) {
      auto [t, body] = screen::refusal_words(reason);
      show_message(std::move(t), std::move(body));
    } else {
      show_message("ただいま証明書を発行できません",
                   "証明書交付センターでの処理ができませんでした。しばらくしてから、もう一度お試しください。");
    }
  }
  void show_locked() {
    show_message("カードがロックされています",
                 "暗証番号を3回続けて間違えたため、利用者証明用電子証明書がロックされました。お住まいの市区町村の窓口で"
                 "暗証番号の再設定をしてください。");
  }

  // The resident's time is up when nobody touched the screen for idle_timeout (not while printing).
  void expire_if_idle() {
    if (step != Step::insert_card && step != Step::printing && Clock::now() - touched > options.idle_timeout) forget();
  }

  // The printing task's outcome, once it is there.
  void collect_printing() {
    if (step != Step::printing || printing.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    Result<PrintedDocument> done = printing.get();
    touched = Clock::now();
    if (!done.ok()) return show_failure(done.status());
    printed = std::move(*done);
    step = Step::done;
  }

  std::string current_page() {
    switch (step) {
      case Step::insert_card: return screen::insert_card_page(labels);
      case Step::pin: return screen::pin_page(pin.size(), notice);
      case Step::choose: return screen::choose_page(offer);
      case Step::options: return screen::options_page(offer, choice);
      case Step::confirm: return screen::confirm_page(offer, choice);
      case Step::printing: return screen::printing_page();
      case Step::done: return screen::done_page(printed, terminal->centre_url() + "/verify/" + printed.issuance_number);
      case Step::message: return screen::message_page(title, text);
    }
    return "";
  }

  void insert(const std::multimap<std::string, std::string>& form) {
    if (step != Step::insert_card && step != Step::message) return;
    auto it = form.find("card");
    size_t index = 0;
    if (it == form.end() || std::sscanf(it->second.c_str(), "%zu", &index) != 1 || index >= options.card_files.size())
      return;
    forget();
    card_index = index;
    Result<VirtualCard> loaded = VirtualCard::load(options.card_files[index]);
    if (!loaded.ok()) return show_message("カードを読み取れません", "カードを置き直してください。");
    card = std::move(*loaded);
    if (card->locked(card::CardSecret::authentication_pin)) return show_locked();
    step = Step::pin;
  }

  void key(const std::multimap<std::string, std::string>& form) {
    if (step != Step::pin) return;
    auto it = form.find("key");
    if (it == form.end()) return;
    const std::string& k = it->second;
    if (k.size() == 1 && k[0] >= '0' && k[0] <= '9') {
      if (pin.size() < 4) pin += k;
      return;
    }
    if (k == "clear") pin.clear();
    if (k != "enter" || pin.size() != 4) return;
    const std::string entered = std::move(pin);
    pin.clear();
    notice.clear();
    const int tries_before = card->slot(card::CardSecret::authentication_pin)->tries_left;
    Result<KioskOfferShown> in = terminal->log_in(*card, options.card_files[card_index], entered);
    if (in.ok()) {
      offer = std::move(*in);
      step = Step::choose;
      return;
    }
    if (card->locked(card::CardSecret::authentication_pin)) return show_locked();
    const int left = card->slot(card::CardSecret::authentication_pin)->tries_left;
    if (left < tries_before) {
      notice = "暗証番号が違います。あと" + std::to_string(left) + "回間違えると、カードがロックされます。";
      return;
    }
    show_failure(in.status());
  }

  void document(const std::multimap<std::string, std::string>& form) {
    if (step != Step::choose) return;
    auto it = form.find("type");
    if (it == form.end() || !offer.offers(it->second)) return;
    choice = Choice{.type = it->second};
    step = Step::options;
  }

  void choose_options(const std::multimap<std::string, std::string>& form) {
    if (step != Step::options) return;
    auto go = form.find("go");
    if (go != form.end() && go->second == "back") {
      step = Step::choose;
      return;
    }
    Choice c{.type = choice.type};
    for (const auto& [name, value] : form) {
      if (name == "members") c.whole_household = value == "all";
      if (name == "items") {
        c.head_and_relationship |= value == "household";
        c.honseki |= value == "honseki";
        c.my_number |= value == "my-number";
      }
      if (name == "individual") c.individual = value == "1";
      if (name == "copies" && value.size() <= 2 && value.find_first_not_of("0123456789") == std::string::npos &&
          !value.empty())
        c.copies = std::stoi(value);
    }
    if (go != form.end() && go->second == "fewer") c.copies = std::max(1, c.copies - 1);
    if (go != form.end() && go->second == "more") c.copies = std::min(10, c.copies + 1);
    if (c.copies < 1 || c.copies > 10) return;
    choice = c;
    if (go != form.end() && go->second == "next") step = Step::confirm;
  }

  void confirm(const std::multimap<std::string, std::string>& form) {
    if (step != Step::confirm) return;
    auto go = form.find("go");
    if (go == form.end()) return;
    if (go->second == "back") step = Step::options;
    if (go->second != "issue") return;
    step = Step::printing;
    // The terminal prints what it fetched (kept here until the resident finishes), then confirms.
    printing = std::async(std::launch::async, [this, request = screen::document_request(choice)] {
      return terminal->print(request, [this](const PrintedDocument&) {
        std::this_thread::sleep_for(options.print_time);
        return Status::ok();
      });
    });
  }

  void finish(const std::multimap<std::string, std::string>&) {
    if (step != Step::printing) forget();
  }

  http::Response page() {
    std::lock_guard lock(mu);
    expire_if_idle();
    collect_printing();
    return http::html_response(200, current_page(), policy);
  }

  http::Response act(const http::Request& req, void (Impl::*action)(const std::multimap<std::string, std::string>&)) {
    if (http::foreign_post(req))
      return http::html_response(403, screen::message_page("操作できません", "この画面の外からの操作は受け付けません。"),
                                 policy);
    auto form = http::parse_form(req.body);
    if (!form) return http::Response::error(invalid_argument("the form's body is not application/x-www-form-urlencoded"));
    std::lock_guard lock(mu);
    expire_if_idle();
    collect_printing();
    touched = Clock::now();
    (this->*action)(*form);
    return see_screen();
  }

  http::Response pdf() {
    std::lock_guard lock(mu);
    expire_if_idle();
    collect_printing();
    if (step != Step::done)
      return http::html_response(404, screen::message_page("証明書はありません", "表示できる証明書はありません。"), policy);
    http::Response r;
    r.content_type = "application/pdf";
    r.body = printed.pdf;
    r.headers = {{"Content-Disposition", "inline; filename=\"" + printed.issuance_number + ".pdf\""},
                 {"Cache-Control", "no-store"},
                 {"X-Content-Type-Options", "nosniff"}};
    return r;
  }
};

Screen::Screen(ScreenOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Screen::~Screen() {
  stop();
  if (impl_->printing.valid()) impl_->printing.wait();
}

Status Screen::start() {
  Impl& s = *impl_;
  if (s.options.card_files.empty()) return invalid_argument("give the screen at least one virtual card (--card)");
  for (const std::string& file : s.options.card_files) {
    JLIS_RETURN_IF_ERROR(VirtualCard::load(file).status());
    s.labels.push_back(std::filesystem::path(file).filename().string());
  }
  JLIS_ASSIGN_OR_RETURN(TerminalCredential credential, read_credential(s.options.credential_file));
  s.terminal.emplace(s.options.centre_url, std::move(credential));
  s.server = std::make_unique<http::Server>(http::ServerOptions{.host = s.options.host, .port = s.options.port});
  using Form = const std::multimap<std::string, std::string>&;
  auto post = [&s](const std::string& path, void (Impl::*action)(Form)) {
    s.server->route("POST", path, [&s, action](const http::Request& req) { return s.act(req, action); });
  };
  s.server->route("GET", "/", [&s](const http::Request&) { return s.page(); });
  s.server->route("GET", "/printed.pdf", [&s](const http::Request&) { return s.pdf(); });
  post("/card", &Impl::insert);
  post("/pin", &Impl::key);
  post("/document", &Impl::document);
  post("/options", &Impl::choose_options);
  post("/confirm", &Impl::confirm);
  post("/finish", &Impl::finish);
  return s.server->start();
}

uint16_t Screen::port() const { return impl_->server ? impl_->server->port() : 0; }
void Screen::wait() {
  if (impl_->server) impl_->server->wait();
}
void Screen::stop() {
  if (impl_->server) impl_->server->stop();
}

}  // namespace jlis::kiosk
