// The key policy (pki/key_policy.h) and the hand-written RSA public-key reader it is fed by
// (pki/openssl.h rsa_public_key_from_pem): each rule with a key that breaks only that rule, and
// the boundary on the good side where the rule has one.
#include "pki/key_policy.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki/openssl.h"

namespace jlis::pki {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpensslDeleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpensslDeleter<OSSL_PARAM_free>>;

BignumPtr bn(unsigned long w) {
  BignumPtr b(BN_new());
  BN_set_word(b.get(), w);
  return b;
}

// A PEM SubjectPublicKeyInfo for any (n, e): OpenSSL encodes without judging.
std::string pem_of(const BIGNUM* n, const BIGNUM* e) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  EXPECT_TRUE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e) == 1);
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()), 1);
  EvpPkeyPtr key(raw);
  return public_key_pem(key.get()).value();
}

BignumPtr modulus_of(EVP_PKEY* key) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
  return BignumPtr(n);
}

// The policy's verdict on a PEM key, as issuance reaches it: read, then checked.
Status verdict(const std::string& pem) {
  auto der = rsa_public_key_from_pem(pem);
  if (!der.ok()) return der.status();
  return check_key_policy(*der);
}

bool has_factor_up_to(const BIGNUM* n, unsigned bound) {
  for (unsigned p = 2; p <= bound; ++p)
    if (BN_mod_word(n, p) == 0) return true;
  return false;
}

// p * m with exactly 2048 bits, m chosen without a factor up to 751 (so p is the only small one).
BignumPtr with_factor(unsigned p) {
  BignumPtr m(BN_new()), n(BN_new());
  const int bits = 2048 - BN_num_bits(bn(p).get());
  for (;;) {
    EXPECT_EQ(BN_rand(m.get(), bits, BN_RAND_TOP_TWO, BN_RAND_BOTTOM_ODD), 1);
    if (has_factor_up_to(m.get(), 751)) continue;
    BN_copy(n.get(), m.get());
    BN_mul_word(n.get(), p);
    if (BN_num_bits(n.get()) == 2048) return n;
  }
}

TEST(RsaPublicKeyReader, AnswersTheRsaPublicKeyOpenSslWrites) {
  auto key = generate_rsa(2048).value();
  auto der = rsa_public_key_from_pem(public_key_pem(key.get()).value());
  ASSERT_TRUE(der.ok()) << der.status().message();
  unsigned char* out = nullptr;
  const int len = i2d_PublicKey(key.get(), &out);  // RSAPublicKey (PKCS#1) for an RSA key
  ASSERT_GT(len, 0);
  EXPECT_EQ(*der, std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len)));
  OPENSSL_free(out);
  // The two DER forms: the SPKI is OpenSSL's i2d_PUBKEY.
  auto both = rsa_public_key_der_from_pem(public_key_pem(key.get()).value()).value();
  unsigned char* spki = nullptr;
  const int spki_len = i2d_PUBKEY(key.get(), &spki);
  EXPECT_EQ(both.spki, std::string(reinterpret_cast<char*>(spki), static_cast<size_t>(spki_len)));
  OPENSSL_free(spki);
  auto numbers = rsa_public_numbers(*der).value();
  EXPECT_EQ(BN_cmp(numbers.n.get(), modulus_of(key.get()).get()), 0);
  EXPECT_TRUE(BN_is_word(numbers.e.get(), 65537));
}

TEST(RsaPublicKeyReader, RefusesWhatIsNotAnRsa2048KeyInPem) {
  auto key = generate_rsa(2048).value();
  const std::string pem = public_key_pem(key.get()).value();
  EXPECT_FALSE(rsa_public_key_from_pem(pem, 3072).ok());                      // wrong size
  EXPECT_FALSE(rsa_public_key_from_pem(public_key_pem(generate_rsa(1024)->get()).value()).ok());
  EXPECT_FALSE(rsa_public_key_from_pem("").ok());
  EXPECT_FALSE(rsa_public_key_from_pem("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n").ok());
  std::string other_label = pem;
  other_label.replace(other_label.find("PUBLIC KEY"), 10, "RSA PUBLIC KEY");
  EXPECT_FALSE(rsa_public_key_from_pem(other_label).ok());
  // An EC key: a different AlgorithmIdentifier.
  EvpPkeyPtr ec(EVP_EC_gen("P-256"));
  EXPECT_FALSE(rsa_public_key_from_pem(public_key_pem(ec.get()).value()).ok());
  // Truncated and trailing bytes in the DER.
  std::string spki = rsa_public_key_der_from_pem(pem).value().spki;
  EXPECT_FALSE(rsa_public_key_der_from_spki(spki.substr(0, spki.size() - 1)).ok());
  EXPECT_FALSE(rsa_public_key_der_from_spki(spki + std::string(1, '\0')).ok());
  for (size_t cut = 0; cut < spki.size(); cut += 7) EXPECT_FALSE(rsa_public_key_der_from_spki(spki.substr(0, cut)).ok());
  // An even exponent.
  EXPECT_FALSE(rsa_public_key_from_pem(pem_of(modulus_of(key.get()).get(), bn(65536).get())).ok());
  EXPECT_TRUE(rsa_public_key_from_pem(pem).ok());
}

// DER by hand, one part of the SubjectPublicKeyInfo wrong at a time: each check of the reader
// (src/pki/openssl.cpp rsa_public_key_der_from_spki) refuses its own defect, whatever the rest.
std::string tlv(unsigned char tag, const std::string& content) {
  std::string out(1, static_cast<char>(tag));
  const size_t n = content.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else if (n < 0x100) {
    out += "\x81";
    out += static_cast<char>(n);
  } else {
    out += "\x82";
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  return out + content;
}

TEST(RsaPublicKeyReader, RefusesEachMalformedPartOfTheDer) {
  const std::string alg("\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00", 15);
  const std::string modulus = std::string(1, '\0') + "\xc1" + std::string(254, '\x5a') + "\x0b";  // 2048 bits
  const std::string f4("\x01\x00\x01", 3);
  auto rsa = [](const std::string& n, const std::string& e) { return tlv(0x30, tlv(0x02, n) + tlv(0x02, e)); };
  auto spki = [&](const std::string& bit_string) { return tlv(0x30, alg + tlv(0x03, bit_string)); };
  auto accepted = [](const std::string& der) { return rsa_public_key_der_from_spki(der, 2048).ok(); };
  const std::string good_key = rsa(modulus, f4);

  ASSERT_TRUE(accepted(spki(std::string(1, '\0') + good_key)));  // the well-formed one, for contrast
  // The BIT STRING: unused bits, empty, not a BIT STRING, something after it.
  EXPECT_FALSE(accepted(spki(std::string(1, '\x01') + good_key)));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0'))));
  EXPECT_FALSE(accepted(tlv(0x30, alg + tlv(0x04, std::string(1, '\0') + good_key))));
  EXPECT_FALSE(accepted(tlv(0x30, alg + tlv(0x03, std::string(1, '\0') + good_key) + std::string("\x05\x00", 2))));
  // The RSAPublicKey inside: not a SEQUENCE, a third INTEGER, a byte after it, an OCTET STRING modulus.
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + tlv(0x31, tlv(0x02, modulus) + tlv(0x02, f4)))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + tlv(0x30, tlv(0x02, modulus) + tlv(0x02, f4) + tlv(0x02, f4)))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + good_key + std::string(1, '\0'))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + tlv(0x30, tlv(0x04, modulus) + tlv(0x02, f4)))));
  // The modulus: negative (no zero sign byte), 2047 bits.
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + rsa(modulus.substr(1), f4))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + rsa(std::string(1, '\0') + "\x41" + modulus.substr(2), f4))));
  // The exponent: empty, negative, a superfluous leading zero, longer than 8 bytes; 8 bytes is read.
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + rsa(modulus, ""))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + rsa(modulus, std::string("\x81\x01", 2)))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + rsa(modulus, std::string(1, '\0') + f4))));
  EXPECT_FALSE(accepted(spki(std::string(1, '\0') + rsa(modulus, "\x01" + std::string(7, '\0') + "\x01"))));
  EXPECT_TRUE(accepted(spki(std::string(1, '\0') + rsa(modulus, "\x01" + std::string(6, '\0') + "\x01"))));
}

TEST(KeyPolicy, AcceptsAGeneratedKey) {
  for (int i = 0; i < 3; ++i) {
    auto key = generate_rsa(2048).value();
    EXPECT_TRUE(verdict(public_key_pem(key.get()).value()).is_ok());
  }
}

TEST(KeyPolicy, RefusesAnExponentBelow65537) {
  auto n = modulus_of(generate_rsa(2048)->get());
  for (unsigned long e : {3ul, 17ul, 257ul, 65535ul}) {
    Status s = verdict(pem_of(n.get(), bn(e).get()));
    EXPECT_EQ(s.code(), Code::invalid_argument) << e;
    EXPECT_NE(s.message().find("exponent"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(verdict(pem_of(n.get(), bn(65537).get())).is_ok());
  EXPECT_TRUE(verdict(pem_of(n.get(), bn(65539).get())).is_ok());
}

TEST(KeyPolicy, RefusesAModulusThatIsNot2048Bits) {
  auto small = generate_rsa(1024).value();
  EXPECT_EQ(check_key_policy(rsa_public_key_from_pem(public_key_pem(small.get()).value(), 1024).value()).message(),
            "the key's modulus is not 2048 bits");
}

TEST(KeyPolicy, RefusesAPrimeFactorUpTo751AndNotAbove) {
  for (unsigned p : {3u, 743u, 751u}) {
    auto n = with_factor(p);
    Status s = verdict(pem_of(n.get(), bn(65537).get()));
    EXPECT_NE(s.message().find("small prime factor"), std::string::npos) << p << ": " << s.message();
  }
  auto n = with_factor(757);  // the next prime: not the policy's business
  ASSERT_FALSE(has_factor_up_to(n.get(), 751));
  EXPECT_TRUE(verdict(pem_of(n.get(), bn(65537).get())).is_ok());
}

TEST(KeyPolicy, RefusesPrimesCloseEnoughForFermat) {
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr p(BN_new()), q(BN_new()), n(BN_new());
  ASSERT_EQ(BN_generate_prime_ex(p.get(), 1024, 0, nullptr, nullptr, nullptr), 1);
  BN_copy(q.get(), p.get());
  do BN_add_word(q.get(), 2);
  while (BN_check_prime(q.get(), ctx.get(), nullptr) != 1);
  BN_mul(n.get(), p.get(), q.get(), ctx.get());
  ASSERT_EQ(BN_num_bits(n.get()), 2048);
  Status s = verdict(pem_of(n.get(), bn(65537).get()));
  EXPECT_NE(s.message().find("Fermat"), std::string::npos) << s.message();
}

// p and the next prime after p + 2^gap_bits: Fermat needs about 2^(2*gap_bits - 1027) rounds.
BignumPtr primes_apart(int gap_bits) {
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr p(BN_new()), q(BN_new()), n(BN_new());
  EXPECT_EQ(BN_generate_prime_ex(p.get(), 1024, 0, nullptr, nullptr, nullptr), 1);
  BN_copy(q.get(), p.get());
  BignumPtr gap(BN_new());
  BN_set_bit(gap.get(), gap_bits);
  BN_add(q.get(), q.get(), gap.get());
  BN_set_bit(q.get(), 0);
  while (BN_check_prime(q.get(), ctx.get(), nullptr) != 1) BN_add_word(q.get(), 2);
  BN_mul(n.get(), p.get(), q.get(), ctx.get());
  return n;
}

TEST(KeyPolicy, FermatIsBoundedByItsRounds) {
  // A few dozen rounds (well inside kFermatRounds = 100): found.
  Status close = verdict(pem_of(primes_apart(516).get(), bn(65537).get()));
  EXPECT_NE(close.message().find("Fermat"), std::string::npos) << close.message();
  // Hundreds of rounds: beyond the bound, and not the policy's business.
  EXPECT_TRUE(verdict(pem_of(primes_apart(520).get(), bn(65537).get())).is_ok());
}

// floor(sqrt(a)), the test's own (Newton's iteration).
BignumPtr floor_sqrt(const BIGNUM* a) {
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr x(BN_new()), y(BN_new());
  BN_set_bit(x.get(), (BN_num_bits(a) + 1) / 2);
  for (;;) {
    BN_div(y.get(), nullptr, a, x.get(), ctx.get());
    BN_add(y.get(), y.get(), x.get());
    BN_rshift1(y.get(), y.get());
    if (BN_cmp(y.get(), x.get()) >= 0) return x;
    std::swap(x, y);
  }
}

// n = c^2 - d^2 = (c - d)(c + d), 2048 bits without a factor up to 751, where c = a0 + round and
// a0 = ceil(sqrt(n)): Fermat's method, starting at a0, finds it in round `round` (counted from 0).
BignumPtr fermat_in_round(unsigned round) {
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr a0(BN_new()), c(BN_new()), d2(BN_new()), n(BN_new()), t(BN_new());
  for (;;) {
    BN_rand(a0.get(), 1024, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
    BN_copy(c.get(), a0.get());
    BN_add_word(c.get(), round);
    // d^2 >= c^2 - a0^2 = round * (2 a0 + round): the least such d keeps n above (a0 - 1)^2.
    BN_lshift1(d2.get(), a0.get());
    BN_add_word(d2.get(), round);
    BN_mul_word(d2.get(), round);
    BignumPtr d = floor_sqrt(d2.get());
    BN_sqr(t.get(), d.get(), ctx.get());
    if (BN_cmp(t.get(), d2.get()) < 0) BN_add_word(d.get(), 1);
    BN_sqr(t.get(), d.get(), ctx.get());
    BN_sqr(n.get(), c.get(), ctx.get());
    BN_sub(n.get(), n.get(), t.get());
    if (BN_num_bits(n.get()) != 2048 || has_factor_up_to(n.get(), 751)) continue;
    // The construction's premise, checked: a0 = ceil(sqrt(n)).
    BignumPtr r = floor_sqrt(n.get());
    BN_sqr(t.get(), r.get(), ctx.get());
    if (BN_cmp(t.get(), n.get()) < 0) BN_add_word(r.get(), 1);
    EXPECT_EQ(BN_cmp(r.get(), a0.get()), 0);
    return n;
  }
}

TEST(KeyPolicy, FermatRunsExactlyKFermatRounds) {
  static_assert(kFermatRounds == 100);
  for (unsigned round : {0u, 1u, 2u, 37u, 64u, 98u, 99u}) {
    Status s = verdict(pem_of(fermat_in_round(round).get(), bn(65537).get()));
    EXPECT_NE(s.message().find("Fermat"), std::string::npos) << "round " << round << ": " << s.message();
  }
  for (unsigned round : {100u, 101u, 150u})
    EXPECT_TRUE(verdict(pem_of(fermat_in_round(round).get(), bn(65537).get())).is_ok()) << "round " << round;
}

TEST(KeyPolicy, RefusesTheRocaFingerprint) {
  // n = 65537^k mod M + t*M, M the product of the detector's primes: the structure of RSALib's
  // primes (k*M + 65537^a mod M) survives in their product.
  const unsigned primes[] = {3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41, 43,  47,  53,  59,  61,  67,  71,
                             73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr m(BN_new()), g(BN_new()), t(BN_new()), n(BN_new());
  BN_one(m.get());
  for (unsigned r : primes) BN_mul_word(m.get(), r);
  for (int tries = 0;; ++tries) {
    ASSERT_LT(tries, 10000);
    BignumPtr k = bn(1000 + static_cast<unsigned long>(tries));
    BN_mod_exp(g.get(), bn(65537).get(), k.get(), m.get(), ctx.get());
    BN_rand(t.get(), 2048 - BN_num_bits(m.get()), BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
    BN_mul(n.get(), t.get(), m.get(), ctx.get());
    BN_add(n.get(), n.get(), g.get());
    if (BN_num_bits(n.get()) == 2048 && !has_factor_up_to(n.get(), 751)) break;
  }
  Status s = verdict(pem_of(n.get(), bn(65537).get()));
  EXPECT_NE(s.message().find("ROCA"), std::string::npos) << s.message();
  // Moving n by a small even step moves its residues off the subgroup: no fingerprint.
  int fingerprinted = 0;
  for (unsigned long shift = 2; shift < 40; shift += 2) {
    BignumPtr other(BN_dup(n.get()));
    BN_add_word(other.get(), shift);
    if (has_factor_up_to(other.get(), 751)) continue;
    if (verdict(pem_of(other.get(), bn(65537).get())).message().find("ROCA") != std::string::npos) ++fingerprinted;
  }
  EXPECT_EQ(fingerprinted, 0);
}

}  // namespace
}  // namespace jlis::pki
