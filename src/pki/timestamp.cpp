#include "pki/timestamp.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <memory>

namespace jlis::pki {
namespace {

using TsRespCtxPtr = std::unique_ptr<TS_RESP_CTX, OpensslDeleter<TS_RESP_CTX_free>>;
using TsRespPtr = std::unique_ptr<TS_RESP, OpensslDeleter<TS_RESP_free>>;
using TsReqPtr = std::unique_ptr<TS_REQ, OpensslDeleter<TS_REQ_free>>;
using TsMsgImprintPtr = std::unique_ptr<TS_MSG_IMPRINT, OpensslDeleter<TS_MSG_IMPRINT_free>>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, OpensslDeleter<TS_VERIFY_CTX_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, OpensslDeleter<X509_ALGOR_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT_free>>;

Result<Asn1IntegerPtr> random_integer(int bits) {
  BignumPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), bits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return openssl_error("BN_rand");
  Asn1IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!out) return openssl_error("BN_to_ASN1_INTEGER");
  return out;
}

ASN1_INTEGER* serial_cb(TS_RESP_CTX*, void*) {
  auto serial = random_integer(128);
  return serial.ok() ? serial->release() : nullptr;
}

int time_cb(TS_RESP_CTX*, void* now, long* sec, long* usec) {
  *sec = static_cast<long>(*static_cast<const int64_t*>(now));
  *usec = 0;
  return 1;
}

Result<TsRespPtr> parse_response(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) return invalid_argument("not an RFC 3161 time-stamp response");
  return resp;
}

}  // namespace

Result<TimeStampAuthority> TimeStampAuthority::make(std::string_view cert_pem, std::string_view key_pem,
                                                    const std::vector<std::string>& chain_pem, std::string policy) {
  JLIS_ASSIGN_OR_RETURN(auto cert, x509_from_pem(cert_pem));
  JLIS_ASSIGN_OR_RETURN(auto key, private_key_from_pem(key_pem));
  std::vector<X509Ptr> chain;
  for (const auto& pem : chain_pem) {
    JLIS_ASSIGN_OR_RETURN(auto c, x509_from_pem(pem));
    chain.push_back(std::move(c));
  }
  return make(std::move(cert), std::move(key), std::move(chain), std::move(policy));
}

Result<TimeStampAuthority> TimeStampAuthority::make(X509Ptr cert, EvpPkeyPtr key, std::vector<X509Ptr> chain,
                                                    std::string policy) {
  TimeStampAuthority tsa;
  tsa.cert_ = std::move(cert);
  tsa.key_ = std::move(key);
  tsa.chain_ = std::move(chain);
  if (X509_check_private_key(tsa.cert_.get(), tsa.key_.get()) != 1)
    return invalid_argument("the time-stamp authority's key does not match its certificate");
  if (Asn1ObjectPtr(OBJ_txt2obj(policy.c_str(), 1)) == nullptr)
    return invalid_argument("the time-stamp policy is not an OID: " + policy);
  TsRespCtxPtr ctx(TS_RESP_CTX_new());
  if (!ctx || TS_RESP_CTX_set_signer_cert(ctx.get(), tsa.cert_.get()) != 1)
    return invalid_argument("the certificate is not a time-stamping one (extendedKeyUsage timeStamping, critical)");
  tsa.policy_ = std::move(policy);
  return tsa;
}

Result<std::string> TimeStampAuthority::respond(std::string_view query_der, int64_t now) const {
  TsRespCtxPtr ctx(TS_RESP_CTX_new());
  if (!ctx) return openssl_error("TS_RESP_CTX_new");
  X509StackPtr chain(sk_X509_new_null());
  for (const auto& c : chain_)
    if (!chain || sk_X509_push(chain.get(), c.get()) <= 0) return openssl_error("sk_X509_push");
  Asn1ObjectPtr policy(OBJ_txt2obj(policy_.c_str(), 1));
  if (TS_RESP_CTX_set_signer_cert(ctx.get(), cert_.get()) != 1 || TS_RESP_CTX_set_signer_key(ctx.get(), key_.get()) != 1 ||
      TS_RESP_CTX_set_signer_digest(ctx.get(), EVP_sha256()) != 1 ||
      TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), EVP_sha256()) != 1 ||
      TS_RESP_CTX_set_certs(ctx.get(), chain.get()) != 1 || !policy ||
      TS_RESP_CTX_set_def_policy(ctx.get(), policy.get()) != 1 || TS_RESP_CTX_add_md(ctx.get(), EVP_sha256()) != 1 ||
      TS_RESP_CTX_add_md(ctx.get(), EVP_sha384()) != 1 || TS_RESP_CTX_add_md(ctx.get(), EVP_sha512()) != 1 ||
      TS_RESP_CTX_set_accuracy(ctx.get(), 1, 0, 0) != 1)
    return openssl_error("setting up the time-stamp answer");
  TS_RESP_CTX_set_serial_cb(ctx.get(), serial_cb, nullptr);
  int64_t at = now;
  TS_RESP_CTX_set_time_cb(ctx.get(), time_cb, &at);
  BioPtr query(BIO_new_mem_buf(query_der.data(), static_cast<int>(query_der.size())));
  if (!query) return openssl_error("BIO_new_mem_buf");
  TsRespPtr resp(TS_RESP_create_response(ctx.get(), query.get()));
  if (!resp) return openssl_error("TS_RESP_create_response");
  ERR_clear_error();  // a rejected query leaves OpenSSL's reasons queued; the answer carries them
  return der_of<i2d_TS_RESP>(resp.get());
}

Result<std::string> timestamp_query(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_len, EVP_sha256(), nullptr) != 1)
    return openssl_error("SHA-256");
  X509AlgorPtr algorithm(X509_ALGOR_new());
  TsMsgImprintPtr imprint(TS_MSG_IMPRINT_new());
  TsReqPtr req(TS_REQ_new());
  JLIS_ASSIGN_OR_RETURN(auto nonce, random_integer(64));
  if (!algorithm || !imprint || !req ||
      X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr) != 1 ||
      TS_MSG_IMPRINT_set_algo(imprint.get(), algorithm.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(imprint.get(), digest, static_cast<int>(digest_len)) != 1 ||
      TS_REQ_set_version(req.get(), 1) != 1 || TS_REQ_set_msg_imprint(req.get(), imprint.get()) != 1 ||
      TS_REQ_set_nonce(req.get(), nonce.get()) != 1 || TS_REQ_set_cert_req(req.get(), 1) != 1)
    return openssl_error("making the time-stamp query");
  return der_of<i2d_TS_REQ>(req.get());
}

Result<std::string> timestamp_token(std::string_view response_der, std::string_view query_der) {
  JLIS_ASSIGN_OR_RETURN(auto resp, parse_response(response_der));
  TS_STATUS_INFO* info = TS_RESP_get_status_info(resp.get());
  const long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(info));
  if (status != 0 && status != 1) {  // granted, grantedWithMods
    std::string text = "the time-stamp authority refused (status " + std::to_string(status) + ")";
    const STACK_OF(ASN1_UTF8STRING)* texts = TS_STATUS_INFO_get0_text(info);
    for (int i = 0; texts != nullptr && i < sk_ASN1_UTF8STRING_num(texts); ++i) {
      const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(texts, i);
      text += ": " + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)));
    }
    return unavailable(text);
  }
  const auto* q = reinterpret_cast<const unsigned char*>(query_der.data());
  TsReqPtr req(d2i_TS_REQ(nullptr, &q, static_cast<long>(query_der.size())));
  if (!req) return invalid_argument("not an RFC 3161 time-stamp query");
  // The version, the message imprint and the nonce must be the query's (not the signature: the
  // verifier of the document checks that, against its own trust).
  TsVerifyCtxPtr verify(TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr));
  if (!verify || TS_RESP_verify_response(verify.get(), resp.get()) != 1)
    return openssl_error("the time-stamp answer does not answer the query", Code::invalid_argument);
  PKCS7* token = TS_RESP_get_token(resp.get());
  if (token == nullptr) return invalid_argument("the granted time-stamp answer carries no token");
  return der_of<i2d_PKCS7>(token);
}

Result<int64_t> verify_timestamp_token(std::string_view token_der, std::string_view data,
                                       const std::vector<X509*>& trusted) {
  const auto* p = reinterpret_cast<const unsigned char*>(token_der.data());
  std::unique_ptr<PKCS7, OpensslDeleter<PKCS7_free>> token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  if (!token) return invalid_argument("not a time-stamp token");
  TsVerifyCtxPtr ctx(TS_VERIFY_CTX_new());
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
  if (!ctx || store == nullptr || bio == nullptr) {
    X509_STORE_free(store);
    BIO_free(bio);
    return openssl_error("TS_VERIFY_CTX_new");
  }
  TS_VERIFY_CTX_set_store(ctx.get(), store);  // the context owns both from here
  TS_VERIFY_CTX_set_data(ctx.get(), bio);
  for (X509* cert : trusted)
    if (X509_STORE_add_cert(store, cert) != 1) return openssl_error("X509_STORE_add_cert");
  std::unique_ptr<TS_TST_INFO, OpensslDeleter<TS_TST_INFO_free>> info(PKCS7_to_TS_TST_INFO(token.get()));
  struct tm tm {};
  if (!info || ASN1_TIME_to_tm(TS_TST_INFO_get_time(info.get()), &tm) != 1)
    return openssl_error("the time-stamp token's time", Code::invalid_argument);
  const int64_t gen_time = static_cast<int64_t>(timegm(&tm));
  // The authority's chain is checked at the time it stamped: a stamp stays evidence after its
  // certificate expires (what a stamp is for).
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), static_cast<time_t>(gen_time));
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_DATA);
  if (TS_RESP_verify_token(ctx.get(), token.get()) != 1)
    return openssl_error("the time-stamp token does not verify", Code::invalid_argument);
  return gen_time;
}

}  // namespace jlis::pki
