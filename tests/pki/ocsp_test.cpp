// The OCSP responder against real OpenSSL: requests made with OCSP_cert_to_id, responses parsed
// with OCSP_resp_find_status and verified with OCSP_basic_verify, and the `openssl ocsp` client
// against the HTTP routes.
#include "pki/ocsp.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "../http/client.h"
#include "http/server.h"
#include "test_ca.h"

namespace jlis::pki {
namespace {

namespace fs = std::filesystem;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE_free>>;
using testing::CertSpec;
using testing::make_cert;
using testing::make_key;

constexpr int64_t kRevokedAt = 1767225600;  // 2026-01-01T00:00:00Z

// A CA with its delegated responder, and leaf certificates.
struct TestIssuer {
  EvpPkeyPtr key;
  X509Ptr cert;
  EvpPkeyPtr responder_key;
  X509Ptr responder;

  static TestIssuer make(const std::string& name) {
    TestIssuer i;
    i.key = make_key();
    CertSpec ca;
    ca.common_name = name;
    ca.ca = true;
    i.cert = make_cert(ca, i.key.get());
    i.responder_key = make_key();
    CertSpec r;
    r.common_name = name + " OCSP responder";
    r.serial_hex = "0a";
    r.issuer = i.cert.get();
    r.issuer_key = i.key.get();
    r.ocsp_signing = true;
    i.responder = make_cert(r, i.responder_key.get());
    return i;
  }
  X509Ptr leaf(const std::string& serial_hex, EVP_PKEY* leaf_key) const {
    CertSpec s;
    s.common_name = "leaf " + serial_hex;
    s.serial_hex = serial_hex;
    s.issuer = cert.get();
    s.issuer_key = key.get();
    return make_cert(s, leaf_key);
  }
  OcspIssuer ocsp() const { return {cert.get(), responder.get(), responder_key.get()}; }
};

struct Fixture {
  TestIssuer ca = TestIssuer::make("OpenJLIS test CA");
  TestIssuer other = TestIssuer::make("Another CA");
  EvpPkeyPtr leaf_key = make_key();
  X509Ptr good = ca.leaf("1001", leaf_key.get());
  X509Ptr revoked = ca.leaf("1002", leaf_key.get());
  X509Ptr revoked_unspecified = ca.leaf("1003", leaf_key.get());
  X509Ptr unknown = ca.leaf("1004", leaf_key.get());
  X509Ptr foreign = other.leaf("1001", leaf_key.get());
};

const Fixture& fixture() {
  static const Fixture* f = new Fixture();  // RSA keys are slow to make: once per test binary
  return *f;
}

// The statuses the responder looks up, changeable by the tests.
class StatusTable {
 public:
  StatusTable() {
    set(0, "1001", good());
    set(0, "1002", revoked(RevocationReason::key_compromise));
    set(0, "1003", revoked(RevocationReason::unspecified));
    set(1, "1001", good());
  }
  static CertificateStatus good() { return {CertificateStatus::Kind::good, 0, RevocationReason::unspecified}; }
  static CertificateStatus revoked(RevocationReason reason) {
    return {CertificateStatus::Kind::revoked, kRevokedAt, reason};
  }
  void set(size_t issuer, const std::string& serial, CertificateStatus status) {
    std::lock_guard lock(mu_);
    table_[{issuer, serial}] = status;
  }
  void fail(bool f) { failing_ = f; }
  int lookups() const { return lookups_; }

  StatusLookup lookup() {
    return [this](size_t issuer, const std::string& serial) -> Result<CertificateStatus> {
      ++lookups_;
      if (failing_) return unavailable("the database is down");
      std::lock_guard lock(mu_);
      auto it = table_.find({issuer, serial});
      if (it == table_.end()) return CertificateStatus{};
      return it->second;
    };
  }

 private:
  std::mutex mu_;
  std::map<std::pair<size_t, std::string>, CertificateStatus> table_;
  std::atomic<bool> failing_{false};
  std::atomic<int> lookups_{0};
};

std::string request_der(const std::vector<OCSP_CERTID*>& ids, bool nonce = false) {
  std::unique_ptr<OCSP_REQUEST, OpensslDeleter<OCSP_REQUEST_free>> req(OCSP_REQUEST_new());
  for (OCSP_CERTID* id : ids) {
    OCSP_CERTID* copy = OCSP_CERTID_dup(id);
    EXPECT_NE(OCSP_request_add0_id(req.get(), copy), nullptr);
  }
  if (nonce) {
    EXPECT_EQ(OCSP_request_add1_nonce(req.get(), nullptr, 16), 1);
  }
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_REQUEST(req.get(), &out);
  EXPECT_GT(n, 0);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

OcspCertIdPtr cert_id(X509* leaf, X509* issuer, const EVP_MD* md = EVP_sha1()) {
  return OcspCertIdPtr(OCSP_cert_to_id(md, leaf, issuer));
}

// A parsed response.
struct Parsed {
  int status = -1;
  OcspBasicRespPtr basic;
};

Parsed parse_response(const std::string& der) {
  Parsed p;
  const auto* q = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &q, static_cast<long>(der.size())));
  if (!response) return p;
  p.status = OCSP_response_status(response.get());
  p.basic.reset(OCSP_response_get1_basic(response.get()));
  return p;
}

bool verifies(OCSP_BASICRESP* basic, X509* ca) {
  X509StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), ca) != 1) return false;
  const int rc = OCSP_basic_verify(basic, nullptr, store.get(), 0);
  ERR_clear_error();
  return rc == 1;
}

struct Single {
  int status = -100;
  int reason = -100;
  int64_t revoked_at = 0;
  int64_t this_update = 0;
  int64_t next_update = 0;
};

Single find(OCSP_BASICRESP* basic, OCSP_CERTID* id) {
  Single s;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  if (OCSP_resp_find_status(basic, id, &s.status, &s.reason, &rev, &thisupd, &nextupd) != 1) return s;
  if (rev != nullptr) s.revoked_at = *unix_seconds(rev);
  if (thisupd != nullptr) s.this_update = *unix_seconds(thisupd);
  if (nextupd != nullptr) s.next_update = *unix_seconds(nextupd);
  return s;
}

class OcspTest : public ::testing::Test {
 protected:
  const Fixture& f = fixture();
  StatusTable table;
  std::atomic<int64_t> now{static_cast<int64_t>(std::time(nullptr))};

  OcspOptions options() {
    OcspOptions o;
    o.validity = std::chrono::hours(24);
    o.clock = [this] { return now.load(); };
    return o;
  }
  std::unique_ptr<OcspResponder> responder(std::vector<OcspIssuer> issuers = {}) {
    if (issuers.empty()) issuers = {f.ca.ocsp()};
    return std::make_unique<OcspResponder>(std::move(issuers), table.lookup(), options());
  }
  // The single status of `leaf` answered by `r`, checked to verify against the CA.
  Single ask(OcspResponder& r, X509* leaf, const EVP_MD* md = EVP_sha1(), std::string* der = nullptr) {
    auto id = cert_id(leaf, f.ca.cert.get(), md);
    auto answer = r.answer(request_der({id.get()}));
    if (der != nullptr) *der = answer->der;
    Parsed p = parse_response(answer->der);
    EXPECT_EQ(p.status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
    EXPECT_TRUE(answer->successful);
    if (!p.basic) return {};
    EXPECT_TRUE(verifies(p.basic.get(), f.ca.cert.get()));
    return find(p.basic.get(), id.get());
  }
  int error_status(OcspResponder& r, std::string_view der) {
    auto answer = r.answer(der);
    EXPECT_FALSE(answer->successful);
    Parsed p = parse_response(answer->der);
    EXPECT_EQ(p.basic, nullptr);
    return p.status;
  }
};

TEST_F(OcspTest, GoodRevokedAndUnknownVerifyAgainstTheCa) {
  auto r = responder();
  const int64_t t = now.load();
  Single good = ask(*r, f.good.get());
  EXPECT_EQ(good.status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(good.this_update, t);
  EXPECT_EQ(good.next_update, t + 86400);

  Single revoked = ask(*r, f.revoked.get());
  EXPECT_EQ(revoked.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(revoked.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(revoked.revoked_at, kRevokedAt);

  Single unspecified = ask(*r, f.revoked_unspecified.get());
  EXPECT_EQ(unspecified.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(unspecified.reason, OCSP_REVOKED_STATUS_NOSTATUS);  // no revocationReason written
  EXPECT_EQ(unspecified.revoked_at, kRevokedAt);

  // Not issued here: the unsigned unauthorized answer (RFC 5019 §2.2.3), not a signed "unknown".
  auto c = cert_id(f.unknown.get(), f.ca.cert.get());
  EXPECT_EQ(error_status(*r, request_der({c.get()})), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
}

// Rule (issue 18, defect 7): asking about serials never issued costs no signature, however many.
TEST_F(OcspTest, UnknownSerialsCostNoSignature) {
  auto r = responder();
  for (int i = 0; i < 50; ++i) {
    X509Ptr leaf = f.ca.leaf(std::to_string(5000 + i), f.leaf_key.get());
    auto c = cert_id(leaf.get(), f.ca.cert.get());
    EXPECT_EQ(error_status(*r, request_der({c.get()})), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  }
  EXPECT_NE(r->metrics().find("jlis_ocsp_signatures_total 0\n"), std::string::npos) << r->metrics();
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"unauthorized\"} 50\n"), std::string::npos)
      << r->metrics();
}

TEST_F(OcspTest, SignedByTheResponderCertificateNamedByKey) {
  auto r = responder();
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  auto answer = r->answer(request_der({id.get()}));
  Parsed p = parse_response(answer->der);
  ASSERT_NE(p.basic, nullptr);
  const STACK_OF(X509)* certs = OCSP_resp_get0_certs(p.basic.get());
  ASSERT_EQ(sk_X509_num(certs), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(certs, 0), f.ca.responder.get()), 0);
  const ASN1_OCTET_STRING* key_id = nullptr;
  const X509_NAME* name = nullptr;
  ASSERT_EQ(OCSP_resp_get0_id(p.basic.get(), &key_id, &name), 1);
  ASSERT_NE(key_id, nullptr);
  EXPECT_EQ(name, nullptr);
  unsigned char sha1[20];
  unsigned int len = 0;
  ASSERT_EQ(X509_pubkey_digest(f.ca.responder.get(), EVP_sha1(), sha1, &len), 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(key_id)), ASN1_STRING_length(key_id)),
            std::string(reinterpret_cast<char*>(sha1), len));
  X509* signer = nullptr;
  ASSERT_EQ(OCSP_resp_get0_signer(p.basic.get(), &signer, nullptr), 1);
  EXPECT_EQ(X509_cmp(signer, f.ca.responder.get()), 0);
  EXPECT_EQ(OCSP_resp_get0_tbs_sigalg(p.basic.get()) != nullptr, true);
  EXPECT_EQ(OBJ_obj2nid(OCSP_resp_get0_tbs_sigalg(p.basic.get())->algorithm), NID_sha256WithRSAEncryption);
  // No nonce is echoed, even when asked for one (RFC 5019 §2.2.1: pre-produced responses).
  auto with_nonce = r->answer(request_der({id.get()}, true));
  Parsed q = parse_response(with_nonce->der);
  ASSERT_NE(q.basic, nullptr);
  EXPECT_EQ(OCSP_BASICRESP_get_ext_by_NID(q.basic.get(), NID_id_pkix_OCSP_Nonce, -1), -1);
  EXPECT_EQ(with_nonce->der, answer->der);  // the cached response of the same CertID
}

TEST_F(OcspTest, SecondRequestAnswersTheSameBytesWithoutLookingUp) {
  auto r = responder();
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  const std::string request = request_der({id.get()});
  auto first = r->answer(request);
  const int lookups = table.lookups();
  now += 60;
  auto second = r->answer(request);
  EXPECT_EQ(second->der, first->der);
  EXPECT_EQ(second.get(), first.get());
  EXPECT_EQ(table.lookups(), lookups);
  const std::string m = r->metrics();
  EXPECT_NE(m.find("jlis_ocsp_requests_total{outcome=\"cached\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("jlis_ocsp_requests_total{outcome=\"signed\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("jlis_ocsp_cached_responses 1\n"), std::string::npos) << m;
}

// cached() (what the HTTP server answers on its I/O thread) gives only what answer() would give
// without a lookup or a signature: a response already made for these exact bytes, in the first half
// of its validity; and after a refresh, the new one.
TEST_F(OcspTest, CachedIsOnlyAFreshResponseToTheSameBytes) {
  auto r = responder();
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  const std::string request = request_der({id.get()});
  EXPECT_EQ(r->cached(request), nullptr);  // nothing made yet
  auto first = r->answer(request);
  const int lookups = table.lookups();
  EXPECT_EQ(r->cached(request).get(), first.get());
  auto sha256_id = cert_id(f.good.get(), f.ca.cert.get(), EVP_sha256());
  EXPECT_EQ(r->cached(request_der({sha256_id.get()})), nullptr);  // another CertID: not made yet
  EXPECT_EQ(r->cached("not an OCSP request"), nullptr);
  now += 12 * 3600 - 1;
  EXPECT_EQ(r->cached(request).get(), first.get());
  EXPECT_EQ(table.lookups(), lookups);
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"cached\"} 2\n"), std::string::npos);
  now += 1;  // half the validity: due for re-signing, which answer() does
  EXPECT_EQ(r->cached(request), nullptr);
  auto resigned = r->answer(request);
  EXPECT_NE(resigned->der, first->der);
  EXPECT_EQ(r->cached(request).get(), resigned.get());
  // Revoked and refreshed: cached() gives the new status at once.
  table.set(0, "1001", StatusTable::revoked(RevocationReason::key_compromise));
  r->refresh(0, "1001");
  auto after = r->cached(request);
  ASSERT_NE(after, nullptr);
  Parsed p = parse_response(after->der);
  ASSERT_NE(p.basic, nullptr);
  EXPECT_EQ(find(p.basic.get(), id.get()).status, V_OCSP_CERTSTATUS_REVOKED);
}

TEST_F(OcspTest, Sha256CertIdsAnswerAndAreCachedApart) {
  auto r = responder();
  std::string sha1_der, sha256_der;
  EXPECT_EQ(ask(*r, f.revoked.get(), EVP_sha1(), &sha1_der).status, V_OCSP_CERTSTATUS_REVOKED);
  Single s = ask(*r, f.revoked.get(), EVP_sha256(), &sha256_der);
  EXPECT_EQ(s.status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(s.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(ask(*r, f.good.get(), EVP_sha512()).status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_NE(sha1_der, sha256_der);
  std::string again;
  ask(*r, f.revoked.get(), EVP_sha256(), &again);
  EXPECT_EQ(again, sha256_der);
  EXPECT_NE(r->metrics().find("jlis_ocsp_cached_responses 3\n"), std::string::npos);
}

TEST_F(OcspTest, RefreshMakesANewlyRevokedCertificateAnswerRevoked) {
  auto r = responder();
  EXPECT_EQ(ask(*r, f.good.get()).status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(ask(*r, f.good.get(), EVP_sha256()).status, V_OCSP_CERTSTATUS_GOOD);
  table.set(0, "1001", StatusTable::revoked(RevocationReason::cessation_of_operation));
  EXPECT_EQ(ask(*r, f.good.get()).status, V_OCSP_CERTSTATUS_GOOD);  // still the cached answer
  r->refresh(0, "1001");
  for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
    Single s = ask(*r, f.good.get(), md);
    EXPECT_EQ(s.status, V_OCSP_CERTSTATUS_REVOKED);
    EXPECT_EQ(s.reason, OCSP_REVOKED_STATUS_CESSATIONOFOPERATION);
  }
  r->refresh(0, "ffff");  // not cached: nothing to do
}

TEST_F(OcspTest, RefreshDueResignsPastHalfTheValidity) {
  auto r = responder();
  std::string before;
  ask(*r, f.good.get(), EVP_sha1(), &before);
  ask(*r, f.revoked.get());
  EXPECT_EQ(r->refresh_due(), 0u);
  now += 12 * 3600 - 1;
  EXPECT_EQ(r->refresh_due(), 0u);
  now += 1;
  EXPECT_EQ(r->refresh_due(), 2u);
  std::string after;
  Single s = ask(*r, f.good.get(), EVP_sha1(), &after);
  EXPECT_NE(after, before);
  EXPECT_EQ(s.this_update, now.load());
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"cached\"} 1\n"), std::string::npos);
  EXPECT_EQ(r->refresh_due(), 0u);
}

TEST_F(OcspTest, ResponsesNobodyAsksForAreDroppedInsteadOfResigned) {
  auto r = responder();
  ask(*r, f.good.get());
  now += 12 * 3600;
  EXPECT_EQ(r->refresh_due(), 1u);  // asked for within the validity period
  now += 12 * 3600;
  EXPECT_EQ(r->refresh_due(), 0u);  // nobody asked for a whole validity period
  EXPECT_NE(r->metrics().find("jlis_ocsp_cached_responses 0\n"), std::string::npos);
}

TEST_F(OcspTest, StaleAnswerIsSignedAgainOnRequest) {
  auto r = responder();
  std::string before, after;
  ask(*r, f.good.get(), EVP_sha1(), &before);
  now += 13 * 3600;  // no refresher running
  Single s = ask(*r, f.good.get(), EVP_sha1(), &after);
  EXPECT_NE(after, before);
  EXPECT_EQ(s.this_update, now.load());
  now += 25 * 3600;  // expired
  s = ask(*r, f.good.get(), EVP_sha1(), &after);
  EXPECT_EQ(s.this_update, now.load());
}

TEST_F(OcspTest, RefresherThreadResignsAndStopsWithTheResponder) {
  OcspOptions o = options();
  o.refresh_period = std::chrono::seconds(1);
  OcspResponder r({f.ca.ocsp()}, table.lookup(), o);
  ask(r, f.good.get());
  r.start_refresher();
  now += 12 * 3600;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (r.metrics().find("jlis_ocsp_signatures_total 2\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(r.metrics().find("jlis_ocsp_signatures_total 2\n"), std::string::npos) << r.metrics();
  EXPECT_EQ(ask(r, f.good.get()).this_update, now.load());
}

TEST_F(OcspTest, MalformedRequests) {
  auto r = responder();
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  const std::string good = request_der({id.get()});
  EXPECT_EQ(error_status(*r, ""), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(error_status(*r, "this is not DER at all"), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(error_status(*r, good.substr(0, good.size() - 1)), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(error_status(*r, good.substr(0, 10)), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(error_status(*r, good + "x"), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  EXPECT_EQ(error_status(*r, request_der({})), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);  // no certificates
  std::string noise(good.size(), '\0');
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(noise.data()), static_cast<int>(noise.size())), 1);
    EXPECT_FALSE(r->answer(noise)->successful);
  }
  // Every byte flipped in turn: never a crash, and an answer either way.
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(r->answer(bad)->der.empty());
  }
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"malformed\"}"), std::string::npos);
}

TEST_F(OcspTest, CertificateOfAnotherCaIsUnauthorized) {
  auto r = responder();
  auto foreign = cert_id(f.foreign.get(), f.other.cert.get());
  EXPECT_EQ(error_status(*r, request_der({foreign.get()})), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  auto unsupported = cert_id(f.good.get(), f.ca.cert.get(), EVP_md5());
  EXPECT_EQ(error_status(*r, request_der({unsupported.get()})), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"unauthorized\"} 2\n"), std::string::npos);
}

TEST_F(OcspTest, EachIssuerAnsweredByItsOwnResponder) {
  auto r = responder({f.ca.ocsp(), f.other.ocsp()});
  auto id = cert_id(f.foreign.get(), f.other.cert.get());
  Parsed p = parse_response(r->answer(request_der({id.get()}))->der);
  ASSERT_NE(p.basic, nullptr);
  EXPECT_TRUE(verifies(p.basic.get(), f.other.cert.get()));
  EXPECT_FALSE(verifies(p.basic.get(), f.ca.cert.get()));
  EXPECT_EQ(find(p.basic.get(), id.get()).status, V_OCSP_CERTSTATUS_GOOD);
  // One response has one signer: certificates of two issuers in one request are refused.
  auto mine = cert_id(f.good.get(), f.ca.cert.get());
  EXPECT_EQ(error_status(*r, request_der({mine.get(), id.get()})), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
}

TEST_F(OcspTest, FailedLookupAnswersTryLater) {
  auto r = responder();
  table.fail(true);
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  EXPECT_EQ(error_status(*r, request_der({id.get()})), OCSP_RESPONSE_STATUS_TRYLATER);
  table.fail(false);
  EXPECT_EQ(ask(*r, f.good.get()).status, V_OCSP_CERTSTATUS_GOOD);
  // A refresh whose lookup fails drops the cached answer rather than keep serving it.
  table.fail(true);
  r->refresh(0, "1001");
  EXPECT_EQ(error_status(*r, request_der({id.get()})), OCSP_RESPONSE_STATUS_TRYLATER);
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"error\"} 2\n"), std::string::npos);
}

TEST_F(OcspTest, StillValidAnswerServedWhileLookupsFail) {
  auto r = responder();
  const int64_t signed_at = now.load();
  ask(*r, f.good.get());
  now += 13 * 3600;  // due for re-signing, valid for 11 more hours
  table.fail(true);
  EXPECT_EQ(ask(*r, f.good.get()).this_update, signed_at);
  now += 12 * 3600;  // expired
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  EXPECT_EQ(error_status(*r, request_der({id.get()})), OCSP_RESPONSE_STATUS_TRYLATER);
}

TEST_F(OcspTest, TooManyCertificatesInOneRequestIsMalformed) {
  auto r = responder();
  auto id = cert_id(f.good.get(), f.ca.cert.get());
  std::vector<OCSP_CERTID*> ids(65, id.get());
  EXPECT_EQ(error_status(*r, request_der(ids)), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  ids.resize(64);
  EXPECT_TRUE(r->answer(request_der(ids))->successful);
}

TEST_F(OcspTest, SeveralCertificatesAreSignedTogetherUncached) {
  auto r = responder();
  auto a = cert_id(f.good.get(), f.ca.cert.get());
  auto b = cert_id(f.revoked.get(), f.ca.cert.get(), EVP_sha256());
  auto c = cert_id(f.revoked_unspecified.get(), f.ca.cert.get());
  const std::string request = request_der({a.get(), b.get(), c.get()});
  auto answer = r->answer(request);
  Parsed p = parse_response(answer->der);
  ASSERT_NE(p.basic, nullptr);
  EXPECT_TRUE(verifies(p.basic.get(), f.ca.cert.get()));
  EXPECT_EQ(OCSP_resp_count(p.basic.get()), 3);
  EXPECT_EQ(find(p.basic.get(), a.get()).status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(find(p.basic.get(), b.get()).status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(find(p.basic.get(), c.get()).status, V_OCSP_CERTSTATUS_REVOKED);
  r->answer(request);
  EXPECT_NE(r->metrics().find("jlis_ocsp_requests_total{outcome=\"signed\"} 2\n"), std::string::npos);
  EXPECT_NE(r->metrics().find("jlis_ocsp_cached_responses 0\n"), std::string::npos);
}

TEST_F(OcspTest, UnknownCertificatesAreNotCached) {
  auto r = responder();
  auto c = cert_id(f.unknown.get(), f.ca.cert.get());
  EXPECT_EQ(error_status(*r, request_der({c.get()})), OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  const int lookups = table.lookups();
  table.set(0, "1004", StatusTable::good());  // issued since
  EXPECT_EQ(ask(*r, f.unknown.get()).status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(table.lookups(), lookups + 1);
}

TEST_F(OcspTest, ConcurrentRequestsAndRefreshes) {
  auto r = responder();
  std::vector<std::string> requests;
  std::vector<OcspCertIdPtr> ids;
  for (X509* leaf : {f.good.get(), f.revoked.get(), f.revoked_unspecified.get()}) {
    for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
      ids.push_back(cert_id(leaf, f.ca.cert.get(), md));
      requests.push_back(request_der({ids.back().get()}));
    }
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const size_t k = static_cast<size_t>(t * 7 + i) % requests.size();
        auto answer = r->answer(requests[k]);
        if (!answer->successful) ++failures;
        if (i % 50 == 0) r->refresh(0, "1002");
        if (i % 100 == 0) now += 6 * 3600;
        if (i % 75 == 0) r->refresh_due();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (size_t k = 0; k < requests.size(); ++k) {
    Parsed p = parse_response(r->answer(requests[k])->der);
    ASSERT_NE(p.basic, nullptr);
    EXPECT_TRUE(verifies(p.basic.get(), f.ca.cert.get()));
    EXPECT_NE(find(p.basic.get(), ids[k].get()).status, -100);
  }
}

TEST(OcspCachingHeaders, Rfc5019Headers) {
  OcspAnswer a;
  a.der = "abc";
  a.successful = true;
  a.this_update = 1767225600;       // Thu, 01 Jan 2026 00:00:00 GMT
  a.next_update = 1767225600 + 86400;
  auto headers = caching_headers(a, a.this_update + 3600);
  std::map<std::string, std::string> h(headers.begin(), headers.end());
  EXPECT_EQ(h["Last-Modified"], "Thu, 01 Jan 2026 00:00:00 GMT");
  EXPECT_EQ(h["Expires"], "Fri, 02 Jan 2026 00:00:00 GMT");
  EXPECT_EQ(h["ETag"], "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
  EXPECT_EQ(h["Cache-Control"], "max-age=82800, public, no-transform, must-revalidate");
  h.clear();
  for (auto& [k, v] : caching_headers(a, a.next_update + 10)) h[k] = v;
  EXPECT_EQ(h["Cache-Control"], "max-age=0, public, no-transform, must-revalidate");
}

// ---------------------------------------------------------------------------------------------
// Over HTTP

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string header(const http::testing::Reply& r, std::string_view name) {
  auto it = r.find(boost::beast::string_view(name.data(), name.size()));
  return it == r.end() ? "" : std::string(it->value());
}

class OcspHttpTest : public OcspTest {
 protected:
  void SetUp() override {
    http::ServerOptions o;
    o.io_threads = 1;
    o.worker_threads = 2;
    server = std::make_unique<http::Server>(o);
    r = std::make_unique<OcspResponder>(std::vector<OcspIssuer>{f.ca.ocsp()}, table.lookup(),
                                        OcspOptions{});  // the real clock: `openssl ocsp` checks it
    add_ocsp_routes(*server, *r);
    ASSERT_TRUE(server->start().is_ok());
  }
  void TearDown() override { server->stop(); }

  void expect_ocsp_reply(const http::testing::Reply& reply, bool successful) {
    EXPECT_EQ(reply.result_int(), 200);
    EXPECT_EQ(header(reply, "Content-Type"), "application/ocsp-response");
    EXPECT_EQ(!header(reply, "ETag").empty(), successful);
    EXPECT_EQ(!header(reply, "Last-Modified").empty(), successful);
    EXPECT_EQ(!header(reply, "Expires").empty(), successful);
    if (successful) {
      const std::string cache_control = header(reply, "Cache-Control");
      long max_age = -1;
      ASSERT_EQ(std::sscanf(cache_control.c_str(), "max-age=%ld,", &max_age), 1) << cache_control;
      EXPECT_GE(max_age, 86400 - 60);
      EXPECT_LE(max_age, 86400);
      EXPECT_NE(cache_control.find(", public, no-transform, must-revalidate"), std::string::npos);
    }
  }

  std::unique_ptr<http::Server> server;
  std::unique_ptr<OcspResponder> r;
};

TEST_F(OcspHttpTest, PostAndGetAnswerOcspResponses) {
  http::testing::Client client(server->port());
  auto id = cert_id(f.revoked.get(), f.ca.cert.get());
  const std::string request = request_der({id.get()});
  auto post = client.request(http::testing::bhttp::verb::post, "/ocsp", request,
                             {{"Content-Type", "application/ocsp-request"}});
  expect_ocsp_reply(post, true);
  Parsed p = parse_response(post.body());
  ASSERT_NE(p.basic, nullptr);
  EXPECT_EQ(find(p.basic.get(), id.get()).status, V_OCSP_CERTSTATUS_REVOKED);

  auto get = client.get("/ocsp/" + url_encode(base64_encode(request)));
  expect_ocsp_reply(get, true);
  EXPECT_EQ(get.body(), post.body());
  EXPECT_EQ(header(get, "ETag"), header(post, "ETag"));

  auto garbage = client.get("/ocsp/not-base64!");
  expect_ocsp_reply(garbage, false);
  EXPECT_EQ(parse_response(garbage.body()).status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  auto empty_post = client.request(http::testing::bhttp::verb::post, "/ocsp", "");
  expect_ocsp_reply(empty_post, false);
  EXPECT_EQ(parse_response(empty_post.body()).status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);

  auto metrics = client.get("/metrics");
  EXPECT_NE(metrics.body().find("jlis_ocsp_requests_total{outcome=\"cached\"} 1"), std::string::npos);
}

TEST_F(OcspHttpTest, GetWithRawSlashesAndPlusesInTheBase64) {
  http::testing::Client client(server->port());
  // Serials until the base64 of the request has both a '/' and a '+', sent unencoded.
  bool found = false;
  for (int serial = 0x2000; serial < 0x2400 && !found; ++serial) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%x", serial);
    auto number = serial_from_hex(hex);
    ASSERT_TRUE(number.ok());
    OcspCertIdPtr id(OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(f.ca.cert.get()),
                                      X509_get0_pubkey_bitstr(f.ca.cert.get()), number->get()));
    const std::string b64 = base64_encode(request_der({id.get()}));
    if (b64.find('/') == std::string::npos || b64.find('+') == std::string::npos) continue;
    found = true;
    table.set(0, hex, StatusTable::good());
    auto reply = client.get("/ocsp/" + b64);
    expect_ocsp_reply(reply, true);
    Parsed p = parse_response(reply.body());
    ASSERT_NE(p.basic, nullptr);
    EXPECT_EQ(find(p.basic.get(), id.get()).status, V_OCSP_CERTSTATUS_GOOD);
  }
  EXPECT_TRUE(found);
}

TEST_F(OcspHttpTest, OpensslOcspClientVerifiesGoodAndRevoked) {
  char dir_template[] = "/tmp/jlis-ocsp-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const fs::path dir = dir_template;
  testing::write_file(dir / "ca.pem", testing::cert_pem(f.ca.cert.get()));
  testing::write_file(dir / "good.pem", testing::cert_pem(f.good.get()));
  testing::write_file(dir / "revoked.pem", testing::cert_pem(f.revoked.get()));
  for (const char* name : {"good", "revoked"}) {
    const std::string cmd = "cd " + dir.string() + " && openssl ocsp -issuer ca.pem -cert " + name +
                            ".pem -url http://127.0.0.1:" + std::to_string(server->port()) +
                            "/ocsp -CAfile ca.pem -no_nonce 2>&1";
    int rc = -1;
    const std::string out = testing::run(cmd, &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
    EXPECT_NE(out.find(std::string(name) + ".pem: " + name), std::string::npos) << out;
    if (std::string(name) == "revoked") {
      EXPECT_NE(out.find("Reason: keyCompromise"), std::string::npos) << out;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace jlis::pki
