// Internals of text.cpp shared with reference_data.cpp and the tests. Not a contract for other
// components: use text.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jlis::text_internal {

// UTF-8 → code points; each ill-formed sequence becomes U+FFFD.
std::u32string decode(std::string_view utf8);
std::string encode(std::u32string_view text);

// NFKC as code points. The spacing sound marks ゛゜ (U+309B/309C) are first made the combining
// ones (U+3099/309A), so "ウ゛" and "は゜" compose to ヴ and ぱ instead of NFKC's "ウ ゙".
std::u32string nfkc(std::string_view utf8);

bool is_space(char32_t c);  // every White_Space character plus ZWSP and BOM

// The single table behind fold_variants, sorted by `from`; no `to` is also a `from`.
struct VariantPair {
  char32_t from;
  char32_t to;
};
std::span<const VariantPair> variant_table();

// The per-code-point part of address_key, applied to NFKC'd text. Each input code point gives at
// most one output code point; when `source` is given, (*source)[i] is the index in `nfkc_text` of
// the code point that gave output i, so a prefix of the key maps back to a prefix of the text.
std::u32string address_fold(std::u32string_view nfkc_text, std::vector<uint32_t>* source = nullptr);

}  // namespace jlis::text_internal
