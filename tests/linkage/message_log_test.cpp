// The linkage platform's message log (linkage/message_log.h, issue 11 §3): a hash chain every change,
// removal or reordering breaks; time-stamps by an RFC 3161 authority that OpenSSL's `ts -verify`
// accepts too, checked against the TSA's roots; a TSA outage that never blocks an append; archives by
// age that keep the chain whole across files; appends of two writers that take turns. On SQLite and
// PostgreSQL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../pki/test_ca.h"
#include "common/clock.h"
#include "linkage/message_log.h"
#include "linkage_world.h"
#include "pki/timestamp.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {
namespace {

namespace fs = std::filesystem;

// A test authority under its own root.
struct LogTsa {
  explicit LogTsa(const std::string& name) {
    root_key = pki::testing::make_key();
    root = pki::testing::make_cert({.common_name = name + " Root", .ca = true}, root_key.get());
    key = pki::testing::make_key();
    cert = pki::testing::make_cert({.common_name = name, .serial_hex = "21", .issuer = root.get(),
                                    .issuer_key = root_key.get(), .eku = "critical,timeStamping"},
                                   key.get());
    tsa = std::make_unique<pki::TimeStampAuthority>(
        pki::TimeStampAuthority::make(pki::testing::cert_pem(cert.get()), pki::testing::key_pem(key.get()),
                                      {pki::testing::cert_pem(root.get())}, "1.2.392.200091.99.1")
            .value());
  }
  // The service, answering with genTime `offset` seconds from now.
  TimeStampService service(int64_t offset = 0) const {
    return [this, offset](std::string_view query) {
      return tsa->respond(query, static_cast<int64_t>(std::time(nullptr)) + offset);
    };
  }
  pki::EvpPkeyPtr root_key, key;
  pki::X509Ptr root, cert;
  std::unique_ptr<pki::TimeStampAuthority> tsa;
};

class MessageLogTest : public testing::LinkageWorld {
 protected:
  // A time `days` from now (negative: past), as the log writes it.
  static std::string at(int days) { return iso8601_seconds(static_cast<int64_t>(std::time(nullptr)) + days * 86400); }

  LoggedMessage append(const std::string& message, const std::string& logged_at, store::Writer* writer = nullptr) {
    LoggedMessage out;
    Status s = (writer ? *writer : *writer_).run([&](store::Connection& conn) -> Status {
      JLIS_ASSIGN_OR_RETURN(out, append_message(conn, "nenkin", "query", message, "sig:" + message, logged_at));
      return Status::ok();
    });
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return out;
  }
  void append_n(int n, const std::string& logged_at) {
    for (int i = 0; i < n; ++i) append("{\"n\":" + std::to_string(i) + "}", logged_at);
  }
  std::optional<LogStamp> stamp(const TimeStampService& service) {
    auto s = stamp_log(*pool_, *writer_, service, at(0));
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? *s : std::nullopt;
  }
  LogVerification verify(const LogTsa& tsa) {
    auto conn = db_->connect().value();
    auto v = verify_log(*conn, tmp_ / "archive", {tsa.root.get()});
    EXPECT_TRUE(v.ok()) << v.status().to_string();
    return v.ok() ? *v : LogVerification{.broken = "verify_log failed"};
  }
  LogState state() {
    auto conn = db_->connect().value();
    return log_state(*conn).value();
  }
  LogTsa tsa_{"Linkage Test TSA"};
};

// Rule: entries are numbered from 1, each hash chains to the previous one; an untouched log verifies
// with every entry counted, and a stamp of the head covers all of them.
TEST_F(MessageLogTest, AnUntouchedLogVerifiesAndAStampCoversTheHead) {
  auto first = append("{\"q\":1}", at(0));
  EXPECT_EQ(first.seq, 1);
  EXPECT_EQ(first.hash.size(), 64u);
  append_n(4, at(0));
  LogVerification v = verify(tsa_);
  EXPECT_EQ(v.broken, "");
  EXPECT_EQ(v.entries, 5);
  EXPECT_EQ(v.stamps, 0);
  EXPECT_EQ(v.unstamped, 5);
  auto s = stamp(tsa_.service());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->seq, 5);
  EXPECT_FALSE(stamp(tsa_.service()).has_value()) << "the head is already stamped";
  v = verify(tsa_);
  EXPECT_EQ(v.broken, "");
  EXPECT_EQ(v.stamps, 1);
  EXPECT_EQ(v.unstamped, 0);
  // The same token verifies in OpenSSL's own tool, over the entry's hash (its 32 bytes).
  const fs::path hash_file = tmp_ / "hash.bin", token_file = tmp_ / "token.der", root_file = tmp_ / "root.pem";
  std::string raw;
  for (size_t i = 0; i < 64; i += 2) raw.push_back(static_cast<char>(std::stoi(s->hash.substr(i, 2), nullptr, 16)));
  pki::testing::write_file(hash_file.string(), raw);
  pki::testing::write_file(token_file.string(), s->token);
  pki::testing::write_file(root_file.string(), pki::testing::cert_pem(tsa_.root.get()));
  int rc = -1;
  const std::string out = pki::testing::run("openssl ts -verify -token_in -in " + token_file.string() + " -data " +
                                                hash_file.string() + " -CAfile " + root_file.string() + " 2>&1",
                                            &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Verification: OK"), std::string::npos) << out;
}

// Rule: changing any field of an entry, or its hash, breaks the chain at that entry; so does removing
// an entry, or the last ones.
TEST_F(MessageLogTest, EveryChangeOrRemovalBreaksTheChainWhereItWasMade) {
  const std::vector<std::string> changes = {
      "UPDATE linkage_log SET message = '{\"q\":9}' WHERE seq = 3",
      "UPDATE linkage_log SET signature = 'c2lnOnRhbXBlcmVk' WHERE seq = 3",
      "UPDATE linkage_log SET sender = 'city-131016' WHERE seq = 3",
      "UPDATE linkage_log SET kind = 'answer' WHERE seq = 3",
      "UPDATE linkage_log SET logged_at = '2020-01-01T00:00:00Z' WHERE seq = 3",
      "UPDATE linkage_log SET hash = '" + std::string(64, 'a') + "' WHERE seq = 3",
  };
  append_n(5, at(0));
  auto conn = db_->connect().value();
  store::Params original;
  ASSERT_TRUE(conn->query("SELECT message, signature, sender, kind, logged_at, hash FROM linkage_log WHERE seq = 3", {},
                          [&](const store::Row& r) {
                            for (int i = 0; i < 6; ++i) original.push_back(r.text(i));
                            return false;
                          })
                  .is_ok());
  for (const std::string& change : changes) {
    SCOPED_TRACE(change);
    sql(change);
    LogVerification v = verify(tsa_);
    EXPECT_EQ(v.broken, "entry 3 does not match its hash: changed, or the chain was rewritten");
    EXPECT_EQ(v.entries, 2);
    ASSERT_TRUE(conn->execute("UPDATE linkage_log SET message = ?, signature = ?, sender = ?, kind = ?, logged_at = ?, "
                              "hash = ? WHERE seq = 3",
                              original)
                    .ok());
    EXPECT_EQ(verify(tsa_).broken, "") << "restored";
  }
  // A rewritten entry with a hash made to match breaks the next one's link.
  sql("UPDATE linkage_log SET hash = (SELECT hash FROM linkage_log WHERE seq = 2) WHERE seq = 3");
  EXPECT_EQ(verify(tsa_).broken, "entry 3 does not match its hash: changed, or the chain was rewritten");
  ASSERT_TRUE(conn->execute("UPDATE linkage_log SET hash = ? WHERE seq = 3", {original[5]}).ok());
  sql("DELETE FROM linkage_log WHERE seq = 3");
  EXPECT_EQ(verify(tsa_).broken, "entry 3 is missing");
}

TEST_F(MessageLogTest, RemovingTheLastEntriesIsSeenAgainstTheHead) {
  append_n(5, at(0));
  sql("DELETE FROM linkage_log WHERE seq >= 4");
  LogVerification v = verify(tsa_);
  EXPECT_EQ(v.broken, "the last entries are missing (the head is 5)");
  EXPECT_EQ(v.entries, 3);
}

// Rule: a stamp verifies only with a token of a TSA under the given roots, over its entry's hash, and
// with a time not before the entry's.
TEST_F(MessageLogTest, AStampVerifiesOnlyFromATrustedAuthorityOverItsEntryAfterIt) {
  append_n(3, at(0));
  ASSERT_TRUE(stamp(tsa_.service()).has_value());
  append_n(2, at(0));
  ASSERT_TRUE(stamp(tsa_.service()).has_value());
  EXPECT_EQ(verify(tsa_).stamps, 2);
  // Another authority's tokens are refused against these roots (and accepted against its own).
  LogTsa other("Another TSA");
  EXPECT_EQ(verify(other).broken.rfind("the time-stamp of entry 3 does not verify", 0), 0u) << verify(other).broken;
  // Entry 5's token moved onto entry 3: over another imprint.
  sql("UPDATE linkage_log_stamps SET token = (SELECT token FROM linkage_log_stamps WHERE seq = 5) WHERE seq = 3");
  EXPECT_EQ(verify(tsa_).broken.rfind("the time-stamp of entry 3 does not verify", 0), 0u) << verify(tsa_).broken;
  sql("DELETE FROM linkage_log_stamps WHERE seq = 3");
  EXPECT_EQ(verify(tsa_).broken, "");
  // A stamp row naming another hash than its entry's.
  sql("UPDATE linkage_log_stamps SET hash = (SELECT hash FROM linkage_log WHERE seq = 4) WHERE seq = 5");
  EXPECT_EQ(verify(tsa_).broken, "the time-stamp of entry 5 is over another hash than the entry's");
  sql("DELETE FROM linkage_log_stamps");
  // A stamp whose time is before its entry was logged (an entry dated later than the TSA says).
  append("{\"late\":1}", at(1));
  ASSERT_TRUE(stamp(tsa_.service()).has_value());
  EXPECT_EQ(verify(tsa_).broken, "the time-stamp of entry 6 is older than the entry");
}

// Rule: when the TSA fails, stamp_log fails and records nothing, appends go on, and the state says
// since when the head is unstamped; once the TSA is back one stamp covers everything.
TEST_F(MessageLogTest, ATimeStampingOutageNeverBlocksAppendsAndIsVisibleUntilItEnds) {
  const std::string first = at(-1);
  append_n(2, first);
  TimeStampService down = [](std::string_view) -> Result<std::string> {
    return unavailable("the time-stamp authority does not answer");
  };
  auto failed = stamp_log(*pool_, *writer_, down, at(0));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::unavailable);
  append_n(3, at(0));
  LogState s = state();
  EXPECT_EQ(s.entries, 5);
  EXPECT_EQ(s.last_seq, 5);
  EXPECT_EQ(s.last_stamped_seq, 0);
  EXPECT_EQ(s.oldest_unstamped_at, first);
  EXPECT_GT(s.bytes, 0);
  auto back = stamp(tsa_.service());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->seq, 5);
  s = state();
  EXPECT_EQ(s.last_stamped_seq, 5);
  EXPECT_FALSE(s.oldest_unstamped_at.has_value());
  EXPECT_EQ(verify(tsa_).unstamped, 0);
}

// Rule: archiving moves the stamped entries older than the cutoff to a file and out of the table;
// the chain verifies across archives and table; a changed or missing archive breaks it.
TEST_F(MessageLogTest, ArchivesByAgeKeepTheChainWholeAcrossFiles) {
  append_n(3, at(-90));
  ASSERT_TRUE(stamp(tsa_.service()).has_value());  // over 3
  append_n(2, at(-60));
  ASSERT_TRUE(stamp(tsa_.service()).has_value());  // over 5
  append_n(1, at(-10));                             // 6, unstamped
  const fs::path dir = tmp_ / "archive";
  auto none = archive_log(*pool_, *writer_, at(-100), dir);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value()) << "nothing is older than the cutoff";
  auto first = archive_log(*pool_, *writer_, at(-30), dir);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->filename(), "linkage-log-1-5.jsonl");
  EXPECT_EQ(fs::status(**first).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  LogState s = state();
  EXPECT_EQ(s.entries, 1);
  EXPECT_EQ(s.archived_entries, 5);
  // Entry 6 is younger than the cutoff, and an unstamped entry is never archived.
  auto again = archive_log(*pool_, *writer_, at(0), dir);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  ASSERT_TRUE(stamp(tsa_.service()).has_value());  // over 6
  append_n(1, at(0));
  auto second = archive_log(*pool_, *writer_, at(-5), dir);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->filename(), "linkage-log-6-6.jsonl");
  LogVerification v = verify(tsa_);
  EXPECT_EQ(v.broken, "");
  EXPECT_EQ(v.entries, 7);
  EXPECT_EQ(v.stamps, 3);
  EXPECT_EQ(v.unstamped, 1);
  // One byte of the first archive changed; then the file gone.
  std::string text;
  {
    std::ifstream in(**first, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string changed = text;
  const size_t sender = changed.find("nenkin");
  ASSERT_NE(sender, std::string::npos);
  changed[sender] = 'N';
  pki::testing::write_file((*first)->string(), changed);
  EXPECT_EQ(verify(tsa_).broken, "the archive linkage-log-1-5.jsonl was changed");
  fs::remove(**first);
  EXPECT_EQ(verify(tsa_).broken, "the archive linkage-log-1-5.jsonl is missing");
}

// Rule: two writers (two processes' worth) appending at once take turns: one chain, every entry once.
TEST_F(MessageLogTest, TwoWritersAppendingAtOnceMakeOneChain) {
  auto second = store::Writer::start(*db_).value();
  constexpr int kEach = 40;
  std::thread a([&] {
    for (int i = 0; i < kEach; ++i) append("{\"a\":" + std::to_string(i) + "}", at(0));
  });
  std::thread b([&] {
    for (int i = 0; i < kEach; ++i) append("{\"b\":" + std::to_string(i) + "}", at(0), second.get());
  });
  a.join();
  b.join();
  LogVerification v = verify(tsa_);
  EXPECT_EQ(v.broken, "");
  EXPECT_EQ(v.entries, 2 * kEach);
  EXPECT_EQ(state().last_seq, 2 * kEach);
}

}  // namespace
}  // namespace jlis::linkage
