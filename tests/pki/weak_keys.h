// Public keys that break one rule of the key policy each (pki/key_policy.h), as PEM
// SubjectPublicKeyInfo, for tests that post them where a card's key goes. Header-only.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <map>
#include <string>

#include "pki/openssl.h"

namespace jlis::pki::testing {

inline BignumPtr word(unsigned long w) {
  BignumPtr b(BN_new());
  BN_set_word(b.get(), w);
  return b;
}

// A PEM SubjectPublicKeyInfo for any (n, e): OpenSSL encodes without judging.
inline std::string public_pem_of(const BIGNUM* n, const BIGNUM* e) {
  using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpensslDeleter<OSSL_PARAM_BLD_free>>;
  using ParamPtr = std::unique_ptr<OSSL_PARAM, OpensslDeleter<OSSL_PARAM_free>>;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e);
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  EVP_PKEY_fromdata_init(ctx.get());
  EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get());
  EvpPkeyPtr key(raw);
  return key ? public_key_pem(key.get()).value() : "";
}

inline bool has_small_factor(const BIGNUM* n, unsigned bound = 751) {
  for (unsigned p = 2; p <= bound; ++p)
    if (BN_mod_word(n, p) == 0) return true;
  return false;
}

// One key per rule, by the rule's name.
inline std::map<std::string, std::string> weak_keys() {
  std::map<std::string, std::string> out;
  BnCtxPtr ctx(BN_CTX_new());
  auto good = generate_rsa(2048).value();
  BIGNUM* n_raw = nullptr;
  EVP_PKEY_get_bn_param(good.get(), OSSL_PKEY_PARAM_RSA_N, &n_raw);
  BignumPtr good_n(n_raw);
  out["exponent 3"] = public_pem_of(good_n.get(), word(3).get());
  out["1024 bits"] = public_key_pem(generate_rsa(1024)->get()).value();
  {  // 751 * m, m without small factors
    BignumPtr m(BN_new()), n(BN_new());
    do {
      BN_rand(m.get(), 2038, BN_RAND_TOP_TWO, BN_RAND_BOTTOM_ODD);
      BN_copy(n.get(), m.get());
      BN_mul_word(n.get(), 751);
    } while (has_small_factor(m.get()) || BN_num_bits(n.get()) != 2048);
    out["factor 751"] = public_pem_of(n.get(), word(65537).get());
  }
  {  // p * q with q the next prime after p
    BignumPtr p(BN_new()), q(BN_new()), n(BN_new());
    BN_generate_prime_ex(p.get(), 1024, 0, nullptr, nullptr, nullptr);
    BN_copy(q.get(), p.get());
    do BN_add_word(q.get(), 2);
    while (BN_check_prime(q.get(), ctx.get(), nullptr) != 1);
    BN_mul(n.get(), p.get(), q.get(), ctx.get());
    out["Fermat"] = public_pem_of(n.get(), word(65537).get());
  }
  {  // 65537^k mod M + t*M, M the product of the ROCA detector's primes
    BignumPtr m(BN_new()), g(BN_new()), t(BN_new()), n(BN_new());
    BN_one(m.get());
    for (unsigned r : {3u, 5u, 7u, 11u, 13u, 17u, 19u, 23u, 29u, 31u, 37u, 41u, 43u, 47u, 53u, 59u, 61u, 67u, 71u,
                       73u, 79u, 83u, 89u, 97u, 101u, 103u, 107u, 109u, 113u, 127u, 131u, 137u, 139u, 149u, 151u,
                       157u, 163u, 167u})
      BN_mul_word(m.get(), r);
    for (unsigned long k = 1000;; ++k) {
      BN_mod_exp(g.get(), word(65537).get(), word(k).get(), m.get(), ctx.get());
      BN_rand(t.get(), 2048 - BN_num_bits(m.get()), BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
      BN_mul(n.get(), t.get(), m.get(), ctx.get());
      BN_add(n.get(), n.get(), g.get());
      if (BN_num_bits(n.get()) == 2048 && !has_small_factor(n.get())) break;
    }
    out["ROCA"] = public_pem_of(n.get(), word(65537).get());
  }
  return out;
}

}  // namespace jlis::pki::testing
