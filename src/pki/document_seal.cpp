#include "pki/document_seal.h"

#include <openssl/x509.h>

#include <vector>

#include "pki/pdf_signature.h"

namespace jlis::pki {
namespace {

// The UTF-8 values of `nid` in `name`, in order.
std::vector<std::string> entries(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = -1; (i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0;) {
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n >= 0) out.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  return out;
}

}  // namespace

Result<DocumentSeal::Sealed> DocumentSeal::seal(const std::string& municipality_code, std::string pdf,
                                                const std::string& reason, int64_t now) {
  auto signer = lgpki_.current_signer(municipality_code, now);
  if (!signer.ok() && signer.status().code() == Code::not_found) return Sealed{std::move(pdf), ""};
  if (!signer.ok()) return signer.status();
  const std::string& label = signer->certificate.key_label;
  if (label.empty()) return Sealed{std::move(pdf), ""};
  std::shared_ptr<const TimeStampAuthority> lgpki_tsa;
  if (tsa_ == nullptr) {
    JLIS_ASSIGN_OR_RETURN(lgpki_tsa, lgpki_.time_stamp_authority());
  }
  const TimeStampAuthority* tsa = tsa_ != nullptr ? tsa_ : lgpki_tsa.get();
  std::lock_guard lock(mu_);
  auto key = keys_by_label_.find(label);
  if (key == keys_by_label_.end()) {
    JLIS_ASSIGN_OR_RETURN(auto loaded, keys_.load(label));
    key = keys_by_label_.emplace(label, std::move(loaded)).first;
  }
  JLIS_ASSIGN_OR_RETURN(auto cert, x509_from_der(signer->certificate.der));
  std::vector<X509Ptr> chain;
  std::vector<X509*> chain_ptrs;
  for (const auto& der : signer->chain) {
    JLIS_ASSIGN_OR_RETURN(auto c, x509_from_der(der));
    chain_ptrs.push_back(c.get());
    chain.push_back(std::move(c));
  }
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto cn = entries(subject, NID_commonName);
  const auto ou = entries(subject, NID_organizationalUnitName);  // the code, then the government
  PdfSignOptions options;
  options.signing_time = now;
  options.name = cn.empty() ? "" : cn.back();
  options.location = ou.size() >= 2 ? ou[1] : municipality_code;
  options.reason = reason;
  options.stamp = [tsa, now](std::string_view value) -> Result<std::string> {
    JLIS_ASSIGN_OR_RETURN(auto query, timestamp_query(value));
    JLIS_ASSIGN_OR_RETURN(auto answer, tsa->respond(query, now));
    return timestamp_token(answer, query);
  };
  JLIS_ASSIGN_OR_RETURN(auto signed_pdf, sign_pdf(pdf, {cert.get(), key->second.get(), chain_ptrs}, options));
  return Sealed{std::move(signed_pdf), signer->certificate.serial};
}

}  // namespace jlis::pki
