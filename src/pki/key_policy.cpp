#include "pki/key_policy.h"

#include <array>
#include <utility>
#include <vector>

#include "pki/openssl.h"

namespace jlis::pki {
namespace {

constexpr int kSmallPrimeBound = 751;
// The primes of the ROCA detector (crocs-muni/roca detect.py): its fingerprint test uses these.
constexpr std::array<unsigned, 38> kRocaPrimes = {3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41, 43,
                                                  47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103,
                                                  107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};

std::vector<unsigned> small_primes() {
  std::vector<unsigned> out;
  for (unsigned p = 2; p <= kSmallPrimeBound; ++p) {
    bool prime = true;
    for (unsigned d = 2; d * d <= p; ++d)
      if (p % d == 0) prime = false;
    if (prime) out.push_back(p);
  }
  return out;
}

// For each ROCA prime r, which residues mod r are powers of 65537.
std::vector<std::vector<bool>> roca_subgroups() {
  std::vector<std::vector<bool>> out;
  for (unsigned r : kRocaPrimes) {
    std::vector<bool> in(r, false);
    unsigned x = 1;
    do {
      in[x] = true;
      x = static_cast<unsigned>((static_cast<unsigned long>(x) * (65537 % r)) % r);
    } while (x != 1);
    out.push_back(std::move(in));
  }
  return out;
}

// floor(sqrt(a)) by Newton's iteration, into `root`.
bool isqrt(BIGNUM* root, const BIGNUM* a, BN_CTX* ctx) {
  if (BN_is_zero(a)) return BN_zero(root), true;
  BignumPtr x(BN_new()), y(BN_new());
  if (!x || !y) return false;
  // Start above the root: 2^ceil(bits/2).
  if (BN_set_word(x.get(), 0) != 1 || BN_set_bit(x.get(), (BN_num_bits(a) + 1) / 2) != 1) return false;
  for (;;) {
    // y = (x + a / x) / 2
    if (BN_div(y.get(), nullptr, a, x.get(), ctx) != 1 || BN_add(y.get(), y.get(), x.get()) != 1 ||
        BN_rshift1(y.get(), y.get()) != 1)
      return false;
    if (BN_cmp(y.get(), x.get()) >= 0) break;
    std::swap(x, y);
  }
  return BN_copy(root, x.get()) != nullptr;
}

// True when b2 is a perfect square. Most non-squares are ruled out by their residues mod 64, 63,
// 65 and 11 (about 1 in 120 gets through to the square root).
bool is_square(const BIGNUM* b2, BIGNUM* scratch, BN_CTX* ctx) {
  static const auto kResidues = [] {
    std::array<std::vector<bool>, 4> r;
    const unsigned mods[4] = {64, 63, 65, 11};
    for (int k = 0; k < 4; ++k) {
      r[k].assign(mods[k], false);
      for (unsigned i = 0; i < mods[k]; ++i) r[k][(i * i) % mods[k]] = true;
    }
    return r;
  }();
  const unsigned mods[4] = {64, 63, 65, 11};
  for (int k = 0; k < 4; ++k) {
    const BN_ULONG m = BN_mod_word(b2, mods[k]);
    if (m == static_cast<BN_ULONG>(-1) || !kResidues[k][m]) return false;
  }
  if (!isqrt(scratch, b2, ctx)) return false;
  BignumPtr sq(BN_new());
  return sq && BN_sqr(sq.get(), scratch, ctx) == 1 && BN_cmp(sq.get(), b2) == 0;
}

// Fermat: a = ceil(sqrt(n)); while a^2 - n is not a square, a += 1; bounded by kFermatRounds.
// b2 = a^2 - n is carried from round to round ((a + 1)^2 - n = b2 + 2a + 1): additions only.
Result<bool> fermat_factors(const BIGNUM* n) {
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr a(BN_new()), b2(BN_new()), scratch(BN_new()), step(BN_new());
  if (!ctx || !a || !b2 || !scratch || !step) return openssl_error("allocating numbers");
  if (!isqrt(a.get(), n, ctx.get()) || BN_sqr(b2.get(), a.get(), ctx.get()) != 1)
    return openssl_error("a square root");
  if (BN_cmp(b2.get(), n) < 0) {
    if (BN_add_word(a.get(), 1) != 1 || BN_sqr(b2.get(), a.get(), ctx.get()) != 1) return openssl_error("a square root");
  }
  if (BN_sub(b2.get(), b2.get(), n) != 1) return openssl_error("Fermat's method");
  for (int i = 0; i < kFermatRounds; ++i) {
    if (is_square(b2.get(), scratch.get(), ctx.get())) return true;
    // step = 2a + 1; b2 += step; a += 1
    if (BN_lshift1(step.get(), a.get()) != 1 || BN_add_word(step.get(), 1) != 1 ||
        BN_add(b2.get(), b2.get(), step.get()) != 1 || BN_add_word(a.get(), 1) != 1)
      return openssl_error("Fermat's method");
  }
  return false;
}

}  // namespace

Status check_key_policy(std::string_view rsa_public_key) {
  static const std::vector<unsigned> kSmallPrimes = small_primes();
  static const std::vector<std::vector<bool>> kRocaSubgroups = roca_subgroups();
  auto numbers = rsa_public_numbers(rsa_public_key);
  if (!numbers.ok()) return invalid_argument("the key is not an RSA public key");
  const BIGNUM* n = numbers->n.get();
  const BIGNUM* e = numbers->e.get();
  if (BN_num_bits(n) != 2048) return invalid_argument("the key's modulus is not 2048 bits");
  if (!BN_is_odd(e) || BN_num_bits(e) < 17)  // 65537 = 2^16 + 1 is the smallest odd 17-bit number
    return invalid_argument("the key's public exponent must be odd and at least 65537");
  for (unsigned p : kSmallPrimes) {
    if (BN_mod_word(n, p) == 0)
      return invalid_argument("the key's modulus has a small prime factor (up to " +
                              std::to_string(kSmallPrimeBound) + ")");
  }
  bool roca = true;
  for (size_t i = 0; i < kRocaPrimes.size() && roca; ++i)
    roca = kRocaSubgroups[i][static_cast<size_t>(BN_mod_word(n, kRocaPrimes[i]))];
  if (roca) return invalid_argument("the key has the ROCA fingerprint of a weak Infineon key (CVE-2017-15361)");
  JLIS_ASSIGN_OR_RETURN(bool close, fermat_factors(n));
  if (close) return invalid_argument("the key's modulus factors by Fermat's method (its primes are too close)");
  return Status::ok();
}

}  // namespace jlis::pki
