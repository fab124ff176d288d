// Registered bodies (linkage/bodies.h, issue 11 §1): a body and its linkage-body token are made
// together, the token authenticates as that body, a refused registration writes nothing, removing
// a body revokes its tokens and keeps its row. On SQLite and PostgreSQL.
#include "linkage_world.h"

namespace jlis::linkage {
namespace {

using testing::kMhlw;
using testing::kPension;

class LinkageBodiesTest : public testing::LinkageWorld {};

// Rule: a registered body is listed with its kind, name, code, time and active; its id is
// "<kind>-<code>"; its token authenticates as role linkage-body with the body id as subject.
TEST_F(LinkageBodiesTest, ABodyIsRegisteredWithATokenBoundToIt) {
  auto added = bodies_->add(BodyKind::pension_service, "日本年金機構", kPension);
  ASSERT_TRUE(added.ok()) << added.status().to_string();
  const auto& [body, token] = *added;
  EXPECT_EQ(body.body_id, std::string("pension-service-") + kPension);
  auto who = directory_->authenticate(token);
  ASSERT_TRUE(who.ok()) << who.status().to_string();
  EXPECT_EQ(who->role, auth::Role::linkage_body);
  EXPECT_EQ(who->subject, body.body_id);
  EXPECT_EQ(who->name, "日本年金機構");

  ASSERT_TRUE(bodies_->add(BodyKind::municipality, "千代田区", "131016").ok());
  ASSERT_TRUE(bodies_->add(BodyKind::prefecture, "東京都", "130001").ok());
  ASSERT_TRUE(bodies_->add(BodyKind::health_insurer, "東京都後期高齢者医療広域連合", "39131019").ok());
  ASSERT_TRUE(bodies_->add(BodyKind::ministry, "厚生労働省", kMhlw).ok());
  auto all = bodies_->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  auto city = bodies_->get("municipality-131016");
  ASSERT_TRUE(city.ok()) << city.status().to_string();
  EXPECT_EQ(city->kind, BodyKind::municipality);
  EXPECT_EQ(city->name, "千代田区");
  EXPECT_EQ(city->code, "131016");
  EXPECT_TRUE(city->active);
  // ISO 8601 UTC: 2026-12-03T13:00:00.123Z
  ASSERT_GE(city->registered_at.size(), 20u) << city->registered_at;
  EXPECT_EQ(city->registered_at[10], 'T') << city->registered_at;
  EXPECT_EQ(city->registered_at.back(), 'Z') << city->registered_at;
  EXPECT_EQ(bodies_->get("municipality-132217").status().code(), Code::not_found);
}

// Rule: each kind's code has its own form, checked (check digits included) before anything is
// written; a refusal writes neither a body nor a token.
TEST_F(LinkageBodiesTest, ABadCodeOrNameIsRefusedAndWritesNothing) {
  struct Case {
    BodyKind kind;
    std::string code, name;
  };
  const std::vector<Case> bad = {
      {BodyKind::municipality, "131017", "千代田区"},          // wrong check digit
      {BodyKind::municipality, "130001", "東京都"},            // a prefecture's code
      {BodyKind::prefecture, "131016", "千代田区"},            // a municipality's code
      {BodyKind::municipality, "13101", "千代田区"},           // too short
      {BodyKind::health_insurer, "3913101", "広域連合"},       // 7 digits
      {BodyKind::health_insurer, "3913101A", "広域連合"},      // not digits
      {BodyKind::pension_service, "2011105003233", "機構"},    // wrong check digit
      {BodyKind::ministry, "600001207000", "厚生労働省"},      // 12 digits
      {BodyKind::municipality, "131016", ""},                 // no name
      {BodyKind::municipality, "131016", std::string(201, 'a')},
  };
  for (const auto& c : bad) {
    auto r = bodies_->add(c.kind, c.name, c.code);
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << c.code << " " << r.status().to_string();
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bodies"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tokens"), 0);
  EXPECT_NE(check_body_code(BodyKind::municipality, "131017").message().find("check digit"), std::string::npos);
}

// Rule: a body is registered once: a second registration of the same kind and code (also after its
// removal) is a conflict, found in the transaction that writes, and leaves no second token.
TEST_F(LinkageBodiesTest, ABodyIsRegisteredOnce) {
  ASSERT_TRUE(bodies_->add(BodyKind::municipality, "千代田区", "131016").ok());
  auto again = bodies_->add(BodyKind::municipality, "千代田区役所", "131016");
  EXPECT_EQ(again.status().code(), Code::conflict) << again.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM tokens"), 1);
  ASSERT_TRUE(bodies_->remove("municipality-131016", "operator:test").is_ok());
  EXPECT_EQ(bodies_->add(BodyKind::municipality, "千代田区", "131016").status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tokens"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_bodies"), 1);
}

// Rule: the bodies kept across writer transactions (ActiveBodies, KnownBodies) are read again once
// any body changes: a registration, an endpoint change and a removal are each seen by the next
// transaction, though the body was read and kept before.
TEST_F(LinkageBodiesTest, KeptBodiesFollowEveryChange) {
  KnownBodies known;
  auto seen = [&](const std::string& id) {
    std::optional<Result<Body>> out;
    EXPECT_TRUE(writer_->run([&](store::Connection& c) {
      ActiveBodies active(c, known);
      out = active(id);
      return Status::ok();
    }).is_ok());
    return *out;
  };
  EXPECT_EQ(seen("municipality-131016").status().code(), Code::not_found);
  add_body(BodyKind::municipality, "千代田区", "131016");
  ASSERT_TRUE(seen("municipality-131016").ok());
  EXPECT_EQ(seen("municipality-131016")->endpoint, "");
  ASSERT_TRUE(bodies_->set_endpoint("municipality-131016", "http://127.0.0.1:9/answer").is_ok());
  EXPECT_EQ(seen("municipality-131016")->endpoint, "http://127.0.0.1:9/answer");
  ASSERT_TRUE(bodies_->remove("municipality-131016", "operator:test").is_ok());
  EXPECT_EQ(seen("municipality-131016").status().code(), Code::permission_denied);
}

// Rule: removing a body deactivates it (its row stays, for the records that name it) and revokes
// every token of it, recorded with who removed it; another body's token still works; removing an
// unknown body or a removed one is refused.
TEST_F(LinkageBodiesTest, RemovingABodyRevokesItsTokensAndKeepsItsRow) {
  auto city = bodies_->add(BodyKind::municipality, "千代田区", "131016");
  auto pension = bodies_->add(BodyKind::pension_service, "日本年金機構", kPension);
  ASSERT_TRUE(city.ok() && pension.ok());
  // A second token of the city, made the way the directory makes any.
  auto second = directory_->create_token(auth::Role::linkage_body, "municipality-131016", "千代田区");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  ASSERT_TRUE(directory_->authenticate(*second).ok());

  Status removed = bodies_->remove("municipality-131016", "operator:suzuki");
  ASSERT_TRUE(removed.is_ok()) << removed.to_string();
  EXPECT_EQ(directory_->authenticate(city->second).status().code(), Code::unauthenticated);
  EXPECT_EQ(directory_->authenticate(*second).status().code(), Code::unauthenticated);
  EXPECT_TRUE(directory_->authenticate(pension->second).ok());
  EXPECT_FALSE(bodies_->get("municipality-131016").value().active);
  EXPECT_EQ(count("SELECT COUNT(*) FROM auth_changes WHERE action = 'token.revoke' AND by_whom = 'operator:suzuki'"), 2);

  EXPECT_EQ(bodies_->remove("municipality-131016", "operator:suzuki").code(), Code::conflict);
  EXPECT_EQ(bodies_->remove("municipality-999999", "operator:suzuki").code(), Code::not_found);
  EXPECT_EQ(count("SELECT COUNT(*) FROM auth_changes WHERE action = 'token.revoke'"), 2);
}

// Rule: a linkage-body token is only its body's: the directory refuses one whose subject is not a
// body id, and `jlis token create` (check_plain_token_role) does not make them at all.
TEST_F(LinkageBodiesTest, ALinkageBodyTokenIsBoundToABodyId) {
  EXPECT_EQ(directory_->create_token(auth::Role::linkage_body, "Nenkin Kikou", "機構").status().code(),
            Code::invalid_argument);
  EXPECT_EQ(auth::check_plain_token_role(auth::Role::linkage_body).code(), Code::invalid_argument);
  EXPECT_EQ(auth::parse_role("linkage-body").value(), auth::Role::linkage_body);
  EXPECT_EQ(auth::role_name(auth::Role::linkage_body), "linkage-body");
  EXPECT_EQ(count("SELECT COUNT(*) FROM tokens"), 0);
}

TEST(LinkageBodyKinds, NamesRoundTripAndUnknownOnesAreRefused) {
  for (auto kind : {BodyKind::municipality, BodyKind::prefecture, BodyKind::pension_service, BodyKind::health_insurer,
                    BodyKind::ministry})
    EXPECT_EQ(parse_body_kind(body_kind_name(kind)).value(), kind);
  auto bad = parse_body_kind("school");
  EXPECT_EQ(bad.status().code(), Code::invalid_argument);
  EXPECT_NE(bad.status().message().find("pension-service"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace jlis::linkage
