#include "common/text.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>

#include "common/text_internal.h"

namespace jlis {
namespace text_internal {
namespace {

// One UTF-8 sequence at s[i]; false (and *cp = U+FFFD, i advanced by one) when ill-formed:
// truncated, overlong, a surrogate or above U+10FFFF.
bool decode_one(std::string_view s, size_t& i, char32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    ++i;
    return true;
  }
  size_t len = 0;
  char32_t c = 0, min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07, min = 0x10000;
  }
  bool ok = len > 0 && i + len <= s.size();
  for (size_t k = 1; ok && k < len; ++k) {
    ok = (byte(i + k) & 0xC0) == 0x80;
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  if (!ok || c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    *cp = 0xFFFD;
    ++i;
    return false;
  }
  *cp = c;
  i += len;
  return true;
}

const icu::Normalizer2* nfkc_instance() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return instance;
}

const icu::Normalizer2* nfc_instance() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return instance;
}

// Sorted by `from`. Each entry folds a traditional, variant or compatibility form of a character
// used in names and place names to the form in everyday use, so that either spelling matches.
// Escapes are used where an editor might silently change the character (﨑, 𠮷, ｹ).
constexpr VariantPair kVariants[] = {
    {0x30F6, 0x30B1},   // ヶ→ケ (龍ヶ崎/龍ケ崎)
    {0x4E9E, 0x4E9C},   // 亞→亜
    {0x4F86, 0x6765},   // 來→来
    {0x50B3, 0x4F1D},   // 傳→伝
    {0x5152, 0x5150},   // 兒→児
    {0x51A8, 0x5BCC},   // 冨→富
    {0x51DC, 0x51DB},   // 凜→凛
    {0x570B, 0x56FD},   // 國→国
    {0x5713, 0x5186},   // 圓→円
    {0x5718, 0x56E3},   // 團→団
    {0x57DC, 0x91CE},   // 埜→野
    {0x589E, 0x5897},   // 增→増
    {0x58FD, 0x5BFF},   // 壽→寿
    {0x5B78, 0x5B66},   // 學→学
    {0x5BE6, 0x5B9F},   // 實→実
    {0x5BF3, 0x5B9D},   // 寳→宝
    {0x5BF6, 0x5B9D},   // 寶→宝
    {0x5C07, 0x5C06},   // 將→将
    {0x5C08, 0x5C02},   // 專→専
    {0x5C0D, 0x5BFE},   // 對→対
    {0x5CEF, 0x5CF0},   // 峯→峰
    {0x5CFD, 0x5CE1},   // 峽→峡
    {0x5D5C, 0x5D0E},   // 嵜→崎
    {0x5D8B, 0x5CF6},   // 嶋→島
    {0x5D8C, 0x5CF6},   // 嶌→島
    {0x5DBD, 0x5CB3},   // 嶽→岳
    {0x5DD6, 0x5DCC},   // 巖→巌
    {0x5DE2, 0x5DE3},   // 巢→巣
    {0x5EE3, 0x5E83},   // 廣→広
    {0x5F4C, 0x5F25},   // 彌→弥
    {0x5FB7, 0x5FB3},   // 德→徳
    {0x60E0, 0x6075},   // 惠→恵
    {0x6236, 0x6238},   // 戶→戸
    {0x6649, 0x664B},   // 晉→晋
    {0x66FB, 0x6607},   // 曻→昇
    {0x66FE, 0x66FD},   // 曾→曽
    {0x6801, 0x67F3},   // 栁→柳
    {0x6852, 0x6851},   // 桒→桑
    {0x689D, 0x6761},   // 條→条
    {0x69AE, 0x6804},   // 榮→栄
    {0x69C7, 0x69D9},   // 槇→槙
    {0x6A9C, 0x6867},   // 檜→桧
    {0x6AAE, 0x68BC},   // 檮→梼 (檮原町/梼原町)
    {0x6AFB, 0x685C},   // 櫻→桜
    {0x6DF5, 0x6E15},   // 淵→渕
    {0x6DF8, 0x6E05},   // 淸→清
    {0x6DFA, 0x6D45},   // 淺→浅
    {0x6EAA, 0x6E13},   // 溪→渓
    {0x6FA4, 0x6CA2},   // 澤→沢
    {0x6FF1, 0x6D5C},   // 濱→浜
    {0x6FF5, 0x6D5C},   // 濵→浜
    {0x7027, 0x6EDD},   // 瀧→滝
    {0x7028, 0x702C},   // 瀨→瀬
    {0x7576, 0x5F53},   // 當→当
    {0x771E, 0x771F},   // 眞→真
    {0x792A, 0x783A},   // 礪→砺
    {0x79AE, 0x793C},   // 禮→礼
    {0x7A3B, 0x7A32},   // 稻→稲
    {0x7A57, 0x7A42},   // 穗→穂
    {0x7C54, 0x85AE},   // 籔→薮
    {0x7E23, 0x770C},   // 縣→県
    {0x7E69, 0x7E04},   // 繩→縄
    {0x8070, 0x8061},   // 聰→聡
    {0x8207, 0x4E0E},   // 與→与
    {0x8218, 0x9928},   // 舘→館
    {0x838A, 0x8358},   // 莊→荘
    {0x842C, 0x4E07},   // 萬→万
    {0x85CF, 0x8535},   // 藏→蔵
    {0x85DD, 0x82B8},   // 藝→芸
    {0x85EA, 0x85AE},   // 藪→薮
    {0x8606, 0x82A6},   // 蘆→芦
    {0x87A2, 0x86CD},   // 螢→蛍
    {0x8823, 0x86CE},   // 蠣→蛎
    {0x8C50, 0x8C4A},   // 豐→豊
    {0x9089, 0x8FBA},   // 邉→辺
    {0x908A, 0x8FBA},   // 邊→辺
    {0x90A8, 0x6751},   // 邨→村
    {0x9115, 0x90F7},   // 鄕→郷
    {0x9435, 0x9244},   // 鐵→鉄
    {0x95DC, 0x95A2},   // 關→関
    {0x96B1, 0x96A0},   // 隱→隠
    {0x9751, 0x9752},   // 靑→青
    {0x975C, 0x9759},   // 靜→静
    {0x9A52, 0x9A28},   // 驒→騨
    {0x9A5B, 0x99C5},   // 驛→駅
    {0x9AD9, 0x9AD8},   // 髙→高
    {0x9DD7, 0x9D0E},   // 鷗→鴎
    {0x9E7D, 0x5869},   // 鹽→塩
    {0x9EA5, 0x9EA6},   // 麥→麦
    {0x9EC3, 0x9EC4},   // 黃→黄
    {0x9ED1, 0x9ED2},   // 黑→黒
    {0x9F4A, 0x6589},   // 齊→斉
    {0x9F4B, 0x658E},   // 齋→斎
    {0x9F9C, 0x4E80},   // 龜→亀
    {0xFA11, 0x5D0E},   // 﨑→崎 (a CJK compatibility ideograph that NFKC leaves alone)
    {0xFF79, 0x30B1},   // ｹ→ケ (half-width, for text that has not been through NFKC)
    {0x20BB7, 0x5409},  // 𠮷→吉
};

bool is_variation_selector(char32_t c) {
  return (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF);
}

// Returns 0 for a variation selector (dropped: it changes only the glyph), else the folded
// character.
char32_t fold_variant(char32_t c) {
  if (c < 0x30F6) return c;  // fast path: ASCII, kana, punctuation
  if (is_variation_selector(c)) return 0;
  auto it = std::lower_bound(std::begin(kVariants), std::end(kVariants), c,
                             [](const VariantPair& p, char32_t v) { return p.from < v; });
  return it != std::end(kVariants) && it->from == c ? it->to : c;
}

char32_t hiragana_to_katakana(char32_t c) {
  // ぁ..ゖ and the iteration marks ゝゞ sit exactly 0x60 below their katakana.
  return (c >= 0x3041 && c <= 0x3096) || c == 0x309D || c == 0x309E ? c + 0x60 : c;
}

bool is_kanji(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF) || c == 0x3005;  // 々
}

// Dash-like characters that people type for ー or for the hyphen in 1-1 (－ and ｰ are already
// - and ー after NFKC).
bool is_dash(char32_t c) {
  return c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212 || c == 0xFE63;
}

// The katakana folds of name_key for U+30A0..30FF: small → large, ヂ→ジ, ヅ→ズ, ヰ→イ, ヱ→エ,
// ヲ→オ, the ヴ family → バ行. Zero means "unchanged".
constexpr std::array<char32_t, 0x60> kKatakanaFolds = [] {
  std::array<char32_t, 0x60> t{};
  auto set = [&t](char32_t from, char32_t to) { t[from - 0x30A0] = to; };
  set(U'ァ', U'ア'), set(U'ィ', U'イ'), set(U'ゥ', U'ウ'), set(U'ェ', U'エ'), set(U'ォ', U'オ');
  set(U'ッ', U'ツ'), set(U'ャ', U'ヤ'), set(U'ュ', U'ユ'), set(U'ョ', U'ヨ'), set(U'ヮ', U'ワ');
  set(U'ヵ', U'カ'), set(U'ヶ', U'ケ');
  set(U'ヂ', U'ジ'), set(U'ヅ', U'ズ'), set(U'ヰ', U'イ'), set(U'ヱ', U'エ'), set(U'ヲ', U'オ');
  set(U'ヴ', U'ブ'), set(U'ヷ', U'バ'), set(U'ヸ', U'ビ'), set(U'ヹ', U'ベ'), set(U'ヺ', U'ボ');
  return t;
}();

// The small katakana of the Ainu extension ㇰ..ㇿ, made large.
constexpr char32_t kSmallKatakanaExt[16] = {U'ク', U'シ', U'ス', U'ト', U'ヌ', U'ハ', U'ヒ', U'フ',
                                            U'ヘ', U'ホ', U'ム', U'ラ', U'リ', U'ル', U'レ', U'ロ'};

char32_t name_fold(char32_t c) {
  c = hiragana_to_katakana(c);
  if (c >= 0x30A0 && c <= 0x30FF) {
    char32_t f = kKatakanaFolds[c - 0x30A0];
    return f != 0 ? f : c;
  }
  if (c >= 0x31F0 && c <= 0x31FF) return kSmallKatakanaExt[c - 0x31F0];
  return fold_variant(c);
}

// ヴ followed by a small vowel is one syllable of the バ行: ヴァ→バ, ヴィ→ビ, ヴゥ→ブ, ヴェ→ベ,
// ヴォ→ボ.
char32_t vu_syllable(char32_t small_vowel) {
  switch (small_vowel) {
    case U'ァ':
      return U'バ';
    case U'ィ':
      return U'ビ';
    case U'ゥ':
      return U'ブ';
    case U'ェ':
      return U'ベ';
    case U'ォ':
      return U'ボ';
    default:
      return 0;
  }
}

std::u32string name_key_pass(std::u32string_view in) {
  std::u32string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char32_t c = hiragana_to_katakana(in[i]);
    if (is_space(c) || is_dash(c) || c == U'ー') continue;
    if (c == U'ヴ' && i + 1 < in.size()) {
      if (char32_t v = vu_syllable(hiragana_to_katakana(in[i + 1]))) {
        out.push_back(v);
        ++i;
        continue;
      }
    }
    // A sound mark that NFKC could not attach (it followed a removed space or dash, or a small
    // kana that is now large): attach it here so that the key is stable under a second pass.
    if ((c == 0x3099 || c == 0x309A) && !out.empty() && nfc_instance() != nullptr) {
      UChar32 composed =
          nfc_instance()->composePair(static_cast<UChar32>(out.back()), static_cast<UChar32>(c));
      if (composed >= 0) {
        out.back() = name_fold(static_cast<char32_t>(composed));
        continue;
      }
    }
    if (char32_t f = name_fold(c)) out.push_back(f);
  }
  return out;
}

// True when some character of `key` might combine with or reorder against what precedes it, so
// that removing characters may have left text that NFKC would change.
bool may_interact(std::u32string_view key) {
  const icu::Normalizer2* n = nfkc_instance();
  if (n == nullptr) return false;
  return std::any_of(key.begin(), key.end(), [n](char32_t c) {
    return c >= 0x300 && !n->hasBoundaryBefore(static_cast<UChar32>(c));
  });
}

// Runs of spaces → one U+3000, trimmed: the storage form of names and readings.
void collapse_spaces(std::u32string_view in, std::u32string* out) {
  bool pending_space = false;
  for (char32_t c : in) {
    if (is_space(c)) {
      pending_space = !out->empty();
      continue;
    }
    if (pending_space) out->push_back(0x3000);
    pending_space = false;
    out->push_back(c);
  }
}

}  // namespace

std::u32string decode(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    char32_t c;
    decode_one(utf8, i, &c);
    out.push_back(c);
  }
  return out;
}

std::string encode(std::u32string_view text) {
  std::string out;
  out.reserve(text.size() * 3);
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::u32string nfkc(std::string_view utf8) {
  // fromUTF8 replaces ill-formed sequences with U+FFFD, as decode does.
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  s.findAndReplace(icu::UnicodeString(static_cast<UChar32>(0x309B)),
                   icu::UnicodeString(static_cast<UChar32>(0x3099)));
  s.findAndReplace(icu::UnicodeString(static_cast<UChar32>(0x309C)),
                   icu::UnicodeString(static_cast<UChar32>(0x309A)));
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString normalized;
  if (const icu::Normalizer2* n = nfkc_instance()) normalized = n->normalize(s, status);
  const icu::UnicodeString& src = nfkc_instance() != nullptr && U_SUCCESS(status) ? normalized : s;
  std::u32string out;
  out.reserve(static_cast<size_t>(src.length()));
  for (int32_t i = 0; i < src.length();) {
    UChar32 c = src.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

std::span<const VariantPair> variant_table() { return kVariants; }

std::u32string address_fold(std::u32string_view in, std::vector<uint32_t>* source) {
  std::u32string out;
  out.reserve(in.size());
  if (source != nullptr) source->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char32_t c = in[i];
    if (is_space(c)) continue;
    if (is_dash(c)) {
      c = '-';
    } else if ((c == U'が' || c == U'ガ') && i > 0 && i + 1 < in.size() && is_kanji(in[i - 1]) &&
               is_kanji(in[i + 1])) {
      c = U'ケ';  // 霞が関 / 霞ヶ関 / 霞ケ関: between kanji in a place name が is the ヶ
    } else {
      c = fold_variant(c);
      if (c == 0) continue;
    }
    out.push_back(c);
    if (source != nullptr) source->push_back(static_cast<uint32_t>(i));
  }
  return out;
}

}  // namespace text_internal

using namespace text_internal;

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[static_cast<unsigned char>(c) >> 4];
          out += kHex[c & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    if (!decode_one(text, i, &c)) return false;
  }
  return true;
}

std::vector<std::string> split_nonempty(std::string_view text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string fold_variants(std::string_view text) {
  std::u32string cps = decode(text);
  std::u32string out;
  out.reserve(cps.size());
  for (char32_t c : cps) {
    if (char32_t f = fold_variant(c)) out.push_back(f);
  }
  return encode(out);
}

std::string name_key(std::string_view text) {
  std::u32string key = name_key_pass(nfkc(text));
  // Removing spaces and dashes can bring together characters that NFKC would compose or reorder;
  // repeat until stable so that name_key is idempotent. Ordinary names never loop.
  for (int round = 0; round < 4 && may_interact(key); ++round) {
    std::u32string again = name_key_pass(nfkc(encode(key)));
    if (again == key) break;
    key = std::move(again);
  }
  return encode(key);
}

Result<std::string> normalize_kana(std::string_view text) {
  if (!is_valid_utf8(text)) return invalid_argument("reading is not valid UTF-8");
  std::u32string cps = nfkc(text);
  for (char32_t& c : cps) c = hiragana_to_katakana(c);
  std::u32string out;
  collapse_spaces(cps, &out);
  if (out.empty()) return invalid_argument("reading is empty");
  for (char32_t c : out) {
    // ァ..ヺ, ・ (foreign names), ー, ヽヾ, and the space between family and given name.
    bool ok = (c >= 0x30A1 && c <= 0x30FE) || c == 0x3000;
    if (!ok) return invalid_argument("reading has a character that is not katakana");
  }
  return encode(out);
}

Result<std::string> normalize_name(std::string_view text) {
  if (!is_valid_utf8(text)) return invalid_argument("name is not valid UTF-8");
  std::u32string cps = nfkc(text);
  std::u32string out;
  collapse_spaces(cps, &out);
  if (out.empty()) return invalid_argument("name is empty");
  for (char32_t c : out) {
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
      return invalid_argument("name has a control character");
  }
  return encode(out);
}

std::string address_key(std::string_view text) { return encode(address_fold(nfkc(text))); }

}  // namespace jlis
