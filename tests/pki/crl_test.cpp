// CRLs from build_crl, read back with OpenSSL and checked by the openssl command.
#include "pki/crl.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "test_ca.h"

namespace jlis::pki {
namespace {

namespace fs = std::filesystem;
using testing::CertSpec;
using testing::make_cert;
using testing::make_key;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE_free>>;
using Asn1EnumeratedPtr = std::unique_ptr<ASN1_ENUMERATED, OpensslDeleter<ASN1_ENUMERATED_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, OpensslDeleter<AUTHORITY_KEYID_free>>;

constexpr int64_t kThisUpdate = 1767225600;  // 2026-01-01T00:00:00Z

struct Ca {
  EvpPkeyPtr key;
  X509Ptr cert;
};

const Ca& test_ca() {
  static const Ca* ca = [] {
    auto* c = new Ca{make_key(), nullptr};
    CertSpec spec;
    spec.common_name = "OpenJLIS CRL test CA";
    spec.ca = true;
    c->cert = make_cert(spec, c->key.get());
    return c;
  }();
  return *ca;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

CrlParams params(const Ca& ca, int64_t number = 7) {
  CrlParams p;
  p.issuer = ca.cert.get();
  p.key = ca.key.get();
  p.this_update = kThisUpdate;
  p.next_update = kThisUpdate + 86400;
  p.crl_number = number;
  return p;
}

X509CrlPtr parse(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  return crl;
}

int reason_of(X509_REVOKED* r) {
  int crit = 0;
  Asn1EnumeratedPtr reason(
      static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr)));
  return reason ? static_cast<int>(ASN1_ENUMERATED_get(reason.get())) : -1;
}

std::string raw(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

TEST(CrlReasons, NamesRoundTripAsRfc5280SpellsThem) {
  const std::vector<std::pair<RevocationReason, std::string>> all = {
      {RevocationReason::unspecified, "unspecified"},
      {RevocationReason::key_compromise, "keyCompromise"},
      {RevocationReason::ca_compromise, "cACompromise"},
      {RevocationReason::affiliation_changed, "affiliationChanged"},
      {RevocationReason::superseded, "superseded"},
      {RevocationReason::cessation_of_operation, "cessationOfOperation"},
      {RevocationReason::certificate_hold, "certificateHold"},
      {RevocationReason::remove_from_crl, "removeFromCRL"},
      {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
      {RevocationReason::aa_compromise, "aACompromise"},
  };
  for (const auto& [reason, name] : all) {
    EXPECT_EQ(reason_name(reason), name);
    auto parsed = parse_reason(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, reason);
  }
  EXPECT_EQ(parse_reason("KeyCompromise").status().code(), Code::invalid_argument);
  EXPECT_EQ(parse_reason("").status().code(), Code::invalid_argument);
  EXPECT_EQ(parse_reason("7").status().code(), Code::invalid_argument);
}

TEST(CrlBuild, ReadsBackSortedSignedWithExtensions) {
  const Ca& ca = test_ca();
  const std::vector<RevokedEntry> entries = {
      {bytes({0x12, 0x34}), kThisUpdate - 100, RevocationReason::key_compromise},
      {bytes({0x01}), kThisUpdate - 200, RevocationReason::unspecified},
      {bytes({0x00, 0x00, 0x05}), kThisUpdate - 300, RevocationReason::cessation_of_operation},  // = 5
      {bytes({0xff, 0x01}), 2556144000, RevocationReason::aa_compromise},  // 2051: GeneralizedTime
      {bytes({0x80}), kThisUpdate - 400, RevocationReason::certificate_hold},
      {bytes({0x12, 0x33}), kThisUpdate - 500, RevocationReason::privilege_withdrawn},
  };
  auto der = build_crl(params(ca), entries);
  ASSERT_TRUE(der.ok()) << der.status().to_string();
  X509CrlPtr crl = parse(*der);
  ASSERT_NE(crl, nullptr);

  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.cert.get())), 0);
  EXPECT_EQ(*unix_seconds(X509_CRL_get0_lastUpdate(crl.get())), kThisUpdate);
  EXPECT_EQ(*unix_seconds(X509_CRL_get0_nextUpdate(crl.get())), kThisUpdate + 86400);
  EXPECT_EQ(X509_CRL_get_signature_nid(crl.get()), NID_sha256WithRSAEncryption);

  int crit = -1;
  Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &crit, nullptr)));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(crit, 0);
  EXPECT_EQ(ASN1_INTEGER_get(number.get()), 7);
  AuthorityKeyIdPtr akid(
      static_cast<AUTHORITY_KEYID*>(X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, &crit, nullptr)));
  ASSERT_NE(akid, nullptr);
  ASSERT_NE(akid->keyid, nullptr);
  EXPECT_EQ(raw(akid->keyid), raw(X509_get0_subject_key_id(ca.cert.get())));
  EXPECT_EQ(X509_CRL_get_ext_count(crl.get()), 2);

  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  ASSERT_EQ(sk_X509_REVOKED_num(revoked), 6);
  const std::vector<std::string> serials = {"1", "5", "80", "1233", "1234", "ff01"};
  const std::vector<int> reasons = {-1, 5, 6, 9, 1, 10};
  const std::vector<int64_t> times = {kThisUpdate - 200, kThisUpdate - 300, kThisUpdate - 400,
                                      kThisUpdate - 500, kThisUpdate - 100, 2556144000};
  for (int i = 0; i < 6; ++i) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    EXPECT_EQ(serial_hex(X509_REVOKED_get0_serialNumber(r)), serials[static_cast<size_t>(i)]);
    EXPECT_EQ(reason_of(r), reasons[static_cast<size_t>(i)]) << i;
    EXPECT_EQ(*unix_seconds(X509_REVOKED_get0_revocationDate(r)), times[static_cast<size_t>(i)]);
    EXPECT_EQ(X509_REVOKED_get_ext_count(r), reasons[static_cast<size_t>(i)] < 0 ? 0 : 1);
  }
  EXPECT_EQ(ASN1_STRING_type(X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(revoked, 5))),
            V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ASN1_STRING_type(X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(revoked, 0))), V_ASN1_UTCTIME);
  // 0x80 needs a sign byte in DER: ASN1_INTEGER has the magnitude, OpenSSL adds it.
  EXPECT_EQ(ASN1_INTEGER_get(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, 2))), 0x80);

  // The bytes are exactly what X509_CRL_sign and i2d_X509_CRL make of the same CRL (RSA PKCS#1
  // v1.5 signatures are deterministic).
  ASSERT_GT(X509_CRL_sign(crl.get(), ca.key.get(), EVP_sha256()), 0);
  unsigned char* out = nullptr;
  const int n = i2d_X509_CRL(crl.get(), &out);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n)), *der);
  OPENSSL_free(out);
}

TEST(CrlBuild, EmptyListAndCaWithoutSubjectKeyIdentifier) {
  Ca ca{make_key(), nullptr};
  CertSpec spec;
  spec.common_name = "CA without SKI";
  spec.ca = true;
  spec.subject_key_id = false;
  ca.cert = make_cert(spec, ca.key.get());
  ASSERT_EQ(X509_get0_subject_key_id(ca.cert.get()), nullptr);
  ERR_clear_error();
  auto der = build_crl(params(ca, 0), {});
  ASSERT_TRUE(der.ok()) << der.status().to_string();
  X509CrlPtr crl = parse(*der);
  ASSERT_NE(crl, nullptr);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.cert.get())), 1);
  EXPECT_EQ(X509_CRL_get_REVOKED(crl.get()), nullptr);  // revokedCertificates absent when empty
  int crit = -1;
  AuthorityKeyIdPtr akid(
      static_cast<AUTHORITY_KEYID*>(X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, &crit, nullptr)));
  ASSERT_NE(akid, nullptr);
  unsigned char sha1[20];
  unsigned int len = 0;
  ASSERT_EQ(X509_pubkey_digest(ca.cert.get(), EVP_sha1(), sha1, &len), 1);
  EXPECT_EQ(raw(akid->keyid), std::string(reinterpret_cast<char*>(sha1), len));
}

TEST(CrlBuild, RejectsBadInput) {
  const Ca& ca = test_ca();
  auto code = [&](CrlParams p, std::vector<RevokedEntry> e) { return build_crl(p, e).status().code(); };
  CrlParams no_key = params(ca);
  no_key.key = nullptr;
  EXPECT_EQ(code(no_key, {}), Code::invalid_argument);
  CrlParams backwards = params(ca);
  backwards.next_update = backwards.this_update - 1;
  EXPECT_EQ(code(backwards, {}), Code::invalid_argument);
  const int64_t t = kThisUpdate;
  EXPECT_EQ(code(params(ca), {{"", t, RevocationReason::unspecified}}), Code::invalid_argument);
  EXPECT_EQ(code(params(ca), {{bytes({0, 0}), t, RevocationReason::unspecified}}), Code::invalid_argument);
  EXPECT_EQ(code(params(ca), {{std::string(21, 'x'), t, RevocationReason::unspecified}}), Code::invalid_argument);
  EXPECT_EQ(code(params(ca), {{bytes({1}), t, static_cast<RevocationReason>(7)}}), Code::invalid_argument);
  EXPECT_EQ(code(params(ca), {{bytes({1}), t, RevocationReason::unspecified},
                              {bytes({0, 1}), t, RevocationReason::superseded}}),
            Code::invalid_argument);  // the same serial twice
  EXPECT_TRUE(build_crl(params(ca), {{std::string(20, 'x'), t, RevocationReason::superseded}}).ok());
}

TEST(CrlBuild, ManyEntriesSortedNumerically) {
  const Ca& ca = test_ca();
  std::mt19937_64 rng(7);
  std::vector<RevokedEntry> entries;
  for (int i = 0; i < 20000; ++i) {
    std::string serial(1 + rng() % 20, '\0');
    for (auto& c : serial) c = static_cast<char>(rng());
    serial[0] = static_cast<char>(1 + rng() % 255);
    entries.push_back({serial, kThisUpdate - static_cast<int64_t>(rng() % 1000000),
                       static_cast<RevocationReason>(rng() % 6)});
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.serial < b.serial; });
  entries.erase(std::unique(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.serial == b.serial; }),
                entries.end());
  std::shuffle(entries.begin(), entries.end(), rng);
  auto der = build_crl(params(ca), entries);
  ASSERT_TRUE(der.ok()) << der.status().to_string();
  X509CrlPtr crl = parse(*der);
  ASSERT_NE(crl, nullptr);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.cert.get())), 1);
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  ASSERT_EQ(static_cast<size_t>(sk_X509_REVOKED_num(revoked)), entries.size());
  for (int i = 1; i < sk_X509_REVOKED_num(revoked); ++i) {
    ASSERT_LT(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i - 1)),
                               X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))),
              0)
        << i;
  }
  // Already sorted input gives the same CRL.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.serial.size() != b.serial.size() ? a.serial.size() < b.serial.size() : a.serial < b.serial;
  });
  auto again = build_crl(params(ca), entries);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *der);
}

// --- assemble_crl: stored entry DERs concatenated, byte-identical to build_crl ---

// The entries' DER in serial order, as the CA reads them back from its rows.
std::string entries_der(std::vector<RevokedEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return serial_less(a.serial, b.serial); });
  std::string out;
  for (const auto& e : entries) {
    auto der = encode_crl_entry(e);
    EXPECT_TRUE(der.ok()) << der.status().to_string();
    if (der.ok()) out += *der;
  }
  return out;
}

void expect_same_crl(const CrlParams& p, const std::vector<RevokedEntry>& entries) {
  auto reference = build_crl(p, entries);
  ASSERT_TRUE(reference.ok()) << reference.status().to_string();
  auto assembled = assemble_crl(p, entries_der(entries));
  ASSERT_TRUE(assembled.ok()) << assembled.status().to_string();
  ASSERT_EQ(assembled->size(), reference->size());
  EXPECT_TRUE(*assembled == *reference) << "first difference at byte "
                                        << std::mismatch(assembled->begin(), assembled->end(), reference->begin()).first -
                                               assembled->begin();
  X509CrlPtr crl = parse(*assembled);
  ASSERT_NE(crl, nullptr);
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(test_ca().cert.get())), 1);
  EXPECT_EQ(std::max(0, sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get()))), static_cast<int>(entries.size()));
}

TEST(CrlAssemble, SequenceHeadersAreDer) {
  std::string out = "x";
  ASSERT_TRUE(append_sequence_header(out, 0).is_ok());
  EXPECT_EQ(out, "x" + bytes({0x30, 0x00}));
  out.clear();
  ASSERT_TRUE(append_sequence_header(out, 127).is_ok());
  EXPECT_EQ(out, bytes({0x30, 0x7f}));
  out.clear();
  ASSERT_TRUE(append_sequence_header(out, 128).is_ok());
  EXPECT_EQ(out, bytes({0x30, 0x81, 0x80}));
  out.clear();
  ASSERT_TRUE(append_sequence_header(out, 256).is_ok());
  EXPECT_EQ(out, bytes({0x30, 0x82, 0x01, 0x00}));
  out.clear();
  ASSERT_TRUE(append_sequence_header(out, 50000000).is_ok());
  EXPECT_EQ(out, bytes({0x30, 0x84, 0x02, 0xfa, 0xf0, 0x80}));
  out.clear();
  EXPECT_EQ(append_sequence_header(out, size_t{1} << 40).code(), Code::invalid_argument);
  EXPECT_TRUE(out.empty());
}

TEST(CrlAssemble, EntryDerIsOpensslsAndRejectsBadInput) {
  auto der = encode_crl_entry({bytes({0x00, 0x80, 0x01}), kThisUpdate, RevocationReason::key_compromise});
  ASSERT_TRUE(der.ok()) << der.status().to_string();
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  std::unique_ptr<X509_REVOKED, OpensslDeleter<X509_REVOKED_free>> r(d2i_X509_REVOKED(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(r, nullptr);
  // The leading zero byte is dropped, and a sign byte added for the high bit.
  EXPECT_EQ(raw(X509_REVOKED_get0_serialNumber(r.get())), bytes({0x80, 0x01}));
  EXPECT_EQ(der->substr(2, 5), bytes({0x02, 0x03, 0x00, 0x80, 0x01}));
  EXPECT_EQ(reason_of(r.get()), 1);
  EXPECT_EQ(encode_crl_entry({"", kThisUpdate, RevocationReason::superseded}).status().code(), Code::invalid_argument);
  EXPECT_EQ(encode_crl_entry({bytes({0, 0}), kThisUpdate, RevocationReason::superseded}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(encode_crl_entry({std::string(21, '\x01'), kThisUpdate, RevocationReason::superseded}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(encode_crl_entry({bytes({1}), kThisUpdate, static_cast<RevocationReason>(7)}).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(encode_crl_entry({bytes({1}), int64_t{1} << 50, RevocationReason::superseded}).status().code(),
            Code::invalid_argument);
}

TEST(CrlAssemble, SameBytesAsOpensslForNoneOneAndMany) {
  const Ca& ca = test_ca();
  expect_same_crl(params(ca), {});
  expect_same_crl(params(ca), {{bytes({0x01}), kThisUpdate - 5, RevocationReason::unspecified}});
  // Every reason code, serials with the high bit set, with leading zero bytes, of 1 to 20 bytes,
  // and times on both sides of 2050 (UTCTime and GeneralizedTime).
  std::vector<RevokedEntry> entries;
  const int reasons[] = {0, 1, 2, 3, 4, 5, 6, 8, 9, 10};
  std::mt19937_64 rng(13);
  for (int i = 0; i < 3000; ++i) {
    std::string serial(1 + rng() % 20, '\0');
    for (auto& c : serial) c = static_cast<char>(rng());
    serial[0] = static_cast<char>(i % 3 == 0 ? 0x80 | rng() : 1 + rng() % 255);
    if (i % 7 == 0) serial.insert(0, 1, '\0');
    if (serial.size() > 20) serial.resize(20);
    const int64_t at = i % 11 == 0 ? int64_t{2556143999} + i : kThisUpdate - static_cast<int64_t>(rng() % 1000000);
    entries.push_back({serial, at, static_cast<RevocationReason>(reasons[i % 10])});
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return serial_less(a.serial, b.serial); });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const auto& a, const auto& b) { return !serial_less(a.serial, b.serial) && !serial_less(b.serial, a.serial); }),
                entries.end());
  std::shuffle(entries.begin(), entries.end(), rng);
  expect_same_crl(params(ca), entries);

  CrlParams full = params(ca, 8);
  full.freshest_crl_url = "http://crl.example.jp/crl/signature-delta.crl";
  expect_same_crl(full, entries);
  CrlParams delta = params(ca, 9);
  delta.delta_base = 8;
  expect_same_crl(delta, entries);
}

TEST(CrlAssemble, DifferentEntriesGiveDifferentBytes) {
  // The comparison above can fail: one changed reason changes the CRL.
  const Ca& ca = test_ca();
  std::vector<RevokedEntry> entries = {{bytes({0x05}), kThisUpdate - 5, RevocationReason::superseded}};
  auto reference = build_crl(params(ca), entries);
  entries[0].reason = RevocationReason::key_compromise;
  auto assembled = assemble_crl(params(ca), entries_der(entries));
  ASSERT_TRUE(reference.ok() && assembled.ok());
  EXPECT_NE(*reference, *assembled);
}

TEST(CrlAssemble, DeltaAndFreshestExtensions) {
  const Ca& ca = test_ca();
  CrlParams full = params(ca, 20);
  full.freshest_crl_url = "http://crl.example.jp/crl/signature-delta.crl";
  auto der = assemble_crl(full, std::string_view());
  ASSERT_TRUE(der.ok()) << der.status().to_string();
  X509CrlPtr crl = parse(*der);
  ASSERT_NE(crl, nullptr);
  int crit = -1;
  std::unique_ptr<CRL_DIST_POINTS, OpensslDeleter<CRL_DIST_POINTS_free>> points(
      static_cast<CRL_DIST_POINTS*>(X509_CRL_get_ext_d2i(crl.get(), NID_freshest_crl, &crit, nullptr)));
  ASSERT_NE(points, nullptr);
  EXPECT_EQ(crit, 0);
  ASSERT_EQ(sk_DIST_POINT_num(points.get()), 1);
  GENERAL_NAMES* names = sk_DIST_POINT_value(points.get(), 0)->distpoint->name.fullname;
  ASSERT_EQ(sk_GENERAL_NAME_num(names), 1);
  EXPECT_EQ(raw(sk_GENERAL_NAME_value(names, 0)->d.uniformResourceIdentifier), full.freshest_crl_url);
  EXPECT_EQ(X509_CRL_get_ext_d2i(crl.get(), NID_delta_crl, &crit, nullptr), nullptr);

  CrlParams delta = params(ca, 21);
  delta.delta_base = 20;
  der = assemble_crl(delta, std::string_view());
  ASSERT_TRUE(der.ok()) << der.status().to_string();
  crl = parse(*der);
  ASSERT_NE(crl, nullptr);
  Asn1IntegerPtr base(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_delta_crl, &crit, nullptr)));
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(crit, 1);
  EXPECT_EQ(ASN1_INTEGER_get(base.get()), 20);
  delta.delta_base = 21;
  EXPECT_EQ(assemble_crl(delta, std::string_view()).status().code(), Code::invalid_argument);
}

TEST(CrlBuild, OpensslCommandsReadAndUseIt) {
  const Ca& ca = test_ca();
  EvpPkeyPtr leaf_key = make_key();
  auto leaf = [&](const char* serial) {
    CertSpec s;
    s.common_name = std::string("leaf ") + serial;
    s.serial_hex = serial;
    s.issuer = ca.cert.get();
    s.issuer_key = ca.key.get();
    return make_cert(s, leaf_key.get());
  };
  X509Ptr revoked = leaf("2001");
  X509Ptr good = leaf("2002");
  CrlParams p = params(ca, 42);
  p.this_update = static_cast<int64_t>(std::time(nullptr)) - 60;  // `openssl verify` checks the dates
  p.next_update = p.this_update + 86400;
  auto der = build_crl(p, {{bytes({0x20, 0x01}), p.this_update - 10, RevocationReason::key_compromise},
                           {bytes({0x30, 0x01}), p.this_update - 10, RevocationReason::unspecified}});
  ASSERT_TRUE(der.ok()) << der.status().to_string();

  char dir_template[] = "/tmp/jlis-crl-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const fs::path dir = dir_template;
  testing::write_file(dir / "crl.der", *der);
  testing::write_file(dir / "ca.pem", testing::cert_pem(ca.cert.get()));
  testing::write_file(dir / "revoked.pem", testing::cert_pem(revoked.get()));
  testing::write_file(dir / "good.pem", testing::cert_pem(good.get()));
  int rc = -1;
  const std::string text = testing::run("openssl crl -inform DER -in " + (dir / "crl.der").string() +
                                            " -noout -text -CAfile " + (dir / "ca.pem").string() + " 2>&1",
                                        &rc);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("verify OK"), std::string::npos) << text;
  EXPECT_NE(text.find("Version 2 (0x1)"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 CRL Number: \n                42"), std::string::npos) << text;
  EXPECT_NE(text.find("Serial Number: 2001"), std::string::npos) << text;
  EXPECT_NE(text.find("Key Compromise"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos) << text;

  testing::run("openssl crl -inform DER -in " + (dir / "crl.der").string() + " -out " + (dir / "crl.pem").string(),
               &rc);
  ASSERT_EQ(rc, 0);
  const std::string verify = "cd " + dir.string() + " && openssl verify -crl_check -CAfile ca.pem -CRLfile crl.pem ";
  std::string out = testing::run(verify + "revoked.pem 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = testing::run(verify + "good.pem 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("good.pem: OK"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace jlis::pki
