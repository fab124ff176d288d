// JPKI as its users meet it, through `jlis serve` on loopback: a resident gets a card and both
// certificates; a relocation revokes the signature certificate (OCSP within seconds, the CRL),
// the authentication certificate stays good; a renewal links the old certificate to the new. And
// every artefact is checked by real, unmodified clients: openssl verify (chain, -crl_check),
// openssl ocsp -url, GnuTLS certtool --verify, NSS vfychain, and Python's cryptography.
#include "pki_fixture.h"

#include <ctime>
#include <fstream>

namespace jlis::e2e {
namespace {

// The notBefore of a PEM certificate file, in seconds since the epoch.
int64_t not_before_of(const std::string& path) {
  std::ifstream in(path);
  auto cert = pki::x509_from_pem(std::string(std::istreambuf_iterator<char>(in), {}));
  EXPECT_TRUE(cert.ok());
  if (!cert.ok()) return 0;
  std::tm tm{};
  EXPECT_EQ(ASN1_TIME_to_tm(X509_get0_notBefore(cert->get()), &tm), 1);
  return static_cast<int64_t>(timegm(&tm));
}

TEST_F(PkiE2E, HandoverRelocationRevocationRenewalAndLinkage) {
  const CardKey sig = CardKey::make(), auth = CardKey::make();
  std::string resident;
  const std::string card = resident_with_card("pki-1", "1985-04-02", &sig, auth, &resident);
  auto certs = certificates(resident);
  ASSERT_EQ(certs.size(), 2u);
  const std::string old_sig = certs["signature"]["serial"], auth_serial = certs["authentication"]["serial"];
  EXPECT_EQ(certs["signature"]["status"], "good");
  EXPECT_EQ(old_sig.size(), 32u);  // 16 bytes: 126 random bits (profile.h new_serial)
  save_certificate(old_sig, "old-sig.pem");
  save_certificate(auth_serial, "auth.pem");

  // The subjects as openssl prints them: the signature certificate names the prefecture and the
  // municipality where it was issued, in romaji, and an issuance identifier (not the serial); the
  // authentication certificate names no place. Neither carries an organisation.
  auto sig_subject = shell("openssl x509 -noout -subject -nameopt RFC2253 -in " + file("old-sig.pem"));
  ASSERT_EQ(sig_subject.exit_code, 0) << sig_subject.out;
  const std::string sig_id = pki::issuance_identifier(old_sig, not_before_of(file("old-sig.pem")));
  EXPECT_EQ(sig_subject.out, "subject=CN=" + sig_id + ",L=Chiyoda-ku,L=Tokyo-to,C=JP\n");
  auto auth_subject = shell("openssl x509 -noout -subject -nameopt RFC2253 -in " + file("auth.pem"));
  EXPECT_EQ(auth_subject.out, "subject=CN=" +
                                  pki::issuance_identifier(auth_serial, not_before_of(file("auth.pem"))) +
                                  ",C=JP\n");
  EXPECT_EQ(sig_subject.out.find(old_sig), std::string::npos);
  auto issuer = shell("openssl x509 -noout -issuer -nameopt RFC2253 -in " + file("old-sig.pem"));
  EXPECT_NE(issuer.out.find(",O=JPKI,C=JP"), std::string::npos) << issuer.out;

  // openssl: the chain verifies against the right CA only; OCSP says good for both.
  auto v = shell("openssl verify -CAfile " + file("signature-ca.pem") + " " + file("old-sig.pem"));
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(shell("openssl verify -CAfile " + file("authentication-ca.pem") + " " + file("old-sig.pem")).exit_code, 0);
  auto good = ocsp("signature", "old-sig.pem");
  EXPECT_NE(good.out.find("old-sig.pem: good"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("Response verify OK"), std::string::npos) << good.out;

  // A relocation changes the address: the signature certificate is revoked, within seconds.
  json move = {{"event_id", "pki-1-move"}, {"type", "relocation"}, {"date", Date::today().to_iso()},
               {"resident_code", resident}, {"address", "東京都千代田区永田町一丁目7番1号"}};
  ASSERT_EQ(post("/v1/municipalities/131016/events", move.dump(), chiyoda_).result_int(), 201);
  auto revoked = ocsp_until("signature", "old-sig.pem", "revoked");
  EXPECT_NE(revoked.out.find("old-sig.pem: revoked"), std::string::npos) << revoked.out;
  EXPECT_NE(revoked.out.find("Reason: affiliationChanged"), std::string::npos) << revoked.out;
  EXPECT_NE(revoked.out.find("Response verify OK"), std::string::npos) << revoked.out;
  auto still = ocsp("authentication", "auth.pem");
  EXPECT_NE(still.out.find("auth.pem: good"), std::string::npos) << still.out;

  // The CRL lists it; openssl verify -crl_check refuses it and accepts the other.
  save_crl("signature", old_sig);
  save_crl("authentication");
  auto crl_check = shell("openssl verify -crl_check -CAfile " + file("signature-ca.pem") + " -CRLfile " +
                         file("signature.crl.pem") + " " + file("old-sig.pem"));
  EXPECT_NE(crl_check.exit_code, 0);
  EXPECT_NE(crl_check.out.find("certificate revoked"), std::string::npos) << crl_check.out;
  auto auth_check = shell("openssl verify -crl_check -CAfile " + file("authentication-ca.pem") + " -CRLfile " +
                          file("authentication.crl.pem") + " " + file("auth.pem"));
  EXPECT_EQ(auth_check.exit_code, 0) << auth_check.out;
  // GnuTLS refuses the revoked one with the CRL, accepts the good one.
  EXPECT_NE(shell("certtool --verify --load-ca-certificate " + file("signature-ca.pem") + " --load-crl " +
                  file("signature.crl.pem") + " --infile " + file("old-sig.pem")).exit_code, 0);

  // A new signature certificate at the window: the old serial links to it.
  const CardKey sig2 = CardKey::make();
  // Public keys alone are no longer enough: the new key must sign a request over a fresh challenge.
  auto bare = post("/v1/cards/" + card + "/certificates", json{{"public_keys", {{"signature", sig2.public_pem}}}}.dump(),
                   chiyoda_);
  EXPECT_EQ(bare.result_int(), 400) << bare.body();
  const json ic = issuance_challenge(card);
  auto renewed = post("/v1/cards/" + card + "/certificates",
                      json{{"challenge_id", ic["challenge_id"]},
                           {"requests", {{"signature", pki::testing::request_pem({sig2.key.get(), nullptr, ic["challenge"].get<std::string>()})}}}}
                          .dump(),
                      chiyoda_);
  ASSERT_EQ(renewed.result_int(), 201) << renewed.body();
  ASSERT_EQ(body(renewed)["certificates"].size(), 1u) << renewed.body();  // only the kind whose key was given
  ASSERT_EQ(body(renewed)["certificates"][0]["kind"], "signature");
  const std::string new_sig = body(renewed)["certificates"][0]["serial"];
  auto link = get("/v1/pki/linkage/" + old_sig, verifier_);
  ASSERT_EQ(link.result_int(), 200) << link.body();
  EXPECT_EQ(body(link)["serial"], old_sig);
  EXPECT_EQ(body(link)["next"], new_sig);
  EXPECT_EQ(body(get("/v1/pki/linkage/" + new_sig, verifier_))["next"], nullptr);
  EXPECT_EQ(get("/v1/pki/linkage/" + old_sig, unregistered_).result_int(), 403);

  // A verifier fetching by serial learns the status and the linkage, never the certificate (its
  // subjectAltName is the holder's new name and address): that takes the holder's consent.
  for (const std::string accept : {"", "application/x-pem-file", "application/pkix-cert"}) {
    auto status = get("/v1/pki/certificates/" + new_sig, verifier_, accept);
    ASSERT_EQ(status.result_int(), 200) << status.body();
    EXPECT_EQ(status[bhttp::field::content_type], "application/json");
    const json j = body(status);
    EXPECT_EQ(j["serial"], new_sig);
    EXPECT_EQ(j["kind"], "signature");
    EXPECT_EQ(j["status"], "good");
    EXPECT_EQ(j["next"], nullptr);
    for (const char* hidden : {"der", "pem", "subject", "card_id", "resident_code"}) EXPECT_FALSE(j.contains(hidden)) << hidden;
    EXPECT_EQ(status.body().find("永田町"), std::string::npos);
  }
  auto old_status = body(get("/v1/pki/certificates/" + old_sig, verifier_));
  EXPECT_EQ(old_status["status"], "revoked");
  EXPECT_EQ(old_status["reason"], "affiliationChanged");
  EXPECT_EQ(old_status["next"], new_sig);

  // The new certificate as the holder's municipality fetches it (PEM): its otherName values, read
  // by Python's cryptography, are the register's basic four with the new address.
  auto pem = get("/v1/pki/certificates/" + new_sig, chiyoda_, "application/x-pem-file");
  ASSERT_EQ(pem.result_int(), 200) << pem.body();
  write_file(file("new-sig.pem"), pem.body());
  const std::string script = file("basic_four.py");
  write_file(script, R"(import json, sys
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
out = {}
for n in san:
    if isinstance(n, x509.OtherName):
        v = n.value
        assert v[0] == 0x0c, 'not a UTF8String'
        length, i = v[1], 2
        if length & 0x80:
            k = length & 0x7f
            length, i = int.from_bytes(v[2:2 + k], 'big'), 2 + k
        out[n.type_id.dotted_string] = v[i:i + length].decode('utf-8')
print(json.dumps(out, ensure_ascii=False))
)");
  auto py = shell("/usr/bin/python3 " + script + " " + file("new-sig.pem"));
  ASSERT_EQ(py.exit_code, 0) << py.out;
  json four = json::parse(py.out);
  auto record = body(get("/v1/residents/" + resident, chiyoda_));
  EXPECT_EQ(four["1.2.392.200149.8.5.5.1"], record["name"]);
  EXPECT_EQ(four["1.2.392.200149.8.5.5.2"], "高橋　花子");  // the variant 髙 replaced
  EXPECT_EQ(four["1.2.392.200149.8.5.5.3"], "2");
  EXPECT_EQ(four["1.2.392.200149.8.5.5.4"], "319850402");  // 昭和 = 3
  EXPECT_EQ(four["1.2.392.200149.8.5.5.5"], record["address"]);
  EXPECT_EQ(four["1.2.392.200149.8.5.5.5"], "東京都千代田区永田町一丁目7番1号");
  EXPECT_EQ(four["1.2.392.200149.8.5.5.6"], "東京都千代田区永田町一丁目7番1号");

  // GnuTLS and NSS accept the new one (and the authentication one) against the right CA, and refuse
  // them against the other.
  auto gnutls = shell("certtool --verify --load-ca-certificate " + file("signature-ca.pem") + " --infile " +
                      file("new-sig.pem"));
  EXPECT_EQ(gnutls.exit_code, 0) << gnutls.out;
  EXPECT_NE(shell("certtool --verify --load-ca-certificate " + file("authentication-ca.pem") + " --infile " +
                  file("new-sig.pem")).exit_code, 0);
  const std::string nss = file("nssdb");
  fs::create_directories(nss);
  ASSERT_EQ(shell("certutil -N -d sql:" + nss + " --empty-password").exit_code, 0);
  ASSERT_EQ(shell("certutil -A -d sql:" + nss + " -n sigca -t CT,C,C -i " + file("signature-ca.pem")).exit_code, 0);
  auto vfy = shell("vfychain -d sql:" + nss + " -u 4 -a " + file("new-sig.pem"));
  EXPECT_EQ(vfy.exit_code, 0) << vfy.out;
  EXPECT_NE(vfy.out.find("Chain is good"), std::string::npos) << vfy.out;
  auto vfy_auth = shell("vfychain -d sql:" + nss + " -u 0 -a " + file("auth.pem"));
  EXPECT_NE(vfy_auth.exit_code, 0) << vfy_auth.out;  // its CA is not trusted in this database
  ASSERT_EQ(shell("certutil -A -d sql:" + nss + " -n authca -t CT,C,C -i " + file("authentication-ca.pem")).exit_code, 0);
  auto vfy_auth2 = shell("vfychain -d sql:" + nss + " -u 0 -a " + file("auth.pem"));
  EXPECT_EQ(vfy_auth2.exit_code, 0) << vfy_auth2.out;

  // The consent flow: the holder signs the verifier's challenge with the old signature key (the
  // certificate the verifier knows); the answer is the latest basic four and the newest
  // certificate along the linkage.
  auto ch = post("/v1/pki/consent/challenges", "", verifier_);
  ASSERT_EQ(ch.result_int(), 201) << ch.body();
  const std::string challenge = pki::base64_decode(body(ch)["challenge"].get<std::string>()).value();
  json consent = {{"challenge_id", body(ch)["challenge_id"]}, {"serial", old_sig},
                  {"signature", pki::base64_encode(sig.sign(challenge))}};
  auto given = post("/v1/pki/consent/basic-four", consent.dump(), verifier_);
  ASSERT_EQ(given.result_int(), 200) << given.body();
  EXPECT_EQ(body(given)["basic_four"]["address"], "東京都千代田区永田町一丁目7番1号");
  ASSERT_TRUE(body(given)["latest_certificate"].is_object()) << given.body();
  EXPECT_EQ(body(given)["latest_certificate"]["serial"], new_sig);
  EXPECT_EQ(body(given)["latest_certificate"]["pem"], pem.body());
  EXPECT_EQ(post("/v1/pki/consent/basic-four", consent.dump(), verifier_).result_int(), 409);  // used once
  auto ch2 = post("/v1/pki/consent/challenges", "", verifier_);
  json forged = {{"challenge_id", body(ch2)["challenge_id"]}, {"serial", new_sig},
                 {"signature", pki::base64_encode(sig.sign("something else"))}};
  EXPECT_EQ(post("/v1/pki/consent/basic-four", forged.dump(), verifier_).result_int(), 403);
  // The resident's disclosure record shows the verifier's reads.
  auto provisions = body(get("/v1/residents/" + resident + "/provisions", chiyoda_));
  int by_verifier = 0;
  for (const auto& p : provisions["provisions"])
    if (p["agency_name"] == "Bank") ++by_verifier;
  EXPECT_EQ(by_verifier, 1) << provisions.dump();  // the consent; status reads provide nothing personal
}

TEST_F(PkiE2E, CardLossDeathAndRequestsRevokeWithTheirReasons) {
  const CardKey sig = CardKey::make(), auth = CardKey::make();
  std::string resident;
  const std::string card = resident_with_card("pki-2", "1970-01-20", &sig, auth, &resident);
  auto certs = certificates(resident);
  save_certificate(certs["signature"]["serial"], "lost-sig.pem");
  save_certificate(certs["authentication"]["serial"], "lost-auth.pem");
  // Smartphone certificates, authorised by the card, under their own policies.
  // The phone's keys sign requests over the CA's challenge; the holder authorises them with the
  // card's authentication key.
  const CardKey phone_sig = CardKey::make(), phone_auth = CardKey::make();
  const json ic = issuance_challenge(card);
  const std::string challenge = ic["challenge"];
  const pki::testing::RequestSpec sig_spec{phone_sig.key.get(), nullptr, challenge},
      auth_spec{phone_auth.key.get(), nullptr, challenge};
  const std::string authorised = auth.sign(pki::CertificateAuthority::authorisation_message(
      challenge, pki::testing::request_der(sig_spec), pki::testing::request_der(auth_spec)));
  json phone_request = {{"challenge_id", ic["challenge_id"]},
                        {"requests", {{"signature", pki::testing::request_pem(sig_spec)},
                                      {"authentication", pki::testing::request_pem(auth_spec)}}},
                        {"authorisation", pki::base64_encode(authorised)}};
  auto phone = post("/v1/cards/" + card + "/smartphone-certificates", phone_request.dump(), chiyoda_);
  ASSERT_EQ(phone.result_int(), 201) << phone.body();
  // The same requests again: the challenge is spent.
  auto replayed = post("/v1/cards/" + card + "/smartphone-certificates", phone_request.dump(), chiyoda_);
  EXPECT_EQ(replayed.result_int(), 409) << replayed.body();
  const json phone_certs = body(phone)["certificates"];
  ASSERT_EQ(phone_certs.size(), 2u);
  std::map<std::string, std::string> phone_serial;
  for (const auto& c : phone_certs) {
    EXPECT_EQ(c["device"], "smartphone");
    phone_serial[c["kind"]] = c["serial"];
  }
  ASSERT_EQ(phone_serial.size(), 2u);
  save_certificate(phone_serial.at("signature"), "phone.pem");
  auto policy = shell("openssl x509 -noout -text -in " + file("phone.pem"));
  EXPECT_NE(policy.out.find("Policy: 1.2.392.200149.8.5.1.1.30"), std::string::npos) << policy.out;
  ASSERT_EQ(post("/v1/cards/" + card + "/report-lost", R"({"reason":"stolen"})", call_centre_).result_int(), 200);
  auto o1 = ocsp_until("signature", "lost-sig.pem", "revoked");
  EXPECT_NE(o1.out.find("Reason: keyCompromise"), std::string::npos) << o1.out;
  auto o2 = ocsp_until("authentication", "lost-auth.pem", "revoked");
  EXPECT_NE(o2.out.find("Reason: keyCompromise"), std::string::npos) << o2.out;
  const json all = body(get("/v1/residents/" + resident + "/certificates", chiyoda_))["certificates"];
  ASSERT_EQ(all.size(), 4u);  // the card's two and the smartphone's two, all revoked with the card
  for (const auto& c : all) {
    EXPECT_EQ(c["status"], "revoked") << c.dump();
    EXPECT_EQ(c["reason"], "keyCompromise") << c.dump();
  }

  // A child of 10: an authentication certificate only; a request revokes it; death revokes all.
  const CardKey auth3 = CardKey::make(), ignored = CardKey::make();
  std::string child;
  resident_with_card("pki-3", Date::today().add_years(-10).add_days(-30).to_iso(), &ignored, auth3, &child);
  auto child_certs = certificates(child);
  ASSERT_EQ(child_certs.size(), 1u);
  ASSERT_EQ(child_certs.count("authentication"), 1u);
  const std::string child_auth = child_certs["authentication"]["serial"];
  EXPECT_EQ(post("/v1/pki/certificates/" + child_auth + "/revoke", "{}", chuo_).result_int(), 403);
  EXPECT_EQ(post("/v1/pki/certificates/" + child_auth + "/revoke", R"({"reason":"superseded"})", chiyoda_).result_int(), 400);
  auto rv = post("/v1/pki/certificates/" + child_auth + "/revoke", R"({"reason":"keyCompromise"})", chiyoda_);
  ASSERT_EQ(rv.result_int(), 200) << rv.body();
  EXPECT_EQ(body(rv)["reason"], "keyCompromise");
  EXPECT_EQ(post("/v1/pki/certificates/" + child_auth + "/revoke", "{}", chiyoda_).result_int(), 409);

  const CardKey sig4 = CardKey::make(), auth4 = CardKey::make();
  std::string adult;
  resident_with_card("pki-4", "1950-03-03", &sig4, auth4, &adult);
  json death = {{"event_id", "pki-4-death"}, {"type", "death"}, {"date", Date::today().to_iso()},
                {"resident_code", adult}};
  ASSERT_EQ(post("/v1/municipalities/131016/events", death.dump(), chiyoda_).result_int(), 201);
  const auto after_death = certificates(adult);
  ASSERT_EQ(after_death.size(), 2u);
  ASSERT_EQ(after_death.count("signature"), 1u);
  ASSERT_EQ(after_death.count("authentication"), 1u);
  for (const auto& [kind, c] : after_death) {
    EXPECT_EQ(c["status"], "revoked") << kind;
    EXPECT_EQ(c["reason"], "cessationOfOperation") << kind;
  }
}

TEST_F(PkiE2E, AccessRulesAndBadInput) {
  const CardKey sig = CardKey::make(), auth = CardKey::make();
  std::string resident;
  resident_with_card("pki-5", "1990-12-24", &sig, auth, &resident);
  const std::string serial = certificates(resident)["signature"]["serial"];
  EXPECT_EQ(get("/v1/pki/certificates/" + serial, chuo_).result_int(), 403);         // another municipality
  EXPECT_EQ(get("/v1/pki/certificates/" + serial, unregistered_).result_int(), 403); // not registered
  EXPECT_EQ(get("/v1/pki/certificates/" + serial, agency_).result_int(), 403);
  EXPECT_EQ(Client(server_->port()).get("/v1/pki/certificates/" + serial).result_int(), 401);
  EXPECT_EQ(get("/v1/pki/certificates/zz", chiyoda_).result_int(), 400);
  EXPECT_EQ(get("/v1/pki/certificates/" + std::string(32, 'a'), chiyoda_).result_int(), 404);
  EXPECT_EQ(get("/v1/residents/" + resident + "/certificates", agency_).result_int(), 403);  // no purpose
  EXPECT_EQ(get("/v1/residents/" + resident + "/certificates?purpose=pension", agency_).result_int(), 200);
  EXPECT_EQ(get("/v1/residents/" + resident + "/certificates", chuo_).result_int(), 404);  // as an unknown code
  // Upper-case serials are accepted; answers are lower-case.
  std::string upper = serial;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(get("/v1/pki/certificates/" + upper, chiyoda_).result_int(), 200);

  // A handover with a key that is not RSA-2048 is refused and changes nothing.
  std::string other;
  json e = {{"event_id", "pki-6"}, {"type", "birth"}, {"date", "1999-09-09"},
            {"person", {{"name", "青木　蓮"}, {"name_kana", "アオキ　レン"}, {"date_of_birth", "1999-09-09"},
                        {"sex", "male"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
  other = body(post("/v1/municipalities/131016/events", e.dump(), chiyoda_))["resident_code"];
  auto applied = post("/v1/cards/applications",
                      json{{"resident_code", other}, {"channel", "window"}, {"photo", true}}.dump(), chiyoda_);
  ASSERT_EQ(jlis({"cards", "produce", "--data", dir_}).exit_code, 0);
  const std::string card =
      body(get("/v1/cards/applications/" + std::to_string(body(applied)["application_id"].get<int64_t>()), chiyoda_))["card_id"];
  auto small = pki::generate_rsa(1024).value();
  json bad = {{"identity_checked", true}, {"public_keys", {{"authentication", pki::public_key_pem(small.get()).value()}}}};
  auto refused = post("/v1/cards/" + card + "/handover", bad.dump(), chiyoda_);
  EXPECT_EQ(refused.result_int(), 400) << refused.body();
  json garbage = {{"identity_checked", true}, {"public_keys", {{"authentication", "not a key"}}}};
  EXPECT_EQ(post("/v1/cards/" + card + "/handover", garbage.dump(), chiyoda_).result_int(), 400);
  EXPECT_EQ(body(get("/v1/cards/" + card, chiyoda_))["status"], "shipped");  // nothing changed
  EXPECT_TRUE(certificates(other).empty());

  // OCSP: garbage is answered with malformedRequest, never an HTTP error.
  auto malformed = Client(server_->port()).request(bhttp::verb::post, "/ocsp", "not DER",
                                                   {{"Content-Type", "application/ocsp-request"}});
  EXPECT_EQ(malformed.result_int(), 200);
  EXPECT_EQ(malformed.body(), std::string("\x30\x03\x0a\x01\x01", 5));
  auto malformed_get = Client(server_->port()).get("/ocsp/not-base64!");
  EXPECT_EQ(malformed_get.result_int(), 200);
  EXPECT_EQ(malformed_get[bhttp::field::content_type], "application/ocsp-response");
  EXPECT_EQ(malformed_get.body(), std::string("\x30\x03\x0a\x01\x01", 5));  // malformedRequest
  EXPECT_EQ(Client(server_->port()).get("/crl/nothing.crl").result_int(), 404);
}

}  // namespace
}  // namespace jlis::e2e
