// Authenticated tokens are cached in memory (auth::Directory), yet a change made by any other
// process to the store (the CLI beside a running server, the other centre) applies to the very
// next request: each Directory here stands for one process, on one store (SQLite, or _pg).
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <unistd.h>

#include "auth/directory.h"
#include "store/writer.h"
#include "../store/test_store.h"

namespace jlis::security {
namespace {

namespace fs = std::filesystem;

// One process's view of the store: its connections, its writer, its directory (and its cache).
struct Process {
  explicit Process(std::shared_ptr<store::Database> db)
      : pool(db), writer(store::Writer::start(*db).value()), directory(pool, *writer) {}
  store::Pool pool;
  std::unique_ptr<store::Writer> writer;
  auth::Directory directory;
};

class TokenCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("jlis-token-cache-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto db = store_.open(dir_ + "/auth.db");
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(*db);
    auto conn = db_->connect();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(auth::Directory::migrate(**conn).is_ok());
    server_ = std::make_unique<Process>(db_);
    cli_ = std::make_unique<Process>(db_);
  }
  void TearDown() override {
    server_.reset();
    cli_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }
  // The token's id, as `jlis token list` shows it.
  std::string id_of(const std::string& name) {
    const auto tokens = cli_->directory.tokens();
    for (const auto& t : tokens.value())
      if (t.name == name) return t.token_id;
    return "";
  }

  store::testing::TestStore store_;
  std::string dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<Process> server_, cli_;
};

// Rule: a token the server has authenticated (and cached) is refused on its next request once
// another process revoked it; one never seen is refused as well.
TEST_F(TokenCache, ARevocationByAnotherProcessIsHonouredOnTheNextRequest) {
  auto token = cli_->directory.create_token(auth::Role::call_centre, "call-centre", "revoke-me");
  ASSERT_TRUE(token.ok()) << token.status().to_string();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(server_->directory.authenticate(*token).ok()) << i;
  ASSERT_TRUE(cli_->directory.revoke_token(id_of("revoke-me"), "operator:test").is_ok());
  auto after = server_->directory.authenticate(*token);
  EXPECT_EQ(after.status().code(), Code::unauthenticated);
  EXPECT_NE(after.status().message().find("revoked"), std::string::npos) << after.status().message();
  // Through a connection the caller holds (a request's read transaction), the same.
  auto conn = server_->pool.acquire().value();
  EXPECT_EQ(server_->directory.authenticate(*conn, *token).status().code(), Code::unauthenticated);
  EXPECT_EQ(server_->directory.authenticate("jlis_not_a_token").status().code(), Code::unauthenticated);
}

// Rule: an agency's purposes changed by another process apply to the next request, though its
// token was cached with the old ones; a withdrawn grant leaves the token no purpose.
TEST_F(TokenCache, AnAgencysPurposesChangedByAnotherProcessApplyOnTheNextRequest) {
  auto added = cli_->directory.add_agency("Pension", {"pension"});
  ASSERT_TRUE(added.ok()) << added.status().to_string();
  const std::string token = added->second;
  auto before = server_->directory.authenticate(token);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->purposes, (std::set<std::string>{"pension"}));
  ASSERT_TRUE(cli_->directory.set_purposes(added->first.agency_id, auth::PurposeChange::add, {"tax"}, "operator:test").ok());
  EXPECT_EQ(server_->directory.authenticate(token)->purposes, (std::set<std::string>{"pension", "tax"}));
  ASSERT_TRUE(cli_->directory.set_purposes(added->first.agency_id, auth::PurposeChange::remove, {"pension", "tax"},
                                           "operator:test").ok());
  EXPECT_TRUE(server_->directory.authenticate(token)->purposes.empty());
}

// Rule: a cached token past its expiry is refused (the expiry is checked on every request, not
// when the token was cached).
TEST_F(TokenCache, ACachedTokenPastItsExpiryIsRefused) {
  auth::TokenGrant grant;
  grant.expires_at = static_cast<int64_t>(std::time(nullptr)) + 2;
  auto token = cli_->directory.create_token(auth::Role::card_centre, "card-centre", "short", grant);
  ASSERT_TRUE(token.ok()) << token.status().to_string();
  ASSERT_TRUE(server_->directory.authenticate(*token).ok());
  while (std::time(nullptr) < *grant.expires_at) ::usleep(100000);
  auto after = server_->directory.authenticate(*token);
  EXPECT_EQ(after.status().code(), Code::unauthenticated);
  EXPECT_NE(after.status().message().find("expired"), std::string::npos) << after.status().message();
}

// Rule: a change made through the console carries the operator's token, which is checked inside
// the transaction that writes: once another process revoked it (though this process cached it a
// moment before), creating a token, registering an agency (with its token, in one transaction),
// revoking a token and recording an action are refused and write nothing; a token that is no
// operator's is refused the same way; a good operator token acts.
TEST_F(TokenCache, AConsoleChangeChecksTheOperatorsTokenInTheTransactionThatWrites) {
  auto op = cli_->directory.create_token(auth::Role::operator_, "ops", "Ops");
  auto target = cli_->directory.create_token(auth::Role::call_centre, "call-centre", "target");
  auto other = cli_->directory.create_token(auth::Role::call_centre, "call-centre", "not an operator");
  ASSERT_TRUE(op.ok() && target.ok() && other.ok());
  auto through = [](const std::string& token) {
    return auth::TokenGrant{.expires_at = std::nullopt, .by = "console:Ops", .operator_token = token};
  };
  // A good operator token acts.
  ASSERT_TRUE(server_->directory.authenticate(*op).ok());
  auto made = server_->directory.create_token(auth::Role::verifier, "vf-1", "made", through(*op));
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  ASSERT_TRUE(server_->directory.record_action("console:Ops", *op, "crl.generate", "", "").is_ok());

  const size_t tokens = cli_->directory.tokens()->size(), changes = cli_->directory.changes()->size();
  const size_t agencies = cli_->directory.agencies()->size();
  for (const std::string& bad : {*other, std::string("jlis_not_a_token")}) {
    EXPECT_EQ(server_->directory.create_token(auth::Role::verifier, "vf-2", "x", through(bad)).status().code(),
              Code::permission_denied);
    EXPECT_EQ(server_->directory.add_agency("Tax", {"tax"}, through(bad)).status().code(), Code::permission_denied);
    EXPECT_EQ(server_->directory.revoke_token(id_of("target"), "console:Ops", bad).code(), Code::permission_denied);
    EXPECT_EQ(server_->directory.record_action("console:Ops", bad, "crl.generate", "", "").code(),
              Code::permission_denied);
  }
  ASSERT_TRUE(cli_->directory.revoke_token(id_of("Ops"), "operator:test").is_ok());
  const size_t after_revoke = changes + 1;
  EXPECT_EQ(server_->directory.create_token(auth::Role::verifier, "vf-3", "y", through(*op)).status().code(),
            Code::permission_denied);
  EXPECT_EQ(server_->directory.add_agency("Tax", {"tax"}, through(*op)).status().code(), Code::permission_denied);
  EXPECT_EQ(server_->directory.revoke_token(id_of("target"), "console:Ops", *op).code(), Code::permission_denied);
  EXPECT_EQ(server_->directory.record_action("console:Ops", *op, "crl.generate", "", "").code(), Code::permission_denied);

  EXPECT_EQ(cli_->directory.tokens()->size(), tokens) << "no token made";
  EXPECT_EQ(cli_->directory.agencies()->size(), agencies) << "no agency registered";
  EXPECT_EQ(cli_->directory.changes()->size(), after_revoke) << "nothing recorded but the CLI's revocation";
  EXPECT_TRUE(server_->directory.authenticate(*target).ok()) << "the target is still good";
}

}  // namespace
}  // namespace jlis::security
