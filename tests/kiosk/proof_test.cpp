// The proof of no mis-issuance (issue 10 §3): many kiosk terminals in parallel against the real
// `jlis serve` over HTTP, each thread one terminal playing whole sessions (open → the virtual
// card's log-in → a document → fetch → printed) with the holders of many cards, and everything
// that goes wrong in a real network:
//   - random think times between steps (0–20 ms; the seed is printed, JLIS_KIOSK_PROOF_SEED
//     replays it);
//   - duplicate submissions at the same moment: a document request or a fetch sent twice at once
//     from two threads of the terminal (released together by a latch);
//   - terminals that time out and retry: a client read deadline (100 ms) shorter than a slow
//     municipal answer (150–300 ms), then the terminal asks again (a 409 while the first is in
//     flight: it tries the fetch, then asks again);
//   - terminals that vanish: after the log-in, or after the document was issued, never fetching;
//     the centre's deadline (`jlis serve --kiosk-session-seconds 4`) ends them;
//   - a municipal server that answers slowly or fails: the centre is pointed (`jlis kiosk
//     municipal-server`) at a relay in this test that forwards to the real issuance server after a
//     random delay, or answers 503 or 500, or drops the connection, without forwarding; or forwards
//     and then swallows the document (500, or a dropped connection: the municipality issued, the
//     centre never saw it).
// Every PDF that reaches a terminal is read back: its /Subject (UTF-16BE as cairo writes it) is
// the name of the holder whose card logged in on that terminal's session (every holder has a name
// of their own), its /Keywords the issuance number the centre answered, and a sample is read with
// pdftotext (the holder's family and given names are on the page). Then the records:
//   - the municipality's (municipal_issuances) row of that number is of that holder, that
//     session, channel kiosk; the centre's (kiosk_sessions) row of that session has that number
//     and holder and was fetched once; no session yields two PDFs;
//   - the counts reconcile exactly, each counted where it is exactly determinable (ProofCounts
//     says what each terminal-side number means): kiosk_incidents grows by 0; the proof's
//     terminals' kiosk_sessions = the sessions opened; all ended; fetched = PDFs received;
//     end_reason printed = prints confirmed; timeout = vanished (after the log-in or after the
//     document) + sessions the terminal saw end (410); incident = 0; logged in = log-ins answered
//     200; held but never fetched = the vanished-after-document ones (+ at most those that ended
//     under their terminal);
//   - the municipality's kiosk issuances for these sessions (none refused) = the relay's 200s, each
//     either recorded on its session by the centre, or swallowed by the relay (never on any
//     session), or too late for a session whose deadline passed; everything no terminal fetched
//     (held past the deadline, too late, swallowed) is returned: the municipality's kiosk
//     documents are issued exactly when a terminal fetched them; and on every session whose
//     terminal never cut an answer off, the 502 bad_gateway answers it saw = the failures the
//     relay injected on that session.
// Mix per session: 3% vanish after the log-in, 3% after the document; 15% with the 100 ms
// deadline; 30% a duplicate request, 30% a duplicate fetch. The relay: 65% forwarded after 0–30
// ms, 12% after 150–300 ms, 6% 503, 4% 500, 4% dropped (not forwarded), 5% forwarded then 500,
// 4% forwarded then dropped.
//
// Size: 16 terminals, 320 sessions, 12 holders by default (make test, 2 cores; about 30 s); on
// PostgreSQL (KioskProof…_pg) 160 sessions and 8 holders (about 30 s too: its setup is slower). Full size on
// demand: JLIS_KIOSK_PROOF_TERMINALS=64 JLIS_KIOSK_PROOF_SESSIONS=20000 (sessions in total),
// JLIS_KIOSK_PROOF_HOLDERS (default 12, at most 24), JLIS_KIOSK_PROOF_LIFETIME (the sessions'
// deadline in seconds, default 4), JLIS_KIOSK_PROOF_SEED, JLIS_KIOSK_PROOF_PDFTOTEXT_EVERY
// (each terminal's first PDF and every Nth after it are read with pdftotext; default 20).
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "http/client.h"
#include "kiosk_world.h"

namespace jlis::kiosk::testing {
namespace proof {  // named: the tests are unity builds
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// One wait of [lo, hi] ms drawn from `rng`.
void think(std::mt19937_64& rng, int lo = 0, int hi = 20) {
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(lo, hi)(rng)));
}

// The text of a PDF document-information string: a hex string of UTF-16BE with its BOM (cairo),
// or a literal string of ASCII. "" when `key` is absent.
std::string pdf_info(const std::string& pdf, const std::string& key) {
  const size_t k = pdf.rfind("/" + key + " ");
  if (k == std::string::npos) return "";
  size_t i = k + key.size() + 2;
  if (pdf[i] == '(') return pdf.substr(i + 1, pdf.find(')', i) - i - 1);
  if (pdf[i] != '<') return "";
  const std::string hex = pdf.substr(i + 1, pdf.find('>', i) - i - 1);
  std::vector<uint32_t> units;
  for (size_t h = 0; h + 4 <= hex.size(); h += 4) units.push_back(std::stoul(hex.substr(h, 4), nullptr, 16));
  std::string out;
  for (size_t u = units.empty() || units[0] != 0xFEFF ? 0 : 1; u < units.size(); ++u) {
    uint32_t c = units[u];
    if (c >= 0xD800 && c < 0xDC00 && u + 1 < units.size()) c = 0x10000 + ((c - 0xD800) << 10) + (units[++u] - 0xDC00);
    if (c < 0x80) out += static_cast<char>(c);
    else if (c < 0x800) out += {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    else if (c < 0x10000)
      out += {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
              static_cast<char>(0x80 | (c & 0x3F))};
    else
      out += {static_cast<char>(0xF0 | (c >> 18)), static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
              static_cast<char>(0x80 | ((c >> 6) & 0x3F)), static_cast<char>(0x80 | (c & 0x3F))};
  }
  return out;
}

// The municipal issuance server as the network has it: forwards to the real one after a random
// delay, or fails. One request per connection (the centre's client closes after each answer).
// Faults only on POST …/documents (the offer, read at the log-in, is forwarded after a delay).
class FlakyMunicipality {
 public:
  FlakyMunicipality(std::string upstream, uint64_t seed) : upstream_(std::move(upstream)), rng_(seed) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    accepting_ = std::thread([this] { accept(); });
  }
  ~FlakyMunicipality() {
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket wake(ioc_);
    wake.connect({asio::ip::make_address("127.0.0.1"), port()}, ec);
    accepting_.join();
    while (active_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // What the relay did to the document requests, by session.
  std::mutex mu_;
  std::map<std::string, int> failed_without_issuing;  // 503, 500 or dropped before forwarding
  std::map<std::string, int> swallowed;               // forwarded, issued, then 500 or dropped
  std::map<std::string, std::string> passed;          // issuance number → session: reached the centre
  std::set<std::string> swallowed_numbers;

 private:
  enum class Fate { forward, slow, unavailable, error, drop, issue_then_error, issue_then_drop };

  void accept() {
    while (!stopping_) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      // Detached, and counted until it has answered: a full-size run makes tens of thousands.
      ++active_;
      std::thread([this, s = std::move(socket)]() mutable {
        serve(std::move(s));
        --active_;
      }).detach();
    }
  }

  Fate draw(int* delay_ms) {
    std::lock_guard lock(mu_);
    const int p = std::uniform_int_distribution<int>(0, 99)(rng_);
    *delay_ms = std::uniform_int_distribution<int>(0, 30)(rng_);
    if (p < 65) return Fate::forward;
    *delay_ms = std::uniform_int_distribution<int>(150, 300)(rng_);
    if (p < 77) return Fate::slow;
    *delay_ms = std::uniform_int_distribution<int>(0, 30)(rng_);
    if (p < 83) return Fate::unavailable;
    if (p < 87) return Fate::error;
    if (p < 91) return Fate::drop;
    if (p < 96) return Fate::issue_then_error;
    return Fate::issue_then_drop;
  }

  void serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    boost::system::error_code ec;
    bhttp::read(socket, buffer, req, ec);
    if (ec) return;
    // A POST is a document request, or a return of one that never reached its terminal; both meet
    // the same fates, but only the requests are tallied (a failed return is asked again).
    const bool post = req.method() == bhttp::verb::post;
    const bool document = post && !req.target().ends_with("/returned");
    int delay = 0;
    Fate fate = post ? draw(&delay) : Fate::forward;
    if (!post) delay = 5;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    const std::string session = document ? json::parse(req.body(), nullptr, false).value("session", "") : "";
    auto answer = [&](int status, const std::string& type, const std::map<std::string, std::string>& headers,
                      std::string body) {
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
      res.set(bhttp::field::content_type, type);
      for (const auto& [k, v] : headers)
        if (k != "content-length" && k != "content-type" && k != "connection" && k != "transfer-encoding") res.set(k, v);
      res.body() = std::move(body);
      res.keep_alive(false);
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    };
    if (fate == Fate::unavailable || fate == Fate::error || fate == Fate::drop) {
      if (document) {
        std::lock_guard lock(mu_);
        ++failed_without_issuing[session];
      }
      if (fate == Fate::drop) {
        socket.close(ec);
        return;
      }
      return answer(fate == Fate::unavailable ? 503 : 500, "application/json", {},
                    R"({"error":{"code":"unavailable","message":"injected"}})");
    }
    http::ClientRequest up;
    up.method = std::string(req.method_string());
    up.url = upstream_ + std::string(req.target());
    up.body = req.body();
    up.headers = {{"Authorization", std::string(req[bhttp::field::authorization])}};
    auto r = http::fetch(up);
    if (!r.ok()) return answer(502, "application/json", {}, R"({"error":{"code":"bad_gateway","message":"upstream"}})");
    if (document && r->status == 200) {
      const std::string number = r->header("x-issuance-number");
      std::lock_guard lock(mu_);
      if (fate == Fate::issue_then_error || fate == Fate::issue_then_drop) {
        ++swallowed[session];
        swallowed_numbers.insert(number);
      } else {
        passed[number] = session;
      }
    }
    if (fate == Fate::issue_then_drop) {
        socket.close(ec);
        return;
      }
    if (fate == Fate::issue_then_error)
      return answer(500, "application/json", {}, R"({"error":{"code":"internal","message":"injected"}})");
    answer(r->status, r->content_type, r->headers, std::move(r->body));
  }

  std::string upstream_;
  std::mt19937_64 rng_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::atomic<bool> stopping_{false};
  std::thread accepting_;
  std::atomic<int> active_{0};  // connections being served
};

// A terminal's call: its status (0 when the read deadline passed or the connection failed).
struct Call {
  int status = 0;
  http::ClientResponse response;
};
Call call(uint16_t port, const std::string& method, const std::string& target, const std::string& secret,
          std::string body = "", std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  http::ClientRequest r;
  r.method = method;
  r.url = "http://127.0.0.1:" + std::to_string(port) + target;
  r.body = std::move(body);
  r.timeout = deadline;
  r.headers = {{"Authorization", "Bearer " + secret}};
  auto a = http::fetch(r);
  if (!a.ok()) return {};
  return {a->status, std::move(*a)};
}
// Two calls released at the same moment from two threads.
std::array<Call, 2> twice(const std::function<Call()>& f) {
  std::latch go(2);
  std::array<Call, 2> out;
  std::thread other([&] {
    go.arrive_and_wait();
    out[1] = f();
  });
  go.arrive_and_wait();
  out[0] = f();
  other.join();
  return out;
}

struct Holder {
  Resident resident;
  std::string family, given;
  std::string name() const { return family + "　" + given; }
  std::optional<VirtualCard> card;
};

// What the terminals saw, summed; each number is exact (counted by the terminal that saw it).
struct ProofCounts {
  int opened = 0;             // sessions opened (201)
  int logged_in = 0;          // log-ins answered 200
  int vanished_after_login = 0;
  int vanished_after_request = 0;  // after a 201 for the document: it is held, never fetched
  int documents = 0;          // PDFs received (200 on a fetch)
  int printed = 0;            // print confirmations answered 200
  int ended_under_terminal = 0;  // sessions where the terminal was answered 410 (its deadline passed)
  int created = 0;            // 201 answers to document requests
  int request_conflicts = 0;  // 409 answers to document requests (a twin's or a retry's)
  int fetch_conflicts = 0;    // 409 answers to fetches
  int bad_gateway = 0;        // 502 bad_gateway answers to document requests
  int bad_gateway_no_deadline = 0;  // of those, on sessions whose terminal never timed out
  int timeouts = 0;           // document requests whose answer the terminal's deadline cut off
  int duplicate_requests = 0, duplicate_fetches = 0;  // pairs sent at the same moment
  void add(const ProofCounts& o) {
    int* a = &opened;
    const int* b = &o.opened;
    for (size_t i = 0; i < sizeof(ProofCounts) / sizeof(int); ++i) a[i] += b[i];
  }
};

struct Fetched {
  std::string session, number, terminal_id;
  size_t holder = 0;
  std::string pdf;  // kept for the pdftotext sample only
};

class KioskProof : public ::testing::Test {};

// Rule (issue 10 §3): no mis-issuance. Under parallel terminals, duplicate submissions, timeouts
// and retries, vanishing terminals and a municipal server that is slow or fails, every PDF that
// reaches a terminal is the document of the holder whose card logged in on that terminal's
// session, each session yields at most one, and the terminals' counts, the centre's records and
// the municipality's records agree exactly.
TEST_F(KioskProof, EveryPdfIsTheLoggedInHoldersAndTheCountsReconcile) {
  const int terminals = std::max(1, env_int("JLIS_KIOSK_PROOF_TERMINALS", 16));
  // On PostgreSQL (the _pg run: JLIS_TEST_STORE set) half the sessions and 8 holders, for time.
  const bool postgresql = std::getenv("JLIS_TEST_STORE") != nullptr;
  const int sessions = std::max(terminals, env_int("JLIS_KIOSK_PROOF_SESSIONS", postgresql ? 160 : 320));
  const int holders_n = std::clamp(env_int("JLIS_KIOSK_PROOF_HOLDERS", postgresql ? 8 : 12), 2, 24);
  const int text_every = std::max(1, env_int("JLIS_KIOSK_PROOF_PDFTOTEXT_EVERY", 20));
  const uint64_t seed = std::getenv("JLIS_KIOSK_PROOF_SEED") ? std::strtoull(std::getenv("JLIS_KIOSK_PROOF_SEED"), nullptr, 10)
                                                           : std::random_device{}();
  std::cout << "[ proof    ] seed " << seed << " (JLIS_KIOSK_PROOF_SEED), " << terminals << " terminals, " << sessions
            << " sessions, " << holders_n << " holders" << std::endl;
  const int kLifetime = std::max(1, env_int("JLIS_KIOSK_PROOF_LIFETIME", 4));  // --kiosk-session-seconds

  std::unique_ptr<World> world = World::create("kiosk-proof");
  ASSERT_TRUE(world && world->ok());
  KioskWorld kiosk(*world);
  world->start({"--kiosk-session-seconds", std::to_string(kLifetime)});
  ASSERT_NE(world->port(), 0);

  static const char* const kFamilies[] = {"佐藤", "鈴木", "田中", "伊藤", "渡辺", "山本", "中村", "小林",
                                          "加藤", "吉田", "山田", "松本", "井上", "木村", "清水", "山口",
                                          "森田", "池田", "橋本", "石川", "前田", "藤田", "岡田", "後藤"};
  static const char* const kGiven[] = {"一郎", "二郎", "三郎", "四郎", "五郎", "六郎", "七郎", "八郎",
                                       "九郎", "十郎", "春子", "夏子", "秋子", "冬子", "桃子", "桜子",
                                       "梅子", "菊子", "松子", "竹子", "光子", "正子", "和子", "幸子"};
  std::vector<Holder> holders(holders_n);
  for (int h = 0; h < holders_n; ++h) {
    e2e::CardKey auth = e2e::CardKey::make(), sig = e2e::CardKey::make();
    holders[h].family = kFamilies[h];
    holders[h].given = kGiven[h];
    holders[h].resident = world->resident_with_card("proof-" + std::to_string(h), "1980-01-01", sig, auth, holders[h].name());
    holders[h].card.emplace(kiosk.card(holders[h].resident, auth, sig));
  }
  ASSERT_FALSE(::testing::Test::HasFailure());

  FlakyMunicipality municipality(kiosk.own_url(), seed);
  kiosk.municipal_server("http://127.0.0.1:" + std::to_string(municipality.port()));

  struct Terminal {
    std::string secret, id;
    std::vector<VirtualCard> cards;  // its own copy of every holder's card (a card keeps PIN tries)
    ProofCounts counts;
    std::vector<Fetched> fetched;
    std::vector<std::string> opened, vanished_after_login;
    std::set<std::string> ended_under;
    std::map<std::string, int> bad_gateway_seen;  // sessions whose terminal never cut an answer off
  };
  std::vector<Terminal> lanes(terminals);
  for (int t = 0; t < terminals; ++t) {
    lanes[t].secret = kiosk.terminal("PROOF-" + std::to_string(t), &lanes[t].id);
    for (const Holder& h : holders) lanes[t].cards.push_back(*h.card);
  }
  const int64_t incidents_before = kiosk.count("kiosk_incidents");
  const uint16_t port = world->port();
  const auto started = std::chrono::steady_clock::now();

  std::vector<std::thread> threads;
  for (int t = 0; t < terminals; ++t)
    threads.emplace_back([&, t] {
      Terminal& lane = lanes[t];
      ProofCounts& c = lane.counts;
      std::mt19937_64 rng(seed + 1000003ULL * (t + 1));
      const int mine = sessions / terminals + (t < sessions % terminals ? 1 : 0);
      for (int i = 0; i < mine; ++i) {
        const size_t who = std::uniform_int_distribution<size_t>(0, holders.size() - 1)(rng);
        const int kind = std::uniform_int_distribution<int>(0, 99)(rng);
        const bool vanish_login = kind < 3, vanish_request = kind >= 3 && kind < 6, deadline = kind >= 85;
        const bool dup_request = std::uniform_int_distribution<int>(0, 99)(rng) < 30;
        const bool dup_fetch = std::uniform_int_distribution<int>(0, 99)(rng) < 30;

        Call opened = call(port, "POST", "/v1/kiosk/sessions", lane.secret);
        if (opened.status != 201) {
          ADD_FAILURE() << "open answered " << opened.status << " " << opened.response.body;
          continue;
        }
        ++c.opened;
        const json s = json::parse(opened.response.body);
        const std::string id = s["session_id"];
        lane.opened.push_back(id);
        think(rng);
        VirtualCard& card = lane.cards[who];
        const auto* slot = card.slot(card::CardSecret::authentication_pin);
        Call in = call(port, "POST", "/v1/kiosk/sessions/" + id + "/login", lane.secret,
                       json{{"certificate", slot->certificate_pem}, {"signature", KioskWorld::sign(card, s)}}.dump());
        if (in.status == 410) {
          ++c.ended_under_terminal;
          lane.ended_under.insert(id);
          continue;
        }
        if (in.status != 200) {
          ADD_FAILURE() << "log-in answered " << in.status << " " << in.response.body;
          continue;
        }
        ++c.logged_in;
        if (vanish_login) {
          ++c.vanished_after_login;
          lane.vanished_after_login.push_back(id);
          continue;
        }

        // The document, asked until the centre has one for the session: a 409 means a twin or an
        // earlier (timed-out) request is in flight or has issued it, so the terminal tries the fetch.
        const std::string body = json{{"type", "juminhyo"}, {"copies", 1}}.dump();
        const auto limit = deadline ? std::chrono::milliseconds(100) : std::chrono::milliseconds(30000);
        auto request = [&] { return call(port, "POST", "/v1/kiosk/sessions/" + id + "/documents", lane.secret, body, limit); };
        bool issued = false, ended = false, timed_out = false;
        int bad_gateway = 0;
        std::vector<Call> early;  // PDFs fetched while probing after a 409
        for (int attempt = 0; attempt < 400 && !issued && !ended; ++attempt) {
          think(rng);
          std::vector<Call> answers;
          if (dup_request && attempt == 0) {
            ++c.duplicate_requests;
            for (Call& a : twice(request)) answers.push_back(std::move(a));
          } else {
            answers.push_back(request());
          }
          bool conflict = false;
          for (const Call& a : answers) {
            if (a.status == 201) ++c.created, issued = true;
            else if (a.status == 409) ++c.request_conflicts, conflict = true;
            else if (a.status == 410) ended = true;
            else if (a.status == 0 && deadline) ++c.timeouts, timed_out = true;
            else if (a.status == 502 && a.response.body.find(R"("code":"bad_gateway")") != std::string::npos)
              ++c.bad_gateway, ++bad_gateway;
            else ADD_FAILURE() << "a document request answered " << a.status << " " << a.response.body;
          }
          if (issued || ended || !(conflict || timed_out)) continue;
          // Something may be in flight: does the session hold a document?
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          Call probe = call(port, "GET", "/v1/kiosk/sessions/" + id + "/document", lane.secret);
          if (probe.status == 200) issued = true, early.push_back(std::move(probe));
          else if (probe.status == 410) ended = true;
          else if (probe.status == 409) ++c.fetch_conflicts;
          else ADD_FAILURE() << "a fetch answered " << probe.status << " " << probe.response.body;
        }
        if (!timed_out) c.bad_gateway_no_deadline += bad_gateway, lane.bad_gateway_seen[id] = bad_gateway;
        if (ended) {
          ++c.ended_under_terminal;
          lane.ended_under.insert(id);
          continue;
        }
        if (!issued) {
          ADD_FAILURE() << "session " << id << " never got its document";
          continue;
        }
        if (vanish_request && early.empty()) {
          ++c.vanished_after_request;
          continue;
        }
        think(rng);
        std::vector<Call> pdfs = std::move(early);
        auto fetch = [&] { return call(port, "GET", "/v1/kiosk/sessions/" + id + "/document", lane.secret); };
        if (pdfs.empty()) {
          if (dup_fetch) {
            ++c.duplicate_fetches;
            for (Call& a : twice(fetch)) pdfs.push_back(std::move(a));
          } else {
            pdfs.push_back(fetch());
          }
        } else {
          pdfs.push_back(fetch());  // a second fetch of a fetched document
        }
        int got = 0;
        for (Call& pdf : pdfs) {
          if (pdf.status == 409) {
            ++c.fetch_conflicts;
            continue;
          }
          if (pdf.status == 410) {
            ended = true;
            continue;
          }
          if (pdf.status != 200) {
            ADD_FAILURE() << "a fetch answered " << pdf.status << " " << pdf.response.body;
            continue;
          }
          ++got;
          ++c.documents;
          // Read back: the holder's name and the issuance number, from the PDF itself.
          const std::string number = pdf.response.header("x-issuance-number");
          EXPECT_EQ(pdf_info(pdf.response.body, "Keywords"), number) << id;
          EXPECT_EQ(pdf_info(pdf.response.body, "Subject"), holders[who].name())
              << "session " << id << " of " << holders[who].name() << " received another person's document";
          Fetched f{id, number, lane.id, who, ""};
          if (c.documents % text_every == 1) f.pdf = std::move(pdf.response.body);
          lane.fetched.push_back(std::move(f));
        }
        EXPECT_LE(got, 1) << "session " << id << " yielded " << got << " PDFs";
        if (got == 0) {
          if (ended) ++c.ended_under_terminal, lane.ended_under.insert(id);
          else ADD_FAILURE() << "session " << id << " was issued but never fetched";
          continue;
        }
        think(rng);
        Call done = call(port, "POST", "/v1/kiosk/sessions/" + id + "/printed", lane.secret);
        if (done.status == 200) ++c.printed;
        else if (done.status == 410) ++c.ended_under_terminal, lane.ended_under.insert(id);
        else ADD_FAILURE() << "printed answered " << done.status << " " << done.response.body;
      }
    });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  ProofCounts total;
  for (const Terminal& lane : lanes) total.add(lane.counts);

  // The deadline passes for the vanished terminals: the centre ends the sessions holding a
  // document by itself; the ones left after the log-in are ended by their next request (410).
  std::string terminal_ids;
  for (const Terminal& lane : lanes) terminal_ids += (terminal_ids.empty() ? "'" : ", '") + lane.id + "'";
  const std::string mine = "terminal_id IN (" + terminal_ids + ")";
  std::this_thread::sleep_for(std::chrono::seconds(kLifetime + 1));
  for (const Terminal& lane : lanes)
    for (const std::string& id : lane.vanished_after_login)
      EXPECT_EQ(call(port, "POST", "/v1/kiosk/sessions/" + id + "/printed", lane.secret).status, 410) << id;
  for (int i = 0; i < 100 && kiosk.count("kiosk_sessions", mine + " AND state <> 'ended'") != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::cout << "[ proof    ] " << total.opened << " sessions in " << seconds << " s: " << total.documents
            << " documents, " << total.printed << " printed, " << total.vanished_after_login << " + "
            << total.vanished_after_request << " vanished (after the log-in, after the document), "
            << total.ended_under_terminal << " ended under the terminal; " << total.duplicate_requests
            << " duplicate requests, " << total.duplicate_fetches << " duplicate fetches, " << total.timeouts
            << " timeouts, " << total.bad_gateway << " bad gateways, " << total.request_conflicts
            << " request 409s, " << total.fetch_conflicts << " fetch 409s" << std::endl;

  // Every PDF: the municipality's record and the centre's agree it was that holder's, of that
  // session; no session twice.
  std::set<std::string> sessions_fetched, numbers_fetched;
  size_t read = 0;
  for (const Terminal& lane : lanes)
    for (const Fetched& f : lane.fetched) {
      const Holder& h = holders[f.holder];
      const auto body = std::to_string(ResidentCode::parse(h.resident.resident_code).value().body());
      EXPECT_TRUE(sessions_fetched.insert(f.session).second) << f.session << " yielded two PDFs";
      EXPECT_TRUE(numbers_fetched.insert(f.number).second) << f.number << " reached two terminals";
      EXPECT_EQ(kiosk.count("municipal_issuances", "issuance_number = '" + f.number + "' AND session = '" + f.session +
                                                       "' AND resident_code = " + body +
                                                       " AND channel = 'kiosk' AND outcome = 'issued'"),
                1)
          << f.number << " is not " << h.name() << "'s";
      EXPECT_EQ(kiosk.count("kiosk_sessions", "session_id = '" + f.session + "' AND terminal_id = '" + f.terminal_id +
                                                  "' AND issuance_number = '" + f.number + "' AND resident_code = '" +
                                                  h.resident.resident_code + "' AND fetched_at IS NOT NULL"),
                1);
      if (!f.pdf.empty()) {
        ++read;
        const std::string text = kiosk.pdf_text(f.pdf);
        EXPECT_NE(text.find(h.family), std::string::npos) << f.number << ": pdftotext does not name " << h.name();
        EXPECT_NE(text.find(h.given), std::string::npos) << f.number << ": pdftotext does not name " << h.name();
      }
    }
  EXPECT_GT(read, 0u);
  EXPECT_EQ(static_cast<int>(sessions_fetched.size()), total.documents);

  // The centre's records (kiosk_sessions of the proof's terminals).
  EXPECT_EQ(kiosk.count("kiosk_incidents") - incidents_before, 0) << "no document of another person ever came";
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine), total.opened);
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND state <> 'ended'"), 0) << "every session has ended";
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND fetched_at IS NOT NULL"), total.documents);
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND end_reason = 'printed'"), total.printed);
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND end_reason = 'incident'"), 0);
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND end_reason = 'timeout'"),
            total.vanished_after_login + total.vanished_after_request + total.ended_under_terminal);
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND certificate_serial IS NOT NULL"), total.logged_in);
  // A session that holds a document and was not fetched: a vanished terminal's, or one whose
  // deadline passed under its terminal (at most those).
  const int64_t unfetched = kiosk.count("kiosk_sessions", mine + " AND document_type IS NOT NULL AND fetched_at IS NULL");
  EXPECT_GE(unfetched, total.vanished_after_request);
  EXPECT_LE(unfetched, total.vanished_after_request + total.ended_under_terminal);

  // The municipality's records: every kiosk issuance for these sessions is one the relay saw
  // answered 200, and is either the session's document (the centre recorded it) or one that never
  // reached the centre (the relay swallowed it) or whose session's deadline passed during the relay.
  std::lock_guard lock(municipality.mu_);
  std::string ids;
  for (const Terminal& lane : lanes)
    for (const std::string& id : lane.opened) ids += (ids.empty() ? "'" : ", '") + id + "'";
  const std::string ours = "channel = 'kiosk' AND session IN (" + ids + ")";
  EXPECT_EQ(kiosk.count("municipal_issuances", ours + " AND outcome NOT IN ('issued', 'undelivered')"), 0)
      << "no refusal of a juminhyo";
  EXPECT_EQ(kiosk.count("municipal_issuances", ours),
            static_cast<int64_t>(municipality.passed.size() + municipality.swallowed_numbers.size()));
  int64_t recorded = 0, lost_to_deadline = 0;
  for (const auto& [number, session] : municipality.passed) {
    const std::string row = "session_id = '" + session + "' AND issuance_number = '" + number + "'";
    if (kiosk.count("kiosk_sessions", row + " AND document_type IS NOT NULL") == 1) {
      ++recorded;
    } else {
      ++lost_to_deadline;
      EXPECT_EQ(kiosk.count("kiosk_sessions", row + " AND end_reason = 'timeout'"), 1)
          << number << " reached the centre for " << session << " and was neither recorded nor too late";
    }
  }
  EXPECT_EQ(kiosk.count("kiosk_sessions", mine + " AND issuance_number IS NOT NULL"), recorded + lost_to_deadline);
  // Every document that never reached its terminal goes back (交付中止), once the sweep has
  // returned every ended session's (a return the relay failed is asked again a second later): those
  // the centre had and no terminal fetched, and those the relay swallowed (the centre recorded the
  // municipality it asked without an answer). So the municipality's kiosk documents for these
  // sessions are issued exactly when a terminal fetched them, and undelivered otherwise.
  const std::string to_return = mine + " AND issuance_number IS NOT NULL AND fetched_at IS NULL";
  const std::string pending = mine + " AND returned_at IS NULL AND (return_to IS NOT NULL OR "
                                    "(issuance_number IS NOT NULL AND fetched_at IS NULL))";
  for (int i = 0; i < 600 && kiosk.count("kiosk_sessions", pending) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(kiosk.count("kiosk_sessions", pending), 0)
      << "documents not returned:\n"
      << kiosk.rows("kiosk_sessions", "session_id, state, end_reason, ended_at, return_to, returned_at, "
                    "issuance_number, fetched_at", pending);
  EXPECT_EQ(kiosk.count("municipal_issuances", ours + " AND outcome = 'issued'"), total.documents);
  EXPECT_EQ(kiosk.count("municipal_issuances", ours + " AND outcome = 'undelivered'"),
            kiosk.count("kiosk_sessions", to_return) + static_cast<int64_t>(municipality.swallowed_numbers.size()));
  EXPECT_EQ(kiosk.count("kiosk_sessions", to_return), unfetched + lost_to_deadline);
  for (const std::string& number : municipality.swallowed_numbers) {
    EXPECT_EQ(kiosk.count("municipal_issuances", "issuance_number = '" + number + "' AND outcome = 'undelivered'"), 1)
        << number;
    EXPECT_EQ(kiosk.count("kiosk_sessions", "issuance_number = '" + number + "'"), 0) << number;
  }
  EXPECT_EQ(recorded, kiosk.count("kiosk_sessions", mine + " AND document_type IS NOT NULL"));
  EXPECT_LE(lost_to_deadline, total.ended_under_terminal);
  // The relay's failures reach the terminal as 502 bad_gateway, one for one, on the sessions whose
  // terminal never cut an answer off (a cut-off answer may have been one).
  int injected = 0, swallowed = 0;
  for (const auto& [session, n] : municipality.failed_without_issuing) injected += n;
  for (const auto& [session, n] : municipality.swallowed) swallowed += n;
  for (const Terminal& lane : lanes)
    for (const auto& [session, seen] : lane.bad_gateway_seen) {
      if (lane.ended_under.count(session)) continue;
      const auto f = municipality.failed_without_issuing.find(session);
      const auto w = municipality.swallowed.find(session);
      EXPECT_EQ(seen, (f == municipality.failed_without_issuing.end() ? 0 : f->second) +
                          (w == municipality.swallowed.end() ? 0 : w->second))
          << session;
    }
  EXPECT_LE(total.bad_gateway, injected + swallowed);
  std::cout << "[ proof    ] municipality: " << municipality.passed.size() << " documents passed to the centre ("
            << recorded << " recorded, " << lost_to_deadline << " after the deadline), "
            << municipality.swallowed_numbers.size() << " issued and swallowed, " << injected
            << " failed without issuing; " << read << " PDFs read with pdftotext" << std::endl;
}

}  // namespace
}  // namespace proof
}  // namespace jlis::kiosk::testing
