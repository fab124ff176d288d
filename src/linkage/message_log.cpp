#include "linkage/message_log.h"

#include <openssl/sha.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/clock.h"
#include "common/files.h"
#include "pki/timestamp.h"
#include "store/migrations.h"

namespace jlis::linkage {

using store::Connection;
using store::Row;
using nlohmann::json;

namespace {

const std::vector<store::Migration> kLogMigrations = {{1, R"sql(
CREATE TABLE linkage_log (
  seq BIGINT PRIMARY KEY,
  logged_at TEXT NOT NULL,
  sender TEXT NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL,
  signature TEXT NOT NULL,             -- base64 of the CMS signature (DER)
  hash TEXT NOT NULL                   -- 64 hex (message_log.h)
);
CREATE TABLE linkage_log_head (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,                 -- the last entry ever appended (0: none)
  hash TEXT NOT NULL                   -- its hash (64 zeros: none)
);
INSERT INTO linkage_log_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE linkage_log_stamps (
  seq BIGINT PRIMARY KEY,
  hash TEXT NOT NULL,
  token TEXT NOT NULL,                 -- base64 of the RFC 3161 TimeStampToken (DER)
  stamped_at TEXT NOT NULL
);
CREATE TABLE linkage_log_archives (
  first_seq BIGINT PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  last_hash TEXT NOT NULL,
  file TEXT NOT NULL,                  -- the name in the archive folder
  file_sha256 TEXT NOT NULL,
  cutoff TEXT NOT NULL                 -- the archive took what was logged before this
);
)sql"}};

const std::string kGenesis(64, '0');

std::string raw_sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_field(std::string& out, std::string_view field) {
  put_be(out, field.size(), 4);
  out.append(field);
}

// The bytes of lower-case hex; what is not hex (a changed row) counts as zero, and the link breaks.
std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

// The entry's link (message_log.h), 64 hex.
std::string link(const std::string& previous_hex, const LoggedMessage& m) {
  std::string in = "jlis-linkage-log/1";
  in += from_hex(previous_hex);
  put_be(in, static_cast<uint64_t>(m.seq), 8);
  put_field(in, m.logged_at);
  put_field(in, m.sender);
  put_field(in, m.kind);
  put_field(in, raw_sha256(m.message));
  put_field(in, raw_sha256(m.signature));
  return to_hex(raw_sha256(in));
}

constexpr const char* kEntryColumns = "SELECT seq, logged_at, sender, kind, message, signature, hash FROM linkage_log";

Result<LoggedMessage> entry_of(const Row& r) {
  LoggedMessage m{r.int64(0), r.text(1), r.text(2), r.text(3), r.text(4), "", r.text(6)};
  JLIS_ASSIGN_OR_RETURN(m.signature, pki::base64_decode(r.text(5)));
  return m;
}

json entry_json(const LoggedMessage& m) {
  return {{"seq", m.seq},         {"logged_at", m.logged_at},
          {"sender", m.sender},   {"kind", m.kind},
          {"message", m.message}, {"signature", pki::base64_encode(m.signature)},
          {"hash", m.hash}};
}

json stamp_json(const LogStamp& s) {
  return {{"stamp", s.seq}, {"hash", s.hash}, {"token", pki::base64_encode(s.token)}, {"stamped_at", s.stamped_at}};
}

// Walks the chain in order: each entry's link, and the stamps over the entries (given first, checked
// when their entry comes).
class ChainCheck {
 public:
  ChainCheck(const std::vector<X509*>& trusted, LogVerification& out) : trusted_(trusted), out_(out) {}

  void expect_stamp(LogStamp s) {
    const int64_t seq = s.seq;
    stamps_.insert_or_assign(seq, std::move(s));
  }

  void entry(const LoggedMessage& m) {
    if (!out_.broken.empty()) return;
    if (m.seq != last_seq_ + 1) return fail("entry " + std::to_string(last_seq_ + 1) + " is missing");
    if (link(last_hash_, m) != m.hash)
      return fail("entry " + std::to_string(m.seq) + " does not match its hash: changed, or the chain was rewritten");
    last_seq_ = m.seq;
    last_hash_ = m.hash;
    ++out_.entries;
    auto s = stamps_.find(m.seq);
    if (s == stamps_.end()) return;
    check_stamp(s->second, m);
    stamps_.erase(s);
  }

  // Every stamp given so far must have met its entry.
  void end_of_part() {
    if (!stamps_.empty())
      fail("the time-stamp of entry " + std::to_string(stamps_.begin()->first) + " names no entry of the chain");
    stamps_.clear();
  }

  void fail(std::string what) {
    if (out_.broken.empty()) out_.broken = std::move(what);
  }
  int64_t last_seq() const { return last_seq_; }
  const std::string& last_hash() const { return last_hash_; }
  int64_t last_stamped() const { return last_stamped_; }

 private:
  void check_stamp(const LogStamp& s, const LoggedMessage& m) {
    const std::string what = "the time-stamp of entry " + std::to_string(s.seq);
    if (s.hash != m.hash) return fail(what + " is over another hash than the entry's");
    auto time = pki::verify_timestamp_token(s.token, from_hex(s.hash), trusted_);
    if (!time.ok()) return fail(what + " does not verify: " + time.status().message());
    auto logged = parse_iso8601_seconds(m.logged_at);
    if (!logged.ok() || *time < *logged) return fail(what + " is older than the entry");
    last_stamped_ = s.seq;
    ++out_.stamps;
  }

  const std::vector<X509*>& trusted_;
  LogVerification& out_;
  int64_t last_seq_ = 0;
  std::string last_hash_ = kGenesis;
  int64_t last_stamped_ = 0;
  std::map<int64_t, LogStamp> stamps_;
};

}  // namespace

Status migrate_message_log(Connection& conn) { return store::migrate(conn, "linkage-log", kLogMigrations); }

Result<LoggedMessage> LogAppender::append(std::string_view sender, std::string_view kind, std::string_view message,
                                          std::string_view signature, std::string_view logged_at) {
  if (sender.empty() || kind.empty()) return invalid_argument("a logged message names its sender and kind");
  JLIS_RETURN_IF_ERROR(parse_iso8601_seconds(std::string(logged_at)).status());
  JLIS_RETURN_IF_ERROR(take());
  LoggedMessage m{seq_ + 1, std::string(logged_at), std::string(sender), std::string(kind), std::string(message),
                  std::string(signature), ""};
  m.hash = link(hash_, m);
  JLIS_RETURN_IF_ERROR(conn_.execute("INSERT INTO linkage_log (seq, logged_at, sender, kind, message, signature, hash) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     {m.seq, m.logged_at, m.sender, m.kind, m.message,
                                      pki::base64_encode(m.signature), m.hash})
                           .status());
  seq_ = m.seq;
  hash_ = m.hash;
  appended_ = true;
  return m;
}

Status LogAppender::take() {
  if (taken_) return Status::ok();
  // The UPDATE locks the head until the commit: appends from two processes take turns.
  JLIS_RETURN_IF_ERROR(conn_.query("UPDATE linkage_log_head SET seq = seq WHERE id = 1 RETURNING seq, hash", {},
                                   [&](const Row& r) {
                                     seq_ = r.int64(0);
                                     hash_ = r.text(1);
                                     return false;
                                   }));
  if (hash_.empty()) return internal_error("the message log has no head (not migrated?)");
  taken_ = true;
  return Status::ok();
}

Result<int64_t> LogAppender::next_seq() {
  JLIS_RETURN_IF_ERROR(take());
  return seq_ + 1;
}

Status LogAppender::finish() {
  if (!appended_) return Status::ok();
  appended_ = false;
  return conn_.execute("UPDATE linkage_log_head SET seq = ?, hash = ? WHERE id = 1", {seq_, hash_}).status();
}

Result<LoggedMessage> append_message(Connection& conn, std::string_view sender, std::string_view kind,
                                     std::string_view message, std::string_view signature,
                                     std::string_view logged_at) {
  LogAppender appender(conn);
  JLIS_ASSIGN_OR_RETURN(LoggedMessage m, appender.append(sender, kind, message, signature, logged_at));
  JLIS_RETURN_IF_ERROR(appender.finish());
  return m;
}

Result<std::optional<LogStamp>> stamp_log(store::Pool& pool, store::Writer& writer, const TimeStampService& tsa,
                                          std::string_view now) {
  LogStamp s;
  int64_t stamped = 0;
  JLIS_RETURN_IF_ERROR(pool.read([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(conn.query("SELECT seq, hash FROM linkage_log_head WHERE id = 1", {}, [&](const Row& r) {
      s.seq = r.int64(0);
      s.hash = r.text(1);
      return false;
    }));
    JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(seq) FROM linkage_log_stamps"));
    stamped = last.value_or(0);
    return Status::ok();
  }));
  if (s.seq == 0 || stamped >= s.seq) return std::optional<LogStamp>();
  // The authority is asked outside the writer: a slow or failing TSA holds up no append.
  JLIS_ASSIGN_OR_RETURN(std::string query, pki::timestamp_query(from_hex(s.hash)));
  JLIS_ASSIGN_OR_RETURN(std::string response, tsa(query));
  JLIS_ASSIGN_OR_RETURN(s.token, pki::timestamp_token(response, query));
  s.stamped_at = std::string(now);
  JLIS_RETURN_IF_ERROR(writer.run([&](Connection& conn) {
    return conn
        .execute("INSERT INTO linkage_log_stamps (seq, hash, token, stamped_at) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (seq) DO NOTHING",
                 {s.seq, s.hash, pki::base64_encode(s.token), s.stamped_at})
        .status();
  }));
  return std::optional<LogStamp>(std::move(s));
}

Result<std::optional<std::filesystem::path>> archive_log(store::Pool& pool, store::Writer& writer,
                                                         std::string_view cutoff,
                                                         const std::filesystem::path& dir) {
  std::vector<LoggedMessage> entries;
  std::vector<LogStamp> stamps;
  JLIS_RETURN_IF_ERROR(pool.read([&](Connection& conn) -> Status {
    // The last stamp over an entry older than the cutoff: everything up to it goes.
    JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(s.seq) FROM linkage_log_stamps s JOIN linkage_log l "
                                                      "ON l.seq = s.seq WHERE l.logged_at < ?",
                                                      {std::string(cutoff)}));
    if (!last || *last == 0) return Status::ok();
    Status bad;
    JLIS_RETURN_IF_ERROR(conn.query(std::string(kEntryColumns) + " WHERE seq <= ? ORDER BY seq", {*last},
                                    [&](const Row& r) {
                                      auto m = entry_of(r);
                                      if (!m.ok()) bad = m.status();
                                      else entries.push_back(std::move(*m));
                                      return m.ok();
                                    }));
    JLIS_RETURN_IF_ERROR(bad);
    return conn.query("SELECT seq, hash, token, stamped_at FROM linkage_log_stamps WHERE seq <= ? ORDER BY seq",
                      {*last}, [&](const Row& r) {
                        auto token = pki::base64_decode(r.text(2));
                        if (!token.ok()) bad = token.status();
                        else stamps.push_back({r.int64(0), r.text(1), std::move(*token), r.text(3)});
                        return token.ok();
                      });
  }));
  if (entries.empty()) return std::optional<std::filesystem::path>();
  const int64_t first = entries.front().seq, last = entries.back().seq;
  std::string text;
  for (const auto& m : entries) text += entry_json(m).dump() + "\n";
  for (const auto& s : stamps) text += stamp_json(s).dump() + "\n";
  const std::string name = "linkage-log-" + std::to_string(first) + "-" + std::to_string(last) + ".jsonl";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  JLIS_RETURN_IF_ERROR(write_file_atomically(dir / name, text, 0600));
  const std::string file_hash = sha256_hex(text);
  JLIS_RETURN_IF_ERROR(writer.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_log_archives (first_seq, last_seq, last_hash, file, "
                                      "file_sha256, cutoff) VALUES (?, ?, ?, ?, ?, ?)",
                                      {first, last, entries.back().hash, name, file_hash, std::string(cutoff)})
                             .status());
    JLIS_RETURN_IF_ERROR(conn.execute("DELETE FROM linkage_log_stamps WHERE seq <= ?", {last}).status());
    return conn.execute("DELETE FROM linkage_log WHERE seq >= ? AND seq <= ?", {first, last}).status();
  }));
  return std::optional<std::filesystem::path>(dir / name);
}

Result<LogVerification> verify_log(Connection& conn, const std::filesystem::path& archive_dir,
                                   const std::vector<X509*>& trusted) {
  LogVerification out;
  ChainCheck chain(trusted, out);
  struct Archive {
    int64_t first, last;
    std::string last_hash, file, sha256;
  };
  std::vector<Archive> archives;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT first_seq, last_seq, last_hash, file, file_sha256 FROM linkage_log_archives "
                                  "ORDER BY first_seq",
                                  {}, [&](const Row& r) {
                                    archives.push_back({r.int64(0), r.int64(1), r.text(2), r.text(3), r.text(4)});
                                    return true;
                                  }));
  for (const auto& a : archives) {
    auto text = read_file(archive_dir / a.file);
    if (!text.ok()) {
      chain.fail("the archive " + a.file + " is missing");
      break;
    }
    if (sha256_hex(*text) != a.sha256) {
      chain.fail("the archive " + a.file + " was changed");
      break;
    }
    std::vector<json> lines;
    for (size_t at = 0, end; at < text->size(); at = end + 1) {
      end = std::min(text->find('\n', at), text->size());
      lines.push_back(json::parse(text->substr(at, end - at), nullptr, false));
      if (!lines.back().is_object()) chain.fail("the archive " + a.file + " is not readable");
    }
    if (!out.broken.empty()) break;
    for (int pass = 0; pass < 2; ++pass)  // its stamps first, then its entries
      for (const json& j : lines) {
        const bool stamp = j.contains("stamp");
        if (stamp != (pass == 0)) continue;
        auto bytes = pki::base64_decode(j.value(stamp ? "token" : "signature", ""));
        if (!bytes.ok()) chain.fail("the archive " + a.file + " is not readable");
        else if (stamp)
          chain.expect_stamp({j.value("stamp", int64_t{0}), j.value("hash", ""), std::move(*bytes), j.value("stamped_at", "")});
        else
          chain.entry({j.value("seq", int64_t{0}), j.value("logged_at", ""), j.value("sender", ""), j.value("kind", ""),
                       j.value("message", ""), std::move(*bytes), j.value("hash", "")});
      }
    chain.end_of_part();
    if (chain.last_seq() != a.last || chain.last_hash() != a.last_hash)
      chain.fail("the archive " + a.file + " does not end where its record says");
    if (!out.broken.empty()) break;
  }
  JLIS_RETURN_IF_ERROR(conn.query("SELECT seq, hash, token, stamped_at FROM linkage_log_stamps ORDER BY seq", {},
                                  [&](const Row& r) {
                                    auto token = pki::base64_decode(r.text(2));
                                    if (!token.ok()) chain.fail("a time-stamp is not readable");
                                    else chain.expect_stamp({r.int64(0), r.text(1), std::move(*token), r.text(3)});
                                    return true;
                                  }));
  JLIS_RETURN_IF_ERROR(conn.query(std::string(kEntryColumns) + " ORDER BY seq", {}, [&](const Row& r) {
    auto m = entry_of(r);
    if (!m.ok()) chain.fail("entry " + std::to_string(r.int64(0)) + " is not readable");
    else chain.entry(*m);
    return true;
  }));
  chain.end_of_part();
  JLIS_ASSIGN_OR_RETURN(auto head, conn.query_int64("SELECT seq FROM linkage_log_head WHERE id = 1"));
  if (chain.last_seq() != head.value_or(0))
    chain.fail("the last entries are missing (the head is " + std::to_string(head.value_or(0)) + ")");
  out.unstamped = chain.last_seq() - chain.last_stamped();
  return out;
}

Result<LogState> log_state(Connection& conn) {
  LogState s;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT COUNT(*), COALESCE(SUM(LENGTH(message) + LENGTH(signature)), 0) FROM linkage_log",
                                  {}, [&](const Row& r) {
                                    s.entries = r.int64(0);
                                    s.bytes = r.int64(1);
                                    return false;
                                  }));
  JLIS_ASSIGN_OR_RETURN(auto head, conn.query_int64("SELECT seq FROM linkage_log_head WHERE id = 1"));
  s.last_seq = head.value_or(0);
  JLIS_ASSIGN_OR_RETURN(auto stamped, conn.query_int64("SELECT MAX(seq) FROM linkage_log_stamps"));
  JLIS_ASSIGN_OR_RETURN(auto archived, conn.query_int64("SELECT MAX(last_seq) FROM linkage_log_archives"));
  s.last_stamped_seq = std::max(stamped.value_or(0), archived.value_or(0));
  JLIS_RETURN_IF_ERROR(conn.query("SELECT logged_at FROM linkage_log WHERE seq > ? ORDER BY seq LIMIT 1",
                                  {s.last_stamped_seq}, [&](const Row& r) {
                                    s.oldest_unstamped_at = r.text(0);
                                    return false;
                                  }));
  JLIS_ASSIGN_OR_RETURN(auto count, conn.query_int64("SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM linkage_log_archives"));
  s.archived_entries = count.value_or(0);
  return s;
}

}  // namespace jlis::linkage
