// The electronic seal on a government's documents (pki/document_seal.h): signed with the
// certificate the LGPKI workflow issued to it, whose key the key store holds; verified by pdfsig
// trusting the LGPKI root, offline and asking LGPKI's OCSP responder itself (the URL in the
// certificate, served on 127.0.0.1); never again once that certificate is revoked, which
// `openssl verify -crl_check` against its CA's CRL and pdfsig's own OCSP request confirm.
#include <fstream>

#include "lgpki_fixture.h"
#include "pdfs.h"
#include "pki/document_seal.h"
#include "pki/lgpki_workflow.h"

namespace jlis::pki {
namespace {

using testing::LgpkiTest;

auth::Principal seal_caller(auth::Role role, const std::string& subject) { return {role, subject, subject, {}}; }

class DocumentSealTest : public LgpkiTest {
 protected:
  void SetUp() override {
    LgpkiTest::SetUp();
    if (HasFatalFailure()) return;
    if (ocsp_served()) serve();
    workflow_ = std::make_unique<LgpkiWorkflow>(*pool_, *writer_, *lgpki_);
    // A time-stamp authority of its own test root (its chain is not what is checked here).
    tsa_root_key_ = testing::make_key();
    auto root = testing::make_cert({.common_name = "TSA Test Root", .ca = true}, tsa_root_key_.get());
    tsa_key_ = testing::make_key();
    auto cert = testing::make_cert({.common_name = "Test TSA", .serial_hex = "20", .issuer = root.get(),
                                    .issuer_key = tsa_root_key_.get(), .eku = "critical,timeStamping"},
                                   tsa_key_.get());
    auto tsa = TimeStampAuthority::make(testing::cert_pem(cert.get()), testing::key_pem(tsa_key_.get()), {},
                                        "1.2.392.200149.8.7.1");
    ASSERT_TRUE(tsa.ok()) << tsa.status().to_string();
    tsa_.emplace(std::move(*tsa));
    seal_ = std::make_unique<DocumentSeal>(*lgpki_, *keys_, &*tsa_);
  }
  void TearDown() override {
    seal_.reset();
    workflow_.reset();
    LgpkiTest::TearDown();
  }

  // Kiyose's application for `profile`, filed, reviewed, approved and issued. With `key_in_store`
  // the key is made in the key store (jlis lgpki apply without --csr); else the government's own.
  LgpkiApplication issued(LgpkiProfile profile, bool key_in_store) {
    LgpkiFiling f;
    f.profile = profile;
    f.subject = subject_for(profile);
    if (key_in_store) {
      auto made = make_key_and_request(*keys_, profile, "132217");
      EXPECT_TRUE(made.ok()) << made.status().to_string();
      f.request = made->request;
      f.key_label = made->key_label;
      f.id = made->id;
    } else {
      own_key_ = testing::make_key();
      f.request = testing::request_pem({own_key_.get()});
    }
    auto a = workflow_->file(kiyose_, f);
    EXPECT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_TRUE(workflow_->review(registration_, a->id, true).ok());
    EXPECT_TRUE(workflow_->approve(jlis_, a->id, true).ok());
    auto out = workflow_->issue(jlis_, a->id);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : *a;
  }
  DocumentSeal::Sealed sealed(const std::string& pdf) {
    auto out = seal_->seal("132217", pdf, "住民票の写しの交付", now_.load());
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : DocumentSeal::Sealed{};
  }
  // Whether the LGPKI's routes are served (LgpkiTest::serve) before the workflow and the seal are
  // made, so that the certificates issued name that server's OCSP responder.
  virtual bool ocsp_served() const { return false; }
  // pdfsig's report on `pdf`, with an NSS database that trusts the LGPKI root. Without
  // ocsp_served(), -no-ocsp: the certificates name an OCSP responder no server answers (NSS, asked
  // online, reports any failure to reach it as an unknown issue with the certificate); with it,
  // NSS asks the responder the signer's certificate names, and a failure to get a good answer
  // fails the validation (its hard-failure policy).
  std::string pdfsig(const std::string& pdf) {
    if (!std::filesystem::exists(tmp_ / "nssdb")) {
      save_ca_certificates();
      nss_trusting("root");
    }
    save("sealed.pdf", pdf);
    int rc = -1;
    return cmd(std::string("pdfsig ") + (ocsp_served() ? "" : "-no-ocsp ") + "-nssdir sql:nssdb sealed.pdf", &rc);
  }

  const auth::Principal kiyose_ = seal_caller(auth::Role::municipality, "132217");
  const auth::Principal registration_ = seal_caller(auth::Role::lgpki_registration, "132217");
  const auth::Principal jlis_ = seal_caller(auth::Role::operator_, "operator:jlis-lgpki");
  std::unique_ptr<LgpkiWorkflow> workflow_;
  EvpPkeyPtr tsa_root_key_, tsa_key_, own_key_;
  std::optional<TimeStampAuthority> tsa_;
  std::unique_ptr<DocumentSeal> seal_;
};

TEST_F(DocumentSealTest, ADocumentSigningCertificateWithItsKeyInTheStoreSealsAndPdfsigTrustsIt) {
  const LgpkiApplication doc = issued(LgpkiProfile::document_signing, /*key_in_store=*/true);
  const std::string original = testing::one_page_pdf("Juminhyo");
  DocumentSeal::Sealed out = sealed(original);
  EXPECT_EQ(out.serial, doc.serial);
  EXPECT_EQ(out.pdf.substr(0, original.size()), original);
  const std::string report = pdfsig(out.pdf);
  EXPECT_NE(report.find("Signer Certificate Common Name: 清瀬市 電子公印"), std::string::npos) << report;
  EXPECT_NE(report.find("Signature Validation: Signature is Valid."), std::string::npos) << report;
  EXPECT_NE(report.find("Certificate Validation: Certificate is Trusted."), std::string::npos) << report;
  EXPECT_NE(report.find("Signature Type: ETSI.CAdES.detached"), std::string::npos) << report;
}

TEST_F(DocumentSealTest, ARevokedCertificateNeverSignsAgainAndItsCrlMakesOpensslRefuseIt) {
  const LgpkiApplication doc = issued(LgpkiProfile::document_signing, /*key_in_store=*/true);
  EXPECT_EQ(sealed(testing::one_page_pdf("before")).serial, doc.serial);
  ASSERT_TRUE(workflow_->request_revocation(registration_, doc.id, RevocationReason::key_compromise, "lost").ok());
  ASSERT_TRUE(workflow_->revoke(jlis_, doc.id).ok());
  // The next document leaves unsigned: no other certificate of Kiyose's is current.
  const std::string after = testing::one_page_pdf("after");
  DocumentSeal::Sealed out = sealed(after);
  EXPECT_EQ(out.serial, "");
  EXPECT_EQ(out.pdf, after);
  // A relying party holding the earlier signer's certificate sees it revoked in its CA's CRL.
  auto crl = lgpki_->make_crl(LgpkiCa::organisation, 1);
  ASSERT_TRUE(crl.ok()) << crl.status().to_string();
  save_crl(*crl, "organisation");
  save_ca_certificates();
  save_cert(lgpki_->certificate(doc.serial).value(), "signer");
  int rc = -1;
  const std::string verified =
      cmd("cat root.pem organisation.pem > chain.pem && openssl verify -crl_check -CAfile chain.pem -CRLfile "
          "organisation.crl.pem signer.pem",
          &rc);
  EXPECT_NE(rc, 0) << verified;
  EXPECT_NE(verified.find("certificate revoked"), std::string::npos) << verified;
}

TEST_F(DocumentSealTest, AMayorsCertificateSealsWhenThereIsNoDocumentSigningOne) {
  const LgpkiApplication mayor = issued(LgpkiProfile::position, /*key_in_store=*/true);
  DocumentSeal::Sealed out = sealed(testing::one_page_pdf("Juminhyo"));
  EXPECT_EQ(out.serial, mayor.serial);
  const std::string report = pdfsig(out.pdf);
  EXPECT_NE(report.find("Signer Certificate Common Name: 清瀬市長"), std::string::npos) << report;
  EXPECT_NE(report.find("Signature Validation: Signature is Valid."), std::string::npos) << report;
}

TEST_F(DocumentSealTest, AGovernmentThatKeepsItsOwnKeyOrHasNoCertificateGetsItsDocumentsUnsigned) {
  const std::string pdf = testing::one_page_pdf("Juminhyo");
  DocumentSeal::Sealed none = sealed(pdf);  // nothing issued yet
  EXPECT_EQ(none.serial, "");
  EXPECT_EQ(none.pdf, pdf);
  issued(LgpkiProfile::position, /*key_in_store=*/false);  // the mayor's key stays with Kiyose
  DocumentSeal::Sealed own = sealed(pdf);
  EXPECT_EQ(own.serial, "");
  EXPECT_EQ(own.pdf, pdf);
}

class DocumentSealOcspTest : public DocumentSealTest {
 protected:
  bool ocsp_served() const override { return true; }
  // How many OCSP requests the LGPKI's responder answered with a signed response, cached or not.
  long ocsp_answers() {
    long total = 0;
    for (const char* outcome : {"cached", "signed"}) {
      const std::string metrics = server_->metrics_text();
      const std::string line = std::string("jlis_lgpki_ocsp_requests_total{outcome=\"") + outcome + "\"} ";
      const size_t at = metrics.find(line);
      EXPECT_NE(at, std::string::npos) << metrics;
      if (at != std::string::npos) total += std::stol(metrics.substr(at + line.size()));
    }
    return total;
  }
};

TEST_F(DocumentSealOcspTest, PdfsigAskingTheResponderItselfTrustsAGoodSignerAndSeesTheRevokedOne) {
  const LgpkiApplication doc = issued(LgpkiProfile::document_signing, /*key_in_store=*/true);
  DocumentSeal::Sealed out = sealed(testing::one_page_pdf("Juminhyo"));
  EXPECT_EQ(out.serial, doc.serial);
  std::string report = pdfsig(out.pdf);
  EXPECT_NE(report.find("Signature Validation: Signature is Valid."), std::string::npos) << report;
  EXPECT_NE(report.find("Certificate Validation: Certificate is Trusted."), std::string::npos) << report;
  const long asked = ocsp_answers();
  EXPECT_GE(asked, 1) << "pdfsig trusted the signer without asking the OCSP responder";

  ASSERT_TRUE(workflow_->request_revocation(registration_, doc.id, RevocationReason::key_compromise, "lost").ok());
  ASSERT_TRUE(workflow_->revoke(jlis_, doc.id).ok());
  report = pdfsig(out.pdf);
  // The signature itself is still the signer's; its certificate is revoked, which only OCSP tells
  // pdfsig here (it fetches no CRL).
  EXPECT_NE(report.find("Signature Validation: Signature is Valid."), std::string::npos) << report;
  EXPECT_NE(report.find("Certificate Validation: Certificate has been Revoked."), std::string::npos) << report;
  EXPECT_GT(ocsp_answers(), asked);
}

}  // namespace
}  // namespace jlis::pki
