// The verification code (改ざん防止・真正性確認のコード) printed on every page of a certificate
// document: a QR code of a signed digest of the document's content, which the centre's public
// verification page checks with the issuing municipality's public key.
//
// The payload is short text in the QR code's alphanumeric set: "JLIS1:" followed by the Base45
// (RFC 9285, as the EU's health certificates use for the same reason) of
//   u8  length, then the issuance number (1..32 bytes)
//   u8  3, then the 地方公共団体コード's five leading digits as a big-endian integer (3 bytes)
//   u16 year, u8 month, u8 day of issue (big-endian)
//   32  the SHA-256 content digest of the document (content_digest)
//   64  an ECDSA P-256 signature with SHA-256, as r ‖ s (32 bytes each), over "JLIS1:" followed by
//       every byte above
// 192 characters for a 19-byte issuance number, at most 212 for a 32-byte one: a QR code of version
// 8 at error-correction level M (49 modules a side), which a page rendered at 100 dpi still decodes.
//
// What the code proves: the municipality's issuance key signed this issuance number, date and
// content digest. A verifier holding the document's content (the verification page shows it from the
// issuance record) recomputes content_digest and compares; the printed page's readable text is the
// person's to compare with what the page shows.
#pragma once

#include <openssl/evp.h>

#include <functional>
#include <string>
#include <string_view>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "municipal/document.h"

namespace jlis::municipal {

// What a QR code on a document carries.
struct VerificationCode {
  std::string payload;  // "JLIS1:<base45>", in the QR code's alphanumeric set
};

// What a verified payload says.
struct VerifiedIssuance {
  std::string issuance_number;
  LocalGovernmentCode municipality;
  Date issued_on;
  std::string content_digest;  // 32 bytes, as content_digest answers
};

// The SHA-256 (32 raw bytes) of the document's canonical content: every field of the Document (the
// title, the issuer, the date of issue, the issuance number, the certification sentence, the
// subject) and every block's content in order (labels, headers, cell texts and their furigana, a
// note's text and alignment, an image's caption, size and the SHA-256 of its PNG bytes), each
// length-prefixed and tagged so that no two different documents hash the same content.
// Deterministic across runs and platforms.
std::string content_digest(const Document& document);

// Signs the document's issuance number, issuer code, date of issue and content digest with the
// municipality's issuance key: `private_key` must be an EC P-256 private key (borrowed, not
// consumed). invalid_argument for another kind of key or an issuance number that is empty or longer
// than 32 bytes; internal when OpenSSL fails.
Result<VerificationCode> make_verification_code(const Document& document, EVP_PKEY* private_key);

// Checks a payload read from a QR code against the municipality's public key (EC P-256; borrowed)
// and answers what it says. invalid_argument when the payload is not a verification code (prefix,
// base45, lengths, a date that does not exist, a key that is not P-256); unauthenticated when it
// is one but the signature does not verify under `public_key` (another municipality's key, or any
// byte changed).
Result<VerifiedIssuance> verify(std::string_view payload, EVP_PKEY* public_key);
// The same with the key of the municipality the payload names (borrowed; its errors are returned).
using KeyOf = std::function<Result<EVP_PKEY*>(const LocalGovernmentCode&)>;
Result<VerifiedIssuance> verify(std::string_view payload, const KeyOf& key_of);

}  // namespace jlis::municipal
