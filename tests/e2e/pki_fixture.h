// The PKI end-to-end fixture: `jlis serve` on loopback over a fresh data directory with its CAs,
// the tokens of every role, and the helpers that drive real clients (openssl ocsp/crl/verify,
// GnuTLS certtool, NSS vfychain, Python cryptography) against it. Shared by pki_e2e_test.cpp and
// pki_hold_e2e_test.cpp.
#pragma once

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

using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

inline std::string der_to_pem(const std::string& der) {
  auto cert = pki::x509_from_der(der);
  EXPECT_TRUE(cert.ok());
  return cert.ok() ? pki::x509_pem(cert->get()).value() : "";
}

inline std::string crl_pem(const std::string& der) {
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
                                          "pension"},
                                         {"linkage", "key", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 9u) << out.back().err;
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

}  // namespace jlis::e2e
