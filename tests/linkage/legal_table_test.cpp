// The legal table (linkage/legal_table.h, issue 11 §2): every row of the shipped table allows what
// it lists, for each of its requesters and providers; each refusal names the rule and the first
// thing that failed; a malformed table does not load.
#include <gtest/gtest.h>

#include <set>

#include "linkage/layouts.h"
#include "linkage/legal_table.h"

namespace jlis::linkage {
namespace {

const LegalTable& shipped_table() {
  auto t = LegalTable::shipped();
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return **t;
}

// The shipped table's rows, one test each (the count pins the table: a row added or lost is seen).
constexpr size_t kShippedRows = 10;

class LinkageShippedLegalRow : public ::testing::TestWithParam<size_t> {};

// Rule: a row allows each of its requester kinds to ask each of its provider kinds for all its items
// together and for each alone, and names itself.
TEST_P(LinkageShippedLegalRow, AllowsWhatItLists) {
  const auto& rows = shipped_table().rows();
  ASSERT_EQ(rows.size(), kShippedRows);
  const LegalRow& row = rows[GetParam()];
  for (auto requester : row.requesters)
    for (auto provider : row.providers) {
      Decision d = shipped_table().decide(requester, row.procedure, provider, row.items);
      EXPECT_TRUE(d.allowed()) << d.message;
      EXPECT_EQ(d.row, row.row);
      for (const auto& item : row.items)
        EXPECT_TRUE(shipped_table().decide(requester, row.procedure, provider, {item}).allowed())
            << row.procedure << " " << item;
    }
}
INSTANTIATE_TEST_SUITE_P(EveryRow, LinkageShippedLegalRow, ::testing::Range<size_t>(0, kShippedRows));

// The shipped table covers what issue 11 names, with the items each needs.
TEST(LinkageLegalTableTest, TheShippedTableCoversTheIssuesProcedures) {
  const LegalTable& t = shipped_table();
  const auto muni = BodyKind::municipality, pension = BodyKind::pension_service;
  // Pensions: the pension service asks municipalities for household, relationship and taxable income.
  EXPECT_TRUE(t.decide(pension, "J031-01", muni, {"RS001", "RS002", "TX001"}).allowed());
  EXPECT_TRUE(t.decide(pension, "J003-01", muni, {"RS001", "RS002", "TX001"}).allowed());
  // Child allowance: a municipality asks another for household and income.
  EXPECT_TRUE(t.decide(muni, "J074-01", muni, {"RS001", "TX001", "TX002"}).allowed());
  // Health insurance: 国保 (the municipality as insurer) and 後期高齢者 (an insurer) ask for income and tax.
  EXPECT_TRUE(t.decide(muni, "J042-01", muni, {"TX001", "TX002"}).allowed());
  EXPECT_TRUE(t.decide(BodyKind::health_insurer, "J080-01", muni, {"TX001", "TX002"}).allowed());
  // Public assistance: prefectures and municipalities ask municipalities for income, the pension
  // service for pensions.
  EXPECT_TRUE(t.decide(BodyKind::prefecture, "J026-01", muni, {"TX001", "TX003"}).allowed());
  EXPECT_TRUE(t.decide(BodyKind::prefecture, "J026-01", pension, {"PN001", "PN002"}).allowed());
  EXPECT_TRUE(t.decide(muni, "J026-01", pension, {"PN002"}).allowed());
  // School aid: a municipality asks for tax, income and public-assistance status.
  EXPECT_TRUE(t.decide(muni, "J119-01", muni, {"TX001", "PA001"}).allowed());
}

// Refusal: a procedure no row has.
TEST(LinkageLegalTableTest, AnUnknownProcedureIsRefused) {
  Decision d = shipped_table().decide(BodyKind::municipality, "J999-01", BodyKind::municipality, {"TX001"});
  EXPECT_EQ(d.refusal, Refusal::unknown_procedure);
  EXPECT_EQ(d.row, 0);
  EXPECT_EQ(d.message, "procedure J999-01 is in no row of the legal table");
  EXPECT_EQ(refusal_name(d.refusal), "unknown-procedure");
}

// Refusal: a requester kind the procedure's rows do not entitle (a ministry asking for child
// allowance; the pension service asking in a municipality's procedure).
TEST(LinkageLegalTableTest, ARequesterTheRowDoesNotEntitleIsRefused) {
  Decision d = shipped_table().decide(BodyKind::ministry, "J074-01", BodyKind::municipality, {"TX001"});
  EXPECT_EQ(d.refusal, Refusal::requester_not_entitled);
  EXPECT_EQ(d.row, 74);
  EXPECT_EQ(d.message, "row 74 (J074-01): a ministry may not ask; only municipality");
  d = shipped_table().decide(BodyKind::pension_service, "J026-01", BodyKind::municipality, {"TX001"});
  EXPECT_EQ(d.refusal, Refusal::requester_not_entitled);
  EXPECT_EQ(refusal_name(d.refusal), "requester-not-entitled");
}

// Refusal: a provider kind not in the row (a health insurer asked for pension items; the pension
// service asked for school aid).
TEST(LinkageLegalTableTest, AProviderNotInTheRowIsRefused) {
  Decision d = shipped_table().decide(BodyKind::municipality, "J026-01", BodyKind::health_insurer, {"PN001"});
  EXPECT_EQ(d.refusal, Refusal::provider_not_in_row);
  EXPECT_EQ(d.row, 26);
  EXPECT_EQ(d.message, "row 26 (J026-01): a health-insurer is not a provider of this procedure");
  d = shipped_table().decide(BodyKind::municipality, "J119-01", BodyKind::pension_service, {"PN001"});
  EXPECT_EQ(d.refusal, Refusal::provider_not_in_row);
}

// Refusal: an item the row does not list, naming the first such item; the same item allowed from
// the other provider of the procedure is still refused from this one.
TEST(LinkageLegalTableTest, AnItemTheRowDoesNotAllowIsRefusedNamingTheFirst) {
  Decision d = shipped_table().decide(BodyKind::pension_service, "J031-01", BodyKind::municipality,
                                      {"RS001", "PN001", "PA001"});
  EXPECT_EQ(d.refusal, Refusal::item_not_allowed);
  EXPECT_EQ(d.item, "PN001");
  EXPECT_EQ(d.row, 31);
  EXPECT_EQ(d.message, "row 31 (J031-01): item PN001 is not allowed from a municipality");
  // 生活保護: pension items come from the pension service, never from a municipality.
  d = shipped_table().decide(BodyKind::municipality, "J026-01", BodyKind::municipality, {"TX001", "PN002"});
  EXPECT_EQ(d.refusal, Refusal::item_not_allowed);
  EXPECT_EQ(d.item, "PN002");
  // Tax items from the pension service are refused too.
  d = shipped_table().decide(BodyKind::municipality, "J026-01", BodyKind::pension_service, {"TX001"});
  EXPECT_EQ(d.item, "TX001");
  EXPECT_EQ(refusal_name(d.refusal), "item-not-allowed");
}

// Refusal: asking for nothing.
TEST(LinkageLegalTableTest, AQueryForNoItemIsRefused) {
  Decision d = shipped_table().decide(BodyKind::municipality, "J074-01", BodyKind::municipality, {});
  EXPECT_EQ(d.refusal, Refusal::no_items);
  EXPECT_EQ(d.row, 74);
}

// The table and the layouts agree: every item a row allows is an item of the newest layout, and
// each version's layout of a procedure holds only items some row of it allows.
TEST(LinkageLegalTableTest, TheTableAndTheLayoutsAgree) {
  const DataLayouts& layouts = *DataLayouts::shipped().value();
  const LayoutVersion& newest = layouts.versions().back();
  std::set<std::string> procedures;
  for (const auto& row : shipped_table().rows()) {
    procedures.insert(row.procedure);
    ASSERT_TRUE(newest.procedures.count(row.procedure)) << row.procedure;
    for (const auto& item : row.items) EXPECT_TRUE(newest.items.count(item)) << row.procedure << " " << item;
  }
  for (const auto& v : layouts.versions()) {
    EXPECT_EQ(v.procedures.size(), procedures.size()) << v.version;
    for (const auto& [code, layout] : v.procedures)
      for (const auto& item : layout.items) {
        bool allowed = false;
        for (const auto& row : shipped_table().rows())
          if (row.procedure == code)
            allowed = allowed || std::find(row.items.begin(), row.items.end(), item) != row.items.end();
        EXPECT_TRUE(allowed) << v.version << " " << code << " " << item;
      }
  }
}

// A malformed table does not load, and says where.
TEST(LinkageLegalTableTest, AMalformedTableIsRefused) {
  auto msg = [](std::string_view json) { return LegalTable::load(json).status().message(); };
  const std::string good_row =
      R"({"row": 74, "requesters": ["municipality"], "procedure": {"code": "J074-01", "name": "児童手当"},
          "providers": ["municipality"], "items": ["TX001"]})";
  ASSERT_TRUE(LegalTable::load(R"({"rows": [)" + good_row + "]}").ok());
  EXPECT_EQ(msg("not json"), "the legal table is not a JSON object with a 'rows' list");
  EXPECT_EQ(msg(R"({"rows": []})"), "the legal table has no rows");
  EXPECT_EQ(msg(R"({"rows": [{"row": 1, "requesters": ["school"], "procedure": {"code": "J1", "name": "x"},
                   "providers": ["municipality"], "items": ["TX001"]}]})"),
            "legal table row #1: 'requesters': the body kind must be one of municipality, prefecture, "
            "pension-service, health-insurer, ministry");
  EXPECT_EQ(msg(R"({"rows": [{"row": 1, "requesters": ["ministry"], "procedure": {"code": "J1", "name": "x"},
                   "providers": ["municipality"], "items": ["tx1"]}]})"),
            "legal table row #1: an item code is not 5 of [A-Z0-9]");
  EXPECT_EQ(msg(R"({"rows": [{"row": 1, "requesters": [], "procedure": {"code": "J1", "name": "x"},
                   "providers": ["municipality"], "items": ["TX001"]}]})"),
            "legal table row #1: 'requesters' is not a non-empty list of body kinds");
  EXPECT_EQ(msg(R"({"rows": [)" + good_row + "," + good_row + "]}"),
            "legal table row #2: procedure J074-01 has two rows for provider municipality");
  EXPECT_EQ(msg(R"({"rows": [{"row": "74"}]})"), "legal table row #1: 'row' is not a positive integer");
}

}  // namespace
}  // namespace jlis::linkage
