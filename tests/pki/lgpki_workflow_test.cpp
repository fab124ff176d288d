// The LGPKI application workflow (pki/lgpki_workflow.h): filing, the sub-authority's review, J-LIS's
// approval, issuance and delivery, revocation through the sub-authority; who may take each step,
// in which state; the document signer's lookup (LgpkiAuthority::current_signer).
#include <thread>

#include "lgpki_fixture.h"
#include "pki/lgpki_workflow.h"

namespace jlis::pki {
namespace {

using testing::LgpkiTest;

auth::Principal as(auth::Role role, const std::string& subject) { return {role, subject, subject, {}}; }

class LgpkiWorkflowTest : public LgpkiTest {
 protected:
  void SetUp() override {
    LgpkiTest::SetUp();
    workflow_ = std::make_unique<LgpkiWorkflow>(*pool_, *writer_, *lgpki_);
  }
  void TearDown() override {
    workflow_.reset();
    LgpkiTest::TearDown();
  }
  LgpkiFiling mayor_filing() {
    key_ = testing::make_key();
    LgpkiFiling f;
    f.profile = LgpkiProfile::position;
    f.subject = subject_for(LgpkiProfile::position);
    f.request = testing::request_pem({key_.get()});
    return f;
  }
  LgpkiApplication filed() {
    auto a = workflow_->file(kiyose_, mayor_filing());
    EXPECT_TRUE(a.ok()) << a.status().to_string();
    return a.ok() ? *a : LgpkiApplication{};
  }
  LgpkiApplication issued_application() {
    LgpkiApplication a = filed();
    EXPECT_TRUE(workflow_->review(registration_, a.id, true).ok());
    EXPECT_TRUE(workflow_->approve(jlis_, a.id, true).ok());
    auto out = workflow_->issue(jlis_, a.id);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : a;
  }

  const auth::Principal kiyose_ = as(auth::Role::municipality, "132217");
  const auth::Principal registration_ = as(auth::Role::lgpki_registration, "132217");
  const auth::Principal jlis_ = as(auth::Role::operator_, "operator:jlis-lgpki");
  std::unique_ptr<LgpkiWorkflow> workflow_;
  EvpPkeyPtr key_;
};

TEST_F(LgpkiWorkflowTest, AMayorsPositionCertificateIsFiledReviewedApprovedIssuedAndRevokedWithEveryStepRecorded) {
  LgpkiApplication a = filed();
  EXPECT_EQ(a.state, LgpkiApplicationState::filed);
  EXPECT_EQ(a.municipality_code, "132217");
  EXPECT_EQ(a.id.substr(0, 3), "la-");
  auto reviewed = workflow_->review(registration_, a.id, true);
  ASSERT_TRUE(reviewed.ok()) << reviewed.status().to_string();
  EXPECT_EQ(reviewed->state, LgpkiApplicationState::reviewed);
  auto approved = workflow_->approve(jlis_, a.id, true);
  ASSERT_TRUE(approved.ok()) << approved.status().to_string();
  EXPECT_EQ(approved->state, LgpkiApplicationState::approved);
  auto issued = workflow_->issue(jlis_, a.id);
  ASSERT_TRUE(issued.ok()) << issued.status().to_string();
  EXPECT_EQ(issued->state, LgpkiApplicationState::issued);
  ASSERT_FALSE(issued->certificate_der.empty());
  // The delivered certificate is the register's, for the key of the request, naming the mayor.
  auto cert = lgpki_->certificate(issued->serial);
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->der, issued->certificate_der);
  EXPECT_EQ(cert->profile, LgpkiProfile::position);
  EXPECT_NE(cert->subject.find("title=市長"), std::string::npos) << cert->subject;
  X509Ptr x = x509_from_der(issued->certificate_der).value();
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(x.get()), key_.get()), 1);

  auto requested = workflow_->request_revocation(registration_, a.id, RevocationReason::affiliation_changed, "市長交代");
  ASSERT_TRUE(requested.ok()) << requested.status().to_string();
  EXPECT_EQ(requested->state, LgpkiApplicationState::revocation_requested);
  EXPECT_FALSE(lgpki_->certificate(issued->serial)->revoked_at) << "a request alone revokes nothing";
  auto revoked = workflow_->revoke(jlis_, a.id);
  ASSERT_TRUE(revoked.ok()) << revoked.status().to_string();
  EXPECT_EQ(revoked->state, LgpkiApplicationState::revoked);
  auto after = lgpki_->certificate(issued->serial);
  ASSERT_TRUE(after->revoked_at);
  EXPECT_EQ(after->reason, RevocationReason::affiliation_changed);

  std::vector<std::pair<std::string, std::string>> steps;
  for (const auto& s : revoked->steps) {
    steps.emplace_back(s.step, s.by);
    EXPECT_FALSE(s.at.empty());
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"filed", "municipality:132217"},
      {"reviewed", "lgpki-registration:132217"},
      {"approved", "operator:jlis-lgpki"},
      {"issued", "operator:jlis-lgpki"},
      {"revocation-requested", "lgpki-registration:132217"},
      {"revoked", "operator:jlis-lgpki"}};
  EXPECT_EQ(steps, expected);
  EXPECT_EQ(revoked->steps[3].detail, issued->serial);
  EXPECT_EQ(revoked->steps[4].detail, "affiliationChanged: 市長交代");

  // The CRL of the position CA lists it: openssl rejects it.
  save_ca_certificates();
  save_crl(lgpki_->make_crl(LgpkiCa::position, 1).value(), "position");
  save_cert(*after, "mayor");
  int rc = -1;
  const std::string out = cmd("openssl verify -crl_check -CAfile root.pem -untrusted position.pem "
                              "-CRLfile position.crl.pem mayor.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
}

TEST_F(LgpkiWorkflowTest, EachStepNeedsItsRoleAndItsGovernment) {
  const auth::Principal other_city = as(auth::Role::municipality, "131016");
  const auth::Principal other_registration = as(auth::Role::lgpki_registration, "131016");
  // Filing: the government's own municipality token only.
  for (const auth::Principal& p : {other_city, registration_, jlis_}) {
    auto a = workflow_->file(p, mayor_filing());
    EXPECT_EQ(a.status().code(), Code::permission_denied) << a.status().to_string();
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_applications"), 0);
  LgpkiApplication a = filed();
  // Review: its own sub-authority only; another government's does not even see it.
  EXPECT_EQ(workflow_->review(kiyose_, a.id, true).status().code(), Code::permission_denied);
  EXPECT_EQ(workflow_->review(jlis_, a.id, true).status().code(), Code::permission_denied);
  EXPECT_EQ(workflow_->review(other_registration, a.id, true).status().code(), Code::not_found);
  EXPECT_EQ(workflow_->get(other_city, a.id).status().code(), Code::not_found);
  EXPECT_EQ(workflow_->list(other_city, "132217").status().code(), Code::permission_denied);
  EXPECT_EQ(workflow_->list(kiyose_).status().code(), Code::permission_denied);
  ASSERT_TRUE(workflow_->review(registration_, a.id, true).ok());
  // Approval and issuance: J-LIS (the operator role) only.
  EXPECT_EQ(workflow_->approve(registration_, a.id, true).status().code(), Code::permission_denied);
  EXPECT_EQ(workflow_->approve(kiyose_, a.id, true).status().code(), Code::permission_denied);
  ASSERT_TRUE(workflow_->approve(jlis_, a.id, true).ok());
  EXPECT_EQ(workflow_->issue(registration_, a.id).status().code(), Code::permission_denied);
  ASSERT_TRUE(workflow_->issue(jlis_, a.id).ok());
  // Revocation: asked by the sub-authority, carried out by J-LIS.
  EXPECT_EQ(workflow_->request_revocation(kiyose_, a.id, RevocationReason::superseded).status().code(),
            Code::permission_denied);
  EXPECT_EQ(workflow_->request_revocation(other_registration, a.id, RevocationReason::superseded).status().code(),
            Code::not_found);
  EXPECT_EQ(workflow_->request_revocation(jlis_, a.id, RevocationReason::superseded).status().code(),
            Code::permission_denied);
  ASSERT_TRUE(workflow_->request_revocation(registration_, a.id, RevocationReason::superseded).ok());
  EXPECT_EQ(workflow_->revoke(registration_, a.id).status().code(), Code::permission_denied);
  EXPECT_EQ(workflow_->revoke(kiyose_, a.id).status().code(), Code::permission_denied);
  // Five steps, no more: the refusals wrote nothing.
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_application_steps"), 5);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates WHERE revoked_at IS NOT NULL"), 0);
}

TEST_F(LgpkiWorkflowTest, StepsOutOfOrderAreConflictsNamingTheState) {
  LgpkiApplication a = filed();
  auto early = workflow_->approve(jlis_, a.id, true);
  EXPECT_EQ(early.status().code(), Code::conflict);
  EXPECT_NE(early.status().message().find("is filed"), std::string::npos) << early.status().to_string();
  EXPECT_EQ(workflow_->issue(jlis_, a.id).status().code(), Code::conflict);
  EXPECT_EQ(workflow_->request_revocation(registration_, a.id, RevocationReason::unspecified).status().code(),
            Code::conflict);
  EXPECT_EQ(workflow_->revoke(jlis_, a.id).status().code(), Code::conflict);
  ASSERT_TRUE(workflow_->review(registration_, a.id, true).ok());
  EXPECT_EQ(workflow_->review(registration_, a.id, true).status().code(), Code::conflict);
  EXPECT_EQ(workflow_->issue(jlis_, a.id).status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates"), 0);
  // Unknown and malformed ids.
  EXPECT_EQ(workflow_->review(registration_, "la-0000000000000000", true).status().code(), Code::not_found);
  EXPECT_EQ(workflow_->review(registration_, "x", true).status().code(), Code::invalid_argument);
}

TEST_F(LgpkiWorkflowTest, ARefusalNeedsAReasonIsRecordedAndEndsTheApplication) {
  LgpkiApplication a = filed();
  EXPECT_EQ(workflow_->review(registration_, a.id, false).status().code(), Code::invalid_argument);
  auto refused = workflow_->review(registration_, a.id, false, "職責名が誤っている");
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_EQ(refused->state, LgpkiApplicationState::refused);
  EXPECT_EQ(refused->steps.back().step, "review-refused");
  EXPECT_EQ(refused->steps.back().detail, "職責名が誤っている");
  EXPECT_EQ(workflow_->approve(jlis_, a.id, true).status().code(), Code::conflict);
  // J-LIS refuses another after its review.
  LgpkiApplication b = filed();
  ASSERT_TRUE(workflow_->review(registration_, b.id, true).ok());
  auto jlis_refused = workflow_->approve(jlis_, b.id, false, "重複申請");
  ASSERT_TRUE(jlis_refused.ok());
  EXPECT_EQ(jlis_refused->state, LgpkiApplicationState::refused);
  EXPECT_EQ(jlis_refused->steps.back().step, "approval-refused");
  EXPECT_EQ(jlis_refused->steps.back().by, "operator:jlis-lgpki");
  EXPECT_EQ(workflow_->issue(jlis_, b.id).status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates"), 0);
}

TEST_F(LgpkiWorkflowTest, ABadRequestOrSubjectIsRefusedBeforeAnythingIsWritten) {
  LgpkiFiling f = mayor_filing();
  f.request = "-----BEGIN CERTIFICATE REQUEST-----\nnot a request\n-----END CERTIFICATE REQUEST-----\n";
  EXPECT_EQ(workflow_->file(kiyose_, f).status().code(), Code::invalid_argument);
  f = mayor_filing();
  EvpPkeyPtr other = testing::make_key();
  f.request = testing::request_pem({key_.get(), other.get()});  // signed by another key
  EXPECT_EQ(workflow_->file(kiyose_, f).status().code(), Code::invalid_argument);
  f = mayor_filing();
  f.subject.position.clear();  // a position certificate names the position
  EXPECT_EQ(workflow_->file(kiyose_, f).status().code(), Code::invalid_argument);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_applications"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_application_steps"), 0);
}

TEST_F(LgpkiWorkflowTest, ACertificateRevokedByAnotherRouteCannotBeRequestedForRevocation) {
  LgpkiApplication a = issued_application();
  ASSERT_TRUE(lgpki_->revoke(a.serial, RevocationReason::key_compromise).ok());
  auto r = workflow_->request_revocation(registration_, a.id, RevocationReason::superseded);
  EXPECT_EQ(r.status().code(), Code::conflict);
  EXPECT_NE(r.status().message().find("revoked already"), std::string::npos);
}

TEST_F(LgpkiWorkflowTest, TwoIssuersAtOnceIssueOneCertificate) {
  LgpkiApplication a = filed();
  ASSERT_TRUE(workflow_->review(registration_, a.id, true).ok());
  ASSERT_TRUE(workflow_->approve(jlis_, a.id, true).ok());
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      auto r = workflow_->issue(jlis_, a.id);
      if (r.ok()) ++ok;
      else if (r.status().code() == Code::conflict) ++conflicts;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates"), 1);
}

TEST_F(LgpkiWorkflowTest, TwoRevokersAtOnceRevokeOnceAndRecordOneStep) {
  LgpkiApplication a = issued_application();
  ASSERT_TRUE(workflow_->request_revocation(registration_, a.id, RevocationReason::key_compromise).ok());
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      auto r = workflow_->revoke(jlis_, a.id);
      if (r.ok()) ++ok;
      else if (r.status().code() == Code::conflict) ++conflicts;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_application_steps WHERE step = 'revoked'"), 1);
  EXPECT_EQ(lgpki_->certificate(a.serial)->reason, RevocationReason::key_compromise);
}

TEST_F(LgpkiWorkflowTest, AKeyMadeInTheKeyStoreSignsAndTheSignerLookupFindsIt) {
  const int64_t now = now_.load();
  EXPECT_EQ(lgpki_->current_signer("132217", now).status().code(), Code::not_found);
  // The mayor's position certificate, from the government's own request (key not in the store).
  LgpkiApplication mayor = issued_application();
  auto signer = lgpki_->current_signer("132217", now);
  ASSERT_TRUE(signer.ok()) << signer.status().to_string();
  EXPECT_EQ(signer->certificate.serial, mayor.serial);
  EXPECT_TRUE(signer->certificate.key_label.empty());
  ASSERT_EQ(signer->chain.size(), 2u);
  // A document-signing certificate with its key in the key store is preferred.
  auto made = make_key_and_request(*keys_, LgpkiProfile::document_signing, "132217");
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  EXPECT_EQ(made->key_label.rfind("lgpki-document-signing-132217-", 0), 0u) << made->key_label;
  LgpkiFiling f;
  f.profile = LgpkiProfile::document_signing;
  f.subject = subject_for(LgpkiProfile::document_signing);
  f.request = made->request;
  f.key_label = made->key_label;
  f.id = made->id;
  auto doc = workflow_->file(kiyose_, f);
  ASSERT_TRUE(doc.ok()) << doc.status().to_string();
  EXPECT_EQ(doc->id, made->id);
  ASSERT_TRUE(workflow_->review(registration_, doc->id, true).ok());
  ASSERT_TRUE(workflow_->approve(jlis_, doc->id, true).ok());
  auto issued = workflow_->issue(jlis_, doc->id);
  ASSERT_TRUE(issued.ok()) << issued.status().to_string();
  signer = lgpki_->current_signer("132217", now);
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(signer->certificate.serial, issued->serial);
  EXPECT_EQ(signer->certificate.key_label, made->key_label);
  EvpPkeyPtr key = keys_->load(signer->certificate.key_label).value();
  X509Ptr cert = x509_from_der(signer->certificate.der).value();
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()), 1);
  // The chain validates it.
  save_cert(signer->certificate, "doc");
  save("chain-ca.pem", x509_pem(x509_from_der(signer->chain[0]).value().get()).value());
  save("chain-root.pem", x509_pem(x509_from_der(signer->chain[1]).value().get()).value());
  int rc = -1;
  const std::string out = cmd("openssl verify -CAfile chain-root.pem -untrusted chain-ca.pem doc.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  // Revoked, the position certificate answers again; another government has none.
  ASSERT_TRUE(lgpki_->revoke(issued->serial, RevocationReason::superseded).ok());
  EXPECT_EQ(lgpki_->current_signer("132217", now)->certificate.serial, mayor.serial);
  EXPECT_EQ(lgpki_->current_signer("131016", now).status().code(), Code::not_found);
  // Not yet valid or expired: not current.
  EXPECT_EQ(lgpki_->current_signer("132217", lgpki_->certificate(mayor.serial)->not_after + 1).status().code(), Code::not_found);
  // Its issuing CA revoked (a compromised key), the mayor's certificate signs nothing more.
  ASSERT_TRUE(lgpki_->revoke_ca(LgpkiCa::position, 1, RevocationReason::ca_compromise).is_ok());
  EXPECT_EQ(lgpki_->current_signer("132217", now).status().code(), Code::not_found);
}

}  // namespace
}  // namespace jlis::pki
