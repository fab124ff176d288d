#include "pki/pdf_signature.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <podofo/podofo.h>

#include <ctime>
#include <memory>

namespace jlis::pki {
namespace {

// Room for the CMS in /Contents: the signer's and the chain's certificates, the signature, the
// time-stamp token with the authority's certificates. Unused room is zeros.
constexpr size_t kSignatureRoom = 32 * 1024;

PoDoFo::PdfString utf8(const std::string& s) {
  return PoDoFo::PdfString(reinterpret_cast<const PoDoFo::pdf_utf8*>(s.c_str()));
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
    JLIS_ASSIGN_OR_RETURN(auto cms, cades_sign(signed_bytes, signer, options.signing_time, options.stamp));
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
