// Attacks on the issuance centre's kiosk sessions (kiosk/centre.h) through HTTP on the real
// `jlis serve`: a terminal reaches only its own sessions, a log-in needs the card's own key over
// this session's challenge and a certificate the JPKI CA issued, a document is fetched once by its
// terminal, and no credential of another kind opens anything. Each refusal is an exact 4xx JSON
// error and writes nothing (table_digest before == after).
#include <openssl/x509.h>

#include "../kiosk/kiosk_world.h"
#include "world.h"

namespace jlis::security {
namespace {

using kiosk::testing::KioskSuite;
using kiosk::testing::KioskWorld;

class KioskSessionAttacks : public KioskSuite {
 protected:
  static void SetUpTestSuite() {
    if (build("kiosk-sessions")) {
      terminal_ = kiosk_->terminal("A-0001");
      thief_ = kiosk_->terminal("A-0002");
    }
  }

  static std::string pem() {
    return kiosk_->certificate_pem(world_->resident().authentication_serial);
  }
  // The world's certificate re-signed by `key` with `key`'s public key: same serial, issuer and
  // subject, but not the CA's.
  static std::string forged_with(EVP_PKEY* key) {
    auto cert = pki::x509_from_pem(pem()).value();
    X509_set_pubkey(cert.get(), key);
    X509_sign(cert.get(), key, EVP_sha256());
    return pki::x509_pem(cert.get()).value();
  }
  static std::string sign_with(const e2e::CardKey& key, const json& session) {
    return pki::base64_encode(key.sign(pki::base64_decode(session["challenge"].get<std::string>()).value()));
  }

  static inline std::string terminal_, thief_;
};

// Attack: another terminal guesses or learns a session id: 404 at every step, nothing written,
// and the session's own terminal still completes.
TEST_F(KioskSessionAttacks, AnotherTerminalCannotTouchASession) {
  json s = kiosk_->open(terminal_);
  const std::string id = s["session_id"];
  const std::string before = world_->table_digest();
  EXPECT_TRUE(is_error_json(kiosk_->login(thief_, id, pem(), sign_with(world_->authentication_key(), s)), 404));
  EXPECT_TRUE(is_error_json(kiosk_->request(thief_, id, {{"type", "juminhyo"}}), 404));
  EXPECT_TRUE(is_error_json(kiosk_->fetch(thief_, id), 404));
  EXPECT_TRUE(is_error_json(kiosk_->printed(thief_, id), 404));
  EXPECT_TRUE(is_error_json(kiosk_->fetch(thief_, "ks-00000000000000000000000000000000"), 404));
  EXPECT_EQ(world_->table_digest(), before);
  EXPECT_EQ(kiosk_->login(terminal_, id, pem(), sign_with(world_->authentication_key(), s)).result_int(), 200);
}

// Attack: a signature captured from another session (replay), or made by another key over the
// right challenge, does not log in; nothing written.
TEST_F(KioskSessionAttacks, AReplayedOrForeignSignatureDoesNotLogIn) {
  json old = kiosk_->open(terminal_);
  const std::string captured = sign_with(world_->authentication_key(), old);
  json s = kiosk_->open(terminal_);
  const std::string before = world_->table_digest();
  auto replay = kiosk_->login(terminal_, s["session_id"], pem(), captured);
  EXPECT_TRUE(is_error_json(replay, 403));
  EXPECT_EQ(KioskWorld::refusal(replay), "signature_invalid");
  auto foreign = kiosk_->login(terminal_, s["session_id"], pem(), sign_with(e2e::CardKey::make(), s));
  EXPECT_EQ(KioskWorld::refusal(foreign), "signature_invalid");
  EXPECT_EQ(world_->table_digest(), before);
}

// Attack: a certificate that copies the holder's (serial, names) around the attacker's own key:
// the chain to the JPKI CA fails; a self-made certificate is not the register's either.
TEST_F(KioskSessionAttacks, AForgedCertificateWithTheHoldersSerialDoesNotLogIn) {
  e2e::CardKey attacker = e2e::CardKey::make();
  json s = kiosk_->open(terminal_);
  const std::string before = world_->table_digest();
  auto r = kiosk_->login(terminal_, s["session_id"], forged_with(attacker.key.get()), sign_with(attacker, s));
  EXPECT_TRUE(is_error_json(r, 403));
  EXPECT_EQ(KioskWorld::refusal(r), "untrusted_certificate") << r.body();
  EXPECT_EQ(world_->table_digest(), before);
}

// Attack: tokens of another kind on the kiosk routes (the issuance centre's own, a municipality's)
// and a terminal's credential on the municipal issuance route: 401 each.
TEST_F(KioskSessionAttacks, NoOtherCredentialOpensASessionAndATerminalCannotAskAMunicipality) {
  const std::string before = world_->table_digest();
  for (const auto& [name, token] : world_->tokens().by_name())
    EXPECT_TRUE(is_error_json(kiosk_->call(bhttp::verb::post, "/v1/kiosk/sessions", token), 401)) << name;
  auto direct = world_->post("/v1/issuance/131016/documents",
                             json{{"type", "juminhyo"}, {"session", "ks-x"},
                                  {"certificate_serial", world_->resident().authentication_serial}}
                                 .dump(),
                             terminal_);
  EXPECT_TRUE(is_error_json(direct, 401));
  EXPECT_EQ(world_->table_digest(), before);
}

// Attack: out-of-order steps: a document before the log-in, a fetch before the document: 409,
// nothing written.
TEST_F(KioskSessionAttacks, StepsOutOfOrderAreConflicts) {
  json s = kiosk_->open(terminal_);
  const std::string id = s["session_id"];
  const std::string before = world_->table_digest();
  EXPECT_TRUE(is_error_json(kiosk_->request(terminal_, id, {{"type", "juminhyo"}}), 409));
  EXPECT_TRUE(is_error_json(kiosk_->fetch(terminal_, id), 409));
  EXPECT_EQ(world_->table_digest(), before);
}

// Rule: a document leaves once; a terminal that asks again, at once or after printing, gets none.
TEST_F(KioskSessionAttacks, ADocumentLeavesOnceEvenUnderAStormOfFetches) {
  kiosk::VirtualCard card = kiosk_->world_card();
  const std::string id = kiosk_->logged_in(terminal_, card);
  ASSERT_EQ(kiosk_->request(terminal_, id, {{"type", "juminhyo"}}).result_int(), 201);
  std::vector<int> statuses(8, 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < statuses.size(); ++i)
    threads.emplace_back([&, i] { statuses[i] = kiosk_->fetch(terminal_, id).result_int(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 7);
  ASSERT_EQ(kiosk_->printed(terminal_, id).result_int(), 200);
  EXPECT_TRUE(is_error_json(kiosk_->fetch(terminal_, id), 410));
}

// Rule: the relay never waits on a worker of its own server: with a single worker the centre
// still relays to the municipal component of the same process. (Last: it restarts the server.)
TEST_F(KioskSessionAttacks, ZZOneWorkerThreadStillRelaysToItsOwnServer) {
  world_->start({"--threads", "1"});
  kiosk::VirtualCard card = kiosk_->world_card();
  const std::string id = kiosk_->logged_in(terminal_, card);
  auto r = kiosk_->request(terminal_, id, {{"type", "juminhyo"}});
  EXPECT_EQ(r.result_int(), 201) << r.body();
  EXPECT_EQ(kiosk_->fetch(terminal_, id).result_int(), 200);
  world_->start();
}

}  // namespace
}  // namespace jlis::security
