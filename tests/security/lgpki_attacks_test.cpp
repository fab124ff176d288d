// Attacks on LGPKI's public routes (GET /lgpki/crl/{name}.crl, GET /lgpki/ca/{name}.cer): names
// outside the published ones, paths out of the folder, encoded bytes, are 404 JSON and make no list;
// no route answers anything but DER CRLs and certificates (no personal data), with or without a token.
// Its OCSP responder (POST /lgpki/ocsp, GET /lgpki/ocsp/{request...}): bodies that are not an
// OCSPRequest answer malformedRequest, oversized ones 413; a CertID of JPKI's CA (or a mix of the
// two hierarchies' hashes) is never answered good by either responder.
#include <openssl/ocsp.h>

#include "world.h"

namespace jlis::security {
namespace {

class LgpkiAttacks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = e2e::temp_dir("lgpki-attacks");
    ::setenv("JLIS_CA_PASSPHRASE", "security passphrase, not a real one", 1);
    const auto out = e2e::prepared_dir(dir_, {{"init", "--data", "{dir}"},
                                              {"ca", "init", "--data", "{dir}"},
                                              {"lgpki", "init", "--data", "{dir}"}});
    ASSERT_EQ(out.size(), 3u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    server_ = std::make_unique<e2e::Server>(dir_);
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  // The OCSPResponseStatus of an HTTP reply (RFC 6960 §4.2.1), after checking it is one; and
  // whether any certificate in it is answered good.
  static int ocsp_status(const Reply& r, bool* good = nullptr) {
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[bhttp::field::content_type], "application/ocsp-response");
    const auto* p = reinterpret_cast<const unsigned char*>(r.body().data());
    pki::OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(r.body().size())));
    if (good != nullptr) {
      *good = false;
      pki::OcspBasicRespPtr basic(resp ? OCSP_response_get1_basic(resp.get()) : nullptr);
      for (int i = 0; basic && i < OCSP_resp_count(basic.get()); ++i)
        *good = *good || OCSP_single_get0_status(OCSP_resp_get0(basic.get(), i), nullptr, nullptr, nullptr,
                                                 nullptr) == V_OCSP_CERTSTATUS_GOOD;
    }
    return resp ? OCSP_response_status(resp.get()) : -1;
  }
  // A DER OCSPRequest for `serials` (hex) with the issuer name hash of `name_of` and the key hash
  // of `key_of` (the same CA for an honest CertID).
  static std::string ocsp_request(X509* name_of, X509* key_of, const std::vector<std::string>& serials) {
    pki::OcspRequestPtr req(OCSP_REQUEST_new());
    for (const std::string& hex : serials) {
      BIGNUM* bn = nullptr;
      EXPECT_GT(BN_hex2bn(&bn, hex.c_str()), 0);
      pki::BignumPtr owned(bn);
      pki::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn, nullptr));
      OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(name_of), X509_get0_pubkey_bitstr(key_of),
                                         serial.get());
      EXPECT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
    }
    unsigned char* der = nullptr;
    const int n = i2d_OCSP_REQUEST(req.get(), &der);
    EXPECT_GT(n, 0);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n > 0 ? n : 0));
    OPENSSL_free(der);
    return out;
  }
  Reply post_ocsp(const std::string& path, const std::string& body) {
    return Client(server_->port())
        .request(bhttp::verb::post, path, body, {{"Content-Type", "application/ocsp-request"}});
  }
  // The LGPKI organisation CA's certificate and JPKI's signature CA's, as relying parties fetch them.
  pki::X509Ptr lgpki_ca() {
    auto r = Client(server_->port()).get("/lgpki/ca/organisation.cer");
    EXPECT_EQ(r.result_int(), 200);
    return pki::x509_from_der(r.body()).value();
  }
  pki::X509Ptr jpki_ca() {
    auto r = Client(server_->port()).get("/v1/pki/ca");
    EXPECT_EQ(r.result_int(), 200);
    const json cas = json::parse(r.body());
    for (const auto& c : cas["certificates"])
      if (c["kind"].get<std::string>() == "signature-ca") return pki::x509_from_pem(c["pem"].get<std::string>()).value();
    ADD_FAILURE() << "no signature CA in " << r.body();
    return nullptr;
  }

  std::string dir_;
  std::unique_ptr<e2e::Server> server_;
};

TEST_F(LgpkiAttacks, NamesOutsideThePublishedListsAndCertificatesAreNotFound) {
  Client client(server_->port());
  for (const char* name :
       {"arl-g2.crl", "position-g0.crl", "root.crl", "POSITION.crl", "position.crl.tmp", "position", ".crl",
        "..%2fposition.crl", "..%2f..%2fpki%2flgpki.json", "position%00.crl", "position.crl%00", "%2e%2e",
        "position.crl.crl", "position-g1.crl", "a-very-long-name-that-goes-on-and-on-and-on.crl"}) {
    auto r = client.get(std::string("/lgpki/crl/") + name);
    EXPECT_TRUE(is_error_json(r, 404)) << name;
  }
  for (const char* name : {"root.crl", "root", "..%2froot.cer", "ROOT.cer", "root-link-1-2.cer", "root-g2.cer",
                           "root.cer%00", "lgpki-root-g1.cer", "lgpki-root-g1.key.pem"}) {
    auto r = client.get(std::string("/lgpki/ca/") + name);
    EXPECT_TRUE(is_error_json(r, 404)) << name;
  }
  // The real ones answer DER, also to a caller with a (bogus) token: the routes take none.
  auto crl = client.get("/lgpki/crl/position.crl", {{"Authorization", "Bearer jlis_not_a_token"}});
  EXPECT_EQ(crl.result_int(), 200);
  EXPECT_EQ(crl[bhttp::field::content_type], "application/pkix-crl");
  auto root = client.get("/lgpki/ca/root.cer");
  EXPECT_EQ(root.result_int(), 200);
  EXPECT_EQ(root.body().find("PRIVATE"), std::string::npos);
}

TEST_F(LgpkiAttacks, RepeatedFetchesServeTheRecordedListAndMakeNoNewOnes) {
  Client client(server_->port());
  auto first = client.get("/lgpki/crl/organisation.crl");
  ASSERT_EQ(first.result_int(), 200);
  for (int i = 0; i < 20; ++i) {
    auto again = client.get("/lgpki/crl/organisation.crl");
    ASSERT_EQ(again.result_int(), 200);
    EXPECT_EQ(again.body(), first.body()) << "a GET signs no new CRL while the last is fresh and nothing changed";
  }
}

TEST_F(LgpkiAttacks, OcspBodiesThatAreNotARequestAnswerMalformedAndOversizedOnes413) {
  pki::X509Ptr ca = lgpki_ca();
  ASSERT_NE(ca, nullptr);
  const std::string honest = ocsp_request(ca.get(), ca.get(), {"1"});
  std::vector<std::string> serials;
  for (int i = 0; i < 65; ++i) serials.push_back(std::to_string(1000 + i));
  for (const std::string& body :
       {std::string(), std::string("garbage"), honest.substr(0, honest.size() / 2), honest + "trailing",
        std::string(4096, '\x30'), std::string(Client(server_->port()).get("/lgpki/ca/root.cer").body()),
        ocsp_request(ca.get(), ca.get(), serials)}) {
    EXPECT_EQ(ocsp_status(post_ocsp("/lgpki/ocsp", body)), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) << body.size();
  }
  Client client(server_->port());
  for (const char* path : {"/lgpki/ocsp/not-base64!", "/lgpki/ocsp/AAAA", "/lgpki/ocsp/%00%ff", "/lgpki/ocsp/..%2f..%2fetc"})
    EXPECT_EQ(ocsp_status(client.get(path)), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) << path;
  auto huge = post_ocsp("/lgpki/ocsp", std::string(2 << 20, 'A'));
  EXPECT_EQ(huge.result_int(), 413);
  // Still answering afterwards, and never with a good status.
  bool good = true;
  EXPECT_EQ(ocsp_status(post_ocsp("/lgpki/ocsp", honest), &good), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  EXPECT_FALSE(good);
  auto metrics = client.get("/metrics");
  EXPECT_NE(metrics.body().find("jlis_lgpki_ocsp_requests_total{outcome=\"malformed\"} 11"), std::string::npos)
      << metrics.body();
  EXPECT_NE(metrics.body().find("jlis_ocsp_requests_total{outcome=\"malformed\"} 0"), std::string::npos);
}

TEST_F(LgpkiAttacks, ACertIdOfTheOtherHierarchyIsNeverAnsweredGood) {
  pki::X509Ptr lgpki = lgpki_ca(), jpki = jpki_ca();
  ASSERT_NE(lgpki, nullptr);
  ASSERT_NE(jpki, nullptr);
  const std::vector<std::string> serials = {"1", "2", "7f", std::string(32, 'a')};
  struct Case {
    const char* path;
    X509* name_of;
    X509* key_of;
  };
  for (const Case& c : {Case{"/lgpki/ocsp", jpki.get(), jpki.get()}, Case{"/lgpki/ocsp", lgpki.get(), jpki.get()},
                        Case{"/lgpki/ocsp", jpki.get(), lgpki.get()}, Case{"/ocsp", lgpki.get(), lgpki.get()}}) {
    for (const std::string& serial : serials) {
      bool good = true;
      const int status = ocsp_status(post_ocsp(c.path, ocsp_request(c.name_of, c.key_of, {serial})), &good);
      EXPECT_EQ(status, OCSP_RESPONSE_STATUS_UNAUTHORIZED) << c.path << " " << serial;
      EXPECT_FALSE(good) << c.path << " " << serial;
    }
  }
  // Both hierarchies in one request: not one issuer, unauthorized.
  pki::OcspRequestPtr both(OCSP_REQUEST_new());
  for (X509* ca : {lgpki.get(), jpki.get()}) {
    pki::Asn1IntegerPtr serial(ASN1_INTEGER_new());
    ASSERT_EQ(ASN1_INTEGER_set(serial.get(), 1), 1);
    OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca), X509_get0_pubkey_bitstr(ca), serial.get());
    ASSERT_NE(OCSP_request_add0_id(both.get(), id), nullptr);
  }
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_REQUEST(both.get(), &der);
  ASSERT_GT(n, 0);
  const std::string mixed(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  bool good = true;
  EXPECT_EQ(ocsp_status(post_ocsp("/lgpki/ocsp", mixed), &good), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  EXPECT_FALSE(good);
}

}  // namespace
}  // namespace jlis::security
