// Bulk queries (一括照会, issue 11 §3): the pension service's nightly batches. A body submits a file
// of up to 1,000,000 queries (JSON Lines, one query object a line: {"code", "procedure",
// "provider", "items"}; the requester is the submitting body), gets a job, follows its progress and
// reads the results per line, failures listed by line.
//
// The job and its lines are stored whole when submitted (one transaction: the job exists with every
// line or not at all; 500 lines a row), answered in the layout version in force on the day it was submitted. A
// runner (BulkRunner, a thread of `jlis serve`) then answers the lines in order, a batch at a time:
// each batch is one writer transaction that decides and records its queries (Queries::ask_in: the
// same checks and provision records as a single query), writes their results (one row a batch) and
// the job's progress, and logs the batch's answer as one message-log entry (kind "bulk-answers": {"job_id",
// "results": every line's result as the results list shows it}; the lines' requests are in the
// job's logged file), which the batch's provision records name; so a restart resumes after the last
// committed batch and no line is answered twice. A line that is not a query (bad JSON, a missing
// field) fails with invalid_argument; a refusal fails with its error, recorded as every refusal is;
// the other lines are answered.
//
// A finished job's results are the persons' items: they are kept kBulkResultDays for the body to
// download, then deleted with the job (purge_finished; the runner does it when idle). The provision
// records and the message log keep what was provided, for their own periods.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/background_loop.h"
#include "common/date.h"
#include "common/status.h"
#include "linkage/queries.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

struct SignedMessage;  // signatures.h

inline constexpr int64_t kMaxBulkLines = 1'000'000;
// How long a finished job's results stay to be downloaded.
inline constexpr int kBulkResultDays = 30;

struct BulkJob {
  std::string job_id;
  std::string body;          // the submitting body: every line's requester
  std::string submitted_at;  // ISO 8601 UTC
  std::string day;           // the day whose layout version answers (YYYY-MM-DD)
  int64_t total = 0;         // queries (non-empty lines)
  int64_t done = 0;          // answered or failed
  int64_t failed = 0;
  std::string finished_at;   // "" until every line is done

  std::string state() const { return done == total ? "done" : done == 0 ? "queued" : "running"; }
};

// One line's result, as the results list shows it: {"line", "query_id", "layout_version", "items",
// "not_registered"} when answered, {"line", "error": {"code", "message"}} when it failed, with
// "query_id" too when it was refused (recorded, as a single query's refusal is).
using BulkResult = nlohmann::json;

class BulkJobs {
 public:
  static Status migrate(store::Connection& conn);

  // Not owned; all must outlive this.
  BulkJobs(store::Pool& pool, store::Writer& writer, Queries& queries)
      : pool_(pool), writer_(writer), queries_(queries) {}

  // Stores a job of `body`'s queries, one a line of `lines` (empty lines skipped; a line's number is
  // its place in the file, from 1), to be answered as on `today`. invalid_argument for no query or
  // more than kMaxBulkLines; not_found/permission_denied for an unregistered or removed body (checked
  // in the transaction that writes). `signed_by`: the file as the body signed it (signatures.h),
  // its signer checked and the file logged (kind "bulk-job") in that transaction: the lines'
  // requests are logged there, once (each batch's entry holds their answers).
  Result<BulkJob> submit(const std::string& body, std::string_view lines, Date today,
                         const SignedMessage* signed_by = nullptr);

  // The job `job_id` of `body`: not_found for an unknown job and for another body's.
  Result<BulkJob> get(const std::string& body, const std::string& job_id);

  // The results of the job's lines numbered after `after`, in order, at most `limit`; only the
  // failed lines when `failed_only`. Lines not yet done are absent. not_found as get().
  Result<std::vector<BulkResult>> results(const std::string& body, const std::string& job_id, int64_t after, int limit,
                                          bool failed_only);

  // Answers up to `batch` lines of the oldest unfinished job, in one writer transaction, `chunk` at a
  // time: after a chunk, when another job waits on the writer, the batch ends there and commits, so
  // a single query waits for a chunk, not a whole batch. Answers how many (0: no job waits).
  Result<int64_t> run_batch(int batch = 500, int chunk = 250);

  // Deletes the jobs finished before `before` (ISO 8601 UTC, as finished_at) with their lines and
  // results, at most 10,000 lines or 20 batches' results a writer transaction (the job's row last, so
  // an interrupted purge resumes); answers how many jobs it deleted.
  Result<int64_t> purge_finished(const std::string& before);

 private:
  store::Pool& pool_;
  store::Writer& writer_;
  Queries& queries_;
};

// Runs the jobs' batches on a thread of its own until destroyed (the batch in progress finishes):
// batch after batch while a job waits (also at the start: a job a restart interrupted resumes at
// once), then it waits for wake() (a submission), looking again every `idle` only as a safety net:
// an idle server does not spend its writer on looking. When idle it also deletes the jobs finished
// more than kBulkResultDays ago (BulkJobs::purge_finished).
class BulkRunner {
 public:
  explicit BulkRunner(BulkJobs& jobs, std::chrono::milliseconds idle = std::chrono::seconds(60));

  void wake() { loop_.wake(); }  // a job was submitted

 private:
  BackgroundLoop loop_;
};

}  // namespace jlis::linkage
