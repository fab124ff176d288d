// Signed messages between the bodies and the platform (issue 11 §3): every message a body sends
// (a code request, a replica, a query, a bulk file) travels with its sender's detached CAdES
// signature (pki/cades.h: CMS SignedData, SHA-256, the signer's certificate embedded) over the
// message's exact bytes, in the HTTP header JLIS-Signature (base64 of the DER).
//
// The platform verifies, before acting (MessageVerifier::verify): the signature over the bytes;
// the signer's chain to a trusted root (LGPKI's roots of every generation, their link certificates
// and issuing CAs as intermediates) at the platform's time; the issuing CA not revoked, in the ARL
// of its generation signed by the root that issued it (LGPKI revokes a CA there, and its OCSP
// responder goes on answering for the CA's certificates); and the signer's status by OCSP, whose
// answer must be signed by the issuer, say good, and be fresh: its thisUpdate no older than the
// freshness limit (VerifierOptions::max_status_age, `jlis serve --linkage-ocsp-max-age`). An
// answer older than that refuses the message (X-Road's ocspFreshnessSeconds): a responder that
// cannot sign does not let a revoked signer through for longer than the limit.
//
// The platform signs its answers the same way (X-Road's security servers sign both directions): a
// detached CAdES signature over the answer's exact body in the same header, made with its own
// message-signing certificate from LGPKI (LgpkiAuthority::message_signer: organisation CA,
// OU=Information-Linkage Platform), so a body verifies the answer as the platform verifies its
// messages: the chain to LGPKI's root, the certificate's status by OCSP.
//
// Then, in the transaction that acts on the message (on the writer's connection), accept_signed():
// the signer's certificate must be one registered to the acting body (Bodies::add_certificate;
// the token says who acts, the certificate must agree), and the message is appended to the log
// with its signature. A refusal's message ends with its rule's name in brackets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "linkage/bodies.h"
#include "linkage/message_log.h"
#include "pki/lgpki.h"
#include "pki/openssl.h"
#include "pki/relying_party.h"
#include "store/database.h"

namespace jlis::linkage {

// The HTTP header that carries a message's signature.
inline constexpr const char* kSignatureHeader = "JLIS-Signature";

// The refusals' rule names.
inline constexpr std::string_view kSignatureMissing = "signature-missing";
inline constexpr std::string_view kSignatureInvalid = "signature-invalid";      // bytes, form or chain
inline constexpr std::string_view kSignerRevoked = "signer-revoked";
inline constexpr std::string_view kSignerStatusUnknown = "signer-status-unknown";  // OCSP: unknown, or no usable answer
inline constexpr std::string_view kSignerStatusStale = "signer-status-stale";  // OCSP answer older than the limit
inline constexpr std::string_view kSignerNotRegistered = "signer-not-registered";  // not the acting body's certificate

// A message as its sender signed it, once verified.
struct SignedMessage {
  std::string_view message;  // the bytes signed (the request's body: it must outlive this)
  std::string signature;     // the CMS signature (DER)
  std::string signer;        // SHA-256 (64 hex) of the signer's certificate (DER)
};

// The platform's answer-signing key in use (LgpkiAuthority::message_signer: renewed when revoked or
// near its expiry, so asked for each answer).
using AnswerKey = std::function<Result<std::shared_ptr<const pki::LgpkiOwnKey>>()>;

// An OCSP responder: a DER OCSPRequest in, the DER OCSPResponse out (in-process or over HTTP).
using OcspService = std::function<Result<std::string>(std::string_view request_der)>;
// Where the ARLs come from: the DER ARL that covers issuing CA `ca` (its generation's, signed by
// the root that issued it), in-process or over HTTP.
using ArlService = std::function<Result<std::string>(X509* ca)>;

struct VerifierOptions {
  std::vector<pki::X509Ptr> trusted = {};    // the roots
  std::vector<pki::X509Ptr> untrusted = {};  // intermediates and link certificates
  OcspService ocsp = {};
  ArlService arl = {};
  std::chrono::seconds max_status_age{3600};       // the OCSP freshness limit
  std::function<int64_t()> clock = {};             // seconds since the epoch; time() when empty
};

class MessageVerifier {
 public:
  // internal when the trust store cannot be made; invalid_argument without roots, a responder or
  // the ARLs.
  static Result<MessageVerifier> make(VerifierOptions options);

  // Verifies `signature_base64` (the header's value) over `message`: the signer, or
  // permission_denied naming the rule ([signature-missing] for an empty header,
  // [signature-invalid], [signer-revoked], [signer-status-unknown], [signer-status-stale]).
  Result<SignedMessage> verify(std::string_view message, std::string_view signature_base64) const;

  // Checks a certificate a body is to be registered with: its chain to the trusted roots now, its
  // issuing CA not revoked (the ARL), and that it may sign messages (pki/cades.h's purpose).
  // invalid_argument saying why not.
  Status check_certificate(X509* cert) const;

  std::chrono::seconds max_status_age() const { return state_->options.max_status_age; }

 private:
  struct State {
    VerifierOptions options;
    pki::X509StorePtr store;
  };
  explicit MessageVerifier(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  int64_t now() const;
  // The issuing CA `ca` at `now`: OK, or why it vouches for nothing ([signer-revoked] when its
  // generation's ARL lists it, [signer-status-unknown] when no current, signed ARL can be had).
  // A CA that is itself a trusted root is not in an ARL.
  Status check_issuing_ca(X509* ca, int64_t now) const;

  std::shared_ptr<const State> state_;  // shared by copies, immutable: verify() is thread-safe
};

// The verifier the platform runs with: LGPKI's roots of every generation trusted, its issuing CAs
// and link certificates as intermediates, its own OCSP responder asked in-process. For the limit to
// be met, LGPKI's responses must be re-signed more often than it: open LGPKI with an OCSP validity
// no longer than the limit (its responder re-signs at half the validity). conflict when LGPKI has
// no hierarchy yet; the store's errors.
Result<MessageVerifier> lgpki_verifier(pki::LgpkiAuthority& lgpki, std::chrono::seconds max_status_age,
                                       std::function<int64_t()> clock = {});

// In the transaction acting on a signed message of `body`: the signer's certificate registered to
// the body and not removed (permission_denied [signer-not-registered] otherwise), then the message
// appended to the log as `kind` with its signature.
Status accept_signed(store::Connection& conn, LogAppender& log, const std::string& body, std::string_view kind,
                     const SignedMessage& message, std::string_view logged_at);

}  // namespace jlis::linkage
