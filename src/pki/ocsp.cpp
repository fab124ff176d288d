// The cache: one Certificate per (issuer, serial) that someone asked about, holding one Variant
// per distinct CertID asked with (the hash algorithm, and whether its parameters are NULL or
// absent, show in the CertID the response must echo), each with its signed answer. The DER of the
// first request without extensions for a variant is an alias that finds it without parsing: most
// clients send the same bytes every time (RFC 5019 GET requests are cache keys themselves).
//
// Consistency with revocations: refresh() bumps `generation` before it looks the status up, and
// an answer signed from a lookup that started before the latest refresh is never stored, so a
// request racing a revocation cannot put a stale "good" back into the cache.
//
// Memory: at most kMaxVariants variants and one alias each per certificate; certificates nobody
// asked about for a whole validity period are dropped by refresh_due instead of re-signed.
#include "pki/ocsp.h"

#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "common/digest.h"
#include "pki/der.h"

namespace jlis::pki {

namespace {

std::string etag(std::string_view der) { return "\"" + sha256_hex(der) + "\""; }

// CertID hash algorithms answered: SHA-1 (RFC 5019's) and the SHA-2 family.
constexpr std::array<int, 5> kDigestNids = {NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512};
constexpr size_t kMaxVariants = 4;
// More certificates than this in one request is not a client checking a chain: malformedRequest.
constexpr int kMaxRequestCertificates = 64;

struct IssuerId {
  int nid;
  std::string name_hash;  // of the issuer's subject name (DER)
  std::string key_hash;   // of the issuer's subjectPublicKey bits
};

bool same_bytes(const ASN1_OCTET_STRING* a, const std::string& b) {
  return static_cast<size_t>(ASN1_STRING_length(a)) == b.size() &&
         std::memcmp(ASN1_STRING_get0_data(a), b.data(), b.size()) == 0;
}

std::string der_of(const OCSP_CERTID* id) {
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_CERTID(const_cast<OCSP_CERTID*>(id), &out);
  if (n <= 0) return {};
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

OcspCertIdPtr dup_cert_id(const OCSP_CERTID* id) {
  return OcspCertIdPtr(OCSP_CERTID_dup(const_cast<OCSP_CERTID*>(id)));
}

std::shared_ptr<const OcspAnswer> error_answer(int status) {
  auto answer = std::make_shared<OcspAnswer>();
  OcspResponsePtr response(OCSP_response_create(status, nullptr));
  unsigned char* out = nullptr;
  const int n = response ? i2d_OCSP_RESPONSE(response.get(), &out) : -1;
  if (n <= 0) {
    // Only allocation can fail here; an empty body still tells an OCSP client nothing is known.
    spdlog::error("ocsp: cannot encode the error response {}", status);
    return answer;
  }
  answer->der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return answer;
}

// The key of a certificate in the cache.
struct CertKey {
  size_t issuer;
  std::string serial_hex;
  bool operator==(const CertKey&) const = default;
};

struct CertKeyHash {
  size_t operator()(const CertKey& k) const {
    return std::hash<std::string>()(k.serial_hex) * 31 + k.issuer;
  }
};

// A string-keyed map that can be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

enum Outcome { kCached, kSigned, kMalformed, kUnauthorized, kError, kLimited, kOutcomes };
constexpr std::array<const char*, kOutcomes> kOutcomeNames = {"cached", "signed", "malformed", "unauthorized",
                                                               "error", "limited"};

}  // namespace

struct OcspResponder::Impl {
  struct Variant {
    std::string cert_id_der;
    OcspCertIdPtr cert_id;  // as the clients sent it, echoed in every response
    std::shared_ptr<const OcspAnswer> answer;
    uint64_t generation = 0;  // of the status lookup `answer` was signed from
    std::string alias;        // a request DER that finds this variant directly, or ""
    std::atomic<int64_t> last_hit{0};
    std::atomic<int64_t> resign_claim{0};  // when a request thread took on re-signing it
  };
  struct Certificate {
    std::vector<std::unique_ptr<Variant>> variants;
  };
  // One certificate of one request.
  struct Item {
    OCSP_CERTID* id = nullptr;
    CertKey key;
    bool negative = false;  // a negative serial: no certificate of ours has one
  };

  Impl(std::vector<OcspIssuer> i, StatusLookup l, OcspOptions o)
      : issuers(std::move(i)), lookup(std::move(l)), options(std::move(o)) {
    if (!options.clock) options.clock = [] { return static_cast<int64_t>(std::time(nullptr)); };
    if (options.validity.count() < 2) options.validity = std::chrono::seconds(2);
    malformed = error_answer(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    internal = error_answer(OCSP_RESPONSE_STATUS_INTERNALERROR);
    try_later = error_answer(OCSP_RESPONSE_STATUS_TRYLATER);
    unauthorized = error_answer(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
    for (const auto& issuer : issuers) {
      ids.emplace_back();
      if (issuer.ca == nullptr) continue;
      for (int nid : kDigestNids) {
        const EVP_MD* md = EVP_get_digestbynid(nid);
        unsigned char name[EVP_MAX_MD_SIZE], key[EVP_MAX_MD_SIZE];
        unsigned int name_len = 0, key_len = 0;
        if (md == nullptr || X509_NAME_digest(X509_get_subject_name(issuer.ca), md, name, &name_len) != 1 ||
            X509_pubkey_digest(issuer.ca, md, key, &key_len) != 1) {
          spdlog::error("ocsp: {}", openssl_error("hashing an issuer for CertIDs").message());
          continue;
        }
        ids.back().push_back({nid, std::string(reinterpret_cast<char*>(name), name_len),
                              std::string(reinterpret_cast<char*>(key), key_len)});
      }
    }
  }

  int64_t now() const { return options.clock(); }
  int64_t half_validity() const { return options.validity.count() / 2; }
  void count(Outcome o) { outcomes[o].value.fetch_add(1, std::memory_order_relaxed); }

  // Whether a cached variant answers a request at `t`. Past half its validity an answer is due
  // for re-signing (the refresher's work): the first request thread to see that re-signs it
  // (`claimed`), the others keep answering with it while it is still valid, so that a popular
  // response going stale does not make every concurrent request sign.
  enum class Use { serve, resign };
  Use use(Variant& v, int64_t t, bool& claimed) {
    const OcspAnswer& a = *v.answer;
    if (t >= a.this_update && t < a.this_update + half_validity()) return Use::serve;
    if (t < a.this_update || t >= a.next_update || claimed) return Use::resign;
    int64_t previous = v.resign_claim.load(std::memory_order_relaxed);
    // A claim lapses after a few seconds: the thread that made it may have failed.
    if (previous + 5 <= t && v.resign_claim.compare_exchange_strong(previous, t)) {
      claimed = true;
      return Use::resign;
    }
    return Use::serve;
  }
  std::shared_ptr<const OcspAnswer> serve(Variant& v, int64_t t) {
    if (v.last_hit.load(std::memory_order_relaxed) != t) v.last_hit.store(t, std::memory_order_relaxed);
    count(kCached);
    return v.answer;
  }

  std::shared_ptr<const OcspAnswer> answer(std::string_view der, const std::function<bool()>& admit_unknown);
  std::shared_ptr<const OcspAnswer> cached(std::string_view der) {
    const int64_t t = now();
    std::shared_lock lock(mu);
    auto it = aliases.find(der);
    if (it == aliases.end()) return nullptr;
    const OcspAnswer& a = *it->second->answer;
    if (t < a.this_update || t >= a.this_update + half_validity()) return nullptr;
    return serve(*it->second, t);
  }
  std::shared_ptr<const OcspAnswer> answer_parsed(std::string_view der, OCSP_REQUEST* request, int64_t t,
                                                  bool claimed, const std::function<bool()>& admit_unknown);
  // The issuer of a CertID, or -1.
  int issuer_of(OCSP_CERTID* id) const;
  Result<std::shared_ptr<const OcspAnswer>> sign(size_t issuer, const std::vector<OCSP_CERTID*>& ids,
                                                 const std::vector<CertificateStatus>& statuses, int64_t t);
  Result<CertificateStatus> status_of(const Item& item) const;
  // Stores `answer` for the variant `id` of `key`, unless a refresh since `generation` makes it
  // stale; `alias` is the request's DER when it may find the variant directly.
  void store(const CertKey& key, OCSP_CERTID* id, std::string cert_id_der, std::string_view alias,
             std::shared_ptr<const OcspAnswer> answer, uint64_t generation, int64_t t);
  void erase_certificate(const CertKey& key);
  size_t resign(const CertKey& key, std::vector<OcspCertIdPtr> ids, uint64_t generation, int64_t t);

  const std::vector<OcspIssuer> issuers;
  const StatusLookup lookup;
  OcspOptions options;
  std::vector<std::vector<IssuerId>> ids;  // per issuer, per digest
  std::shared_ptr<const OcspAnswer> malformed, internal, try_later, unauthorized;

  mutable std::shared_mutex mu;  // guards certificates, aliases and the variants' answers
  std::unordered_map<CertKey, Certificate, CertKeyHash> certificates;
  std::unordered_map<std::string, Variant*, StringHash, std::equal_to<>> aliases;
  size_t variant_count = 0;
  std::atomic<uint64_t> generation{0};

  struct alignas(64) Counter {
    std::atomic<uint64_t> value{0};
  };
  std::array<Counter, kOutcomes> outcomes;
  Counter signatures;

  std::mutex refresher_mu;
  std::condition_variable refresher_cv;
  bool stopping = false;
  std::thread refresher;
};

std::shared_ptr<const OcspAnswer> OcspResponder::Impl::answer(std::string_view der,
                                                              const std::function<bool()>& admit_unknown) {
  const int64_t t = now();
  bool claimed = false;
  {
    std::shared_lock lock(mu);
    auto it = aliases.find(der);
    if (it != aliases.end() && use(*it->second, t, claimed) == Use::serve) return serve(*it->second, t);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspRequestPtr request(der.empty() ? nullptr : d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  if (!request || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    count(kMalformed);
    return malformed;
  }
  return answer_parsed(der, request.get(), t, claimed, admit_unknown);
}

std::shared_ptr<const OcspAnswer> OcspResponder::Impl::answer_parsed(std::string_view der, OCSP_REQUEST* request,
                                                                     int64_t t, bool claimed,
                                                                     const std::function<bool()>& admit_unknown) {
  const int n = OCSP_request_onereq_count(request);
  if (n <= 0 || n > kMaxRequestCertificates) {
    count(kMalformed);
    return malformed;
  }
  std::vector<Item> items(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Item& item = items[static_cast<size_t>(i)];
    item.id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i));
    ASN1_INTEGER* serial = nullptr;
    if (item.id == nullptr || OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, item.id) != 1 ||
        serial == nullptr) {
      count(kMalformed);
      return malformed;
    }
    const int issuer = issuer_of(item.id);
    // Every certificate of one response must be of one issuer: its responder signs it.
    if (issuer < 0 || (i > 0 && static_cast<size_t>(issuer) != items[0].key.issuer)) {
      count(kUnauthorized);
      return unauthorized;
    }
    item.key = {static_cast<size_t>(issuer), serial_hex(serial)};
    item.negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
  }

  const bool single = n == 1 && !items[0].negative;
  std::string cert_id_der;
  // A cached answer due for re-signing but still valid: served if the lookup or signing fails.
  std::shared_ptr<const OcspAnswer> fallback;
  if (single) {
    cert_id_der = der_of(items[0].id);
    std::shared_lock lock(mu);
    auto it = certificates.find(items[0].key);
    if (it != certificates.end()) {
      for (const auto& v : it->second.variants) {
        if (v->cert_id_der != cert_id_der) continue;
        if (use(*v, t, claimed) == Use::serve) return serve(*v, t);
        if (t >= v->answer->this_update && t < v->answer->next_update) fallback = v->answer;
        break;  // signed again below
      }
    }
  }

  // Looked up and signed now.
  const uint64_t started = generation.load(std::memory_order_acquire);
  std::vector<OCSP_CERTID*> ids;
  std::vector<CertificateStatus> statuses;
  for (const Item& item : items) {
    auto status = status_of(item);
    if (!status.ok()) {
      spdlog::warn("ocsp: status lookup failed: {}", status.status().to_string());
      count(fallback ? kCached : kError);
      return fallback ? fallback : try_later;
    }
    // No status for a certificate not issued here: the unsigned, pre-built unauthorized answer
    // (RFC 5019 §2.2.3, RFC 6960 §2.3), so that asking about random serials costs no signature.
    // Past the client's limit of such answers: tryLater, also unsigned.
    if (status->kind == CertificateStatus::Kind::unknown) {
      if (admit_unknown && !admit_unknown()) {
        count(kLimited);
        return try_later;
      }
      count(kUnauthorized);
      return unauthorized;
    }
    ids.push_back(item.id);
    statuses.push_back(*status);
  }
  auto signed_answer = sign(items[0].key.issuer, ids, statuses, t);
  if (!signed_answer.ok()) {
    spdlog::error("ocsp: {}", signed_answer.status().to_string());
    count(fallback ? kCached : kError);
    return fallback ? fallback : internal;
  }
  count(kSigned);
  if (single && statuses[0].kind != CertificateStatus::Kind::unknown && !cert_id_der.empty()) {
    // A request with extensions (a nonce) is never sent twice: not worth an alias.
    const bool aliasable = OCSP_REQUEST_get_ext_count(request) == 0 &&
                           OCSP_ONEREQ_get_ext_count(OCSP_request_onereq_get0(request, 0)) == 0;
    store(items[0].key, items[0].id, std::move(cert_id_der), aliasable ? der : std::string_view(), *signed_answer,
          started, t);
  }
  return std::move(signed_answer).value();
}

int OcspResponder::Impl::issuer_of(OCSP_CERTID* id) const {
  ASN1_OCTET_STRING* name_hash = nullptr;
  ASN1_OCTET_STRING* key_hash = nullptr;
  ASN1_OBJECT* md = nullptr;
  if (OCSP_id_get0_info(&name_hash, &md, &key_hash, nullptr, id) != 1) return -1;
  const int nid = OBJ_obj2nid(md);
  for (size_t i = 0; i < ids.size(); ++i) {
    for (const IssuerId& issuer : ids[i]) {
      if (issuer.nid == nid && same_bytes(name_hash, issuer.name_hash) && same_bytes(key_hash, issuer.key_hash))
        return static_cast<int>(i);
    }
  }
  return -1;
}

Result<CertificateStatus> OcspResponder::Impl::status_of(const Item& item) const {
  if (item.negative) return CertificateStatus{};  // unknown
  if (!lookup) return internal_error("no status lookup");
  return lookup(item.key.issuer, item.key.serial_hex);
}

Result<std::shared_ptr<const OcspAnswer>> OcspResponder::Impl::sign(size_t issuer, const std::vector<OCSP_CERTID*>& cert_ids,
                                                                    const std::vector<CertificateStatus>& statuses,
                                                                    int64_t t) {
  const OcspIssuer& by = issuers[issuer];
  if (by.responder == nullptr || by.responder_key == nullptr) return internal_error("the issuer has no responder");
  const int64_t next = t + options.validity.count();
  JLIS_ASSIGN_OR_RETURN(Asn1TimePtr this_update, asn1_time(t));
  JLIS_ASSIGN_OR_RETURN(Asn1TimePtr next_update, asn1_time(next));
  OcspBasicRespPtr basic(OCSP_BASICRESP_new());
  if (!basic) return openssl_error("allocating an OCSP response");
  for (size_t i = 0; i < cert_ids.size(); ++i) {
    const CertificateStatus& s = statuses[i];
    int status = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    Asn1TimePtr revoked_at;
    if (s.kind == CertificateStatus::Kind::good) {
      status = V_OCSP_CERTSTATUS_GOOD;
    } else if (s.kind == CertificateStatus::Kind::revoked) {
      status = V_OCSP_CERTSTATUS_REVOKED;
      // unspecified is written as no revocationReason, as in the CRL (RFC 5280 §5.3.1).
      if (s.reason != RevocationReason::unspecified) reason = static_cast<int>(s.reason);
      JLIS_ASSIGN_OR_RETURN(revoked_at, asn1_time(s.revoked_at));
    }
    if (OCSP_basic_add1_status(basic.get(), cert_ids[i], status, reason, revoked_at.get(), this_update.get(),
                               next_update.get()) == nullptr)
      return openssl_error("adding a certificate status");
  }
  // producedAt comes from the responder's clock like thisUpdate (OCSP_NOTIME below keeps OpenSSL
  // from setting it from time()); OpenSSL has no setter, only this getter into our own object.
  auto* produced_at = const_cast<ASN1_GENERALIZEDTIME*>(OCSP_resp_get0_produced_at(basic.get()));
  if (produced_at == nullptr || ASN1_GENERALIZEDTIME_set(produced_at, static_cast<time_t>(t)) == nullptr)
    return openssl_error("setting producedAt");
  JLIS_ASSIGN_OR_RETURN(EvpMdCtxPtr ctx, der::sha256_signer(by.responder_key));
  // The responder certificate goes in the response (no OCSP_NOCERTS): clients need it to check
  // the delegation.
  if (OCSP_basic_sign_ctx(basic.get(), by.responder, ctx.get(), nullptr, OCSP_RESPID_KEY | OCSP_NOTIME) != 1)
    return openssl_error("signing an OCSP response");
  signatures.value.fetch_add(1, std::memory_order_relaxed);
  OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  if (!response) return openssl_error("making an OCSP response");
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_RESPONSE(response.get(), &out);
  if (n <= 0) return openssl_error("encoding an OCSP response");
  auto answer = std::make_shared<OcspAnswer>();
  answer->der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  answer->successful = true;
  answer->produced_at = t;
  answer->this_update = t;
  answer->next_update = next;
  answer->etag = etag(answer->der);
  answer->last_modified = http_date(t);
  answer->expires = http_date(next);
  return std::shared_ptr<const OcspAnswer>(std::move(answer));
}

void OcspResponder::Impl::store(const CertKey& key, OCSP_CERTID* id, std::string cert_id_der, std::string_view alias,
                                std::shared_ptr<const OcspAnswer> answer, uint64_t started, int64_t t) {
  std::unique_lock lock(mu);
  auto it = certificates.find(key);
  Variant* v = nullptr;
  if (it != certificates.end()) {
    for (auto& existing : it->second.variants) {
      if (existing->cert_id_der == cert_id_der) v = existing.get();
    }
  }
  if (v == nullptr) {
    // A refresh since the lookup may have been for this certificate: it found nothing to
    // re-sign, so the answer may predate its revocation.
    if (generation.load(std::memory_order_acquire) != started) return;
    if (it != certificates.end() && it->second.variants.size() >= kMaxVariants) return;
    OcspCertIdPtr copy = dup_cert_id(id);
    if (!copy) return;
    if (it == certificates.end()) it = certificates.try_emplace(key).first;
    auto fresh = std::make_unique<Variant>();
    fresh->cert_id_der = std::move(cert_id_der);
    fresh->cert_id = std::move(copy);
    v = fresh.get();
    it->second.variants.push_back(std::move(fresh));
    ++variant_count;
  } else if (v->generation > started) {
    return;  // refreshed after our lookup: the cached answer is newer
  }
  v->answer = std::move(answer);
  v->generation = started;
  v->last_hit.store(t, std::memory_order_relaxed);
  if (v->alias.empty() && !alias.empty() && aliases.find(alias) == aliases.end()) {
    v->alias.assign(alias);
    aliases.emplace(v->alias, v);
  }
}

void OcspResponder::Impl::erase_certificate(const CertKey& key) {
  std::unique_lock lock(mu);
  auto it = certificates.find(key);
  if (it == certificates.end()) return;
  for (const auto& v : it->second.variants) {
    if (!v->alias.empty()) aliases.erase(v->alias);
  }
  variant_count -= it->second.variants.size();
  certificates.erase(it);
}

// Signs every variant in `cert_ids` of `key` from one fresh status lookup that started at
// `started`; answers how many were stored. A failed lookup drops the certificate from the cache,
// so that no answer older than the failure is served from it.
size_t OcspResponder::Impl::resign(const CertKey& key, std::vector<OcspCertIdPtr> cert_ids, uint64_t started,
                                   int64_t t) {
  Item item;
  item.key = key;
  auto status = status_of(item);
  if (!status.ok()) {
    spdlog::warn("ocsp: status lookup failed while refreshing: {}", status.status().to_string());
    erase_certificate(key);
    return 0;
  }
  size_t stored = 0;
  for (auto& id : cert_ids) {
    if (status->kind == CertificateStatus::Kind::unknown) {
      erase_certificate(key);  // answers for unknown certificates are not cached
      return stored;
    }
    auto answer = sign(key.issuer, {id.get()}, {*status}, t);
    if (!answer.ok()) {
      spdlog::error("ocsp: {}", answer.status().to_string());
      erase_certificate(key);
      return stored;
    }
    const std::string der = der_of(id.get());
    std::unique_lock lock(mu);
    auto it = certificates.find(key);
    if (it == certificates.end()) return stored;
    for (auto& v : it->second.variants) {
      if (v->cert_id_der != der || v->generation > started) continue;  // newer already
      v->answer = *answer;
      v->generation = started;
      ++stored;
    }
  }
  return stored;
}

OcspResponder::OcspResponder(std::vector<OcspIssuer> issuers, StatusLookup lookup, OcspOptions options)
    : impl_(std::make_unique<Impl>(std::move(issuers), std::move(lookup), std::move(options))) {}

OcspResponder::~OcspResponder() {
  {
    std::lock_guard lock(impl_->refresher_mu);
    impl_->stopping = true;
  }
  impl_->refresher_cv.notify_all();
  if (impl_->refresher.joinable()) impl_->refresher.join();
}

std::shared_ptr<const OcspAnswer> OcspResponder::answer(std::string_view der_request,
                                                        const std::function<bool()>& admit_unknown) {
  return impl_->answer(der_request, admit_unknown);
}

std::shared_ptr<const OcspAnswer> OcspResponder::cached(std::string_view der_request) {
  return impl_->cached(der_request);
}

void OcspResponder::refresh(size_t issuer, const std::string& serial_hex) {
  // Bumped before the lookup: answers signed from older lookups are no longer stored.
  const uint64_t started = impl_->generation.fetch_add(1, std::memory_order_acq_rel) + 1;
  const CertKey key{issuer, serial_hex};
  std::vector<OcspCertIdPtr> ids;
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->certificates.find(key);
    if (it == impl_->certificates.end()) return;
    for (const auto& v : it->second.variants) ids.push_back(dup_cert_id(v->cert_id.get()));
  }
  for (const auto& id : ids) {
    if (!id) {  // out of memory: the next request will look the status up itself
      impl_->erase_certificate(key);
      return;
    }
  }
  impl_->resign(key, std::move(ids), started, impl_->now());
}

size_t OcspResponder::refresh_due() {
  const int64_t t = impl_->now();
  struct Due {
    CertKey key;
    std::vector<OcspCertIdPtr> ids;
  };
  std::vector<Due> due;
  std::vector<CertKey> idle;
  {
    std::shared_lock lock(impl_->mu);
    for (const auto& [key, cert] : impl_->certificates) {
      bool any_due = false;
      int64_t last_hit = 0;
      for (const auto& v : cert.variants) {
        any_due = any_due || t >= v->answer->this_update + impl_->half_validity() || t < v->answer->this_update;
        last_hit = std::max(last_hit, v->last_hit.load(std::memory_order_relaxed));
      }
      if (!any_due) continue;
      if (last_hit + impl_->options.validity.count() <= t) {
        idle.push_back(key);
        continue;
      }
      Due d{key, {}};
      for (const auto& v : cert.variants) d.ids.push_back(dup_cert_id(v->cert_id.get()));
      due.push_back(std::move(d));
    }
  }
  for (const auto& key : idle) impl_->erase_certificate(key);
  size_t signed_count = 0;
  for (auto& d : due) {
    bool complete = true;
    for (const auto& id : d.ids) complete = complete && id != nullptr;
    if (!complete) {
      impl_->erase_certificate(d.key);
      continue;
    }
    const uint64_t started = impl_->generation.load(std::memory_order_acquire);
    signed_count += impl_->resign(d.key, std::move(d.ids), started, t);
  }
  return signed_count;
}

void OcspResponder::start_refresher() {
  std::lock_guard lock(impl_->refresher_mu);
  if (impl_->refresher.joinable() || impl_->stopping) return;
  impl_->refresher = std::thread([this] {
    std::unique_lock lock(impl_->refresher_mu);
    for (;;) {
      if (impl_->refresher_cv.wait_for(lock, impl_->options.refresh_period, [this] { return impl_->stopping; }))
        return;
      lock.unlock();
      const size_t n = refresh_due();
      if (n > 0) spdlog::debug("ocsp: re-signed {} responses", n);
      lock.lock();
    }
  });
}

std::vector<std::pair<std::string, std::string>> caching_headers(const OcspAnswer& answer, int64_t now) {
  const int64_t max_age = std::max<int64_t>(0, answer.next_update - now);
  return {
      {"Last-Modified", answer.last_modified.empty() ? http_date(answer.this_update) : answer.last_modified},
      {"Expires", answer.expires.empty() ? http_date(answer.next_update) : answer.expires},
      {"ETag", answer.etag.empty() ? etag(answer.der) : answer.etag},
      {"Cache-Control", "max-age=" + std::to_string(max_age) + ", public, no-transform, must-revalidate"},
  };
}

std::string OcspResponder::metrics() const {
  const std::string& m = impl_->options.metrics_prefix;
  std::string out;
  out += "# HELP " + m + "_requests_total OCSP requests answered, by outcome.\n";
  out += "# TYPE " + m + "_requests_total counter\n";
  for (int i = 0; i < kOutcomes; ++i) {
    out += m + "_requests_total{outcome=\"";
    out += kOutcomeNames[static_cast<size_t>(i)];
    out += "\"} ";
    out += std::to_string(impl_->outcomes[static_cast<size_t>(i)].value.load(std::memory_order_relaxed));
    out += '\n';
  }
  out += "# HELP " + m + "_signatures_total OCSP responses signed (requests and refreshes).\n";
  out += "# TYPE " + m + "_signatures_total counter\n";
  out += m + "_signatures_total " + std::to_string(impl_->signatures.value.load(std::memory_order_relaxed)) + "\n";
  size_t cached = 0;
  {
    std::shared_lock lock(impl_->mu);
    cached = impl_->variant_count;
  }
  out += "# HELP " + m + "_cached_responses Pre-produced OCSP responses held.\n";
  out += "# TYPE " + m + "_cached_responses gauge\n";
  out += m + "_cached_responses " + std::to_string(cached) + "\n";
  return out;
}

}  // namespace jlis::pki
