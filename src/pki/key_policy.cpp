#include "pki/key_policy.h"

#include <array>
#include <bitset>
#include <utility>
#include <vector>

#include "pki/openssl.h"

namespace jlis::pki {
namespace {

constexpr unsigned kSmallPrimeBound = 751;
// The primes of the ROCA detector (crocs-muni/roca detect.py): its fingerprint test uses these.
constexpr std::array<unsigned, 38> kRocaPrimes = {3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41, 43,
                                                  47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103,
                                                  107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
// Moduli that sieve the Fermat rounds: a square is a square residue modulo each. About half the
// residues modulo an odd prime are squares, 12 of 64 modulo 64; a non-square passes all of these
// with a probability near 10^-6, so the big-number square root is almost never reached.
constexpr std::array<unsigned, 21> kSquareSieve = {64, 3,  5,  7,  11, 13, 17, 19, 23, 29, 31,
                                                   37, 41, 43, 47, 53, 59, 61, 67, 71, 73};

using Rounds = std::bitset<kFermatRounds>;

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

// residues[m] = x mod m for every m of `moduli` (each at most kSmallPrimeBound). One BN_mod_word
// per group of moduli whose product stays below 2^32 (OpenSSL's single-division path), then
// machine remainders: a few dozen passes over the number instead of one per modulus.
bool residues(const BIGNUM* x, const std::vector<unsigned>& moduli, std::array<unsigned, kSmallPrimeBound + 1>& out) {
  for (size_t i = 0; i < moduli.size();) {
    unsigned long product = 1;
    size_t end = i;
    while (end < moduli.size() && product * moduli[end] < (1ul << 32)) product *= moduli[end++];
    const BN_ULONG r = BN_mod_word(x, product);
    if (r == static_cast<BN_ULONG>(-1)) return false;
    for (; i < end; ++i) out[moduli[i]] = static_cast<unsigned>(r % moduli[i]);
  }
  return true;
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

// For each sieve modulus m, which residues mod m are squares.
std::vector<std::vector<bool>> square_residues() {
  std::vector<std::vector<bool>> out;
  for (unsigned m : kSquareSieve) {
    std::vector<bool> in(m, false);
    for (unsigned long i = 0; i < m; ++i) in[i * i % m] = true;
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

// The rounds i (a + i = a, a + 1, ...) in which (a + i)^2 - n is a square residue modulo m, from
// a mod m and n mod m; b = (a + i)^2 - n mod m is carried ((a + i + 1)^2 - n = b + 2(a + i) + 1).
Rounds square_rounds(unsigned a, unsigned n, unsigned m, const std::vector<bool>& squares) {
  Rounds out;
  unsigned b = static_cast<unsigned>((static_cast<unsigned long>(a) * a + m - n) % m);
  for (int i = 0; i < kFermatRounds; ++i) {
    out[i] = squares[b];
    b += 2 * a + 1;  // < 3m
    if (b >= m) b -= m;
    if (b >= m) b -= m;
    if (++a == m) a = 0;
  }
  return out;
}

// Fermat: a = ceil(sqrt(n)); is a^2 - n a square? if not, a += 1; for kFermatRounds values of a.
// The rounds are sieved on small residues first (square_rounds); only a round that passes every
// modulus is checked with big numbers.
Result<bool> fermat_factors(const BIGNUM* n, const std::array<unsigned, kSmallPrimeBound + 1>& n_mod) {
  static const std::vector<std::vector<bool>> kSquares = square_residues();
  static const std::vector<unsigned> kSieve(kSquareSieve.begin(), kSquareSieve.end());
  BnCtxPtr ctx(BN_CTX_new());
  BignumPtr a(BN_new()), b2(BN_new()), root(BN_new()), square(BN_new());
  if (!ctx || !a || !b2 || !root || !square) return openssl_error("allocating numbers");
  if (!isqrt(a.get(), n, ctx.get()) || BN_sqr(b2.get(), a.get(), ctx.get()) != 1)
    return openssl_error("a square root");
  if (BN_cmp(b2.get(), n) < 0 && BN_add_word(a.get(), 1) != 1) return openssl_error("a square root");
  std::array<unsigned, kSmallPrimeBound + 1> a_mod{};
  if (!residues(a.get(), kSieve, a_mod)) return openssl_error("Fermat's method");
  Rounds candidates;
  candidates.set();
  for (size_t k = 0; k < kSquareSieve.size() && candidates.any(); ++k) {
    const unsigned m = kSquareSieve[k];
    candidates &= square_rounds(a_mod[m], n_mod[m], m, kSquares[k]);
  }
  for (int i = 0; i < kFermatRounds; ++i) {
    if (!candidates[i]) continue;
    // b2 = (a + i)^2 - n is a square when its root squares back to it.
    if (BN_copy(root.get(), a.get()) == nullptr || BN_add_word(root.get(), static_cast<BN_ULONG>(i)) != 1 ||
        BN_sqr(b2.get(), root.get(), ctx.get()) != 1 || BN_sub(b2.get(), b2.get(), n) != 1 ||
        !isqrt(root.get(), b2.get(), ctx.get()) || BN_sqr(square.get(), root.get(), ctx.get()) != 1)
      return openssl_error("Fermat's method");
    if (BN_cmp(square.get(), b2.get()) == 0) return true;
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
  std::array<unsigned, kSmallPrimeBound + 1> n_mod{};  // n mod m for each small prime m, and 64
  if (!residues(n, kSmallPrimes, n_mod) || !residues(n, {64}, n_mod)) return openssl_error("reducing the modulus");
  for (unsigned p : kSmallPrimes) {
    if (n_mod[p] == 0)
      return invalid_argument("the key's modulus has a small prime factor (up to " +
                              std::to_string(kSmallPrimeBound) + ")");
  }
  bool roca = true;
  for (size_t i = 0; i < kRocaPrimes.size() && roca; ++i) roca = kRocaSubgroups[i][n_mod[kRocaPrimes[i]]];
  if (roca) return invalid_argument("the key has the ROCA fingerprint of a weak Infineon key (CVE-2017-15361)");
  JLIS_ASSIGN_OR_RETURN(bool close, fermat_factors(n, n_mod));
  if (close) return invalid_argument("the key's modulus factors by Fermat's method (its primes are too close)");
  return Status::ok();
}

}  // namespace jlis::pki
