// Japanese text normalisation for matching people by name and address.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace jlis {

// True when the text is valid UTF-8.
bool is_valid_utf8(std::string_view text);

// The number of characters (code points) of UTF-8 text; continuation bytes are not counted.
size_t utf8_length(std::string_view text);

// Appends `s` as a JSON string: quoted, with '"', '\\' and the control characters escaped, every
// other byte as it is (the caller gives valid UTF-8).
void append_json_string(std::string& out, std::string_view s);

// The pieces of `text` between `separator`s, empty ones dropped ("a,,b" → {"a", "b"}; "" → {}).
std::vector<std::string> split_nonempty(std::string_view text, char separator);
// `pieces` joined with `separator` between them.
template <class Range>
std::string join(const Range& pieces, std::string_view separator) {
  std::string out;
  for (const auto& p : pieces) {
    if (!out.empty()) out += separator;
    out += p;
  }
  return out;
}

// Folds variant characters to one representative, from a single table (ヶ→ケ, 檮→梼, 﨑/嵜→崎,
// 髙→高, 邊/邉→辺, 濵/濱→浜, 德→徳, 齋→斎, 澤→沢 … about a hundred well-known pairs) and drops
// variation selectors (U+FE00..FE0F, U+E0100..E01EF). Used by both name and address matching. が is
// not folded here (it is a common kana in names); address_key folds it between kanji.
// Ill-formed UTF-8 becomes U+FFFD.
std::string fold_variants(std::string_view text);

// The key under which two spellings of one name match: NFKC, hiragana → katakana, half-width →
// full-width katakana, every kind of space removed, small kana → large (ァ→ア, ッ→ツ, ャ→ヤ …),
// long-vowel marks and dashes (ー, ｰ, －, ―, ‐) removed, ヴ→ブ family folded (ヴァ→バ …), ヂ→ジ,
// ヅ→ズ, ヲ→オ, ヰ→イ, ヱ→エ, variant kanji folded with fold_variants. Idempotent:
// name_key(name_key(x)) == name_key(x). Costs about a microsecond for a typical name.
std::string name_key(std::string_view text);

// Converts a reading to standard furigana: NFKC, hiragana → katakana, half-width → full-width,
// runs of spaces become one full-width space, trimmed. Fails with invalid_argument when anything is
// left that is not katakana, the long-vowel mark or a space (the middle dot ・ of foreign names and
// the iteration marks ヽヾ count as katakana), or when nothing is left.
Result<std::string> normalize_kana(std::string_view text);

// Canonical form of a kanji name for storage: NFKC, runs of spaces of any width become one
// full-width space, trimmed. Fails on empty text, invalid UTF-8 or a control character.
Result<std::string> normalize_name(std::string_view text);

// Address matching key: NFKC, spaces removed, fold_variants, dashes (‐ ‑ ‒ – — ― − －) made "-",
// が/ガ between two kanji made ケ (霞が関 = 霞ヶ関 = 霞ケ関), and kanji/full-width digits in
// 丁目/番地/番/号 left as they are written after NFKC (so "１丁目" and "1丁目" match, "一丁目" does
// not; ReferenceData::parse_address bridges that for 丁目).
std::string address_key(std::string_view text);

}  // namespace jlis
