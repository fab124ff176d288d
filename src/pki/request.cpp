#include "pki/request.h"

#include <openssl/pem.h>

namespace jlis::pki {

Result<CertificationRequest> parse_certification_request(std::string_view input) {
  if (input.empty() || input.size() > 65536) return invalid_argument("a certification request is 1 byte to 64 KiB");
  X509ReqPtr req;
  if (input.substr(0, 11) == "-----BEGIN ") {
    BioPtr bio(BIO_new_mem_buf(input.data(), static_cast<int>(input.size())));
    if (!bio) return openssl_error("reading a request");
    req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(input.data());
    req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(input.size())));
    if (req && p != reinterpret_cast<const unsigned char*>(input.data()) + input.size()) req.reset();
  }
  if (!req) return openssl_error("not a PKCS#10 certification request (PEM or DER)", Code::invalid_argument);
  CertificationRequest out;
  {
    unsigned char* der = nullptr;
    const int len = i2d_X509_REQ(req.get(), &der);
    if (len <= 0) return openssl_error("encoding a request", Code::invalid_argument);
    out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return openssl_error("the request's public key cannot be read", Code::invalid_argument);
  {
    auto spki = der_of<i2d_PUBKEY>(key);  // SubjectPublicKeyInfo
    if (!spki.ok()) return invalid_argument("the request's public key cannot be encoded");
    auto parsed = rsa_public_key_der_from_spki(*spki);
    if (!parsed.ok()) return invalid_argument("the request's key is not an RSA-2048 key (the JPKI profile)");
    out.key = std::move(*parsed);
  }
  if (X509_REQ_get_signature_nid(req.get()) != NID_sha256WithRSAEncryption)
    return invalid_argument("the request must be signed with sha256WithRSAEncryption");
  if (X509_REQ_verify(req.get(), key) != 1) {
    (void)openssl_error("verifying");  // clears the queue
    return invalid_argument("the request's signature does not verify with its own key (no proof of possession)");
  }
  const int idx = X509_REQ_get_attr_by_NID(req.get(), NID_pkcs9_challengePassword, -1);
  if (idx >= 0) {
    if (X509_REQ_get_attr_by_NID(req.get(), NID_pkcs9_challengePassword, idx) >= 0)
      return invalid_argument("the request has more than one challengePassword");
    X509_ATTRIBUTE* attr = X509_REQ_get_attr(req.get(), idx);
    ASN1_TYPE* value = attr != nullptr && X509_ATTRIBUTE_count(attr) == 1 ? X509_ATTRIBUTE_get0_type(attr, 0) : nullptr;
    if (value == nullptr || (value->type != V_ASN1_PRINTABLESTRING && value->type != V_ASN1_UTF8STRING &&
                             value->type != V_ASN1_IA5STRING))
      return invalid_argument("the request's challengePassword is not a string");
    const ASN1_STRING* s = value->value.asn1_string;
    out.challenge_password.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

Result<std::string> make_certification_request(EVP_PKEY* key, const std::string& common_name) {
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return internal_error("X509_REQ_new failed");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 -1, -1, 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1 || X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
    return internal_error("making the PKCS#10 request failed");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return internal_error("writing the request failed");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string spki_pem(std::string_view spki_der) {
  return "-----BEGIN PUBLIC KEY-----\n" + base64_encode(spki_der) + "\n-----END PUBLIC KEY-----\n";
}

}  // namespace jlis::pki
