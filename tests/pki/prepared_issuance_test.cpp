// Certificates are signed outside the single writer (issue 13: on the caller's thread, before the
// writer job is queued), but every check that guards the write still runs in the writing
// transaction: a certificate signed before a suspension, a death or a change that commits ahead of
// its job is refused (or, when only its contents changed, signed again) and the signed one never
// leaves the CA. Each race test holds the writer, queues the change, then the issuance that was
// signed before it, and releases both into one group commit.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "ca_fixture.h"
#include "requests.h"

namespace jlis::pki::testing {
namespace {

using card::CardKeys;

// The count of a jlis_pki_operations_total line of the CA's metrics.
uint64_t operations(const CertificateAuthority& ca, const std::string& operation) {
  const std::string metrics = ca.metrics();
  const std::string prefix = "jlis_pki_operations_total{operation=\"" + operation + "\"} ";
  const size_t at = metrics.find(prefix);
  if (at == std::string::npos) return 0;
  return std::stoull(metrics.substr(at + prefix.size()));
}

// A renewal signs its certificate before its job is queued; a suspension queued just ahead of that
// job commits first. The renewal is refused in its transaction (the card is not usable), nothing
// is stored, and no certificate is answered. Without the card check inside the job, the card
// would get a good certificate while suspended.
TEST_F(CaTest, RenewalSignedBeforeASuspensionCommittedAheadOfItIsRefusedAndNothingIsStored) {
  const registry::Resident r = born("prep-1", "1980-01-01");
  const std::string card_id = shipped(r);
  ASSERT_TRUE(cards_->handover(municipality(), card_id, true, CardKeys{new_key_pem(), new_key_pem()}).ok());
  auto challenge = ca_->new_issuance_challenge(municipality(), card_id).value();
  EvpPkeyPtr fresh = generate_rsa(2048).value();
  CertificateAuthority::CertificateRequests requests;
  requests.challenge_id = challenge.challenge_id;
  requests.signature = request_pem({fresh.get(), nullptr, challenge.challenge});
  const uint64_t prepared_before = operations(*ca_, "issuance_prepared");

  Status suspended;
  Result<std::vector<CertificateRecord>> renewed = internal_error("not run");
  hold_writer();
  std::thread a([&] { suspended = cards_->suspend(call_centre(), card_id).status(); });
  wait_queued(1);
  std::thread b([&] { renewed = ca_->renew(municipality(), card_id, requests); });
  wait_queued(2);
  // The renewal's certificate was signed before its job was queued (the card read active then).
  EXPECT_EQ(operations(*ca_, "issuance_prepared"), prepared_before + 1);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(suspended.is_ok()) << suspended.to_string();
  ASSERT_FALSE(renewed.ok()) << "a suspended card got a certificate signed before its suspension";
  EXPECT_EQ(renewed.status().code(), Code::conflict) << renewed.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE card_id = '" + card_id + "'"), 2);
  EXPECT_EQ(good_certificates_of_card(card_id), 0);  // both on hold
  // The challenge was not spent by the refused renewal.
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_issuance_challenges WHERE used = 1"), 0);
}

// A signature certificate prepared (signed) for a living holder whose death commits ahead of its
// job: issue() itself refuses it in the transaction and stores nothing.
TEST_F(CaTest, APreparedSignatureCertificateOfAHolderWhoDiedBeforeItsJobIsRefused) {
  const registry::Resident r = born("prep-2", "1980-01-01");
  const int64_t not_after = now() + 365 * 86400;
  auto prepared = ca_->prepare(CertificateKind::signature, Device::card, r, new_key_pem(), now() - 60, not_after);
  ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();

  Status died;
  Result<CertificateRecord> issued = internal_error("not run");
  hold_writer();
  std::thread a([&] {
    died = change(card::testing::kChiyoda,
                  event("prep-2-death", registry::EventType::death, today_.add_days(-1).to_iso().c_str(), r.resident_code));
  });
  wait_queued(1);
  std::thread b([&] {
    issued = store::run_for<CertificateRecord>(*writer_, [&](store::Connection& conn) -> Result<CertificateRecord> {
      JLIS_ASSIGN_OR_RETURN(auto holder, registry_->get(conn, r.resident_code));
      return ca_->issue(conn, *prepared, holder, "0000000000000000", now() - 60, not_after);
    });
  });
  wait_queued(2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(died.is_ok()) << died.to_string();
  ASSERT_FALSE(issued.ok()) << "a deceased holder's signature certificate was stored";
  EXPECT_EQ(issued.status().code(), Code::conflict) << issued.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates"), 0);
}

// A handover signs before it is queued, from the register as it reads it then; a name change
// queued ahead of it commits first. The transaction sees the new name, discards the prepared
// certificate and signs again: the certificate answered and stored carries the new name.
TEST_F(CaTest, AHandoverSignedBeforeANameChangeCommittedAheadOfItIsSignedAgainWithTheNewName) {
  const registry::Resident r = born("prep-3", "1980-01-01");
  const std::string card_id = shipped(r);
  auto rename = event("prep-3-name", registry::EventType::name_change, today_.add_days(-1).to_iso().c_str(),
                      r.resident_code);
  rename.name = "佐藤　花子";
  rename.name_kana = "サトウ　ハナコ";
  CardKeys keys{new_key_pem(), new_key_pem()};
  const uint64_t prepared_before = operations(*ca_, "issuance_prepared");
  const uint64_t resigned_before = operations(*ca_, "issuance_resigned");

  hold_writer();
  Status renamed, handed;
  std::thread a([&] { renamed = change(card::testing::kChiyoda, rename); });
  wait_queued(1);
  std::thread b([&] { handed = cards_->handover(municipality(), card_id, true, keys).status(); });
  wait_queued(2);
  EXPECT_EQ(operations(*ca_, "issuance_prepared"), prepared_before + 2);
  release();
  a.join();
  b.join();
  ASSERT_TRUE(renamed.is_ok()) << renamed.to_string();
  ASSERT_TRUE(handed.is_ok()) << handed.to_string();
  // Only the signature certificate carries the name; the authentication one stands as signed.
  EXPECT_EQ(operations(*ca_, "issuance_resigned"), resigned_before + 1);
  auto list = ca_->certificates_of(municipality(), r.resident_code, "", "test").value();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& c : list) {
    if (c.kind != CertificateKind::signature) continue;
    EXPECT_NE(c.der.find("佐藤　花子"), std::string::npos) << "the certificate lacks the new name";
    EXPECT_EQ(c.der.find("山田　花子"), std::string::npos) << "the certificate carries the old name";
  }
}

// Issuance from many threads at once: handovers of distinct cards all succeed, every certificate
// has its own serial and verifies with its CA's key.
TEST_F(CaTest, ConcurrentHandoversOfDistinctCardsAllIssueDistinctCertificatesThatVerify) {
  constexpr int kThreads = 8;
  std::vector<registry::Resident> residents;
  std::vector<std::string> cards;
  std::vector<CardKeys> keys;
  for (int i = 0; i < kThreads; ++i) {
    residents.push_back(born("conc-" + std::to_string(i), "1980-01-01"));
    cards.push_back(shipped(residents.back()));
    keys.push_back(CardKeys{new_key_pem(), new_key_pem()});
  }
  const uint64_t prepared_before = operations(*ca_, "issuance_prepared");
  std::vector<Status> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] { outcomes[i] = cards_->handover(municipality(), cards[i], true, keys[i]).status(); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) ASSERT_TRUE(outcomes[i].is_ok()) << i << ": " << outcomes[i].to_string();
  EXPECT_EQ(operations(*ca_, "issuance_prepared"), prepared_before + 2 * kThreads);

  std::map<std::string, X509Ptr> authorities;
  for (const auto& p : ca_->published()) authorities[p.kind] = x509_from_pem(p.pem).value();
  std::set<std::string> serials;
  for (const auto& r : residents) {
    auto list = ca_->certificates_of(municipality(), r.resident_code, "", "test").value();
    ASSERT_EQ(list.size(), 2u);
    for (const auto& c : list) {
      serials.insert(c.serial);
      auto cert = x509_from_der(c.der).value();
      const X509* ca = authorities[std::string(kind_name(c.kind)) + "-ca"].get();
      EvpPkeyPtr ca_key(X509_get_pubkey(const_cast<X509*>(ca)));
      EXPECT_EQ(X509_verify(cert.get(), ca_key.get()), 1) << c.serial << " does not verify with its CA";
      EXPECT_EQ(X509_check_issued(const_cast<X509*>(ca), cert.get()), X509_V_OK);
      EXPECT_EQ(c.status(now()), "good");
    }
  }
  EXPECT_EQ(serials.size(), 2u * kThreads);
}

}  // namespace
}  // namespace jlis::pki::testing
