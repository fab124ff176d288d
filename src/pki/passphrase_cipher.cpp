#include "pki/passphrase_cipher.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include <cstdint>
#include <optional>

namespace jlis::pki {
namespace {

using Pbe2ParamPtr = std::unique_ptr<PBE2PARAM, OpensslDeleter<PBE2PARAM_free>>;
using ScryptParamsPtr = std::unique_ptr<SCRYPT_PARAMS, OpensslDeleter<SCRYPT_PARAMS_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, OpensslDeleter<X509_ALGOR_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpensslDeleter<EVP_CIPHER_CTX_free>>;

// What the files written get: `openssl pkcs8 -scrypt`'s cost. Larger N would exceed the 32 MiB that
// OpenSSL allows scrypt by default when it decrypts the file again.
constexpr uint64_t kScryptN = 1u << 14;
constexpr uint64_t kScryptR = 8;
constexpr uint64_t kScryptP = 1;
constexpr int kSaltBytes = 16;

Status wrong_passphrase() { return permission_denied("the passphrase does not decrypt the key"); }

}  // namespace

struct ScryptSetting {
  std::string salt;
  uint64_t n = 0, r = 0, p = 0;
  size_t key_length = 0;

  std::string encoding() const {
    return salt + '\0' + std::to_string(n) + ',' + std::to_string(r) + ',' + std::to_string(p) + ',' +
           std::to_string(key_length);
  }
  bool written_here() const { return n == kScryptN && r == kScryptR && p == kScryptP && key_length == 32; }
};

namespace {

// A PBES2-scrypt EncryptedPrivateKeyInfo's algorithm, read.
struct Scheme {
  Pbe2ParamPtr pbe2;  // owns the cipher's parameters (its IV)
  const EVP_CIPHER* cipher = nullptr;
};

// `alg` as PBES2 with scrypt and a cipher OpenSSL knows, with its setting; nullopt for any other.
std::optional<Scheme> scheme_of(const X509_ALGOR* alg, ScryptSetting& setting) {
  if (OBJ_obj2nid(alg->algorithm) != NID_pbes2 || alg->parameter == nullptr) return std::nullopt;
  Scheme s;
  s.pbe2.reset(static_cast<PBE2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter)));
  if (!s.pbe2 || OBJ_obj2nid(s.pbe2->keyfunc->algorithm) != NID_id_scrypt || !s.pbe2->keyfunc->parameter) {
    ERR_clear_error();
    return std::nullopt;
  }
  ScryptParamsPtr sp(static_cast<SCRYPT_PARAMS*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), s.pbe2->keyfunc->parameter)));
  s.cipher = EVP_get_cipherbyobj(s.pbe2->encryption->algorithm);
  if (!sp || !s.cipher || ASN1_INTEGER_get_uint64(&setting.n, sp->costParameter) != 1 ||
      ASN1_INTEGER_get_uint64(&setting.r, sp->blockSize) != 1 ||
      ASN1_INTEGER_get_uint64(&setting.p, sp->parallelizationParameter) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  setting.key_length = static_cast<size_t>(EVP_CIPHER_get_key_length(s.cipher));
  uint64_t stated = 0;
  if (sp->keyLength && (ASN1_INTEGER_get_uint64(&stated, sp->keyLength) != 1 || stated != setting.key_length)) {
    ERR_clear_error();
    return std::nullopt;
  }
  setting.salt.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sp->salt)),
                      static_cast<size_t>(ASN1_STRING_length(sp->salt)));
  return s;
}

// `in` through the scheme's cipher with `key` and the scheme's IV; permission_denied when the
// padding does not check (the key is not the one that encrypted it).
Result<std::string> crypt(const Scheme& s, const std::string& key, const unsigned char* in, int length, int encrypt) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex(ctx.get(), s.cipher, nullptr, nullptr, nullptr, encrypt) != 1 ||
      EVP_CIPHER_asn1_to_param(ctx.get(), s.pbe2->encryption->parameter) <= 0 ||
      EVP_CIPHER_CTX_get_key_length(ctx.get()) != static_cast<int>(key.size()) ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()), nullptr,
                        encrypt) != 1)
    return openssl_error("setting up a key file's cipher");
  std::string out(static_cast<size_t>(length) + static_cast<size_t>(EVP_CIPHER_get_block_size(s.cipher)), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int n = 0, last = 0;
  if (EVP_CipherUpdate(ctx.get(), o, &n, in, length) != 1 || EVP_CipherFinal_ex(ctx.get(), o + n, &last) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return wrong_passphrase();
  }
  out.resize(static_cast<size_t>(n + last));
  return out;
}

}  // namespace

PassphraseCipher::~PassphraseCipher() {
  for (auto& [setting, key] : keys_) OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(passphrase_.data(), passphrase_.size());
}

bool PassphraseCipher::has_salt() const {
  std::lock_guard lock(mu_);
  return !last_salt_.empty();
}

int PassphraseCipher::derivations() const {
  std::lock_guard lock(mu_);
  return derivations_;
}

Result<std::string> PassphraseCipher::derived(const ScryptSetting& s) {
  const std::string at = s.encoding();
  auto it = keys_.find(at);
  if (it == keys_.end()) {
    std::string key(s.key_length, '\0');
    if (EVP_PBE_scrypt(passphrase_.data(), passphrase_.size(), reinterpret_cast<const unsigned char*>(s.salt.data()),
                       s.salt.size(), s.n, s.r, s.p, 0, reinterpret_cast<unsigned char*>(key.data()),
                       key.size()) != 1)
      return openssl_error("deriving a key file's key with scrypt");
    ++derivations_;
    it = keys_.emplace(at, std::move(key)).first;
  }
  if (s.written_here()) last_salt_ = s.salt;
  return it->second;
}

Result<X509SigPtr> PassphraseCipher::encrypt(const PKCS8_PRIV_KEY_INFO* key) {
  std::string secret;
  X509AlgorPtr pbe;
  std::optional<Scheme> scheme;
  {
    std::lock_guard lock(mu_);
    if (last_salt_.empty()) {
      last_salt_.resize(kSaltBytes);
      if (RAND_bytes(reinterpret_cast<unsigned char*>(last_salt_.data()), kSaltBytes) != 1) {
        last_salt_.clear();
        return openssl_error("drawing a salt");
      }
    }
    // A random IV of the file's own (nullptr), under the salt shared with the store's other files.
    pbe.reset(PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), reinterpret_cast<const unsigned char*>(last_salt_.data()),
                                    static_cast<int>(last_salt_.size()), nullptr, kScryptN, kScryptR, kScryptP));
    if (!pbe) return openssl_error("setting up scrypt");
    ScryptSetting setting;
    scheme = scheme_of(pbe.get(), setting);
    if (!scheme) return internal_error("OpenSSL's PBES2-scrypt parameters did not read back");
    JLIS_ASSIGN_OR_RETURN(secret, derived(setting));
  }
  unsigned char* der = nullptr;
  const int length = i2d_PKCS8_PRIV_KEY_INFO(key, &der);
  if (length <= 0) return openssl_error("encoding a private key");
  auto sealed = crypt(*scheme, secret, der, length, 1);
  OPENSSL_clear_free(der, static_cast<size_t>(length));
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!sealed.ok()) return sealed.status();
  X509SigPtr sig(X509_SIG_new());
  X509_ALGOR* alg = nullptr;
  ASN1_OCTET_STRING* digest = nullptr;
  if (!sig) return openssl_error("encrypting a private key");
  X509_SIG_getm(sig.get(), &alg, &digest);
  if (X509_ALGOR_copy(alg, pbe.get()) != 1 ||
      ASN1_OCTET_STRING_set(digest, reinterpret_cast<const unsigned char*>(sealed->data()),
                            static_cast<int>(sealed->size())) != 1)
    return openssl_error("encrypting a private key");
  return sig;
}

Result<P8InfoPtr> PassphraseCipher::decrypt(const X509_SIG* sig) {
  const X509_ALGOR* alg = nullptr;
  const ASN1_OCTET_STRING* data = nullptr;
  X509_SIG_get0(sig, &alg, &data);
  ScryptSetting setting;
  std::optional<Scheme> scheme = scheme_of(alg, setting);
  if (!scheme) {
    P8InfoPtr info(PKCS8_decrypt(sig, passphrase_.data(), static_cast<int>(passphrase_.size())));
    if (!info) {
      ERR_clear_error();
      return wrong_passphrase();
    }
    return info;
  }
  std::string secret;
  {
    std::lock_guard lock(mu_);
    JLIS_ASSIGN_OR_RETURN(secret, derived(setting));
  }
  auto der = crypt(*scheme, secret, ASN1_STRING_get0_data(data), ASN1_STRING_length(data), 0);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!der.ok()) return der.status();
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  P8InfoPtr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der->size())));
  OPENSSL_cleanse(der->data(), der->size());
  if (!info) {
    ERR_clear_error();
    return wrong_passphrase();
  }
  return info;
}

}  // namespace jlis::pki
