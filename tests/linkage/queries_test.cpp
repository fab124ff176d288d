// Replicas, queries and provision records (linkage/replicas.h, queries.h; issue 11 §2–4): a body
// asks by its own code and gets the provider's registered items in the layout version in force;
// every refusal of the legal table and the layout is recorded and answers nothing; replicas are
// validated against the layout, refused whole naming the item and rule; both sides and the person see
// the same record; nothing answered names the resident code or another body's code. On SQLite and
// PostgreSQL.
#include <set>
#include <tuple>

#include "linkage_world.h"

namespace jlis::linkage {
namespace {

class LinkageQueriesTest : public testing::QueriesWorld {
 protected:
  void SetUp() override {
    QueriesWorld::SetUp();
    newest_ = layouts_->versions().back().effective_from;
    pension_code_ = codes_->code_for(nenkin_, kResident).value();
    city_code_ = codes_->code_for(city_, kResident).value();
    auto put = replicas_->put(city_, city_code_,
                              {{"RS001", "3"}, {"RS002", "01"}, {"RS003", "2019-04-01"}, {"TX001", "4250000"},
                               {"TX005", "5100000"}},
                              newest_);
    ASSERT_TRUE(put.ok()) << put.status().to_string();
  }

  Result<Answer> ask(const std::string& requester, const std::string& code, const std::string& procedure,
                     const std::string& provider, const std::vector<std::string>& items) {
    return queries_->ask({requester, code, procedure, provider, items}, newest_);
  }
  // The one record of the body's list (the newest), checked to be the same on both sides.
  ProvisionRecord last_record(const std::string& body) {
    auto records = queries_->records_of_body(body);
    EXPECT_TRUE(records.ok() && !records->empty());
    return records.ok() && !records->empty() ? records->front() : ProvisionRecord{};
  }
  std::string log_text() {
    std::string all;
    auto conn = pool_->acquire().value();
    EXPECT_TRUE(conn->query("SELECT message FROM linkage_log ORDER BY seq", {}, [&](const store::Row& r) {
                      all += r.text(0) + "\n";
                      return true;
                    }).is_ok());
    return all;
  }

  const ResidentCode kResident = ResidentCode::from_body(1234567);
  std::string pension_code_, city_code_;
  Date newest_;
};

// Rule (the acceptance, as a new user would try it): the pension service asks by its own
// code for a resident's household and income and gets them from the city's replica, in the layout
// version in force; the items asked and not registered are named; the record is the same on both
// sides and on the person's list; the message log holds the query and the answer; nothing answered
// or logged names the resident code or the city's code for the person, and the two codes differ.
TEST_F(LinkageQueriesTest, APensionBodyGetsHouseholdAndIncomeByItsOwnCode) {
  auto answer = ask(nenkin_, pension_code_, "J031-01", city_, {"RS001", "RS002", "TX001", "TX004"});
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  EXPECT_EQ(answer->layout_version, layouts_->versions().back().version);
  EXPECT_EQ(answer->items, (ItemValues{{"RS001", "3"}, {"RS002", "01"}, {"TX001", "4250000"}}));
  EXPECT_EQ(answer->not_registered, std::vector<std::string>{"TX004"});
  EXPECT_EQ(answer->query_id.size(), 32u);

  const ProvisionRecord mine = last_record(nenkin_), theirs = last_record(city_);
  EXPECT_EQ(mine.query_id, answer->query_id);
  EXPECT_EQ(theirs.query_id, answer->query_id);
  EXPECT_EQ(mine.requester, nenkin_);
  EXPECT_EQ(mine.provider, city_);
  EXPECT_EQ(mine.procedure, "J031-01");
  EXPECT_EQ(mine.items, (std::vector<std::string>{"RS001", "RS002", "TX001", "TX004"}));
  EXPECT_EQ(mine.outcome, "provided");
  EXPECT_EQ(mine.reason, "");
  EXPECT_EQ(mine.layout_version, answer->layout_version);
  EXPECT_FALSE(mine.requested_at.empty());
  auto about = queries_->records_about(kResident);
  ASSERT_TRUE(about.ok());
  ASSERT_EQ(about->size(), 1u);
  EXPECT_EQ(about->front().query_id, answer->query_id);
  EXPECT_TRUE(queries_->records_about(ResidentCode::from_body(7654321)).value().empty());

  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE kind = 'query' AND sender = '" + nenkin_ + "'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE kind = 'answer' AND sender = 'platform'"), 1);
  EXPECT_NE(pension_code_, city_code_);
  const std::string logged = log_text();
  EXPECT_NE(logged.find("4250000"), std::string::npos);
  EXPECT_EQ(logged.find(city_code_), std::string::npos);
  EXPECT_EQ(logged.find(kResident.str()), std::string::npos);
  // The entries are the log's (its time form and chain): the log verifies whole.
  auto verified = verify_log(*db_->connect().value(), tmp_ / "archive", {});
  ASSERT_TRUE(verified.ok()) << verified.status().to_string();
  EXPECT_EQ(verified->broken, "");
  EXPECT_EQ(verified->entries, 2);
}

// Rule: every refusal (each of the legal table's, an unknown code, an item not in the layout in
// force) is answered as its error with nothing of the replica, its rule's name in brackets ending
// the message, and recorded for both sides with the rule's name, the query and the refusal in the
// log. Rows: procedure, requester kind, provider, items, day (the newest version's unless said), the
// code, the reason.
TEST_F(LinkageQueriesTest, EveryRefusalIsRecordedAndAnswersNothing) {
  const std::string insurer = add_body(BodyKind::health_insurer, "協会けんぽ", "01130012");
  const std::string insurer_code = codes_->code_for(insurer, kResident).value();
  const Date first_version = layouts_->versions().front().effective_from;
  struct Row {
    std::string requester, code, procedure, provider;
    std::vector<std::string> items;
    Date day;
    Code error;
    std::string reason;
  };
  const std::vector<Row> rows = {
      {nenkin_, pension_code_, "J031-01", city_, {"RS001", "RS004"}, newest_, Code::permission_denied,
       "item-not-allowed"},
      {nenkin_, pension_code_, "J999-01", city_, {"RS001"}, newest_, Code::permission_denied, "unknown-procedure"},
      {insurer, insurer_code, "J031-01", city_, {"RS001"}, newest_, Code::permission_denied,
       "requester-not-entitled"},
      {nenkin_, pension_code_, "J031-01", nenkin_, {"RS001"}, newest_, Code::permission_denied,
       "provider-not-in-row"},
      {nenkin_, pension_code_, "J031-01", city_, {}, newest_, Code::permission_denied, "no-items"},
      {nenkin_, city_code_, "J031-01", city_, {"RS001"}, newest_, Code::not_found, "unknown-code"},
      {city_, city_code_, "J074-01", city_, {"RS001", "TX006"}, first_version, Code::invalid_argument,
       "item-not-in-layout"},
  };
  int64_t n = 0;
  for (const Row& row : rows) {
    SCOPED_TRACE(row.reason);
    auto answer = queries_->ask({row.requester, row.code, row.procedure, row.provider, row.items}, row.day);
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.status().code(), row.error) << answer.status().to_string();
    const std::string& message = answer.status().message();
    EXPECT_TRUE(message.ends_with(" [" + row.reason + "]")) << message;
    ++n;
    const ProvisionRecord r = last_record(row.requester);
    EXPECT_EQ(r.outcome, "refused");
    EXPECT_EQ(r.reason, row.reason);
    EXPECT_EQ(r.layout_version, "");
    EXPECT_EQ(last_record(row.provider).query_id, r.query_id);
    EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions"), n);
    EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE kind = 'refusal'"), n);
    EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE kind = 'query'"), n);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log WHERE kind = 'answer'"), 0);
  EXPECT_EQ(log_text().find("4250000"), std::string::npos);
  // The refused queries with a known code are about the person: they are on the person's list.
  EXPECT_EQ(queries_->records_about(kResident).value().size(), rows.size() - 1);
}

// Rule: the provision records are kept seven years: a purge of a later day is refused and deletes
// nothing; a purge of the day seven years back deletes exactly the records requested before it.
TEST_F(LinkageQueriesTest, RecordsAreKeptSevenYearsThenPurged) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(ask(nenkin_, pension_code_, "J031-01", city_, {"RS001"}).value().query_id);
  const Date today = Date::today();
  const Date limit = today.add_years(-kRecordRetentionYears);
  sql("UPDATE linkage_provisions SET requested_at = '" + limit.add_days(-1).to_iso() +
      "T23:59:59.999Z' WHERE query_id IN ('" + ids[0] + "', '" + ids[1] + "')");
  auto early = queries_->purge_records(limit.add_days(1), today);
  EXPECT_EQ(early.status().code(), Code::invalid_argument) << early.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions"), 3);
  auto purged = queries_->purge_records(limit, today);
  ASSERT_TRUE(purged.ok()) << purged.status().to_string();
  EXPECT_EQ(*purged, 2);
  auto left = queries_->records_of_body(nenkin_).value();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].query_id, ids[2]);
}

// Rule: a query from or to a body that is not registered or was removed, or a malformed one, is
// refused before anything is decided and records nothing.
TEST_F(LinkageQueriesTest, UnknownOrRemovedBodiesAndMalformedQueriesRecordNothing) {
  EXPECT_EQ(ask("municipality-999999", pension_code_, "J031-01", city_, {"RS001"}).status().code(), Code::not_found);
  EXPECT_EQ(ask(nenkin_, pension_code_, "J031-01", "municipality-999999", {"RS001"}).status().code(),
            Code::not_found);
  EXPECT_EQ(ask(nenkin_, "not-a-code", "J031-01", city_, {"RS001"}).status().code(), Code::invalid_argument);
  EXPECT_EQ(ask(nenkin_, pension_code_, "J031-01", city_, {"rs001"}).status().code(), Code::invalid_argument);
  ASSERT_TRUE(bodies_->remove(city_, "test").is_ok());
  EXPECT_EQ(ask(nenkin_, pension_code_, "J031-01", city_, {"RS001"}).status().code(), Code::permission_denied);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_provisions"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_log"), 0);
}

// Rule: the bodies a query read are kept for the next queries only while no body changes: a provider
// that answered one query refuses the next at once once removed, and a provider unknown to one query
// is found by the next once registered.
TEST_F(LinkageQueriesTest, KeptBodiesAreReadAgainOnceAnyBodyChanges) {
  ASSERT_TRUE(ask(nenkin_, pension_code_, "J031-01", city_, {"RS001"}).ok());
  ASSERT_TRUE(bodies_->remove(city_, "test").is_ok());
  EXPECT_EQ(ask(nenkin_, pension_code_, "J031-01", city_, {"RS001"}).status().code(), Code::permission_denied);
  EXPECT_EQ(ask(nenkin_, pension_code_, "J031-01", "municipality-011002", {"RS001"}).status().code(),
            Code::not_found);
  const std::string sapporo = add_body(BodyKind::municipality, "札幌市", "011002");
  ASSERT_EQ(sapporo, "municipality-011002");
  auto answered = ask(nenkin_, pension_code_, "J031-01", sapporo, {"RS001"});
  ASSERT_TRUE(answered.ok()) << answered.status().to_string();
  EXPECT_EQ(answered->not_registered, std::vector<std::string>{"RS001"}) << "札幌市 holds nothing of the person";
}

// Rule: the answer is in the version in force on the query's day: each shipped version answers for
// a day from its effective date, and names itself.
TEST_F(LinkageQueriesTest, TheAnswerIsInTheVersionInForceOnTheDay) {
  for (const LayoutVersion& v : layouts_->versions()) {
    auto answer = queries_->ask({nenkin_, pension_code_, "J031-01", city_, {"TX001"}}, v.effective_from);
    ASSERT_TRUE(answer.ok()) << answer.status().to_string();
    EXPECT_EQ(answer->layout_version, v.version);
    EXPECT_EQ(last_record(nenkin_).layout_version, v.version);
  }
}

// Rule: a replica is validated whole against the layout in force: each rule refuses it naming the
// item and the rule, and nothing of it is written; an unknown code or body, or a removed provider,
// is refused; an empty value withdraws an item; a later registration replaces only what it names.
TEST_F(LinkageQueriesTest, ReplicasAreValidatedAgainstTheLayoutInForce) {
  const Date first_version = layouts_->versions().front().effective_from;
  struct Row {
    ItemValues items;
    Date day;
    std::string rule, item;
  };
  const std::vector<Row> rows = {
      {{{"RS001", "2"}, {"ZZ999", "1"}}, newest_, "unknown-item", "ZZ999"},
      {{{"TX006", "12000"}}, first_version, "unknown-item", "TX006"},  // in the layout only from 2026.07
      {{{"RS001", "two"}}, newest_, "wrong-type", "RS001"},
      {{{"RS003", "2019-02-30"}}, newest_, "wrong-type", "RS003"},
      {{{"RS001", "123"}}, newest_, "too-long", "RS001"},
      {{{"RS004", std::string(41 * 3, 'a')}}, newest_, "too-long", "RS004"},
      {{{"RS002", "42"}}, newest_, "not-in-code-list", "RS002"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.rule + " " + row.item);
    auto put = replicas_->put(city_, city_code_, row.items, row.day);
    ASSERT_FALSE(put.ok());
    EXPECT_EQ(put.status().code(), Code::invalid_argument);
    EXPECT_NE(put.status().message().find("item " + row.item + " "), std::string::npos) << put.status().to_string();
    EXPECT_NE(put.status().message().find("[" + row.rule + "]"), std::string::npos) << put.status().to_string();
  }
  const ItemValues registered = {
      {"RS001", "3"}, {"RS002", "01"}, {"RS003", "2019-04-01"}, {"TX001", "4250000"}, {"TX005", "5100000"}};
  EXPECT_EQ(replicas_->get(city_, city_code_).value(), registered);

  EXPECT_EQ(replicas_->put(city_, pension_code_, {{"RS001", "1"}}, newest_).status().code(), Code::not_found);
  EXPECT_EQ(replicas_->put("municipality-999999", city_code_, {{"RS001", "1"}}, newest_).status().code(),
            Code::not_found);
  EXPECT_EQ(replicas_->put(city_, city_code_, {}, newest_).status().code(), Code::invalid_argument);

  auto put = replicas_->put(city_, city_code_, {{"TX001", "4300000"}, {"TX005", ""}}, newest_);
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  EXPECT_EQ(*put, layouts_->versions().back().version);
  EXPECT_EQ(replicas_->get(city_, city_code_).value(),
            (ItemValues{{"RS001", "3"}, {"RS002", "01"}, {"RS003", "2019-04-01"}, {"TX001", "4300000"}}));

  ASSERT_TRUE(bodies_->remove(city_, "test").is_ok());
  EXPECT_EQ(replicas_->put(city_, city_code_, {{"RS001", "2"}}, newest_).status().code(), Code::permission_denied);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_replicas WHERE item = 'RS001' AND value = '3'"), 1);
}

// Rule: forwards in flight are limited per provider and in all; a slot comes back when its guard goes.
TEST(ForwardLimits, PerProviderAndInAll) {
  ForwardLimits limits(2, 3);
  auto a1 = limits.acquire("a"), a2 = limits.acquire("a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(limits.acquire("a")) << "a third to one provider";
  auto b1 = limits.acquire("b");
  ASSERT_TRUE(b1);
  EXPECT_FALSE(limits.acquire("c")) << "a fourth in all";
  EXPECT_FALSE(limits.acquire("b"));
  a1.reset();
  auto c1 = limits.acquire("c");
  EXPECT_TRUE(c1) << "a slot freed";
  EXPECT_FALSE(limits.acquire("a"));
  b1.reset();
  c1.reset();
  auto a3 = limits.acquire("a");
  EXPECT_TRUE(a3) << "one of a's two back";
  EXPECT_FALSE(limits.acquire("a"));
}

// Rule: a body's records are those naming it as requester or provider, merged newest first (by
// their log entry, then id), at most `limit`; a record naming it on both sides is listed once.
TEST_F(LinkageQueriesTest, ABodysRecordsMergeBothSidesNewestFirst) {
  const std::string other = add_body(BodyKind::municipality, "八王子市", testing::kHachioji);
  // seq: 1, 4, 5 asked by the city; 2, 3, 6 provided by it; 7 both (the city asked itself).
  const std::vector<std::tuple<int, std::string, std::string>> rows = {
      {1, city_, nenkin_}, {2, nenkin_, city_}, {3, other, city_}, {4, city_, other},
      {5, city_, nenkin_}, {6, nenkin_, city_}, {7, city_, city_}, {8, nenkin_, other}};
  for (const auto& [seq, requester, provider] : rows)
    sql("INSERT INTO linkage_provisions (query_id, log_seq, requester, provider, procedure_code, items, person_id, "
        "requested_at, answered_at, outcome, reason, layout_version) VALUES ('q" + std::to_string(seq) + "', " +
        std::to_string(seq) + ", '" + requester + "', '" + provider +
        "', 'J031-01', 'TX001', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'provided', '', '2026.07')");
  auto ids = [&](int limit) {
    std::vector<std::string> out;
    const auto records = queries_->records_of_body(city_, limit);
    EXPECT_TRUE(records.ok());
    for (const auto& r : records.value()) out.push_back(r.query_id);
    return out;
  };
  EXPECT_EQ(ids(1000), (std::vector<std::string>{"q7", "q6", "q5", "q4", "q3", "q2", "q1"}));
  EXPECT_EQ(ids(4), (std::vector<std::string>{"q7", "q6", "q5", "q4"}));
  EXPECT_EQ(ids(1), (std::vector<std::string>{"q7"}));
  EXPECT_EQ(queries_->records_of_body(other).value().size(), 3u);
}

}  // namespace
}  // namespace jlis::linkage
