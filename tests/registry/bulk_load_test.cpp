// The bulk load (registry/bulk_load.h): the same register as the normal path, its indexes built
// again, all or nothing, and only on an empty register.
#include <set>

#include <nlohmann/json.hpp>

#include "fixture.h"
#include "registry/bulk_load.h"
#include "registry/population.h"

namespace jlis::registry::testing {
namespace {

// A second register on a store of its own, made as the fixture makes its own.
struct BulkSecondRegister {
  explicit BulkSecondRegister(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    db = store.open_data_dir(dir.string()).value();
    auto conn = db->connect().value();
    EXPECT_TRUE(Registry::migrate(*conn).is_ok());
    EXPECT_TRUE(auth::Directory::migrate(*conn).is_ok());
    EXPECT_TRUE(numbering::Numbering::migrate(*conn).is_ok());
    pool = std::make_unique<store::Pool>(db);
    writer = store::Writer::start(*db).value();
    EXPECT_TRUE(numbering::Numbering::create_key_file(dir.string()).is_ok());
    numbering = numbering::Numbering::open(dir.string()).value();
    registry = std::make_unique<Registry>(*pool, *writer, reference(), numbering.get());
  }
  ~BulkSecondRegister() {
    registry.reset();
    writer.reset();
    numbering.reset();
    pool.reset();
    db.reset();
  }
  store::testing::TestStore store;
  std::shared_ptr<store::Database> db;
  std::unique_ptr<store::Pool> pool;
  std::unique_ptr<store::Writer> writer;
  std::unique_ptr<numbering::Numbering> numbering;
  std::unique_ptr<Registry> registry;
};

// The rows of a query, each as its columns joined by '|', in the query's order.
std::vector<std::string> bulk_rows(store::Pool& pool, const std::string& sql) {
  std::vector<std::string> out;
  auto conn = pool.acquire().value();
  Status s = conn->query(sql, {}, [&](const store::Row& r) {
    std::string row;
    for (int c = 0; c < r.columns(); ++c) row += (r.is_null(c) ? std::string("NULL") : r.text(c)) + "|";
    out.push_back(std::move(row));
    return true;
  });
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return out;
}

// The register's indexes (residents and change_events): name and definition.
std::vector<std::string> register_indexes(store::Pool& pool) {
  auto conn = pool.acquire().value();
  if (conn->dialect() == "sqlite")
    return bulk_rows(pool, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                           "('residents', 'change_events') ORDER BY name");
  return bulk_rows(pool, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND "
                         "tablename IN ('residents', 'change_events') ORDER BY indexname");
}

// A person's identity without the store's own codes (resident codes come from each store's pools).
std::string identity(const Resident& r) {
  return r.person.name + "|" + r.person.name_kana + "|" + r.person.date_of_birth.to_iso() + "|" +
         std::string(sex_name(r.person.sex)) + "|" + r.person.address + "|" + r.municipality_code.str() + "|" +
         std::string(status_name(r.status));
}

// The first half of `text`, cut between two UTF-8 characters.
std::string bulk_half(const std::string& text) {
  size_t cut = text.size() / 2;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

std::multiset<std::string> identities(const Result<SearchResult>& found) {
  EXPECT_TRUE(found.ok()) << found.status().to_string();
  std::multiset<std::string> out;
  if (found.ok())
    for (const auto& r : found->residents) out.insert(identity(r));
  return out;
}

class BulkLoadTest : public RegistryTest {
 protected:
  // How many of the indexes a bulk load drops are in place.
  size_t secondary_indexes_present() {
    size_t n = 0;
    for (const auto& index : registry_->bulk_load_indexes()) n += !index_definition(index.name).empty();
    return n;
  }
  // Every index a bulk load drops, with its definition.
  std::vector<std::string> deferred_index_definitions() {
    std::vector<std::string> out;
    for (const auto& index : registry_->bulk_load_indexes())
      out.push_back(index.name + std::string(": ") + index_definition(index.name));
    return out;
  }
  // Nothing of a load is left: no resident, event, code or number.
  void expect_nothing_written() {
    EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM change_events"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_resident_codes"), 0);
    EXPECT_EQ(secondary_indexes_present(), registry_->bulk_load_indexes().size());
  }
};

TEST_F(BulkLoadTest, LoadsTheSameRegisterAsTheNormalPathWithTheSameSeed) {
  PopulationOptions options;
  options.count = 700;
  options.seed = 11;
  options.batch = 300;  // several batches, so the load spans many writer rounds
  auto normal = generate_population(*registry_, JLIS_REFERENCE_DIR, options);
  ASSERT_TRUE(normal.ok()) << normal.status().to_string();
  ASSERT_EQ(normal->refused, 0) << normal->first_refusal;

  BulkSecondRegister other(dir_ / "bulk");
  options.bulk = true;
  auto bulk = generate_population(*other.registry, JLIS_REFERENCE_DIR, options);
  ASSERT_TRUE(bulk.ok()) << bulk.status().to_string();
  ASSERT_EQ(bulk->refused, 0) << bulk->first_refusal;
  EXPECT_FALSE(bulk->rolled_back);
  EXPECT_EQ(bulk->residents, normal->residents);
  EXPECT_EQ(bulk->households, normal->households);
  EXPECT_EQ(bulk->events, normal->events);
  ASSERT_GE(bulk->residents, 700);

  // The same rows, but for the codes each store drew from its own pools.
  const std::string residents =
      "SELECT name, name_kana, name_key, kana_key, date_of_birth, sex, address, address_key, municipality_code, "
      "status, moving_to, address_abroad, last_event_date, my_number IS NULL FROM residents "
      "ORDER BY name, name_kana, date_of_birth, sex, address, municipality_code, status, last_event_date";
  EXPECT_EQ(bulk_rows(*other.pool, residents), bulk_rows(*pool_, residents));
  const std::string events =
      "SELECT municipality_code, event_id, type, event_date, from_code FROM change_events "
      "ORDER BY municipality_code, event_id";
  EXPECT_EQ(bulk_rows(*other.pool, events), bulk_rows(*pool_, events));
  const std::string counts =
      "SELECT (SELECT COUNT(*) FROM residents), (SELECT COUNT(*) FROM change_events), "
      "(SELECT COUNT(*) FROM numbering_my_numbers), "
      "(SELECT COUNT(*) FROM numbering_resident_codes WHERE state = 'issued'), "
      "(SELECT COUNT(DISTINCT resident_code) FROM change_events)";
  EXPECT_EQ(bulk_rows(*other.pool, counts), bulk_rows(*pool_, counts));
  EXPECT_EQ(other.registry->population().value(), registry_->population().value());

  // The same answers to searches by name, reading, date of birth and address, and to lookups.
  std::vector<Resident> sample;
  ASSERT_TRUE(other.registry->for_each_resident(std::nullopt, [&](const Resident& r) {
    if (sample.size() < 40) sample.push_back(r);
  }).is_ok());
  ASSERT_EQ(sample.size(), 40u);
  for (const Resident& r : sample) {
    for (SearchQuery q : {SearchQuery{.name = r.person.name}, SearchQuery{.name_kana = r.person.name_kana},
                          SearchQuery{.date_of_birth = r.person.date_of_birth},
                          SearchQuery{.address = r.person.address},
                          SearchQuery{.address = bulk_half(r.person.address)}}) {
      q.limit = 100;
      auto in_bulk = other.registry->search(q);
      auto in_normal = registry_->search(q);
      EXPECT_EQ(identities(in_bulk), identities(in_normal)) << identity(r);
      EXPECT_FALSE(identities(in_bulk).empty());
    }
    auto got = other.registry->get(r.resident_code);
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(identity(*got), identity(r));
    ASSERT_TRUE(r.my_number.has_value());
    auto by_number = other.registry->find_by_my_number(*r.my_number);
    ASSERT_TRUE(by_number.ok()) << by_number.status().to_string();
    EXPECT_EQ(by_number->resident_code, r.resident_code);
    auto history = other.registry->history(r.resident_code);
    ASSERT_TRUE(history.ok()) << history.status().to_string();
    EXPECT_EQ(history->back().resident_json, to_json(r).dump());
  }
  // The indexes are back, exactly as the schema defines them.
  EXPECT_EQ(register_indexes(*other.pool), register_indexes(*pool_));
}

// Rule: the load drops the register's secondary indexes and the numbering's pending letters, and
// builds each again after the rows as its migration defines it.
TEST_F(BulkLoadTest, BuildsTheSecondaryIndexesAgainAfterTheLoad) {
  ASSERT_EQ(registry_->bulk_load_indexes().size(), 7u);  // the register's six, the numbering's one
  EXPECT_EQ(registry_->bulk_load_indexes().back().name, std::string("numbering_letters_pending"));
  ASSERT_EQ(secondary_indexes_present(), registry_->bulk_load_indexes().size());
  const auto before = register_indexes(*pool_);
  const auto deferred_before = deferred_index_definitions();
  auto load = registry_->begin_bulk_load();
  ASSERT_TRUE(load.ok()) << load.status().to_string();
  auto results = registry_->submit_all(
      {{kChiyoda, birth("b1", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", kChiyodaAddress)},
       {kChuo, birth("b2", "鈴木　一郎", "スズキ　イチロウ", "1985-01-02", kChuoAddress, Sex::male)}});
  for (const auto& r : results) ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE((*load)->finish().is_ok());
  EXPECT_EQ(register_indexes(*pool_), before);
  EXPECT_EQ(deferred_index_definitions(), deferred_before);
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 2);
  auto found = registry_->search(SearchQuery{.name = "山田花子"});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->residents.size(), 1u);
  // The writer holds nothing any more: an ordinary event commits as usual.
  EXPECT_TRUE(registry_->submit(kChiyoda, birth("b3", "田中　太郎", "タナカ　タロウ", "2000-02-03",
                                                kChiyodaOtherAddress, Sex::male)).ok());
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 3);
}

TEST_F(BulkLoadTest, AnInvalidEventRollsTheWholeLoadBack) {
  auto load = registry_->begin_bulk_load();
  ASSERT_TRUE(load.ok()) << load.status().to_string();
  auto results = registry_->submit_all(
      {{kChiyoda, birth("b1", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", kChiyodaAddress)},
       // 中央区's address submitted by 千代田区: refused by the ordinary rule.
       {kChiyoda, birth("b2", "鈴木　一郎", "スズキ　イチロウ", "1985-01-02", kChuoAddress, Sex::male)},
       {kChiyoda, birth("b3", "田中　太郎", "タナカ　タロウ", "2000-02-03", kChiyodaOtherAddress, Sex::male)}});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].status().code(), Code::conflict);
  EXPECT_FALSE(results[2].ok()) << "events after the refusal belong to a load that was rolled back";
  Status finished = (*load)->finish();
  EXPECT_FALSE(finished.is_ok());
  EXPECT_NE(finished.message().find("must stay in this municipality"), std::string::npos) << finished.to_string();
  expect_nothing_written();
  // And the register takes events again.
  EXPECT_TRUE(registry_->submit(kChiyoda, birth("b4", "山田　花子", "ヤマダ　ハナコ", "1990-04-01",
                                                kChiyodaAddress)).ok());
}

TEST_F(BulkLoadTest, AnEventIdUsedTwiceForDifferentEventsRollsTheWholeLoadBack) {
  auto load = registry_->begin_bulk_load();
  ASSERT_TRUE(load.ok()) << load.status().to_string();
  auto results = registry_->submit_all(
      {{kChiyoda, birth("same", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", kChiyodaAddress)},
       {kChiyoda, birth("same", "鈴木　一郎", "スズキ　イチロウ", "1985-01-02", kChiyodaOtherAddress, Sex::male)}});
  ASSERT_EQ(results.size(), 2u);
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].status().code(), Code::conflict);
  Status finished = (*load)->finish();
  EXPECT_EQ(finished.code(), Code::conflict) << finished.to_string();
  EXPECT_NE(finished.message().find("already used for a different event"), std::string::npos) << finished.to_string();
  expect_nothing_written();
}

TEST_F(BulkLoadTest, AGenerationWhoseEventIsRefusedRollsBackAndReportsIt) {
  // A listener refuses one event deep into the second batch, as a rule of another component would.
  int seen = 0;
  registry_->add_listener([&seen](store::Connection&, const ChangeEvent&, const std::optional<Resident>&,
                                  const Resident&) -> Status {
    return ++seen == 450 ? conflict("refused by the test's listener") : Status::ok();
  });
  PopulationOptions options;
  options.count = 600;
  options.seed = 3;
  options.batch = 200;
  options.bulk = true;
  auto report = generate_population(*registry_, JLIS_REFERENCE_DIR, options);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->rolled_back);
  EXPECT_GE(report->refused, 1);
  EXPECT_NE(report->first_refusal.find("refused by the test's listener"), std::string::npos) << report->first_refusal;
  EXPECT_EQ(report->residents, 0);
  EXPECT_EQ(report->events, 0);
  expect_nothing_written();
}

TEST_F(BulkLoadTest, ALoadThatIsNotFinishedCommitsNothing) {
  {
    auto load = registry_->begin_bulk_load();
    ASSERT_TRUE(load.ok()) << load.status().to_string();
    auto results = registry_->submit_all(
        {{kChiyoda, birth("b1", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", kChiyodaAddress)}});
    ASSERT_TRUE(results[0].ok());
  }  // destroyed unfinished
  expect_nothing_written();
}

TEST_F(BulkLoadTest, IsRefusedOnARegisterThatIsNotEmpty) {
  born_in_chiyoda();
  const int64_t codes = count("SELECT COUNT(*) FROM numbering_resident_codes");
  auto load = registry_->begin_bulk_load();
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.status().code(), Code::conflict);
  EXPECT_NE(load.status().message().find("needs an empty register"), std::string::npos) << load.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_resident_codes"), codes);
  EXPECT_EQ(secondary_indexes_present(), registry_->bulk_load_indexes().size());
  // The population generator answers the same, and the writer is free again.
  PopulationOptions options;
  options.count = 5;
  options.bulk = true;
  auto report = generate_population(*registry_, JLIS_REFERENCE_DIR, options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM residents"), 1);
  EXPECT_TRUE(registry_->submit(kChuo, birth("c1", "鈴木　一郎", "スズキ　イチロウ", "1985-01-02", kChuoAddress,
                                            Sex::male)).ok());
}

TEST_F(BulkLoadTest, TheWriterHoldsOneTransactionAtATime) {
  ASSERT_TRUE(writer_->hold().is_ok());
  EXPECT_EQ(writer_->hold().code(), Code::conflict);
  EXPECT_TRUE(writer_->release(/*commit=*/false).is_ok());
  EXPECT_EQ(writer_->release(/*commit=*/true).code(), Code::conflict);
  EXPECT_EQ(registry_->begin_bulk_load().ok(), true);  // destroyed at once: rolled back
  EXPECT_TRUE(writer_->hold().is_ok());
  EXPECT_TRUE(writer_->release(/*commit=*/true).is_ok());
}

// Rule: on SQLite the load runs with a rollback journal, not through the WAL (store::Writer::hold):
// the register's idle pooled connections are closed first, so the writer's is the database's only
// one; during the load the journal is beside the database and no WAL, after it the database is in
// WAL mode again. (A WAL the size of the load made every cache miss search it: the load slowed
// quadratically past a few million residents.)
TEST_F(BulkLoadTest, RunsOutsideTheWalOnSqlite) {
  BulkSecondRegister other(dir_ / "bulk");
  if (other.store.postgresql()) GTEST_SKIP() << "SQLite's journal";
  EXPECT_EQ(bulk_rows(*other.pool, "SELECT COUNT(*) FROM residents"), std::vector<std::string>{"0|"});
  auto load = other.registry->begin_bulk_load();
  ASSERT_TRUE(load.ok()) << load.status().to_string();
  ASSERT_TRUE(other.registry->submit_all(
      {{kChiyoda, birth("b1", "山田　花子", "ヤマダ　ハナコ", "1990-04-01", kChiyodaAddress)}})[0].ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "bulk" / "jlis.db-journal"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "bulk" / "jlis.db-wal"));
  ASSERT_TRUE((*load)->finish().is_ok());
  EXPECT_EQ(bulk_rows(*other.pool, "PRAGMA journal_mode"), std::vector<std::string>{"wal|"});
  EXPECT_EQ(bulk_rows(*other.pool, "SELECT COUNT(*) FROM residents"), std::vector<std::string>{"1|"});
}

}  // namespace
}  // namespace jlis::registry::testing
