// The basic-four provision with the holder's consent (ca.h consent_provision): every refusal the
// issue lists, one test each, through the C++ API with the CA's clock injected. A refusal gives
// nothing and records nothing; the one success records exactly one provision.
#include <gtest/gtest.h>

#include "ca_fixture.h"

namespace jlis::pki::testing {
namespace {

using card::CardKeys;

class ConsentTest : public CaTest {
 protected:
  void SetUp() override {
    CaTest::SetUp();
    holder_ = born("consent-1", "1980-01-01");
    card_ = shipped(holder_);
    ASSERT_TRUE(cards_->handover(municipality(), card_, true, CardKeys{new_key_pem(&signature_key_), new_key_pem()}).ok());
    const auto list = ca_->certificates_of(municipality(), holder_.resident_code, "", "t").value();
    for (const auto& c : list)
      (c.kind == CertificateKind::signature ? signature_serial_ : authentication_serial_) = c.serial;
    ASSERT_FALSE(signature_serial_.empty());
    ASSERT_FALSE(authentication_serial_.empty());
    bank_ = verifier("Bank", true);
  }

  auth::Principal verifier(const std::string& name, bool consent) {
    auto added = ca_->add_verifier(*directory_, name, consent).value();
    return {auth::Role::verifier, added.first.verifier_id, name, {}};
  }
  // The holder's signature over the challenge, as the card makes it.
  std::string signed_by_holder(const CertificateAuthority::Challenge& c) {
    const std::string bytes = base64_decode(c.challenge).value();
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    size_t len = 0;
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, signature_key_.get()), 1);
    EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), 1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                             reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()), 1);
    sig.resize(len);
    return base64_encode(sig);
  }
  Result<ConsentProvision> consent(const auth::Principal& by, const CertificateAuthority::Challenge& c,
                                   const std::string& serial) {
    return ca_->consent_provision(by, c.challenge_id, serial, signed_by_holder(c), "req");
  }
  size_t provisions() { return registry_->provisions(holder_.resident_code).value().size(); }
  Status holder_dies() {
    return change(card::testing::kChiyoda, event("consent-1-death", registry::EventType::death,
                                                 today_.add_days(-1).to_iso().c_str(), holder_.resident_code));
  }

  registry::Resident holder_;
  std::string card_, signature_serial_, authentication_serial_;
  EvpPkeyPtr signature_key_;
  auth::Principal bank_;
};

TEST_F(ConsentTest, TheHoldersSignatureGivesTheBasicFourOnceAndIsRecorded) {
  auto c = ca_->new_challenge(bank_).value();
  auto given = consent(bank_, c, signature_serial_);
  ASSERT_TRUE(given.ok()) << given.status().to_string();
  EXPECT_EQ(given->resident.person.name, holder_.person.name);
  ASSERT_TRUE(given->latest_certificate.has_value());
  EXPECT_EQ(given->latest_certificate->serial, signature_serial_);
  EXPECT_EQ(provisions(), 1u);
  EXPECT_EQ(consent(bank_, c, signature_serial_).status().code(), Code::conflict);  // a challenge is used once
  EXPECT_EQ(provisions(), 1u);
}

TEST_F(ConsentTest, AVerifierNotRegisteredForConsentIsRefused) {
  const auth::Principal shop = verifier("Shop", false);
  EXPECT_EQ(ca_->new_challenge(shop).status().code(), Code::permission_denied);
  auto c = ca_->new_challenge(bank_).value();
  EXPECT_EQ(consent(shop, c, signature_serial_).status().code(), Code::permission_denied);
  const auth::Principal municipal{auth::Role::municipality, "131016", "131016", {}};
  EXPECT_EQ(ca_->new_challenge(municipal).status().code(), Code::permission_denied);
  EXPECT_EQ(provisions(), 0u);
}

TEST_F(ConsentTest, AnExpiredChallengeIsRefused) {
  auto c = ca_->new_challenge(bank_).value();
  now_ = c.expires_at + 1;
  auto r = consent(bank_, c, signature_serial_);
  EXPECT_EQ(r.status().code(), Code::conflict) << r.status().to_string();
  EXPECT_NE(r.status().message().find("expired"), std::string::npos) << r.status().message();
  EXPECT_EQ(provisions(), 0u);
  // At the last second it still counts.
  auto c2 = ca_->new_challenge(bank_).value();
  now_ = c2.expires_at;
  EXPECT_TRUE(consent(bank_, c2, signature_serial_).ok());
}

TEST_F(ConsentTest, AnotherVerifiersChallengeIsRefused) {
  const auth::Principal other = verifier("Other bank", true);
  auto c = ca_->new_challenge(other).value();
  EXPECT_EQ(consent(bank_, c, signature_serial_).status().code(), Code::not_found);
  EXPECT_EQ(provisions(), 0u);
  EXPECT_TRUE(consent(other, c, signature_serial_).ok());  // still unspent for its owner
}

TEST_F(ConsentTest, AnAuthenticationCertificateIsRefused) {
  auto c = ca_->new_challenge(bank_).value();
  auto r = consent(bank_, c, authentication_serial_);
  EXPECT_EQ(r.status().code(), Code::invalid_argument) << r.status().to_string();
  EXPECT_EQ(provisions(), 0u);
}

TEST_F(ConsentTest, ARevokedCertificateIsRefused) {
  ASSERT_TRUE(ca_->revoke(municipality(), signature_serial_, RevocationReason::key_compromise).ok());
  auto c = ca_->new_challenge(bank_).value();
  auto r = consent(bank_, c, signature_serial_);
  EXPECT_EQ(r.status().code(), Code::conflict) << r.status().to_string();
  EXPECT_NE(r.status().message().find("revoked"), std::string::npos) << r.status().message();
  EXPECT_EQ(provisions(), 0u);
}

TEST_F(ConsentTest, ADeceasedHoldersCertificateIsRefused) {
  ASSERT_TRUE(holder_dies().is_ok());
  auto c = ca_->new_challenge(bank_).value();
  auto r = consent(bank_, c, signature_serial_);
  EXPECT_EQ(r.status().code(), Code::conflict) << r.status().to_string();
  EXPECT_EQ(provisions(), 0u);
}

// The death check itself, not the revocation the death causes: a signature certificate revoked as
// affiliationChanged still proves its holder (the verifier wants the latest basic four), so a death
// after the name change reaches the holder check, which must refuse.
TEST_F(ConsentTest, AHolderWhoDiedAfterANameChangeIsRefusedByTheDeathCheck) {
  auto rename = event("consent-1-name", registry::EventType::name_change, today_.add_days(-2).to_iso().c_str(),
                      holder_.resident_code);
  rename.name = "佐藤　花子";
  rename.name_kana = "サトウ　ハナコ";
  ASSERT_TRUE(change(card::testing::kChiyoda, rename).is_ok());
  ASSERT_TRUE(holder_dies().is_ok());
  auto c = ca_->new_challenge(bank_).value();
  auto r = consent(bank_, c, signature_serial_);
  EXPECT_EQ(r.status().code(), Code::conflict) << r.status().to_string();
  EXPECT_EQ(r.status().message(), "the holder is deceased");
  EXPECT_EQ(provisions(), 0u);
}

}  // namespace
}  // namespace jlis::pki::testing
