// No acknowledged change is lost, nothing is half-applied, and a retry applies once: `jlis serve`
// killed with SIGKILL at random moments while clients write over HTTP (issue 8 §4).
//
// Run as Durability.* on SQLite and as Durability.*_pg on PostgreSQL (tests/CMakeLists.txt, label
// durability). The run, reproducible from its seed (printed; JLIS_DURABILITY_SEED sets it):
//   setup    a data directory with a CA, a municipality, the call centre and an agency; residents
//            with cards produced and waiting for handover;
//   server   on PostgreSQL a server of the test's own (tests/store/postgres_server.sh, durable:
//            fsync and synchronous_commit on), since the test crashes it;
//   cycles   (JLIS_DURABILITY_KILLS, default 100) start `jlis serve` on the same directory; retry
//            every request of the last cycle that got no answer, with the same idempotency key
//            (registry events: their event_id; card actions: the Idempotency-Key header);
//            let three clients write (registry events: first registrations, relocations, name
//            changes; card transitions: handover with the card's keys, suspend, resume,
//            report-lost, return) for a random time; SIGKILL the server; on PostgreSQL one cycle in
//            three crashes the database first (SIGKILL to the PostgreSQL server and every backend,
//            mid-commit), then `jlis serve`, and restarts the database (crash recovery); a 5xx
//            answered while the database was going down is not an acknowledgement and is retried;
//   checks   every tenth cycle (what changed since) and at the end (everything): every
//            acknowledged change is there, counted exactly; a resident and its history agree; a
//            card and its certificates agree; no registration was applied twice; a retry of an
//            acknowledged event answers 200 with the body of the first answer.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "../e2e/card_key.h"
#include "../e2e/jlis_process.h"
#include "../e2e/template_dir.h"
#include "../http/client.h"

namespace jlis::durability {
namespace {

using e2e::CardKey;
using e2e::jlis;
using e2e::Server;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

constexpr const char* kMunicipality = "131016";  // 千代田区
constexpr int kCheckEvery = 10;                   // cycles between two checks of what changed
constexpr int kCardResidents = 32;                // cards produced in setup, handed over in the cycles
constexpr int kCardOpsPerCycle = 3;               // card transitions per cycle (spread over the run)
constexpr int kRegistryWorkers = 2;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Today in Japan, the date every event carries.
std::string today_in_japan() {
  const std::time_t t = std::time(nullptr) + 9 * 3600;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// A date of birth no one else in the run has: day `n` after 1940-01-01.
std::string birth_date(int n) {
  std::tm tm{};
  tm.tm_year = 40;
  tm.tm_mon = 0;
  tm.tm_mday = 1 + n;
  tm.tm_hour = 12;
  const std::time_t t = ::timegm(&tm);
  ::gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

const std::pair<const char*, const char*> kSurnames[] = {{"佐藤", "サトウ"}, {"鈴木", "スズキ"}, {"高橋", "タカハシ"},
                                                          {"田中", "タナカ"}, {"伊藤", "イトウ"}, {"渡辺", "ワタナベ"}};
const std::pair<const char*, const char*> kGivenNames[] = {{"太郎", "タロウ"}, {"花子", "ハナコ"}, {"一郎", "イチロウ"},
                                                            {"美咲", "ミサキ"}, {"健", "ケン"}, {"陽菜", "ヒナ"}};

// `n` RSA-2048 public keys (PEM) "generated on the cards": made once per build directory and kept
// beside the test templates (a key is certified once per register, and every run has a new one).
std::vector<std::string> card_public_keys(size_t n) {
  const fs::path file = fs::path(JLIS_TEST_TEMPLATES) / ("durability-card-keys-" + std::to_string(n) + ".json");
  std::ifstream in(file);
  json kept = json::parse(in, nullptr, false);
  if (kept.is_array() && kept.size() == n) return kept.get<std::vector<std::string>>();
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) keys.push_back(CardKey::make().public_pem);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path tmp = file.string() + "." + std::to_string(::getpid());
  std::ofstream(tmp) << json(keys).dump();
  fs::rename(tmp, file, ec);  // atomic: a parallel run reads a whole file or none
  return keys;
}

// One HTTP exchange; status 0 when no answer came (the server died, or was not there).
struct Answer {
  int status = 0;
  std::string body;
  bool replayed = false;  // Idempotent-Replayed: true (a card action's earlier answer)
  bool answered() const { return status != 0; }
  json parsed() const { return json::parse(body, nullptr, false); }
};

Answer call(uint16_t port, bhttp::verb verb, const std::string& target, const std::string& token,
            const std::string& body = "", const std::string& idempotency_key = "") {
  try {
    http::testing::Client client(port);
    http::testing::Headers headers{{"Authorization", "Bearer " + token}};
    if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
    auto r = client.request(verb, target, body, headers);
    return {static_cast<int>(r.result_int()), r.body(), r["Idempotent-Replayed"] == "true"};
  } catch (const std::exception&) {
    return {};
  }
}

// The resident JSON without what another component decorates it with (the current card).
json bare(json resident) {
  if (resident.is_object()) resident.erase("card_id");
  return resident;
}

// A resident of the registry workers, as the acknowledged answers say it must be.
struct ResidentState {
  std::string code;
  std::string dob;
  std::vector<std::string> event_ids;  // every applied event, in order
  json last;                           // the answer to the last applied event
};

// A change event sent and acknowledged (for the final replay check).
struct Acknowledged {
  std::string target, body;
  int status;
  json answer;
};

struct CardState {
  std::string card_id, resident_code;
  std::string status = "shipped";
  std::vector<std::string> history = {"produced", "shipped"};
  bool suspended_once = false;
  int toggles_left = 0;  // suspend/resume steps before the card ends lost or returned
  bool done() const { return status == "lost" || status == "returned"; }
};

// A request that got no answer: retried after the restart with the same key.
struct Uncertain {
  enum class Kind { registration, change, card };
  Kind kind = Kind::registration;
  std::string target = {}, body = {};
  int resident = -1;  // registry: index into the worker's residents (change)
  int card = -1;      // card: index into the cards
  std::string action = {};
  std::string to_status = {}, history_entry = {};
  std::string key = {};  // card: the Idempotency-Key it was sent with
};

struct Tokens {
  std::string municipality, call_centre, agency;
};

class KillRun {
 public:
  // `postgres_state`: the state directory of the test's own PostgreSQL server ("" on SQLite).
  KillRun(std::string dir, uint64_t seed, std::string postgres_state)
      : dir_(std::move(dir)), rng_(seed), seed_(seed), postgres_state_(std::move(postgres_state)) {}

  void setup() {
    ::setenv("JLIS_CA_PASSPHRASE", "durability test passphrase, not a real one", 1);
    // The card keys take a while (0.2 s of CPU each): made meanwhile, or read from an earlier run.
    std::jthread keys([this] { keys_ = card_public_keys(2 * kCardResidents); });  // joined on every way out
    // The directory (on PostgreSQL with its database) is made once per build and copied.
    const auto ran = e2e::prepared_dir(
        dir_, {{"init", "--data", "{dir}"},
               {"ca", "init", "--data", "{dir}"},
               {"municipality", "token", "--data", "{dir}", "--code", kMunicipality},
               {"token", "create", "--data", "{dir}", "--role", "call-centre", "--name", "durability"},
               {"agency", "add", "--data", "{dir}", "--name", "Audit", "--purposes", "audit"}});
    ASSERT_EQ(ran.size(), 5u);
    for (const auto& r : ran) ASSERT_EQ(r.exit_code, 0) << r.err;
    tokens_.municipality = ran[2].last_line();
    tokens_.call_centre = ran[3].last_line();
    tokens_.agency = ran[4].last_line();
    ASSERT_EQ(tokens_.agency.rfind("jlis_", 0), 0u);
    ASSERT_EQ(tokens_.call_centre.rfind("jlis_", 0), 0u);

    // Residents with cards waiting for handover.
    std::vector<int64_t> applications;
    {
      Server server(dir_);
      ASSERT_NE(server.port(), 0);
      for (int i = 0; i < kCardResidents; ++i) {
        const json event = registration("d-card-" + std::to_string(i), 20000 + i, i);
        Answer a = call(server.port(), bhttp::verb::post, events_target(), tokens_.municipality, event.dump());
        ASSERT_EQ(a.status, 201) << a.body;
        CardState c;
        c.resident_code = a.parsed()["resident_code"];
        Answer applied = call(server.port(), bhttp::verb::post, "/v1/cards/applications", tokens_.municipality,
                              json{{"resident_code", c.resident_code}, {"channel", "window"}, {"photo", true}}.dump());
        ASSERT_EQ(applied.status, 201) << applied.body;
        applications.push_back(applied.parsed()["application_id"]);
        cards_.push_back(c);
      }
      ASSERT_EQ(server.stop(), 0);
    }
    auto produced = jlis({"cards", "produce", "--data", dir_});
    ASSERT_EQ(produced.exit_code, 0) << produced.err;
    Server server(dir_);
    ASSERT_NE(server.port(), 0);
    for (size_t i = 0; i < cards_.size(); ++i) {
      Answer a = call(server.port(), bhttp::verb::get, "/v1/cards/applications/" + std::to_string(applications[i]),
                      tokens_.municipality);
      ASSERT_EQ(a.status, 200) << a.body;
      ASSERT_TRUE(a.parsed()["card_id"].is_string()) << a.body;
      cards_[i].card_id = a.parsed()["card_id"];
      cards_[i].toggles_left = 2 + static_cast<int>(rng_() % 7);
    }
    ASSERT_EQ(server.stop(), 0);
    keys.join();
    workers_.resize(kRegistryWorkers);
    for (int w = 0; w < kRegistryWorkers; ++w) workers_[w].rng.seed(seed_ * 31 + static_cast<uint64_t>(w));
    card_rng_.seed(seed_ * 31 + 1000);
  }

  // Runs tests/store/postgres_server.sh COMMAND on the test's own server.
  void postgres(const std::string& command) {
    auto r = e2e::shell(e2e::quote(JLIS_POSTGRES_SERVER) + " " + command + " " + e2e::quote(postgres_state_));
    ASSERT_EQ(r.exit_code, 0) << "postgres_server.sh " << command << ": " << r.out;
  }

  // The cycles: start, retry, write, kill.
  void cycles(int kills) {
    std::uniform_int_distribution<int> delay_ms(10, 200);
    const auto started = std::chrono::steady_clock::now();
    double starting = 0;
    for (int cycle = 0; cycle < kills; ++cycle) {
      const auto start = std::chrono::steady_clock::now();
      Server server(dir_);
      starting += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ASSERT_NE(server.port(), 0) << "jlis serve did not start after kill " << cycle;
      port_ = server.port();
      ASSERT_NO_FATAL_FAILURE(retry_uncertain());
      if (cycle > 0 && cycle % kCheckEvery == 0) {
        ASSERT_NO_FATAL_FAILURE(check(false));
      }

      std::vector<std::thread> threads;
      for (int w = 0; w < kRegistryWorkers; ++w) threads.emplace_back([this, w] { registry_worker(workers_[w]); });
      threads.emplace_back([this] { card_worker(); });
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng_)));
      const bool crash_database = !postgres_state_.empty() && rng_() % 3 == 0;
      if (crash_database) {
        database_crashing_ = true;
        ASSERT_NO_FATAL_FAILURE(postgres("crash"));
      }
      server.kill(SIGKILL);
      for (auto& t : threads) t.join();
      if (crash_database) {
        ASSERT_NO_FATAL_FAILURE(postgres("restart"));
        database_crashing_ = false;
        ++database_crashes_;
      }
      ++kills_;
    }
    // The last restart: retry what the last kill left unanswered, then check everything.
    Server server(dir_);
    ASSERT_NE(server.port(), 0) << "jlis serve did not start after the last kill";
    port_ = server.port();
    ASSERT_NO_FATAL_FAILURE(retry_uncertain());
    ASSERT_NO_FATAL_FAILURE(check(true));
    ASSERT_NO_FATAL_FAILURE(check_no_double_registration());
    ASSERT_NO_FATAL_FAILURE(check_replays());
    EXPECT_EQ(server.stop(), 0);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    size_t events = 0, residents = 0;
    for (const auto& w : workers_) {
      residents += w.residents.size();
      for (const auto& r : w.residents) events += r.event_ids.size();
    }
    size_t transitions = 0;
    for (const auto& c : cards_) transitions += c.history.size() - 2;
    std::cout << "[durability] seed " << seed_ << ": " << kills_ << " kills (" << database_crashes_
              << " with a crash of PostgreSQL first, " << database_errors_ << " answers 5xx meanwhile) in " << seconds << " s (restarts "
              << starting / std::max(1, kills_) << " s each); " << residents
              << " residents, " << events << " events, " << transitions << " card transitions applied; "
              << unanswered_ << " requests unanswered at a kill, of which " << found_applied_
              << " had been applied (their retry answered the replay), " << applied_on_retry_
              << " were applied by their retry" << std::endl;
    ::testing::Test::RecordProperty("kills", kills_);
    ::testing::Test::RecordProperty("database_crashes", database_crashes_);
    ::testing::Test::RecordProperty("unanswered", unanswered_);
    ::testing::Test::RecordProperty("applied_before_kill", found_applied_);
  }

 private:
  struct Worker {
    std::mt19937_64 rng;
    std::vector<ResidentState> residents;
    std::vector<Acknowledged> acknowledged;
    std::optional<Uncertain> uncertain;
    std::set<int> dirty;  // residents changed since the last check
    int next = 0;
  };

  std::string events_target() const { return std::string("/v1/municipalities/") + kMunicipality + "/events"; }

  // A first registration (from abroad: an adult) of person number `n`; the name from `name`.
  json registration(const std::string& event_id, int n, size_t name) const {
    const auto& [surname, surname_kana] = kSurnames[name % 6];
    const auto& [given, given_kana] = kGivenNames[(name / 6) % 6];
    return {{"event_id", event_id}, {"type", "move_in"}, {"date", today_}, {"from", "abroad"},
            {"person", {{"name", std::string(surname) + "　" + given},
                        {"name_kana", std::string(surname_kana) + "　" + given_kana},
                        {"date_of_birth", birth_date(n)}, {"sex", n % 2 ? "male" : "female"},
                        {"address", "東京都千代田区丸の内一丁目1番" + std::to_string(1 + n % 9) + "号"}}}};
  }

  // Registry events until one gets no answer (the server was killed).
  void registry_worker(Worker& w) {
    const int me = static_cast<int>(&w - workers_.data());
    for (;;) {
      Uncertain u;
      const bool register_new = w.residents.empty() || w.rng() % 5 == 0;
      const std::string id = "d-" + std::to_string(me) + "-" + std::to_string(w.next++);
      json event;
      if (register_new) {
        const int n = me * 5000 + static_cast<int>(w.residents.size());
        event = registration(id, n, static_cast<size_t>(w.rng()));
        u = {Uncertain::Kind::registration, events_target(), event.dump()};
      } else {
        const int r = static_cast<int>(w.rng() % w.residents.size());
        event = {{"event_id", id}, {"date", today_}, {"resident_code", w.residents[r].code}};
        if (w.rng() % 2) {
          event["type"] = "relocation";
          event["address"] = "東京都千代田区永田町一丁目" + std::to_string(1 + w.rng() % 20) + "番" +
                             std::to_string(1 + w.rng() % 20) + "号";
        } else {
          const size_t s = w.rng() % 6, g = w.rng() % 6;
          event["type"] = "name_change";
          event["name"] = std::string(kSurnames[s].first) + "　" + kGivenNames[g].first;
          event["name_kana"] = std::string(kSurnames[s].second) + "　" + kGivenNames[g].second;
        }
        u = {Uncertain::Kind::change, events_target(), event.dump(), r};
      }
      Answer a = call(port_, bhttp::verb::post, u.target, tokens_.municipality, u.body);
      if (!acknowledged(a)) {
        w.uncertain = u;
        return;
      }
      if (a.status != 201) {  // every event the workers send is valid: anything else is a failure
        std::lock_guard lock(mu_);
        failures_.push_back("event " + u.body + " answered " + std::to_string(a.status) + " " + a.body);
        return;
      }
      apply_answer(w, u, a);
      w.acknowledged.push_back({u.target, u.body, a.status, a.parsed()});
    }
  }

  // Records an applied event (acknowledged, or found applied by its retry) in the expected state.
  void apply_answer(Worker& w, const Uncertain& u, const Answer& a) {
    const json event = json::parse(u.body);
    const json answer = a.parsed();
    int r = u.resident;
    if (u.kind == Uncertain::Kind::registration) {
      w.residents.push_back({answer["resident_code"], event["person"]["date_of_birth"], {}, {}});
      r = static_cast<int>(w.residents.size()) - 1;
    }
    w.residents[r].event_ids.push_back(event["event_id"]);
    w.residents[r].last = answer;
    w.dirty.insert(r);
  }

  // Card transitions, a few per cycle at random moments, until one gets no answer.
  void card_worker() {
    for (int done = 0; done < kCardOpsPerCycle; ++done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(card_rng_() % 100));
      int pick = -1;
      for (size_t i = 0; i < cards_.size(); ++i)
        if (!cards_[i].done()) {
          pick = static_cast<int>(i);
          if (cards_[i].status != "shipped") break;  // finish the cards in hand before new ones
        }
      if (pick < 0) return;
      CardState& c = cards_[pick];
      Uncertain u{Uncertain::Kind::card, "", "{}", -1, pick};
      if (c.status == "shipped") {
        u.action = "handover";
        u.body = json{{"identity_checked", true},
                      {"public_keys", {{"signature", keys_[2 * pick]}, {"authentication", keys_[2 * pick + 1]}}}}
                     .dump();
        u.to_status = "active";
        u.history_entry = "handed_over";
      } else if (c.status == "active" && c.toggles_left > 0) {
        u.action = "suspend";
        u.to_status = "suspended";
        u.history_entry = "suspended";
      } else if (c.status == "suspended" && c.toggles_left > 0) {
        u.action = "resume";
        u.to_status = "active";
        u.history_entry = "resumed";
      } else if (card_rng_() % 2) {
        u.action = "report-lost";
        u.body = json{{"reason", card_rng_() % 2 ? "lost" : "stolen"}}.dump();
        u.to_status = "lost";
        u.history_entry = "reported_lost";
      } else {
        u.action = "return";
        u.to_status = "returned";
        u.history_entry = "returned";
      }
      u.target = "/v1/cards/" + c.card_id + "/" + u.action;
      u.key = c.card_id + "-" + std::to_string(c.history.size());  // the card's next step: unique per run
      Answer a = call(port_, bhttp::verb::post, u.target, card_token(u.action), u.body, u.key);
      if (!acknowledged(a)) {
        card_uncertain_ = u;
        return;
      }
      if (a.status != 200) {
        std::lock_guard lock(mu_);
        failures_.push_back(u.target + " answered " + std::to_string(a.status) + " " + a.body);
        return;
      }
      apply_card(u);
    }
    // Idle until the kill.
  }

  // An answer that may count: none came, or (while the database is being crashed) a 5xx, are
  // not acknowledgements; the request is uncertain and retried after the restart.
  bool acknowledged(const Answer& a) {
    if (!a.answered()) return false;
    if (a.status >= 500 && database_crashing_) {
      ++database_errors_;
      return false;
    }
    return true;
  }

  const std::string& card_token(const std::string& action) const {
    return action == "handover" || action == "return" ? tokens_.municipality : tokens_.call_centre;
  }

  void apply_card(const Uncertain& u) {
    CardState& c = cards_[u.card];
    if (u.action == "suspend") c.suspended_once = true;
    if (u.action == "resume") --c.toggles_left;
    c.status = u.to_status;
    c.history.push_back(u.history_entry);
    dirty_cards_.insert(u.card);
  }

  // Each unanswered request again, with the same key: applied once, whatever the kill left.
  void retry_uncertain() {
    ASSERT_TRUE(failures_.empty()) << failures_.front();
    for (auto& w : workers_) {
      if (!w.uncertain) continue;
      const Uncertain u = *w.uncertain;
      w.uncertain.reset();
      ++unanswered_;
      Answer a = call(port_, bhttp::verb::post, u.target, tokens_.municipality, u.body);
      ASSERT_TRUE(a.status == 201 || a.status == 200) << "the retry of " << u.body << ": " << a.status << " " << a.body;
      // 200: the event had been applied before the kill; its retry is answered as a replay.
      if (a.status == 200) ++found_applied_; else ++applied_on_retry_;
      apply_answer(w, u, a);
    }
    if (card_uncertain_) {
      const Uncertain u = *card_uncertain_;
      card_uncertain_.reset();
      ++unanswered_;
      Answer a = call(port_, bhttp::verb::post, u.target, card_token(u.action), u.body, u.key);
      // With its key, the retry is answered 200 either way: applied now, or the answer of the
      // request the kill cut off (Idempotent-Replayed), and the card shows the action once.
      ASSERT_EQ(a.status, 200) << "the retry of " << u.target << ": " << a.body;
      ASSERT_EQ(a.parsed()["status"], u.to_status) << a.body;
      ASSERT_EQ(a.parsed()["history"].back()["action"], u.history_entry) << a.body;
      ++(a.replayed ? found_applied_ : applied_on_retry_);
      apply_card(u);
    }
  }

  // Every acknowledged change present, counted exactly; residents and histories, cards and
  // certificates agree. `all`: every resident and card, else those changed since the last check.
  void check(bool all) {
    for (auto& w : workers_) {
      std::set<int> which = w.dirty;
      if (all)
        for (int i = 0; i < static_cast<int>(w.residents.size()); ++i) which.insert(i);
      for (int i : which) ASSERT_NO_FATAL_FAILURE(check_resident(w.residents[i]));
      w.dirty.clear();
    }
    std::set<int> which = dirty_cards_;
    if (all)
      for (int i = 0; i < static_cast<int>(cards_.size()); ++i) which.insert(i);
    for (int i : which) ASSERT_NO_FATAL_FAILURE(check_card(cards_[i]));
    dirty_cards_.clear();
    ++checks_;
  }

  void check_resident(const ResidentState& r) {
    Answer now = call(port_, bhttp::verb::get, "/v1/residents/" + r.code, tokens_.municipality);
    ASSERT_EQ(now.status, 200) << r.code << ": " << now.body;
    Answer history = call(port_, bhttp::verb::get, "/v1/residents/" + r.code + "/history", tokens_.municipality);
    ASSERT_EQ(history.status, 200) << history.body;
    const json events = history.parsed()["events"];
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(e["event_id"]);
    ASSERT_EQ(ids, r.event_ids) << "resident " << r.code << ": the history is not the acknowledged events";
    // The record, its last history entry and the last acknowledged answer are one resident.
    EXPECT_EQ(bare(now.parsed()), bare(r.last)) << "resident " << r.code;
    EXPECT_EQ(bare(events.back()["resident"]), bare(r.last)) << "resident " << r.code << "'s last history entry";
  }

  void check_card(const CardState& c) {
    Answer card = call(port_, bhttp::verb::get, "/v1/cards/" + c.card_id, tokens_.call_centre);
    ASSERT_EQ(card.status, 200) << card.body;
    const json j = card.parsed();
    EXPECT_EQ(j["status"], c.status) << "card " << c.card_id;
    std::vector<std::string> history;
    for (const auto& h : j["history"]) history.push_back(h["action"]);
    EXPECT_EQ(history, c.history) << "card " << c.card_id << ": its history is not the transitions applied";
    Answer list = call(port_, bhttp::verb::get, "/v1/residents/" + c.resident_code + "/certificates", tokens_.municipality);
    ASSERT_EQ(list.status, 200) << list.body;
    std::map<std::string, std::string> status_by_kind;
    int count = 0;
    const json certificates = list.parsed()["certificates"];
    for (const auto& cert : certificates) {
      if (cert["card_id"] != c.card_id) continue;
      ++count;
      status_by_kind[cert["kind"]] = cert["status"];
    }
    if (c.status == "shipped") {
      EXPECT_EQ(count, 0) << "card " << c.card_id << " not handed over has certificates";
      return;
    }
    // Handed over: its two certificates, in the state the card's transitions put them in.
    ASSERT_EQ(count, 2) << "card " << c.card_id << " (" << c.status << "): " << list.body;
    std::string expected = "revoked";  // resumed (a hold is never released), lost, returned
    if (c.status == "active" && !c.suspended_once) expected = "good";
    if (c.status == "suspended") expected = c.history.size() == 4 ? "onHold" : "revoked";
    EXPECT_EQ(status_by_kind["signature"], expected) << "card " << c.card_id << " (" << c.status << "): " << list.body;
    EXPECT_EQ(status_by_kind["authentication"], expected) << "card " << c.card_id << ": " << list.body;
  }

  // No registration was applied twice: each person's basic four are found once.
  void check_no_double_registration() {
    for (const auto& w : workers_)
      for (const auto& r : w.residents) {
        const json query = {{"name", r.last["name"]}, {"date_of_birth", r.dob}, {"purpose", "audit"}};
        Answer a = call(port_, bhttp::verb::post, "/v1/residents/search", tokens_.agency, query.dump());
        ASSERT_EQ(a.status, 200) << a.body;
        EXPECT_EQ(a.parsed()["results"].size(), 1u) << "resident " << r.code << " registered more than once: " << a.body;
      }
  }

  // An acknowledged event sent again is a replay: 200, and the answer of the first time.
  void check_replays() {
    int replayed = 0;
    for (const auto& w : workers_)
      for (size_t i = 0; i < w.acknowledged.size(); i += 7) {
        const auto& ack = w.acknowledged[i];
        Answer a = call(port_, bhttp::verb::post, ack.target, tokens_.municipality, ack.body);
        ASSERT_EQ(a.status, 200) << ack.body << ": " << a.body;
        EXPECT_EQ(bare(a.parsed()), bare(ack.answer)) << ack.body;
        ++replayed;
      }
    EXPECT_GT(replayed, 0);
  }

  const std::string dir_;
  std::mt19937_64 rng_, card_rng_;
  const uint64_t seed_;
  const std::string today_ = today_in_japan();
  Tokens tokens_;
  std::vector<std::string> keys_;  // the cards' public keys (PEM), two per card
  std::vector<Worker> workers_;
  std::vector<CardState> cards_;
  std::optional<Uncertain> card_uncertain_;
  std::string postgres_state_;
  std::atomic<bool> database_crashing_{false};
  std::atomic<int> database_errors_{0};
  int database_crashes_ = 0;
  std::set<int> dirty_cards_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<std::string> failures_;
  int kills_ = 0, checks_ = 0, unanswered_ = 0, found_applied_ = 0, applied_on_retry_ = 0;
};

// On PostgreSQL, a server of the test's own, stopped however the test ends.
class OwnPostgresServer {
 public:
  explicit OwnPostgresServer(std::string state) : state_(std::move(state)) {
    fs::create_directories(state_);
    auto r = e2e::shell(e2e::quote(JLIS_POSTGRES_SERVER) + " start " + e2e::quote(state_) + " durable");
    EXPECT_EQ(r.exit_code, 0) << r.out;
    ::setenv("JLIS_TEST_STORE", ("@" + state_ + "/url").c_str(), 1);  // the test's databases go there
  }
  ~OwnPostgresServer() {
    (void)e2e::shell(e2e::quote(JLIS_POSTGRES_SERVER) + " stop " + e2e::quote(state_));
    fs::remove_all(state_);
  }
  const std::string& state() const { return state_; }

 private:
  std::string state_;
};

TEST(Durability, KillNineDuringWritesLosesNoAcknowledgedChangeAndRetriesApplyOnce) {
  const bool postgresql = std::getenv("JLIS_DURABILITY_POSTGRESQL") != nullptr;
  const uint64_t seed = static_cast<uint64_t>(
      env_int("JLIS_DURABILITY_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  std::cout << "[durability] " << (postgresql ? "PostgreSQL" : "SQLite")
            << ", seed " << seed << " (JLIS_DURABILITY_SEED=" << seed << " reproduces the kill schedule)" << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  const std::string dir = (fs::temp_directory_path() / ("jlis-durability-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  std::optional<OwnPostgresServer> server;
  if (postgresql) {
    server.emplace(dir + "-postgres");
    ASSERT_FALSE(HasFailure());
  }
  KillRun run(dir, seed, server ? server->state() : "");
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(run.setup());
  std::cout << "[durability] setup took "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s" << std::endl;
  ASSERT_NO_FATAL_FAILURE(run.cycles(env_int("JLIS_DURABILITY_KILLS", 100)));
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace jlis::durability
