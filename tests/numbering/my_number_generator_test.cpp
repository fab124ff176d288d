#include "numbering/my_number_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "numbering/ff1.h"

namespace jlis {
namespace {

// The NIST FF1 sample AES-256 key.
constexpr std::array<uint8_t, 32> kKey = {
    0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6, 0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C,
    0xEF, 0x43, 0x59, 0xD8, 0xD5, 0x80, 0xAA, 0x4F, 0x7F, 0x03, 0x6D, 0x6F, 0x04, 0xFC, 0x6A, 0x94};

MyNumberGenerator make(std::span<const uint8_t> key = kKey) {
  auto g = MyNumberGenerator::create(key);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return std::move(g).value();
}

TEST(MyNumberGenerator, RejectsWrongKeySize) {
  std::array<uint8_t, 16> short_key{};
  EXPECT_EQ(MyNumberGenerator::create(short_key).status().code(), Code::invalid_argument);
  EXPECT_EQ(MyNumberGenerator::create({}).status().code(), Code::invalid_argument);
}

TEST(MyNumberGenerator, NewKeysAreRandom) {
  EXPECT_NE(MyNumberGenerator::new_key(), MyNumberGenerator::new_key());
}

// Pins the derivation: changing it would change every resident's My Number. Expected values come
// from an independent Python FF1 transcription of SP 800-38G and of both check-digit rules.
TEST(MyNumberGenerator, KnownAnswers) {
  const MyNumberGenerator g = make();
  EXPECT_EQ(g.generate(ResidentCode::from_body(0)).str(), "689685798512");
  EXPECT_EQ(g.generate(ResidentCode::from_body(1234567890)).str(), "790563368501");
  EXPECT_EQ(g.generate(ResidentCode::from_body(9999999999)).str(), "450508523985");
}

TEST(MyNumberGenerator, IsFf1OfAllElevenDigitsWithValidCheckDigit) {
  const MyNumberGenerator g = make();
  auto f = Ff1::create(kKey, 10);
  ASSERT_TRUE(f.ok());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const ResidentCode code = ResidentCode::from_body(rng() % 10'000'000'000);
    const MyNumber n = g.generate(code);
    // A valid 12-digit My Number: parse checks the statutory check digit.
    auto parsed = MyNumber::parse(n.str());
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    ASSERT_EQ(*parsed, n);
    EXPECT_EQ(g.generate(code), n);  // deterministic
    // Body = FF1 over the resident code's 11 digits, check digit included.
    const std::string rc = code.str();
    std::vector<uint16_t> d;
    for (char c : rc) d.push_back(static_cast<uint16_t>(c - '0'));
    ASSERT_TRUE(f->encrypt(d, {}, d).is_ok());
    std::string body;
    for (uint16_t x : d) body += static_cast<char>('0' + x);
    ASSERT_EQ(n.str().substr(0, 11), body);
  }
}

TEST(MyNumberGenerator, DistinctResidentCodesGetDistinctNumbers) {
  const MyNumberGenerator g = make();
  std::vector<MyNumber> numbers;
  constexpr uint64_t kCount = 300'000;
  numbers.reserve(kCount);
  // Consecutive codes: the case most likely to expose structure.
  for (uint64_t body = 5'000'000'000; body < 5'000'000'000 + kCount; ++body) {
    numbers.push_back(g.generate(ResidentCode::from_body(body)));
  }
  std::sort(numbers.begin(), numbers.end());
  EXPECT_EQ(std::adjacent_find(numbers.begin(), numbers.end()), numbers.end());
}

TEST(MyNumberGenerator, DifferentKeysGiveDifferentNumbers) {
  const MyNumberGenerator a = make();
  const auto other_key = MyNumberGenerator::new_key();
  const MyNumberGenerator b = make(other_key);
  int same = 0;
  for (uint64_t body = 0; body < 1000; ++body) {
    const ResidentCode code = ResidentCode::from_body(body * 9'999'991);
    same += a.generate(code) == b.generate(code);
  }
  EXPECT_LT(same, 3);  // ~1000 / 10^11 expected by chance
}

TEST(MyNumberGenerator, CloneAndConcurrentUseAgree) {
  const MyNumberGenerator g = make();
  auto c = g.clone();
  ASSERT_TRUE(c.ok());
  constexpr int kPerThread = 20000;
  std::vector<MyNumber> expected;
  for (int i = 0; i < kPerThread; ++i) {
    expected.push_back(c->generate(ResidentCode::from_body(static_cast<uint64_t>(i) * 7919)));
  }
  // Four threads share one generator (const, internally serialised).
  std::vector<std::vector<MyNumber>> got(4);
  std::vector<std::thread> threads;
  for (auto& out : got) {
    threads.emplace_back([&g, &out] {
      for (int i = 0; i < kPerThread; ++i) {
        out.push_back(g.generate(ResidentCode::from_body(static_cast<uint64_t>(i) * 7919)));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : got) EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace jlis
