// LGPKI's OCSP responder (pki/lgpki.h: ocsp_responder; routes.h: POST /lgpki/ocsp and GET
// /lgpki/ocsp/{request...}), asked over HTTP on 127.0.0.1 by the `openssl ocsp` client trusting
// the LGPKI root alone: good, then revoked (with its reason and time) right after a revocation;
// never good for a certificate of another issuing CA or generation, or a serial never issued; the
// second generation's certificates answered as soon as it exists; a revocation made by another
// process reaching the answers through tick().
#include <gtest/gtest.h>

#include <openssl/ocsp.h>

#include <ctime>

#include "../http/client.h"
#include "lgpki_fixture.h"

namespace jlis::pki::testing {
namespace {

class LgpkiOcspTest : public LgpkiTest {
 protected:
  void SetUp() override {
    LgpkiTest::SetUp();
    if (HasFatalFailure()) return;
    serve();
  }
  // `openssl ocsp` for DIR/<cert>.pem issued by DIR/<issuer>.pem, the response's signer checked up
  // to DIR/<root>.pem; answers its output (stdout and stderr).
  std::string ocsp(const std::string& issuer, const std::string& cert, const std::string& root = "root") {
    int rc = -1;
    return cmd("openssl ocsp -issuer " + issuer + ".pem -cert " + cert + ".pem -CAfile " + root + ".pem -url " +
                   url() + "/lgpki/ocsp -no_nonce",
               &rc);
  }
  // How `openssl ocsp` prints a revocation time (ASN1_TIME_print): "Dec  3 09:10:00 2026 GMT".
  static std::string openssl_time(int64_t t) {
    const time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%b %e %H:%M:%S %Y GMT", &tm);
    return buf;
  }
};

TEST_F(LgpkiOcspTest, GoodThenRevokedWithItsReasonAndTimeRightAfterTheRevocation) {
  save_ca_certificates();
  const LgpkiCertificate cert = issued(LgpkiProfile::document_signing);
  save_cert(cert, "signer");
  std::string out = ocsp("organisation", "signer");
  EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
  EXPECT_NE(out.find("signer.pem: good"), std::string::npos) << out;
  // Cached now: the revocation itself must replace that answer, not its expiry.
  EXPECT_NE(ocsp("organisation", "signer").find("signer.pem: good"), std::string::npos);

  now_ += 30;
  ASSERT_TRUE(lgpki_->revoke(cert.serial, RevocationReason::key_compromise).ok());
  out = ocsp("organisation", "signer");
  EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
  EXPECT_NE(out.find("signer.pem: revoked"), std::string::npos) << out;
  EXPECT_NE(out.find("Reason: keyCompromise"), std::string::npos) << out;
  EXPECT_NE(out.find("Revocation Time: " + openssl_time(now_.load())), std::string::npos) << out;

  // Its own metrics, apart from JPKI's.
  const std::string metrics = server_->metrics_text();
  EXPECT_NE(metrics.find("jlis_lgpki_ocsp_requests_total{outcome=\"signed\"}"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("jlis_ocsp_"), std::string::npos) << metrics;
}

TEST_F(LgpkiOcspTest, AnotherIssuingCasCertificateOrAnUnknownSerialIsNeverGood) {
  save_ca_certificates();
  const LgpkiCertificate server = issued(LgpkiProfile::application_server);  // the application CA's
  const LgpkiCertificate mayor = issued(LgpkiProfile::position);              // the position CA's
  save_cert(server, "server");
  save_cert(mayor, "mayor");
  EXPECT_NE(ocsp("application", "server").find("server.pem: good"), std::string::npos);
  EXPECT_NE(ocsp("position", "mayor").find("mayor.pem: good"), std::string::npos);
  // The same serials asked of the other CAs: those issued no such certificate.
  for (const auto& [issuer, cert] : {std::pair{"organisation", "server"}, std::pair{"position", "server"},
                                     std::pair{"organisation", "mayor"}, std::pair{"application", "mayor"}}) {
    const std::string out = ocsp(issuer, cert);
    EXPECT_EQ(out.find(": good"), std::string::npos) << issuer << " " << cert << "\n" << out;
    EXPECT_NE(out.find("unauthorized"), std::string::npos) << issuer << " " << cert << "\n" << out;
  }
  int rc = -1;
  for (const char* serial : {"0x1", "0x7fffffffffffffffffffffffffffffff", "0x1234567890abcdef1234567890abcdef12"}) {
    const std::string out = cmd("openssl ocsp -issuer organisation.pem -serial " + std::string(serial) +
                                    " -CAfile root.pem -url " + url() + "/lgpki/ocsp -no_nonce",
                                &rc);
    EXPECT_EQ(out.find(": good"), std::string::npos) << serial << "\n" << out;
    EXPECT_NE(out.find("unauthorized"), std::string::npos) << serial << "\n" << out;
  }
  // The register's own serial, with its leading digits as the CertID carries them.
  const std::string leading = "0x" + server.serial;
  const std::string out = cmd("openssl ocsp -issuer application.pem -serial " + leading + " -CAfile root.pem -url " +
                                  url() + "/lgpki/ocsp -no_nonce",
                              &rc);
  EXPECT_NE(out.find(": good"), std::string::npos) << out;
}

TEST_F(LgpkiOcspTest, ASecondGenerationIsAnsweredAsSoonAsItExistsAndEachGenerationForItsOwn) {
  const LgpkiCertificate old_cert = issued(LgpkiProfile::document_signing);
  save_cert(old_cert, "old");
  save_ca_certificates();
  EXPECT_NE(ocsp("organisation", "old").find("old.pem: good"), std::string::npos);  // a responder exists

  auto g = lgpki_->new_generation();
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  ASSERT_EQ(*g, 2);
  const LgpkiCertificate new_cert = issued(LgpkiProfile::document_signing);
  EXPECT_EQ(new_cert.generation, 2);
  save_cert(new_cert, "new");
  save_ca_certificates();
  std::string out = ocsp("organisation-g2", "new", "root-g2");
  EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
  EXPECT_NE(out.find("new.pem: good"), std::string::npos) << out;
  EXPECT_NE(ocsp("organisation", "old").find("old.pem: good"), std::string::npos);
  // The same CA name with the other generation's key: not that CA's certificate.
  out = ocsp("organisation-g2", "old", "root-g2");
  EXPECT_EQ(out.find(": good"), std::string::npos) << out;
  EXPECT_NE(out.find("unauthorized"), std::string::npos) << out;
  out = ocsp("organisation", "new");
  EXPECT_EQ(out.find(": good"), std::string::npos) << out;

  ASSERT_TRUE(lgpki_->revoke(new_cert.serial, RevocationReason::superseded).ok());
  out = ocsp("organisation-g2", "new", "root-g2");
  EXPECT_NE(out.find("new.pem: revoked"), std::string::npos) << out;
  EXPECT_NE(out.find("Reason: superseded"), std::string::npos) << out;
}

TEST_F(LgpkiOcspTest, ARevocationByAnotherProcessReachesTheAnswersByTick) {
  save_ca_certificates();
  const LgpkiCertificate cert = issued(LgpkiProfile::organisation);
  save_cert(cert, "staff");
  ASSERT_EQ(lgpki_->tick().code(), Code::ok);  // nothing revoked yet
  EXPECT_NE(ocsp("organisation", "staff").find("staff.pem: good"), std::string::npos);
  // Another process (jlis lgpki revoke) revokes through its own LgpkiAuthority over the same store.
  LgpkiOptions options;
  options.clock = [this] { return now_.load(); };
  options.public_url = url();
  auto other = LgpkiAuthority::open(*pool_, *writer_, *keys_, options);
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  ASSERT_TRUE((*other)->revoke(cert.serial, RevocationReason::affiliation_changed).ok());
  // This process still answers its cached response until it looks.
  EXPECT_NE(ocsp("organisation", "staff").find("staff.pem: good"), std::string::npos);
  ASSERT_EQ(lgpki_->tick().code(), Code::ok);
  const std::string out = ocsp("organisation", "staff");
  EXPECT_NE(out.find("staff.pem: revoked"), std::string::npos) << out;
  EXPECT_NE(out.find("Reason: affiliationChanged"), std::string::npos) << out;
}

TEST_F(LgpkiOcspTest, PostAndGetAnswerTheSame) {
  const LgpkiCertificate cert = issued(LgpkiProfile::document_signing);
  auto cas = save_ca_certificates();
  X509Ptr x = x509_from_der(cert.der).value();
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), x.get(), cas["organisation"].get());
  ASSERT_NE(id, nullptr);
  OcspRequestPtr req(OCSP_REQUEST_new());
  ASSERT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_REQUEST(req.get(), &der);
  ASSERT_GT(n, 0);
  const std::string body(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  http::testing::Client client(server_->port());
  auto post = client.request(http::testing::bhttp::verb::post, "/lgpki/ocsp", body,
                             {{"Content-Type", "application/ocsp-request"}});
  ASSERT_EQ(post.result_int(), 200);
  // The base64 sent raw: the router keeps its slashes and pluses.
  auto get = client.get("/lgpki/ocsp/" + base64_encode(body));
  ASSERT_EQ(get.result_int(), 200);
  EXPECT_EQ(get.body(), post.body());
  const auto* p = reinterpret_cast<const unsigned char*>(get.body().data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(get.body().size())));
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(OCSP_response_status(resp.get()), OCSP_RESPONSE_STATUS_SUCCESSFUL);
}

}  // namespace
}  // namespace jlis::pki::testing
