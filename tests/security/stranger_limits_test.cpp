// What a stranger without a token can make the server do or tell (issue 18, defect 7 and the
// smartphone release route), over HTTP against `jlis serve` started with low per-client limits:
//   - unknown-serial OCSP answers are limited per client address: past the limit the answer is the
//     unsigned tryLater OCSP status (never an HTTP error), counted in /metrics, while certificates
//     the CA issued are always answered;
//   - the release-challenge route answers alike for an unknown serial, a good certificate, a
//     certificate that is not releasable and one on hold (no existence oracle), the release itself
//     answers alike until the key's holder proves it, and the route is limited per client (429).
#include <openssl/bn.h>
#include <openssl/ocsp.h>

#include <set>
#include <sstream>

#include "pki/openssl.h"
#include "world.h"

namespace jlis::security {
namespace {

using pki::base64_decode;
using pki::base64_encode;

constexpr int kOcspLimit = 3;     // --ocsp-unknown-limit in these tests
constexpr int kReleaseLimit = 6;  // --release-challenge-limit in these tests

class StrangerLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("limits").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  // Every test starts with a fresh server (the limits' buckets are in memory), limits set low.
  void SetUp() override {
    ASSERT_TRUE(world_ && world_->ok()) << "the world was not built";
    world_->start({"--ocsp-unknown-limit", std::to_string(kOcspLimit), "--release-challenge-limit",
                   std::to_string(kReleaseLimit)});
    ASSERT_NE(world_->port(), 0);
  }

  // The CA certificate of `kind` ("signature"), as any relying party fetches it.
  static pki::X509Ptr ca_certificate(const std::string& kind) {
    auto r = world_->get("/v1/pki/ca", "");
    EXPECT_EQ(r.result_int(), 200);
    const json cas = json::parse(r.body());  // kept alive: the loop reads its members
    for (const auto& c : cas["certificates"])
      if (c["kind"].get<std::string>() == kind + "-ca") return pki::x509_from_pem(c["pem"].get<std::string>()).value();
    ADD_FAILURE() << "no " << kind << " CA in " << r.body();
    return nullptr;
  }

  // POSTs a DER OCSP request for `serial_hex` of the signature CA; answers the HTTP reply.
  static Reply ocsp(const std::string& serial_hex) {
    static pki::X509Ptr ca = ca_certificate("signature");
    if (!ca) return Reply{};
    BIGNUM* bn = nullptr;
    EXPECT_GT(BN_hex2bn(&bn, serial_hex.c_str()), 0);
    pki::BignumPtr owned(bn);
    pki::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn, nullptr));
    OCSP_CERTID* id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca.get()), X509_get0_pubkey_bitstr(ca.get()),
                                       serial.get());
    pki::OcspRequestPtr req(OCSP_REQUEST_new());
    EXPECT_NE(OCSP_request_add0_id(req.get(), id), nullptr);
    unsigned char* der = nullptr;
    const int n = i2d_OCSP_REQUEST(req.get(), &der);
    std::string body(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    return world_->request(bhttp::verb::post, "/ocsp", body, "", {{"Content-Type", "application/ocsp-request"}});
  }
  // The OCSPResponseStatus of an HTTP reply (RFC 6960 §4.2.1), after checking it is one.
  static int ocsp_status(const Reply& r) {
    EXPECT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r[bhttp::field::content_type], "application/ocsp-response");
    const auto* p = reinterpret_cast<const unsigned char*>(r.body().data());
    pki::OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(r.body().size())));
    EXPECT_NE(resp, nullptr);
    return resp ? OCSP_response_status(resp.get()) : -1;
  }
  // A metric's value from /metrics (-1 when absent).
  static long metric(const std::string& line_prefix) {
    auto r = world_->get("/metrics", "");
    std::istringstream in(r.body());
    for (std::string line; std::getline(in, line);)
      if (line.rfind(line_prefix + " ", 0) == 0) return std::stol(line.substr(line_prefix.size() + 1));
    return -1;
  }

  Reply release_challenge(const std::string& serial) {
    return world_->post("/v1/pki/certificates/" + serial + "/release/challenges", "", "");
  }

  static inline World* world_ = nullptr;
};

// Rule: unknown-serial OCSP answers are limited per client (defect 7): exactly the limit of them
// answer unauthorized, the rest tryLater (unsigned, HTTP 200), each counted; a certificate the CA
// issued is answered (successful, signed) even to a client past its limit.
TEST_F(StrangerLimits, UnknownSerialOcspIsLimitedPerClientAndKnownSerialsNever) {
  const long signatures = metric("jlis_ocsp_signatures_total");
  int unauthorized = 0, try_later = 0;
  for (int i = 0; i < kOcspLimit + 5; ++i) {
    const int s = ocsp_status(ocsp("7" + std::string(30, '0') + std::to_string(i)));
    if (s == OCSP_RESPONSE_STATUS_UNAUTHORIZED) ++unauthorized;
    if (s == OCSP_RESPONSE_STATUS_TRYLATER) ++try_later;
  }
  EXPECT_EQ(unauthorized, kOcspLimit);
  EXPECT_EQ(try_later, 5);
  EXPECT_EQ(metric("jlis_ocsp_requests_total{outcome=\"unauthorized\"}"), kOcspLimit);
  EXPECT_EQ(metric("jlis_ocsp_requests_total{outcome=\"limited\"}"), 5);
  EXPECT_EQ(metric("jlis_ocsp_signatures_total"), signatures);  // none of them cost a signature
  // The world's resident's signature certificate: answered, however many times.
  for (int i = 0; i < kOcspLimit + 2; ++i)
    EXPECT_EQ(ocsp_status(ocsp(world_->resident().signature_serial)), OCSP_RESPONSE_STATUS_SUCCESSFUL) << i;
  EXPECT_EQ(metric("jlis_ocsp_requests_total{outcome=\"limited\"}"), 5);
}

// Rule: the release-challenge route is no existence oracle: an unknown serial, a good certificate,
// a card's certificate (not releasable by the holder's app) and the same with upper-case digits
// all get a challenge of the same shape; a release with a wrong signature gets the same 403 body
// for each; nothing about any certificate changes.
TEST_F(StrangerLimits, ReleaseChallengesAndReleasesTellAStrangerNothing) {
  const std::string before_sig = world_->get("/v1/pki/certificates/" + world_->resident().signature_serial,
                                             world_->tokens().verifier).body();
  // A suspended card's certificate: on hold, but not the holder's app's to release.
  Resident held = world_->resident_with_card("limits-held", "1979-09-09", CardKey::make(), CardKey::make());
  ASSERT_EQ(world_->post("/v1/cards/" + held.card_id + "/suspend", "", world_->tokens().call_centre).result_int(), 200);
  const std::vector<std::string> serials = {
      held.authentication_serial,                   // on hold, not releasable by the app
      "7" + std::string(31, '1'),                   // never issued
      world_->resident().authentication_serial,     // a card's certificate, good
      world_->resident().signature_serial,          // a card's signature certificate, good
  };
  std::set<std::string> refusals;
  for (const auto& serial : serials) {
    auto ch = release_challenge(serial);
    ASSERT_EQ(ch.result_int(), 201) << serial << ": " << ch.body();
    const json c = json::parse(ch.body());
    std::set<std::string> keys;
    for (const auto& [k, v] : c.items()) keys.insert(k);
    EXPECT_EQ(keys, (std::set<std::string>{"challenge_id", "challenge", "expires_at"})) << ch.body();
    auto r = world_->post("/v1/pki/certificates/" + serial + "/release",
                          json{{"challenge_id", c["challenge_id"]}, {"signature", base64_encode(std::string(256, 'x'))}}.dump(),
                          "");
    EXPECT_TRUE(is_error_json(r, 403)) << serial;
    refusals.insert(r.body());
  }
  EXPECT_EQ(refusals.size(), 1u) << "the refusals differ by serial";
  // Malformed serials are refused for their form only.
  EXPECT_TRUE(is_error_json(release_challenge("zz"), 400));
  // Nothing about the certificates changed.
  EXPECT_EQ(world_->get("/v1/pki/certificates/" + world_->resident().signature_serial, world_->tokens().verifier).body(),
            before_sig);
}

// Rule: release challenges are limited per client address: exactly the limit of them are made, the
// next is a 429 JSON error with Retry-After that writes nothing.
TEST_F(StrangerLimits, ReleaseChallengesAreLimitedPerClient) {
  const std::string serial = "7" + std::string(31, '2');
  for (int i = 0; i < kReleaseLimit; ++i) EXPECT_EQ(release_challenge(serial).result_int(), 201) << i;
  const std::string before = world_->table_digest();
  auto r = release_challenge(serial);
  EXPECT_TRUE(is_error_json(r, 429)) << r.body();
  EXPECT_EQ(json::parse(r.body())["error"]["code"], "too_many_requests");
  EXPECT_FALSE(std::string(r[bhttp::field::retry_after]).empty());
  EXPECT_TRUE(is_error_json(release_challenge(world_->resident().authentication_serial), 429));
  EXPECT_EQ(world_->table_digest(), before);
}

}  // namespace
}  // namespace jlis::security
