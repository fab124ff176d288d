// The consent flow (本人同意に基づく基本4情報の提供) attacked with certificates that no longer prove
// their holder (issue 18, "Security test suite"), over HTTP against `jlis serve`: an expired
// certificate and a revoked one, each signed with the holder's real key over a fresh challenge.
// Each answers 4xx JSON, provides nothing and records no provision, and changes no row of any
// table but the one-time challenge it spends (by design: any attempt spends it).
#include "pki/ca.h"
#include "world.h"

namespace jlis::security {
namespace {

class ConsentAttacks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("consent").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }

  // The holder's genuine consent for `serial`, signed by `key`, over a fresh challenge; checks it
  // is refused with `status`, no basic four, no provision, nothing changed but the challenge.
  static void refused(int status, const std::string& serial, const CardKey& key) {
    const Tokens& t = world_->tokens();
    auto ch = world_->post("/v1/pki/consent/challenges", "", t.verifier);
    ASSERT_EQ(ch.result_int(), 201) << ch.body();
    const json c = json::parse(ch.body());
    const std::string bytes = pki::base64_decode(c["challenge"].get<std::string>()).value();
    const std::string before = world_->table_digest({"pki_challenges"});
    const int64_t provisions = world_->provision_count();
    json consent = {{"challenge_id", c["challenge_id"]}, {"serial", serial},
                    {"signature", pki::base64_encode(key.sign(bytes))}};
    auto r = world_->post("/v1/pki/consent/basic-four", consent.dump(), t.verifier);
    EXPECT_TRUE(is_error_json(r, status));
    EXPECT_EQ(r.body().find("basic_four"), std::string::npos) << r.body();
    EXPECT_EQ(r.body().find("丸の内"), std::string::npos) << r.body();
    EXPECT_EQ(world_->table_digest({"pki_challenges"}), before) << r.body();
    EXPECT_EQ(world_->provision_count(), provisions);
  }

  static inline World* world_ = nullptr;
};

// The harness is not vacuous: the same consent, with a good certificate, is given and recorded.
TEST_F(ConsentAttacks, AGoodCertificateGivesTheBasicFourOnce) {
  const CardKey sig = CardKey::make();
  Resident r = world_->resident_with_card("consent-good", "1982-03-03", sig, CardKey::make());
  auto ch = world_->post("/v1/pki/consent/challenges", "", world_->tokens().verifier);
  ASSERT_EQ(ch.result_int(), 201);
  const json c = json::parse(ch.body());
  const int64_t provisions = world_->provision_count();
  auto given = world_->post(
      "/v1/pki/consent/basic-four",
      json{{"challenge_id", c["challenge_id"]}, {"serial", r.signature_serial},
           {"signature", pki::base64_encode(sig.sign(pki::base64_decode(c["challenge"].get<std::string>()).value()))}}
          .dump(),
      world_->tokens().verifier);
  EXPECT_EQ(given.result_int(), 200) << given.body();
  EXPECT_EQ(world_->provision_count(), provisions + 1);
}

// Rule: an expired signature certificate no longer proves its holder: consent refused (409).
TEST_F(ConsentAttacks, AnExpiredCertificateGivesNoBasicFour) {
  const CardKey sig = CardKey::make();
  Resident r = world_->resident_with_card("consent-expired", "1982-04-04", sig, CardKey::make());
  world_->expire_certificate(r.signature_serial);  // its notAfter a minute ago
  refused(409, r.signature_serial, sig);
}

// Rule: a certificate revoked at the holder's request (or as compromised) gives no basic four,
// even with the holder's own signature: consent refused (409).
TEST_F(ConsentAttacks, ARevokedCertificateGivesNoBasicFour) {
  const CardKey sig = CardKey::make();
  Resident r = world_->resident_with_card("consent-revoked", "1982-05-05", sig, CardKey::make());
  auto rv = world_->post("/v1/pki/certificates/" + r.signature_serial + "/revoke", R"({"reason":"keyCompromise"})",
                         world_->tokens().chiyoda);
  ASSERT_EQ(rv.result_int(), 200) << rv.body();
  refused(409, r.signature_serial, sig);
  // The lost card's certificates likewise.
  const CardKey sig2 = CardKey::make();
  Resident lost = world_->resident_with_card("consent-lost", "1982-06-06", sig2, CardKey::make());
  ASSERT_EQ(world_->post("/v1/cards/" + lost.card_id + "/report-lost", R"({"reason":"stolen"})",
                         world_->tokens().call_centre).result_int(), 200);
  refused(409, lost.signature_serial, sig2);
}

}  // namespace
}  // namespace jlis::security
