// Proof of possession (issue 18, defect 2): a renewal or a smartphone issuance certifies only a key
// whose holder signed a PKCS#10 request over a fresh, one-time challenge of the CA; a smartphone's
// requests also need the holder's authorisation by the card. Each refusal issues nothing and
// supersedes nothing. And the one request parser (pki/request.h) on bad input.
#include <gtest/gtest.h>

#include "ca_fixture.h"
#include "pki/request.h"
#include "requests.h"

namespace jlis::pki::testing {
namespace {

using card::CardKeys;
using Requests = CertificateAuthority::CertificateRequests;

class PossessionTest : public CaTest {
 protected:
  void SetUp() override {
    CaTest::SetUp();
    holder_ = born("pop-1", "1980-01-01");
    card_ = shipped(holder_);
    ASSERT_TRUE(cards_->handover(municipality(), card_, true, CardKeys{new_key_pem(&card_sig_), new_key_pem(&card_auth_)}).ok());
    fresh_ = generate_rsa(2048).value();
  }
  CertificateAuthority::IssuanceChallenge challenge() { return ca_->new_issuance_challenge(municipality(), card_).value(); }
  Requests signature_request(const CertificateAuthority::IssuanceChallenge& c, RequestSpec spec) {
    Requests r;
    r.challenge_id = c.challenge_id;
    r.signature = request_pem(spec);
    return r;
  }
  // Nothing issued, nothing superseded: the card's two certificates, both good.
  void expect_unchanged() {
    EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates"), 2);
    EXPECT_EQ(good_certificates_of_card(card_), 2);
  }

  registry::Resident holder_;
  std::string card_;
  EvpPkeyPtr card_sig_, card_auth_, fresh_;
};

TEST_F(PossessionTest, ARequestSignedByItsKeyOverTheChallengeIsCertifiedOnce) {
  auto c = challenge();
  const Requests r = signature_request(c, {fresh_.get(), nullptr, c.challenge});
  auto renewed = ca_->renew(municipality(), card_, r);
  ASSERT_TRUE(renewed.ok()) << renewed.status().to_string();
  ASSERT_EQ(renewed->size(), 1u);
  EXPECT_EQ((*renewed)[0].kind, CertificateKind::signature);
  // The same request again (a replay): the challenge is spent.
  auto again = ca_->renew(municipality(), card_, r);
  EXPECT_EQ(again.status().code(), Code::conflict) << again.status().to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates"), 3);
}

TEST_F(PossessionTest, ARequestSignedByAnotherKeyIsRefused) {
  auto c = challenge();
  auto r = ca_->renew(municipality(), card_, signature_request(c, {fresh_.get(), card_sig_.get(), c.challenge}));
  EXPECT_EQ(r.status().code(), Code::invalid_argument) << r.status().to_string();
  EXPECT_NE(r.status().message().find("proof of possession"), std::string::npos) << r.status().message();
  expect_unchanged();
}

TEST_F(PossessionTest, ARequestWithoutTheChallengeIsRefused) {
  auto c = challenge();
  for (const std::string& password : {std::string(), std::string(64, '0'), c.challenge + "x"}) {
    auto r = ca_->renew(municipality(), card_, signature_request(c, {fresh_.get(), nullptr, password}));
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << r.status().to_string();
  }
  expect_unchanged();
  // The challenge was not spent by the refusals.
  EXPECT_TRUE(ca_->renew(municipality(), card_, signature_request(c, {fresh_.get(), nullptr, c.challenge})).ok());
}

TEST_F(PossessionTest, AnExpiredOrForeignChallengeIsRefused) {
  auto c = challenge();
  now_ = c.expires_at + 1;
  EXPECT_EQ(ca_->renew(municipality(), card_, signature_request(c, {fresh_.get(), nullptr, c.challenge})).status().code(),
            Code::conflict);
  now_ = c.expires_at - 1;
  // Another municipality cannot use it (nor see that it exists).
  const auth::Principal chuo{auth::Role::municipality, card::testing::kChuo, card::testing::kChuo, {}};
  auto foreign = ca_->renew(chuo, card_, signature_request(c, {fresh_.get(), nullptr, c.challenge}));
  EXPECT_EQ(foreign.status().code(), Code::not_found) << foreign.status().to_string();
  // A challenge given for another card.
  const registry::Resident other = born("pop-2", "1980-02-02");
  const std::string other_card = shipped(other);
  ASSERT_TRUE(cards_->handover(municipality(), other_card, true, CardKeys{new_key_pem(), new_key_pem()}).ok());
  auto elsewhere = ca_->renew(municipality(), other_card, signature_request(c, {fresh_.get(), nullptr, c.challenge}));
  EXPECT_EQ(elsewhere.status().code(), Code::invalid_argument) << elsewhere.status().to_string();
  EXPECT_EQ(good_certificates_of_card(card_), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates"), 4);
}

TEST_F(PossessionTest, ASmartphoneRequestNeedsTheHoldersAuthorisation) {
  auto c = challenge();
  Requests r;
  r.challenge_id = c.challenge_id;
  r.authentication = request_pem({fresh_.get(), nullptr, c.challenge});
  const std::string message =
      CertificateAuthority::authorisation_message(c.challenge, "", request_der({fresh_.get(), nullptr, c.challenge}));
  EXPECT_EQ(ca_->issue_smartphone(municipality(), card_, r).status().code(), Code::permission_denied);  // none
  EvpPkeyPtr stranger = generate_rsa(2048).value();
  r.authorisation = sign_bytes(stranger.get(), message);  // not the card's key
  EXPECT_EQ(ca_->issue_smartphone(municipality(), card_, r).status().code(), Code::permission_denied);
  r.authorisation = sign_bytes(card_auth_.get(), message + "x");  // the card's key, over other bytes
  EXPECT_EQ(ca_->issue_smartphone(municipality(), card_, r).status().code(), Code::permission_denied);
  expect_unchanged();
  r.authorisation = sign_bytes(card_sig_.get(), message);  // the card's signature key also authorises
  auto phone = ca_->issue_smartphone(municipality(), card_, r);
  ASSERT_TRUE(phone.ok()) << phone.status().to_string();
  ASSERT_EQ(phone->size(), 1u);
  EXPECT_EQ((*phone)[0].device, Device::smartphone);
}

TEST(CertificationRequestParser, ReadsTheKeyAndTheChallengeAndRefusesTheRest) {
  auto key = generate_rsa(2048).value();
  const std::string der = request_der({key.get(), nullptr, "abc123"});
  for (const std::string& input : {der, request_pem({key.get(), nullptr, "abc123"})}) {
    auto r = parse_certification_request(input);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->challenge_password, "abc123");
    EXPECT_EQ(r->der, der);
    EXPECT_EQ(r->key.spki, rsa_public_key_der_from_pem(public_key_pem(key.get()).value())->spki);
  }
  EXPECT_EQ(parse_certification_request(request_der({key.get(), nullptr, ""}))->challenge_password, "");
  // Refused: nothing, garbage, truncation, trailing bytes, SHA-1, a foreign signature, an EC key.
  EXPECT_FALSE(parse_certification_request("").ok());
  EXPECT_FALSE(parse_certification_request("not a request").ok());
  EXPECT_FALSE(parse_certification_request("-----BEGIN CERTIFICATE REQUEST-----\n!!\n-----END CERTIFICATE REQUEST-----\n").ok());
  for (size_t cut = 1; cut < der.size(); cut += 37) EXPECT_FALSE(parse_certification_request(der.substr(0, cut)).ok());
  EXPECT_FALSE(parse_certification_request(der + std::string(1, '\0')).ok());
  EXPECT_FALSE(parse_certification_request(std::string(70000, '0')).ok());
  EXPECT_FALSE(parse_certification_request(request_der({key.get(), nullptr, "x", EVP_sha1()})).ok());
  auto other = generate_rsa(2048).value();
  EXPECT_FALSE(parse_certification_request(request_der({key.get(), other.get(), "x"})).ok());
  EvpPkeyPtr ec(EVP_EC_gen("P-256"));
  EXPECT_FALSE(parse_certification_request(request_der({ec.get(), nullptr, "x"})).ok());
  std::string flipped = der;
  flipped[flipped.size() - 5] ^= 1;  // inside the signature
  EXPECT_FALSE(parse_certification_request(flipped).ok());
}

}  // namespace
}  // namespace jlis::pki::testing
