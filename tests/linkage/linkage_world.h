// The linkage tests' common ground: a fresh data directory on the test store (SQLite, or PostgreSQL
// under JLIS_TEST_STORE) with every linkage table and the token directory migrated, a pool, the
// writer, the registered bodies (bodies.h) and helpers to count and change rows; QueriesWorld adds
// the query side. A fixture of a folder's tests derives from one and adds what it tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "../pki/test_ca.h"
#include "../store/test_store.h"
#include "auth/directory.h"
#include "linkage/bodies.h"
#include "linkage/bulk_jobs.h"
#include "linkage/codes.h"
#include "linkage/message_log.h"
#include "linkage/queries.h"
#include "linkage/replicas.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage::testing {

// Codes with right check digits: 厚生労働省's corporate number (real); the pension service's is
// made up; 千代田区, 八王子市 and 横浜市's local-government codes (real).
inline constexpr const char* kMhlw = "6000012070001";
inline constexpr const char* kPension = "1011105003233";
inline constexpr const char* kChiyoda = "131016";
inline constexpr const char* kHachioji = "132012";
inline constexpr const char* kYokohama = "141003";

class LinkageWorld : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jlis-linkage-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    auto db = store_.open_data_dir((tmp_ / "data").string());
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(*db);
    {
      auto conn = db_->connect().value();
      for (Status s : {auth::Directory::migrate(*conn), Bodies::migrate(*conn), LinkageCodes::migrate(*conn),
                       migrate_message_log(*conn), Replicas::migrate(*conn), Queries::migrate(*conn),
                       BulkJobs::migrate(*conn)})
        ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    pool_ = std::make_unique<store::Pool>(db_);
    writer_ = store::Writer::start(*db_).value();
    directory_ = std::make_unique<auth::Directory>(*pool_, *writer_);
    bodies_ = std::make_unique<Bodies>(*pool_, *writer_, *directory_);
  }
  void TearDown() override {
    bodies_.reset();
    directory_.reset();
    writer_.reset();
    pool_.reset();
    db_.reset();
    std::filesystem::remove_all(tmp_);
  }

  // Registers a body; answers its id.
  std::string add_body(BodyKind kind, const std::string& name, const std::string& code) {
    auto added = bodies_->add(kind, name, code);
    EXPECT_TRUE(added.ok()) << added.status().to_string();
    return added.ok() ? added->first.body_id : "";
  }
  int64_t count(const std::string& sql) {
    auto conn = pool_->acquire().value();
    return conn->query_int64(sql).value().value_or(-1);
  }
  void sql(const std::string& statement) {
    auto conn = db_->connect().value();
    auto r = conn->execute(statement);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }

  store::testing::TestStore store_;
  std::filesystem::path tmp_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<auth::Directory> directory_;
  std::unique_ptr<Bodies> bodies_;
};

// The world with the platform's query side: the shipped legal table and layouts, a code key, the
// codes, replicas and queries, and two bodies (the pension service and 千代田区).
class QueriesWorld : public LinkageWorld {
 protected:
  void SetUp() override {
    LinkageWorld::SetUp();
    layouts_ = DataLayouts::shipped().value();
    table_ = LegalTable::shipped().value();
    key_ = pki::testing::make_key();
    codes_ = std::make_unique<LinkageCodes>(*pool_, *writer_, key_.get());
    replicas_ = std::make_unique<Replicas>(*pool_, *writer_, *layouts_);
    queries_ = std::make_unique<Queries>(*pool_, *writer_, *table_, *layouts_);
    nenkin_ = add_body(BodyKind::pension_service, "日本年金機構", kPension);
    city_ = add_body(BodyKind::municipality, "千代田区", kChiyoda);
  }

  const DataLayouts* layouts_ = nullptr;
  const LegalTable* table_ = nullptr;
  pki::EvpPkeyPtr key_;
  std::unique_ptr<LinkageCodes> codes_;
  std::unique_ptr<Replicas> replicas_;
  std::unique_ptr<Queries> queries_;
  std::string nenkin_, city_;  // the bodies' ids
};

}  // namespace jlis::linkage::testing
