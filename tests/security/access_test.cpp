// The per-role access table of docs/ARCHITECTURE.md §3, proven over HTTP against `jlis serve`:
// every role is refused every route it must not reach (403 JSON), every route refuses a missing,
// revoked or expired token (401 JSON), and an agency without a granted purpose (403 JSON). Each
// refusal changes nothing (table_digest) and provides nothing (no provision row).
#include <set>
#include <sstream>
#include <thread>

#include "../pki/requests.h"
#include "world.h"

namespace jlis::security {
namespace {

// The roles of World::Tokens::by_name. "municipality" is the resident's own (千代田区);
// "other-municipality" (中央区) stands for every municipality that does not hold the resident.
const std::vector<std::string> kRoles = {"municipality", "other-municipality", "agency", "card-centre", "call-centre",
                                         "verifier", "unregistered-verifier", "operator", "issuance-centre"};

// One route of `jlis serve` (the routes of registry/routes.cpp, card/routes.cpp, pki/routes.cpp,
// municipal/routes.cpp), aimed at the world's resident (or at family register 1, which the world
// does not have): {R} resident code, {M} My Number, {C} card, {A} application, {S} signature
// certificate serial, {U} user-authentication certificate serial, {Q} a well-formed certification
// request (a JSON string), {P} the agency's purpose.
struct Route {
  std::string label, method, path, body;
  std::set<std::string> allowed;  // the roles that may reach it: THE TABLE OF ARCHITECTURE.md §3
  bool personal_data;             // answers identity information (name, address, ...)
  int reached = 200;  // what an allowed role's GET answers for the world's resident
};

const std::vector<Route>& routes() {
  static const std::vector<Route> r = {
      {"submit_event", "POST", "/v1/municipalities/131016/events",
       R"({"event_id":"attack-1","type":"birth","date":"2020-01-01","person":{"name":"攻撃　太郎","name_kana":"コウゲキ　タロウ","date_of_birth":"2020-01-01","sex":"male","address":"東京都千代田区丸の内一丁目1番1号"}})",
       {"municipality"}, false},
      {"read_resident", "GET", "/v1/residents/{R}?purpose={P}", "", {"municipality", "agency"}, true},
      {"read_by_my_number", "GET", "/v1/residents?my_number={M}&purpose={P}", "", {"municipality", "agency"}, true},
      {"search", "POST", "/v1/residents/search?purpose={P}", R"({"name":"髙橋　花子"})", {"agency"}, true},
      {"history", "GET", "/v1/residents/{R}/history?purpose={P}", "", {"municipality", "agency"}, true},
      {"provisions", "GET", "/v1/residents/{R}/provisions", "", {"municipality"}, true},
      {"certificates_of", "GET", "/v1/residents/{R}/certificates?purpose={P}", "", {"municipality", "agency"}, true},
      {"apply", "POST", "/v1/cards/applications", R"({"resident_code":"{R}","channel":"post","photo":true})",
       {"municipality", "card-centre"}, false},
      {"late_applications", "GET", "/v1/cards/applications?late=true", "", {"card-centre"}, false},
      {"application", "GET", "/v1/cards/applications/{A}", "", {"municipality", "card-centre"}, true},
      {"card", "GET", "/v1/cards/{C}", "", {"municipality", "card-centre", "call-centre"}, false},
      {"handover", "POST", "/v1/cards/{C}/handover", R"({"identity_checked":true})", {"municipality"}, false},
      {"suspend", "POST", "/v1/cards/{C}/suspend", "{}", {"call-centre"}, false},
      {"resume", "POST", "/v1/cards/{C}/resume", "{}", {"call-centre"}, false},
      {"report_lost", "POST", "/v1/cards/{C}/report-lost", R"({"reason":"lost"})", {"call-centre"}, false},
      {"return", "POST", "/v1/cards/{C}/return", "{}", {"municipality"}, false},
      {"certificate", "GET", "/v1/pki/certificates/{S}", "", {"municipality", "verifier"}, true},
      {"revoke_certificate", "POST", "/v1/pki/certificates/{S}/revoke", "{}", {"municipality", "call-centre"}, false},
      {"linkage", "GET", "/v1/pki/linkage/{S}", "", {"municipality", "verifier"}, false},
      {"renew", "POST", "/v1/cards/{C}/certificates", R"({"challenge_id":"ic-0","requests":{"signature":{Q}}})", {"municipality"}, false},
      {"smartphone", "POST", "/v1/cards/{C}/smartphone-certificates", R"({"challenge_id":"ic-0","requests":{"signature":{Q}}})", {"municipality"},
       false},
      {"consent_challenge", "POST", "/v1/pki/consent/challenges", "{}", {"verifier"}, false},
      {"consent_basic_four", "POST", "/v1/pki/consent/basic-four",
       R"({"challenge_id":"ch-00000000000000000000000000000000","serial":"{S}","signature":"AAAA"})", {"verifier"},
       true},
      {"kiosk_document", "POST", "/v1/issuance/131016/documents",
       R"({"certificate_serial":"{U}","session":"ks-attack","type":"juminhyo"})", {"issuance-centre"}, true},
      {"kiosk_offer", "GET", "/v1/issuance/131016/offer", "", {"issuance-centre"}, false},
      {"kiosk_return", "POST", "/v1/issuance/131016/sessions/ks-attack/returned", R"({})",
       {"issuance-centre"}, false},
      {"household", "GET", "/v1/municipalities/131016/households/{R}", "", {"municipality"}, true},
      {"household_event", "POST", "/v1/municipalities/131016/households/events",
       R"({"event_id":"attack-h","type":"merge","date":"2020-01-01","head":"{R}","from_head":"{R}","relationships":{}})",
       {"municipality"}, false},
      {"seals", "GET", "/v1/municipalities/131016/seals/{R}", "", {"municipality"}, true},
      {"seal_register", "POST", "/v1/municipalities/131016/seals",
       R"({"request_id":"attack-s","resident_code":"{R}","impression_png":"AAAA"})", {"municipality"}, false},
      {"seal_change", "POST", "/v1/municipalities/131016/seals/change",
       R"({"request_id":"attack-c","resident_code":"{R}","impression_png":"AAAA"})", {"municipality"}, false},
      {"seal_abolish", "POST", "/v1/municipalities/131016/seals/abolish",
       R"({"request_id":"attack-a","resident_code":"{R}","reason":"request"})", {"municipality"}, false},
      {"koseki_notice", "POST", "/v1/municipalities/131016/family-registers/events",
       R"({"event_id":"attack-k","type":"link","member":{"register_id":1,"member":1},"resident_code":"{R}","since":"2020-01-01"})",
       {"municipality"}, false},
      // The world holds no family register: the municipality reaches the route and gets the answer
      // of an unknown register (tests/e2e/municipal_routes_e2e_test.cpp reads one).
      {"koseki_register", "GET", "/v1/municipalities/131016/family-registers/1", "", {"municipality"}, true, 404},
      // The world's resident has no family register, so no 附票: an agency reaches the route and
      // gets the answer of an unknown person (tests/e2e/municipal_routes_e2e_test.cpp reads one).
      {"fuhyo", "GET", "/v1/fuhyo/{R}?purpose={P}", "", {"agency"}, true, 404},
      {"fuhyo_by_my_number", "GET", "/v1/fuhyo?my_number={M}&purpose={P}", "", {"agency"}, true, 404},
      {"fuhyo_search", "POST", "/v1/fuhyo/search?purpose={P}", R"({"name":"髙橋　花子"})", {"agency"}, true},
  };
  return r;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

class Access : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = World::create("access").release();
    if (!world_->ok()) return;
    const std::string dir = world_->dir();
    // Tokens of the allowed roles, then revoked by the id each got (the one `token list` shows
    // after its creation and not before); and a token already expired.
    auto token_ids = [&dir] {
      std::set<std::string> ids;
      std::istringstream in(jlis({"token", "list", "--data", dir}).out);
      for (std::string line; std::getline(in, line);)
        if (line.rfind("tk-", 0) == 0) ids.insert(line.substr(0, line.find(',')));
      return ids;
    };
    auto revoke_new_token = [&](const std::set<std::string>& before) {
      std::vector<std::string> added;
      for (const auto& id : token_ids())
        if (!before.count(id)) added.push_back(id);
      ASSERT_EQ(added.size(), 1u);
      ASSERT_EQ(jlis({"token", "revoke", "--data", dir, "--id", added[0]}).exit_code, 0);
    };
    auto before = token_ids();
    revoked_municipality_ = world_->token({"municipality", "token", "--data", dir, "--code", "131016"});
    revoke_new_token(before);
    before = token_ids();
    revoked_agency_ = world_->token({"agency", "add", "--data", dir, "--name", "Revoked", "--purposes", World::kPurpose});
    revoke_new_token(before);
    expired_municipality_ =
        world_->token({"municipality", "token", "--data", dir, "--code", "131016", "--expires", "1s"});
    // Wait until the 1 s token has expired (at most 15 s).
    for (int i = 0; i < 150 && world_->get("/v1/cards/" + world_->resident().card_id, expired_municipality_)
                                        .result_int() != 401; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }

  static std::string fill(const std::string& s, const std::string& purpose = World::kPurpose) {
    const Resident& r = world_->resident();
    // A well-formed certification request (pki/request.h) over a challenge nobody was given.
    const json request = pki::testing::request_pem({world_->signature_key().key.get(), nullptr, "0"});
    std::string out = replace_all(s, "{R}", r.resident_code);
    out = replace_all(out, "{M}", r.my_number);
    out = replace_all(out, "{C}", r.card_id);
    out = replace_all(out, "{A}", r.application_id);
    out = replace_all(out, "{S}", r.signature_serial);
    out = replace_all(out, "{U}", r.authentication_serial);
    out = replace_all(out, "{Q}", request.dump());
    return replace_all(out, "{P}", purpose);
  }
  static Reply send(const Route& route, const std::string& token, const std::string& purpose = World::kPurpose) {
    return world_->request(route.method == "GET" ? bhttp::verb::get : bhttp::verb::post, fill(route.path, purpose),
                           fill(route.body, purpose), token);
  }
  // One caller of a route that must be refused, and how.
  struct Caller {
    std::string who, token;
    int status;
    std::string purpose = World::kPurpose;
  };
  // Sends the route for each caller and asserts each got its `status` JSON error; then that,
  // after all of them, nothing changed and nothing was provided (one digest before and one after:
  // a refusal that wrote would show; the digest is what is slow, on PostgreSQL most).
  static void refused(const Route& route, const std::vector<Caller>& callers) {
    SCOPED_TRACE(route.method + " " + route.path);
    const std::string before = world_->table_digest();
    const int64_t provisions = world_->provision_count();
    for (const Caller& c : callers) {
      auto r = send(route, c.token, c.purpose);
      EXPECT_TRUE(is_error_json(r, c.status)) << c.who;
    }
    EXPECT_EQ(world_->table_digest(), before);
    EXPECT_EQ(world_->provision_count(), provisions);
  }

  static inline World* world_ = nullptr;
  static inline std::string revoked_municipality_, revoked_agency_, expired_municipality_;
};

// The refusal a role gets outside its row: 403, except that a municipality that does not hold the
// resident gets, on the routes municipalities reach that name the resident (by code or My Number)
// or an issuance challenge, the answer of an unknown one, 404 (no existence oracle). A route under
// another municipality's own path (/v1/municipalities/131016/...) is 403 before any resident is read.
int refusal(const Route& route, const std::string& role) {
  const bool names_resident = (route.path + route.body).find("{R}") != std::string::npos ||
                              route.path.find("{M}") != std::string::npos ||
                              route.body.find("\"requests\"") != std::string::npos;
  const bool own_path = route.path.rfind("/v1/municipalities/", 0) == 0;
  return role == "other-municipality" && names_resident && route.allowed.count("municipality") && !own_path ? 404
                                                                                                           : 403;
}

// Rule (ARCHITECTURE §3): each role reaches only the routes of its row; any other route answers
// 403 JSON, changes nothing, and provides nothing.
TEST_F(Access, EveryRoleIsRefusedEveryRouteOutsideItsRow) {
  const auto tokens = world_->tokens().by_name();
  size_t cells = 0;
  for (const auto& route : routes()) {
    std::vector<Caller> outside;
    for (const auto& role : kRoles)
      if (!route.allowed.count(role)) outside.push_back({role, tokens.at(role), refusal(route, role)});
    refused(route, outside);
    cells += outside.size();
  }
  EXPECT_EQ(cells, 37u * 9 - 48);  // every cell of the table outside the allowed ones
}

// Rule: the table is not vacuous: each allowed role does reach each reading route (2xx, or a
// refusal that is not about who it is).
TEST_F(Access, AllowedRolesReachTheReadingRoutes) {
  const auto tokens = world_->tokens().by_name();
  for (const auto& route : routes()) {
    if (route.method != "GET") continue;
    for (const auto& role : route.allowed) {
      auto r = send(route, tokens.at(role));
      EXPECT_EQ(r.result_int(), route.reached) << role << " " << route.path << ": " << r.body();
    }
  }
}

// Rule: every route but the public ones (CA certificates, CRLs, OCSP) refuses a caller without a
// token, with a revoked token and with an expired one: 401 JSON, nothing changed, nothing provided.
TEST_F(Access, MissingRevokedAndExpiredTokensAreRefusedEverywhere) {
  for (const auto& route : routes())
    refused(route, {{"no token", "", 401},
                    {"revoked municipality", revoked_municipality_, 401},
                    {"revoked agency", revoked_agency_, 401},
                    {"expired municipality", expired_municipality_, 401},
                    {"unknown token", "jlis_" + std::string(64, '0'), 401}});
}

// Rule: an agency reads personal data only for a purpose it names and was granted: without one,
// or with another, 403 JSON, nothing changed, no provision.
TEST_F(Access, AgencyWithoutAGrantedPurposeIsRefusedEveryPersonalDataRoute) {
  int checked = 0;
  for (const auto& route : routes()) {
    if (!route.personal_data || !route.allowed.count("agency")) continue;
    refused(route, {{"agency without purpose", world_->tokens().agency, 403, ""},
                    {"agency with another purpose", world_->tokens().agency, 403, "tax"}});
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

// Rule: another municipality reaches none of the personal-data routes of a resident it does not
// hold (403 JSON, or 404 where the route names the resident: nothing changed, no provision).
TEST_F(Access, AnotherMunicipalityReachesNoPersonalData) {
  int checked = 0;
  for (const auto& route : routes()) {
    if (!route.personal_data) continue;
    refused(route, {{"other municipality", world_->tokens().chuo, refusal(route, "other-municipality")}});
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

// Rule: the public routes stay public: CA certificates and CRLs need no token.
TEST_F(Access, PublicRoutesNeedNoToken) {
  EXPECT_EQ(world_->get("/v1/pki/ca", "").result_int(), 200);
  EXPECT_EQ(world_->get("/crl/signature.crl", "").result_int(), 200);
  EXPECT_EQ(world_->get("/crl/authentication.crl", "").result_int(), 200);
  EXPECT_EQ(world_->get("/crl/signature-delta.crl", "").result_int(), 200);
  EXPECT_EQ(world_->get("/crl/authentication-delta.crl", "").result_int(), 200);
}

// Attack: the CRL route takes a file name; names other than <kind>.crl and <kind>-delta.crl,
// including paths out of the CRL folder and the folder's own files, are 404 JSON and change nothing.
TEST_F(Access, CrlFileNamesOutsideTheFourAreNotFound) {
  const std::string before = world_->table_digest();
  for (const char* name :
       {"-delta.crl", "delta.crl", "signature-delta-delta.crl", "signature-delta", "SIGNATURE-delta.crl",
        "signature-Delta.crl", "signature-delta.crl.tmp", ".lock", "..%2fsignature-delta.crl",
        "..%2f..%2fpki%2fca.json", "signature%00-delta.crl", "signature-delta.crl%00", "%2e%2e",
        "signature-delta.crl.crl", "authentication-delta.crlx"}) {
    auto r = world_->get(std::string("/crl/") + name, "");
    EXPECT_TRUE(is_error_json(r, 404)) << name;
  }
  EXPECT_EQ(world_->table_digest(), before);
}

}  // namespace
}  // namespace jlis::security
