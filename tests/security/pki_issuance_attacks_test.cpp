// Attacks on certificate issuance and on the consent flow, through `jlis serve` (issue 18): each
// answers 4xx JSON, changes no row of any table, and (where data would have left) records no
// provision.
#include <gtest/gtest.h>

#include "../pki/requests.h"
#include "../pki/weak_keys.h"
#include "pki/ca.h"
#include "world.h"

namespace jlis::security {
namespace {

class PkiIssuanceAttacks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = World::create("pki-issuance").release();
    ASSERT_TRUE(world_->ok());
    // A second resident's card, produced and shipped, not handed over: the target of handovers.
    const Tokens& t = world_->tokens();
    json e = {{"event_id", "attack-2"}, {"type", "birth"}, {"date", "1990-01-01"},
              {"person", {{"name", "青木　蓮"}, {"name_kana", "アオキ　レン"}, {"date_of_birth", "1990-01-01"},
                          {"sex", "male"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto r = world_->post("/v1/municipalities/131016/events", e.dump(), t.chiyoda);
    ASSERT_EQ(r.result_int(), 201) << r.body();
    const std::string code = json::parse(r.body())["resident_code"];
    auto applied = world_->post("/v1/cards/applications",
                                json{{"resident_code", code}, {"channel", "window"}, {"photo", true}}.dump(), t.chiyoda);
    ASSERT_EQ(applied.result_int(), 201);
    ASSERT_EQ(world_->cli({"cards", "produce", "--data", world_->dir()}).exit_code, 0);
    auto a = world_->get("/v1/cards/applications/" + std::to_string(json::parse(applied.body())["application_id"].get<int64_t>()),
                         t.chiyoda);
    shipped_card_ = json::parse(a.body())["card_id"];
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok() && !shipped_card_.empty()) << "the world was not built"; }

  static Reply handover(const std::string& sig_pem, const std::string& auth_pem) {
    return world_->post("/v1/cards/" + shipped_card_ + "/handover",
                        json{{"identity_checked", true},
                             {"public_keys", {{"signature", sig_pem}, {"authentication", auth_pem}}}}
                            .dump(),
                        world_->tokens().chiyoda);
  }
  static json challenge() {
    auto r = world_->post("/v1/cards/" + world_->resident().card_id + "/certificate-challenges", "",
                          world_->tokens().chiyoda);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return json::parse(r.body());
  }
  static std::string fresh_pem() { return pki::public_key_pem(pki::generate_rsa(2048)->get()).value(); }

  // Runs `attack` and checks the refusal: `status`, JSON, nothing changed, nothing provided.
  template <class F>
  static void refused(int status, F&& attack) {
    const std::string before = world_->table_digest();
    const int64_t provisions = world_->provision_count();
    Reply r = attack();
    EXPECT_TRUE(is_error_json(r, status));
    EXPECT_EQ(world_->table_digest(), before) << r.body();
    EXPECT_EQ(world_->provision_count(), provisions);
  }

  static inline World* world_ = nullptr;
  static inline std::string shipped_card_;
};

TEST_F(PkiIssuanceAttacks, HandoverWithAKeyCertifiedForAnotherCard) {
  refused(400, [] { return handover(world_->signature_key().public_pem, fresh_pem()); });
  refused(400, [] { return handover(fresh_pem(), world_->authentication_key().public_pem); });
}

TEST_F(PkiIssuanceAttacks, HandoverWithOneKeyForBothCertificates) {
  const std::string key = fresh_pem();
  refused(400, [&] { return handover(key, key); });
}

TEST_F(PkiIssuanceAttacks, HandoverWithAWeakKeyOfEachRule) {
  for (const auto& [rule, pem] : pki::testing::weak_keys()) {
    SCOPED_TRACE(rule);
    refused(400, [&] { return handover(fresh_pem(), pem); });
    refused(400, [&] { return handover(pem, fresh_pem()); });
  }
}

TEST_F(PkiIssuanceAttacks, RenewalWithPublicKeysAloneOrWithoutPossession) {
  const std::string card = world_->resident().card_id;
  refused(400, [&] {
    return world_->post("/v1/cards/" + card + "/certificates", json{{"public_keys", {{"signature", fresh_pem()}}}}.dump(),
                        world_->tokens().chiyoda);
  });
  const json c = challenge();
  auto fresh = pki::generate_rsa(2048).value(), other = pki::generate_rsa(2048).value();
  // Signed by another key than the one it asks to certify.
  refused(400, [&] {
    json b = {{"challenge_id", c["challenge_id"]},
              {"requests", {{"signature", pki::testing::request_pem({fresh.get(), other.get(), c["challenge"].get<std::string>()})}}}};
    return world_->post("/v1/cards/" + card + "/certificates", b.dump(), world_->tokens().chiyoda);
  });
  // Without the challenge.
  refused(400, [&] {
    json b = {{"challenge_id", c["challenge_id"]}, {"requests", {{"signature", pki::testing::request_pem({fresh.get(), nullptr, ""})}}}};
    return world_->post("/v1/cards/" + card + "/certificates", b.dump(), world_->tokens().chiyoda);
  });
  // A key certified for the card already (its own current signature key), properly requested.
  refused(400, [&] {
    json b = {{"challenge_id", c["challenge_id"]},
              {"requests", {{"signature", pki::testing::request_pem({world_->signature_key().key.get(), nullptr,
                                                                     c["challenge"].get<std::string>()})}}}};
    return world_->post("/v1/cards/" + card + "/certificates", b.dump(), world_->tokens().chiyoda);
  });
  // Another municipality with the challenge.
  refused(404, [&] {
    json b = {{"challenge_id", c["challenge_id"]},
              {"requests", {{"signature", pki::testing::request_pem({fresh.get(), nullptr, c["challenge"].get<std::string>()})}}}};
    return world_->post("/v1/cards/" + card + "/certificates", b.dump(), world_->tokens().chuo);
  });
}

TEST_F(PkiIssuanceAttacks, SmartphoneRequestNotAuthorisedByTheHolder) {
  const std::string card = world_->resident().card_id;
  const json c = challenge();
  const std::string ch = c["challenge"];
  auto phone = pki::generate_rsa(2048).value(), stranger = pki::generate_rsa(2048).value();
  const pki::testing::RequestSpec spec{phone.get(), nullptr, ch};
  const std::string message = pki::CertificateAuthority::authorisation_message(ch, "", pki::testing::request_der(spec));
  for (const std::string& authorisation :
       {std::string(), pki::base64_encode(pki::testing::sign_bytes(stranger.get(), message)),
        pki::base64_encode(world_->authentication_key().sign(message + "other"))}) {
    refused(403, [&] {
      json b = {{"challenge_id", c["challenge_id"]}, {"requests", {{"authentication", pki::testing::request_pem(spec)}}}};
      if (!authorisation.empty()) b["authorisation"] = authorisation;
      return world_->post("/v1/cards/" + card + "/smartphone-certificates", b.dump(), world_->tokens().chiyoda);
    });
  }
}

TEST_F(PkiIssuanceAttacks, ConsentWithAReplayedChallengeOrAnotherHoldersSignature) {
  const Tokens& t = world_->tokens();
  const std::string serial = world_->resident().signature_serial;
  auto ch = world_->post("/v1/pki/consent/challenges", "", t.verifier);
  ASSERT_EQ(ch.result_int(), 201);
  const json c = json::parse(ch.body());
  const std::string bytes = pki::base64_decode(c["challenge"].get<std::string>()).value();
  // Another holder's signature (a key that is not the certificate's).
  auto stranger = pki::generate_rsa(2048).value();
  // (The challenge is spent by any attempt, by design: consent_provision; the digest moves with it,
  // so the attempt is made first and the refusals measured after.)
  json forged = {{"challenge_id", c["challenge_id"]}, {"serial", serial},
                 {"signature", pki::base64_encode(pki::testing::sign_bytes(stranger.get(), bytes))}};
  const int64_t provisions = world_->provision_count();
  auto r = world_->post("/v1/pki/consent/basic-four", forged.dump(), t.verifier);
  EXPECT_TRUE(is_error_json(r, 403));
  EXPECT_EQ(world_->provision_count(), provisions);
  // Replayed: the same challenge again, now with the holder's real signature.
  json genuine = {{"challenge_id", c["challenge_id"]}, {"serial", serial},
                  {"signature", pki::base64_encode(world_->signature_key().sign(bytes))}};
  refused(409, [&] { return world_->post("/v1/pki/consent/basic-four", genuine.dump(), t.verifier); });
}

TEST_F(PkiIssuanceAttacks, VerifierReadsNoCertificateByItsSerial) {
  const Tokens& t = world_->tokens();
  const std::string before = world_->table_digest();
  const int64_t provisions = world_->provision_count();
  auto r = world_->request(bhttp::verb::get, "/v1/pki/certificates/" + world_->resident().signature_serial, "",
                           t.verifier, {{"Accept", "application/pkix-cert"}});
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(std::string(r[bhttp::field::content_type]), "application/json");
  EXPECT_EQ(r.body().find("丸の内"), std::string::npos);
  EXPECT_EQ(json::parse(r.body()).count("der"), 0u);
  EXPECT_EQ(world_->table_digest(), before);
  EXPECT_EQ(world_->provision_count(), provisions);
}

}  // namespace
}  // namespace jlis::security
