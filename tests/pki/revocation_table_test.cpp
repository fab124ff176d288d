// The revocation table of src/pki/ca.h, one test per row, through the C++ API: each asserts
// exactly which certificates changed, to what and with which reason, and that the others did not.
#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "ca_fixture.h"
#include "common/digest.h"

namespace jlis::pki::testing {
namespace {

using registry::EventType;
using Changes = std::multiset<std::string>;

std::string sign(EVP_PKEY* key, const std::string& challenge_base64) {
  const std::string data = base64_decode(challenge_base64).value();
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  size_t n = 0;
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(data.data()), data.size()), 1);
  std::string sig(n, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &n,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  sig.resize(n);
  return base64_encode(sig);
}

class RevocationTable : public CaTest {
 protected:
  void SetUp() override {
    CaTest::SetUp();
    resident_ = born("r1", "1990-04-01");
    card_ = card_with_certificates(resident_, card_keys_);
    ASSERT_EQ(certificates().size(), 2u);
  }
  registry::ChangeEvent change_of(const std::string& id, EventType type) {
    return event(id, type, "2025-06-02", resident_.resident_code);
  }
  // The serial of the certificate `what` ("card/signature") that is in state `status`.
  std::string serial_of(const std::string& what, const std::string& status = "good") {
    for (const auto& [serial, s] : certificates())
      if (s.what == what && s.status == status) return serial;
    ADD_FAILURE() << "no " << what << " " << status;
    return "";
  }

  registry::Resident resident_;
  Keys card_keys_;
  std::string card_;
};

TEST_F(RevocationTable, NameChangeRevokesTheSignatureCertificateAsAffiliationChanged) {
  auto before = certificates();
  auto e = change_of("n1", EventType::name_change);
  e.name = "鈴木　花子";
  e.name_kana = "スズキ　ハナコ";
  ASSERT_TRUE(change(card::testing::kChiyoda, e).is_ok());
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked affiliationChanged"}));
}

TEST_F(RevocationTable, DateOfBirthCorrectionRevokesTheSignatureCertificate) {
  auto before = certificates();
  auto e = change_of("c1", EventType::correction);
  e.date_of_birth = card::testing::date("1990-04-02");
  ASSERT_TRUE(change(card::testing::kChiyoda, e).is_ok());
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked affiliationChanged"}));
}

TEST_F(RevocationTable, SexCorrectionRevokesTheSignatureCertificate) {
  auto before = certificates();
  auto e = change_of("c1", EventType::correction);
  e.sex = registry::Sex::male;
  ASSERT_TRUE(change(card::testing::kChiyoda, e).is_ok());
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked affiliationChanged"}));
}

TEST_F(RevocationTable, MoveAbroadAfterTheContinuedUseProcedureRevokesTheSignatureCertificate) {
  ASSERT_TRUE(cards_->request_continued_use(municipality(), resident_.resident_code, card::testing::date("2025-06-02")).is_ok());
  auto before = certificates();
  auto e = change_of("m1", EventType::move_out);
  e.to = "abroad";
  e.address_abroad = "Paris, France";
  Status s = change(card::testing::kChiyoda, e);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked affiliationChanged"}));
}

TEST_F(RevocationTable, MoveAbroadWithoutTheContinuedUseProcedureLapsesTheCardAndRevokesBoth) {
  auto before = certificates();
  auto e = change_of("m1", EventType::move_out);
  e.to = "abroad";
  e.address_abroad = "Paris, France";
  Status s = change(card::testing::kChiyoda, e);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature revoked cessationOfOperation", "card/authentication revoked cessationOfOperation"}));
}

TEST_F(RevocationTable, MoveToAnotherMunicipalityRevokesTheSignatureCertificate) {
  auto before = certificates();
  auto out = change_of("m1", EventType::move_out);
  out.to = card::testing::kChuo;
  Status s = change(card::testing::kChiyoda, out);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  auto in = change_of("m2", EventType::move_in);
  in.from = card::testing::kChiyoda;
  in.address = "東京都中央区銀座一丁目1番1号";
  in.name = "山田　花子";  // the basic four of the record (a move-in must match them)
  in.date_of_birth = card::testing::date("1990-04-01");
  in.sex = registry::Sex::female;
  s = change(card::testing::kChuo, in);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked affiliationChanged"}));
}

TEST_F(RevocationTable, DeathRevokesEveryCertificateAsCessationOfOperation) {
  smartphone(card_, Keys());
  auto before = certificates();
  ASSERT_TRUE(change(card::testing::kChiyoda, change_of("d1", EventType::death)).is_ok());
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature revoked cessationOfOperation", "card/authentication revoked cessationOfOperation",
                     "smartphone/signature revoked cessationOfOperation",
                     "smartphone/authentication revoked cessationOfOperation"}));
}

TEST_F(RevocationTable, LossRevokesTheCardsAndSmartphonesCertificatesAsKeyCompromise) {
  smartphone(card_, Keys());
  auto before = certificates();
  ASSERT_TRUE(cards_->report_lost(call_centre(), card_, card::LossReason::lost).ok());
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature revoked keyCompromise", "card/authentication revoked keyCompromise",
                     "smartphone/signature revoked keyCompromise", "smartphone/authentication revoked keyCompromise"}));
}

TEST_F(RevocationTable, ReturnedCardRevokesAsCessationOfOperation) {
  auto before = certificates();
  auto r = cards_->return_card(municipality(), card_);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature revoked cessationOfOperation", "card/authentication revoked cessationOfOperation"}));
}

TEST_F(RevocationTable, RenewalSupersedesTheGoodCertificates) {
  auto before = certificates();
  Keys fresh;
  auto r = ca_->renew(municipality(), card_, requests(card_, fresh, false));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature revoked superseded", "card/authentication revoked superseded",
                     "card/signature good (new)", "card/authentication good (new)"}));
}

// Rule (新旧紐付け, pki/ca.h): a new signature certificate is linked from the holder's newest earlier
// one revoked as affiliationChanged or superseded, i.e. the one revoked last, and from no other.
// A name change revokes the card's and the smartphone's signature certificates; the renewal that
// follows links exactly one of them, the later revocation, to the new certificate.
TEST_F(RevocationTable, ANewSignatureCertificateIsLinkedFromTheOneRevokedLast) {
  Keys phone;
  ASSERT_EQ(smartphone(card_, phone).size(), 2u);
  auto e = change_of("n1", EventType::name_change);
  e.name = "鈴木　花子";
  e.name_kana = "スズキ　ハナコ";
  ASSERT_TRUE(change(card::testing::kChiyoda, e).is_ok());
  Keys fresh;
  auto renewed = ca_->renew(municipality(), card_, requests(card_, fresh, false));
  ASSERT_TRUE(renewed.ok()) << renewed.status().to_string();
  std::string new_signature;
  for (const auto& c : *renewed)
    if (c.kind == CertificateKind::signature) new_signature = c.serial;
  ASSERT_FALSE(new_signature.empty());
  struct Old {
    int64_t seq;
    std::string next;
  };
  std::map<std::string, Old> revoked;  // the holder's revoked signature certificates, by serial
  auto conn = pool_->acquire().value();
  ASSERT_TRUE(conn->query("SELECT serial, revocation_seq, next_serial FROM pki_certificates WHERE ca = 'signature' "
                          "AND revoked_at IS NOT NULL", {}, [&](const store::Row& r) {
                            revoked[r.text(0)] = {r.int64(1), r.is_null(2) ? "" : r.text(2)};
                            return true;
                          }).is_ok());
  ASSERT_EQ(revoked.size(), 2u);
  const auto last = std::max_element(revoked.begin(), revoked.end(), [](const auto& a, const auto& b) {
    return a.second.seq < b.second.seq;
  });
  for (const auto& [serial, old] : revoked)
    EXPECT_EQ(old.next, serial == last->first ? new_signature : "") << serial << " revocation " << old.seq;
}

TEST_F(RevocationTable, HoldersRequestRevokesThatCertificateOnly) {
  const std::string serial = serial_of("card/authentication");
  auto before = certificates();
  ASSERT_TRUE(ca_->revoke(municipality(), serial, RevocationReason::unspecified).ok());
  EXPECT_EQ(changed(before, certificates()), Changes({"card/authentication revoked unspecified"}));
}

TEST_F(RevocationTable, CallCentreRevokesAsKeyCompromise) {
  const std::string serial = serial_of("card/signature");
  auto before = certificates();
  ASSERT_TRUE(ca_->revoke(call_centre(), serial, RevocationReason::key_compromise).ok());
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked keyCompromise"}));
}

TEST_F(RevocationTable, CertificatesFollowAResidentCodeChangeUnchanged) {
  auto before = certificates();
  auto r = registry_->submit(card::testing::lg(card::testing::kChiyoda),
                             change_of("rc1", EventType::resident_code_change));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(changed(before, certificates()), Changes{});
  const auto code = static_cast<int64_t>(r->resident.resident_code.body());
  ASSERT_NE(code, static_cast<int64_t>(resident_.resident_code.body()));
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE resident_code = " + std::to_string(code)), 2);
}

// --- 一時停止 and 一時保留 ---------------------------------------------------------------------

TEST_F(RevocationTable, SuspensionHoldsTheCardsCertificatesOnly) {
  smartphone(card_, Keys());
  auto before = certificates();
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature onHold certificateHold", "card/authentication onHold certificateHold"}));
}

TEST_F(RevocationTable, SuspensionHoldsTheSmartphonesCertificatesWhenAsked) {
  smartphone(card_, Keys());
  auto before = certificates();
  ASSERT_TRUE(cards_->suspend(call_centre(), card_, /*smartphone_too=*/true).ok());
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature onHold certificateHold", "card/authentication onHold certificateHold",
                     "smartphone/signature onHold certificateHold",
                     "smartphone/authentication onHold certificateHold"}));
}

TEST_F(RevocationTable, ResumeRevokesTheHeldCardCertificatesForGoodAndRenewalWorks) {
  smartphone(card_, Keys());
  ASSERT_TRUE(cards_->suspend(call_centre(), card_, true).ok());
  auto before = certificates();
  now_ += 3600;
  ASSERT_TRUE(cards_->resume(call_centre(), card_).ok());
  auto after = certificates();
  EXPECT_EQ(changed(before, after), Changes({"card/signature revoked cessationOfOperation",
                                             "card/authentication revoked cessationOfOperation"}));
  for (const auto& [serial, s] : after)
    if (s.what.rfind("card/", 0) == 0) {
      EXPECT_EQ(s.revoked_at, now()) << "the time of the resume";
    }
  Keys fresh;
  auto r = ca_->renew(municipality(), card_, requests(card_, fresh, false));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(changed(after, certificates()), Changes({"card/signature good (new)", "card/authentication good (new)"}));
}

TEST_F(RevocationTable, LossWhileOnHoldBecomesKeyCompromiseAtTheTimeOfTheLoss) {
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  auto before = certificates();
  now_ += 600;
  ASSERT_TRUE(cards_->report_lost(call_centre(), card_, card::LossReason::stolen).ok());
  auto after = certificates();
  EXPECT_EQ(changed(before, after),
            Changes({"card/signature revoked keyCompromise", "card/authentication revoked keyCompromise"}));
  for (const auto& [serial, s] : after) EXPECT_EQ(s.revoked_at, now());
}

TEST_F(RevocationTable, DeathWhileOnHoldBecomesCessationOfOperation) {
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  auto before = certificates();
  ASSERT_TRUE(change(card::testing::kChiyoda, change_of("d1", EventType::death)).is_ok());
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked cessationOfOperation",
                                                     "card/authentication revoked cessationOfOperation"}));
}

TEST_F(RevocationTable, TheCallCentreMayRevokeACertificateOnHold) {
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  const std::string serial = serial_of("card/signature", "onHold");
  auto before = certificates();
  auto r = ca_->revoke(call_centre(), serial, RevocationReason::key_compromise);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(changed(before, certificates()), Changes({"card/signature revoked keyCompromise"}));
}

class SmartphoneRelease : public RevocationTable {
 protected:
  void SetUp() override {
    RevocationTable::SetUp();
    smartphone(card_, phone_keys_);
    ASSERT_TRUE(cards_->suspend(call_centre(), card_, true).ok());
    ASSERT_TRUE(cards_->resume(call_centre(), card_).ok());
    phone_auth_ = serial_of("smartphone/authentication", "onHold");
  }
  Keys phone_keys_;
  std::string phone_auth_;
};

TEST_F(SmartphoneRelease, TheHoldersSignatureReleasesTheAuthenticationCertificate) {
  auto before = certificates();
  auto c = ca_->new_release_challenge(phone_auth_);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto r = ca_->release_hold(c->challenge_id, phone_auth_, sign(phone_keys_.authentication.get(), c->challenge));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status(now()), "good");
  EXPECT_EQ(changed(before, certificates()),
            Changes({"smartphone/authentication good", "smartphone/signature revoked cessationOfOperation"}));
  // A new signature certificate for the smartphone, by the usual route, authorised by the card's
  // new certificates (its held ones were revoked for good when it was resumed).
  Keys renewed;
  ASSERT_TRUE(ca_->renew(municipality(), card_, requests(card_, renewed, false)).ok());
  card_keys_of_[card_] = &renewed;
  Keys again;
  again.authentication.reset();
  auto reissued = ca_->issue_smartphone(municipality(), card_, requests(card_, again, true));
  EXPECT_TRUE(reissued.ok()) << reissued.status().to_string();
}

TEST_F(SmartphoneRelease, AnotherKeysSignatureIsRefusedAndChangesNothing) {
  auto before = certificates();
  auto c = ca_->new_release_challenge(phone_auth_);
  ASSERT_TRUE(c.ok());
  Keys stranger;
  auto r = ca_->release_hold(c->challenge_id, phone_auth_, sign(stranger.authentication.get(), c->challenge));
  EXPECT_EQ(r.status().code(), Code::permission_denied);
  // The card's key is not the smartphone's either.
  auto c2 = ca_->new_release_challenge(phone_auth_);
  r = ca_->release_hold(c2->challenge_id, phone_auth_, sign(card_keys_.authentication.get(), c2->challenge));
  EXPECT_EQ(r.status().code(), Code::permission_denied);
  EXPECT_EQ(changed(before, certificates()), Changes{});
}

TEST_F(SmartphoneRelease, AReplayedChallengeIsRefused) {
  auto c = ca_->new_release_challenge(phone_auth_);
  ASSERT_TRUE(c.ok());
  const std::string sig = sign(phone_keys_.authentication.get(), c->challenge);
  ASSERT_TRUE(ca_->release_hold(c->challenge_id, phone_auth_, sig).ok());
  // The same challenge and signature, sent again, are refused (the challenge is spent).
  auto before = certificates();
  auto r = ca_->release_hold(c->challenge_id, phone_auth_, sig);
  EXPECT_EQ(r.status().code(), Code::conflict) << r.status().to_string();
  EXPECT_EQ(changed(before, certificates()), Changes{});
}

TEST_F(SmartphoneRelease, AChallengeOfAnotherCertificateIsRefused) {
  auto c = ca_->new_release_challenge(phone_auth_);
  ASSERT_TRUE(c.ok());
  const std::string card_auth = serial_of("card/authentication", "revoked");
  auto r = ca_->release_hold(c->challenge_id, card_auth, sign(card_keys_.authentication.get(), c->challenge));
  EXPECT_EQ(r.status().code(), Code::not_found);
  // A challenge is made for any well-formed serial (no existence oracle); the release says what
  // is wrong only to the key's holder.
  auto c2 = ca_->new_release_challenge(card_auth);
  ASSERT_TRUE(c2.ok()) << c2.status().to_string();
  r = ca_->release_hold(c2->challenge_id, card_auth, sign(card_keys_.authentication.get(), c2->challenge));
  EXPECT_EQ(r.status().code(), Code::invalid_argument) << r.status().to_string();
  EXPECT_EQ(ca_->new_release_challenge("zz").status().code(), Code::invalid_argument);
}

// --- what clients read ------------------------------------------------------------------------

TEST_F(RevocationTable, ConsentWithACertificateOnHoldIsRefused) {
  auto v = ca_->add_verifier(*directory_, "bank", true);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  auth::Principal verifier{auth::Role::verifier, v->first.verifier_id, "bank", {}};
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  const std::string serial = serial_of("card/signature", "onHold");
  auto c = ca_->new_challenge(verifier);
  ASSERT_TRUE(c.ok());
  auto p = ca_->consent_provision(verifier, c->challenge_id, serial, sign(card_keys_.signature.get(), c->challenge), "rq");
  EXPECT_EQ(p.status().code(), Code::conflict);
  EXPECT_NE(p.status().message().find("on hold"), std::string::npos) << p.status().to_string();
}

std::map<std::string, int> crl_reasons(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  std::map<std::string, int> out;
  if (!crl) return out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string s(hex);
    OPENSSL_free(hex);
    BN_free(bn);
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    int crit = 0;
    auto* reason = static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr));
    out[s] = reason ? static_cast<int>(ASN1_ENUMERATED_get(reason)) : 0;
    ASN1_ENUMERATED_free(reason);
  }
  return out;
}

int64_t crl_number(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) return -1;
  auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr));
  const int64_t v = n ? ASN1_INTEGER_get(n) : -1;
  ASN1_INTEGER_free(n);
  return v;
}

TEST_F(SmartphoneRelease, TheCrlListsTheHoldAndDropsItOnRelease) {
  ASSERT_TRUE(ca_->generate_crls().ok());
  auto listed = crl_reasons(ca_->crl(CertificateKind::authentication).value());
  ASSERT_EQ(listed.count(phone_auth_), 1u);
  EXPECT_EQ(listed[phone_auth_], 6);  // certificateHold
  auto c = ca_->new_release_challenge(phone_auth_);
  ASSERT_TRUE(ca_->release_hold(c->challenge_id, phone_auth_, sign(phone_keys_.authentication.get(), c->challenge)).ok());
  ASSERT_TRUE(ca_->generate_crls().ok());
  listed = crl_reasons(ca_->crl(CertificateKind::authentication).value());
  EXPECT_EQ(listed.count(phone_auth_), 0u);
  EXPECT_EQ(listed.size(), 1u);  // the card's authentication certificate, revoked on resume
}

// Defect 7: a failed CRL generation leaves the CRL pending and retries; the number is committed
// before the file is published, so no number is ever published twice or goes back.
TEST_F(RevocationTable, AFailedCrlGenerationIsRetriedWithANewerNumber) {
  ASSERT_TRUE(ca_->tick().is_ok());  // the first CRLs
  const int64_t first = crl_number(ca_->crl(CertificateKind::signature).value());
  const auto obstacle = dir_ / "pki" / "crl" / "signature.crl.tmp";
  std::filesystem::create_directories(obstacle / "x");  // the file cannot be written
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  now_ += 10;
  EXPECT_FALSE(ca_->tick().is_ok());
  EXPECT_EQ(crl_number(ca_->crl(CertificateKind::signature).value()), first);  // nothing published
  std::filesystem::remove_all(obstacle);
  bool published = false;
  for (int i = 0; i < 60 && !published; ++i) {  // retried within a minute
    now_ += 1;
    ASSERT_TRUE(ca_->tick().is_ok());
    published = crl_number(ca_->crl(CertificateKind::signature).value()) != first;
  }
  ASSERT_TRUE(published);
  const std::string der = ca_->crl(CertificateKind::signature).value();
  EXPECT_GT(crl_number(der), first + 1);  // the failed attempt's number is never reused
  EXPECT_EQ(crl_reasons(der).size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_crls WHERE ca = 'signature' AND published = 0"), 1);
}

// --- delta CRLs (RFC 5280 §5.2.4) ---------------------------------------------------------------

X509CrlPtr parse_crl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

// The deltaCRLIndicator's base CRL number, or -1 when there is none.
int64_t delta_base_of(const std::string& der) {
  X509CrlPtr crl = parse_crl(der);
  if (!crl) return -1;
  int crit = 0;
  auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_delta_crl, &crit, nullptr));
  const int64_t v = n && crit == 1 ? ASN1_INTEGER_get(n) : -1;
  ASN1_INTEGER_free(n);
  return v;
}

std::string freshest_url_of(const std::string& der) {
  X509CrlPtr crl = parse_crl(der);
  if (!crl) return "";
  auto* points = static_cast<CRL_DIST_POINTS*>(X509_CRL_get_ext_d2i(crl.get(), NID_freshest_crl, nullptr, nullptr));
  std::string url;
  if (points != nullptr && sk_DIST_POINT_num(points) == 1) {
    GENERAL_NAMES* names = sk_DIST_POINT_value(points, 0)->distpoint->name.fullname;
    const ASN1_IA5STRING* uri = sk_GENERAL_NAME_value(names, 0)->d.uniformResourceIdentifier;
    url.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)), static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  CRL_DIST_POINTS_free(points);
  return url;
}

bool signed_by_ca(const std::string& der, const std::string& ca_pem) {
  X509CrlPtr crl = parse_crl(der);
  BioPtr bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  return crl && ca && X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())) == 1;
}

// A verifier's view: a full CRL with a delta applied (removeFromCRL takes an entry out).
std::map<std::string, int> apply_delta(std::map<std::string, int> full, const std::map<std::string, int>& delta) {
  for (const auto& [serial, reason] : delta) {
    if (reason == 8) full.erase(serial);
    else full[serial] = reason;
  }
  return full;
}

std::string ca_pem(CertificateAuthority& ca, CertificateKind kind) {
  for (const auto& p : ca.published())
    if (p.kind == std::string(kind_name(kind)) + "-ca") return p.pem;
  return "";
}

TEST_F(RevocationTable, TheDeltaCrlListsHoldsSinceItsBase) {
  ASSERT_TRUE(ca_->generate_crls().ok());
  const std::string base = ca_->crl(CertificateKind::signature).value();
  const int64_t base_number = crl_number(base);
  EXPECT_EQ(freshest_url_of(base), ca_->public_url() + "/crl/signature-delta.crl");
  EXPECT_EQ(delta_base_of(base), -1);
  const std::string first_delta = ca_->delta_crl(CertificateKind::signature).value();
  EXPECT_EQ(delta_base_of(first_delta), base_number);
  EXPECT_EQ(crl_number(first_delta), base_number + 1);
  EXPECT_TRUE(crl_reasons(first_delta).empty());

  now_ += 60;
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  now_ += 3600;
  ASSERT_TRUE(ca_->generate_crls().ok());
  for (CertificateKind kind : {CertificateKind::signature, CertificateKind::authentication}) {
    const std::string full = ca_->crl(kind).value();
    const std::string delta = ca_->delta_crl(kind).value();
    EXPECT_TRUE(signed_by_ca(delta, ca_pem(*ca_, kind)));
    EXPECT_EQ(delta_base_of(delta), base_number) << "no full CRL is a day old: the base is the first";
    EXPECT_EQ(crl_number(delta), crl_number(full) + 1);  // the same sequence
    const auto listed = crl_reasons(delta);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed.begin()->second, 6);  // certificateHold
    EXPECT_EQ(apply_delta({}, listed), crl_reasons(full));
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_crls WHERE delta_base IS NOT NULL AND published = 1"), 4);
}

TEST_F(SmartphoneRelease, TheDeltaCrlListsReleasesAsRemoveFromCrlAndChangedReasons) {
  ASSERT_TRUE(ca_->generate_crls().ok());
  std::map<CertificateKind, std::map<std::string, int>> base;
  for (CertificateKind kind : {CertificateKind::signature, CertificateKind::authentication})
    base[kind] = crl_reasons(ca_->crl(kind).value());
  ASSERT_EQ(base[CertificateKind::authentication].count(phone_auth_), 1u);
  const std::string phone_sig = serial_of("smartphone/signature", "onHold");
  ASSERT_EQ(base[CertificateKind::signature][phone_sig], 6);

  now_ += 60;
  auto c = ca_->new_release_challenge(phone_auth_);
  ASSERT_TRUE(ca_->release_hold(c->challenge_id, phone_auth_, sign(phone_keys_.authentication.get(), c->challenge)).ok());
  now_ += 60;
  ASSERT_TRUE(ca_->generate_crls().ok());
  const auto auth_delta = crl_reasons(ca_->delta_crl(CertificateKind::authentication).value());
  EXPECT_EQ(auth_delta, (std::map<std::string, int>{{phone_auth_, 8}}));  // removeFromCRL
  const auto sig_delta = crl_reasons(ca_->delta_crl(CertificateKind::signature).value());
  EXPECT_EQ(sig_delta, (std::map<std::string, int>{{phone_sig, 5}}));  // hold → cessationOfOperation
  for (CertificateKind kind : {CertificateKind::signature, CertificateKind::authentication}) {
    const std::string delta = ca_->delta_crl(kind).value();
    EXPECT_TRUE(signed_by_ca(delta, ca_pem(*ca_, kind)));
    // The base with the delta says what a new full CRL says.
    EXPECT_EQ(apply_delta(base[kind], crl_reasons(delta)), crl_reasons(ca_->crl(kind).value()));
  }

  // A day later the base moves to the newest full CRL at least a day old; nothing changed since.
  const int64_t second_full = crl_number(ca_->crl(CertificateKind::authentication).value());
  now_ += 86400;
  ASSERT_TRUE(ca_->generate_crls().ok());
  const std::string delta = ca_->delta_crl(CertificateKind::authentication).value();
  EXPECT_EQ(delta_base_of(delta), second_full);
  EXPECT_TRUE(crl_reasons(delta).empty());
}

// Rows revoked before the entries were stored (migration 5) get theirs on the next generation,
// and the CRL is the same.
TEST_F(RevocationTable, RowsWithoutAStoredEntryGetOneOnTheNextCrl) {
  ASSERT_TRUE(cards_->suspend(call_centre(), card_).ok());
  ASSERT_TRUE(ca_->generate_crls().ok());
  const auto with_stored = crl_reasons(ca_->crl(CertificateKind::signature).value());
  ASSERT_EQ(with_stored.size(), 1u);
  ASSERT_TRUE(writer_->run([](store::Connection& c) {
                       return c.execute("UPDATE pki_certificates SET crl_entry = NULL").status();
                     }).is_ok());
  now_ += 60;
  ASSERT_TRUE(ca_->generate_crls().ok());
  EXPECT_EQ(crl_reasons(ca_->crl(CertificateKind::signature).value()), with_stored);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE revoked_at IS NOT NULL AND crl_entry IS NULL"), 0);
}

}  // namespace
}  // namespace jlis::pki::testing
