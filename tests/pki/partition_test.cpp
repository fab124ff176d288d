// CRL partitions by municipality (profile.h, ca.h): the signature certificate's CRL distribution
// point names its municipality's partition, the partition CRL says so in a critical
// issuingDistributionPoint and lists that municipality's revoked certificates only, served over
// real HTTP; independent relying parties read it: OpenSSL (`openssl verify -crl_check` applies
// the scope), GnuTLS (`certtool --verify` ignores it), NSS (`crlutil` refuses the critical
// extension it does not implement) and python3-cryptography (its parser, with the RFC 5280 §6.3.3
// scope rule written out in kPartitionScopeCheck, since NSS cannot be driven to apply a partition).
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "../http/client.h"
#include "tools_fixture.h"

namespace jlis::pki::testing {
namespace {

namespace fs = std::filesystem;
constexpr const char* kKiyose = "132217";  // 清瀬市, Tokyo-to
constexpr const char* kKiyoseAddress = "東京都清瀬市中里一丁目1番1号";

using DistPointsPtr = std::unique_ptr<CRL_DIST_POINTS, OpensslDeleter<CRL_DIST_POINTS_free>>;
using IdpPtr = std::unique_ptr<ISSUING_DIST_POINT, OpensslDeleter<ISSUING_DIST_POINT_free>>;

X509CrlPtr partition_parse_crl(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509CrlPtr(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
}

int64_t partition_crl_number(const std::string& der) {
  auto crl = partition_parse_crl(der);
  if (!crl) return -1;
  Asn1IntegerPtr n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)));
  int64_t v = -1;
  if (!n || ASN1_INTEGER_get_int64(&v, n.get()) != 1) return -1;
  return v;
}

std::vector<std::string> partition_serials(const std::string& der) {
  std::vector<std::string> out;
  auto crl = partition_parse_crl(der);
  if (!crl) return out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i)), nullptr));
    char* hex = BN_bn2hex(bn.get());
    std::string s(hex);
    OPENSSL_free(hex);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(s);
  }
  return out;
}

// "DirName:<one line>" or "URI:<uri>" for each name of a fullName.
std::vector<std::string> partition_names(const GENERAL_NAMES* names) {
  std::vector<std::string> out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DIRNAME) {
      BioPtr bio(BIO_new(BIO_s_mem()));
      X509_NAME_print_ex(bio.get(), n->d.directoryName, 0, XN_FLAG_RFC2253);
      char* data = nullptr;
      const long len = BIO_get_mem_data(bio.get(), &data);
      out.push_back("DirName:" + std::string(data, static_cast<size_t>(len)));
    } else if (n->type == GEN_URI) {
      out.push_back("URI:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.uniformResourceIdentifier)),
                                         static_cast<size_t>(ASN1_STRING_length(n->d.uniformResourceIdentifier))));
    } else {
      out.push_back("other");
    }
  }
  return out;
}

std::vector<std::string> cdp_names(const std::string& cert_der) {
  auto cert = x509_from_der(cert_der).value();
  DistPointsPtr points(
      static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr)));
  if (!points || sk_DIST_POINT_num(points.get()) != 1) return {"not one distribution point"};
  const DIST_POINT* dp = sk_DIST_POINT_value(points.get(), 0);
  if (dp->distpoint == nullptr || dp->distpoint->type != 0 || dp->reasons != nullptr || dp->CRLissuer != nullptr)
    return {"not a bare fullName"};
  return partition_names(dp->distpoint->name.fullname);
}

// The RFC 5280 §6.3.3 (b)(2) scope check written out over python3-cryptography's parser (an X.509
// implementation independent of OpenSSL's ASN.1 and of GnuTLS): the CRL's signature by the CA, the
// critical issuingDistributionPoint, some name of its fullName among the certificate's
// distribution point names, then the serial. Exit 0 good, 1 revoked, 2 out of the CRL's scope.
constexpr const char* kPartitionScopeCheck = R"py(
import sys
from cryptography import x509
ca = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
crl = x509.load_der_x509_crl(open(sys.argv[2], 'rb').read())
cert = x509.load_pem_x509_certificate(open(sys.argv[3], 'rb').read())
assert crl.is_signature_valid(ca.public_key()), 'bad CRL signature'
assert cert.issuer == crl.issuer
idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
assert idp.critical and idp.value.only_contains_user_certs
cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
names = [n for dp in cdp.value for n in (dp.full_name or [])]
if not any(n in names for n in idp.value.full_name):
    print('out of scope')
    sys.exit(2)
revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
print('revoked' if revoked else 'good', len(list(crl)))
sys.exit(1 if revoked else 0)
)py";

class CrlPartitionTest : public CaToolsTest {
 protected:
  void SetUp() override {
    CaToolsTest::SetUp();
    serve();
    ca_->set_public_url(url());
    write_file((tmp_ / "ca.pem").string(), pem_of(ca_->published()[0]));
    write_file((tmp_ / "scope.py").string(), kPartitionScopeCheck);
  }
  static std::string pem_of(const CertificateAuthority::Published& p) {
    EXPECT_EQ(p.kind, "signature-ca");
    return p.pem;
  }
  registry::Resident resident_in(const char* code, const std::string& id) {
    return CaToolsTest::resident_in(code, id,
                                    std::string(code) == kKiyose ? kKiyoseAddress : "東京都千代田区丸の内一丁目1番1号");
  }
  std::string fetch(const std::string& path) {
    auto reply = http::testing::Client(server_->port()).get(path);
    EXPECT_EQ(reply.result_int(), 200) << path << ": " << reply.body();
    return reply.body();
  }
  // DIR/<name>.crl (DER) and DIR/<name>.crl.pem (PEM, what certtool --load-crl reads).
  std::string save_crl(const std::string& der, const std::string& name) {
    const std::string path = (tmp_ / (name + ".crl")).string();
    write_file(path, der);
    int rc = -1;
    const std::string out = cmd("openssl crl -inform DER -in " + name + ".crl -out " + name + ".crl.pem", &rc);
    EXPECT_EQ(rc, 0) << out;
    return path;
  }
  std::string expected_partition_dn(const char* prefecture, const char* code) {
    return std::string("DirName:CN=") + code + ",OU=" + prefecture +
           ",OU=CRL Distribution Points,OU=Japan Agency for Local Authority Information Systems,"
           "OU=JPKI for digital signature,O=JPKI,C=JP";
  }
  std::string cmd(const std::string& line, int* rc) { return run("cd " + tmp_.string() + " && " + line + " 2>&1", rc); }

  const Keys kiyose1_keys_, kiyose2_keys_, chiyoda_keys_;
};

TEST_F(CrlPartitionTest, TheSignatureCertificateNamesItsMunicipalitysPartitionTheAuthenticationOneTheFullCrl) {
  const auto holder = resident_in(kKiyose, "p-kiyose-1");
  card_with_certificates(holder, kiyose1_keys_);
  const CertificateRecord sig = cert_of(holder, CertificateKind::signature);
  const CertificateRecord auth = cert_of(holder, CertificateKind::authentication);
  // Read with OpenSSL's parser: one DistributionPoint, fullName = directoryName + URI.
  EXPECT_EQ(cdp_names(sig.der), (std::vector<std::string>{expected_partition_dn("Tokyo-to", kKiyose),
                                                           "URI:" + url() + "/crl/signature/132217.crl"}));
  EXPECT_EQ(cdp_names(auth.der), (std::vector<std::string>{"URI:" + url() + "/crl/authentication.crl"}));
  // The register keeps the municipality of the signature certificate only.
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE serial = '" + sig.serial + "' AND municipality = '132217'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE serial = '" + auth.serial + "' AND municipality IS NULL"), 1);

  // As a user reads them with the openssl command.
  int rc = -1;
  const std::string sig_path = save_cert(sig, "sig"), auth_path = save_cert(auth, "auth");
  std::string out = cmd("openssl x509 -noout -subject -in sig.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("L = Tokyo-to, L = Kiyose-shi"), std::string::npos) << out;
  out = cmd("openssl x509 -noout -subject -in auth.pem", &rc);
  EXPECT_EQ(out.find("L = "), std::string::npos) << out;
  out = cmd("openssl x509 -noout -text -in sig.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("X509v3 CRL Distribution Points:"), std::string::npos) << out;
  EXPECT_NE(out.find("DirName:C = JP, O = JPKI, OU = JPKI for digital signature, OU = Japan Agency for Local Authority "
                     "Information Systems, OU = CRL Distribution Points, OU = Tokyo-to, CN = 132217"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("URI:" + url() + "/crl/signature/132217.crl"), std::string::npos) << out;
  out = cmd("openssl x509 -noout -text -in auth.pem", &rc);
  EXPECT_EQ(out.find("DirName:"), std::string::npos) << out;
  EXPECT_NE(out.find("URI:" + url() + "/crl/authentication.crl"), std::string::npos) << out;
}

TEST_F(CrlPartitionTest, EachPartitionListsItsMunicipalityAndRelyingPartiesRefuseItForAnother) {
  const auto k1 = resident_in(kKiyose, "p-kiyose-1");
  const auto k2 = resident_in(kKiyose, "p-kiyose-2");
  const auto c1 = resident_in(card::testing::kChiyoda, "p-chiyoda-1");
  card_with_certificates(k1, kiyose1_keys_);
  card_with_certificates(k2, kiyose2_keys_);
  card_with_certificates(c1, chiyoda_keys_);
  const CertificateRecord good = cert_of(k1, CertificateKind::signature);
  const CertificateRecord revoked = cert_of(k2, CertificateKind::signature);
  const CertificateRecord other = cert_of(c1, CertificateKind::signature);
  ASSERT_TRUE(ca_->revoke(municipality(kKiyose), revoked.serial, RevocationReason::key_compromise).ok());
  ASSERT_TRUE(ca_->revoke(municipality(), other.serial, RevocationReason::unspecified).ok());
  ASSERT_TRUE(ca_->generate_crls().ok());
  EXPECT_EQ(ca_->partitions_generated(), 2);  // the first run makes every partition

  // Served over HTTP: each partition lists exactly its municipality's revoked certificates.
  const std::string kiyose = fetch("/crl/signature/132217.crl");
  const std::string chiyoda = fetch("/crl/signature/131016.crl");
  const std::string full = fetch("/crl/signature.crl");
  EXPECT_EQ(partition_serials(kiyose), (std::vector<std::string>{revoked.serial}));
  EXPECT_EQ(partition_serials(chiyoda), (std::vector<std::string>{other.serial}));
  EXPECT_EQ(partition_serials(full).size(), 2u);  // the full CRL, unchanged, lists both
  // The critical issuingDistributionPoint carries exactly the certificates' distribution point.
  {
    auto crl = partition_parse_crl(kiyose);
    ASSERT_NE(crl, nullptr);
    const int at = X509_CRL_get_ext_by_NID(crl.get(), NID_issuing_distribution_point, -1);
    ASSERT_GE(at, 0);
    EXPECT_EQ(X509_EXTENSION_get_critical(X509_CRL_get_ext(crl.get(), at)), 1);
    IdpPtr idp(static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_issuing_distribution_point, nullptr, nullptr)));
    ASSERT_NE(idp, nullptr);
    ASSERT_NE(idp->distpoint, nullptr);
    ASSERT_EQ(idp->distpoint->type, 0);
    EXPECT_EQ(partition_names(idp->distpoint->name.fullname), cdp_names(good.der));
    EXPECT_TRUE(idp->onlyuser);
    auto full_crl = partition_parse_crl(full);
    EXPECT_LT(X509_CRL_get_ext_by_NID(full_crl.get(), NID_issuing_distribution_point, -1), 0);
  }
  save_crl(kiyose, "kiyose");
  save_crl(chiyoda, "chiyoda");
  save_crl(full, "full");
  save_cert(good, "good");
  save_cert(revoked, "revoked");
  save_cert(other, "other");

  // OpenSSL: accepts the good certificate, says revoked for the revoked one, and refuses the
  // Kiyose partition for a Chiyoda certificate (the CRL is found by its issuer, then its scope
  // does not cover the certificate: "different CRL scope").
  int rc = -1;
  std::string out = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile kiyose.crl good.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("good.pem: OK"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile kiyose.crl revoked.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile kiyose.crl other.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("error 44 at 0 depth lookup: different CRL scope"), std::string::npos) << out;
  // With its own partition the Chiyoda certificate is revoked; the full CRL covers everyone.
  out = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile chiyoda.crl other.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile chiyoda.crl good.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("error 44 at 0 depth lookup: different CRL scope"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile full.crl good.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd("openssl crl -inform DER -in kiyose.crl -noout -text", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("X509v3 Issuing Distribution Point: critical"), std::string::npos) << out;
  EXPECT_NE(out.find("Only User Certificates"), std::string::npos) << out;

  // GnuTLS certtool: it reads the partition and reports the revoked certificate. It does not
  // apply the issuingDistributionPoint: a CRL of the right issuer is used for any certificate of
  // that issuer (GnuTLS matches CRLs by issuer name and signature only), so the Kiyose partition is
  // not refused for the Chiyoda certificate: that certificate, absent from it, verifies. Only what
  // holds is asserted.
  out = cmd("certtool --verify --load-ca-certificate ca.pem --load-crl kiyose.crl.pem --infile good.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Chain verification output: Verified."), std::string::npos) << out;
  out = cmd("certtool --verify --load-ca-certificate ca.pem --load-crl kiyose.crl.pem --infile revoked.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("revoked"), std::string::npos) << out;
  out = cmd("certtool --verify --load-ca-certificate ca.pem --load-crl kiyose.crl.pem --infile other.pem", &rc);
  EXPECT_EQ(rc, 0) << out;  // GnuTLS ignores the scope (above)
  out = cmd("certtool --crl-info --inder --infile kiyose.crl", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Revoked certificates (1)"), std::string::npos) << out;

  // NSS (libnss3-tools) does not implement partitioned CRLs: crlutil refuses to import the
  // partition for its critical issuingDistributionPoint, and so never applies it to a certificate
  // out of its scope (why the extension is critical: RFC 5280 §5.2.5); the full CRL imports.
  out = cmd("mkdir nssdb && certutil -N -d sql:nssdb --empty-password && "
            "certutil -A -d sql:nssdb -n ca -t C,, -i ca.pem && crlutil -I -d sql:nssdb -B -i full.crl",
            &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd("crlutil -I -d sql:nssdb -B -i kiyose.crl", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("SEC_ERROR_CRL_UNKNOWN_CRITICAL_EXTENSION"), std::string::npos) << out;

  // python3-cryptography with the scope rule written out: good, revoked, out of scope.
  out = cmd("python3 scope.py ca.pem kiyose.crl good.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("good 1"), std::string::npos) << out;
  out = cmd("python3 scope.py ca.pem kiyose.crl revoked.pem", &rc);
  EXPECT_EQ(rc, 1) << out;
  out = cmd("python3 scope.py ca.pem kiyose.crl other.pem", &rc);
  EXPECT_EQ(rc, 2) << out;
  out = cmd("python3 scope.py ca.pem chiyoda.crl other.pem", &rc);
  EXPECT_EQ(rc, 1) << out;
}

TEST_F(CrlPartitionTest, ARevocationRegeneratesItsPartitionOnlyAndEveryPartitionIsMadeDaily) {
  const auto k1 = resident_in(kKiyose, "p-kiyose-1");
  const auto c1 = resident_in(card::testing::kChiyoda, "p-chiyoda-1");
  card_with_certificates(k1, kiyose1_keys_);
  card_with_certificates(c1, chiyoda_keys_);
  ASSERT_TRUE(ca_->generate_crls().ok());
  const std::string kiyose_before = ca_->partition_crl(kKiyose).value();
  const std::string chiyoda_before = ca_->partition_crl(card::testing::kChiyoda).value();
  EXPECT_TRUE(partition_serials(kiyose_before).empty());

  now_ += 30;
  ASSERT_TRUE(ca_->revoke(municipality(kKiyose), cert_of(k1, CertificateKind::signature).serial,
                          RevocationReason::key_compromise)
                  .ok());
  ASSERT_TRUE(ca_->generate_crls().ok());
  EXPECT_EQ(ca_->partitions_generated(), 1);
  const std::string kiyose_after = ca_->partition_crl(kKiyose).value();
  EXPECT_EQ(partition_crl_number(kiyose_after), partition_crl_number(kiyose_before) + 1);
  EXPECT_EQ(partition_serials(kiyose_after).size(), 1u);
  auto a = partition_parse_crl(kiyose_before), b = partition_parse_crl(kiyose_after);
  EXPECT_NE(ASN1_TIME_compare(X509_CRL_get0_lastUpdate(a.get()), X509_CRL_get0_lastUpdate(b.get())), 0);
  // Chiyoda's partition was not touched: the same file, the same number and thisUpdate.
  EXPECT_EQ(ca_->partition_crl(card::testing::kChiyoda).value(), chiyoda_before);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_crl_partitions WHERE municipality = '131016'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_crl_partitions WHERE municipality = '132217' AND published = 1"), 2);

  // A run with nothing new touches no partition; a day later every partition is made again.
  now_ += 10;
  ASSERT_TRUE(ca_->generate_crls().ok());
  EXPECT_EQ(ca_->partitions_generated(), 0);
  now_ += 86400;
  ASSERT_TRUE(ca_->generate_crls().ok());
  EXPECT_EQ(ca_->partitions_generated(), 2);
  EXPECT_EQ(partition_crl_number(ca_->partition_crl(card::testing::kChiyoda).value()),
            partition_crl_number(chiyoda_before) + 1);
  EXPECT_EQ(partition_serials(ca_->partition_crl(kKiyose).value()).size(), 1u);
}

TEST_F(CrlPartitionTest, AMovedResidentsRevocationLandsInTheOldPartitionTheNewCertificateInTheNew) {
  const auto holder = resident_in(kKiyose, "p-mover");
  const std::string card_id = card_with_certificates(holder, kiyose1_keys_);
  const CertificateRecord old_sig = cert_of(holder, CertificateKind::signature);
  auto out = card::testing::CardTest::event("p-mover-out", registry::EventType::move_out,
                                            today_.add_days(-1).to_iso().c_str(), holder.resident_code);
  out.to = card::testing::kChiyoda;
  ASSERT_TRUE(change(kKiyose, out).is_ok());
  auto in = card::testing::CardTest::event("p-mover-in", registry::EventType::move_in, today_.to_iso().c_str(),
                                           holder.resident_code);
  in.from = kKiyose;
  in.address = "東京都千代田区丸の内一丁目1番1号";
  in.name = "清瀬　花子";
  in.date_of_birth = card::testing::date("1990-04-01");
  in.sex = registry::Sex::female;
  ASSERT_TRUE(change(card::testing::kChiyoda, in).is_ok());
  Keys only_signature;
  only_signature.authentication.reset();
  auto issued = ca_->renew(municipality(), card_id, requests(card_id, only_signature, false));
  ASSERT_TRUE(issued.ok()) << issued.status().to_string();
  ASSERT_EQ(issued->size(), 1u);
  const CertificateRecord& new_sig = (*issued)[0];
  EXPECT_EQ(cdp_names(new_sig.der)[1], "URI:" + url() + "/crl/signature/131016.crl");
  ASSERT_TRUE(ca_->generate_crls().ok());
  // The move revoked the old certificate (affiliationChanged): listed where it says it is, Kiyose.
  EXPECT_EQ(partition_serials(ca_->partition_crl(kKiyose).value()), (std::vector<std::string>{old_sig.serial}));
  EXPECT_TRUE(partition_serials(ca_->partition_crl(card::testing::kChiyoda).value()).empty());
  save_cert(old_sig, "old");
  save_cert(new_sig, "new");
  save_crl(ca_->partition_crl(kKiyose).value(), "kiyose");
  save_crl(ca_->partition_crl(card::testing::kChiyoda).value(), "chiyoda");
  int rc = -1;
  std::string text = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile kiyose.crl old.pem", &rc);
  EXPECT_NE(text.find("certificate revoked"), std::string::npos) << text;
  text = cmd("openssl verify -crl_check -CAfile ca.pem -CRLfile chiyoda.crl new.pem", &rc);
  EXPECT_EQ(rc, 0) << text;
}

TEST_F(CrlPartitionTest, UnknownPartitionsAre404AndAMunicipalityWithoutCertificatesHasAnEmptyOne) {
  http::testing::Client client(server_->port());
  for (const char* path : {"/crl/signature/999999.crl", "/crl/signature/132218.crl", "/crl/signature/abc.crl",
                           "/crl/signature/132217.pem", "/crl/signature/1322170.crl"}) {
    auto reply = client.get(path);
    EXPECT_EQ(reply.result_int(), 404) << path;
    EXPECT_NE(reply.body().find("\"error\""), std::string::npos) << reply.body();
  }
  auto empty = client.get("/crl/signature/131024.crl");  // 中央区: no certificates here
  ASSERT_EQ(empty.result_int(), 200) << empty.body();
  EXPECT_TRUE(partition_serials(empty.body()).empty());
  EXPECT_EQ(partition_crl_number(empty.body()), 1);
  EXPECT_EQ(ca_->generate_partition("12345").status().code(), Code::not_found);
  EXPECT_EQ(client.get("/crl/signature.crl").result_int(), 200);  // the full CRL, where it was
}

}  // namespace
}  // namespace jlis::pki::testing
