// Bulk jobs (linkage/bulk_jobs.h; issue 11 §3): a file of queries becomes a job stored whole; its
// lines are answered in order a batch per transaction, each as a single query would be (the same
// refusals, provision records and message log); failures are listed by line; a job is its body's
// alone. On SQLite and PostgreSQL.
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "common/clock.h"
#include "linkage_world.h"

namespace jlis::linkage {
namespace {

class BulkJobsTest : public testing::QueriesWorld {
 protected:
  void SetUp() override {
    QueriesWorld::SetUp();
    jobs_ = std::make_unique<BulkJobs>(*pool_, *writer_, *queries_);
    today_ = layouts_->versions().back().effective_from;
    for (int i = 0; i < 3; ++i) {
      const ResidentCode r = ResidentCode::from_body(1000 + i);
      pension_codes_.push_back(codes_->code_for(nenkin_, r).value());
      auto put = replicas_->put(city_, codes_->code_for(city_, r).value(), {{"TX001", std::to_string(100 * (i + 1))}},
                                today_);
      ASSERT_TRUE(put.ok()) << put.status().to_string();
    }
  }
  std::string line(const std::string& code, const std::string& items) {
    return R"({"code":")" + code + R"(","procedure":"J031-01","provider":")" + city_ + R"(","items":)" + items + "}";
  }
  // Runs batches of `batch` until the runner finds nothing to do; answers the batches' sizes.
  std::vector<int64_t> run_all(int batch) {
    std::vector<int64_t> sizes;
    for (;;) {
      auto ran = jobs_->run_batch(batch);
      EXPECT_TRUE(ran.ok()) << ran.status().to_string();
      if (!ran.ok() || *ran == 0) return sizes;
      sizes.push_back(*ran);
    }
  }

  std::unique_ptr<BulkJobs> jobs_;
  std::vector<std::string> pension_codes_;
  Date today_;
};

// Rule (the acceptance's bulk job with partial failures): every line is answered or fails on its
// own, by line number (blank lines skipped but counted); the answered lines carry the replica's
// items; the refusals are recorded like single queries; the progress counts both; the failed lines
// are listed alone on request.
TEST_F(BulkJobsTest, AJobWithPartialFailuresListsEachFailureByLine) {
  const std::string file = line(pension_codes_[0], R"(["TX001"])") + "\n" +        // 1 answered
                           line(pension_codes_[1], R"(["TX001","RS004"])") + "\n" +  // 2 refused: not allowed
                           "\n" +                                                      // 3 blank
                           line(std::string(32, 'a'), R"(["TX001"])") + "\r\n" +     // 4 refused: unknown code
                           "{not json\n" +                                             // 5 malformed
                           R"({"code":"x","procedure":"J031-01"})" + "\n" +           // 6 no provider
                           line(pension_codes_[2], R"(["TX001","TX004"])");           // 7 answered
  auto job = jobs_->submit(nenkin_, file, today_);
  ASSERT_TRUE(job.ok()) << job.status().to_string();
  EXPECT_EQ(job->total, 6);
  EXPECT_EQ(job->state(), "queued");
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions"), 0) << "nothing is asked before the runner runs";

  EXPECT_EQ(run_all(4), (std::vector<int64_t>{4, 2}));
  auto done = jobs_->get(nenkin_, job->job_id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state(), "done");
  EXPECT_EQ(done->done, 6);
  EXPECT_EQ(done->failed, 4);
  EXPECT_FALSE(done->finished_at.empty());

  auto all = jobs_->results(nenkin_, job->job_id, 0, 100, false).value();
  ASSERT_EQ(all.size(), 6u);
  std::vector<int64_t> lines;
  for (const auto& r : all) lines.push_back(r["line"].get<int64_t>());
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 4, 5, 6, 7}));
  EXPECT_EQ(all[0]["items"], (nlohmann::json{{"TX001", "100"}}));
  EXPECT_EQ(all[5]["items"], (nlohmann::json{{"TX001", "300"}}));
  EXPECT_EQ(all[5]["not_registered"], nlohmann::json::array({"TX004"}));
  EXPECT_EQ(all[1]["error"]["code"], "permission_denied");
  // The refused lines name their recorded queries; the lines that are not queries recorded nothing.
  for (int refused : {1, 2}) {
    ASSERT_TRUE(all[refused].contains("query_id")) << all[refused].dump();
    EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused' AND query_id = '" +
                    all[refused]["query_id"].get<std::string>() + "'"),
              1);
  }
  EXPECT_FALSE(all[3].contains("query_id"));
  EXPECT_FALSE(all[4].contains("query_id"));
  EXPECT_NE(all[1]["error"]["message"].get<std::string>().find("[item-not-allowed]"), std::string::npos);
  EXPECT_EQ(all[2]["error"]["code"], "not_found");
  EXPECT_EQ(all[3]["error"]["code"], "invalid_argument");
  EXPECT_EQ(all[4]["error"]["code"], "invalid_argument");
  EXPECT_NE(all[4]["error"]["message"].get<std::string>().find("provider"), std::string::npos);

  auto failed = jobs_->results(nenkin_, job->job_id, 0, 100, true).value();
  lines.clear();
  for (const auto& r : failed) lines.push_back(r["line"].get<int64_t>());
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 4, 5, 6}));
  auto page = jobs_->results(nenkin_, job->job_id, 2, 2, false).value();
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0]["line"], 4);
  EXPECT_EQ(page[1]["line"], 5);
  // Pages across the two batches' results (lines 1-5 and 6-7), from inside each and from its start.
  for (auto [after, expect] : std::vector<std::pair<int64_t, std::vector<int64_t>>>{
           {4, {5, 6, 7}}, {5, {6, 7}}, {6, {7}}, {7, {}}, {0, {1, 2, 4}}}) {
    lines.clear();
    page = jobs_->results(nenkin_, job->job_id, after, 3, false).value();
    for (const auto& r : page) lines.push_back(r["line"].get<int64_t>());
    EXPECT_EQ(lines, expect) << "after line " << after;
  }
  page = jobs_->results(nenkin_, job->job_id, 4, 1, true).value();
  ASSERT_EQ(page.size(), 1u) << "failed lines, a page of one";
  EXPECT_EQ(page[0]["line"], 5);

  // The asked lines are recorded as single queries are: two provided, two refused (the malformed
  // lines ask nothing).
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'provided'"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE outcome = 'refused'"), 2);
  EXPECT_EQ(run_all(4), std::vector<int64_t>{}) << "a finished job is not run again";
}

// Rule: a batch's answers are one entry of the message log, kind "bulk-answers", holding every line's
// result exactly as the body downloads it (failures too), and each of the batch's provision records
// names that entry; the chain stays whole.
TEST_F(BulkJobsTest, EachBatchIsLoggedAsOneEntryThatItsRecordsName) {
  const std::string file = line(pension_codes_[0], R"(["TX001"])") + "\n" +         // answered
                           line(pension_codes_[1], R"(["TX001","RS004"])") + "\n" +   // refused
                           "{not json\n" +                                              // malformed
                           line(pension_codes_[2], R"(["TX001"])") + "\n" +         // answered
                           line(std::string(32, 'a'), R"(["TX001"])");              // refused: unknown code
  const BulkJob job = jobs_->submit(nenkin_, file, today_).value();
  EXPECT_EQ(run_all(3), (std::vector<int64_t>{3, 2}));
  const auto results = jobs_->results(nenkin_, job.job_id, 0, 100, false).value();
  ASSERT_EQ(results.size(), 5u);

  std::vector<std::pair<int64_t, nlohmann::json>> entries;
  ASSERT_TRUE(db_->connect()
                  .value()
                  ->query("SELECT seq, message FROM linkage_log WHERE kind = 'bulk-answers' ORDER BY seq", {},
                          [&](const store::Row& r) {
                            entries.emplace_back(r.int64(0), nlohmann::json::parse(r.text(1)));
                            return true;
                          })
                  .is_ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log"), 2) << "no line is logged alone";
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].second, (nlohmann::json{{"job_id", job.job_id},
                                               {"results", {results[0], results[1], results[2]}}}));
  EXPECT_EQ(entries[1].second, (nlohmann::json{{"job_id", job.job_id}, {"results", {results[3], results[4]}}}));
  // Four lines asked (the malformed one asks nothing), two a batch: each record names its batch's
  // entry, where its line's result carries its query id, answered or refused.
  EXPECT_FALSE(results[2].contains("query_id")) << "the malformed line recorded nothing";
  for (auto [index, entry] : {std::pair{0, 0}, {1, 0}, {3, 1}, {4, 1}})
    EXPECT_EQ(count("SELECT log_seq FROM linkage_provisions WHERE query_id = '" +
                    results[index]["query_id"].get<std::string>() + "'"),
              entries[entry].first)
        << results[index].dump();
  for (const auto& [seq, message] : entries)
    EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE log_seq = " + std::to_string(seq)), 2);
  auto verified = verify_log(*db_->connect().value(), tmp_ / "archive", {});
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  EXPECT_EQ(verified->broken, "");
  EXPECT_EQ(verified->entries, 2);
}

// Rule: a data directory from before bulk batches were logged whole (provision records' migration 1,
// one log entry each) keeps every record through migration 2, after which two records may name one
// entry.
TEST_F(BulkJobsTest, TheRecordsOfAnOlderDirectoryKeepThroughTheMigration) {
  sql("DROP TABLE linkage_provisions");
  sql("DELETE FROM schema_migrations WHERE component = 'linkage_provisions'");
  sql("CREATE TABLE linkage_provisions (query_id TEXT PRIMARY KEY, log_seq BIGINT NOT NULL UNIQUE, requester TEXT "
      "NOT NULL, provider TEXT NOT NULL, procedure_code TEXT NOT NULL, items TEXT NOT NULL, person_id TEXT, "
      "requested_at TEXT NOT NULL, answered_at TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL, "
      "layout_version TEXT NOT NULL)");
  sql("INSERT INTO schema_migrations (component, version, applied_at) VALUES ('linkage_provisions', 1, "
      "'2026-01-01T00:00:00Z')");
  sql("INSERT INTO linkage_provisions VALUES ('q1', 7, '" + nenkin_ + "', '" + city_ +
      "', 'J031-01', 'TX001,TX004', 'p1', '2026-01-02T03:04:05Z', '2026-01-02T03:04:06Z', 'provided', '', "
      "'2026.07')");
  ASSERT_TRUE(Queries::migrate(*db_->connect().value()).is_ok());
  const auto records = queries_->records_of_body(nenkin_).value();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].query_id, "q1");
  EXPECT_EQ(records[0].items, (std::vector<std::string>{"TX001", "TX004"}));
  EXPECT_EQ(records[0].answered_at, "2026-01-02T03:04:06Z");
  EXPECT_EQ(records[0].layout_version, "2026.07");
  EXPECT_EQ(count("SELECT log_seq FROM linkage_provisions WHERE query_id = 'q1'"), 7);
  sql("INSERT INTO linkage_provisions SELECT 'q2', log_seq, requester, provider, procedure_code, items, person_id, "
      "requested_at, answered_at, outcome, reason, layout_version FROM linkage_provisions");
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions WHERE log_seq = 7"), 2);
}

// Rule: jobs run oldest first and each batch commits its lines and the progress together: after
// every batch the job's done count is the lines with results.
TEST_F(BulkJobsTest, BatchesCommitProgressWithTheirLinesOldestJobFirst) {
  std::string file;
  for (int i = 0; i < 5; ++i) file += line(pension_codes_[i % 3], R"(["TX001"])") + "\n";
  const BulkJob first = jobs_->submit(nenkin_, file, today_).value();
  const BulkJob second = jobs_->submit(nenkin_, line(pension_codes_[0], R"(["TX001"])"), today_).value();
  for (int64_t expect_done : {2, 4, 5}) {
    ASSERT_EQ(jobs_->run_batch(2).value(), expect_done == 5 ? 1 : 2);
    EXPECT_EQ(jobs_->get(nenkin_, first.job_id)->done, expect_done);
    EXPECT_EQ(jobs_->results(nenkin_, first.job_id, 0, 100, false)->size(), static_cast<size_t>(expect_done));
    EXPECT_EQ(jobs_->get(nenkin_, second.job_id)->done, 0);
  }
  EXPECT_EQ(jobs_->run_batch(2).value(), 1);
  EXPECT_EQ(jobs_->get(nenkin_, second.job_id)->state(), "done");
}

// Rule: a file is stored 500 lines a row; its queries keep their line numbers across those rows
// (blank lines counted, a final CR dropped), and batches resume inside a row and across rows.
TEST_F(BulkJobsTest, QueriesKeepTheirLineNumbersAcrossTheStoredChunks) {
  const std::vector<int64_t> asked = {1, 499, 500, 501, 1000, 1001, 1203};
  std::string file;
  for (int64_t n = 1, k = 0; n <= 1203; ++n) {
    if (n == asked[k]) file += line(pension_codes_[k++ % 3], R"(["TX001"])") + (n == 500 ? "\r" : "");
    file += "\n";
  }
  const BulkJob job = jobs_->submit(nenkin_, file, today_).value();
  EXPECT_EQ(job.total, 7);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bulk_requests WHERE job_id = '" + job.job_id + "'"), 3);
  EXPECT_EQ(run_all(2), (std::vector<int64_t>{2, 2, 2, 1}));
  const auto results = jobs_->results(nenkin_, job.job_id, 0, 100, false).value();
  std::vector<int64_t> lines;
  for (const auto& r : results) {
    lines.push_back(r["line"].get<int64_t>());
    EXPECT_FALSE(r.contains("error")) << r.dump();
  }
  EXPECT_EQ(lines, asked);
  EXPECT_EQ(results[2]["items"], (nlohmann::json{{"TX001", "300"}})) << "line 500, its CR dropped";
}

// Rule: a batch ends after a chunk when another job waits on the writer (a single query is not held
// behind a whole batch), and goes on to its full size when none waits.
TEST_F(BulkJobsTest, ABatchYieldsAfterAChunkWhenAnotherWriteWaits) {
  std::string file;
  for (int i = 0; i < 6; ++i) file += line(pension_codes_[i % 3], R"(["TX001"])") + "\n";
  const BulkJob job = jobs_->submit(nenkin_, file, today_).value();

  // The writer held by `blocker`; behind it, in the next transaction, a job that queues another
  // write (as a single query arriving would), then the batch.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  store::Writer::Ticket held = writer_->enqueue({[released](store::Connection&) {
    released.wait();
    return Status::ok();
  }});
  while (writer_->queued() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the blocker runs
  std::optional<store::Writer::Ticket> waiting;
  store::Writer::Ticket arrives = writer_->enqueue({[&](store::Connection&) {
    if (!waiting) waiting = writer_->enqueue({[](store::Connection&) { return Status::ok(); }});
    return Status::ok();
  }});
  auto first = std::async(std::launch::async, [&] { return jobs_->run_batch(6, 2); });
  while (writer_->queued() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  release.set_value();
  ASSERT_EQ(first.get().value(), 2) << "the batch ended after its first chunk";
  held.wait();
  arrives.wait();
  ASSERT_TRUE(waiting.has_value());
  waiting->wait();
  EXPECT_EQ(jobs_->get(nenkin_, job.job_id)->done, 2);
  EXPECT_EQ(jobs_->run_batch(6, 2).value(), 4) << "with nothing waiting, the batch goes on to its size";
  EXPECT_EQ(jobs_->get(nenkin_, job.job_id)->state(), "done");
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE kind = 'bulk-answers'"), 2);
}

// Rule: a job is its body's alone (another body's job is not_found, as an unknown one); a file of no
// query or of more than 1,000,000 is refused and stores nothing; an unregistered or removed body
// cannot submit.
TEST_F(BulkJobsTest, AJobIsItsBodysAndItsSizeIsBounded) {
  const BulkJob job = jobs_->submit(nenkin_, line(pension_codes_[0], R"(["TX001"])"), today_).value();
  EXPECT_EQ(jobs_->get(city_, job.job_id).status().code(), Code::not_found);
  EXPECT_EQ(jobs_->results(city_, job.job_id, 0, 10, false).status().code(), Code::not_found);
  EXPECT_EQ(jobs_->get(nenkin_, std::string(32, '0')).status().code(), Code::not_found);

  EXPECT_EQ(jobs_->submit(nenkin_, "\n \n", today_).status().code(), Code::invalid_argument);
  std::string huge;
  huge.reserve(3 * (kMaxBulkLines + 1));
  for (int64_t i = 0; i <= kMaxBulkLines; ++i) huge += "{}\n";
  auto refused = jobs_->submit(nenkin_, huge, today_);
  EXPECT_EQ(refused.status().code(), Code::invalid_argument) << refused.status().to_string();
  EXPECT_EQ(jobs_->submit("pension-service-0000000000000", "{}", today_).status().code(), Code::not_found);
  ASSERT_TRUE(bodies_->remove(city_, "test").is_ok());
  EXPECT_EQ(jobs_->submit(city_, "{}", today_).status().code(), Code::permission_denied);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bulk_jobs"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bulk_requests"), 1);
}

// Rule: a data directory from before a batch's results were one row and the file a chunk of lines a
// row (bulk migration 1: a row a line, its result on it) keeps every answered line's result, its
// failure flag and its place through migrations 2 and 3; an unanswered line is answered after them.
TEST_F(BulkJobsTest, TheResultsOfAnOlderDirectoryKeepThroughTheMigration) {
  sql("DROP TABLE linkage_bulk_results");
  sql("DROP TABLE linkage_bulk_requests");
  sql("CREATE TABLE linkage_bulk_lines (job_id TEXT NOT NULL, line_no BIGINT NOT NULL, request TEXT NOT NULL, result "
      "TEXT, failed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job_id, line_no))");
  sql("DELETE FROM schema_migrations WHERE component = 'linkage_bulk' AND version > 1");
  sql("INSERT INTO linkage_bulk_jobs VALUES ('j1', 1, '" + nenkin_ +
      "', '2026-01-02T03:04:05Z', '" + today_.to_iso() + "', 3, 2, 1, 2, '')");
  sql("INSERT INTO linkage_bulk_lines (job_id, line_no, request, result, failed) VALUES ('j1', 1, '{}', "
      "'{\"line\":1,\"items\":{\"TX001\":\"100\"}}', 0), ('j1', 2, '{}', "
      "'{\"line\":2,\"error\":{\"code\":\"not_found\",\"message\":\"m\"}}', 1), ('j1', 3, '" +
      line(pension_codes_[0], R"(["TX001"])") + "', NULL, 0)");
  ASSERT_TRUE(BulkJobs::migrate(*db_->connect().value()).is_ok());
  auto all = jobs_->results(nenkin_, "j1", 0, 10, false).value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["items"], (nlohmann::json{{"TX001", "100"}}));
  EXPECT_EQ(all[1]["error"]["code"], "not_found");
  auto failed = jobs_->results(nenkin_, "j1", 0, 10, true).value();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["line"], 2);
  EXPECT_EQ(run_all(500), std::vector<int64_t>{1});
  all = jobs_->results(nenkin_, "j1", 0, 10, false).value();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2]["items"], (nlohmann::json{{"TX001", "100"}}));
  EXPECT_EQ(jobs_->get(nenkin_, "j1")->state(), "done");
}

// Rule: a finished job's results are kept to be downloaded, then deleted with the job once it
// finished before the cutoff (the runner's is kBulkResultDays ago); an unfinished job is never
// deleted, and the provision records stay.
TEST_F(BulkJobsTest, AFinishedJobIsDeletedWithItsResultsAfterTheCutoffOnly) {
  std::string file;
  for (int i = 0; i < 3; ++i) file += line(pension_codes_[i], R"(["TX001"])") + "\n";
  const BulkJob finished = jobs_->submit(nenkin_, file, today_).value();
  run_all(500);
  const BulkJob waiting = jobs_->submit(nenkin_, file, today_).value();
  const std::string finished_at = jobs_->get(nenkin_, finished.job_id)->finished_at;
  ASSERT_FALSE(finished_at.empty());
  const int64_t records = count("SELECT COUNT(*) FROM linkage_provisions");
  ASSERT_EQ(records, 3);

  const int64_t at = parse_iso8601_seconds(finished_at.substr(0, 19) + "Z").value();
  EXPECT_EQ(jobs_->purge_finished(iso8601_seconds(at - 1)).value(), 0) << "finished after the cutoff: kept";
  EXPECT_EQ(jobs_->get(nenkin_, finished.job_id)->done, 3);
  EXPECT_EQ(jobs_->purge_finished(iso8601_seconds(at + 86400)).value(), 1);
  EXPECT_EQ(jobs_->get(nenkin_, finished.job_id).status().code(), Code::not_found);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bulk_requests WHERE job_id = '" + finished.job_id + "'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bulk_results WHERE job_id = '" + finished.job_id + "'"), 0);
  EXPECT_EQ(jobs_->get(nenkin_, waiting.job_id)->total, 3) << "an unfinished job stays";
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bulk_requests WHERE job_id = '" + waiting.job_id + "'"), 1)
      << "its three lines, one chunk";
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions"), records) << "the records keep their own period";
}

}  // namespace
}  // namespace jlis::linkage
