// Queries and provisions (情報照会・情報提供, issue 11 §3–4): a body asks for a person's items by its
// own linkage code, the platform decides by the legal table, converts the code to the provider's,
// reads the provider's replica (replicas.h) and answers in the data standard layout version in force.
//
// One query is one transaction on the writer's connection, and everything it decides is decided
// there: both bodies registered and active (bodies.h), the requester's code known, the legal table
// (legal_table.h), the items in the procedure's layout of the version in force (layouts.h). What it
// writes there, committed before anything is answered:
//   - the provision record (情報提供等記録, ProvisionRecord) — also for a refusal, with its reason;
//     one record serves both sides: the requester's and the provider's lists and the person's own
//     page read the same row;
//   - the request and the answer (or refusal) in the message log (message_log.h); a bulk job's
//     lines instead in their batch's one entry, the job's file being logged already (ask_in).
// A refusal is answered as an error only after its record is committed. No answer carries a
// resident code, a My Number or another body's code: the person is named by the requester's code.
//
// Live answers (自動応答不可, replicas.h: set_live): when the provider answers the person itself, an
// allowed query is forwarded to the provider's own system instead of reading the replica, in three
// steps. (1) The query's transaction decides everything above, logs the forwarded message (kind
// "forward": query id, the provider's own code for the person, procedure, requester, items, layout
// version) and records the query as "forwarded". (2) Outside the writer, the platform POSTs that
// message, signed with its own key (signatures.h, JLIS-Signature), to the provider's endpoint
// (bodies.h), and verifies the answer: HTTP 200, signed by a certificate the verifier accepts,
// {"query_id", "items": {item: value}} naming only items asked, valid in the layout version.
// (3) A second transaction checks both bodies still active and the provider's signer registered to
// it, logs the provider's answer with its signature (kind "provider-answer") and the platform's,
// and records the query "provided", or "failed" [provider-unavailable] when any step failed
// ("failed" [body-removed], answered with that body's error, when a body was removed meanwhile);
// only then is it answered. Past Forwarding's limits of forwards in flight (to that provider, or in
// all) step 2 is skipped: recorded "failed" [provider-busy], answered unavailable, to be asked again.
// A bulk job never waits on a provider: its line about such a person is refused [live-only] (ask it
// singly).
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "linkage/bodies.h"
#include "linkage/layouts.h"
#include "linkage/legal_table.h"
#include "linkage/message_log.h"
#include "linkage/replicas.h"
#include "linkage/signatures.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

struct Query {
  std::string requester;   // the asking body's id
  std::string code;        // the requester's code for the person
  std::string procedure;   // 事務 code ("J031-01")
  std::string provider;    // the providing body's id
  std::vector<std::string> items;
  // The query as the requester signed it (signatures.h), when it came over the network: its
  // signer is checked in the transaction that answers it (a signer not the requester's refuses the
  // query unrecorded), and the log keeps these bytes and signature as the request.
  std::optional<SignedMessage> signed_by = {};
};

// The query of `requester` that `j` (a JSON object: "code", "procedure", "provider", "items") asks;
// invalid_argument naming what is missing or of the wrong type. The content is checked by ask().
Result<Query> query_from_json(const nlohmann::json& j, const std::string& requester);

struct Answer {
  std::string query_id;
  std::string layout_version;  // the version in force on the day, which the items are in
  ItemValues items;            // what the provider's replica has of the items asked for
  std::vector<std::string> not_registered;  // items asked for and allowed that the answer lacks
  std::string answered_by = "replica";      // or "provider": forwarded to the provider's own system
};

// Why a query was refused: the legal table's refusals (legal_table.h), then these.
inline constexpr std::string_view kUnknownCode = "unknown-code";          // the requester has no such code
inline constexpr std::string_view kNotInLayout = "item-not-in-layout";    // not in the version in force
inline constexpr std::string_view kLiveOnly = "live-only";                // a bulk line the provider answers live
inline constexpr std::string_view kProviderUnavailable = "provider-unavailable";  // a forwarded query failed
inline constexpr std::string_view kBodyRemoved = "body-removed";  // removed while its query was forwarded
inline constexpr std::string_view kProviderBusy = "provider-busy";  // the provider's forwards at their limit

// How the platform forwards a query to a provider's own system (above).
struct Forwarding {
  AnswerKey key = {};                          // signs the forwarded message
  const MessageVerifier* verifier = nullptr;   // verifies the provider's answer
  std::chrono::milliseconds timeout{10000};    // connect, send and answer, each
  // Forwards in flight at once, to one provider and to all: each holds a server worker while the
  // provider's system answers, so a slow or hanging system holds at most `per_provider` of them,
  // and all providers together `in_total`; a query past either limit is not sent.
  int per_provider = 2;
  int in_total = 4;
};

// Counts forwards in flight against Forwarding's two limits. Thread-safe.
class ForwardLimits {
 public:
  ForwardLimits(int per_provider, int in_total) : per_provider_(per_provider), in_total_(in_total) {}
  // A slot for one forward to `provider`, held until the returned guard goes; null when that
  // provider already has per_provider forwards in flight, or all providers in_total.
  std::shared_ptr<void> acquire(const std::string& provider);

 private:
  const int per_provider_, in_total_;
  std::mutex mu_;
  std::map<std::string, int> to_;  // in flight, by provider (none: erased)
  int all_ = 0;                    // in flight, in all
};

// How long the provision records are kept: seven years (番号法 第23条 and its ordinance).
inline constexpr int kRecordRetentionYears = 7;

struct ProvisionRecord {
  std::string query_id;
  std::string requester, provider, procedure;
  std::vector<std::string> items;
  std::string requested_at, answered_at;  // ISO 8601 UTC
  std::string outcome;                    // "provided", "refused", "failed" (a forwarded query
                                          // unanswered) or "forwarded" (its answer awaited)
  std::string reason;                     // refused: the rule's name ("item-not-allowed", …)
  std::string layout_version;             // provided: the version answered in
};

class Queries {
 public:
  // Applies the provision records' migrations (component linkage-provisions).
  static Status migrate(store::Connection& conn);

  // Not owned; all must outlive this.
  Queries(store::Pool& pool, store::Writer& writer, const LegalTable& table, const DataLayouts& layouts)
      : pool_(pool), writer_(writer), table_(table), layouts_(layouts) {}

  // Enables forwarding (above); without it a query about a person answered live fails
  // [provider-unavailable]. Call before the first query.
  void set_forwarding(Forwarding forwarding) {
    forwarding_ = std::move(forwarding);
    in_flight_ = std::make_unique<ForwardLimits>(forwarding_.per_provider, forwarding_.in_total);
  }

  // Answers `query` on `today` (the day that picks the layout version). Refused, after the refusal
  // is recorded, with the refusal's name in brackets at the end of the message ("[item-not-allowed]"): permission_denied with the legal table's message when the table does not allow it,
  // invalid_argument when an item is not in the procedure's layout in force, not_found when the
  // requester has no such code. Not recorded (nothing to record against): invalid_argument for a
  // malformed query, not_found/permission_denied for an unregistered or removed body. A forwarded
  // query the provider did not answer: unavailable [provider-unavailable], recorded "failed"; one
  // past the limits of forwards in flight: unavailable [provider-busy], recorded "failed".
  // Blocks for the forwarding (at most three times its timeout): not on a writer job.
  Result<Answer> ask(const Query& query, Date today);

  // Answers each of `queries` as ask() does, in the caller's transaction on the writer's connection
  // `conn` (bulk jobs: many queries, one commit): one Result per query, in order; a malformed query,
  // an unregistered or removed body and every refusal are that query's own answer (the refusals
  // recorded in `conn`'s transaction, the others writing nothing). The call's own error (a store
  // failure) leaves `conn`'s transaction to be rolled back. The queries are not logged one by one:
  // their provision records name `log`'s next entry (LogAppender::next_seq), which the caller then
  // appends with every answer and finishes in the same transaction (a bulk batch's one entry).
  // `query_ids` gets each query's id: its record's, answered or refused ("" when nothing was recorded),
  // so that the entry names the refused queries too.
  Result<std::vector<Result<Answer>>> ask_in(store::Connection& conn, LogAppender& log,
                                             const std::vector<Query>& queries, Date today,
                                             std::vector<std::string>& query_ids);

  // The records naming `body` as requester or provider, newest first, at most `limit`.
  Result<std::vector<ProvisionRecord>> records_of_body(const std::string& body, int limit = 1000);
  // The records about the person with `resident` (their own page), newest first, at most `limit`.
  Result<std::vector<ProvisionRecord>> records_about(const ResidentCode& resident, int limit = 1000);

  // Deletes the records requested before the day `before` (UTC), oldest first, 10,000 per writer
  // transaction; answers how many. invalid_argument when `before` is within the retention period
  // (later than `today` minus kRecordRetentionYears): a record is kept its seven years.
  Result<int64_t> purge_records(Date before, Date today);

 private:
  // A query decided to be forwarded (step 1 above).
  struct Forwarded {
    std::string endpoint;
    std::string message;  // what is signed and sent, as logged
    const LayoutVersion* version = nullptr;
  };
  // `forward` null: a bulk batch's (ask_in), else a single query's.
  Result<std::vector<Result<Answer>>> ask_all(store::Connection& conn, LogAppender& log,
                                              const std::vector<Query>& queries, Date today,
                                              std::optional<Forwarded>* forward, std::vector<std::string>& query_ids);
  // Steps 2 and 3 above for `answer` (decided in step 1).
  Result<Answer> forward(const Query& q, const Forwarded& f, Answer answer);

  // Decides and records one well-formed query on `conn`: the answer, or with `refusal` set, the
  // refused query recorded (the answer then holds nothing of a replica). An error when a body is
  // unregistered or removed, before anything is written.
  // `log` appends to the message log (finished by the caller). `forward`: set when the query is to
  // be forwarded (null: a bulk job's, refused [live-only] instead, and not logged alone: see ask_in).
  Result<Answer> decide(store::Connection& conn, LogAppender& log, ActiveBodies& active, const Query& q,
                        const LayoutVersion& version, const std::string& now, const std::string& logged_at,
                        Status& refusal, std::optional<Forwarded>* forward);

  store::Pool& pool_;
  store::Writer& writer_;
  const LegalTable& table_;
  const DataLayouts& layouts_;
  KnownBodies known_bodies_;  // for the writer's transactions (ActiveBodies)
  Forwarding forwarding_;
  std::unique_ptr<ForwardLimits> in_flight_ = std::make_unique<ForwardLimits>(forwarding_.per_provider,
                                                                             forwarding_.in_total);
};

}  // namespace jlis::linkage
