#include "linkage/signatures.h"

#include <ctime>
#include <map>

#include "common/digest.h"
#include "pki/cades.h"
#include "pki/lgpki_profile.h"

namespace jlis::linkage {
namespace {

Status refused(std::string_view rule, const std::string& why) {
  return permission_denied(why + " [" + std::string(rule) + "]");
}

std::vector<X509*> raw(const std::vector<pki::X509Ptr>& certs) {
  std::vector<X509*> out;
  for (const auto& c : certs) out.push_back(c.get());
  return out;
}

}  // namespace

Result<MessageVerifier> MessageVerifier::make(VerifierOptions options) {
  if (options.trusted.empty()) return invalid_argument("a message verifier needs trusted roots");
  if (!options.ocsp) return invalid_argument("a message verifier needs an OCSP responder");
  if (!options.arl) return invalid_argument("a message verifier needs the ARLs");
  JLIS_ASSIGN_OR_RETURN(pki::X509StorePtr store, pki::trust_store_of(raw(options.trusted)));
  return MessageVerifier(std::make_shared<const State>(State{std::move(options), std::move(store)}));
}

int64_t MessageVerifier::now() const {
  return state_->options.clock ? state_->options.clock() : static_cast<int64_t>(std::time(nullptr));
}

Result<SignedMessage> MessageVerifier::verify(std::string_view message, std::string_view signature_base64) const {
  if (signature_base64.empty())
    return refused(kSignatureMissing, std::string("the message is not signed: the ") + kSignatureHeader +
                                          " header carries the sender's CMS signature (base64)");
  auto der = pki::base64_decode(signature_base64);
  if (!der.ok()) return refused(kSignatureInvalid, std::string(kSignatureHeader) + " is not base64");
  const int64_t t = now();
  const auto untrusted = raw(state_->options.untrusted);
  auto verified = pki::cades_verify(*der, message, raw(state_->options.trusted), untrusted, t);
  if (!verified.ok()) return refused(kSignatureInvalid, verified.status().message());
  X509* signer = verified->signer.get();
  JLIS_ASSIGN_OR_RETURN(pki::ChainCheck chain, pki::verify_chain(state_->store.get(), signer, untrusted, t));
  if (chain.error != X509_V_OK)
    return refused(kSignatureInvalid,
                   std::string("the signer's chain does not verify: ") + X509_verify_cert_error_string(chain.error));
  JLIS_RETURN_IF_ERROR(check_issuing_ca(chain.issuer.get(), t));

  // The signer's status: known, not revoked, and as fresh as the limit says.
  JLIS_ASSIGN_OR_RETURN(std::string request, pki::ocsp_request_for(signer, chain.issuer.get()));
  auto answer = state_->options.ocsp(request);
  if (!answer.ok()) return refused(kSignerStatusUnknown, "the signer's OCSP responder: " + answer.status().message());
  auto status = pki::read_ocsp_answer(*answer, signer, chain.issuer.get(), state_->store.get(), t);
  if (!status.ok()) return refused(kSignerStatusUnknown, "the signer's OCSP answer: " + status.status().message());
  if (status->status == pki::OcspCheck::Status::unknown)
    return refused(kSignerStatusUnknown, "the signer's OCSP responder does not know the certificate");
  if (status->status == pki::OcspCheck::Status::revoked) return refused(kSignerRevoked, "the signer's certificate is revoked");
  const int64_t age = t - status->this_update;
  if (age > state_->options.max_status_age.count())
    return refused(kSignerStatusStale, "the signer's OCSP answer is " + std::to_string(age) + " s old, over the limit of " +
                                           std::to_string(state_->options.max_status_age.count()) + " s");

  JLIS_ASSIGN_OR_RETURN(std::string cert_der, pki::x509_der(signer));
  return SignedMessage{message, std::move(*der), sha256_hex(cert_der)};
}

Status MessageVerifier::check_issuing_ca(X509* ca, int64_t now) const {
  X509* root = nullptr;
  for (const auto& r : state_->options.trusted) {
    if (X509_cmp(r.get(), ca) == 0) return Status::ok();
    if (X509_check_issued(r.get(), ca) == X509_V_OK) root = r.get();
  }
  if (root == nullptr) return refused(kSignatureInvalid, "no trusted root issued the signer's issuing CA");
  auto arl = state_->options.arl(ca);
  if (!arl.ok()) return refused(kSignerStatusUnknown, "the ARL of the signer's issuing CA: " + arl.status().message());
  auto listed = pki::crl_lists(*arl, ca, root, now);
  if (!listed.ok())
    return refused(kSignerStatusUnknown, "the ARL of the signer's issuing CA: " + listed.status().message());
  if (*listed) return refused(kSignerRevoked, "the signer's issuing CA is revoked (in its generation's ARL)");
  return Status::ok();
}

Status MessageVerifier::check_certificate(X509* cert) const {
  const int64_t t = now();
  JLIS_ASSIGN_OR_RETURN(pki::ChainCheck chain,
                        pki::verify_chain(state_->store.get(), cert, raw(state_->options.untrusted), t));
  if (chain.error != X509_V_OK)
    return invalid_argument(std::string("the certificate's chain does not verify: ") +
                            X509_verify_cert_error_string(chain.error));
  if (Status ca = check_issuing_ca(chain.issuer.get(), t); !ca.is_ok()) return invalid_argument(ca.message());
  if (X509_check_purpose(cert, X509_PURPOSE_SMIME_SIGN, 0) != 1)
    return invalid_argument("the certificate may not sign messages (its key usage or extended key usage does not allow "
                            "S/MIME signing: an LGPKI organisation, position or document-signing certificate does)");
  return Status::ok();
}

Result<MessageVerifier> lgpki_verifier(pki::LgpkiAuthority& lgpki, std::chrono::seconds max_status_age,
                                       std::function<int64_t()> clock) {
  if (!lgpki.exists()) return conflict("LGPKI has no hierarchy yet (jlis lgpki init)");
  VerifierOptions options{.max_status_age = max_status_age, .clock = std::move(clock)};
  JLIS_ASSIGN_OR_RETURN(auto authorities, lgpki.ca_certificates());
  // Each issuing CA's certificate (DER) and the name of its generation's ARL.
  auto arl_of = std::make_shared<std::map<std::string, std::string>>();
  for (const pki::LgpkiCaCertificate& c : authorities) {
    JLIS_ASSIGN_OR_RETURN(pki::X509Ptr cert, pki::x509_from_pem(c.pem));
    const bool root = c.name.rfind("root", 0) == 0;
    if (!root) {
      JLIS_ASSIGN_OR_RETURN(std::string der, pki::x509_der(cert.get()));
      (*arl_of)[std::move(der)] = pki::lgpki_arl_name(c.generation);
    }
    (root && c.name.find("link") == std::string::npos ? options.trusted : options.untrusted).push_back(std::move(cert));
  }
  // LGPKI's responder is made at the first status asked (it decrypts the issuing CAs' keys).
  options.ocsp = [&lgpki](std::string_view request) -> Result<std::string> {
    JLIS_ASSIGN_OR_RETURN(std::shared_ptr<pki::OcspResponder> responder, lgpki.ocsp_responder());
    return responder->answer(request)->der;
  };
  options.arl = [&lgpki, arl_of](X509* ca) -> Result<std::string> {
    JLIS_ASSIGN_OR_RETURN(std::string der, pki::x509_der(ca));
    auto it = arl_of->find(der);
    if (it == arl_of->end()) return not_found("not an issuing CA of LGPKI's generations when the platform started");
    return lgpki.published_crl(it->second);
  };
  return MessageVerifier::make(std::move(options));
}

Status accept_signed(store::Connection& conn, LogAppender& log, const std::string& body, std::string_view kind,
                     const SignedMessage& message, std::string_view logged_at) {
  JLIS_RETURN_IF_ERROR(Bodies::check_signer(conn, body, message.signer));
  return log.append(body, kind, message.message, message.signature, logged_at).status();
}

}  // namespace jlis::linkage
