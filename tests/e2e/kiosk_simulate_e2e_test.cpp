// `jlis kiosk simulate` (kiosk/simulate.h) against the real `jlis serve`: a terminal with a
// virtual card prints the holder's document to a file; a wrong PIN and a refusal are a message and
// a non-zero exit with no file, and the card file keeps its tries.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "../kiosk/kiosk_world.h"

namespace jlis::e2e {
namespace {

using kiosk::testing::KioskSuite;
using kiosk::testing::KioskWorld;
using kiosk::testing::World;

class KioskSimulateE2E : public KioskSuite {
 protected:
  static void SetUpTestSuite() {
    if (build("kiosk-simulate")) {
      kiosk_->terminal("SIM-1");
      card_file_ = world_->dir() + "/card.json";
      EXPECT_TRUE(kiosk_->world_card().save(card_file_).is_ok());
    }
  }

  static Output simulate(const std::string& pin, const std::string& document, const std::string& output,
                         const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = {"kiosk", "simulate", "--centre", kiosk_->own_url(), "--terminal-credential",
                                     world_->dir() + "/terminal-SIM-1.json", "--card", card_file_, "--pin", pin,
                                     "--document", document, "--output", output};
    args.insert(args.end(), more.begin(), more.end());
    return jlis(args);
  }
  static int tries_left() {
    auto card = kiosk::VirtualCard::load(card_file_);
    EXPECT_TRUE(card.ok());
    return card.ok() ? card->slot(card::CardSecret::authentication_pin)->tries_left : -1;
  }

  static inline std::string card_file_;
};

TEST_F(KioskSimulateE2E, ATerminalPrintsTheHoldersDocumentToAFile) {
  const std::string pdf = world_->dir() + "/juminhyo.pdf";
  Output o = simulate(kiosk::testing::kPin, "juminhyo", pdf);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("issuance number 131016-"), std::string::npos) << o.out;
  std::ifstream in(pdf, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(kiosk_->pdf_text(bytes).find("髙橋"), std::string::npos);
  EXPECT_EQ(tries_left(), kiosk::kPinTries);
  EXPECT_EQ(kiosk_->count("kiosk_sessions", "end_reason = 'printed' AND fetched_at IS NOT NULL"), 1);
}

TEST_F(KioskSimulateE2E, AWrongPinIsAMessageAndTheCardKeepsItsCount) {
  const std::string pdf = world_->dir() + "/wrong-pin.pdf";
  Output o = simulate("9999", "juminhyo", pdf);
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("PIN"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(pdf));
  EXPECT_EQ(tries_left(), kiosk::kPinTries - 1);
  Output right = simulate(kiosk::testing::kPin, "juminhyo", pdf);
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_EQ(tries_left(), kiosk::kPinTries) << "a right PIN sets the tries back to full";
}

TEST_F(KioskSimulateE2E, ARefusalIsAMessageAndNoFile) {
  const std::string pdf = world_->dir() + "/inkan.pdf";
  Output o = simulate(kiosk::testing::kPin, "inkan", pdf);
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("no_seal"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(pdf));
  Output bad = simulate("12a4", "juminhyo", pdf);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(pdf));
}

// Rule (the card's chip): three wrong PINs lock the card, and then not even the right PIN logs in,
// until the municipal window resets it (jlis card pin-reset); the new PIN then prints.
TEST_F(KioskSimulateE2E, ThreeWrongPinsLockTheCardUntilTheWindowResetsIt) {
  const std::string pdf = world_->dir() + "/locked.pdf";
  for (int i = 0; i < kiosk::kPinTries; ++i) EXPECT_NE(simulate("9999", "juminhyo", pdf).exit_code, 0);
  EXPECT_EQ(tries_left(), 0);
  Output locked = simulate(kiosk::testing::kPin, "juminhyo", pdf);
  EXPECT_NE(locked.exit_code, 0);
  EXPECT_NE(locked.err.find("locked"), std::string::npos) << locked.err;
  EXPECT_FALSE(std::filesystem::exists(pdf));
  Output reset = jlis({"card", "pin-reset", "--data", world_->dir(), "--municipality", "131016", "--card-file",
                       card_file_, "--secret", "authentication_pin", "--new-secret", "5678"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  Output printed = simulate("5678", "juminhyo", pdf);
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_TRUE(std::filesystem::exists(pdf));
}

// Rule: --municipality asks another municipality (the 本籍地); it decides by its own records: 中央区
// holds nothing of this 千代田区 resident, a refusal and no file.
TEST_F(KioskSimulateE2E, AnotherMunicipalityNamedDecidesByItsOwnRecords) {
  const std::string pdf = world_->dir() + "/elsewhere.pdf";
  Output o = simulate(kiosk::testing::kPin, "juminhyo", pdf, {"--municipality", "131024"});
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("not_resident"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(pdf));
}

}  // namespace
}  // namespace jlis::e2e
