// The failover drill of two centres (issue 8 §3–4), on loopback, through what an operator and the
// municipalities use: a pg_auto_failover formation (tests/centres/formation.sh: a monitor, the
// primary "west" and its synchronous standby "east"), `jlis init --centre … --read-store …` for each
// centre, a `jlis serve` per centre, and births submitted over HTTP to both while west's node is
// killed (SIGKILL to its keeper and PostgreSQL). pg_auto_failover promotes east; both servers'
// writers follow it without a restart. Rules proved:
//   - every change either centre acknowledged before, during or after the failover is present on
//     the new primary, and again on west once it rejoined as the standby (synchronous replication;
//     a standby replaying what was acknowledged while it was away gets a bounded wait);
//   - an event that was not acknowledged, submitted again with its event_id, is applied exactly once;
//   - /healthz names the centre and the role of the store its reads use; `jlis centre status`
//     names the primary and its synchronous standby;
//   - afterwards both centres' OCSP responders give the same answer for every certificate, a
//     revocation made during the failover included;
//   - a planned switchover back to west (pg_autoctl perform switchover, as docs/OPERATIONS.md runs
//     it), with writes running into both centres, loses no acknowledged change either, and both
//     servers follow it without a restart.
// Label postgresql; no timing is asserted (bench/failover_time.sh measures it).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "../e2e/card_key.h"
#include "../e2e/jlis_process.h"
#include "../http/client.h"
#include "pki/openssl.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The formation of tests/centres/formation.sh, stopped on destruction (also when the test fails).
class Formation {
 public:
  Formation() {
    auto started = run("start");
    ok_ = started.exit_code == 0;
    log_ = started.out;
    std::ifstream env(fs::path(JLIS_CENTRES_STATE) / "env");
    for (std::string line; std::getline(env, line);)
      if (auto eq = line.find('='); eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ~Formation() { run("stop"); }
  Output run(const std::string& command, const std::string& node = "") {
    return shell(quote(JLIS_CENTRES_FORMATION) + " " + command + " " + quote(JLIS_CENTRES_STATE) +
                 (node.empty() ? "" : " " + node));
  }
  bool ok() const { return ok_; }
  const std::string& log() const { return log_; }
  std::string port(const std::string& node) { return env_[node + "_port"]; }

 private:
  bool ok_ = false;
  std::string log_;
  std::map<std::string, std::string> env_;
};

// One HTTP exchange; a connection refused or reset answers status 0 instead of throwing.
struct Answer {
  int status = 0;
  std::string body;
};
Answer call(uint16_t port, bhttp::verb verb, const std::string& target, const std::string& body, const std::string& token) {
  try {
    auto r = Client(port).request(verb, target, body, {{"Authorization", "Bearer " + token}});
    return {static_cast<int>(r.result_int()), r.body()};
  } catch (const std::exception& e) {
    return {0, e.what()};
  }
}

// A birth registered for `born` (an adult born in 1985 gets a signature certificate with a card).
json birth(const std::string& event_id, int n, const std::string& born = "2020-04-02") {
  return {{"event_id", event_id}, {"type", "birth"}, {"date", born},
          {"person", {{"name", "山田　太郎"}, {"name_kana", "ヤマダ　タロウ"}, {"date_of_birth", born},
                      {"sex", n % 2 ? "male" : "female"}, {"address", "東京都千代田区丸の内一丁目" + std::to_string(n % 9 + 1) + "番1号"}}}};
}

TEST(FailoverDrill, EveryAcknowledgedChangeSurvivesTheLossOfThePrimaryAndASwitchoverBackAndBothCentresAgree) {
  Formation formation;
  ASSERT_TRUE(formation.ok()) << formation.log();
  const std::string w = formation.port("west"), e = formation.port("east");
  const std::string base = "postgresql://postgres@";
  const std::string store = base + "127.0.0.1:" + w + ",127.0.0.1:" + e + "/jlis?target_session_attrs=read-write&connect_timeout=2";
  // Each centre reads from its own node first, and from the other while its own is down.
  const std::string west_read = base + "127.0.0.1:" + w + ",127.0.0.1:" + e + "/jlis?connect_timeout=2";
  const std::string east_read = base + "127.0.0.1:" + e + ",127.0.0.1:" + w + "/jlis?connect_timeout=2";

  const fs::path root = fs::temp_directory_path() / ("jlis-drill-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "files");
  struct RemoveAtEnd {  // also when an assertion ends the test early
    fs::path path;
    ~RemoveAtEnd() { fs::remove_all(path); }
  } remove_at_end{root};
  const std::string west_dir = (root / "west").string(), east_dir = (root / "east").string();
  ::setenv("JLIS_CA_PASSPHRASE", "drill passphrase, not a real one", 1);
  auto init = jlis({"init", "--data", west_dir, "--store", store, "--centre", "west", "--read-store", west_read});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto ca = jlis({"ca", "init", "--data", west_dir});
  ASSERT_EQ(ca.exit_code, 0) << ca.err;
  const std::string chiyoda = jlis({"municipality", "token", "--data", west_dir, "--code", "131016"}).last_line();
  // The second centre: a copy of the data directory (keys, configuration), naming its own centre.
  fs::copy(west_dir, east_dir, fs::copy_options::recursive);
  auto init_east = jlis({"init", "--data", east_dir, "--centre", "east", "--read-store", east_read});
  ASSERT_EQ(init_east.exit_code, 0) << init_east.err;

  Server west(west_dir), east(east_dir);
  ASSERT_NE(west.port(), 0);
  ASSERT_NE(east.port(), 0);
  auto health = [](uint16_t port) { return json::parse(Client(port).get("/healthz").body()); };
  EXPECT_EQ(health(west.port())["centre"], "west");
  EXPECT_EQ(health(west.port())["store_role"], "primary");
  EXPECT_EQ(health(east.port())["centre"], "east");
  EXPECT_EQ(health(east.port())["store_role"], "standby");  // east's reads come from its standby

  // Synchronous replication: the primary's standby is a synchronous (quorum) one.
  auto status = jlis({"centre", "status", "--data", west_dir, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  {
    const json s = json::parse(status.out);
    ASSERT_EQ(s["nodes"].size(), 2u) << status.out;
    EXPECT_EQ(s["nodes"][0]["role"], "primary") << status.out;
    EXPECT_EQ(s["nodes"][0]["local"], true) << status.out;
    ASSERT_EQ(s["nodes"][0]["replicas"].size(), 1u) << status.out;
    EXPECT_EQ(s["nodes"][0]["replicas"][0]["sync_state"], "quorum") << status.out;
    EXPECT_EQ(s["nodes"][1]["role"], "standby") << status.out;
  }

  // Three residents with cards and certificates: A revoked before the drill, B left good, C revoked
  // by a relocation submitted while the failover runs.
  auto post = [&](uint16_t port, const std::string& target, const json& body) {
    return call(port, bhttp::verb::post, target, body.dump(), chiyoda);
  };
  std::vector<std::string> residents, serials;
  std::vector<int64_t> applications;
  for (int i = 0; i < 3; ++i) {
    auto born = post(east.port(), "/v1/municipalities/131016/events", birth("card-" + std::to_string(i), i, "1985-04-02"));
    ASSERT_EQ(born.status, 201) << born.body;
    residents.push_back(json::parse(born.body)["resident_code"]);
    auto applied = post(west.port(), "/v1/cards/applications",
                        {{"resident_code", residents.back()}, {"channel", "window"}, {"photo", true}});
    ASSERT_EQ(applied.status, 201) << applied.body;
    applications.push_back(json::parse(applied.body)["application_id"].get<int64_t>());
  }
  auto produced = jlis({"cards", "produce", "--data", east_dir});
  ASSERT_EQ(produced.exit_code, 0) << produced.err;
  for (size_t i = 0; i < residents.size(); ++i) {
    const std::string& resident = residents[i];
    auto application = call(east.port(), bhttp::verb::get, "/v1/cards/applications/" + std::to_string(applications[i]), "", chiyoda);
    ASSERT_EQ(application.status, 200) << application.body;
    const std::string card = json::parse(application.body).value("card_id", "");
    ASSERT_FALSE(card.empty()) << application.body;
    const CardKey sig = CardKey::make(), auth = CardKey::make();
    auto handed = post(west.port(), "/v1/cards/" + card + "/handover",
                       {{"identity_checked", true}, {"public_keys", {{"signature", sig.public_pem}, {"authentication", auth.public_pem}}}});
    ASSERT_EQ(handed.status, 200) << handed.body;
    auto certificates = call(east.port(), bhttp::verb::get, "/v1/residents/" + resident + "/certificates", "", chiyoda);
    std::string serial;
    const json listed = json::parse(certificates.body);  // outlives the loop (a temporary would not)
    for (const auto& c : listed["certificates"])
      if (c["kind"] == "signature") serial = c["serial"];
    ASSERT_FALSE(serial.empty()) << certificates.body;
    serials.push_back(serial);
    auto der = call(west.port(), bhttp::verb::get, "/v1/pki/certificates/" + serial, "", chiyoda);
    ASSERT_EQ(der.status, 200);
    write_file(root / "files" / (serial + ".pem"), pki::x509_pem(pki::x509_from_der(der.body).value().get()).value());
  }
  const json cas = json::parse(Client(west.port()).get("/v1/pki/ca").body())["certificates"];
  for (const auto& c : cas) write_file(root / "files" / (c["kind"].get<std::string>() + ".pem"), c["pem"]);
  auto relocate = [&](uint16_t port, int who, const std::string& event_id) {
    return post(port, "/v1/municipalities/131016/events",
                {{"event_id", event_id}, {"type", "relocation"}, {"date", "2025-01-10"},
                 {"resident_code", residents[who]}, {"address", "東京都千代田区永田町一丁目7番1号"}});
  };
  ASSERT_EQ(relocate(west.port(), 0, "relocate-a").status / 100, 2);

  // Writes running into both centres around a change of primary: each thread submits births with
  // its own event_ids and records which were acknowledged (2xx) and which were not (anything else:
  // 503 while no primary exists). After the change, each centre must get 5 more acknowledged (its
  // writer followed the new primary without a restart); then the unacknowledged ones are submitted
  // again: each applied exactly once (201 new, or 200 when it had been committed although its
  // answer was lost).
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // event_id → resident_code
  std::map<std::string, std::string> how;  // event_id → where and when it was acknowledged (for a failure's message)
  auto centre = [&](uint16_t port) { return std::string(port == west.port() ? "west" : "east"); };
  std::vector<std::pair<uint16_t, json>> unacknowledged;  // where it was sent, and the event
  std::atomic<bool> changed{false}, stop{false};
  std::atomic<int> acked_after[2] = {0, 0};
  auto writer = [&](int which, uint16_t port, const std::string& prefix) {
    for (int n = 0; !stop; ++n) {
      const json event = birth(prefix + std::to_string(n), n);
      const bool after = changed;
      auto r = post(port, "/v1/municipalities/131016/events", event);
      std::lock_guard lock(mu);
      if (r.status / 100 == 2) {
        acknowledged[event["event_id"]] = json::parse(r.body)["resident_code"];
        how[event["event_id"]] = centre(port) + (after ? ", after the change began" : ", before the change");
        if (after) ++acked_after[which];
      } else {
        unacknowledged.emplace_back(port, event);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  };
  auto acked = [&] {
    std::lock_guard lock(mu);
    return acknowledged.size();
  };
  auto writes_around = [&](const std::string& round, const std::function<void()>& change) {
    changed = false;
    stop = false;
    acked_after[0] = acked_after[1] = 0;
    const size_t before = acked();
    std::thread west_writes(writer, 0, west.port(), "west-" + round + "-"),
        east_writes(writer, 1, east.port(), "east-" + round + "-");
    for (auto until = Clock::now() + std::chrono::seconds(60); acked() < before + 40 && Clock::now() < until;)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    changed = true;
    change();
    for (auto until = Clock::now() + std::chrono::seconds(60);
         (acked_after[0] < 5 || acked_after[1] < 5) && Clock::now() < until;)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
    west_writes.join();
    east_writes.join();
    EXPECT_GE(acked_after[0], 5) << round << ": west's writer did not follow the new primary";
    EXPECT_GE(acked_after[1], 5) << round << ": east's writer did not follow the new primary";
    for (const auto& [port, event] : std::exchange(unacknowledged, {})) {
      auto r = post(port, "/v1/municipalities/131016/events", event);
      ASSERT_EQ(r.status / 100, 2) << event["event_id"] << ": " << r.body;
      acknowledged[event["event_id"]] = json::parse(r.body)["resident_code"];
      how[event["event_id"]] = centre(port) + ", submitted again after the change (" + std::to_string(r.status) + ")";
    }
  };
  // Every acknowledged change is in both centres (each reads its own node, primary or standby);
  // distinct events made distinct residents (nothing applied twice). A standby may still be
  // replaying what a new primary acknowledged before its synchronous standby was back (pg_auto_
  // failover's wait_primary): each change must appear there within the same 60 s bound.
  auto all_present = [&] {
    std::set<std::string> codes;
    const auto until = Clock::now() + std::chrono::seconds(60);
    for (const auto& [id, code] : acknowledged) {
      codes.insert(code);
      for (uint16_t port : {east.port(), west.port()}) {
        Answer r;
        for (;;) {
          r = call(port, bhttp::verb::get, "/v1/residents/" + code + "/history", "", chiyoda);
          if (r.status != 404 || Clock::now() >= until) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (r.status != 200) {  // lost, or a standby still behind? The other centre and the formation tell.
          const uint16_t other = port == east.port() ? west.port() : east.port();
          auto there = call(other, bhttp::verb::get, "/v1/residents/" + code + "/history", "", chiyoda);
          FAIL() << id << " (acknowledged by " << how[id] << ") " << code << " at " << centre(port) << ": "
                 << r.body << "\nat " << centre(other) << ": " << there.status << "\nwest /healthz "
                 << call(west.port(), bhttp::verb::get, "/healthz", "", "").body << "\neast /healthz "
                 << call(east.port(), bhttp::verb::get, "/healthz", "", "").body << "\n" << formation.run("state").out;
        }
      }
    }
    EXPECT_EQ(codes.size(), acknowledged.size());
  };

  // West's centre dies: its keeper and its PostgreSQL, at once. C's relocation, submitted to west
  // while there is no primary, is retried with its event_id until acknowledged (a 503 is not an
  // acknowledgement; the event_id makes the retry apply once).
  ASSERT_NO_FATAL_FAILURE(writes_around("failover", [&] {
    auto kill = formation.run("kill", "west");
    ASSERT_EQ(kill.exit_code, 0) << kill.out;
    Answer moved;
    for (auto until = Clock::now() + std::chrono::seconds(90); Clock::now() < until;) {
      moved = relocate(west.port(), 2, "relocate-c");
      if (moved.status / 100 == 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(moved.status / 100, 2) << moved.body;
    auto promoted = formation.run("wait-primary", "east");
    EXPECT_EQ(promoted.exit_code, 0) << promoted.out;
  }));
  EXPECT_EQ(health(east.port())["store_role"], "primary");

  // West's node comes back as east's standby; west's reads come from it again.
  auto rejoined = formation.run("rejoin", "west");
  ASSERT_EQ(rejoined.exit_code, 0) << rejoined.out;
  json west_health;
  for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
    west_health = health(west.port());
    if (west_health["store_role"] == "standby") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(west_health["store_role"], "standby") << west_health.dump();

  // Every acknowledged change is on the new primary (east reads from it), and on west's standby.
  ASSERT_NO_FATAL_FAILURE(all_present());

  // `jlis centre status` now names east the primary, with west its streaming standby.
  json after;
  for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
    auto s = jlis({"centre", "status", "--data", east_dir, "--json"});
    after = json::parse(s.out);
    if (s.exit_code == 0 && after["nodes"][1]["role"] == "primary" && after["nodes"][1]["replicas"].size() == 1 &&
        after["nodes"][1]["replicas"][0]["state"] == "streaming")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_EQ(after["nodes"][0]["role"], "standby") << after.dump();
  EXPECT_EQ(after["nodes"][1]["role"], "primary") << after.dump();
  EXPECT_EQ(after["nodes"][1]["local"], true) << after.dump();

  // OCSP: both centres answer the same for every certificate: A and C revoked, B good.
  const std::string files = (root / "files").string();
  auto ocsp = [&](uint16_t port, const std::string& serial) {
    auto r = shell("openssl ocsp -issuer " + files + "/signature-ca.pem -cert " + files + "/" + serial +
                   ".pem -url http://127.0.0.1:" + std::to_string(port) + "/ocsp -CAfile " + files +
                   "/signature-ca.pem -no_nonce");
    for (const char* word : {": good", ": revoked"})
      if (r.out.find(serial + ".pem" + word) != std::string::npos && r.out.find("Response verify OK") != std::string::npos)
        return std::string(word + 2);
    return r.out;
  };
  const std::vector<std::string> expected = {"revoked", "good", "revoked"};
  for (size_t i = 0; i < serials.size(); ++i) {
    std::string at_west, at_east;
    for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
      at_west = ocsp(west.port(), serials[i]);
      at_east = ocsp(east.port(), serials[i]);
      if (at_west == expected[i] && at_east == expected[i]) break;  // responders follow within seconds
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(at_west, expected[i]) << "certificate " << i << " at west";
    EXPECT_EQ(at_east, expected[i]) << "certificate " << i << " at east";
  }

  // A planned switchover back to west (the runbook's `pg_autoctl perform switchover`) with writes
  // running into both centres: west primary again and east its standby, without a restart of
  // either server; every change acknowledged around it is in both centres.
  ASSERT_NO_FATAL_FAILURE(writes_around("switchover", [&] {
    auto switched = formation.run("switchover", "west");
    EXPECT_EQ(switched.exit_code, 0) << switched.out;
  }));
  json west_after, east_after;
  for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
    west_after = health(west.port());
    east_after = health(east.port());
    if (west_after["store_role"] == "primary" && east_after["store_role"] == "standby") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(west_after["store_role"], "primary") << west_after.dump();
  EXPECT_EQ(east_after["store_role"], "standby") << east_after.dump();
  ASSERT_NO_FATAL_FAILURE(all_present());

  EXPECT_EQ(west.stop(), 0);
  EXPECT_EQ(east.stop(), 0);
}

}  // namespace
}  // namespace jlis::e2e
