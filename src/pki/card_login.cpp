#include "pki/card_login.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <map>
#include <mutex>

#include "pki/ocsp.h"
#include "pki/openssl.h"
#include "pki/relying_party.h"

namespace jlis::pki {
namespace {

constexpr std::string_view kRefusedPrefix = "refused (";


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

bool verifies(X509* cert, const std::string& data, const std::string& signature) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok = key && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  ERR_clear_error();
  return ok;
}

// The certificate's status by OCSP, as a relying party asks it (relying_party.h): a request for the
// certificate, answered by the CA's responder, whose signature and authority are verified against
// `store`, current now.
Status ocsp_status(CertificateAuthority& ca, X509_STORE* store, X509* cert, X509* issuer) {
  JLIS_ASSIGN_OR_RETURN(OcspResponder * responder, ca.responder());
  JLIS_ASSIGN_OR_RETURN(std::string request, ocsp_request_for(cert, issuer));
  auto answer = read_ocsp_answer(responder->answer(request)->der, cert, issuer, store,
                                 static_cast<int64_t>(std::time(nullptr)));
  if (!answer.ok()) return answer.status();
  switch (answer->status) {
    case OcspCheck::Status::good:
      return Status::ok();
    case OcspCheck::Status::revoked:
      if (answer->reason == OCSP_REVOKED_STATUS_CERTIFICATEHOLD)
        return refused(kRefusedOnHold, "the certificate is on hold (the card is suspended)");
      return refused(kRefusedRevoked, "the certificate is revoked");
    case OcspCheck::Status::unknown:
      break;
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
  JLIS_ASSIGN_OR_RETURN(ChainCheck chain, verify_chain(authentication, cert->get(), {}, now));
  if (chain.error == X509_V_ERR_CERT_HAS_EXPIRED) return refused(kRefusedExpired, "the certificate has expired");
  if (chain.error != X509_V_OK) {
    JLIS_ASSIGN_OR_RETURN(X509_STORE * signature_cas, impl_->store("signature"));
    JLIS_ASSIGN_OR_RETURN(ChainCheck as_signature, verify_chain(signature_cas, cert->get(), {}, now));
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
