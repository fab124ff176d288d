#include "linkage/queries.h"

#include <algorithm>
#include <ctime>
#include <map>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "common/text.h"
#include "http/client.h"
#include "linkage/bodies.h"
#include "linkage/codes.h"
#include "linkage/message_log.h"
#include "store/migrations.h"

namespace jlis::linkage {

using nlohmann::json;
using store::Connection;
using store::Row;

namespace {

const std::vector<store::Migration> kProvisionMigrations = {{1, R"sql(
CREATE TABLE linkage_provisions (
  query_id TEXT PRIMARY KEY,
  log_seq BIGINT NOT NULL UNIQUE,      -- the query's entry in the message log: the records' order
  requester TEXT NOT NULL,
  provider TEXT NOT NULL,
  procedure_code TEXT NOT NULL,
  items TEXT NOT NULL,                 -- item codes, comma-separated, as asked
  person_id TEXT,                      -- linkage_persons; NULL when the requester's code was unknown
  requested_at TEXT NOT NULL,
  answered_at TEXT NOT NULL,
  outcome TEXT NOT NULL,               -- provided | refused
  reason TEXT NOT NULL,                -- refused: the rule's name; else ''
  layout_version TEXT NOT NULL         -- provided: the version answered in; else ''
);
CREATE INDEX linkage_provisions_person ON linkage_provisions (person_id, log_seq);
CREATE INDEX linkage_provisions_requester ON linkage_provisions (requester, log_seq);
CREATE INDEX linkage_provisions_provider ON linkage_provisions (provider, log_seq);
)sql"},
                                                           {2, R"sql(
-- A bulk batch's records share the batch's one log entry (bulk_jobs.h): log_seq is no longer unique.
CREATE TABLE linkage_provisions_2 (
  query_id TEXT PRIMARY KEY,
  log_seq BIGINT NOT NULL,             -- the entry in the message log of the query's answer (a single
                                       -- query's own; a bulk batch's, shared): the records' order
  requester TEXT NOT NULL,
  provider TEXT NOT NULL,
  procedure_code TEXT NOT NULL,
  items TEXT NOT NULL,
  person_id TEXT,
  requested_at TEXT NOT NULL,
  answered_at TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  layout_version TEXT NOT NULL
);
INSERT INTO linkage_provisions_2 SELECT query_id, log_seq, requester, provider, procedure_code, items, person_id,
  requested_at, answered_at, outcome, reason, layout_version FROM linkage_provisions;
DROP TABLE linkage_provisions;
ALTER TABLE linkage_provisions_2 RENAME TO linkage_provisions;
CREATE INDEX linkage_provisions_log ON linkage_provisions (log_seq);
CREATE INDEX linkage_provisions_person ON linkage_provisions (person_id, log_seq);
CREATE INDEX linkage_provisions_requester ON linkage_provisions (requester, log_seq);
CREATE INDEX linkage_provisions_provider ON linkage_provisions (provider, log_seq);
)sql"},
                                                           {3, R"sql(
-- The purge goes oldest first along the records' time-ordered key: one index fewer to write a record.
DROP INDEX linkage_provisions_log;
)sql"}};

constexpr const char* kRecordColumns =
    "SELECT query_id, requester, provider, procedure_code, items, requested_at, answered_at, outcome, reason, "
    "layout_version, log_seq FROM linkage_provisions";

ProvisionRecord record_of(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3), split_nonempty(r.text(4), ','), r.text(5), r.text(6),
          r.text(7), r.text(8), r.text(9)};
}

Status check_query(const Query& q) {
  if (q.requester.empty() || q.provider.empty()) return invalid_argument("a query names its requester and provider");
  if (q.code.size() != 32 || q.code.find_first_not_of("0123456789abcdef") != std::string::npos)
    return invalid_argument("a query names the person by the requester's linkage code (32 hex digits)");
  if (q.procedure.empty() || q.procedure.size() > 16) return invalid_argument("a query names its procedure (事務 code)");
  if (q.items.size() > 64) return invalid_argument("a query asks for at most 64 items");
  for (const auto& i : q.items)
    if (i.size() != 5 || i.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos)
      return invalid_argument("an item code is 5 of [A-Z0-9]");
  return Status::ok();
}

// Says which asked item the procedure's layout in `version` lacks (empty when none does).
std::string not_in_layout(const LayoutVersion& version, const std::string& procedure,
                          const std::vector<std::string>& items) {
  auto layout = version.procedures.find(procedure);
  if (layout == version.procedures.end())
    return "layout " + version.version + " has no layout for procedure " + procedure;
  for (const auto& i : items)
    if (std::find(layout->second.items.begin(), layout->second.items.end(), i) == layout->second.items.end())
      return "layout " + version.version + ": item " + i + " is not in the layout of " + procedure;
  return "";
}

}  // namespace

Result<Query> query_from_json(const json& j, const std::string& requester) {
  if (!j.is_object()) return invalid_argument("a query is a JSON object");
  Query q{requester, "", "", "", {}};
  for (auto [name, field] : {std::pair{"code", &q.code}, {"procedure", &q.procedure}, {"provider", &q.provider}}) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return invalid_argument(std::string(name) + " is required (a string)");
    *field = it->get<std::string>();
  }
  auto items = j.find("items");
  if (items == j.end() || !items->is_array() || items->empty())
    return invalid_argument("items is required: the item codes asked for");
  for (const auto& i : *items) {
    if (!i.is_string()) return invalid_argument("items are item codes (strings)");
    q.items.push_back(i.get<std::string>());
  }
  return q;
}

Status Queries::migrate(Connection& conn) { return store::migrate(conn, "linkage_provisions", kProvisionMigrations); }

Result<Answer> Queries::ask(const Query& q, Date today) {
  JLIS_RETURN_IF_ERROR(check_query(q));
  std::vector<Result<Answer>> answered;
  std::optional<Forwarded> forwarded;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    forwarded.reset();  // a retried transaction decides again
    LogAppender log(conn);
    std::vector<std::string> query_ids;
    JLIS_ASSIGN_OR_RETURN(answered, ask_all(conn, log, {q}, today, &forwarded, query_ids));
    return log.finish();
  }));
  if (!forwarded || !answered.front().ok()) return std::move(answered.front());
  return forward(q, *forwarded, std::move(answered.front().value()));
}

Result<Answer> Queries::forward(const Query& q, const Forwarded& f, Answer answer) {
  // Step 2, outside the writer: sign, send, verify.
  http::ClientResponse response;
  std::optional<SignedMessage> reply;
  ItemValues items;
  const std::shared_ptr<void> slot = in_flight_->acquire(q.provider);
  Status failure = [&]() -> Status {
    if (!slot)
      return unavailable("the provider's system already has " + std::to_string(forwarding_.per_provider) +
                         " forwarded queries in flight, or the platform " + std::to_string(forwarding_.in_total) +
                         " in all");
    if (!forwarding_.key || !forwarding_.verifier)
      return unavailable("the platform has no key or verifier to forward with");
    JLIS_ASSIGN_OR_RETURN(auto key, forwarding_.key());
    JLIS_ASSIGN_OR_RETURN(std::string signature, key->sign(f.message, static_cast<int64_t>(std::time(nullptr))));
    http::ClientRequest request;
    request.method = "POST";
    request.url = f.endpoint;
    request.body = f.message;
    request.headers = {{kSignatureHeader, pki::base64_encode(signature)}};
    request.connect_timeout = request.timeout = forwarding_.timeout;
    request.max_body_bytes = 1 << 20;
    JLIS_ASSIGN_OR_RETURN(response, http::fetch(request));
    if (response.status != 200)
      return unavailable("the provider's system answered HTTP " + std::to_string(response.status));
    JLIS_ASSIGN_OR_RETURN(reply, forwarding_.verifier->verify(response.body, response.header("jlis-signature")));
    const json j = json::parse(response.body, nullptr, false);
    if (!j.is_object() || j.value("query_id", "") != answer.query_id || !j.contains("items") || !j["items"].is_object())
      return invalid_argument("the provider's answer is not {\"query_id\": this query's, \"items\": {...}}");
    for (const auto& [item, value] : j["items"].items()) {
      if (!value.is_string()) return invalid_argument("the provider's item " + item + " is not a string");
      if (std::find(q.items.begin(), q.items.end(), item) == q.items.end())
        return invalid_argument("the provider answered item " + item + ", which was not asked");
      items[item] = value.get<std::string>();
    }
    const Validation v = DataLayouts::validate_items(*f.version, items);
    if (!v.ok()) return invalid_argument("the provider's answer: " + v.message);
    return Status::ok();
  }();
  // Step 3: recorded, then answered.
  const std::string now = now_iso8601();
  const std::string logged_at = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));
  answer.items = std::move(items);
  for (const auto& i : q.items)
    if (!answer.items.count(i)) answer.not_registered.push_back(i);
  std::string reason;  // of a failure
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    // A body removed meanwhile gets nothing, and the record says so.
    Status outcome = Bodies::active(conn, q.requester).status();
    if (outcome.is_ok()) outcome = Bodies::active(conn, q.provider).status();
    reason = std::string(!outcome.is_ok() ? kBodyRemoved : slot ? kProviderUnavailable : kProviderBusy);
    if (outcome.is_ok()) outcome = failure;
    if (outcome.is_ok()) outcome = Bodies::check_signer(conn, q.provider, reply->signer);
    LogAppender log(conn);
    if (outcome.is_ok()) {
      JLIS_RETURN_IF_ERROR(
          log.append(q.provider, "provider-answer", reply->message, reply->signature, logged_at).status());
      json out = {{"query_id", answer.query_id}, {"layout_version", answer.layout_version}, {"items", answer.items},
                  {"not_registered", answer.not_registered}, {"answered_by", answer.answered_by}};
      JLIS_RETURN_IF_ERROR(log.append("platform", "answer", out.dump(), "", logged_at).status());
    } else {
      json out = {{"query_id", answer.query_id}, {"refusal", reason}, {"message", outcome.message()}};
      JLIS_RETURN_IF_ERROR(log.append("platform", "refusal", out.dump(), "", logged_at).status());
    }
    JLIS_RETURN_IF_ERROR(log.finish());
    failure = outcome;
    return conn
        .execute("UPDATE linkage_provisions SET outcome = ?, reason = ?, answered_at = ? WHERE query_id = ?",
                 {std::string(failure.is_ok() ? "provided" : "failed"), failure.is_ok() ? std::string() : reason,
                  now, answer.query_id})
        .status();
  }));
  if (!failure.is_ok() && reason == kBodyRemoved) return failure;
  if (!failure.is_ok() && reason == kProviderBusy)
    return unavailable("not forwarded, ask again later: " + failure.message() + " [" + reason + "]");
  if (!failure.is_ok())
    return unavailable("the provider's own system did not answer the forwarded query: " + failure.message() + " [" +
                       reason + "]");
  return answer;
}

std::shared_ptr<void> ForwardLimits::acquire(const std::string& provider) {
  std::lock_guard lock(mu_);
  int& to = to_[provider];
  if (to >= per_provider_ || all_ >= in_total_) {
    if (to == 0) to_.erase(provider);
    return nullptr;
  }
  ++to;
  ++all_;
  return std::shared_ptr<void>(static_cast<void*>(this), [this, provider](void*) {  // deletes nothing
    std::lock_guard lock(mu_);
    if (--to_[provider] == 0) to_.erase(provider);
    --all_;
  });
}

Result<std::vector<Result<Answer>>> Queries::ask_in(Connection& conn, LogAppender& log,
                                                    const std::vector<Query>& queries, Date today,
                                                    std::vector<std::string>& query_ids) {
  return ask_all(conn, log, queries, today, nullptr, query_ids);
}

Result<std::vector<Result<Answer>>> Queries::ask_all(Connection& conn, LogAppender& log,
                                                     const std::vector<Query>& queries, Date today,
                                                     std::optional<Forwarded>* forward,
                                                     std::vector<std::string>& query_ids) {
  JLIS_ASSIGN_OR_RETURN(const LayoutVersion* version, layouts_.version_in_force(today));
  ActiveBodies bodies(conn, known_bodies_);
  const std::string now = now_iso8601();
  const std::string logged_at = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));  // the log's form
  std::vector<Result<Answer>> out;
  out.reserve(queries.size());
  query_ids.assign(queries.size(), "");
  for (size_t i = 0; i < queries.size(); ++i) {
    const Query& q = queries[i];
    if (Status malformed = check_query(q); !malformed.is_ok()) {
      out.push_back(malformed);
      continue;
    }
    Status refusal = Status::ok();  // recorded, then answered
    auto answer = decide(conn, log, bodies, q, *version, now, logged_at, refusal, forward);
    if (!answer.ok()) {
      // Only what was decided before anything was written for the query (its bodies) is its own
      // answer; a store failure ends the transaction.
      const Code c = answer.status().code();
      if (c != Code::not_found && c != Code::permission_denied && c != Code::invalid_argument) return answer.status();
      out.push_back(answer.status());
    } else {
      query_ids[i] = answer->query_id;
      if (refusal.is_ok())
        out.push_back(std::move(*answer));
      else
        out.push_back(refusal);
    }
  }
  return out;
}

Result<Answer> Queries::decide(Connection& conn, LogAppender& log, ActiveBodies& active, const Query& q,
                               const LayoutVersion& version, const std::string& now, const std::string& logged_at,
                               Status& refusal, std::optional<Forwarded>* forward) {
  if (q.signed_by) JLIS_RETURN_IF_ERROR(Bodies::check_signer(conn, q.requester, q.signed_by->signer));
  const Result<Body>& requester = active(q.requester);
  if (!requester.ok()) return requester.status();
  const Result<Body>& provider = active(q.provider);
  if (!provider.ok()) return provider.status();
  JLIS_ASSIGN_OR_RETURN(auto person, LinkageCodes::person_of(conn, q.requester, q.code));
  JLIS_ASSIGN_OR_RETURN(std::string query_id, time_ordered_hex_id());  // the records' key, written in order
  Answer answer{query_id, version.version, {}, {}};
  std::string reason;
  // Each refusal's message ends with its rule's name in brackets, as the record keeps it.
  if (!person) {
    reason = std::string(kUnknownCode);
    refusal = not_found("body " + q.requester + " has no such linkage code [" + reason + "]");
  } else if (Decision d = table_.decide(requester->kind, q.procedure, provider->kind, q.items); !d.allowed()) {
    reason = std::string(refusal_name(d.refusal));
    refusal = permission_denied(d.message + " [" + reason + "]");
  } else if (std::string missing = not_in_layout(version, q.procedure, q.items); !missing.empty()) {
    reason = std::string(kNotInLayout);
    refusal = invalid_argument(missing + " [" + reason + "]");
  }
  // Whether the provider answers the person itself (the query forwarded, not read from the replica).
  bool live = false;
  if (refusal.is_ok()) {
    JLIS_ASSIGN_OR_RETURN(live, Replicas::answered_live(conn, q.provider, *person));
  }
  if (live && forward == nullptr) {
    reason = std::string(kLiveOnly);
    refusal = unavailable("body " + q.provider + " answers this person's queries itself: ask them one by one [" +
                          reason + "]");
  }

  // A single query's request is logged here, as signed when it was (the answer's entry names the
  // query id), else as read, and then its answer. A bulk line is not logged alone: its request is in
  // the job's logged file, its answer in the batch's entry, which the caller appends next
  // (bulk_jobs.h) and the record names.
  const bool bulk = forward == nullptr;
  int64_t log_seq = 0;
  if (bulk) {
    JLIS_ASSIGN_OR_RETURN(log_seq, log.next_seq());
  } else {
    const std::string read = q.signed_by ? std::string()
                                         : json{{"query_id", query_id}, {"requester", q.requester}, {"code", q.code},
                                                {"procedure", q.procedure}, {"provider", q.provider}, {"items", q.items}}
                                               .dump();
    JLIS_ASSIGN_OR_RETURN(LoggedMessage logged,
                          log.append(q.requester, "query", q.signed_by ? q.signed_by->message : read,
                                     q.signed_by ? std::string_view(q.signed_by->signature) : std::string_view(),
                                     logged_at));
    log_seq = logged.seq;
  }
  if (refusal.is_ok() && live) {
    // The provider's own code for the person goes to the provider's own system, and nowhere else.
    JLIS_ASSIGN_OR_RETURN(auto provider_code, LinkageCodes::code_of(conn, q.provider, *person));
    if (!provider_code) return internal_error("a provider marked a person live without a code for them");
    const std::string message = json{{"query_id", query_id},          {"code", *provider_code},
                                     {"procedure", q.procedure},      {"requester", q.requester},
                                     {"items", q.items},              {"layout_version", version.version}}
                                    .dump();
    JLIS_RETURN_IF_ERROR(log.append("platform", "forward", message, "", logged_at).status());
    *forward = Forwarded{provider->endpoint, message, &version};
    answer.answered_by = "provider";
  } else if (refusal.is_ok()) {
    // The provider's code for the person is converted here, inside the platform: the replica is
    // the provider's, and neither code leaves towards the other body.
    JLIS_ASSIGN_OR_RETURN(answer.items, Replicas::read(conn, q.provider, *person, q.items));
    for (const auto& i : q.items)
      if (!answer.items.count(i)) answer.not_registered.push_back(i);
    if (!bulk) {
      json reply = {{"query_id", query_id}, {"layout_version", version.version}, {"items", answer.items},
                    {"not_registered", answer.not_registered}};
      JLIS_RETURN_IF_ERROR(log.append("platform", "answer", reply.dump(), "", logged_at).status());
    }
  } else if (!bulk) {
    json reply = {{"query_id", query_id}, {"refusal", reason}, {"message", refusal.message()}};
    JLIS_RETURN_IF_ERROR(log.append("platform", "refusal", reply.dump(), "", logged_at).status());
  }
  JLIS_RETURN_IF_ERROR(
      conn.execute("INSERT INTO linkage_provisions (query_id, log_seq, requester, provider, procedure_code, items, "
                   "person_id, requested_at, answered_at, outcome, reason, layout_version) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   {query_id, log_seq, q.requester, q.provider, q.procedure, join(q.items, ","),
                    person ? store::Value(*person) : store::Value(nullptr), now, now,
                    std::string(!refusal.is_ok() ? "refused" : live ? "forwarded" : "provided"), reason,
                    refusal.is_ok() ? version.version : std::string()})
          .status());
  return answer;
}

Result<std::vector<ProvisionRecord>> Queries::records_of_body(const std::string& body, int limit) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  // Each side newest first along its own index, `limit` of each, then merged (UNION lists a record
  // naming the body on both sides once): one query with OR would sort every record the body has
  // (the pension service's run to hundreds of millions).
  const std::string side = " ORDER BY log_seq DESC, query_id DESC LIMIT ?";
  std::vector<ProvisionRecord> out;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT * FROM (" + std::string(kRecordColumns) + " WHERE requester = ?" + side +
                                       ") AS asked UNION SELECT * FROM (" + kRecordColumns + " WHERE provider = ?" +
                                       side + ") AS provided" + side,
                                   {body, int64_t{limit}, body, int64_t{limit}, int64_t{limit}}, [&](const Row& r) {
                                     out.push_back(record_of(r));
                                     return true;
                                   }));
  return out;
}

Result<std::vector<ProvisionRecord>> Queries::records_about(const ResidentCode& resident, int limit) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<ProvisionRecord> out;
  JLIS_RETURN_IF_ERROR(conn->query(std::string(kRecordColumns) +
                                       " WHERE person_id = (SELECT person_id FROM linkage_persons WHERE resident_code = "
                                       "?) ORDER BY log_seq DESC, query_id DESC LIMIT ?",
                                   {resident.str(), int64_t{limit}}, [&](const Row& r) {
                                     out.push_back(record_of(r));
                                     return true;
                                   }));
  return out;
}

Result<int64_t> Queries::purge_records(Date before, Date today) {
  const Date earliest = today.add_years(-kRecordRetentionYears);
  if (earliest < before)
    return invalid_argument("provision records are kept " + std::to_string(kRecordRetentionYears) +
                            " years: the day must be " + earliest.to_iso() + " or earlier");
  int64_t purged = 0;
  for (;;) {
    int64_t deleted = 0;
    JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
      JLIS_ASSIGN_OR_RETURN(deleted, conn.execute("DELETE FROM linkage_provisions WHERE query_id IN (SELECT query_id FROM "
                                                  "linkage_provisions WHERE requested_at < ? ORDER BY query_id LIMIT "
                                                  "10000)",
                                                  {before.to_iso()}));
      return Status::ok();
    }));
    purged += deleted;
    if (deleted < 10000) return purged;
  }
}

}  // namespace jlis::linkage
