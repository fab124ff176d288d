#include "pki/relying_party.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>

namespace jlis::pki {
namespace {

using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpensslDeleter<X509_STORE_CTX_free>>;

// Seconds since the epoch of an ASN.1 time; nullopt when it does not parse.
std::optional<int64_t> seconds_of(const ASN1_GENERALIZEDTIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Result<X509StorePtr> trust_store_of(const std::vector<X509*>& roots) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_error("X509_STORE_new");
  for (X509* root : roots)
    if (X509_STORE_add_cert(store.get(), root) != 1) return openssl_error("X509_STORE_add_cert");
  return store;
}

Result<ChainCheck> verify_chain(X509_STORE* store, X509* cert, const std::vector<X509*>& untrusted, int64_t now) {
  X509StackPtr others(sk_X509_new_null());
  if (!others) return openssl_error("sk_X509_new_null");
  for (X509* c : untrusted)
    if (sk_X509_push(others.get(), c) <= 0) return openssl_error("sk_X509_push");
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, cert, others.get()) != 1)
    return openssl_error("X509_STORE_CTX_init");
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY);
  ChainCheck out;
  if (X509_verify_cert(ctx.get()) != 1) {
    out.error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return out;
  }
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  if (sk_X509_num(chain) < 2) return internal_error("the chain has no issuer");
  X509* issuer = sk_X509_value(chain, 1);
  X509_up_ref(issuer);
  out.issuer.reset(issuer);
  return out;
}

Result<std::string> ocsp_request_for(X509* cert, X509* issuer) {
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
  if (!req || !id) {
    OCSP_CERTID_free(id);
    return openssl_error("OCSP request");
  }
  if (!OCSP_request_add0_id(req.get(), id)) {
    OCSP_CERTID_free(id);
    return openssl_error("OCSP_request_add0_id");
  }
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(req.get(), &der);
  if (len <= 0) return openssl_error("i2d_OCSP_REQUEST");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<OcspCheck> read_ocsp_answer(std::string_view der, X509* cert, X509* issuer, X509_STORE* store, int64_t now) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) {
    ERR_clear_error();
    return unavailable("the OCSP answer does not parse");
  }
  if (OCSP_response_status(resp.get()) == OCSP_RESPONSE_STATUS_UNAUTHORIZED) return OcspCheck{};
  if (OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return unavailable(std::string("the OCSP responder answers ") +
                       OCSP_response_status_str(OCSP_response_status(resp.get())));
  OcspBasicRespPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return openssl_error("the OCSP basic response", Code::unavailable);
  X509StackPtr issuers(sk_X509_new_null());
  if (!issuers || sk_X509_push(issuers.get(), issuer) <= 0) return openssl_error("sk_X509_push");
  // The issuer signs its own answers; a delegated responder's certificate chains to the store.
  if (OCSP_basic_verify(basic.get(), issuers.get(), store, OCSP_TRUSTOTHER) != 1 &&
      OCSP_basic_verify(basic.get(), nullptr, store, 0) != 1) {
    ERR_clear_error();
    return unavailable("the OCSP answer's signature does not verify");
  }
  ERR_clear_error();
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  if (!id) return openssl_error("OCSP_cert_to_id");
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id.get(), &status, &reason, &revoked, &this_update, &next_update) != 1)
    return unavailable("the OCSP answer does not name the certificate");
  OcspCheck out;
  const auto produced = seconds_of(this_update);
  if (!produced) return unavailable("the OCSP answer has no thisUpdate");
  out.this_update = *produced;
  out.next_update = seconds_of(next_update).value_or(0);
  if (out.this_update > now + 300) return unavailable("the OCSP answer is from the future");
  if (out.next_update != 0 && out.next_update < now) return unavailable("the OCSP answer is past its nextUpdate");
  out.status = status == V_OCSP_CERTSTATUS_GOOD      ? OcspCheck::Status::good
               : status == V_OCSP_CERTSTATUS_REVOKED ? OcspCheck::Status::revoked
                                                     : OcspCheck::Status::unknown;
  out.reason = reason;
  return out;
}

Result<bool> crl_lists(std::string_view der, X509* cert, X509* crl_issuer, int64_t now) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) {
    ERR_clear_error();
    return unavailable("the revocation list does not parse");
  }
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(crl_issuer)) != 0 ||
      X509_CRL_verify(crl.get(), X509_get0_pubkey(crl_issuer)) != 1) {
    ERR_clear_error();
    return unavailable("the revocation list is not signed by the certificate's issuer");
  }
  const auto this_update = seconds_of(X509_CRL_get0_lastUpdate(crl.get()));
  if (!this_update || *this_update > now + 300) return unavailable("the revocation list is from the future");
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  if (next != nullptr && seconds_of(next).value_or(0) < now)
    return unavailable("the revocation list is past its nextUpdate");
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_cert(crl.get(), &entry, cert) == 1;
}

}  // namespace jlis::pki
