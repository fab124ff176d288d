#include "pki/card_login.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>

#include <map>
#include <mutex>

#include "pki/ocsp.h"
#include "pki/openssl.h"

namespace jlis::pki {
namespace {

constexpr std::string_view kRefusedPrefix = "refused (";

using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpensslDeleter<X509_STORE_CTX_free>>;

constexpr std::string_view kIncidentPrefix = "incident: ";

// A trust store of the published CA certificates of `kind` (every generation; not the links).
Result<X509StorePtr> trust_store(CertificateAuthority& ca, std::string_view kind) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_error("X509_STORE_new");
  const std::string prefix = std::string(kind) + "-ca";
  for (const auto& p : ca.published()) {
    if (p.kind != prefix && p.kind.rfind(prefix + "-", 0) != 0) continue;
    if (p.kind.find("link") != std::string::npos) continue;
    JLIS_ASSIGN_OR_RETURN(X509Ptr cert, x509_from_pem(p.pem));
    if (X509_STORE_add_cert(store.get(), cert.get()) != 1) return openssl_error("X509_STORE_add_cert");
  }
  return store;
}

// Verifies `cert`'s chain in `store` at `now`: the issuing CA certificate, or the X509_V_ERR code.
struct ChainResult {
  int error = X509_V_OK;
  X509Ptr issuer;
};
Result<ChainResult> verify_chain(X509_STORE* store, X509* cert, int64_t now) {
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store, cert, nullptr) != 1) return openssl_error("X509_STORE_CTX_init");
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY);
  ChainResult out;
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

bool verifies(X509* cert, const std::string& data, const std::string& signature) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

// The certificate's status by OCSP, as a relying party asks it: a request for the certificate,
// answered by the CA's responder, whose signature and authority are verified against `store`.
Status ocsp_status(CertificateAuthority& ca, X509_STORE* store, X509* cert, X509* issuer) {
  JLIS_ASSIGN_OR_RETURN(OcspResponder * responder, ca.responder());
  OcspRequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
  if (!req || !id) return openssl_error("OCSP request");
  OcspCertIdPtr lookup(OCSP_CERTID_dup(id));
  if (!OCSP_request_add0_id(req.get(), id)) return openssl_error("OCSP_request_add0_id");
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(req.get(), &der);
  if (len <= 0) return openssl_error("i2d_OCSP_REQUEST");
  const std::string request(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  auto answer = responder->answer(request);
  const auto* p = reinterpret_cast<const unsigned char*>(answer->der.data());
  OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(answer->der.size())));
  if (!resp) return openssl_error("the OCSP answer", Code::unavailable);
  if (OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    if (OCSP_response_status(resp.get()) == OCSP_RESPONSE_STATUS_UNAUTHORIZED)
      return refused(kRefusedUnknown, "the OCSP responder does not know the certificate");
    return unavailable("the OCSP responder cannot answer now");
  }
  OcspBasicRespPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return openssl_error("OCSP basic response", Code::unavailable);
  if (OCSP_basic_verify(basic.get(), nullptr, store, 0) != 1)
    return openssl_error("the OCSP answer's signature does not verify", Code::unavailable);
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), lookup.get(), &status, &reason, &revoked, &this_update, &next_update) != 1)
    return unavailable("the OCSP answer does not name the certificate");
  if (OCSP_check_validity(this_update, next_update, 300, -1) != 1) {
    ERR_clear_error();
    return unavailable("the OCSP answer is not current");
  }
  if (status == V_OCSP_CERTSTATUS_GOOD) return Status::ok();
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    if (reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD)
      return refused(kRefusedOnHold, "the certificate is on hold (the card is suspended)");
    return refused(kRefusedRevoked, "the certificate is revoked");
  }
  return refused(kRefusedUnknown, "the OCSP responder does not know the certificate");
}

}  // namespace

Status refused(std::string_view reason, std::string message) {
  return permission_denied(std::string(kRefusedPrefix) + std::string(reason) + "): " + message);
}
std::string refusal_reason(const Status& s) {
  if (s.code() != Code::permission_denied || s.message().rfind(kRefusedPrefix, 0) != 0) return "";
  const size_t close = s.message().find(')');
  return close == std::string::npos ? "" : s.message().substr(kRefusedPrefix.size(), close - kRefusedPrefix.size());
}

struct CardAuthenticator::Impl {
  explicit Impl(CertificateAuthority& c) : ca(c) {}
  CertificateAuthority& ca;
  // The trust stores of the published CA certificates, made at the first log-in, then shared by
  // every log-in.
  std::mutex mu;
  std::map<std::string, X509StorePtr, std::less<>> stores;  // guarded by mu

  Result<X509_STORE*> store(std::string_view kind) {
    std::lock_guard lock(mu);
    auto it = stores.find(kind);
    if (it == stores.end()) {
      JLIS_ASSIGN_OR_RETURN(X509StorePtr made, trust_store(ca, kind));
      it = stores.emplace(std::string(kind), std::move(made)).first;
    }
    return it->second.get();
  }
};

CardAuthenticator::CardAuthenticator(CertificateAuthority& ca) : impl_(std::make_unique<Impl>(ca)) {}
CardAuthenticator::~CardAuthenticator() = default;

Result<VerifiedLogin> CardAuthenticator::verify(const std::string& challenge, const std::string& certificate_pem,
                                                const std::string& signature_base64, int64_t now) {
  auto cert = x509_from_pem(certificate_pem);
  if (!cert.ok()) return invalid_argument("certificate must be the PEM of the user-authentication certificate");
  auto signature = base64_decode(signature_base64);
  if (!signature.ok() || signature->empty()) return invalid_argument("signature must be base64");
  JLIS_ASSIGN_OR_RETURN(std::string challenge_bytes, base64_decode(challenge));
  if (!verifies(cert->get(), challenge_bytes, *signature))
    return refused(kRefusedSignature, "the signature does not verify with the certificate's key over the challenge");
  JLIS_ASSIGN_OR_RETURN(X509_STORE * authentication, impl_->store("authentication"));
  JLIS_ASSIGN_OR_RETURN(ChainResult chain, verify_chain(authentication, cert->get(), now));
  if (chain.error == X509_V_ERR_CERT_HAS_EXPIRED) return refused(kRefusedExpired, "the certificate has expired");
  if (chain.error != X509_V_OK) {
    JLIS_ASSIGN_OR_RETURN(X509_STORE * signature_cas, impl_->store("signature"));
    JLIS_ASSIGN_OR_RETURN(ChainResult as_signature, verify_chain(signature_cas, cert->get(), now));
    if (as_signature.error == X509_V_OK || as_signature.error == X509_V_ERR_CERT_HAS_EXPIRED)
      return refused(kRefusedNotAuthentication,
                     "a signature certificate does not log in: use the user-authentication certificate");
    return refused(kRefusedUntrusted, std::string("the certificate does not chain to the JPKI authentication CA (") +
                                          X509_verify_cert_error_string(chain.error) + ")");
  }
  JLIS_RETURN_IF_ERROR(ocsp_status(impl_->ca, authentication, cert->get(), chain.issuer.get()));
  JLIS_ASSIGN_OR_RETURN(std::string der, x509_der(cert->get()));
  return VerifiedLogin{challenge, der, serial_hex(X509_get0_serialNumber(cert->get()))};
}

Result<CertificateRecord> CardAuthenticator::check_register(store::Connection& conn, const VerifiedLogin& login,
                                                            int64_t now) {
  auto rec = CertificateAuthority::find_in(conn, login.serial);
  if (!rec.ok()) return refused(kRefusedUnknown, "the certificate is not in the JPKI register");
  if (rec->der != login.certificate_der) return refused(kRefusedUntrusted, "the certificate is not the one the CA issued");
  if (rec->kind != CertificateKind::authentication)
    return refused(kRefusedNotAuthentication, "a signature certificate does not log in: use the user-authentication certificate");
  const std::string_view status = rec->status(now);
  if (status == "onHold") return refused(kRefusedOnHold, "the certificate is on hold (the card is suspended)");
  if (status == "revoked") return refused(kRefusedRevoked, "the certificate is revoked");
  if (status == "expired") return refused(kRefusedExpired, "the certificate has expired");
  return *rec;
}

}  // namespace jlis::pki
