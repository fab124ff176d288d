// Every check that guards an issuance runs inside the issuing transaction, on the writer's
// connection (issue 18, defect 4). Each test interleaves two operations deterministically: the
// writer is held busy, the first operation is queued, the second reads and queues behind it, and
// both then run in one group commit. The old code read through a pooled connection (before the
// first was committed) and certified stale data.
#include <gtest/gtest.h>

#include "ca_fixture.h"
#include "requests.h"

namespace jlis::pki::testing {
namespace {

using card::CardKeys;

std::string resident_code_of(const registry::Resident& r) { return r.resident_code.str(); }

// A name change queued just before a handover in the same group commit: the new signature
// certificate carries the new name (the listener reads the register on the writer's connection).
TEST_F(CaTest, HandoverInTheSameGroupCommitAsANameChangeCertifiesTheNewName) {
  const registry::Resident r = born("race-1", "1980-01-01");
  const std::string card_id = shipped(r);
  auto rename = event("race-1-name", registry::EventType::name_change, today_.add_days(-1).to_iso().c_str(),
                      r.resident_code);
  rename.name = "佐藤　花子";
  rename.name_kana = "サトウ　ハナコ";
  CardKeys keys{new_key_pem(), new_key_pem()};

  hold_writer();
  Status renamed, handed;
  std::thread a([&] { renamed = change(card::testing::kChiyoda, rename); });
  wait_queued(1);
  std::thread b([&] { handed = cards_->handover(municipality(), card_id, true, keys).status(); });
  wait_queued(2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(renamed.is_ok()) << renamed.to_string();
  ASSERT_TRUE(handed.is_ok()) << handed.to_string();

  auto list = ca_->certificates_of(municipality(), r.resident_code, "", "test").value();
  ASSERT_EQ(list.size(), 2u);
  int signatures = 0;
  for (const auto& c : list) {
    if (c.kind != CertificateKind::signature) continue;
    ++signatures;
    EXPECT_NE(c.der.find("佐藤　花子"), std::string::npos) << "the certificate lacks the new name";
    EXPECT_EQ(c.der.find("山田　花子"), std::string::npos) << "the certificate carries the old name";
    EXPECT_EQ(c.status(now_), "good");
  }
  EXPECT_EQ(signatures, 1);
  (void)resident_code_of;
}

// A loss reported just before a renewal's job: the renewal is refused and the lost card has no
// good certificate.
TEST_F(CaTest, RenewalQueuedBehindALossIsRefused) {
  const registry::Resident r = born("race-2", "1980-01-01");
  const std::string card_id = shipped(r);
  ASSERT_TRUE(cards_->handover(municipality(), card_id, true, CardKeys{new_key_pem(), new_key_pem()}).ok());
  ASSERT_EQ(good_certificates_of_card(card_id), 2);

  Status lost;
  Result<std::vector<CertificateRecord>> renewed = internal_error("not run");
  auto challenge = ca_->new_issuance_challenge(municipality(), card_id).value();
  EvpPkeyPtr fresh = generate_rsa(2048).value();
  CertificateAuthority::CertificateRequests requests;
  requests.challenge_id = challenge.challenge_id;
  requests.signature = request_pem({fresh.get(), nullptr, challenge.challenge});
  hold_writer();
  std::thread a([&] { lost = cards_->report_lost(call_centre(), card_id, card::LossReason::lost).status(); });
  wait_queued(1);
  std::thread b([&] { renewed = ca_->renew(municipality(), card_id, requests); });
  wait_queued(2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(lost.is_ok()) << lost.to_string();
  ASSERT_FALSE(renewed.ok()) << "a lost card got a fresh certificate";
  EXPECT_EQ(renewed.status().code(), Code::conflict) << renewed.status().to_string();
  EXPECT_EQ(good_certificates_of_card(card_id), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE card_id = '" + card_id + "'"), 2);
}

// A death registered just before a smartphone issuance's job: refused, nothing issued. (Here the
// holder's authorisation, checked in the job against the card's good certificates, also refuses:
// the death revoked them.)
TEST_F(CaTest, SmartphoneIssuanceQueuedBehindADeathIsRefused) {
  const registry::Resident r = born("race-3", "1980-01-01");
  const std::string card_id = shipped(r);
  EvpPkeyPtr card_auth;
  ASSERT_TRUE(cards_->handover(municipality(), card_id, true, CardKeys{new_key_pem(), new_key_pem(&card_auth)}).ok());
  auto challenge = ca_->new_issuance_challenge(municipality(), card_id).value();
  EvpPkeyPtr phone_key = generate_rsa(2048).value();
  CertificateAuthority::CertificateRequests requests;
  requests.challenge_id = challenge.challenge_id;
  requests.authentication = request_pem({phone_key.get(), nullptr, challenge.challenge});
  requests.authorisation = sign_bytes(
      card_auth.get(), CertificateAuthority::authorisation_message(
                           challenge.challenge, "", request_der({phone_key.get(), nullptr, challenge.challenge})));

  hold_writer();
  Status died;
  Result<std::vector<CertificateRecord>> phone = internal_error("not run");
  std::thread a([&] {
    died = change(card::testing::kChiyoda,
                  event("race-3-death", registry::EventType::death, today_.add_days(-1).to_iso().c_str(), r.resident_code));
  });
  wait_queued(1);
  std::thread b([&] { phone = ca_->issue_smartphone(municipality(), card_id, requests); });
  wait_queued(2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(died.is_ok()) << died.to_string();
  ASSERT_FALSE(phone.ok()) << "a deceased holder's card authorised smartphone certificates";
  EXPECT_EQ(good_certificates_of_card(card_id), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE device = 'smartphone'"), 0);
}

// A death registered just before a renewal's job: refused, nothing issued (the card is invalidated
// and its certificates revoked in the death's transaction; the renewal must see both).
TEST_F(CaTest, RenewalQueuedBehindADeathIsRefused) {
  const registry::Resident r = born("race-4", "1980-01-01");
  const std::string card_id = shipped(r);
  ASSERT_TRUE(cards_->handover(municipality(), card_id, true, CardKeys{new_key_pem(), new_key_pem()}).ok());
  auto challenge = ca_->new_issuance_challenge(municipality(), card_id).value();
  EvpPkeyPtr fresh = generate_rsa(2048).value();
  CertificateAuthority::CertificateRequests requests;
  requests.challenge_id = challenge.challenge_id;
  requests.authentication = request_pem({fresh.get(), nullptr, challenge.challenge});

  Status died;
  Result<std::vector<CertificateRecord>> renewed = internal_error("not run");
  hold_writer();
  std::thread a([&] {
    died = change(card::testing::kChiyoda,
                  event("race-4-death", registry::EventType::death, today_.add_days(-1).to_iso().c_str(), r.resident_code));
  });
  wait_queued(1);
  std::thread b([&] { renewed = ca_->renew(municipality(), card_id, requests); });
  wait_queued(2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(died.is_ok()) << died.to_string();
  ASSERT_FALSE(renewed.ok()) << "a deceased holder got a fresh certificate";
  EXPECT_EQ(renewed.status().code(), Code::conflict) << renewed.status().to_string();
  EXPECT_EQ(good_certificates_of_card(card_id), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE card_id = '" + card_id + "'"), 2);
}

// A move-out queued just before a handover: the handover, judged in its own transaction on the
// writer's connection, sees the resident moving and is refused; the card stays shipped and
// nothing is certified. (The old handover read the holder through a pooled connection before
// queuing, saw a resident, and handed the card over.)
TEST_F(CaTest, HandoverQueuedBehindAMoveOutIsRefused) {
  const registry::Resident r = born("race-5", "1980-01-01");
  const std::string card_id = shipped(r);
  auto out = event("race-5-out", registry::EventType::move_out, today_.add_days(-1).to_iso().c_str(), r.resident_code);
  out.to = card::testing::kChuo;

  Status moved;
  Result<card::Card> handed = internal_error("not run");
  hold_writer();
  std::thread a([&] { moved = change(card::testing::kChiyoda, out); });
  wait_queued(1);
  std::thread b([&] { handed = cards_->handover(municipality(), card_id, true, CardKeys{new_key_pem(), new_key_pem()}); });
  wait_queued(2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(moved.is_ok()) << moved.to_string();
  ASSERT_FALSE(handed.ok()) << "a card was handed over to a resident moving away";
  EXPECT_EQ(handed.status().code(), Code::conflict) << handed.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards WHERE card_id = '" + card_id + "' AND status = 'shipped'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE card_id = '" + card_id + "'"), 0);
}

}  // namespace
}  // namespace jlis::pki::testing
