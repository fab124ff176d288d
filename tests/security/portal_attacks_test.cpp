// Attacks on the resident's own page (portal/portal.h) through HTTP on the real `jlis serve`: a
// log-in needs the card's own key over this log-in's challenge and a good certificate of the
// register; a session reads its own holder's record only, nothing in a request names a resident;
// ended sessions are 401; pages refuse another site's form posts; bodies that are too large or
// malformed are 4xx JSON. Each refusal writes nothing (table_digest before == after).
#include <openssl/x509.h>

#include <sstream>

#include "../portal/portal_client.h"
#include "world.h"

namespace jlis::security {
namespace {

using portal::testing::PortalClient;
using portal::testing::PortalSuite;

class PortalAttacks : public PortalSuite {
 protected:
  static void SetUpTestSuite() {
    if (build("portal-attacks")) {
      b_key_ = new e2e::CardKey(e2e::CardKey::make());
      e2e::CardKey sig = e2e::CardKey::make();
      b_ = world_->resident_with_card("portal-attack-b", "1990-01-01", sig, *b_key_, "鈴木　次郎");
    }
  }
  static void TearDownTestSuite() {
    delete b_key_;
    b_key_ = nullptr;
    PortalSuite::TearDownTestSuite();
  }
  static std::string pem_a() { return client_->certificate_pem(world_->resident().authentication_serial); }
  static Reply form(const std::string& path, const std::string& body, const http::testing::Headers& extra) {
    http::testing::Headers h = {{"Content-Type", "application/x-www-form-urlencoded"}};
    h.insert(h.end(), extra.begin(), extra.end());
    return world_->request(bhttp::verb::post, path, body, "", h);
  }

  static inline Resident b_;
  static inline e2e::CardKey* b_key_ = nullptr;
};

// Attack: a forged signature (random bytes, or the attacker's key over the right challenge) and a
// signature replayed from another log-in: refused signature_invalid, nothing written.
TEST_F(PortalAttacks, AForgedOrReplayedSignatureDoesNotLogIn) {
  const std::string before = world_->table_digest();
  json o = client_->open();
  EXPECT_EQ(PortalClient::refusal(client_->login(o["session_id"], pem_a(), pki::base64_encode(std::string(256, '\x5a')))),
            "signature_invalid");
  json p = client_->open();
  EXPECT_EQ(PortalClient::refusal(client_->login(p["session_id"], pem_a(), PortalClient::sign(e2e::CardKey::make(), p))),
            "signature_invalid");
  json old = client_->open();
  json now = client_->open();
  auto replay = client_->login(now["session_id"], pem_a(), PortalClient::sign(world_->authentication_key(), old));
  EXPECT_TRUE(is_error_json(replay, 403));
  EXPECT_EQ(PortalClient::refusal(replay), "signature_invalid");
  EXPECT_EQ(world_->table_digest(), before);
}

// Attack: another card's certificate presented with this card's signature (or the other way
// round): signature_invalid; a certificate that copies the holder's around the attacker's key:
// untrusted_certificate. Nothing written.
TEST_F(PortalAttacks, AnotherCardsCertificateDoesNotLogIn) {
  const std::string before = world_->table_digest();
  const std::string pem_b = client_->certificate_pem(b_.authentication_serial);
  EXPECT_EQ(PortalClient::refusal(client_->try_login(pem_b, world_->authentication_key())), "signature_invalid");
  EXPECT_EQ(PortalClient::refusal(client_->try_login(pem_a(), *b_key_)), "signature_invalid");
  e2e::CardKey attacker = e2e::CardKey::make();
  auto forged = pki::x509_from_pem(pem_a()).value();
  X509_set_pubkey(forged.get(), attacker.key.get());
  X509_sign(forged.get(), attacker.key.get(), EVP_sha256());
  EXPECT_EQ(PortalClient::refusal(client_->try_login(pki::x509_pem(forged.get()).value(), attacker)),
            "untrusted_certificate");
  EXPECT_EQ(world_->table_digest(), before);
}

// Attack: the card is suspended (or its certificate revoked) between the challenge and the log-in:
// the signature is right, the log-in refused with the card's state (checked again in the
// transaction that would record it), nothing recorded.
TEST_F(PortalAttacks, ACardSuspendedOrRevokedAfterTheChallengeDoesNotLogIn) {
  for (const bool suspend : {true, false}) {
    e2e::CardKey auth = e2e::CardKey::make(), sig = e2e::CardKey::make();
    Resident r = world_->resident_with_card(suspend ? "portal-late-hold" : "portal-late-revoke", "1970-05-05", sig, auth);
    const std::string pem = client_->certificate_pem(r.authentication_serial);
    json o = client_->open();
    const std::string signature = PortalClient::sign(auth, o);
    if (suspend) {
      ASSERT_EQ(world_->post("/v1/cards/" + r.card_id + "/suspend", "", world_->tokens().call_centre).result_int(), 200);
    } else {
      ASSERT_EQ(world_->post("/v1/pki/certificates/" + r.authentication_serial + "/revoke", R"({"reason": "keyCompromise"})",
                             world_->tokens().chiyoda)
                    .result_int(),
                200);
    }
    auto in = client_->login(o["session_id"], pem, signature);
    EXPECT_TRUE(is_error_json(in, 403)) << in.body();
    EXPECT_EQ(PortalClient::refusal(in), suspend ? "certificate_on_hold" : "certificate_revoked");
    auto conn = e2e::connect_data_dir(world_->dir());
    auto n = conn->query_int64("SELECT COUNT(*) FROM portal_logins WHERE resident_code = ?", {r.resident_code});
    EXPECT_EQ(n.ok() ? n->value_or(-1) : -1, 0);
  }
}

// Attack: resident A's secret used to reach B: no route takes a resident code (query, path or
// body), so A's secret answers A's record whatever is added; B's session id is not A's to end;
// B's session still reads B.
TEST_F(PortalAttacks, ASessionOfAReadsNothingOfB) {
  const std::string a = client_->logged_in(world_->resident().authentication_serial, world_->authentication_key())["secret"];
  json b = client_->logged_in(b_.authentication_serial, *b_key_);
  for (const std::string& target : {"/v1/portal/me?resident_code=" + b_.resident_code,
                                    "/v1/portal/me?code=" + b_.resident_code + "&session_id=" + b["session_id"].get<std::string>()}) {
    auto r = world_->get(target, a);
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(json::parse(r.body())["resident_code"], world_->resident().resident_code);
    EXPECT_EQ(r.body().find(b_.resident_code), std::string::npos);
    EXPECT_EQ(r.body().find("鈴木"), std::string::npos);
  }
  auto page = world_->request(bhttp::verb::get, "/portal/me?resident_code=" + b_.resident_code, "", "",
                              {{"Cookie", "jlis_portal=" + a}});
  ASSERT_EQ(page.result_int(), 200);
  EXPECT_EQ(page.body().find("鈴木"), std::string::npos);
  EXPECT_TRUE(is_error_json(client_->logout(b["session_id"], a), 404));
  EXPECT_EQ(client_->me(b["secret"]).result_int(), 200) << "B's session is untouched";
  // The route table: the portal's routes take a session id at most, never a resident.
  auto routes = world_->cli({"serve", "--data", world_->dir(), "--print-routes"});
  ASSERT_EQ(routes.exit_code, 0) << routes.err;
  std::istringstream lines(routes.out);
  int portal_routes = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("portal") == std::string::npos) continue;
    ++portal_routes;
    std::string rest = line;
    for (size_t at; (at = rest.find('{')) != std::string::npos;) {
      const size_t end = rest.find('}', at);
      EXPECT_EQ(rest.substr(at, end - at + 1), "{session_id}") << line;
      rest = rest.substr(end + 1);
    }
  }
  EXPECT_EQ(portal_routes, 8);
}

// Attack: a logged-out session's secret, a made-up secret, an empty cookie: 401 JSON, and the
// page answers 401 too.
TEST_F(PortalAttacks, EndedOrMadeUpSessionsAre401) {
  json s = client_->logged_in(world_->resident().authentication_serial, world_->authentication_key());
  ASSERT_EQ(client_->logout(s["session_id"], s["secret"]).result_int(), 200);
  EXPECT_TRUE(is_error_json(client_->me(s["secret"]), 401));
  EXPECT_TRUE(is_error_json(client_->me_by_cookie(s["secret"]), 401));
  EXPECT_TRUE(is_error_json(client_->me(std::string(64, '0')), 401));
  EXPECT_TRUE(is_error_json(client_->me(""), 401));
  EXPECT_TRUE(is_error_json(client_->me_by_cookie(""), 401));
  // No role's token is a resident's session: the municipality's, the agency's, the operator's...
  for (const auto& [role, token] : world_->tokens().by_name()) EXPECT_TRUE(is_error_json(client_->me(token), 401)) << role;
  auto page = world_->request(bhttp::verb::get, "/portal/me", "", "", {{"Cookie", "jlis_portal=" + s["secret"].get<std::string>()}});
  EXPECT_EQ(page.result_int(), 401);
}

// Attack: another site's page posts the log-in or the log-out form (its Origin, or the browser's
// Sec-Fetch-Site: cross-site): 403, nothing logged in, the session not ended.
TEST_F(PortalAttacks, CrossSiteFormPostsAre403) {
  const std::string before = world_->table_digest();
  json o = client_->open();
  std::string body = "session_id=" + o["session_id"].get<std::string>();
  auto evil = form("/portal/login", body, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(evil.result_int(), 403);
  EXPECT_EQ(form("/portal/login", body, {{"Sec-Fetch-Site", "cross-site"}}).result_int(), 403);
  EXPECT_EQ(form("/portal/login", body, {{"Origin", "null"}}).result_int(), 403);
  EXPECT_EQ(world_->table_digest(), before);
  json s = client_->logged_in(world_->resident().authentication_serial, world_->authentication_key());
  const std::string cookie = "jlis_portal=" + s["secret"].get<std::string>();
  EXPECT_EQ(form("/portal/logout", "", {{"Origin", "http://evil.example"}, {"Cookie", cookie}}).result_int(), 403);
  EXPECT_EQ(client_->me(s["secret"]).result_int(), 200) << "still logged in";
  EXPECT_EQ(form("/portal/logout", "", {{"Sec-Fetch-Site", "same-origin"}, {"Cookie", cookie}}).result_int(), 303);
  EXPECT_TRUE(is_error_json(client_->me(s["secret"]), 401));
}

// Attack: oversized and malformed log-in bodies: 4xx JSON, nothing written.
TEST_F(PortalAttacks, OversizedOrMalformedBodiesAre4xxJson) {
  const std::string before = world_->table_digest();
  auto post = [](const std::string& body) {
    json o = client_->open();
    return world_->request(bhttp::verb::post, "/v1/portal/sessions/" + o["session_id"].get<std::string>() + "/login", body, "");
  };
  EXPECT_TRUE(is_error_json(post(json{{"certificate", std::string(20000, 'A')}, {"signature", "AA=="}}.dump()), 413));
  EXPECT_TRUE(is_error_json(post(std::string(2 << 20, '{')), 413));
  EXPECT_TRUE(is_error_json(post("{not json"), 400));
  EXPECT_TRUE(is_error_json(post("[1,2]"), 400));
  EXPECT_TRUE(is_error_json(post(R"({"certificate": 1, "signature": "AA=="})"), 400));
  EXPECT_TRUE(is_error_json(post(R"({"certificate": "x", "signature": "AA==", "resident_code": "1"})"), 400));
  EXPECT_TRUE(is_error_json(post(R"({"certificate": "x"})"), 400));
  EXPECT_TRUE(is_error_json(post(json{{"certificate", "not a pem"}, {"signature", "AA=="}}.dump()), 400));
  EXPECT_TRUE(is_error_json(post(json{{"certificate", pem_a()}, {"signature", "***"}}.dump()), 400));
  EXPECT_EQ(world_->table_digest(), before);
}

// Attack: a stranger opens log-ins without end: past --portal-login-limit a minute (3 here) the
// address gets 429 with Retry-After, JSON and page alike. (Restarts the world's server: last.)
TEST_F(PortalAttacks, ZZOpeningLogInsIsLimitedPerAddress) {
  world_->start({"--portal-login-limit", "3"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(world_->post("/v1/portal/sessions", "", "").result_int(), 201);
  auto r = world_->post("/v1/portal/sessions", "", "");
  EXPECT_TRUE(is_error_json(r, 429));
  EXPECT_FALSE(std::string(r[bhttp::field::retry_after]).empty());
  EXPECT_EQ(world_->get("/portal", "").result_int(), 429);
}

}  // namespace
}  // namespace jlis::security
