// The resident's own page's rules (portal/portal.h), through HTTP on the real `jlis serve`: the card
// holder logs in with the user-authentication certificate over a fresh challenge and reads their
// own record (identity, the registry's provisions, issuances, linkage records); each refusal of the
// log-in has its reason; a challenge is tried once; a session is bound to the holder at log-in and
// ends with its log-out, its idle time, or its card's suspension.
#include <chrono>
#include <thread>

#include "portal_client.h"

namespace jlis::portal::testing {
namespace {

class PortalTest : public PortalSuite {
 protected:
  static void SetUpTestSuite() { build("portal-rules", {"--portal-idle-seconds", "3"}); }

  // A resident of its own with a card (for the tests that suspend, revoke or expire it).
  static std::pair<security::Resident, e2e::CardKey> holder(const std::string& id, const std::string& name = "髙橋　花子") {
    e2e::CardKey auth = e2e::CardKey::make(), sig = e2e::CardKey::make();
    security::Resident r = world_->resident_with_card(id, "1979-09-09", sig, auth, name);
    return {r, std::move(auth)};
  }
  static int64_t logins(const std::string& where) {
    auto conn = e2e::connect_data_dir(world_->dir());
    auto n = conn->query_int64("SELECT COUNT(*) FROM portal_logins WHERE " + where);
    return n.ok() ? n->value_or(-1) : -1;
  }
};

// Rule: the whole flow. The challenge is 32 random bytes; the log-in answers a 64-hex secret and
// sets it as an HttpOnly, SameSite=Strict cookie; the record (by bearer or by cookie) is the
// holder's: identity, the registry's provision to the agency that read them, the issuances and
// linkage records lists; the log-in is recorded.
TEST_F(PortalTest, TheHolderLogsInAndReadsTheirOwnRecord) {
  const auto& me = world_->resident();
  auto read = world_->get("/v1/residents/" + me.resident_code + "?purpose=" + World::kPurpose, world_->tokens().agency);
  ASSERT_EQ(read.result_int(), 200) << read.body();

  json o = client_->open();
  ASSERT_TRUE(o.contains("session_id") && o.contains("challenge") && o.contains("expires_at")) << o.dump();
  EXPECT_EQ(pki::base64_decode(o["challenge"].get<std::string>()).value().size(), 32u);
  auto in = client_->login(o["session_id"], client_->certificate_pem(me.authentication_serial),
                           PortalClient::sign(world_->authentication_key(), o));
  ASSERT_EQ(in.result_int(), 200) << in.body();
  json session = json::parse(in.body());
  EXPECT_EQ(session["session_id"], o["session_id"]);
  const std::string secret = session["secret"];
  EXPECT_EQ(secret.size(), 64u);
  const std::string cookie(in[bhttp::field::set_cookie]);
  EXPECT_EQ(cookie.rfind("jlis_portal=" + secret + ";", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);

  for (const auto& r : {client_->me(secret), client_->me_by_cookie(secret)}) {
    ASSERT_EQ(r.result_int(), 200) << r.body();
    json rec = json::parse(r.body());
    EXPECT_EQ(rec["resident_code"], me.resident_code);
    EXPECT_EQ(rec["resident"]["resident_code"], me.resident_code);
    EXPECT_EQ(rec["resident"]["name"], "髙橋　花子");
    EXPECT_EQ(rec["resident"]["my_number"], me.my_number);
    ASSERT_TRUE(rec["provisions"].is_array());
    ASSERT_GE(rec["provisions"].size(), 1u);
    bool pension = false;
    for (const auto& p : rec["provisions"]) pension |= p["agency_name"] == "Pension" && p["purpose"] == World::kPurpose;
    EXPECT_TRUE(pension) << rec["provisions"].dump();
    EXPECT_TRUE(rec["issuances"].is_array());
    EXPECT_TRUE(rec["linkage_records"].is_array());
  }
  EXPECT_EQ(logins("login_id = '" + o["session_id"].get<std::string>() + "' AND resident_code = '" + me.resident_code +
                   "' AND certificate_serial = '" + me.authentication_serial + "'"),
            1);
}

// Refusal, one reason each: a signature not over this challenge (signature_invalid), the
// signature certificate (not_authentication_certificate), a self-made certificate
// (untrusted_certificate), a suspended card (certificate_on_hold), a revoked certificate
// (certificate_revoked), an expired one (certificate_expired). None is recorded as a log-in.
TEST_F(PortalTest, EachRefusalHasItsReason) {
  const auto& me = world_->resident();
  const std::string pem = client_->certificate_pem(me.authentication_serial);
  json first = client_->open();
  json second = client_->open();
  auto wrong = client_->login(second["session_id"], pem, PortalClient::sign(world_->authentication_key(), first));
  EXPECT_EQ(PortalClient::refusal(wrong), "signature_invalid") << wrong.body();

  auto signature = client_->try_login(client_->certificate_pem(me.signature_serial), world_->signature_key());
  EXPECT_EQ(PortalClient::refusal(signature), "not_authentication_certificate") << signature.body();

  e2e::CardKey stranger = e2e::CardKey::make();
  auto self_made = pki::x509_from_pem(pem).value();
  X509_set_pubkey(self_made.get(), stranger.key.get());
  X509_sign(self_made.get(), stranger.key.get(), EVP_sha256());
  auto untrusted = client_->try_login(pki::x509_pem(self_made.get()).value(), stranger);
  EXPECT_EQ(PortalClient::refusal(untrusted), "untrusted_certificate") << untrusted.body();

  auto [held, held_key] = holder("portal-hold");
  ASSERT_EQ(client_->try_login(client_->certificate_pem(held.authentication_serial), held_key).result_int(), 200);
  auto s = world_->post("/v1/cards/" + held.card_id + "/suspend", "", world_->tokens().call_centre);
  ASSERT_EQ(s.result_int(), 200) << s.body();
  EXPECT_EQ(PortalClient::refusal(client_->try_login(client_->certificate_pem(held.authentication_serial), held_key)),
            "certificate_on_hold");

  auto [revoked, revoked_key] = holder("portal-revoke");
  auto rv = world_->post("/v1/pki/certificates/" + revoked.authentication_serial + "/revoke",
                         R"({"reason": "keyCompromise"})", world_->tokens().chiyoda);
  ASSERT_EQ(rv.result_int(), 200) << rv.body();
  EXPECT_EQ(PortalClient::refusal(client_->try_login(client_->certificate_pem(revoked.authentication_serial), revoked_key)),
            "certificate_revoked");

  auto [expired, expired_key] = holder("portal-expire");
  const std::string expired_pem = client_->certificate_pem(expired.authentication_serial);
  world_->expire_certificate(expired.authentication_serial);
  EXPECT_EQ(PortalClient::refusal(client_->try_login(expired_pem, expired_key)), "certificate_expired");

  EXPECT_EQ(logins("certificate_serial IN ('" + revoked.authentication_serial + "', '" + expired.authentication_serial +
                   "', '" + me.signature_serial + "')"),
            0);
  EXPECT_EQ(logins("certificate_serial = '" + held.authentication_serial + "'"), 1) << "only the one before the hold";
}

// Rule: one try per challenge. A refused try spends the log-in: the right signature then is 404,
// as is an id never opened.
TEST_F(PortalTest, AChallengeIsTriedOnce) {
  const auto& me = world_->resident();
  const std::string pem = client_->certificate_pem(me.authentication_serial);
  json o = client_->open();
  EXPECT_EQ(client_->login(o["session_id"], pem, pki::base64_encode(std::string(256, 'x'))).result_int(), 403);
  auto again = client_->login(o["session_id"], pem, PortalClient::sign(world_->authentication_key(), o));
  EXPECT_TRUE(security::is_error_json(again, 404)) << again.body();
  EXPECT_TRUE(security::is_error_json(
      client_->login("ps-00000000000000000000000000000000", pem, PortalClient::sign(world_->authentication_key(), o)), 404));
}

// Rule: a session is bound to the holder at log-in. Two residents logged in at once each read
// their own record only.
TEST_F(PortalTest, EachSessionReadsItsOwnHoldersRecordOnly) {
  const auto& a = world_->resident();
  auto [b, b_key] = holder("portal-b", "佐藤　一郎");
  const std::string secret_a = client_->logged_in(a.authentication_serial, world_->authentication_key())["secret"];
  const std::string secret_b = client_->logged_in(b.authentication_serial, b_key)["secret"];
  auto ra = client_->me(secret_a);
  auto rb = client_->me(secret_b);
  ASSERT_EQ(ra.result_int(), 200);
  ASSERT_EQ(rb.result_int(), 200);
  EXPECT_EQ(json::parse(ra.body())["resident_code"], a.resident_code);
  EXPECT_EQ(json::parse(rb.body())["resident_code"], b.resident_code);
  EXPECT_EQ(ra.body().find(b.resident_code), std::string::npos);
  EXPECT_EQ(rb.body().find(a.resident_code), std::string::npos);
  EXPECT_EQ(rb.body().find("髙橋"), std::string::npos);
}

// Rule: a session ends with its log-out (401 after; the end recorded), and with its card's
// suspension (the next request is 401).
TEST_F(PortalTest, LogOutAndSuspensionEndTheSession) {
  json s = client_->logged_in(world_->resident().authentication_serial, world_->authentication_key());
  const std::string secret = s["secret"], id = s["session_id"];
  ASSERT_EQ(client_->me(secret).result_int(), 200);
  auto out = client_->logout(id, secret);
  ASSERT_EQ(out.result_int(), 200) << out.body();
  EXPECT_TRUE(security::is_error_json(client_->me(secret), 401));
  EXPECT_TRUE(security::is_error_json(client_->logout(id, secret), 401));
  EXPECT_EQ(logins("login_id = '" + id + "' AND end_reason = 'logout' AND ended_at IS NOT NULL"), 1);

  auto [c, c_key] = holder("portal-suspend-later");
  json cs = client_->logged_in(c.authentication_serial, c_key);
  ASSERT_EQ(client_->me(cs["secret"]).result_int(), 200);
  ASSERT_EQ(world_->post("/v1/cards/" + c.card_id + "/suspend", "", world_->tokens().call_centre).result_int(), 200);
  EXPECT_TRUE(security::is_error_json(client_->me(cs["secret"]), 401));
  EXPECT_EQ(logins("login_id = '" + cs["session_id"].get<std::string>() + "' AND end_reason = 'certificate'"), 1);
}

// Rule: a session left idle past --portal-idle-seconds (3 s here) ends: 401, recorded as idle.
TEST_F(PortalTest, AnIdleSessionEnds) {
  json s = client_->logged_in(world_->resident().authentication_serial, world_->authentication_key());
  ASSERT_EQ(client_->me(s["secret"]).result_int(), 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(3300));
  EXPECT_TRUE(security::is_error_json(client_->me(s["secret"]), 401));
  EXPECT_EQ(logins("login_id = '" + s["session_id"].get<std::string>() + "' AND end_reason = 'idle'"), 1);
}

}  // namespace
}  // namespace jlis::portal::testing
