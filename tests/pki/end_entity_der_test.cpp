// The end-entity certificate as DER assembled from parts (profile.h make_end_entity_der) is, byte
// for byte, the certificate OpenSSL builds from its own objects with the same inputs: the way the
// CA built it before. RSA PKCS #1 v1.5 signatures are deterministic, so the whole certificate,
// signature included, must be equal. Every kind and device, both hierarchies, a later generation's
// CRL name, serials of every shape, UTCTime and GeneralizedTime on both sides of 2050, and values
// long enough for two-octet lengths.
#include <gtest/gtest.h>

#include "common/digest.h"
#include "pki/certificate_builder.h"
#include "pki/crl.h"
#include "pki/der.h"
#include "pki/profile.h"
#include "test_cache.h"

namespace jlis::pki::testing {
namespace {

// subjectAltName with the basic four as otherName UTF8String values, from OpenSSL's objects.
void add_basic_four(X509* cert, const BasicFourValues& v) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  const std::string* values[] = {&v.name, &v.name_substitute, &v.sex, &v.date_of_birth, &v.address,
                                 &v.address_substitute};
  for (int i = 0; i < 6; ++i) {
    ASN1_OBJECT* oid = OBJ_txt2obj((std::string(kBasicFourArc) + "." + std::to_string(i + 1)).c_str(), 1);
    ASN1_UTF8STRING* text = ASN1_UTF8STRING_new();
    ASN1_STRING_set(text, values[i]->data(), static_cast<int>(values[i]->size()));
    ASN1_TYPE* value = ASN1_TYPE_new();
    ASN1_TYPE_set(value, V_ASN1_UTF8STRING, text);
    GENERAL_NAME* name = GENERAL_NAME_new();
    GENERAL_NAME_set0_othername(name, oid, value);
    sk_GENERAL_NAME_push(names.get(), name);
  }
  ASSERT_EQ(X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT), 1);
}

// cRLDistributionPoints naming the municipality's partition, from OpenSSL's objects.
void add_partition_point(X509* cert, const EndEntityParams& p, const std::string& crl_name) {
  auto name = crl_partition_name(p.ca, p.locality->prefecture, p.municipality_code).value();
  auto points =
      distribution_points(name.get(), crl_partition_url(p.public_url, crl_name, p.municipality_code)).value();
  ASSERT_EQ(X509_add1_ext_i2d(cert, NID_crl_distribution_points, points.get(), 0, X509V3_ADD_DEFAULT), 1);
}

// The certificate of `p` built from OpenSSL's objects (X509_NAME, X509V3 extensions, X509_sign).
std::string reference_der(const EndEntityParams& p) {
  const std::string crl_name = p.crl_name.empty() ? std::string(kind_name(p.kind)) : p.crl_name;
  const bool signature = p.kind == CertificateKind::signature;
  X509NamePtr subject(X509_NAME_new());
  EXPECT_TRUE(build::add_entry(subject.get(), "C", "JP").is_ok());
  if (signature) {
    EXPECT_TRUE(build::add_entry(subject.get(), "L", p.locality->prefecture).is_ok());
    EXPECT_TRUE(build::add_entry(subject.get(), "L", p.locality->municipality).is_ok());
  }
  EXPECT_TRUE(build::add_entry(subject.get(), "CN", issuance_identifier(p.serial_hex, p.not_before)).is_ok());
  auto cert = build::skeleton(p.serial_hex, p.not_before, p.not_after, subject.get(), X509_get_subject_name(p.ca),
                              {nullptr, p.rsa_public_key})
                  .value();
  X509* c = cert.get();
  auto ext = [&](int nid, const std::string& value) { EXPECT_TRUE(build::add_ext(c, p.ca, nid, value).is_ok()); };
  if (signature) {
    ext(NID_key_usage, "critical,digitalSignature,nonRepudiation");
  } else {
    ext(NID_key_usage, "critical,digitalSignature");
    ext(NID_ext_key_usage, "clientAuth");
  }
  const std::string policy = std::string("1.2.392.200149.8.5.1.") + (signature ? "1." : "3.") +
                             (p.device == Device::card ? "10" : "30");
  EXPECT_TRUE(build::add_policy(c, policy.c_str()).is_ok());
  if (!signature) ext(NID_crl_distribution_points, "URI:" + p.public_url + "/crl/" + crl_name + ".crl");
  ext(NID_info_access, "OCSP;URI:" + p.public_url + "/ocsp");
  ext(NID_authority_key_identifier, "keyid:always");
  if (signature) {
    add_partition_point(c, p, crl_name);
    add_basic_four(c, *p.basic_four);
  }
  ext(NID_subject_key_identifier, "hash");
  EXPECT_TRUE(build::sign(c, p.ca_key).is_ok());
  return x509_der(c).value();
}

class EndEntityDer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_key_ = cached_rsa_key(0).release();
    holder_key_ = cached_rsa_key(1).release();
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(ca_key_);
    EVP_PKEY_free(holder_key_);
  }
  static X509Ptr ca(CertificateKind kind, bool test_hierarchy) {
    return make_ca_certificate({kind, ca_key_, kNow - 3600, kNow + 20 * 365 * 86400LL, test_hierarchy}).value();
  }
  EndEntityParams params(X509* ca, CertificateKind kind, Device device) {
    EndEntityParams p;
    p.kind = kind;
    p.device = device;
    p.ca = ca;
    p.ca_key = ca_key_;
    p.rsa_public_key = holder_.rsa_public_key;
    p.serial_hex = new_serial().value();
    p.not_before = kNow;
    p.not_after = kNow + 5 * 365 * 86400LL;
    p.public_url = "http://127.0.0.1:8080";
    p.basic_four = &four_;
    p.locality = &where_;
    p.municipality_code = "132217";
    return p;
  }
  // Asserts the DER equals the reference, verifies with the CA's key and re-encodes to itself.
  static void expect_as_openssl_builds(const EndEntityParams& p) {
    auto der = make_end_entity_der(p);
    ASSERT_TRUE(der.ok()) << der.status().to_string();
    EXPECT_EQ(to_hex(*der), to_hex(reference_der(p))) << p.serial_hex << " " << p.not_before << " " << p.not_after;
    auto cert = x509_from_der(*der);
    ASSERT_TRUE(cert.ok()) << cert.status().to_string();
    EXPECT_EQ(X509_verify(cert->get(), ca_key_), 1);
  }

  static constexpr int64_t kNow = 1'780'000'000;
  static inline EVP_PKEY* ca_key_ = nullptr;
  static inline EVP_PKEY* holder_key_ = nullptr;
  const RsaPublicKeyDer holder_ = rsa_public_key_der_from_pem(public_key_pem(holder_key_).value(), 2048).value();
  BasicFourValues four_{"髙橋　花子", "高橋　花子", "2", "319850402", "東京都清瀬市中里一丁目1番1号",
                        "東京都清瀬市中里一丁目1番1号"};
  RomajiLocality where_{"Tokyo-to", "Kiyose-shi"};
};

TEST_F(EndEntityDer, EveryKindAndDeviceUnderBothHierarchiesIsWhatOpensslBuilds) {
  int checked = 0;
  for (bool test_hierarchy : {false, true})
    for (CertificateKind kind : {CertificateKind::signature, CertificateKind::authentication}) {
      X509Ptr issuer = ca(kind, test_hierarchy);
      for (Device device : {Device::card, Device::smartphone}) {
        expect_as_openssl_builds(params(issuer.get(), kind, device));
        ++checked;
      }
    }
  EXPECT_EQ(checked, 8);
}

TEST_F(EndEntityDer, ALaterGenerationsCrlNameAndAnotherMunicipalityAreWhatOpensslBuilds) {
  X509Ptr issuer = ca(CertificateKind::signature, false);
  EndEntityParams p = params(issuer.get(), CertificateKind::signature, Device::card);
  p.crl_name = "signature-g2";
  expect_as_openssl_builds(p);
  where_ = {"Hokkaido", "Sapporo-shi Chuo-ku"};
  p.municipality_code = "011011";
  expect_as_openssl_builds(p);
  X509Ptr auth = ca(CertificateKind::authentication, false);
  EndEntityParams a = params(auth.get(), CertificateKind::authentication, Device::card);
  a.crl_name = "authentication-g2";
  a.public_url = "https://jpki.example.jp";
  expect_as_openssl_builds(a);
}

TEST_F(EndEntityDer, SerialsOfEveryShapeAreWhatOpensslBuilds) {
  X509Ptr issuer = ca(CertificateKind::authentication, false);
  // One octet, a first bit set (a leading zero octet), leading zeros, an odd number of digits, 40
  // digits, zero.
  for (const char* serial : {"0f", "80", "ff00", "00000a", "abc", "7fffffffffffffffffffffffffffffffffffffff", "0"}) {
    EndEntityParams p = params(issuer.get(), CertificateKind::authentication, Device::card);
    p.serial_hex = serial;
    expect_as_openssl_builds(p);
  }
  EndEntityParams p = params(issuer.get(), CertificateKind::authentication, Device::card);
  for (const char* bad : {"", "xyz", "12345678901234567890123456789012345678901"}) {
    p.serial_hex = bad;
    EXPECT_EQ(make_end_entity_der(p).status().code(), Code::invalid_argument) << bad;
  }
}

TEST_F(EndEntityDer, TimesEitherSideOf2050AreWhatOpensslBuilds) {
  X509Ptr issuer = ca(CertificateKind::signature, true);
  const int64_t last_utc = 2524607999;  // 2049-12-31T23:59:59Z: the last UTCTime
  for (auto [from, until] : std::vector<std::pair<int64_t, int64_t>>{
           {kNow, last_utc}, {kNow, last_utc + 1}, {last_utc + 1, last_utc + 86400}, {-631152000, kNow}}) {
    EndEntityParams p = params(issuer.get(), CertificateKind::signature, Device::card);
    p.not_before = from;  // -631152000: 1950-01-01T00:00:00Z, the first UTCTime
    p.not_after = until;
    expect_as_openssl_builds(p);
  }
  EXPECT_EQ(der::time_element(-631152001).value(), der::element(der::kGeneralizedTime, "19491231235959Z"));
  EXPECT_EQ(der::time_element(last_utc).value(), der::element(der::kUtcTime, "491231235959Z"));
}

TEST_F(EndEntityDer, ValuesLongEnoughForLongLengthsAreWhatOpensslBuilds) {
  X509Ptr issuer = ca(CertificateKind::signature, false);
  std::string address = "東京都清瀬市中里一丁目1番1号";
  while (address.size() < 300) address += "の二";  // over 255 octets: two length octets inside the extension
  four_.address = four_.address_substitute = address;
  four_.name = "ア";  // and a one-octet value beside them
  expect_as_openssl_builds(params(issuer.get(), CertificateKind::signature, Device::card));
  where_.municipality = std::string(128, 'x');  // over 127 octets in the subject: the bound of a locality
  expect_as_openssl_builds(params(issuer.get(), CertificateKind::signature, Device::card));
  where_.municipality += 'x';  // beyond it, refused as OpenSSL refuses it
  EXPECT_EQ(make_end_entity_der(params(issuer.get(), CertificateKind::signature, Device::card)).status().code(),
            Code::internal);
}

TEST_F(EndEntityDer, ACaKeyThatIsNotRsaIsRefused) {
  X509Ptr issuer = ca(CertificateKind::authentication, false);
  EndEntityParams p = params(issuer.get(), CertificateKind::authentication, Device::card);
  EvpPkeyPtr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(ec);
  p.ca_key = ec.get();
  EXPECT_EQ(make_end_entity_der(p).status().code(), Code::internal);
}

TEST(Der, LengthsAndIntegersAreMinimal) {
  EXPECT_EQ(der::element(der::kOctetString, ""), std::string("\x04\x00", 2));
  EXPECT_EQ(der::element(der::kOctetString, std::string(127, 'a')).substr(0, 2), "\x04\x7f");
  EXPECT_EQ(der::element(der::kOctetString, std::string(128, 'a')).substr(0, 3), "\x04\x81\x80");
  EXPECT_EQ(der::element(der::kOctetString, std::string(65536, 'a')).substr(0, 5),
            std::string("\x04\x83\x01\x00\x00", 5));
  EXPECT_EQ(der::integer_content("0").value(), std::string(1, '\0'));
  EXPECT_EQ(der::integer_content("000080").value(), std::string("\x00\x80", 2));
  EXPECT_EQ(der::integer_content("1ff").value(), "\x01\xff");
}

}  // namespace
}  // namespace jlis::pki::testing
