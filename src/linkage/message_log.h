// The message log of the information-linkage platform (issue 11 §3): evidence of every message.
//
// Every message the platform receives or sends is appended with its sender's signature in the
// transaction that acts on it (on the writer's connection), so a message is in the log exactly when
// its effects are committed. Entries form a hash chain: entry n's hash is SHA-256 over
//   "jlis-linkage-log/1", entry n-1's hash (32 zero bytes before the first), n (8 bytes, big-endian),
//   and each of logged_at, sender, kind, SHA-256(message), SHA-256(signature) with a 4-byte length,
// so changing, removing or reordering any entry breaks every later hash. The head of the chain is
// time-stamped from time to time (RFC 3161; stamp()); a stamp fixes every entry up to it to a time
// the platform itself cannot move. A time-stamping outage never blocks traffic: appends never wait
// for a stamp, stamp() fails and is tried again, and state() says how long the head has gone
// unstamped (the alarm).
//
// The log grows by what its messages weigh (state(): entries and bytes). Entries older than a cutoff
// and covered by a stamp move to archive files (archive(): JSON lines, fsynced before the rows are
// deleted, the file's SHA-256 recorded), and verify() checks the whole chain across the archives
// and the table, and every stamp against the TSA's roots.
//
// Two processes appending to one PostgreSQL database take turns: the head row is locked from the
// append to the commit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pki/openssl.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

struct LoggedMessage {
  int64_t seq = 0;
  std::string logged_at;  // YYYY-MM-DDTHH:MM:SSZ
  std::string sender;     // the body id, or "platform"
  std::string kind;       // query, answer, refusal, ...
  std::string message;    // the canonical message, as signed
  std::string signature;  // the sender's CMS signature (DER)
  std::string hash;       // 64 hex digits: this entry's link
};

struct LogStamp {
  int64_t seq = 0;         // the entry stamped (the head when stamped)
  std::string hash;        // its hash (64 hex)
  std::string token;       // the RFC 3161 TimeStampToken (DER) over the hash's 32 bytes
  std::string stamped_at;  // when recorded
};

struct LogState {
  int64_t entries = 0;      // in the table (not archived)
  int64_t bytes = 0;        // their messages' and signatures' bytes
  int64_t last_seq = 0;     // 0 when nothing was ever logged
  int64_t last_stamped_seq = 0;
  std::optional<std::string> oldest_unstamped_at;  // the first entry after the last stamp, if any
  int64_t archived_entries = 0;
};

struct LogVerification {
  int64_t entries = 0;  // checked, archives included
  int64_t stamps = 0;   // tokens verified
  int64_t unstamped = 0;  // entries after the last stamp
  std::string broken;   // empty when intact; else what failed first (the entry or the archive)
};

// Applies the log's migrations (component linkage-log).
Status migrate_message_log(store::Connection& conn);

// Appends messages in the caller's transaction (on the writer's connection), many at a time: the
// head is taken (its row locked) at the first append and written back once, by finish(), which
// must run before the transaction commits (a transaction that appended and did not finish leaves
// the head behind its entries: the next append then fails on the duplicate sequence number).
class LogAppender {
 public:
  explicit LogAppender(store::Connection& conn) : conn_(conn) {}
  // invalid_argument for an empty sender or kind or a time not of the log's form; the store's errors.
  Result<LoggedMessage> append(std::string_view sender, std::string_view kind, std::string_view message,
                               std::string_view signature, std::string_view logged_at);
  // The sequence number the next append() gets (the head read and locked, as by an append): what a
  // record written before its entry names (a bulk batch's provision records, then their answers).
  Result<int64_t> next_seq();
  Status finish();

 private:
  Status take();  // reads and locks the head, once
  store::Connection& conn_;
  bool taken_ = false;  // the head read (and locked)
  int64_t seq_ = 0;     // the last entry's sequence number and hash
  std::string hash_;
  bool appended_ = false;
};

// One message appended and the head written back (a LogAppender of one). invalid_argument
// for an empty sender or kind; the store's errors.
Result<LoggedMessage> append_message(store::Connection& conn, std::string_view sender, std::string_view kind,
                                     std::string_view message, std::string_view signature,
                                     std::string_view logged_at);

// The RFC 3161 authority: a TimeStampReq (DER) in, its TimeStampResp (DER) out. In-process (J-LIS's
// LGPKI TSA) or over HTTP.
using TimeStampService = std::function<Result<std::string>(std::string_view query_der)>;

// Time-stamps the head of the log through `tsa` and records the token; nullopt when the log is
// empty or its head already stamped. The TSA's failure (or a refusal) is returned and nothing is
// recorded: the caller alarms and tries again later.
Result<std::optional<LogStamp>> stamp_log(store::Pool& pool, store::Writer& writer, const TimeStampService& tsa,
                                          std::string_view now);

// Moves the entries logged before `cutoff` that a stamp covers (up to the last such stamp) with
// their stamps into `dir`/linkage-log-<first>-<last>.jsonl, then deletes them from the table; the
// archive's range, last hash and file SHA-256 recorded in the same transaction. nullopt when no
// stamped entry is older than the cutoff. The file is written and fsynced before the delete.
Result<std::optional<std::filesystem::path>> archive_log(store::Pool& pool, store::Writer& writer,
                                                         std::string_view cutoff,
                                                         const std::filesystem::path& dir);

// Checks the chain from the first entry ever logged: every archive (a file missing, changed or out
// of order breaks it), then the table; every stamp's token against `trusted` (the TSA's roots), over
// its entry's hash, with a time not before the entry's. Answers what it checked and the first
// break; errors only when the store cannot be read.
Result<LogVerification> verify_log(store::Connection& conn, const std::filesystem::path& archive_dir,
                                   const std::vector<X509*>& trusted);

Result<LogState> log_state(store::Connection& conn);

}  // namespace jlis::linkage
