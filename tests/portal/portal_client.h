// The resident's own page as its callers use it, over HTTP on the security harness's `jlis serve`
// (tests/security/world.h): the card reader's software opens a log-in, signs the challenge with the
// card's user-authentication key and logs in; the secret then reads the holder's own record.
// Shared by tests/portal (the rules), tests/security (the attacks) and tests/e2e (the browser).
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "../security/world.h"
#include "pki/openssl.h"

namespace jlis::portal::testing {

using nlohmann::json;
using security::World;
using Reply = http::testing::Reply;
namespace bhttp = boost::beast::http;

class PortalClient {
 public:
  explicit PortalClient(World& world) : w_(world) {}

  // POST /v1/portal/sessions: {session_id, challenge, expires_at} (empty on failure).
  json open() {
    auto r = w_.request(bhttp::verb::post, "/v1/portal/sessions", "", "");
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return r.result_int() == 201 ? json::parse(r.body()) : json::object();
  }
  // The PEM of a certificate, as the holder's municipality fetches it (the card holds the same).
  std::string certificate_pem(const std::string& serial) {
    auto r = w_.request(bhttp::verb::get, "/v1/pki/certificates/" + serial, "", w_.tokens().chiyoda,
                        {{"Accept", "application/x-pem-file"}});
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return r.body();
  }
  // `key`'s signature over the log-in's challenge, base64 (what the card answers after its PIN).
  static std::string sign(const e2e::CardKey& key, const json& opened) {
    auto challenge = pki::base64_decode(opened.value("challenge", ""));
    return pki::base64_encode(key.sign(challenge.ok() ? *challenge : ""));
  }
  Reply login(const std::string& session_id, const std::string& pem, const std::string& signature) {
    return w_.request(bhttp::verb::post, "/v1/portal/sessions/" + session_id + "/login",
                      json{{"certificate", pem}, {"signature", signature}}.dump(), "");
  }
  // Opens a log-in and logs in with the certificate `serial` and `key`: the session's JSON.
  json logged_in(const std::string& serial, const e2e::CardKey& key) {
    json o = open();
    auto r = login(o.value("session_id", ""), certificate_pem(serial), sign(key, o));
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return r.result_int() == 200 ? json::parse(r.body()) : json::object();
  }
  Reply me(const std::string& secret) { return w_.request(bhttp::verb::get, "/v1/portal/me", "", secret); }
  Reply me_by_cookie(const std::string& secret) {
    return w_.request(bhttp::verb::get, "/v1/portal/me", "", "", {{"Cookie", "jlis_portal=" + secret}});
  }
  Reply logout(const std::string& session_id, const std::string& secret) {
    return w_.request(bhttp::verb::post, "/v1/portal/sessions/" + session_id + "/logout", "", secret);
  }
  // The 403 refusal's reason ("" when `r` is not one).
  static std::string refusal(const Reply& r) {
    if (r.result_int() != 403) return "";
    json j = json::parse(r.body(), nullptr, false);
    if (!j.is_object() || !j.contains("refusal")) return "";
    return j["refusal"].value("reason", "");
  }
  // A log-in attempt with `pem` and the signature of `key` on a fresh challenge.
  Reply try_login(const std::string& pem, const e2e::CardKey& key) {
    json o = open();
    return login(o.value("session_id", ""), pem, sign(key, o));
  }

 private:
  World& w_;
};

// A suite over one world with its resident, built once per suite.
class PortalSuite : public ::testing::Test {
 protected:
  static bool build(const std::string& name, const std::vector<std::string>& serve = {}) {
    world_ = World::create(name).release();
    if (!world_ || !world_->ok()) return false;
    if (!serve.empty()) world_->start(serve);
    client_ = new PortalClient(*world_);
    return true;
  }
  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok() && client_) << "the world was not built"; }

  static inline World* world_ = nullptr;
  static inline PortalClient* client_ = nullptr;
};

}  // namespace jlis::portal::testing
