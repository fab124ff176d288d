// LGPKI generations (pki/lgpki.h new_generation): a root key rollover with link certificates both
// ways and new issuing CAs under the new root. A relying party trusting either root validates the
// end-entity certificates of both generations during the overlap, with the link certificate of the
// other direction as an untrusted intermediate: checked with OpenSSL (`openssl verify`), GnuTLS
// (`certtool --verify`, the chain in the file) and NSS (`vfychain`, the chain on the command line).
#include <gtest/gtest.h>

#include "lgpki_fixture.h"

namespace jlis::pki::testing {
namespace {

class LgpkiGenerationTest : public LgpkiTest {
 protected:
  // Each tool, trusting `root` alone, given `leaf` and the untrusted `chain` (most specific
  // first): `accepted` says whether they must accept it.
  void expect_tools(const std::string& root, const std::string& leaf, const std::vector<std::string>& chain,
                    bool accepted, int nss_usage = 1) {
    SCOPED_TRACE(leaf + " under " + root);
    std::string untrusted, files, nss_args;
    for (const auto& c : chain) {
      untrusted += " -untrusted " + c + ".pem";
      files += " " + c + ".pem";
      nss_args += " -a " + c + ".pem";
    }
    int rc = -1;
    std::string out = cmd("openssl verify -CAfile " + root + ".pem" + untrusted + " " + leaf + ".pem", &rc);
    EXPECT_EQ(rc == 0, accepted) << out;
    if (accepted) {
      EXPECT_NE(out.find(leaf + ".pem: OK"), std::string::npos) << out;
    }
    cmd("cat " + leaf + ".pem" + files + " > " + leaf + "-chain.pem", &rc);
    out = cmd("certtool --verify --load-ca-certificate " + root + ".pem --infile " + leaf + "-chain.pem", &rc);
    EXPECT_EQ(out.find("Chain verification output: Verified.") != std::string::npos, accepted) << out;
    nss_trusting(root);
    out = cmd("vfychain -d sql:nssdb -u " + std::to_string(nss_usage) + " -a " + leaf + ".pem" + nss_args, &rc);
    EXPECT_EQ(out.find("Chain is good!") != std::string::npos, accepted) << out;
    EXPECT_EQ(rc == 0, accepted) << out;
  }
};

TEST_F(LgpkiGenerationTest, EitherRootValidatesBothGenerationsThroughTheLinkCertificates) {
  const LgpkiCertificate old_server = issued(LgpkiProfile::application_server);
  const LgpkiCertificate old_mayor = issued(LgpkiProfile::position);
  auto n = lgpki_->new_generation();
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(lgpki_->generation(), 2);
  const LgpkiCertificate new_server = issued(LgpkiProfile::application_server);
  const LgpkiCertificate new_mayor = issued(LgpkiProfile::position);
  EXPECT_EQ(old_server.generation, 1);
  EXPECT_EQ(new_server.generation, 2);
  save_cert(old_server, "old-server");
  save_cert(new_server, "new-server");
  save_cert(old_mayor, "old-mayor");
  save_cert(new_mayor, "new-mayor");

  auto certs = save_ca_certificates();
  for (const char* name : {"root", "organisation", "position", "application", "root-g2", "root-link-1-2",
                           "root-link-2-1", "organisation-g2", "position-g2", "application-g2"})
    ASSERT_TRUE(certs.count(name)) << name;
  EXPECT_EQ(certs.size(), 10u);
  X509* root1 = certs["root"].get();
  X509* root2 = certs["root-g2"].get();
  X509* link12 = certs["root-link-1-2"].get();
  X509* link21 = certs["root-link-2-1"].get();
  // The same name, a new key; the links certify each key with the other.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(root1), X509_get_subject_name(root2)), 0);
  EXPECT_NE(lgpki_key_id(X509_get0_subject_key_id(root1)), lgpki_key_id(X509_get0_subject_key_id(root2)));
  EXPECT_EQ(X509_verify(link12, X509_get0_pubkey(root1)), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(link12), X509_get0_pubkey(root2)), 1);
  EXPECT_EQ(X509_verify(link21, X509_get0_pubkey(root2)), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(link21), X509_get0_pubkey(root1)), 1);
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(link12), nullptr), X509_cmp_time(X509_get0_notAfter(root1), nullptr));
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(link12), X509_get0_notAfter(root1)), 0);
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(link21), X509_get0_notAfter(root1)), 0);
  // The new issuing CAs hang under the new root and name its ARL; new certificates name their CRLs.
  X509* app2 = certs["application-g2"].get();
  EXPECT_EQ(X509_verify(app2, X509_get0_pubkey(root2)), 1);
  EXPECT_EQ(lgpki_crl_dps(app2), (std::vector<std::string>{std::string(kLgpkiUrl) + "/lgpki/crl/arl-g2.crl"}));
  auto new_x = x509_from_der(new_server.der).value();
  EXPECT_EQ(lgpki_key_id(X509_get0_authority_key_id(new_x.get())), lgpki_key_id(X509_get0_subject_key_id(app2)));
  EXPECT_EQ(lgpki_crl_dps(new_x.get()),
            (std::vector<std::string>{std::string(kLgpkiUrl) + "/lgpki/crl/application-g2.crl"}));
  for (const char* label : {"lgpki-root-g2", "lgpki-organisation-g2", "lgpki-position-g2", "lgpki-application-g2"})
    EXPECT_TRUE(std::filesystem::exists(tmp_ / "data" / "pki" / "keys" / (std::string(label) + ".key.pem"))) << label;

  // Each root validates its own generation directly...
  expect_tools("root", "old-server", {"application"}, true);
  expect_tools("root-g2", "new-server", {"application-g2"}, true);
  // ...the other generation through the link certificate of the other direction...
  expect_tools("root", "new-server", {"application-g2", "root-link-1-2"}, true);
  expect_tools("root-g2", "old-server", {"application", "root-link-2-1"}, true);
  expect_tools("root", "new-mayor", {"position-g2", "root-link-1-2"}, true, 4);
  expect_tools("root-g2", "old-mayor", {"position", "root-link-2-1"}, true, 4);
  // ...and not without it.
  expect_tools("root", "new-server", {"application-g2"}, false);
  expect_tools("root-g2", "old-server", {"application"}, false);

  // Each generation keeps its own CRLs and ARL, signed by its own keys.
  ASSERT_TRUE(lgpki_->revoke(old_server.serial, RevocationReason::superseded).ok());
  auto crl1 = lgpki_->make_crl(LgpkiCa::application, 1);
  auto crl2 = lgpki_->make_crl(LgpkiCa::application, 2);
  auto arl2 = lgpki_->make_arl(2);
  ASSERT_TRUE(crl1.ok() && crl2.ok() && arl2.ok());
  save_crl(*crl1, "application");
  save_crl(*crl2, "application-g2");
  int rc = -1;
  std::string out = cmd("openssl verify -crl_check -CAfile root-g2.pem -untrusted root-link-2-1.pem -untrusted "
                        "application.pem -CRLfile application.crl.pem old-server.pem",
                        &rc);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile root.pem -untrusted root-link-1-2.pem -untrusted application-g2.pem "
            "-CRLfile application-g2.crl.pem new-server.pem",
            &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_crls WHERE name IN ('application', 'application-g2', 'arl-g2')"), 3);

  // Recorded: a new process finds both generations, and the new one issues.
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_authorities"), 8);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_authorities WHERE link_from_previous IS NOT NULL AND "
                  "link_to_previous IS NOT NULL"),
            1);
  open();
  EXPECT_EQ(lgpki_->generation(), 2);
  auto again = lgpki_->ca_certificates();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 10u);
  EXPECT_EQ(issued(LgpkiProfile::organisation).generation, 2);
  // A third generation links to the second.
  auto third_generation = lgpki_->new_generation();
  ASSERT_TRUE(third_generation.ok()) << third_generation.status().to_string();
  EXPECT_EQ(*third_generation, 3);
  auto third = save_ca_certificates();
  EXPECT_TRUE(third.count("root-link-2-3") && third.count("root-link-3-2"));
  EXPECT_EQ(X509_verify(third["root-link-2-3"].get(), X509_get0_pubkey(root2)), 1);
}

}  // namespace
}  // namespace jlis::pki::testing
