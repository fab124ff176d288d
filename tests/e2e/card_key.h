// A key pair "generated on the card", for tests that hand cards over and get certificates.
// Shared by the end-to-end and security tests.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "../pki/test_cache.h"
#include "pki/openssl.h"

namespace jlis::e2e {

struct CardKey {
  pki::EvpPkeyPtr key;
  std::string public_pem;

  // A fresh RSA-2048 pair of this process (distinct within it; from the build's test cache, as
  // the pki tests' keys: tests/pki/test_cache.h).
  static CardKey make() {
    CardKey k{pki::testing::next_cached_rsa_key(), ""};
    k.public_pem = pki::public_key_pem(k.key.get()).value();
    return k;
  }
  // RSA PKCS#1 v1.5 with SHA-256 over `data`, as the card signs.
  std::string sign(const std::string& data) const {
    pki::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    size_t len = 0;
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
    EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()), 1);
    std::string sig(len, '\0');
    EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                             reinterpret_cast<const unsigned char*>(data.data()), data.size()), 1);
    sig.resize(len);
    return sig;
  }
};

}  // namespace jlis::e2e
