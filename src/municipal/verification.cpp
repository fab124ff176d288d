#include "municipal/verification.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

#include "pki/openssl.h"

namespace jlis::municipal {
namespace {

constexpr std::string_view kPrefix = "JLIS1:";
constexpr std::string_view kDigestDomain = "OpenJLIS certificate document content 1";
// Longer numbers would push the QR code to version 9, whose modules a 100-dpi rendering no longer
// resolves reliably.
constexpr size_t kMaxIssuanceNumber = 32;
constexpr size_t kDigestSize = 32;
// The signature as r ‖ s, 32 bytes each (IEEE P1363): fixed size, 8 bytes shorter than DER.
constexpr int kScalar = 32;
constexpr size_t kSignature = 2 * kScalar;

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, pki::OpensslDeleter<ECDSA_SIG_free>>;

// The canonical encoding content_digest hashes: every string as a tag byte, a 32-bit big-endian
// length and its bytes, so that no two different documents encode the same.
class Canonical {
 public:
  void tag(uint8_t t) { out_ += static_cast<char>(t); }
  void u32(uint64_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_ += static_cast<char>((v >> shift) & 0xff);
  }
  void str(uint8_t t, std::string_view s) {
    tag(t);
    u32(s.size());
    out_.append(s);
  }
  void number(uint8_t t, double v) {  // sizes in mm: to the hundredth, as an integer
    tag(t);
    u32(static_cast<uint64_t>(static_cast<int64_t>(v * 100 + (v < 0 ? -0.5 : 0.5))));
  }
  void ruby(const RubyText& r) {
    str('t', r.text);
    str('f', r.furigana);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// Base45 (RFC 9285): two bytes in three characters of the QR code's alphanumeric set, which the
// QR code stores in 5.5 bits a character (base64 would need byte mode: 8 bits a character, a
// third more modules).
constexpr std::string_view kBase45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

std::string base45_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 1) / 2 * 3);
  for (size_t i = 0; i < data.size(); i += 2) {
    if (i + 1 < data.size()) {
      uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(data[i])) * 256 +
                   static_cast<unsigned char>(data[i + 1]);
      for (int k = 0; k < 3; ++k, n /= 45) out += kBase45[n % 45];
    } else {
      uint32_t n = static_cast<unsigned char>(data[i]);
      for (int k = 0; k < 2; ++k, n /= 45) out += kBase45[n % 45];
    }
  }
  return out;
}

// Each text decodes to one byte string and each byte string encodes to one text: a group worth
// more than its bytes can hold is refused, so a changed character never decodes to the same bytes.
Result<std::string> base45_decode(std::string_view text) {
  static constexpr auto kValue = [] {
    std::array<int8_t, 256> v{};
    v.fill(-1);
    for (size_t i = 0; i < kBase45.size(); ++i) v[static_cast<unsigned char>(kBase45[i])] = static_cast<int8_t>(i);
    return v;
  }();
  const auto bad = [] { return invalid_argument("verification code: not base45"); };
  if (text.size() % 3 == 1) return bad();
  std::string out;
  out.reserve(text.size() / 3 * 2 + 1);
  for (size_t i = 0; i < text.size(); i += 3) {
    const size_t group = std::min<size_t>(3, text.size() - i);
    uint32_t n = 0, weight = 1;
    for (size_t k = 0; k < group; ++k, weight *= 45) {
      const int8_t v = kValue[static_cast<unsigned char>(text[i + k])];
      if (v < 0) return bad();
      n += static_cast<uint32_t>(v) * weight;
    }
    if (group == 3) {
      if (n > 0xffff) return bad();
      out += static_cast<char>(n >> 8);
      out += static_cast<char>(n & 0xff);
    } else {
      if (n > 0xff) return bad();
      out += static_cast<char>(n);
    }
  }
  return out;
}

// invalid_argument unless `key` is an EC key on P-256.
Status check_p256(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_is_a(key, "EC") != 1) return invalid_argument("the issuance key is not an EC key");
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 || std::string_view(group, len) != "prime256v1")
    return invalid_argument("the issuance key is not on P-256");
  return Status::ok();
}

// Everything the signature covers but the prefix: the fields of the payload before the signature.
std::string signed_fields(std::string_view issuance_number, const LocalGovernmentCode& code, Date date,
                          std::string_view digest) {
  std::string out;
  out += static_cast<char>(issuance_number.size());
  out.append(issuance_number);
  const uint32_t body = code.body();
  out += static_cast<char>(3);
  out += static_cast<char>((body >> 16) & 0xff);
  out += static_cast<char>((body >> 8) & 0xff);
  out += static_cast<char>(body & 0xff);
  out += static_cast<char>((date.year() >> 8) & 0xff);
  out += static_cast<char>(date.year() & 0xff);
  out += static_cast<char>(date.month());
  out += static_cast<char>(date.day());
  out.append(digest);
  return out;
}

}  // namespace

std::string content_digest(const Document& d) {
  Canonical c;
  c.str('D', kDigestDomain);
  c.str('T', d.title);
  c.str('C', d.issuer.code.str());
  c.str('N', d.issuer.name);
  c.str('M', d.issuer.mayor_title);
  c.str('m', d.issuer.mayor_name);
  c.str('S', d.issuer.seal_text);
  c.str('I', d.issued_on.to_iso());
  c.str('#', d.issuance_number);
  c.str('V', d.certification);
  c.str('P', d.subject);
  c.tag('B');
  c.u32(d.blocks.size());
  for (const Block& block : d.blocks) {
    if (const auto* f = std::get_if<FieldTable>(&block)) {
      c.tag('F');
      c.number('w', f->label_width_mm);
      c.u32(f->rows.size());
      for (const auto& row : f->rows) {
        c.str('l', row.label);
        c.ruby(row.value);
      }
    } else if (const auto* g = std::get_if<GridTable>(&block)) {
      c.tag('G');
      c.u32(g->headers.size());
      for (const auto& h : g->headers) c.str('h', h);
      c.u32(g->column_weights.size());
      for (double w : g->column_weights) c.number('w', w);
      c.u32(g->rows.size());
      for (const auto& row : g->rows) {
        c.u32(row.size());
        for (const auto& cell : row) c.ruby(cell);
      }
    } else if (const auto* i = std::get_if<ImageBox>(&block)) {
      c.tag('J');
      c.str('c', i->caption);
      c.number('x', i->width_mm);
      c.number('y', i->height_mm);
      c.str('p', sha256(i->png));
    } else if (const auto* n = std::get_if<Note>(&block)) {
      c.tag('n');
      c.str('a', std::string(1, static_cast<char>('0' + static_cast<int>(n->align))));
      c.str('t', n->text);
    }
  }
  return sha256(c.bytes());
}

Result<VerificationCode> make_verification_code(const Document& document, EVP_PKEY* private_key) {
  JLIS_RETURN_IF_ERROR(check_p256(private_key));
  if (document.issuance_number.empty() || document.issuance_number.size() > kMaxIssuanceNumber)
    return invalid_argument("the issuance number must be 1 to 32 bytes");
  if (!LocalGovernmentCode::parse(document.issuer.code.str()).ok())
    return invalid_argument("the issuer has no 地方公共団体コード");
  const std::string fields = signed_fields(document.issuance_number, document.issuer.code, document.issued_on,
                                           content_digest(document));
  const std::string message = std::string(kPrefix) + fields;

  pki::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, private_key) != 1)
    return pki::openssl_error("verification code: starting the signature");
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, message.size()) != 1)
    return pki::openssl_error("verification code: sizing the signature");
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data, message.size()) != 1)
    return pki::openssl_error("verification code: signing");
  signature.resize(size);
  // DER to r ‖ s.
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size())));
  if (!sig) return pki::openssl_error("verification code: reading the signature");
  std::string raw(kSignature, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kScalar) != kScalar ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kScalar, kScalar) != kScalar)
    return pki::openssl_error("verification code: writing the signature");
  return VerificationCode{std::string(kPrefix) + base45_encode(fields + raw)};
}

Result<VerifiedIssuance> verify(std::string_view payload, EVP_PKEY* public_key) {
  return verify(payload, [public_key](const LocalGovernmentCode&) -> Result<EVP_PKEY*> { return public_key; });
}

Result<VerifiedIssuance> verify(std::string_view payload, const KeyOf& key_of) {
  if (!payload.starts_with(kPrefix)) return invalid_argument("not a verification code");
  JLIS_ASSIGN_OR_RETURN(std::string bytes, base45_decode(payload.substr(kPrefix.size())));
  const auto malformed = [] { return invalid_argument("verification code: malformed"); };

  size_t at = 0;
  const auto take = [&](size_t n) -> std::string_view {
    std::string_view out = std::string_view(bytes).substr(at, n);
    at += n;
    return out;
  };
  if (bytes.empty()) return malformed();
  const size_t number_len = static_cast<unsigned char>(bytes[at++]);
  if (number_len == 0 || number_len > kMaxIssuanceNumber || bytes.size() < at + number_len + 1) return malformed();
  VerifiedIssuance out;
  out.issuance_number = std::string(take(number_len));
  if (static_cast<unsigned char>(bytes[at++]) != 3 || bytes.size() != at + 3 + 4 + kDigestSize + kSignature)
    return malformed();
  const auto u8 = [&] { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at++])); };
  uint32_t body = u8() << 16;
  body |= u8() << 8;
  body |= u8();
  if (body > 99999) return malformed();
  char digits[8];
  std::snprintf(digits, sizeof digits, "%05u%d", body, LocalGovernmentCode::check_digit(body));
  auto code = LocalGovernmentCode::parse(digits);
  if (!code.ok()) return malformed();
  out.municipality = *code;
  int year = static_cast<int>(u8() << 8);
  year |= static_cast<int>(u8());
  const int month = static_cast<int>(u8());
  const int day = static_cast<int>(u8());
  auto date = Date::from_ymd(year, month, day);
  if (!date.ok()) return malformed();
  out.issued_on = *date;
  out.content_digest = std::string(take(kDigestSize));
  // r ‖ s to DER, for OpenSSL.
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  pki::BignumPtr r(BN_bin2bn(raw, kScalar, nullptr)), s(BN_bin2bn(raw + kScalar, kScalar, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1)
    return pki::openssl_error("verification code: reading the signature");
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return pki::openssl_error("verification code: encoding the signature");
  const std::string signature(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);

  const std::string message = std::string(kPrefix) + bytes.substr(0, at);
  JLIS_ASSIGN_OR_RETURN(EVP_PKEY* public_key, key_of(out.municipality));
  JLIS_RETURN_IF_ERROR(check_p256(public_key));
  pki::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key) != 1)
    return pki::openssl_error("verification code: starting the verification");
  const int verdict = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                       message.size());
  ERR_clear_error();  // a signature that is not DER leaves a reason: it is simply not a good one
  if (verdict != 1) return unauthenticated("the verification code's signature does not verify");
  return out;
}

}  // namespace jlis::municipal
