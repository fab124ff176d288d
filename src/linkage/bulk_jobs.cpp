#include "linkage/bulk_jobs.h"

#include <algorithm>
#include <ctime>

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/digest.h"
#include "common/text.h"
#include "linkage/bodies.h"
#include "linkage/signatures.h"
#include "store/migrations.h"

namespace jlis::linkage {

using nlohmann::json;
using store::Connection;
using store::Row;

namespace {

const std::vector<store::Migration> kBulkMigrations = {{1, R"sql(
CREATE TABLE linkage_bulk_jobs (
  job_id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL UNIQUE,       -- submission order: the runner takes the oldest unfinished job
  body TEXT NOT NULL,
  submitted_at TEXT NOT NULL,
  day TEXT NOT NULL,                -- the day whose layout version answers
  total BIGINT NOT NULL,
  done BIGINT NOT NULL,
  failed BIGINT NOT NULL,
  last_line BIGINT NOT NULL,        -- the last line answered (0 before the first)
  finished_at TEXT NOT NULL
);
CREATE INDEX linkage_bulk_jobs_body ON linkage_bulk_jobs (body, seq);
CREATE TABLE linkage_bulk_lines (
  job_id TEXT NOT NULL,
  line_no BIGINT NOT NULL,
  request TEXT NOT NULL,            -- the line as submitted
  result TEXT,                      -- BulkResult's JSON once answered (until migration 2)
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, line_no)
);
)sql"},
                                                    {2, R"sql(
-- A batch's results are one row, not an UPDATE of each of its lines (17 % of a batch's time).
CREATE TABLE linkage_bulk_results (
  job_id TEXT NOT NULL,
  first_line BIGINT NOT NULL,
  last_line BIGINT NOT NULL,
  failed BIGINT NOT NULL,           -- how many of these lines failed
  results TEXT NOT NULL,            -- each line's BulkResult (JSON, one line each), in line order
  PRIMARY KEY (job_id, first_line)
);
INSERT INTO linkage_bulk_results (job_id, first_line, last_line, failed, results)
  SELECT job_id, line_no, line_no, failed, result FROM linkage_bulk_lines WHERE result IS NOT NULL;
ALTER TABLE linkage_bulk_lines DROP COLUMN result;
ALTER TABLE linkage_bulk_lines DROP COLUMN failed;
)sql"},
                                                    {3, R"sql(
-- The file is stored a chunk of lines a row, not a row a line (8 % of a job's time went to those).
CREATE TABLE linkage_bulk_requests (
  job_id TEXT NOT NULL,
  first_line BIGINT NOT NULL,
  last_line BIGINT NOT NULL,
  lines TEXT NOT NULL,              -- the file's lines first_line..last_line as submitted (a blank one
                                    -- empty, a final CR dropped), one a line
  PRIMARY KEY (job_id, first_line)
);
INSERT INTO linkage_bulk_requests (job_id, first_line, last_line, lines)
  SELECT job_id, line_no, line_no, request FROM linkage_bulk_lines;
DROP TABLE linkage_bulk_lines;
)sql"}};

constexpr const char* kJobColumns =
    "SELECT job_id, body, submitted_at, day, total, done, failed, finished_at FROM linkage_bulk_jobs";

// The file is stored kChunkLines lines a row (linkage_bulk_requests), a batch's results a row
// (linkage_bulk_results).
constexpr int64_t kChunkLines = 500;

// Rows of `table` (keyed by job_id, first_line; rows of consecutive lines) of job ?1 from the one
// holding line ?2 on, in line order; ?1 given twice.
std::string rows_from_line(const std::string& columns, const std::string& table) {
  return "SELECT " + columns + " FROM " + table + " WHERE job_id = ? AND first_line >= COALESCE((SELECT MAX(first_line) "
         "FROM " + table + " WHERE job_id = ? AND first_line <= ?), 0)";
}

// Calls `each(number, line)` for the lines of `text` (rows_from_line's lines, from `first`), blank
// ones too, until it answers false; false then.
bool each_line(std::string_view text, int64_t first, const std::function<bool(int64_t, std::string_view)>& each) {
  for (size_t at = 0;; ++first) {
    const size_t end = std::min(text.find('\n', at), text.size());
    if (!each(first, text.substr(at, end - at))) return false;
    if (end == text.size()) return true;
    at = end + 1;
  }
}

BulkJob job_of(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), r.text(3), r.int64(4), r.int64(5), r.int64(6), r.text(7)};
}

// A failed line's result; a refused query's names its id (its record's).
BulkResult failure(int64_t line, const Status& s, const std::string& query_id = "") {
  BulkResult out = {{"line", line}, {"error", {{"code", std::string(code_name(s.code()))}, {"message", s.message()}}}};
  if (!query_id.empty()) out["query_id"] = query_id;
  return out;
}

// An answered line's result (BulkResult), written as text: the nlohmann objects it was built as
// were a tenth of a batch's time.
std::string answered_result(int64_t line, const Answer& a) {
  std::string out = R"({"line":)" + std::to_string(line) + R"(,"query_id":)";
  append_json_string(out, a.query_id);
  out += R"(,"layout_version":)";
  append_json_string(out, a.layout_version);
  out += R"(,"items":{)";
  for (const auto& [item, value] : a.items) {
    if (out.back() != '{') out += ',';
    append_json_string(out, item);
    out += ':';
    append_json_string(out, value);
  }
  out += R"(},"not_registered":[)";
  for (const std::string& item : a.not_registered) {
    if (out.back() != '[') out += ',';
    append_json_string(out, item);
  }
  return out + "]}";
}

}  // namespace

Status BulkJobs::migrate(Connection& conn) { return store::migrate(conn, "linkage_bulk", kBulkMigrations); }

Result<BulkJob> BulkJobs::submit(const std::string& body, std::string_view lines, Date today,
                                 const SignedMessage* signed_by) {
  // The file's lines, kChunkLines to a chunk (its first line's number, its text); numbered from 1.
  std::vector<std::pair<int64_t, std::string>> chunks;
  int64_t number = 0, total = 0;
  for (size_t at = 0; at < lines.size();) {
    size_t end = lines.find('\n', at);
    if (end == std::string_view::npos) end = lines.size();
    std::string_view line = lines.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (number++ % kChunkLines == 0) chunks.emplace_back(number, "");
    std::string& chunk = chunks.back().second;
    if (number != chunks.back().first) chunk += '\n';
    chunk += line;
    if (line.find_first_not_of(" \t") != std::string_view::npos && ++total > kMaxBulkLines)
      return invalid_argument("a bulk job holds at most " + std::to_string(kMaxBulkLines) + " queries");
    at = end + 1;
  }
  if (total == 0) return invalid_argument("a bulk job needs at least one query (one JSON object a line)");
  JLIS_ASSIGN_OR_RETURN(std::string job_id, random_hex(16));
  BulkJob job{job_id, body, now_iso8601(), today.to_iso(), total, 0, 0, ""};
  const std::string logged_at = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(Bodies::active(conn, body).status());
    if (signed_by) {
      LogAppender log(conn);
      JLIS_RETURN_IF_ERROR(accept_signed(conn, log, body, "bulk-job", *signed_by, logged_at));
      JLIS_RETURN_IF_ERROR(log.finish());
    }
    JLIS_ASSIGN_OR_RETURN(auto seq, conn.query_int64("SELECT COALESCE(MAX(seq), 0) + 1 FROM linkage_bulk_jobs"));
    JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_bulk_jobs (job_id, seq, body, submitted_at, day, total, done, "
                                      "failed, last_line, finished_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, '')",
                                      {job.job_id, seq.value_or(1), job.body, job.submitted_at, job.day, job.total})
                             .status());
    for (size_t i = 0; i < chunks.size(); ++i)
      JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_bulk_requests (job_id, first_line, last_line, lines) "
                                        "VALUES (?, ?, ?, ?)",
                                        {job.job_id, chunks[i].first,
                                         i + 1 < chunks.size() ? chunks[i + 1].first - 1 : number, chunks[i].second})
                               .status());
    return Status::ok();
  }));
  return job;
}

Result<BulkJob> BulkJobs::get(const std::string& body, const std::string& job_id) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::optional<BulkJob> job;
  JLIS_RETURN_IF_ERROR(conn->query(std::string(kJobColumns) + " WHERE job_id = ? AND body = ?", {job_id, body},
                                   [&](const Row& r) {
                                     job = job_of(r);
                                     return false;
                                   }));
  if (!job) return not_found("no bulk job " + job_id + " of this body");
  return *job;
}

Result<std::vector<BulkResult>> BulkJobs::results(const std::string& body, const std::string& job_id, int64_t after,
                                                  int limit, bool failed_only) {
  JLIS_RETURN_IF_ERROR(get(body, job_id).status());
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<BulkResult> out;
  if (limit <= 0) return out;
  // From the batch holding line after + 1 (the last to start at or before it) on, along the key.
  JLIS_RETURN_IF_ERROR(conn->query(
      rows_from_line("results", "linkage_bulk_results") + (failed_only ? " AND failed > 0" : "") + " ORDER BY first_line",
      {job_id, job_id, after + 1}, [&](const Row& r) {
        return each_line(r.text(0), 0, [&](int64_t, std::string_view text) {
          json result = json::parse(text);
          if (result["line"].get<int64_t>() <= after || (failed_only && !result.contains("error"))) return true;
          out.push_back(std::move(result));
          return static_cast<int>(out.size()) < limit;
        });
      }));
  return out;
}

Result<int64_t> BulkJobs::run_batch(int batch, int chunk) {
  int64_t answered = 0;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    answered = 0;
    std::optional<BulkJob> job;
    JLIS_RETURN_IF_ERROR(conn.query(std::string(kJobColumns) + " WHERE done < total ORDER BY seq LIMIT 1", {},
                                    [&](const Row& r) {
                                      job = job_of(r);
                                      return false;
                                    }));
    if (!job) return Status::ok();
    JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT last_line FROM linkage_bulk_jobs WHERE job_id = ?",
                                                      {job->job_id}));
    const int64_t last_line = last.value_or(0);
    std::vector<std::pair<int64_t, std::string>> lines;  // the next `batch` queries (non-blank lines)
    JLIS_RETURN_IF_ERROR(conn.query(rows_from_line("first_line, lines", "linkage_bulk_requests") + " ORDER BY first_line",
                                    {job->job_id, job->job_id, last_line + 1}, [&](const Row& r) {
                                      return each_line(r.text(1), r.int64(0), [&](int64_t number, std::string_view line) {
                                        if (number > last_line && line.find_first_not_of(" \t") != std::string_view::npos)
                                          lines.emplace_back(number, line);
                                        return lines.size() < static_cast<size_t>(batch);
                                      });
                                    }));
    if (lines.empty()) return internal_error("bulk job " + job->job_id + " has fewer lines than its total");
    JLIS_ASSIGN_OR_RETURN(Date day, Date::parse_iso(job->day));
    // A chunk's well-formed lines are asked together; the others fail as they are. Between chunks the
    // batch ends early when another write waits on the writer (a single query's answer, say).
    std::vector<std::string> results(lines.size());  // each line's BulkResult as JSON text
    int64_t failed = 0;
    LogAppender log(conn);
    for (size_t from = 0; from < lines.size(); from += static_cast<size_t>(chunk)) {
      if (from > 0 && writer_.queued() > 0) {
        lines.resize(from);
        results.resize(from);
        break;
      }
      std::vector<Query> queries;
      std::vector<size_t> asked;  // index into lines of each query
      for (size_t i = from; i < std::min(lines.size(), from + static_cast<size_t>(chunk)); ++i) {
        const json line = json::parse(lines[i].second, nullptr, false);
        auto q = line.is_discarded() ? Result<Query>(invalid_argument("the line is not JSON"))
                                     : query_from_json(line, job->body);
        if (q.ok()) {
          queries.push_back(std::move(*q));
          asked.push_back(i);
        } else {
          results[i] = failure(lines[i].first, q.status()).dump();
          ++failed;
        }
      }
      std::vector<std::string> query_ids;
      JLIS_ASSIGN_OR_RETURN(auto answers, queries_.ask_in(conn, log, queries, day, query_ids));
      for (size_t k = 0; k < answers.size(); ++k) {
        const int64_t line = lines[asked[k]].first;
        const Result<Answer>& a = answers[k];
        failed += !a.ok();
        results[asked[k]] = a.ok() ? answered_result(line, *a) : failure(line, a.status(), query_ids[k]).dump();
      }
    }
    // The batch's answer, every line's result as the body reads it, is one entry of the message log:
    // the one its provision records name (Queries::ask_in).
    std::string logged = R"({"job_id":")" + job->job_id + R"(","results":[)";
    std::string stored;  // the same results, one a line
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) logged += ',', stored += '\n';
      logged += results[i];
      stored += results[i];
    }
    logged += "]}";
    JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_bulk_results (job_id, first_line, last_line, failed, results) "
                                      "VALUES (?, ?, ?, ?, ?)",
                                      {job->job_id, lines.front().first, lines.back().first, failed, stored})
                             .status());
    JLIS_RETURN_IF_ERROR(
        log.append("platform", "bulk-answers", logged, "", iso8601_seconds(static_cast<int64_t>(std::time(nullptr))))
            .status());
    JLIS_RETURN_IF_ERROR(log.finish());
    answered = static_cast<int64_t>(lines.size());
    const bool finished = job->done + answered == job->total;
    return conn
        .execute("UPDATE linkage_bulk_jobs SET done = done + ?, failed = failed + ?, last_line = ?, finished_at = ? "
                 "WHERE job_id = ?",
                 {answered, failed, lines.back().first, finished ? now_iso8601() : std::string(), job->job_id})
        .status();
  }));
  return answered;
}

Result<int64_t> BulkJobs::purge_finished(const std::string& before) {
  int64_t purged = 0;
  for (;;) {
    std::optional<std::string> job;
    JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
      JLIS_ASSIGN_OR_RETURN(job, conn.query_text("SELECT job_id FROM linkage_bulk_jobs WHERE finished_at <> '' AND "
                                                 "finished_at < ? ORDER BY seq LIMIT 1",
                                                 {before}));
      if (!job) return Status::ok();
      for (const char* table : {"linkage_bulk_requests", "linkage_bulk_results"}) {
        JLIS_ASSIGN_OR_RETURN(int64_t deleted,
                              conn.execute(std::string("DELETE FROM ") + table + " WHERE job_id = ? AND first_line IN "
                                           "(SELECT first_line FROM " + table + " WHERE job_id = ? ORDER BY first_line "
                                           "LIMIT 20)",
                                           {*job, *job}));
        if (deleted > 0) return Status::ok();
      }
      ++purged;
      return conn.execute("DELETE FROM linkage_bulk_jobs WHERE job_id = ?", {*job}).status();
    }));
    if (!job) return purged;
  }
}

BulkRunner::BulkRunner(BulkJobs& jobs, std::chrono::milliseconds idle)
    : loop_(
          [&jobs, idle] {
            auto ran = jobs.run_batch();
            if (!ran.ok())
              spdlog::warn("linkage: a bulk job's batch failed (tried again in {} ms): {}", idle.count(),
                           ran.status().message());
            if (ran.ok() && *ran > 0) return true;  // straight on while a job waits
            const int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - int64_t{kBulkResultDays} * 86400;
            if (auto purged = jobs.purge_finished(iso8601_seconds(cutoff)); !purged.ok())
              spdlog::warn("linkage: purging finished bulk jobs failed: {}", purged.status().message());
            return false;
          },
          idle, false) {}

}  // namespace jlis::linkage
