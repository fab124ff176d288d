// The file key store's cipher (pki/passphrase_cipher.h): one scrypt derivation per salt, files that
// share the salt but not the IV, files of other salts and schemes read as before.
#include "pki/passphrase_cipher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "pki/keys.h"
#include "test_cache.h"

namespace jlis::pki {
namespace {

using P8 = P8InfoPtr;

P8 new_key() {
  EvpPkeyPtr key = testing::next_cached_rsa_key();
  return P8(EVP_PKEY2PKCS8(key.get()));
}

std::string der_of(const PKCS8_PRIV_KEY_INFO* info) {
  unsigned char* der = nullptr;
  const int n = i2d_PKCS8_PRIV_KEY_INFO(info, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_clear_free(der, static_cast<size_t>(n));
  return out;
}

// The PBES2 parameters of an encrypted key, as DER: the scrypt salt and cost, and the cipher's IV.
struct Parameters {
  std::string salt, iv;
};
Parameters parameters_of(const X509_SIG* sig) {
  const X509_ALGOR* alg = nullptr;
  X509_SIG_get0(sig, &alg, nullptr);
  std::unique_ptr<PBE2PARAM, OpensslDeleter<PBE2PARAM_free>> pbe2(
      static_cast<PBE2PARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter)));
  std::unique_ptr<SCRYPT_PARAMS, OpensslDeleter<SCRYPT_PARAMS_free>> scrypt(static_cast<SCRYPT_PARAMS*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter)));
  const ASN1_OCTET_STRING* iv = pbe2->encryption->parameter->value.octet_string;
  return {std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(scrypt->salt)),
                      static_cast<size_t>(ASN1_STRING_length(scrypt->salt))),
          std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(iv)), static_cast<size_t>(ASN1_STRING_length(iv)))};
}

TEST(PassphraseCipher, TheFilesOfOneCipherShareASaltAndAreReadAtOneDerivation) {
  std::vector<P8> keys;
  std::vector<X509SigPtr> sealed;
  PassphraseCipher writer("the store's passphrase");
  for (int i = 0; i < 3; ++i) {
    keys.push_back(new_key());
    auto sig = writer.encrypt(keys.back().get());
    ASSERT_TRUE(sig.ok()) << sig.status().to_string();
    sealed.push_back(std::move(*sig));
  }
  EXPECT_EQ(writer.derivations(), 1);
  // One salt, three IVs: the same key encrypts each file, never under the same IV twice.
  const Parameters first = parameters_of(sealed[0].get());
  EXPECT_EQ(first.salt.size(), 16u);
  EXPECT_EQ(first.iv.size(), 16u);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(parameters_of(sealed[i].get()).salt, first.salt);
    EXPECT_NE(parameters_of(sealed[i].get()).iv, parameters_of(sealed[i - 1].get()).iv);
  }
  PassphraseCipher reader("the store's passphrase");
  for (int i = 0; i < 3; ++i) {
    auto info = reader.decrypt(sealed[i].get());
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(der_of(info->get()), der_of(keys[i].get()));
  }
  EXPECT_EQ(reader.derivations(), 1);
  // OpenSSL's own decryption reads them: the files are the standard scheme.
  P8 by_openssl(PKCS8_decrypt(sealed[2].get(), "the store's passphrase", 22));
  ASSERT_NE(by_openssl, nullptr);
  EXPECT_EQ(der_of(by_openssl.get()), der_of(keys[2].get()));
}

TEST(PassphraseCipher, AReaderWritesItsNewFilesUnderTheSaltItRead) {
  PassphraseCipher first("the store's passphrase");
  auto old = first.encrypt(new_key().get());
  ASSERT_TRUE(old.ok());
  PassphraseCipher later("the store's passphrase");
  ASSERT_TRUE(later.decrypt(old->get()).ok());
  auto added = later.encrypt(new_key().get());
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(parameters_of(added->get()).salt, parameters_of(old->get()).salt);
  EXPECT_EQ(later.derivations(), 1);
}

TEST(PassphraseCipher, FilesOfOtherSaltsAndSchemesReadAsBefore) {
  P8 a = new_key(), b = new_key(), c = new_key();
  const char pass[] = "operator passphrase";
  // openssl's own files: scrypt with a salt each, and PBKDF2 (openssl pkcs8 -v2 aes-256-cbc).
  auto by_openssl = [&](const PKCS8_PRIV_KEY_INFO* key, X509_ALGOR* pbe) {
    return X509SigPtr(PKCS8_set0_pbe(pass, static_cast<int>(sizeof pass - 1), const_cast<PKCS8_PRIV_KEY_INFO*>(key), pbe));
  };
  X509SigPtr sa = by_openssl(a.get(), PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), nullptr, 0, nullptr, 1 << 14, 8, 1));
  X509SigPtr sb = by_openssl(b.get(), PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), nullptr, 0, nullptr, 1 << 14, 8, 1));
  X509SigPtr sc = by_openssl(c.get(), PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 10000, nullptr, 0, nullptr, NID_hmacWithSHA256));
  ASSERT_TRUE(sa && sb && sc);
  PassphraseCipher reader(pass);
  for (auto [sig, key] : {std::pair{sa.get(), a.get()}, {sb.get(), b.get()}, {sc.get(), c.get()}}) {
    auto info = reader.decrypt(sig);
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(der_of(info->get()), der_of(key));
  }
  EXPECT_EQ(reader.derivations(), 2);  // a salt each; PBKDF2 is OpenSSL's
}

TEST(PassphraseCipher, AWrongPassphraseIsPermissionDeniedOnEveryScheme) {
  PassphraseCipher writer("the right passphrase");
  auto ours = writer.encrypt(new_key().get());
  ASSERT_TRUE(ours.ok());
  P8 other = new_key();
  X509SigPtr pbkdf2(PKCS8_set0_pbe("the right passphrase", 20, other.get(),
                                   PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), 10000, nullptr, 0, nullptr, NID_hmacWithSHA256)));
  ASSERT_NE(pbkdf2, nullptr);
  PassphraseCipher wrong("the wrong passphrase");
  for (const X509_SIG* sig : {static_cast<const X509_SIG*>(ours->get()), static_cast<const X509_SIG*>(pbkdf2.get())}) {
    auto info = wrong.decrypt(sig);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), Code::permission_denied) << info.status().to_string();
  }
}

// The salt of a file key store's key file.
std::string salt_of_file(const std::filesystem::path& file) {
  std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(file.c_str(), "r"), &std::fclose);
  if (!in) return "";
  X509SigPtr sig(PEM_read_PKCS8(in.get(), nullptr, nullptr, nullptr));
  return sig ? parameters_of(sig.get()).salt : "";
}

// A key store's directory holding one key, "authentication-ca", written by a store closed since
// (as `jlis ca init` leaves it); removed with it.
struct KeyDirectory {
  static constexpr const char* kPassphrase = "the store's passphrase";
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("jlis-cipher-store-" + std::to_string(::getpid()));
  KeyDirectory() {
    std::filesystem::remove_all(path);
    auto first = open(kPassphrase);
    EXPECT_TRUE(first && first->generate("authentication-ca").ok());
  }
  ~KeyDirectory() { std::filesystem::remove_all(path); }
  std::unique_ptr<KeyStore> open(const std::string& passphrase) const {
    KeyStoreConfig config;
    config.directory = path.string();
    config.passphrase = passphrase;
    auto store = KeyStore::open(config);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(*store) : nullptr;
  }
};

TEST(PassphraseCipher, AStoresFirstNewKeySharesTheSaltOfTheKeysAlreadyThere) {
  // `jlis ca init` writes the CA's keys, a later process the linkage code key: one salt, so a
  // `jlis serve` that opens them all derives once.
  KeyDirectory dir;
  auto later = dir.open(KeyDirectory::kPassphrase);
  ASSERT_NE(later, nullptr);
  ASSERT_TRUE(later->generate("linkage-code-key").ok());
  const std::string salt = salt_of_file(dir.path / "authentication-ca.key.pem");
  EXPECT_EQ(salt.size(), 16u);
  EXPECT_EQ(salt_of_file(dir.path / "linkage-code-key.key.pem"), salt);
}

TEST(PassphraseCipher, AStoreAddsNoKeyUnderAPassphraseThatDoesNotOpenItsKeys) {
  // A mistyped passphrase would otherwise leave a store whose keys need two.
  KeyDirectory dir;
  auto mistyped = dir.open("the store's passphrasf");
  ASSERT_NE(mistyped, nullptr);
  auto added = mistyped->generate("linkage-code-key");
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), Code::permission_denied) << added.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(dir.path / "linkage-code-key.key.pem"));
}

}  // namespace
}  // namespace jlis::pki
