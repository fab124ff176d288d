// Place names in romaji (ローマ字), as JPKI signature certificates carry them in their subject's
// two localityName values: the prefecture and the municipality ("Tokyo-to", "Kiyose-shi").
//
// The romaji comes from the reading in the reference data (municipalities.csv `furigana`), never
// from the kanji; fourteen readings that the 2016 list writes with a large ゃ, ゅ or ょ where the
// name has a small one (行田 ぎようだ, read ぎょうだ: Gyoda) are corrected from a table in
// romaji.cpp, each only while the list reads exactly so. The Hepburn variant is modified Hepburn without macrons, the form of passports,
// road signs and the published JPKI names:
//   - long vowels are not marked: おう and おお become o, うう becomes u (Tōkyō → Tokyo, Chūō →
//     Chuo, 大阪 おおさか → Osaka, 青梅 おうめ → Ome); えい and いい stay (Eiheiji, Iida). A reading
//     whose お and う belong to different words is shortened too (邑楽 おうら → Ora): the reading
//     alone does not say where words meet;
//   - ん is n, and n' before a vowel or y (新温泉 しんおんせん → Shin'onsen, 南陽 なんよう →
//     Nan'yo); n also before b, m and p (紋別 もんべつ → Monbetsu, 群馬 ぐんま → Gunma), as modified
//     Hepburn writes it (traditional Hepburn's m there is not used);
//   - っ doubles the next consonant, and is t before ch (札幌 Sapporo, 倶知安 くっちゃん → Kutchan);
//   - し shi, ち chi, つ tsu, ふ fu, じ and ぢ ji, ず and づ zu, を o; ゃゅょ after an i-row kana make
//     kya, sha, cha, ja …; ー (a long-vowel mark) is dropped.
//
// Names: the stem capitalised, then the kind of place after a hyphen, chosen by the reading:
//   都 と -to, 府 ふ -fu, 県 けん -ken, 北海道 Hokkaido (no suffix);
//   市 し -shi; 区 く -ku; 町 まち -machi, ちょう -cho; 村 むら -mura, そん -son.
// A ward of a designated city (行政区) is its city's name, a space and the ward's
// ("Sapporo-shi Chuo-ku"), so that every municipality holding residents has a name of its own.
#pragma once

#include <string>
#include <string_view>

#include "common/reference_data.h"
#include "common/status.h"

namespace jlis {

// The Hepburn romaji of a hiragana reading (the rules above), all lower case. Fails with
// invalid_argument on anything that is not hiragana or ー, on an empty reading, and on っ not
// followed by a consonant.
Result<std::string> hepburn(std::string_view hiragana);

// The romaji name of a prefecture or municipality of `reference` (`place` must be one of its
// entries): "Tokyo-to", "Hokkaido", "Kiyose-shi", "Chiyoda-ku", "Sapporo-shi Chuo-ku",
// "Okutama-machi", "Mizuho-machi", "Hinohara-mura", "Kitashiobara-mura". ASCII only (letters,
// '-', '\'' and one space for a ward). Fails with invalid_argument when the reading does not end
// with the reading of the name's last character (市 し …), and with not_found when a ward's city
// is missing from `reference`. Thread-safe.
Result<std::string> romaji_name(const ReferenceData& reference, const Municipality& place);

// A municipality's prefecture and its own name in romaji, for a certificate's two localities.
struct RomajiLocality {
  std::string prefecture;    // "Tokyo-to"
  std::string municipality;  // "Kiyose-shi"
  bool operator==(const RomajiLocality&) const = default;
};
// For the municipality `code` of `reference` (not_found when it is not there).
Result<RomajiLocality> romaji_locality(const ReferenceData& reference, LocalGovernmentCode code);

}  // namespace jlis
