#include "common/identifiers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace jlis {
namespace {

// ---- ResidentCode ---------------------------------------------------------------------------

TEST(ResidentCode, CheckDigitWorkedByHand) {
  // 1234567890, from the right: 0·2 + 9·3 + 8·4 + 7·5 + 6·6 + 5·7 + 4·2 + 3·3 + 2·4 + 1·5 = 195;
  // 195 mod 11 = 8; check = 11 - 8 = 3.
  EXPECT_EQ(ResidentCode::check_digit(1234567890), 3);
  EXPECT_EQ(ResidentCode::from_body(1234567890).str(), "12345678903");
  // Remainder 0 and remainder 1 both give 0: body 0 (sum 0) and body 6 (sum 12, remainder 1).
  EXPECT_EQ(ResidentCode::check_digit(0), 0);
  EXPECT_EQ(ResidentCode::check_digit(6), 0);
  // Body 5: sum 10, check 1; str() pads with zeros.
  EXPECT_EQ(ResidentCode::from_body(5).str(), "00000000051");
  EXPECT_EQ(ResidentCode::from_body(9'999'999'999).str().size(), 11u);
}

TEST(ResidentCode, ParseAcceptsOnlyTheRightCheckDigit) {
  auto code = ResidentCode::parse("12345678903");
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  EXPECT_EQ(code->body(), 1234567890u);
  for (char c = '0'; c <= '9'; ++c) {
    if (c == '3') continue;
    std::string wrong = "1234567890";
    wrong += c;
    EXPECT_EQ(ResidentCode::parse(wrong).status().code(), Code::invalid_argument) << wrong;
  }
}

TEST(ResidentCode, ParseRejectsMalformedText) {
  for (const char* bad :
       {"", "1234567890", "123456789030", "1234567890a", "a2345678903", " 12345678903",
        "12345678903 ", "+2345678903", "１２３４５６７８９０３", "12345６78903"}) {
    auto r = ResidentCode::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::invalid_argument) << bad;
  }
}

TEST(ResidentCode, RoundTripsAndCatchesEverySingleDigitError) {
  for (uint64_t body = 0; body < 10'000'000'000ULL; body += 7'654'321) {
    std::string s = ResidentCode::from_body(body).str();
    auto parsed = ResidentCode::parse(s);
    ASSERT_TRUE(parsed.ok()) << s;
    EXPECT_EQ(*parsed, ResidentCode::from_body(body));
    // No weight is divisible by 11, so changing one digit always moves the remainder; the only
    // changes that slip through are those between remainders 0 and 1, which share check digit 0.
    for (size_t pos = 0; pos < 11; ++pos) {
      std::string changed = s;
      changed[pos] = static_cast<char>('0' + (s[pos] - '0' + 1) % 10);
      auto r = ResidentCode::parse(changed);
      if (r.ok()) {
        EXPECT_LT(pos, 10u) << "a changed check digit must always be caught";
        EXPECT_EQ(ResidentCode::check_digit(r->body()), 0) << changed;
        EXPECT_EQ(ResidentCode::check_digit(body), 0) << s;
      }
    }
  }
}

// ---- MyNumber -------------------------------------------------------------------------------

TEST(MyNumber, KnownValidNumber) {
  auto n = MyNumber::parse("983205673214");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->body(), 98320567321u);
  EXPECT_EQ(n->str(), "983205673214");
  EXPECT_EQ(MyNumber::check_digit(98320567321), 4);
}

TEST(MyNumber, ChangingAnyDigitBreaksIt) {
  const std::string valid = "983205673214";
  for (size_t pos = 0; pos < valid.size(); ++pos) {
    for (char c = '0'; c <= '9'; ++c) {
      if (c == valid[pos]) continue;
      std::string changed = valid;
      changed[pos] = c;
      EXPECT_FALSE(MyNumber::parse(changed).ok()) << changed;
    }
  }
}

TEST(MyNumber, CheckDigitFormula) {
  // Q_n = n+1 for n = 1..6 and n-5 for n = 7..11, P_1 the least significant digit.
  auto reference = [](uint64_t body) {
    int sum = 0;
    std::string s = std::to_string(body);
    s.insert(0, 11 - s.size(), '0');
    for (int n = 1; n <= 11; ++n) {
      int p = s[11 - n] - '0';
      sum += p * (n <= 6 ? n + 1 : n - 5);
    }
    int r = sum % 11;
    return r <= 1 ? 0 : 11 - r;
  };
  for (uint64_t body = 0; body < 100'000'000'000ULL; body += 97'531'357) {
    EXPECT_EQ(MyNumber::check_digit(body), reference(body)) << body;
    EXPECT_TRUE(MyNumber::parse(MyNumber::from_body(body).str()).ok());
  }
  EXPECT_EQ(MyNumber::from_body(0).str(), "000000000000");  // remainder 0 → 0
  EXPECT_EQ(MyNumber::from_body(1).str(), "000000000019");  // 1·2 = 2 → 11 - 2 = 9
}

TEST(MyNumber, ParseRejectsMalformedText) {
  for (const char* bad : {"", "98320567321", "9832056732140", "98320567321x",
                          "９８３２０５６７３２１４", "983205673214\n", "-83205673214"}) {
    EXPECT_EQ(MyNumber::parse(bad).status().code(), Code::invalid_argument) << bad;
  }
}

// ---- LocalGovernmentCode --------------------------------------------------------------------

TEST(LocalGovernmentCode, KnownCodes) {
  auto sapporo = LocalGovernmentCode::parse("011002");
  ASSERT_TRUE(sapporo.ok());
  EXPECT_EQ(sapporo->body(), 1100u);
  EXPECT_EQ(sapporo->prefecture(), 1);
  EXPECT_EQ(sapporo->str(), "011002");
  auto chiyoda = LocalGovernmentCode::parse("131016");
  ASSERT_TRUE(chiyoda.ok());
  EXPECT_EQ(chiyoda->prefecture(), 13);
  EXPECT_EQ(chiyoda->str(), "131016");
  // 1·6 + 3·5 + 1·4 + 0·3 + 1·2 = 27; 27 mod 11 = 5; (11 - 5) mod 10 = 6.
  EXPECT_EQ(LocalGovernmentCode::check_digit(13101), 6);
}

TEST(LocalGovernmentCode, RejectsWrongCheckDigitAndFormat) {
  for (const char* bad : {"011003", "131017", "13101", "1310160", "13101a", "１３１０１６", ""}) {
    EXPECT_EQ(LocalGovernmentCode::parse(bad).status().code(), Code::invalid_argument) << bad;
  }
  // Well-formed with a right check digit but no prefecture 00 or 48.
  for (uint32_t body : {0u, 100u, 48001u, 99999u}) {
    std::string s = std::to_string(body);
    s.insert(0, 5 - s.size(), '0');
    s += static_cast<char>('0' + LocalGovernmentCode::check_digit(body));
    EXPECT_FALSE(LocalGovernmentCode::parse(s).ok()) << s;
  }
}

TEST(LocalGovernmentCode, EveryRowOfMunicipalitiesCsvParses) {
  std::ifstream in(std::string(JLIS_REFERENCE_DIR) + "/municipalities.csv");
  ASSERT_TRUE(in) << JLIS_REFERENCE_DIR;
  std::string line;
  std::getline(in, line);  // header
  int rows = 0;
  while (std::getline(in, line)) {
    std::string code = line.substr(0, line.find(','));
    auto parsed = LocalGovernmentCode::parse(code);
    ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.status().to_string();
    EXPECT_EQ(parsed->str(), code);
    ++rows;
  }
  EXPECT_EQ(rows, 1963);
}

}  // namespace
}  // namespace jlis
