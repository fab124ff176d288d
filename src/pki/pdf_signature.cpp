#include "pki/pdf_signature.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/x509.h>
#include <podofo/podofo.h>

#include <ctime>
#include <memory>

namespace jlis::pki {
namespace {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, OpensslDeleter<CMS_ContentInfo_free>>;
using EssCertV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, OpensslDeleter<ESS_SIGNING_CERT_V2_free>>;

// Room for the CMS in /Contents: the signer's and the chain's certificates, the signature, the
// time-stamp token with the authority's certificates. Unused room is zeros.
constexpr size_t kSignatureRoom = 32 * 1024;

PoDoFo::PdfString utf8(const std::string& s) {
  return PoDoFo::PdfString(reinterpret_cast<const PoDoFo::pdf_utf8*>(s.c_str()));
}

// The detached CMS SignedData (DER) over `data`, with the signature time-stamped when asked.
Result<std::string> cms_signature(const std::string& data, const PdfSigner& signer, const PdfSignOptions& options) {
  X509StackPtr chain(sk_X509_new_null());
  for (X509* c : signer.chain)
    if (!chain || sk_X509_push(chain.get(), c) <= 0) return openssl_error("sk_X509_push");
  const unsigned flags = CMS_BINARY | CMS_DETACHED | CMS_PARTIAL | CMS_NOSMIMECAP;
  CmsPtr cms(CMS_sign(signer.certificate, signer.key, chain.get(), nullptr, flags));
  if (!cms) return openssl_error("CMS_sign");
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  // ESS signing-certificate-v2 (RFC 5035): the SHA-256 of the signer's certificate, signed.
  EssCertV2Ptr ess(OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), signer.certificate, nullptr, 0));
  unsigned char* ess_der = nullptr;
  const int ess_len = ess ? i2d_ESS_SIGNING_CERT_V2(ess.get(), &ess_der) : -1;
  if (ess_len <= 0) return openssl_error("ESS signing-certificate-v2");
  const int added =
      CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, ess_der, ess_len);
  OPENSSL_free(ess_der);
  if (added != 1) return openssl_error("CMS_signed_add1_attr_by_NID");
  ASN1_TIME* at = ASN1_TIME_set(nullptr, static_cast<time_t>(options.signing_time));
  const int timed = at ? CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, at->type, at, -1) : 0;
  ASN1_TIME_free(at);
  if (timed != 1) return openssl_error("signing-time");
  BioPtr content(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!content || CMS_final(cms.get(), content.get(), nullptr, CMS_BINARY | CMS_DETACHED) != 1)
    return openssl_error("CMS_final");
  if (options.stamp) {
    const ASN1_OCTET_STRING* value = CMS_SignerInfo_get0_signature(si);
    JLIS_ASSIGN_OR_RETURN(auto token,
                          options.stamp(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                                         static_cast<size_t>(ASN1_STRING_length(value)))));
    if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token.data(),
                                      static_cast<int>(token.size())) != 1)
      return openssl_error("adding the signature time-stamp");
  }
  return der_of<i2d_CMS_ContentInfo>(cms.get());
}

}  // namespace

Result<std::string> sign_pdf(std::string_view pdf, const PdfSigner& signer, const PdfSignOptions& options) {
  if (signer.certificate == nullptr || signer.key == nullptr ||
      X509_check_private_key(signer.certificate, signer.key) != 1) {
    ERR_clear_error();
    return invalid_argument("the signer's key does not match its certificate");
  }
  using namespace PoDoFo;
  // PoDoFo's own messages (it prints parsed trailers to stdout) stay out of the server's output.
  static const bool quiet = [] {
    PdfError::EnableDebug(false);
    PdfError::EnableLogging(false);
    return true;
  }();
  (void)quiet;
  PdfMemDocument doc;
  try {
    doc.LoadFromBuffer(pdf.data(), static_cast<long>(pdf.size()), /*bForUpdate=*/true);
    if (doc.GetPageCount() < 1) return invalid_argument("the PDF has no page to put the signature on");
  } catch (const PdfError& e) {
    return invalid_argument(std::string("not a PDF that can be signed: ") + PdfError::ErrorMessage(e.GetError()));
  }
  try {
    PdfRefCountedBuffer file;
    PdfOutputDevice device(&file);
    PdfSignOutputDevice out(&device);
    PdfAcroForm* form = doc.GetAcroForm();
    form->GetObject()->GetDictionary().AddKey(PdfName("SigFlags"), PdfObject(static_cast<pdf_int64>(3)));
    form->SetNeedAppearances(false);
    PdfAnnotation* widget = doc.GetPage(0)->CreateAnnotation(ePdfAnnotation_Widget, PdfRect(0, 0, 0, 0));
    widget->SetFlags(ePdfAnnotationFlags_Hidden | ePdfAnnotationFlags_Invisible);
    PdfSignatureField field(widget, form, &doc);
    field.SetFieldName(PdfString("Signature1"));
    field.SetSignatureReason(utf8(options.reason));
    field.SetSignatureLocation(utf8(options.location));
    field.SetSignatureDate(PdfDate(static_cast<time_t>(options.signing_time)));
    out.SetSignatureSize(kSignatureRoom);
    field.SetSignature(*out.GetSignatureBeacon());
    PdfDictionary& dict = field.GetSignatureObject()->GetDictionary();
    dict.AddKey(PdfName("SubFilter"), PdfName("ETSI.CAdES.detached"));
    dict.AddKey(PdfName("Name"), utf8(options.name));
    doc.WriteUpdate(&out, /*bTruncate=*/true);
    if (!out.HasSignaturePosition()) return internal_error("PoDoFo wrote no place for the signature");
    out.AdjustByteRange();
    out.Seek(0);
    std::string signed_bytes;
    char buf[65536];
    for (size_t n; (n = out.ReadForSignature(buf, sizeof buf)) > 0;) signed_bytes.append(buf, n);
    JLIS_ASSIGN_OR_RETURN(auto cms, cms_signature(signed_bytes, signer, options));
    if (cms.size() > kSignatureRoom)
      return internal_error("the signature (" + std::to_string(cms.size()) + " bytes) does not fit its room");
    out.SetSignature(PdfData(cms.data(), cms.size()));
    out.Flush();
    return std::string(file.GetBuffer(), device.GetLength());
  } catch (const PdfError& e) {
    return internal_error(std::string("PoDoFo: ") + PdfError::ErrorMessage(e.GetError()));
  }
}

}  // namespace jlis::pki
