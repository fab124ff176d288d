#include "pki/cades.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <ctime>
#include <memory>

namespace jlis::pki {
namespace {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, OpensslDeleter<CMS_ContentInfo_free>>;
using EssCertV2Ptr = std::unique_ptr<ESS_SIGNING_CERT_V2, OpensslDeleter<ESS_SIGNING_CERT_V2_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE_free>>;

Result<X509StackPtr> stack_of(const std::vector<X509*>& certs) {
  X509StackPtr out(sk_X509_new_null());
  if (!out) return openssl_error("sk_X509_new_null");
  for (X509* c : certs)
    if (sk_X509_push(out.get(), c) <= 0) return openssl_error("sk_X509_push");
  return out;
}

// OpenSSL's reason for the last failure, and its queue cleared.
std::string reason() {
  const char* data = nullptr;
  int flags = 0;
  const unsigned long e = ERR_peek_last_error_data(&data, &flags);
  std::string out = e == 0 ? "unknown" : ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown";
  if (data != nullptr && (flags & ERR_TXT_STRING) && *data) out += std::string(" (") + data + ")";
  ERR_clear_error();
  return out;
}

}  // namespace

Result<std::string> cades_sign(std::string_view data, const CadesSigner& signer, int64_t signing_time,
                               const TimeStamper& stamp) {
  if (signer.certificate == nullptr || signer.key == nullptr ||
      X509_check_private_key(signer.certificate, signer.key) != 1) {
    ERR_clear_error();
    return invalid_argument("the signer's key does not match its certificate");
  }
  JLIS_ASSIGN_OR_RETURN(X509StackPtr chain, stack_of(signer.chain));
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
  ASN1_TIME* at = ASN1_TIME_set(nullptr, static_cast<time_t>(signing_time));
  const int timed = at ? CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, at->type, at, -1) : 0;
  ASN1_TIME_free(at);
  if (timed != 1) return openssl_error("signing-time");
  BioPtr content(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!content || CMS_final(cms.get(), content.get(), nullptr, CMS_BINARY | CMS_DETACHED) != 1)
    return openssl_error("CMS_final");
  if (stamp) {
    const ASN1_OCTET_STRING* value = CMS_SignerInfo_get0_signature(si);
    JLIS_ASSIGN_OR_RETURN(auto token, stamp(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                                                             static_cast<size_t>(ASN1_STRING_length(value)))));
    if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token.data(),
                                      static_cast<int>(token.size())) != 1)
      return openssl_error("adding the signature time-stamp");
  }
  return der_of<i2d_CMS_ContentInfo>(cms.get());
}

Result<CadesVerified> cades_verify(std::string_view signature, std::string_view data, const std::vector<X509*>& trusted,
                                   const std::vector<X509*>& untrusted, int64_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(signature.size())));
  if (!cms || p != reinterpret_cast<const unsigned char*>(signature.data()) + signature.size()) {
    ERR_clear_error();
    return invalid_argument("not a CMS signature (DER)");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed || CMS_is_detached(cms.get()) != 1)
    return invalid_argument("not a detached CMS SignedData");
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  if (sk_CMS_SignerInfo_num(infos) != 1) return invalid_argument("a signature has exactly one signer");
  X509StorePtr store(X509_STORE_new());
  if (!store) return openssl_error("X509_STORE_new");
  for (X509* root : trusted)
    if (X509_STORE_add_cert(store.get(), root) != 1) return openssl_error("X509_STORE_add_cert");
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), static_cast<time_t>(at));
  // CMS_verify builds the chain from the certificates in the signature only: the caller's
  // intermediates join them there (in memory; they are outside what is signed).
  for (X509* c : untrusted)
    if (CMS_add1_cert(cms.get(), c) != 1) ERR_clear_error();  // already there: fine
  BioPtr content(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!content) return openssl_error("BIO_new_mem_buf");
  if (CMS_verify(cms.get(), nullptr, store.get(), content.get(), nullptr, CMS_BINARY) != 1)
    return invalid_argument("the signature does not verify: " + reason());
  CadesVerified out;
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, 0);
  X509* signer = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
  if (signer == nullptr || X509_up_ref(signer) != 1) return internal_error("the verified signer is not known");
  out.signer.reset(signer);
  const int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
  const ASN1_TYPE* t = i >= 0 ? X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, i), 0) : nullptr;
  if (t != nullptr && (t->type == V_ASN1_UTCTIME || t->type == V_ASN1_GENERALIZEDTIME)) {
    JLIS_ASSIGN_OR_RETURN(out.signing_time, unix_seconds(t->value.asn1_string));
  }
  out.time_stamped = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) >= 0;
  return out;
}

}  // namespace jlis::pki
