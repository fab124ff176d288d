// JPKI as its users meet it, through `jlis serve` on loopback: a resident gets a card and both
// certificates; a relocation revokes the signature certificate (OCSP within seconds, the CRL),
// the authentication certificate stays good; a renewal links the old certificate to the new. And
// every artefact is checked by real, unmodified clients: openssl verify (chain, -crl_check),
// openssl ocsp -url, GnuTLS certtool --verify, NSS vfychain, and Python's cryptography.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "../http/client.h"
#include "card_key.h"
#include "jlis_process.h"
#include "template_dir.h"
#include "../pki/requests.h"
#include "common/date.h"
#include "pki/ca.h"
#include "pki/openssl.h"

namespace jlis::e2e {
namespace {

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

// Runs a shell command; answers its exit status and what it printed (stdout and stderr).
Output shell(const std::string& command) {
  Output o{-1, "", ""};
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, got);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

void write_file(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

std::string der_to_pem(const std::string& der) {
  auto cert = pki::x509_from_der(der);
  EXPECT_TRUE(cert.ok());
  return cert.ok() ? pki::x509_pem(cert->get()).value() : "";
}

std::string crl_pem(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  pki::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_TRUE(crl != nullptr);
  if (!crl) return "";
  pki::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

class PkiE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("jlis-e2e-pki-" + std::to_string(::getpid()))).string();
    work_ = dir_ + "-files";
    fs::remove_all(dir_);
    fs::remove_all(work_);
    fs::create_directories(work_);
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    // Prepared once per build and copied (template_dir.h).
    const auto out = prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                         {"ca", "init", "--data", "{dir}"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                                         {"municipality", "token", "--data", "{dir}", "--code", "131024"},
                                         {"token", "create", "--data", "{dir}", "--role", "call-centre"},
                                         {"verifier", "add", "--data", "{dir}", "--name", "Bank", "--consent"},
                                         {"token", "create", "--data", "{dir}", "--role", "verifier", "--name", "x"},
                                         {"agency", "add", "--data", "{dir}", "--name", "Pension", "--purposes",
                                          "pension"}});
    ASSERT_EQ(out.size(), 8u) << out.back().err;
    ASSERT_EQ(out[0].exit_code, 0);
    ASSERT_EQ(out[1].exit_code, 0) << out[1].err;
    chiyoda_ = out[2].last_line();
    chuo_ = out[3].last_line();
    call_centre_ = out[4].last_line();
    verifier_ = out[5].last_line();
    unregistered_ = out[6].last_line();
    agency_ = out[7].last_line();
    ASSERT_EQ(verifier_.rfind("jlis_", 0), 0u);
    server_ = new Server(dir_);
    ASSERT_NE(server_->port(), 0);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
    // The CA certificates, as any relying party fetches them.
    auto cas = json::parse(Client(server_->port()).get("/v1/pki/ca").body());
    for (const auto& c : cas["certificates"]) write_file(fs::path(work_) / (c["kind"].get<std::string>() + ".pem"), c["pem"]);
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0);
    delete server_;
    fs::remove_all(dir_);
    fs::remove_all(work_);
  }

  Reply get(const std::string& target, const std::string& token, const std::string& accept = "") {
    http::testing::Headers h = {{"Authorization", "Bearer " + token}};
    if (!accept.empty()) h.emplace_back("Accept", accept);
    return Client(server_->port()).get(target, h);
  }
  Reply post(const std::string& target, const std::string& body, const std::string& token) {
    return Client(server_->port()).request(bhttp::verb::post, target, body, {{"Authorization", "Bearer " + token}});
  }
  static json body(const Reply& r) { return json::parse(r.body()); }
  static std::string file(const std::string& name) { return (fs::path(work_) / name).string(); }

  // A resident of 千代田区 born on `dob`, with a card handed over with `keys`; answers the card id.
  std::string resident_with_card(const std::string& id, const std::string& dob, const CardKey* sig, const CardKey& auth,
                                 std::string* resident) {
    json e = {{"event_id", id}, {"type", "birth"}, {"date", dob},
              {"person", {{"name", "髙橋　花子"}, {"name_kana", "タカハシ　ハナコ"}, {"date_of_birth", dob},
                          {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto r = post("/v1/municipalities/131016/events", e.dump(), chiyoda_);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    *resident = body(r)["resident_code"];
    auto applied = post("/v1/cards/applications",
                        json{{"resident_code", *resident}, {"channel", "window"}, {"photo", true}}.dump(), chiyoda_);
    EXPECT_EQ(applied.result_int(), 201) << applied.body();
    EXPECT_EQ(jlis({"cards", "produce", "--data", dir_}).exit_code, 0);
    auto a = get("/v1/cards/applications/" + std::to_string(body(applied)["application_id"].get<int64_t>()), chiyoda_);
    const std::string card = body(a)["card_id"];
    json keys = {{"authentication", auth.public_pem}};
    if (sig) keys["signature"] = sig->public_pem;
    auto h = post("/v1/cards/" + card + "/handover", json{{"identity_checked", true}, {"public_keys", keys}}.dump(),
                  chiyoda_);
    EXPECT_EQ(h.result_int(), 200) << h.body();
    return card;
  }

  // The resident's certificates by kind (the newest of each).
  std::map<std::string, json> certificates(const std::string& resident) {
    auto r = get("/v1/residents/" + resident + "/certificates", chiyoda_);
    EXPECT_EQ(r.result_int(), 200) << r.body();
    std::map<std::string, json> out;
    const json list = body(r)["certificates"];
    for (const auto& c : list) out[c["kind"]] = c;
    return out;
  }

  // A one-time challenge for certification requests for `card`: {challenge_id, challenge}.
  json issuance_challenge(const std::string& card) {
    auto r = post("/v1/cards/" + card + "/certificate-challenges", "", chiyoda_);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return body(r);
  }

  // Saves a certificate as PEM under `name`.
  void save_certificate(const std::string& serial, const std::string& name) {
    auto r = get("/v1/pki/certificates/" + serial, chiyoda_);
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r[bhttp::field::content_type], "application/pkix-cert");
    write_file(file(name), der_to_pem(r.body()));
  }

  Output ocsp(const std::string& kind, const std::string& cert) {
    return shell("openssl ocsp -issuer " + file(kind + "-ca.pem") + " -cert " + file(cert) + " -url " + url_ +
                 "/ocsp -CAfile " + file(kind + "-ca.pem") + " -no_nonce");
  }

  // Polls OCSP for up to 10 s until it says `status`.
  Output ocsp_until(const std::string& kind, const std::string& cert, const std::string& status) {
    Output o;
    for (int i = 0; i < 50; ++i) {
      o = ocsp(kind, cert);
      if (o.out.find(": " + status) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return o;
  }

  // Saves the CRL of `kind` as PEM, polling up to 15 s until it lists `serial` (when given).
  void save_crl(const std::string& kind, const std::string& must_list = "") {
    for (int i = 0; i < 75; ++i) {
      auto r = Client(server_->port()).get("/crl/" + kind + ".crl");
      ASSERT_EQ(r.result_int(), 200);
      EXPECT_EQ(r[bhttp::field::content_type], "application/pkix-crl");
      write_file(file(kind + ".crl.pem"), crl_pem(r.body()));
      if (must_list.empty()) return;
      auto text = shell("openssl crl -noout -text -in " + file(kind + ".crl.pem"));
      std::string upper = must_list;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (text.out.find(upper) != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "the " << kind << " CRL never listed " << must_list;
  }

  static inline std::string dir_, work_, url_, chiyoda_, chuo_, call_centre_, verifier_, unregistered_, agency_;
  static inline Server* server_ = nullptr;
};

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
