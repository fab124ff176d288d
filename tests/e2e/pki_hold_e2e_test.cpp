// The certificates' temporary hold (電子証明書の一時保留) as a new user tries it, through `jlis serve`
// on loopback, read by real, unmodified clients (issue 18, defect 3):
//   - a card suspended by the call centre: `openssl ocsp` answers revoked with reason
//     certificateHold, the CRL (fetched over HTTP) lists it with that reason (openssl crl, GnuTLS
//     certtool, Python cryptography), NSS vfychain refuses it;
//   - the card resumed: the held certificates stay revoked for good (cessationOfOperation) and new
//     ones, from new keys proven by PKCS#10 requests, are issued and answer good;
//   - the smartphone's user-authentication certificate released by the holder's own flow answers
//     good again and leaves the next CRL;
//   - a loss or a death while on hold: permanent revocation with that reason, in every client.
#include "pki_fixture.h"

namespace jlis::e2e {
namespace {

// Reads a PEM CRL with Python's cryptography: {serial (lower-case hex): reason name or ""}.
constexpr const char* kCrlReasons = R"(import json, sys
from cryptography import x509
crl = x509.load_pem_x509_crl(open(sys.argv[1], 'rb').read())
out = {}
for r in crl:
    try:
        reason = r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
    except x509.ExtensionNotFound:
        reason = ''
    out[format(r.serial_number, 'x')] = reason
print(json.dumps(out))
)";

class PkiHoldE2E : public PkiE2E {
 protected:
  // The CRL of `kind` as Python's cryptography reads it, after polling it over HTTP for up to 15 s
  // until `serial` has `reason` (a cryptography ReasonFlags name; "" = not listed). Leaves the CRL
  // in <kind>.crl.pem for the other clients.
  json crl_until(const std::string& kind, const std::string& serial, const std::string& reason) {
    write_file(file("crl_reasons.py"), kCrlReasons);
    json entries;
    for (int i = 0; i < 75; ++i) {
      auto r = Client(server_->port()).get("/crl/" + kind + ".crl");
      EXPECT_EQ(r.result_int(), 200);
      write_file(file(kind + ".crl.pem"), crl_pem(r.body()));
      auto py = shell("/usr/bin/python3 " + file("crl_reasons.py") + " " + file(kind + ".crl.pem"));
      EXPECT_EQ(py.exit_code, 0) << py.out;
      entries = json::parse(py.out, nullptr, false);
      const bool listed = entries.is_object() && entries.contains(serial);
      if (reason.empty() ? !listed : listed && entries[serial] == reason) return entries;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "the " << kind << " CRL never had " << serial << " as '" << reason << "': " << entries.dump();
    return entries;
  }

  // What `openssl crl -text` prints about `serial` in the saved CRL of `kind` (its entry and the
  // reason line after it), or "" when it is not listed.
  std::string openssl_crl_entry(const std::string& kind, const std::string& serial) {
    auto text = shell("openssl crl -noout -text -in " + file(kind + ".crl.pem")).out;
    std::string upper = serial;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto at = text.find("Serial Number: " + upper);
    if (at == std::string::npos) return "";
    auto next = text.find("Serial Number:", at + 1);
    return text.substr(at, next == std::string::npos ? std::string::npos : next - at);
  }

  // NSS vfychain with revocation checking by OCSP (the certificate's AIA, fetched from the
  // server) for the leaf: answers its exit status and output. `db` trusts both CAs.
  Output vfychain(const std::string& cert, int usage) {
    return shell("vfychain -d sql:" + file("nssdb") + " -pp -g leaf -h requireFreshInfo -m ocsp -s failIfNoInfo -u " +
                 std::to_string(usage) + " -a " + file(cert));
  }

  // Every client reads `serial` (saved as `pem`, of `kind`) as revoked with the reason: OCSP
  // (openssl ocsp), the CRL (openssl crl, certtool, cryptography), and vfychain refuses it.
  void expect_revoked_everywhere(const std::string& kind, const std::string& serial, const std::string& pem,
                                 const std::string& ocsp_reason, const std::string& crl_text_reason,
                                 const std::string& py_reason) {
    SCOPED_TRACE(kind + " " + serial + " " + ocsp_reason);
    auto o = ocsp_until(kind, pem, "revoked");
    EXPECT_NE(o.out.find(pem + ": revoked"), std::string::npos) << o.out;
    for (int i = 0; i < 50 && o.out.find("Reason: " + ocsp_reason) == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      o = ocsp(kind, pem);
    }
    EXPECT_NE(o.out.find("Reason: " + ocsp_reason), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("Response verify OK"), std::string::npos) << o.out;
    const json entries = crl_until(kind, serial, py_reason);
    EXPECT_EQ(entries.value(serial, ""), py_reason) << entries.dump();
    const std::string entry = openssl_crl_entry(kind, serial);
    EXPECT_NE(entry.find(crl_text_reason), std::string::npos) << entry;
    auto certtool = shell("certtool --verify --load-ca-certificate " + file(kind + "-ca.pem") + " --load-crl " +
                          file(kind + ".crl.pem") + " --infile " + file(pem));
    EXPECT_NE(certtool.exit_code, 0) << certtool.out;
    EXPECT_NE(certtool.out.find("revoked"), std::string::npos) << certtool.out;
    auto nss = vfychain(pem, kind == "signature" ? 4 : 0);
    EXPECT_NE(nss.exit_code, 0) << nss.out;
  }

  // Good in OCSP and in vfychain (which asks the OCSP responder), absent from the next CRL.
  void expect_good_everywhere(const std::string& kind, const std::string& serial, const std::string& pem) {
    SCOPED_TRACE(kind + " " + serial + " good");
    auto o = ocsp_until(kind, pem, "good");
    EXPECT_NE(o.out.find(pem + ": good"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("Response verify OK"), std::string::npos) << o.out;
    const json entries = crl_until(kind, serial, "");
    EXPECT_FALSE(entries.contains(serial)) << entries.dump();
    EXPECT_EQ(openssl_crl_entry(kind, serial), "");
    auto certtool = shell("certtool --verify --load-ca-certificate " + file(kind + "-ca.pem") + " --load-crl " +
                          file(kind + ".crl.pem") + " --infile " + file(pem));
    EXPECT_EQ(certtool.exit_code, 0) << certtool.out;
    auto nss = vfychain(pem, kind == "signature" ? 4 : 0);
    EXPECT_EQ(nss.exit_code, 0) << nss.out;
  }

  static void SetUpTestSuite() {
    PkiE2E::SetUpTestSuite();
    const std::string nss = file("nssdb");
    fs::create_directories(nss);
    ASSERT_EQ(shell("certutil -N -d sql:" + nss + " --empty-password").exit_code, 0);
    for (const std::string kind : {"signature", "authentication"})
      ASSERT_EQ(shell("certutil -A -d sql:" + nss + " -n " + kind + " -t CT,C,C -i " + file(kind + "-ca.pem")).exit_code, 0);
  }

  Reply post_open(const std::string& target, const std::string& body) {
    return Client(server_->port()).request(bhttp::verb::post, target, body, {});
  }
  // A resident with a card whose two certificates are saved as card-sig.pem and card-auth.pem, and
  // smartphone certificates (the phone's keys prove possession, the card's authentication key
  // authorises them) saved as phone-sig.pem and phone-auth.pem.
  struct Holder {
    std::string resident, card, card_sig, card_auth, phone_sig, phone_auth;
    CardKey phone_auth_key = CardKey::make();
  };
  Holder holder_with_smartphone(const std::string& name) {
    Holder h;
    const CardKey sig = CardKey::make(), auth = CardKey::make();
    h.card = resident_with_card(name, "1980-06-15", &sig, auth, &h.resident);
    auto certs = certificates(h.resident);
    EXPECT_EQ(certs.size(), 2u);
    h.card_sig = certs["signature"]["serial"];
    h.card_auth = certs["authentication"]["serial"];
    save_certificate(h.card_sig, "card-sig.pem");
    save_certificate(h.card_auth, "card-auth.pem");
    const CardKey phone_sig = CardKey::make();
    const json ic = issuance_challenge(h.card);
    const std::string ic_challenge = ic["challenge"];
    const pki::testing::RequestSpec sig_spec{phone_sig.key.get(), nullptr, ic_challenge},
        auth_spec{h.phone_auth_key.key.get(), nullptr, ic_challenge};
    const std::string authorised = auth.sign(pki::CertificateAuthority::authorisation_message(
        ic_challenge, pki::testing::request_der(sig_spec), pki::testing::request_der(auth_spec)));
    auto phone = post("/v1/cards/" + h.card + "/smartphone-certificates",
                      json{{"challenge_id", ic["challenge_id"]},
                           {"requests", {{"signature", pki::testing::request_pem(sig_spec)},
                                         {"authentication", pki::testing::request_pem(auth_spec)}}},
                           {"authorisation", pki::base64_encode(authorised)}}.dump(),
                      chiyoda_);
    EXPECT_EQ(phone.result_int(), 201) << phone.body();
    const json phone_certs = body(phone)["certificates"];  // kept alive: not a member of a temporary
    for (const auto& c : phone_certs) (c["kind"] == "signature" ? h.phone_sig : h.phone_auth) = c["serial"];
    EXPECT_FALSE(h.phone_sig.empty() || h.phone_auth.empty()) << phone.body();
    save_certificate(h.phone_auth, "phone-auth.pem");
    save_certificate(h.phone_sig, "phone-sig.pem");
    return h;
  }

  // A resident with a card suspended by the call centre, its `kind` certificate (saved as `pem`)
  // read as on hold by every client. Returns the card and the certificate's serial.
  std::pair<std::string, std::string> suspended_card(const std::string& name, const std::string& date_of_birth,
                                                     const std::string& kind, const std::string& pem,
                                                     std::string* resident) {
    const CardKey sig = CardKey::make(), auth = CardKey::make();
    const std::string card = resident_with_card(name, date_of_birth, &sig, auth, resident);
    const std::string serial = certificates(*resident)[kind]["serial"];
    save_certificate(serial, pem);
    EXPECT_EQ(post("/v1/cards/" + card + "/suspend", "", call_centre_).result_int(), 200);
    expect_revoked_everywhere(kind, serial, pem, "certificateHold", "Certificate Hold", "certificate_hold");
    return {card, serial};
  }
};

// Suspension holds the card's two certificates and the smartphone's; resuming the card revokes its
// held certificates for good, new ones from new keys are issued at the window and are good, and the
// smartphone's stay on hold.
TEST_F(PkiHoldE2E, SuspensionHoldsTheCertificatesAndResumeRevokesThemForGoodAndOffersNewOnes) {
  const Holder h = holder_with_smartphone("hold-1");
  ASSERT_FALSE(HasFailure());
  // Before anything happens, every client says good.
  expect_good_everywhere("authentication", h.card_auth, "card-auth.pem");

  // The holder phones the call centre: the card (and the smartphone's certificates) suspended.
  auto s = post("/v1/cards/" + h.card + "/suspend", R"({"smartphone": true})", call_centre_);
  ASSERT_EQ(s.result_int(), 200) << s.body();
  expect_revoked_everywhere("authentication", h.card_auth, "card-auth.pem", "certificateHold", "Certificate Hold",
                            "certificate_hold");
  expect_revoked_everywhere("signature", h.card_sig, "card-sig.pem", "certificateHold", "Certificate Hold",
                            "certificate_hold");
  expect_revoked_everywhere("authentication", h.phone_auth, "phone-auth.pem", "certificateHold", "Certificate Hold",
                            "certificate_hold");
  for (const auto& [kind, c] : certificates(h.resident)) EXPECT_EQ(c["status"], "onHold") << kind;

  // The card is found and resumed: its held certificates are revoked for good...
  auto r = post("/v1/cards/" + h.card + "/resume", "", call_centre_);
  ASSERT_EQ(r.result_int(), 200) << r.body();
  expect_revoked_everywhere("authentication", h.card_auth, "card-auth.pem", "cessationOfOperation",
                            "Cessation Of Operation", "cessation_of_operation");
  expect_revoked_everywhere("signature", h.card_sig, "card-sig.pem", "cessationOfOperation", "Cessation Of Operation",
                            "cessation_of_operation");
  // ... and new ones, from new keys generated on the card, are issued at the window and are good.
  const CardKey sig2 = CardKey::make(), auth2 = CardKey::make();
  const json ic2 = issuance_challenge(h.card);
  const std::string ic2_challenge = ic2["challenge"];
  auto renewed = post("/v1/cards/" + h.card + "/certificates",
                      json{{"challenge_id", ic2["challenge_id"]},
                           {"requests",
                            {{"signature", pki::testing::request_pem({sig2.key.get(), nullptr, ic2_challenge})},
                             {"authentication", pki::testing::request_pem({auth2.key.get(), nullptr, ic2_challenge})}}}}
                          .dump(),
                      chiyoda_);
  ASSERT_EQ(renewed.result_int(), 201) << renewed.body();
  std::map<std::string, std::string> fresh;
  const json fresh_certs = body(renewed)["certificates"];
  for (const auto& c : fresh_certs) fresh[c["kind"]] = c["serial"];
  ASSERT_EQ(fresh.size(), 2u) << renewed.body();
  EXPECT_NE(fresh.at("authentication"), h.card_auth);
  save_certificate(fresh.at("authentication"), "fresh-auth.pem");
  save_certificate(fresh.at("signature"), "fresh-sig.pem");
  expect_good_everywhere("authentication", fresh.at("authentication"), "fresh-auth.pem");
  expect_good_everywhere("signature", fresh.at("signature"), "fresh-sig.pem");
  // The smartphone's certificates stay on hold through the card's resume.
  EXPECT_NE(ocsp("authentication", "phone-auth.pem").out.find("Reason: certificateHold"), std::string::npos);
}

// The smartphone is found: the holder's app releases its authentication certificate's hold (no
// token; the proof is its key's signature over a fresh challenge). OCSP says good again and the next
// CRL no longer lists it; the smartphone's signature certificate is revoked for good.
TEST_F(PkiHoldE2E, ASmartphoneAuthenticationHoldReleasedByTheHolderIsGoodAgainAndLeavesTheCrl) {
  const Holder h = holder_with_smartphone("hold-4");
  ASSERT_FALSE(HasFailure());
  auto s = post("/v1/cards/" + h.card + "/suspend", R"({"smartphone": true})", call_centre_);
  ASSERT_EQ(s.result_int(), 200) << s.body();
  expect_revoked_everywhere("authentication", h.phone_auth, "phone-auth.pem", "certificateHold", "Certificate Hold",
                            "certificate_hold");

  auto ch = post_open("/v1/pki/certificates/" + h.phone_auth + "/release/challenges", "");
  ASSERT_EQ(ch.result_int(), 201) << ch.body();
  const std::string challenge = pki::base64_decode(body(ch)["challenge"].get<std::string>()).value();
  auto released = post_open("/v1/pki/certificates/" + h.phone_auth + "/release",
                             json{{"challenge_id", body(ch)["challenge_id"]},
                                  {"signature", pki::base64_encode(h.phone_auth_key.sign(challenge))}}.dump());
  ASSERT_EQ(released.result_int(), 200) << released.body();
  EXPECT_EQ(body(released)["status"], "good") << released.body();
  expect_good_everywhere("authentication", h.phone_auth, "phone-auth.pem");
  expect_revoked_everywhere("signature", h.phone_sig, "phone-sig.pem", "cessationOfOperation",
                            "Cessation Of Operation", "cessation_of_operation");

  // The delta CRL the full one names, read by openssl: a delta of the first full CRL (the
  // server's, before the hold) that lists the release as removeFromCRL.
  std::string upper = h.phone_auth;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string text;
  for (int i = 0; i < 75; ++i) {
    auto delta = Client(server_->port()).get("/crl/authentication-delta.crl");
    ASSERT_EQ(delta.result_int(), 200);
    EXPECT_EQ(delta[bhttp::field::content_type], "application/pkix-crl");
    write_file(file("authentication-delta.crl.pem"), crl_pem(delta.body()));
    text = shell("openssl crl -noout -text -in " + file("authentication-delta.crl.pem")).out;
    if (text.find("Remove From CRL") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_NE(text.find("X509v3 Delta CRL Indicator: critical"), std::string::npos) << text;
  EXPECT_NE(text.find("Remove From CRL"), std::string::npos) << text;
  EXPECT_NE(text.find(upper.substr(upper.find_first_not_of('0'))), std::string::npos) << text;
  auto full = Client(server_->port()).get("/crl/authentication.crl");
  write_file(file("authentication.crl.pem"), crl_pem(full.body()));
  EXPECT_NE(shell("openssl crl -noout -text -in " + file("authentication.crl.pem")).out.find("authentication-delta.crl"),
            std::string::npos);
}

// A card lost while suspended: the hold becomes keyCompromise.
TEST_F(PkiHoldE2E, ALossWhileOnHoldMakesTheRevocationPermanentWithKeyCompromise) {
  std::string resident;
  const auto [card, serial] = suspended_card("hold-2", "1975-11-30", "authentication", "lost-auth.pem", &resident);
  auto lost = post("/v1/cards/" + card + "/report-lost", R"({"reason":"lost"})", call_centre_);
  ASSERT_EQ(lost.result_int(), 200) << lost.body();
  expect_revoked_everywhere("authentication", serial, "lost-auth.pem", "keyCompromise", "Key Compromise",
                            "key_compromise");
}

// A holder who dies while the card is suspended: the hold becomes cessationOfOperation.
TEST_F(PkiHoldE2E, ADeathWhileOnHoldMakesTheRevocationPermanentWithCessationOfOperation) {
  std::string dead;
  const auto [card, serial] = suspended_card("hold-3", "1940-01-08", "signature", "dead-sig.pem", &dead);
  json death = {{"event_id", "hold-3-death"}, {"type", "death"}, {"date", Date::today().to_iso()},
                {"resident_code", dead}};
  ASSERT_EQ(post("/v1/municipalities/131016/events", death.dump(), chiyoda_).result_int(), 201);
  expect_revoked_everywhere("signature", serial, "dead-sig.pem", "cessationOfOperation", "Cessation Of Operation",
                            "cessation_of_operation");
}

}  // namespace
}  // namespace jlis::e2e
