#include "numbering/ff1.h"

#include <openssl/bn.h>
#include <openssl/evp.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <bit>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

namespace jlis {
namespace {

using u128 = unsigned __int128;
constexpr int kRounds = 10;

static_assert(std::endian::native == std::endian::little, "byte order: see load_be64");

// AES-ECB of `blocks` 16-byte blocks; in and out may be the same buffer. Returns false if OpenSSL
// fails (a bool, not a Status: this is the hot loop, and a Status carries a std::string).
[[nodiscard]] bool aes(EVP_CIPHER_CTX* ctx, const uint8_t* in, uint8_t* out, size_t blocks) {
  if (blocks > INT_MAX / 16) return false;
  const int len = static_cast<int>(blocks * 16);
  int out_len = 0;
  return EVP_EncryptUpdate(ctx, out, &out_len, in, len) == 1 && out_len == len;
}
Status aes_failed() { return internal_error("ff1: AES encryption failed"); }

uint64_t load_be64(const uint8_t* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return __builtin_bswap64(x);  // little-endian host
}

// Writes the 16-byte block whose big-endian halves are hi and lo, with one 16-byte store where
// possible: AES reads the block with one 16-byte load, which cannot be forwarded from two smaller
// stores still in flight and would stall on the critical path.
void store_block(uint64_t hi, uint64_t lo, uint8_t* p) {
#if defined(__SSE2__)
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                   _mm_set_epi64x(static_cast<long long>(__builtin_bswap64(lo)),
                                  static_cast<long long>(__builtin_bswap64(hi))));
#else
  hi = __builtin_bswap64(hi);
  lo = __builtin_bswap64(lo);
  std::memcpy(p, &hi, 8);
  std::memcpy(p + 8, &lo, 8);
#endif
}

// radix^k if it is at most 2^64, else 0. Stops as soon as it overflows, so k may be huge.
u128 pow_upto_2_64(uint32_t radix, size_t k) {
  constexpr u128 kLimit = u128{1} << 64;
  u128 p = 1;
  for (size_t i = 0; i < k; ++i) {
    p *= radix;
    if (p > kLimit) return 0;
  }
  return p;
}

// The digits of x as exactly out.size() radix digits, most significant first (STR^m_radix).
void digits_of(uint64_t x, uint32_t radix, std::span<uint16_t> out) {
  if (radix == 10) {  // the common case: a constant divisor compiles to a multiplication
    for (size_t i = out.size(); i-- > 0;) {
      out[i] = static_cast<uint16_t>(x % 10);
      x /= 10;
    }
    return;
  }
  for (size_t i = out.size(); i-- > 0;) {
    out[i] = static_cast<uint16_t>(x % radix);
    x /= radix;
  }
}

// The byte layout of Q, from spec steps 3, 4 and 6.i:
//   Q = T || [0]^((-t-b-1) mod 16) || [i] || [NUM(B or A)]^b
// Q's leading whole blocks hold only tweak and padding, so they are the same in every round; they
// are folded into the CBC-MAC state once (Ff1::prf_prefix). The rest of Q (the tail) starts with
// whatever tweak bytes did not fill a block, then padding, [i] at i_pos, and the number in the last
// b bytes.
struct Layout {
  size_t t, b;
  size_t d;             // bytes of S used: 4 * ceil(b / 4) + 4
  size_t const_blocks;  // whole blocks of Q before the block holding [i]
  size_t tail_len;      // bytes of Q from there to the end (a multiple of 16)
  size_t i_pos;         // offset of [i] within the tail
  size_t s_blocks;      // ceil(d / 16): AES blocks making up S

  Layout(size_t t_, size_t b_) : t(t_), b(b_) {
    d = 4 * ((b + 3) / 4) + 4;
    const size_t pad = (16 - (t + b + 1) % 16) % 16;
    const size_t q_len = t + pad + 1 + b;
    const_blocks = (t + pad) / 16;
    tail_len = q_len - 16 * const_blocks;
    i_pos = t + pad - 16 * const_blocks;
    s_blocks = (d + 15) / 16;
  }

  // Whether the tail holds any tweak bytes (else its template is all zero).
  bool tail_has_tweak() const { return 16 * const_blocks < t; }

  // The tail with the tweak bytes and padding filled in and zeros where [i] and the number go.
  void fill_tail_template(std::span<const uint8_t> tweak, uint8_t* tail) const {
    for (size_t k = 0; k < tail_len; ++k) {
      const size_t q = 16 * const_blocks + k;
      tail[k] = q < t ? tweak[q] : 0;
    }
  }
};

// One round's S (spec steps 6.ii-6.iii) in the general case: R = the CBC-MAC continued from
// `state` over the tail, S = R || CIPH(R xor [1]^16) || ... ; s holds 16 * s_blocks bytes.
Status round_s(EVP_CIPHER_CTX* ctx, const std::array<uint8_t, 16>& state, const uint8_t* tail,
               size_t tail_len, uint8_t* s, size_t s_blocks) {
  std::array<uint8_t, 16> r = state;
  for (size_t off = 0; off < tail_len; off += 16) {
    for (size_t k = 0; k < 16; ++k) r[k] ^= tail[off + k];
    if (!aes(ctx, r.data(), r.data(), 1)) return aes_failed();
  }
  for (size_t j = 0; j < s_blocks; ++j) {
    uint8_t* blk = s + 16 * j;
    for (size_t k = 0; k < 16; ++k) blk[k] = r[k];
    // xor [j]^16: j big-endian into the block's last 8 bytes (j is far below 2^64).
    for (size_t k = 0; k < 8; ++k) blk[15 - k] ^= static_cast<uint8_t>(uint64_t{j} >> (8 * k));
  }
  if (s_blocks > 1 && !aes(ctx, s + 16, s + 16, s_blocks - 1)) return aes_failed();
  return Status::ok();
}

struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};

}  // namespace

void Ff1::CtxFree::operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }

Ff1::Ff1(CtxPtr ctx, uint32_t radix) : ctx_(std::move(ctx)), radix_(radix) {
  // Least n >= 2 with radix^n >= 1,000,000 (SP 800-38G Rev. 1, section 5.2).
  uint64_t p = uint64_t{radix} * radix;
  min_length_ = 2;
  while (p < 1000000) {
    p *= radix;
    ++min_length_;
  }
}

Ff1::Ff1(Ff1&&) noexcept = default;
Ff1& Ff1::operator=(Ff1&&) noexcept = default;
Ff1::~Ff1() = default;

Result<Ff1> Ff1::create(std::span<const uint8_t> key, uint32_t radix) {
  if (radix < 2 || radix > 65536) return invalid_argument("ff1: radix must be in 2..65536");
  const EVP_CIPHER* cipher = nullptr;
  switch (key.size()) {
    case 16: cipher = EVP_aes_128_ecb(); break;
    case 24: cipher = EVP_aes_192_ecb(); break;
    case 32: cipher = EVP_aes_256_ecb(); break;
    default: return invalid_argument("ff1: AES key must be 16, 24 or 32 bytes");
  }
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return internal_error("ff1: EVP_CIPHER_CTX_new failed");
  if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
    return internal_error("ff1: AES key setup failed");
  }
  return Ff1(std::move(ctx), radix);
}

Result<Ff1> Ff1::clone() const {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CIPHER_CTX_copy(ctx.get(), ctx_.get()) != 1) {
    return internal_error("ff1: copying the AES context failed");
  }
  Ff1 copy(std::move(ctx), radix_);
  copy.force_bignum_ = force_bignum_;
  copy.shape_ = shape_;
  return copy;
}

Status Ff1::encrypt(std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                    std::span<uint16_t> out) {
  return run(false, in, tweak, out);
}

Status Ff1::decrypt(std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                    std::span<uint16_t> out) {
  return run(true, in, tweak, out);
}

Status Ff1::run(bool decrypt, std::span<const uint16_t> in, std::span<const uint8_t> tweak,
                std::span<uint16_t> out) {
  const size_t n = in.size();
  if (n < min_length_) return invalid_argument("ff1: input shorter than the minimum length");
  if (n > kMaxLength) return invalid_argument("ff1: input too long");
  if (out.size() != n) return invalid_argument("ff1: output size differs from input size");
  if (tweak.size() > kMaxLength) return invalid_argument("ff1: tweak too long");
  for (uint16_t digit : in) {
    if (digit >= radix_) return invalid_argument("ff1: digit not below the radix");
  }
  if (shape_.n != n || shape_.t != tweak.size()) JLIS_RETURN_IF_ERROR(set_shape(n, tweak.size()));
  if (shape_.native && !force_bignum_) return run_native(decrypt, in, tweak, out);
  return run_bignum(decrypt, in, tweak, out);
}

Status Ff1::set_shape(size_t n, size_t t) {
  shape_ = Shape{};
  const size_t u = n / 2, v = n - u;
  // P = [1][2][1] [radix]^3 [10] [u mod 256] [n]^4 [t]^4 (spec step 5).
  Block p = {1, 2, 1};
  for (int k = 0; k < 3; ++k) p[3 + k] = static_cast<uint8_t>(radix_ >> (16 - 8 * k));
  p[6] = 10;
  p[7] = static_cast<uint8_t>(u % 256);
  for (int k = 0; k < 4; ++k) {
    p[8 + k] = static_cast<uint8_t>(n >> (24 - 8 * k));
    p[12 + k] = static_cast<uint8_t>(t >> (24 - 8 * k));
  }
  Block p_mac;
  if (!aes(ctx_.get(), p.data(), p_mac.data(), 1)) return aes_failed();

  const u128 radix_u = pow_upto_2_64(radix_, u), radix_v = pow_upto_2_64(radix_, v);
  shape_.native = radix_v != 0;
  if (shape_.native) {
    shape_.max_u = static_cast<uint64_t>(radix_u - 1);
    shape_.max_v = static_cast<uint64_t>(radix_v - 1);
  }
  shape_.p_mac = p_mac;
  shape_.t = t;
  shape_.n = n;  // last: marks the cache valid
  return Status::ok();
}

Status Ff1::prf_prefix(std::span<const uint8_t> tweak, size_t blocks, Block& state) {
  state = shape_.p_mac;
  for (size_t j = 0; j < blocks; ++j) {
    for (size_t k = 0; k < 16; ++k) {
      const size_t q = 16 * j + k;
      state[k] ^= q < tweak.size() ? tweak[q] : 0;
    }
    if (!aes(ctx_.get(), state.data(), state.data(), 1)) return aes_failed();
  }
  return Status::ok();
}

// Every NUM_radix value is below radix^v <= 2^64, so b <= 8, d <= 12 and y = NUM(S) < 2^96 fits in
// 128 bits; the tail of Q is exactly one block (b + 1 <= 16) and S is the first d bytes of R. So a
// round is one AES call and a little integer arithmetic, and nothing is allocated.
Status Ff1::run_native(bool decrypt, std::span<const uint16_t> in,
                       std::span<const uint8_t> tweak, std::span<uint16_t> out) {
  const size_t n = in.size(), u = n / 2;
  const u128 mod_u = u128{shape_.max_u} + 1, mod_v = u128{shape_.max_v} + 1;
  const auto b = static_cast<size_t>((std::bit_width(shape_.max_v) + 7) / 8);
  const Layout lay(tweak.size(), b);

  // The round's PRF input block is state xor (tweak tail, padding, [i], [NUM]^b). Only [i] and the
  // number change between rounds, so the rest is folded into `base` once. The block is kept as two
  // big-endian 64-bit halves: the number is then simply xored into the low half.
  Block state;
  JLIS_RETURN_IF_ERROR(prf_prefix(tweak, lay.const_blocks, state));
  uint64_t base_hi = load_be64(state.data()), base_lo = load_be64(state.data() + 8);
  if (lay.tail_has_tweak()) {
    Block tail;
    lay.fill_tail_template(tweak, tail.data());
    base_hi ^= load_be64(tail.data());
    base_lo ^= load_be64(tail.data() + 8);
  }

  auto num = [&](std::span<const uint16_t> digits) {
    uint64_t x = 0;
    for (uint16_t digit : digits) x = x * radix_ + digit;
    return x;
  };
  uint64_t a = num(in.first(u)), bnum = num(in.subspan(u));
  for (int r = 0; r < kRounds; ++r) {
    const int i = decrypt ? kRounds - 1 - r : r;
    uint64_t hi = base_hi, lo = base_lo ^ (decrypt ? a : bnum);  // [NUM]^b: the last b bytes
    if (b < 8) {  // [i] is byte 15 - b
      lo ^= uint64_t(i) << (8 * b);
    } else {
      hi ^= uint64_t(i);
    }
    Block blk;
    store_block(hi, lo, blk.data());
    if (!aes(ctx_.get(), blk.data(), blk.data(), 1)) return aes_failed();  // blk = R
    const uint64_t r_hi = load_be64(blk.data());
    const u128 m = (i % 2 == 0) ? mod_u : mod_v;
    // y = NUM(S) for S = the first d bytes of R. When d == 8, y < 2^64 (radix 10: up to 19
    // digits) and a 64-bit division is enough.
    u128 y_mod;
    if (lay.d == 8 && m <= UINT64_MAX) {
      y_mod = r_hi % static_cast<uint64_t>(m);
    } else {
      const u128 y = lay.d == 8 ? u128{r_hi}
                                : (u128{r_hi} << 32) | (load_be64(blk.data() + 8) >> 32);
      y_mod = y % m;
    }
    if (!decrypt) {  // c = (NUM(A) + y) mod radix^m; A = B; B = C
      u128 c = a + y_mod;
      if (c >= m) c -= m;
      a = bnum;
      bnum = static_cast<uint64_t>(c);
    } else {  // c = (NUM(B) - y) mod radix^m; B = A; A = C
      const u128 c = bnum >= y_mod ? bnum - y_mod : bnum + m - y_mod;
      bnum = a;
      a = static_cast<uint64_t>(c);
    }
  }
  digits_of(a, radix_, out.first(u));
  digits_of(bnum, radix_, out.subspan(u));
  return Status::ok();
}

// For long inputs. Values are kept as numbers across rounds (STR^m_radix then NUM_radix is the
// identity on values below radix^m), so digits are converted only at both ends.
Status Ff1::run_bignum(bool decrypt, std::span<const uint16_t> in,
                       std::span<const uint8_t> tweak, std::span<uint16_t> out) {
  const size_t n = in.size(), u = n / 2, v = n - u;
  const Status bn_failed = internal_error("ff1: BIGNUM operation failed");
  std::unique_ptr<BN_CTX, BnCtxFree> bctx(BN_CTX_new());
  if (!bctx) return bn_failed;
  BN_CTX_start(bctx.get());
  struct End {
    BN_CTX* c;
    ~End() { BN_CTX_end(c); }
  } end{bctx.get()};
  BIGNUM* a = BN_CTX_get(bctx.get());
  BIGNUM* bnum = BN_CTX_get(bctx.get());
  BIGNUM* c = BN_CTX_get(bctx.get());
  BIGNUM* y = BN_CTX_get(bctx.get());
  BIGNUM* mod_u = BN_CTX_get(bctx.get());
  BIGNUM* mod_v = BN_CTX_get(bctx.get());
  BIGNUM* tmp = BN_CTX_get(bctx.get());
  if (tmp == nullptr) return bn_failed;  // once one BN_CTX_get fails, all later ones do

  auto num = [&](std::span<const uint16_t> digits, BIGNUM* x) {
    BN_zero(x);
    for (uint16_t digit : digits) {
      if (BN_mul_word(x, radix_) != 1 || BN_add_word(x, digit) != 1) return false;
    }
    return true;
  };
  auto power = [&](size_t k, BIGNUM* result) {  // uses tmp and y as scratch
    return BN_set_word(tmp, radix_) == 1 && BN_set_word(y, k) == 1 &&
           BN_exp(result, tmp, y, bctx.get()) == 1;
  };
  if (!num(in.first(u), a) || !num(in.subspan(u), bnum) || !power(u, mod_u) ||
      !power(v, mod_v) || BN_copy(tmp, mod_v) == nullptr || BN_sub_word(tmp, 1) != 1) {
    return bn_failed;
  }
  // b = ceil(ceil(v * log2(radix)) / 8), exactly: ceil(v * log2(radix)) is the bit length of
  // radix^v - 1.
  const auto b = static_cast<size_t>((BN_num_bits(tmp) + 7) / 8);
  const Layout lay(tweak.size(), b);
  Block state;
  JLIS_RETURN_IF_ERROR(prf_prefix(tweak, lay.const_blocks, state));
  std::vector<uint8_t> tail(lay.tail_len);
  lay.fill_tail_template(tweak, tail.data());
  std::vector<uint8_t> s(16 * lay.s_blocks);

  for (int r = 0; r < kRounds; ++r) {
    const int i = decrypt ? kRounds - 1 - r : r;
    tail[lay.i_pos] = static_cast<uint8_t>(i);
    if (BN_bn2binpad(decrypt ? a : bnum, tail.data() + lay.i_pos + 1, static_cast<int>(b)) !=
        static_cast<int>(b)) {
      return bn_failed;
    }
    JLIS_RETURN_IF_ERROR(
        round_s(ctx_.get(), state, tail.data(), tail.size(), s.data(), lay.s_blocks));
    if (BN_bin2bn(s.data(), static_cast<int>(lay.d), y) == nullptr) return bn_failed;
    const BIGNUM* m = (i % 2 == 0) ? mod_u : mod_v;
    if (!decrypt) {  // c = (NUM(A) + y) mod radix^m; A = B; B = C
      if (BN_mod_add(c, a, y, m, bctx.get()) != 1) return bn_failed;
      std::swap(a, bnum);  // a = old B
      std::swap(bnum, c);  // bnum = C; c is scratch again
    } else {  // c = (NUM(B) - y) mod radix^m; B = A; A = C
      if (BN_mod_sub(c, bnum, y, m, bctx.get()) != 1) return bn_failed;
      std::swap(bnum, a);  // bnum = old A
      std::swap(a, c);     // a = C; c is scratch again
    }
  }
  auto to_digits = [&](BIGNUM* x, std::span<uint16_t> digits) {
    for (size_t k = digits.size(); k-- > 0;) {
      const BN_ULONG rem = BN_div_word(x, radix_);
      if (rem == static_cast<BN_ULONG>(-1)) return false;
      digits[k] = static_cast<uint16_t>(rem);
    }
    return true;
  };
  if (!to_digits(a, out.first(u)) || !to_digits(bnum, out.subspan(u))) return bn_failed;
  return Status::ok();
}

}  // namespace jlis
