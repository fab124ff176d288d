// The electronic seal on the documents a local government issues (電子公印, issue 12 §2): each
// document is signed (sign_pdf, PAdES) with what LgpkiAuthority::current_signer answers for the
// government at that moment (its document-signing certificate, else its mayor's position
// certificate), when that certificate's key is in the data directory's key store; time-stamped
// (PAdES B-T) by the time-stamp authority given, else by LGPKI's (LgpkiAuthority::
// time_stamp_authority). The signature's /Name is the certificate's
// common name, /Location the government (the subject's organisation), /Reason the caller's.
//
// A government with no current signer (none issued, or revoked, or expired), or whose key is not in
// this key store (it made its own request and keeps its key), gets its documents back unsigned:
// Sealed::serial says which happened. A revoked certificate never signs again, because
// current_signer skips it from the moment the revocation commits.
//
// Thread-safe. Each signing key is loaded from the key store once and kept (a key file is not
// decrypted per document); signing is serialised, as a PKCS#11 key handle is one thread's at a time.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"
#include "pki/keys.h"
#include "pki/lgpki.h"
#include "pki/timestamp.h"

namespace jlis::pki {

class DocumentSeal {
 public:
  // Not owned; all must outlive this. `tsa` null: LGPKI's.
  DocumentSeal(LgpkiAuthority& lgpki, KeyStore& keys, const TimeStampAuthority* tsa = nullptr)
      : lgpki_(lgpki), keys_(keys), tsa_(tsa) {}

  struct Sealed {
    std::string pdf;
    std::string serial;  // the signer's certificate; empty when the document was left unsigned
  };
  // `pdf` sealed for `municipality_code` at `now` (seconds since the epoch). Errors: the key
  // store's (permission_denied, not_found for a recorded label whose key is gone, internal),
  // sign_pdf's, the store's.
  Result<Sealed> seal(const std::string& municipality_code, std::string pdf, const std::string& reason, int64_t now);

 private:
  LgpkiAuthority& lgpki_;
  KeyStore& keys_;
  const TimeStampAuthority* tsa_;
  std::mutex mu_;                         // guards keys_by_label_ and every signature
  std::map<std::string, EvpPkeyPtr> keys_by_label_;
};

}  // namespace jlis::pki
