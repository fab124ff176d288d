// End-entity subjects as real JPKI carries them (profile.h): the signature certificate names the
// prefecture and the municipality where it was issued, in romaji, and an issuance identifier; the
// authentication certificate names no place; no end-entity subject carries an organisation, and a
// simulation's issuer is the test hierarchy's.
#include "ca_fixture.h"

namespace jlis::pki::testing {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

Entries name_entries(const X509_NAME* name) {
  Entries out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    EXPECT_GE(n, 0);
    out.emplace_back(OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))),
                     std::string(reinterpret_cast<char*>(utf8), static_cast<size_t>(std::max(n, 0))));
    OPENSSL_free(utf8);
  }
  return out;
}

class SubjectTest : public CaTest {
 protected:
  // A resident of 清瀬市 (Tokyo) with a card and both certificates.
  registry::Resident kiyose_resident() {
    registry::ChangeEvent e;
    e.event_id = "kiyose-birth";
    e.type = registry::EventType::birth;
    e.date = card::testing::date("1990-04-01");
    e.person = registry::Person{"清瀬　花子", "キヨセ　ハナコ", e.date, registry::Sex::female,
                                "東京都清瀬市中里一丁目1番1号"};
    auto r = registry_->submit(card::testing::lg("132217"), e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r->resident;
  }
  std::map<CertificateKind, CertificateRecord> issued_to(const registry::Resident& r) {
    std::map<CertificateKind, CertificateRecord> out;
    auto list = ca_->certificates_of(municipality(r.municipality_code.str().c_str()), r.resident_code, "", "t");
    EXPECT_TRUE(list.ok()) << list.status().to_string();
    if (list.ok())
      for (auto& c : *list) out[c.kind] = c;
    return out;
  }
  const Keys keys_;
};

TEST_F(SubjectTest, SignatureNamesWhereItWasIssuedAuthenticationNamesNoPlace) {
  const auto holder = kiyose_resident();
  card_with_certificates(holder, keys_);
  auto certs = issued_to(holder);
  ASSERT_EQ(certs.size(), 2u);
  const auto& sig = certs[CertificateKind::signature];
  const auto& auth = certs[CertificateKind::authentication];
  auto sig_cert = x509_from_der(sig.der).value();
  auto auth_cert = x509_from_der(auth.der).value();
  EXPECT_EQ(name_entries(X509_get_subject_name(sig_cert.get())),
            (Entries{{"C", "JP"}, {"L", "Tokyo-to"}, {"L", "Kiyose-shi"},
                     {"CN", issuance_identifier(sig.serial, sig.not_before)}}));
  EXPECT_EQ(name_entries(X509_get_subject_name(auth_cert.get())),
            (Entries{{"C", "JP"}, {"CN", issuance_identifier(auth.serial, auth.not_before)}}));
  // The issuer keeps the CA's organisation (a production directory: JPKI).
  EXPECT_EQ(name_entries(X509_get_issuer_name(sig_cert.get())),
            (Entries{{"C", "JP"}, {"O", "JPKI"}, {"OU", "JPKI for digital signature"},
                     {"OU", "Japan Agency for Local Authority Information Systems"}}));
}

TEST_F(SubjectTest, ARenewalAfterAMoveNamesTheNewMunicipality) {
  const auto holder = kiyose_resident();
  const std::string card_id = card_with_certificates(holder, keys_);
  auto out = card::testing::CardTest::event("kiyose-out", registry::EventType::move_out, "2025-06-01",
                                            holder.resident_code);
  out.to = card::testing::kChiyoda;
  ASSERT_TRUE(change("132217", out).is_ok());
  auto in = card::testing::CardTest::event("kiyose-in", registry::EventType::move_in, "2025-06-02",
                                           holder.resident_code);
  in.from = "132217";
  in.address = "東京都千代田区丸の内一丁目1番1号";
  in.name = "清瀬　花子";
  in.date_of_birth = card::testing::date("1990-04-01");
  in.sex = registry::Sex::female;
  ASSERT_TRUE(change(card::testing::kChiyoda, in).is_ok());
  Keys only_signature;
  only_signature.signature = generate_rsa(2048).value();
  only_signature.authentication.reset();
  auto issued = ca_->renew(municipality(), card_id, requests(card_id, only_signature, false));
  ASSERT_TRUE(issued.ok()) << issued.status().to_string();
  ASSERT_EQ(issued->size(), 1u);
  auto cert = x509_from_der((*issued)[0].der).value();
  const Entries subject = name_entries(X509_get_subject_name(cert.get()));
  ASSERT_EQ(subject.size(), 4u);
  EXPECT_EQ(subject[1], (std::pair<std::string, std::string>{"L", "Tokyo-to"}));
  EXPECT_EQ(subject[2], (std::pair<std::string, std::string>{"L", "Chiyoda-ku"}));
}

// The profile alone: a test hierarchy's CA (a simulation) issues both kinds with its own name as the
// issuer, and no end-entity subject carries an organisation, JPKI or JPKI-TEST.
TEST(EndEntitySubject, ATestHierarchyIssuesUnderItsNameAndSubjectsCarryNoOrganisation) {
  auto ca_key = generate_rsa(2048).value();
  const int64_t now = 1'780'000'000;
  auto ca = make_ca_certificate({CertificateKind::signature, ca_key.get(), now - 3600, now + 86400, true}).value();
  auto holder_key = generate_rsa(2048).value();
  const auto der = rsa_public_key_der_from_pem(public_key_pem(holder_key.get()).value(), 2048).value();
  const BasicFourValues four{"山田　花子", "山田　花子", "2", "319850402", "東京都清瀬市中里一丁目1番1号",
                             "東京都清瀬市中里一丁目1番1号"};
  const RomajiLocality where{"Tokyo-to", "Kiyose-shi"};
  for (CertificateKind kind : {CertificateKind::signature, CertificateKind::authentication}) {
    EndEntityParams p;
    p.kind = kind;
    p.ca = ca.get();
    p.ca_key = ca_key.get();
    p.rsa_public_key = der.rsa_public_key;
    p.serial_hex = new_serial().value();
    p.not_before = now;
    p.not_after = now + 86400;
    p.public_url = "http://127.0.0.1:8080";
    p.basic_four = &four;
    p.locality = &where;
    p.municipality_code = "132217";
    auto der = make_end_entity_der(p);
    ASSERT_TRUE(der.ok()) << der.status().to_string();
    auto cert = x509_from_der(*der);
    ASSERT_TRUE(cert.ok()) << cert.status().to_string();
    const Entries issuer = name_entries(X509_get_issuer_name(cert->get()));
    ASSERT_GE(issuer.size(), 2u);
    EXPECT_EQ(issuer[1], (std::pair<std::string, std::string>{"O", "JPKI-TEST"}));
    for (const auto& [field, value] : name_entries(X509_get_subject_name(cert->get()))) {
      EXPECT_NE(field, "O") << value;
      EXPECT_EQ(value.find("JPKI"), std::string::npos) << field << "=" << value;
    }
  }
  // A signature certificate without its locality is a programming error, refused.
  EndEntityParams p;
  p.kind = CertificateKind::signature;
  p.ca = ca.get();
  p.ca_key = ca_key.get();
  p.rsa_public_key = der.rsa_public_key;
  p.serial_hex = new_serial().value();
  p.basic_four = &four;
  EXPECT_EQ(make_end_entity_der(p).status().code(), Code::internal);
}

TEST(EndEntitySubject, TheIssuanceIdentifierIsTheDayInJapanAndADigestOfTheSerial) {
  const std::string serial = "1f0e2d3c4b5a69788796a5b4c3d2e1f0";
  // 2026-12-01 15:30 UTC is 2026-12-02 00:30 in Japan.
  const int64_t at = Date::parse_iso("2026-12-01").value().days_since_epoch() * 86400 + 15 * 3600 + 1800;
  const std::string id = issuance_identifier(serial, at);
  ASSERT_EQ(id.size(), 24u);
  EXPECT_EQ(id.substr(0, 8), "20261202");
  EXPECT_EQ(id.substr(8), "6215B668D05B7381");  // SHA-256 of the serial's text, computed by Python's hashlib
  for (char c : id.substr(8)) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')) << id;
  EXPECT_EQ(id, issuance_identifier(serial, at));  // stable
  EXPECT_EQ(id.find(serial.substr(0, 8)), std::string::npos);
  std::string upper = serial;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(id.find(upper.substr(0, 8)), std::string::npos);  // not the serial
  EXPECT_NE(issuance_identifier("2f0e2d3c4b5a69788796a5b4c3d2e1f0", at).substr(8), id.substr(8));
  EXPECT_EQ(issuance_identifier(serial, at - 3600).substr(0, 8), "20261201");  // 23:30 in Japan
}

}  // namespace
}  // namespace jlis::pki::testing
