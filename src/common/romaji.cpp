#include "common/romaji.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <vector>

namespace jlis {
namespace {

// The table: each hiragana of the gojūon with its dakuten and handakuten forms, and ん, っ and the
// small ゃゅょ (which the rules below join to the kana before them).
struct Kana {
  std::string_view kana, romaji;
};
constexpr std::array kTable = {
    Kana{"あ", "a"},   Kana{"い", "i"},   Kana{"う", "u"},   Kana{"え", "e"},   Kana{"お", "o"},
    Kana{"か", "ka"},  Kana{"き", "ki"},  Kana{"く", "ku"},  Kana{"け", "ke"},  Kana{"こ", "ko"},
    Kana{"が", "ga"},  Kana{"ぎ", "gi"},  Kana{"ぐ", "gu"},  Kana{"げ", "ge"},  Kana{"ご", "go"},
    Kana{"さ", "sa"},  Kana{"し", "shi"}, Kana{"す", "su"},  Kana{"せ", "se"},  Kana{"そ", "so"},
    Kana{"ざ", "za"},  Kana{"じ", "ji"},  Kana{"ず", "zu"},  Kana{"ぜ", "ze"},  Kana{"ぞ", "zo"},
    Kana{"た", "ta"},  Kana{"ち", "chi"}, Kana{"つ", "tsu"}, Kana{"て", "te"},  Kana{"と", "to"},
    Kana{"だ", "da"},  Kana{"ぢ", "ji"},  Kana{"づ", "zu"},  Kana{"で", "de"},  Kana{"ど", "do"},
    Kana{"な", "na"},  Kana{"に", "ni"},  Kana{"ぬ", "nu"},  Kana{"ね", "ne"},  Kana{"の", "no"},
    Kana{"は", "ha"},  Kana{"ひ", "hi"},  Kana{"ふ", "fu"},  Kana{"へ", "he"},  Kana{"ほ", "ho"},
    Kana{"ば", "ba"},  Kana{"び", "bi"},  Kana{"ぶ", "bu"},  Kana{"べ", "be"},  Kana{"ぼ", "bo"},
    Kana{"ぱ", "pa"},  Kana{"ぴ", "pi"},  Kana{"ぷ", "pu"},  Kana{"ぺ", "pe"},  Kana{"ぽ", "po"},
    Kana{"ま", "ma"},  Kana{"み", "mi"},  Kana{"む", "mu"},  Kana{"め", "me"},  Kana{"も", "mo"},
    Kana{"や", "ya"},  Kana{"ゆ", "yu"},  Kana{"よ", "yo"},
    Kana{"ら", "ra"},  Kana{"り", "ri"},  Kana{"る", "ru"},  Kana{"れ", "re"},  Kana{"ろ", "ro"},
    Kana{"わ", "wa"},  Kana{"ゐ", "i"},   Kana{"ゑ", "e"},   Kana{"を", "o"},   Kana{"ゔ", "vu"},
    Kana{"ゃ", "ya"},  Kana{"ゅ", "yu"},  Kana{"ょ", "yo"},
};
constexpr std::string_view kN = "ん", kSokuon = "っ", kLongMark = "ー";

bool is_small_y(std::string_view kana) { return kana == "ゃ" || kana == "ゅ" || kana == "ょ"; }
bool is_vowel(char c) { return c == 'a' || c == 'i' || c == 'u' || c == 'e' || c == 'o'; }

// The next character of UTF-8 text (hiragana are three bytes each; anything else is refused).
Result<std::string_view> next_char(std::string_view text, size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  const size_t length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  if (at + length > text.size()) return invalid_argument("a reading is not valid UTF-8");
  return text.substr(at, length);
}

// One syllable: the romaji of a kana, or of a kana with a small ゃゅょ after it.
struct Syllable {
  std::string romaji;
  bool n = false, sokuon = false;  // ん, っ (resolved against the next syllable)
};

Result<std::vector<Syllable>> syllables(std::string_view hiragana) {
  std::vector<Syllable> out;
  for (size_t at = 0; at < hiragana.size();) {
    JLIS_ASSIGN_OR_RETURN(std::string_view c, next_char(hiragana, at));
    at += c.size();
    if (c == kN) {
      out.push_back({"n", true, false});
      continue;
    }
    if (c == kSokuon) {
      out.push_back({"", false, true});
      continue;
    }
    if (c == kLongMark) continue;
    const Kana* found = nullptr;
    for (const Kana& k : kTable)
      if (k.kana == c) found = &k;
    if (found == nullptr) return invalid_argument("a reading holds a character that is not hiragana");
    if (is_small_y(c)) {
      // ゃゅょ join an i-row kana before them: き+ゃ kya, し+ゃ sha, ち+ゃ cha, じ+ゃ ja.
      if (out.empty() || out.back().n || out.back().sokuon || out.back().romaji.size() < 2 ||
          out.back().romaji.back() != 'i')
        return invalid_argument("a small ゃ, ゅ or ょ must follow a kana of the i row");
      std::string& r = out.back().romaji;
      r.pop_back();  // ki → k
      if (r == "sh" || r == "ch" || r == "j") r += found->romaji.substr(1);  // sh + a
      else r += found->romaji;                                               // k + ya
      continue;
    }
    out.push_back({std::string(found->romaji)});
  }
  return out;
}

// Drops the unmarked long vowels: ou and oo become o, uu becomes u.
std::string shorten_long_vowels(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (!out.empty() && ((out.back() == 'o' && (c == 'u' || c == 'o')) || (out.back() == 'u' && c == 'u'))) continue;
    out += c;
  }
  return out;
}

std::string capitalised(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text;
}

// The kinds of place by the last character of the name and the end of its reading.
struct Suffix {
  std::string_view kanji, reading, romaji;
};
constexpr std::array kSuffixes = {
    Suffix{"都", "と", "to"},     Suffix{"府", "ふ", "fu"},     Suffix{"県", "けん", "ken"},
    Suffix{"市", "し", "shi"},    Suffix{"区", "く", "ku"},     Suffix{"町", "まち", "machi"},
    Suffix{"町", "ちょう", "cho"}, Suffix{"村", "むら", "mura"}, Suffix{"村", "そん", "son"},
};

bool ends_with(std::string_view text, std::string_view end) {
  return text.size() >= end.size() && text.substr(text.size() - end.size()) == end;
}

// "Kiyose-shi" from 清瀬市 read きよせし.
Result<std::string> name_with_suffix(std::string_view name, std::string_view reading) {
  for (const Suffix& s : kSuffixes) {
    if (!ends_with(name, s.kanji) || !ends_with(reading, s.reading)) continue;
    const std::string_view stem = reading.substr(0, reading.size() - s.reading.size());
    if (stem.empty()) break;
    JLIS_ASSIGN_OR_RETURN(std::string romaji, hepburn(stem));
    return capitalised(std::move(romaji)) + "-" + std::string(s.romaji);
  }
  return invalid_argument("the reading of a place name does not end with the reading of its kind (市 し, 町 まち or ちょう …)");
}

// Readings of the 2016 code list that write a small ゃ, ゅ or ょ large (行田 ぎようだ for
// ぎょうだ), each checked against the municipality's own romaji: used only while the list reads
// exactly so. Large ゃゅょ after an i-row kana are mostly right (清瀬 きよせ, 千代田 ちよだ), so
// this cannot be a rule.
struct Correction {
  std::string_view code, listed, reading;
};
constexpr std::array kCorrections = {
    Correction{"064289", "しようないまち", "しょうないまち"},      // 庄内町 Shonai-machi
    Correction{"104213", "なかのじようまち", "なかのじょうまち"},  // 中之条町 Nakanojo-machi
    Correction{"112062", "ぎようだし", "ぎょうだし"},              // 行田市 Gyoda-shi
    Correction{"112119", "ほんじようし", "ほんじょうし"},          // 本庄市 Honjo-shi
    Correction{"112160", "はにゆうし", "はにゅうし"},              // 羽生市 Hanyu-shi
    Correction{"124036", "くじゆうくりまち", "くじゅうくりまち"},  // 九十九里町 Kujukuri-machi
    Correction{"124435", "おんじゆくまち", "おんじゅくまち"},      // 御宿町 Onjuku-machi
    Correction{"124630", "きよなんまち", "きょなんまち"},          // 鋸南町 Kyonan-machi
    Correction{"253847", "りゆうおうちょう", "りゅうおうちょう"},  // 竜王町 Ryuo-cho
    Correction{"272299", "しじようなわてし", "しじょうなわてし"},  // 四條畷市 Shijonawate-shi
    Correction{"294268", "こうりようちょう", "こうりょうちょう"},  // 広陵町 Koryo-cho
    Correction{"332089", "そうじやし", "そうじゃし"},              // 総社市 Soja-shi
    Correction{"335860", "しんじようそん", "しんじょうそん"},      // 新庄村 Shinjo-son
    Correction{"473260", "ちやたんちょう", "ちゃたんちょう"},      // 北谷町 Chatan-cho
};

std::string_view reading_of(const Municipality& place) {
  const std::string code = place.code.str();
  for (const Correction& c : kCorrections)
    if (c.code == code && c.listed == place.furigana) return c.reading;
  return place.furigana;
}

}  // namespace

Result<std::string> hepburn(std::string_view hiragana) {
  JLIS_ASSIGN_OR_RETURN(auto parts, syllables(hiragana));
  if (parts.empty()) return invalid_argument("an empty reading");
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Syllable* next = i + 1 < parts.size() ? &parts[i + 1] : nullptr;
    if (parts[i].sokuon) {
      // っ doubles the consonant that follows (t before ch).
      if (next == nullptr || next->n || next->sokuon || next->romaji.empty() || is_vowel(next->romaji[0]))
        return invalid_argument("a small っ must come before a consonant");
      out += next->romaji.compare(0, 2, "ch") == 0 ? 't' : next->romaji[0];
      continue;
    }
    out += parts[i].romaji;
    // ん before a vowel or y: n', so that it is not read as the next syllable's n.
    if (parts[i].n && next != nullptr && !next->romaji.empty() && (is_vowel(next->romaji[0]) || next->romaji[0] == 'y'))
      out += '\'';
  }
  return shorten_long_vowels(out);
}

Result<std::string> romaji_name(const ReferenceData& reference, const Municipality& place) {
  if (place.type == "都道府県" && place.name == "北海道") {
    JLIS_ASSIGN_OR_RETURN(std::string romaji, hepburn(reading_of(place)));
    return capitalised(std::move(romaji));  // ほっかいどう: Hokkaido, with no suffix
  }
  if (place.type != "行政区") return name_with_suffix(place.name, reading_of(place));
  // A ward: its city's name, then its own (the reading after the city's).
  const std::string_view reading = reading_of(place);
  for (const Municipality& city : reference.municipalities()) {
    const std::string_view city_reading = reading_of(city);
    if (city.type != "政令市" || city.prefecture != place.prefecture || !place.name.starts_with(city.name) ||
        !reading.starts_with(city_reading))
      continue;
    JLIS_ASSIGN_OR_RETURN(std::string city_romaji, name_with_suffix(city.name, city_reading));
    JLIS_ASSIGN_OR_RETURN(std::string ward_romaji, name_with_suffix(std::string_view(place.name).substr(city.name.size()),
                                                                    reading.substr(city_reading.size())));
    return city_romaji + " " + ward_romaji;
  }
  return not_found("the designated city of a ward is not in the reference data");
}

Result<RomajiLocality> romaji_locality(const ReferenceData& reference, LocalGovernmentCode code) {
  const Municipality* place = reference.find(code);
  if (place == nullptr) return not_found("no municipality has the code " + code.str());
  // The prefecture's own entry: its code is the prefecture's two digits, 000 and the check digit.
  const auto prefecture_body = static_cast<uint32_t>(code.prefecture()) * 1000;
  char text[24];
  std::snprintf(text, sizeof text, "%05u%d", prefecture_body, LocalGovernmentCode::check_digit(prefecture_body));
  auto prefecture_code = LocalGovernmentCode::parse(text);
  const Municipality* prefecture = prefecture_code.ok() ? reference.find(*prefecture_code) : nullptr;
  if (prefecture == nullptr || prefecture->type != "都道府県")
    return not_found("the prefecture of " + code.str() + " is not in the reference data");
  RomajiLocality out;
  JLIS_ASSIGN_OR_RETURN(out.prefecture, romaji_name(reference, *prefecture));
  JLIS_ASSIGN_OR_RETURN(out.municipality, romaji_name(reference, *place));
  return out;
}

}  // namespace jlis
