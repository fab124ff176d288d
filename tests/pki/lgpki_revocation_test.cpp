// LGPKI revocation (pki/lgpki.h): a revoked certificate is listed in its issuing CA's CRL and the
// relying parties' tools refuse it while an unrevoked one passes; a revoked issuing CA is listed in
// the ARL signed by the root, refused with everything under it, and issues no more. Checked with
// OpenSSL (`openssl verify -crl_check` / `-crl_check_all`), GnuTLS (`certtool --verify` with
// --load-crl) and NSS (`crlutil`, `vfychain`).
#include <gtest/gtest.h>

#include "lgpki_fixture.h"

namespace jlis::pki::testing {
namespace {

// A CRL's entries, serial (lower-case hex) → reason code (-1: no reasonCode), and its number.
struct LgpkiCrlView {
  std::map<std::string, int> entries;
  int64_t number = -1;
  std::string aki;
};
LgpkiCrlView lgpki_crl_view(const std::string& der) {
  LgpkiCrlView v;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) return v;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    int crit = 0;
    using EnumPtr = std::unique_ptr<ASN1_ENUMERATED, OpensslDeleter<ASN1_ENUMERATED_free>>;
    EnumPtr reason(static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr)));
    v.entries[serial_hex(X509_REVOKED_get0_serialNumber(r))] = reason ? static_cast<int>(ASN1_ENUMERATED_get(reason.get())) : -1;
  }
  using IntPtr = std::unique_ptr<ASN1_INTEGER, OpensslDeleter<ASN1_INTEGER_free>>;
  IntPtr number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  if (number) v.number = ASN1_INTEGER_get(number.get());
  using AkidPtr = std::unique_ptr<AUTHORITY_KEYID, OpensslDeleter<AUTHORITY_KEYID_free>>;
  AkidPtr akid(static_cast<AUTHORITY_KEYID*>(X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, nullptr, nullptr)));
  if (akid) v.aki = lgpki_key_id(akid->keyid);
  return v;
}

class LgpkiRevocationTest : public LgpkiTest {};

TEST_F(LgpkiRevocationTest, ARevokedCertificateIsInItsCasCrlAndEveryToolRefusesIt) {
  auto cas = save_ca_certificates();
  const LgpkiCertificate good = issued(LgpkiProfile::document_signing);
  const LgpkiCertificate revoked = issued(LgpkiProfile::document_signing);
  const LgpkiCertificate other_ca = issued(LgpkiProfile::application_server);
  save_cert(good, "good");
  save_cert(revoked, "revoked");
  auto r = lgpki_->revoke(revoked.serial, RevocationReason::key_compromise);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->revoked_at, now_.load());
  EXPECT_EQ(lgpki_->certificate(revoked.serial)->reason, RevocationReason::key_compromise);
  // Revoking the server certificate affects only the application CA's CRL.
  ASSERT_TRUE(lgpki_->revoke(other_ca.serial, RevocationReason::cessation_of_operation).ok());

  auto crl = lgpki_->make_crl(LgpkiCa::organisation, 1);
  ASSERT_TRUE(crl.ok()) << crl.status().to_string();
  auto view = lgpki_crl_view(*crl);
  EXPECT_EQ(view.entries, (std::map<std::string, int>{{revoked.serial, 1}}));
  EXPECT_EQ(view.number, 1);
  EXPECT_EQ(view.aki, lgpki_key_id(X509_get0_subject_key_id(cas["organisation"].get())));
  auto app_crl = lgpki_->make_crl(LgpkiCa::application, 1);
  ASSERT_TRUE(app_crl.ok());
  EXPECT_EQ(lgpki_crl_view(*app_crl).entries, (std::map<std::string, int>{{other_ca.serial, 5}}));
  auto position_crl = lgpki_->make_crl(LgpkiCa::position, 1);
  ASSERT_TRUE(position_crl.ok());
  EXPECT_TRUE(lgpki_crl_view(*position_crl).entries.empty());
  auto arl = lgpki_->make_arl(1);
  ASSERT_TRUE(arl.ok()) << arl.status().to_string();
  EXPECT_TRUE(lgpki_crl_view(*arl).entries.empty());
  EXPECT_EQ(lgpki_crl_view(*arl).aki, lgpki_key_id(X509_get0_subject_key_id(cas["root"].get())));
  // Numbers increase per list; every list made is recorded.
  EXPECT_EQ(lgpki_crl_view(lgpki_->make_crl(LgpkiCa::organisation, 1).value()).number, 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_crls WHERE name = 'organisation'"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_crls WHERE name = 'arl'"), 1);
  save_crl(*crl, "organisation");
  save_crl(*arl, "arl");

  // OpenSSL: the leaf against its CA's CRL, and the whole chain with the ARL.
  int rc = -1;
  std::string out = cmd("openssl crl -inform DER -in organisation.crl -noout -text", &rc);
  EXPECT_NE(out.find("Key Compromise"), std::string::npos) << out;
  EXPECT_NE(out.find("Issuer: C = JP, O = LGPKI, OU = Organization CA"), std::string::npos) << out;
  const std::string verify = "openssl verify -CAfile root.pem -untrusted organisation.pem -CRLfile organisation.crl.pem";
  out = cmd(verify + " -crl_check good.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("good.pem: OK"), std::string::npos) << out;
  out = cmd(verify + " -crl_check revoked.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd(verify + " -CRLfile arl.crl.pem -crl_check_all good.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd(verify + " -CRLfile arl.crl.pem -crl_check_all revoked.pem", &rc);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;

  // GnuTLS: the chain (leaf, issuing CA) under the root, with the CA's CRL.
  cmd("cat good.pem organisation.pem > good-chain.pem && cat revoked.pem organisation.pem > revoked-chain.pem", &rc);
  out = cmd("certtool --verify --load-ca-certificate root.pem --load-crl organisation.crl.pem --infile good-chain.pem",
            &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Chain verification output: Verified."), std::string::npos) << out;
  out = cmd("certtool --verify --load-ca-certificate root.pem --load-crl organisation.crl.pem --infile "
            "revoked-chain.pem",
            &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("revoked"), std::string::npos) << out;

  // NSS: the root trusted, the CRL imported (crlutil checks its signature against the CA).
  nss_trusting("root");
  out = cmd("certutil -A -d sql:nssdb -n organisation -t ,, -a -i organisation.pem && "
            "crlutil -I -d sql:nssdb -B -i organisation.crl",
            &rc);
  ASSERT_EQ(rc, 0) << out;
  out = cmd("vfychain -d sql:nssdb -u 4 -a good.pem -a organisation.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Chain is good!"), std::string::npos) << out;
  out = cmd("vfychain -d sql:nssdb -u 4 -a revoked.pem -a organisation.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("CERT 0. CN=清瀬市 電子公印"), std::string::npos) << out;
  EXPECT_NE(out.find("ERROR -8180: Peer's Certificate has been revoked."), std::string::npos) << out;
}

TEST_F(LgpkiRevocationTest, ARevokedIssuingCaIsInTheArlAndIssuesNoMore) {
  auto cas = save_ca_certificates();
  const LgpkiCertificate mayor = issued(LgpkiProfile::position);
  const LgpkiCertificate organisation = issued(LgpkiProfile::organisation);
  save_cert(mayor, "mayor");
  save_cert(organisation, "organisation-leaf");
  Status s = lgpki_->revoke_ca(LgpkiCa::position, 1, RevocationReason::ca_compromise);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(lgpki_->revoke_ca(LgpkiCa::position, 1, RevocationReason::ca_compromise).code(), Code::conflict);
  EXPECT_EQ(lgpki_->revoke_ca(LgpkiCa::position, 1, RevocationReason::certificate_hold).code(),
            Code::invalid_argument);
  // The position CA issues no more; the others still do.
  auto refused = issue(LgpkiProfile::position, subject_for(LgpkiProfile::position));
  EXPECT_EQ(refused.status().code(), Code::conflict) << refused.status().to_string();
  EXPECT_NE(refused.status().message().find("revoked"), std::string::npos);
  issued(LgpkiProfile::application_server);
  auto list = lgpki_->ca_certificates();
  ASSERT_TRUE(list.ok());
  for (const auto& c : *list) {
    EXPECT_EQ(c.revoked_at.has_value(), c.name == "position") << c.name;
    if (c.name == "position") {
      EXPECT_EQ(*c.revoked_at, now_.load());
      EXPECT_EQ(c.reason, RevocationReason::ca_compromise);
    }
  }

  auto arl = lgpki_->make_arl(1);
  ASSERT_TRUE(arl.ok()) << arl.status().to_string();
  const std::string position_serial = serial_hex(X509_get0_serialNumber(cas["position"].get()));
  EXPECT_EQ(lgpki_crl_view(*arl).entries, (std::map<std::string, int>{{position_serial, 2}}));
  save_crl(*arl, "arl");
  save_crl(lgpki_->make_crl(LgpkiCa::position, 1).value(), "position");
  save_crl(lgpki_->make_crl(LgpkiCa::organisation, 1).value(), "organisation");
  int rc = -1;
  std::string out = cmd("openssl crl -inform DER -in arl.crl -noout -text", &rc);
  EXPECT_NE(out.find("Issuer: C = JP, O = LGPKI, OU = Root CA"), std::string::npos) << out;
  EXPECT_NE(out.find("CA Compromise"), std::string::npos) << out;
  // OpenSSL with the whole chain checked: the mayor's certificate falls with its CA; the
  // organisation CA's certificates stand.
  out = cmd("openssl verify -crl_check_all -CAfile root.pem -untrusted position.pem -CRLfile arl.crl.pem "
            "-CRLfile position.crl.pem mayor.pem",
            &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check_all -CAfile root.pem -untrusted organisation.pem -CRLfile arl.crl.pem "
            "-CRLfile organisation.crl.pem organisation-leaf.pem",
            &rc);
  EXPECT_EQ(rc, 0) << out;
  // GnuTLS with the ARL: the position CA itself is revoked.
  cmd("cat mayor.pem position.pem > mayor-chain.pem", &rc);
  out = cmd("certtool --verify --load-ca-certificate root.pem --load-crl arl.crl.pem --infile mayor-chain.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("revoked"), std::string::npos) << out;
  // NSS with the ARL imported.
  nss_trusting("root");
  out = cmd("crlutil -I -d sql:nssdb -B -i arl.crl", &rc);
  ASSERT_EQ(rc, 0) << out;
  out = cmd("vfychain -d sql:nssdb -u 4 -a mayor.pem -a position.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("CERT 1. OU=Position CA,O=LGPKI,C=JP [Certificate Authority]:\n"
                     "  ERROR -8180: Peer's Certificate has been revoked."),
            std::string::npos)
      << out;
}

TEST_F(LgpkiRevocationTest, AnExpiredCertificateLeavesTheCrl) {
  LgpkiIssuance in;
  EvpPkeyPtr key = make_key();
  in.profile = LgpkiProfile::organisation;
  in.request = request_pem({key.get()});
  in.subject = subject_for(in.profile);
  in.validity_days = 30;
  auto short_lived = lgpki_->issue(in);
  ASSERT_TRUE(short_lived.ok()) << short_lived.status().to_string();
  const LgpkiCertificate long_lived = issued(LgpkiProfile::organisation);
  ASSERT_TRUE(lgpki_->revoke(short_lived->serial, RevocationReason::unspecified).ok());
  ASSERT_TRUE(lgpki_->revoke(long_lived.serial, RevocationReason::privilege_withdrawn).ok());
  // unspecified is written as no reasonCode (RFC 5280 §5.3.1).
  EXPECT_EQ(lgpki_crl_view(lgpki_->make_crl(LgpkiCa::organisation, 1).value()).entries,
            (std::map<std::string, int>{{short_lived->serial, -1}, {long_lived.serial, 9}}));
  now_ = short_lived->not_after + 1;
  EXPECT_EQ(lgpki_crl_view(lgpki_->make_crl(LgpkiCa::organisation, 1).value()).entries,
            (std::map<std::string, int>{{long_lived.serial, 9}}));
}

}  // namespace
}  // namespace jlis::pki::testing
