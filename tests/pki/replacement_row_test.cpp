// The revocation table's row "card replaced by a newer card handed over" (src/pki/ca.h), through
// the C++ API like revocation_table_test.cpp: exactly which certificates change, to what and with
// which reason. The CA's clock moves with the fixture's injected today (set_today).
#include <gtest/gtest.h>

#include <set>

#include "ca_fixture.h"

namespace jlis::pki::testing {
namespace {

using Changes = std::multiset<std::string>;

// Rule: handing over a newer card supersedes the old card's certificates (both revoked as
// superseded, at the handover) and certifies the new card's keys; nothing else changes.
TEST_F(CaTest, ACardReplacedByANewerCardSupersedesItsCertificates) {
  // 16 at the first handover: a child's card and certificates, both to the 5th birthday after.
  set_today(card::testing::date("2025-06-02"));
  auto r = born("rep-1", "2009-01-20");
  Keys old_keys;
  const std::string old_card = card_with_certificates(r, old_keys);
  const Date expires = cards_->card(card_centre(), old_card)->expires_on;
  ASSERT_EQ(changed({}, certificates()), Changes({"card/signature good (new)", "card/authentication good (new)"}));
  // A month before the card expires (inside the renewal window; its certificates still good), the
  // holder gets a newer card and it is handed over with new keys.
  set_today(expires.add_days(-30));
  const auto before = certificates();
  Keys new_keys;
  const std::string new_card = card_with_certificates(r, new_keys);
  ASSERT_NE(new_card, old_card);
  EXPECT_EQ(changed(before, certificates()),
            Changes({"card/signature revoked superseded", "card/authentication revoked superseded",
                     "card/signature good (new)", "card/authentication good (new)"}));
  // Revoked at the handover, and the old card is invalid.
  for (const auto& [serial, s] : certificates())
    if (s.status == "revoked") {
      EXPECT_EQ(s.revoked_at, now()) << s.what;
    }
  EXPECT_EQ(cards_->card(card_centre(), old_card)->status, card::CardStatus::invalid);
}

}  // namespace
}  // namespace jlis::pki::testing
