// PDF signatures (PAdES, ETSI EN 319 142-1): how a municipality's electronic seal goes on the
// documents it issues (住民票の写し and the others), so that anyone holding the PDF can check in any
// PDF reader that it came from that municipality and was not changed.
//
// The signature is an incremental update of the PDF (the signed document's bytes stay as they
// were, the signature appended after them), written by PoDoFo: an invisible signature field on
// the first page whose signature dictionary has /Filter /Adobe.PPKLite, /SubFilter
// /ETSI.CAdES.detached, /ByteRange over the whole file but /Contents, /M (the signing time),
// /Reason, /Location and /Name. /Contents is the detached CAdES signature over those bytes
// (cades.h: cades_sign; its signing-time is /M's time, which PAdES baseline would have alone, and
// the two say the same); with a time-stamper, its signature-time-stamp makes it PAdES B-T.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pki/cades.h"
#include "pki/openssl.h"

namespace jlis::pki {

// Who signs (cades.h).
using PdfSigner = CadesSigner;

struct PdfSignOptions {
  int64_t signing_time = 0;  // Unix seconds: /M and the CMS signing-time
  std::string name;          // /Name: who signed, e.g. "清瀬市長 山田太郎"
  std::string reason;        // /Reason, e.g. "住民票の写しの交付"
  std::string location;      // /Location, e.g. the municipality
  TimeStamper stamp;         // unset: no time-stamp (PAdES B-B)
};

// The PDF with the signature added. invalid_argument when `pdf` is not a PDF PoDoFo can read or
// the signer's key does not match its certificate; the time-stamper's own Status when it fails;
// internal when OpenSSL or PoDoFo fail otherwise.
Result<std::string> sign_pdf(std::string_view pdf, const PdfSigner& signer, const PdfSignOptions& options);

}  // namespace jlis::pki
