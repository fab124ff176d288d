// The inhabitant-tax rules, one table per rule. Each row says the fiscal years (年度) it is in force
// and where it comes from. The income of fiscal year Y is that of calendar year Y-1, so an income-tax
// rule "from 令和2年分" is in force for the inhabitant tax from FY2021 (令和3年度), through
// 地方税法第313条第2項 (総所得金額 computed as the 所得税法 computes it).
//
// Articles are those of 地方税法 (the municipal tax; the prefectural tax has the parallel article in
// 第2章第1節: 第32条 income, 第34条 deductions, 第35条 rates, 第37条 credit, 第38条 均等割) unless
// another law is named.
#include "municipal/tax_rules.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <vector>

namespace jlis::municipal::tax_rules {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// The row of `table` in force in `fiscal_year`. assess() refuses years outside the rules first, and
// a test checks every table covers them, so a miss is a bug.
template <class Row>
const Row& in_force(const std::vector<Row>& table, int fiscal_year) {
  for (const Row& row : table)
    if (fiscal_year >= row.first && fiscal_year <= row.last) return row;
  std::abort();
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// ---------------------------------------------------------------------------------------------
// 給与所得 (所得税法第28条第3項 the deduction, 第28条第4項 and 別表第五 the income for revenue
// under 6,600,000 yen). 別表第五 lists the income in revenue steps (1,000 yen, then 2,000 and
// 4,000 yen from 1,619,000); the National Tax Agency's 速算表 (No.1410) gives the same figures as
// formulas of A = revenue / 4, rounded down to 1,000 yen, which this table writes out. From 6,600,000
// yen the article's formula applies to the exact revenue (the income rounded down to the yen).
struct SalaryStep {
  int64_t from;   // revenue from which this step applies (up to the next step's `from`)
  bool quarter;   // the formula's base is A = floor(revenue / 4, 1,000 yen); else the revenue
  int64_t num, den, add;  // income = floor(base * num / den) + add
};
struct SalaryTable {
  int first, last;
  std::vector<SalaryStep> steps;
};
const std::vector<SalaryTable> kSalary = {
    // 平成28年度改正 (平成29年分 to 令和元年分): deduction 650,000 minimum, 2,200,000 cap from 10,000,000.
    {2020, 2020, {{0, false, 0, 1, 0},
                  {651'000, false, 1, 1, -650'000},
                  {1'619'000, false, 0, 1, 969'000},
                  {1'620'000, false, 0, 1, 970'000},
                  {1'622'000, false, 0, 1, 972'000},
                  {1'624'000, false, 0, 1, 974'000},
                  {1'628'000, true, 24, 10, 0},
                  {1'800'000, true, 28, 10, -180'000},
                  {3'600'000, true, 32, 10, -540'000},
                  {6'600'000, false, 9, 10, -1'200'000},
                  {10'000'000, false, 1, 1, -2'200'000}}},
    // 平成30年度改正 (令和2年分 to 令和6年分): minimum 550,000, cap 1,950,000 from 8,500,000.
    {2021, 2025, {{0, false, 0, 1, 0},
                  {551'000, false, 1, 1, -550'000},
                  {1'619'000, false, 0, 1, 1'069'000},
                  {1'620'000, false, 0, 1, 1'070'000},
                  {1'622'000, false, 0, 1, 1'072'000},
                  {1'624'000, false, 0, 1, 1'074'000},
                  {1'628'000, true, 24, 10, 100'000},
                  {1'800'000, true, 28, 10, -80'000},
                  {3'600'000, true, 32, 10, -440'000},
                  {6'600'000, false, 9, 10, -1'100'000},
                  {8'500'000, false, 1, 1, -1'950'000}}},
    // 令和7年度改正 (令和7年分 onwards; inhabitant tax from 令和8年度): minimum 650,000 up to
    // 1,900,000 of revenue, which removes the 40 % step; the rest unchanged.
    {2026, 9999, {{0, false, 0, 1, 0},
                  {651'000, false, 1, 1, -650'000},
                  {1'900'000, true, 28, 10, -80'000},
                  {3'600'000, true, 32, 10, -440'000},
                  {6'600'000, false, 9, 10, -1'100'000},
                  {8'500'000, false, 1, 1, -1'950'000}}},
};

// ---------------------------------------------------------------------------------------------
// 公的年金等控除 (所得税法第35条第4項; for 65 and over on 31 December, 租税特別措置法第41条の15の3),
// as amended by 平成30年度改正 from 令和2年分 (FY2021): 100,000 yen lower, a cap of 1,955,000, and
// 100,000 / 200,000 less when the other income exceeds 10,000,000 / 20,000,000 yen.
struct PensionStep {
  int64_t up_to;    // revenue up to and including
  int64_t percent;  // deduction = revenue * percent / 100 + add (the income rounded down to the yen)
  int64_t add;
};
struct PensionTable {
  int first, last;
  std::vector<PensionStep> under_65, from_65;
  bool graded_by_other_income;
};
const std::vector<PensionTable> kPension = {
    {2020, 2020,
     {{1'300'000, 0, 700'000}, {4'100'000, 25, 375'000}, {7'700'000, 15, 785'000}, {kMax, 5, 1'555'000}},
     {{3'300'000, 0, 1'200'000}, {4'100'000, 25, 375'000}, {7'700'000, 15, 785'000}, {kMax, 5, 1'555'000}},
     false},
    {2021, 9999,
     {{1'300'000, 0, 600'000},
      {4'100'000, 25, 275'000},
      {7'700'000, 15, 685'000},
      {10'000'000, 5, 1'455'000},
      {kMax, 0, 1'955'000}},
     {{3'300'000, 0, 1'100'000},
      {4'100'000, 25, 275'000},
      {7'700'000, 15, 685'000},
      {10'000'000, 5, 1'455'000},
      {kMax, 0, 1'955'000}},
     true},
};

// ---------------------------------------------------------------------------------------------
// 所得金額調整控除 (租税特別措置法第41条の3の3, from 令和2年分; the inhabitant tax follows through
// 地方税法附則 — the article number was not confirmed here): (1) salary revenue above 8,500,000
// (counted up to 10,000,000) with a dependant under 23: 10 % of the excess, rounded up to the yen;
// (2) salary and pension income together: min(salary, 100,000) + min(pension, 100,000) - 100,000.
struct AdjustmentRule {
  int first, last;
  bool in_force;
};
const std::vector<AdjustmentRule> kIncomeAdjustment = {{2020, 2020, false}, {2021, 9999, true}};

// ---------------------------------------------------------------------------------------------
// 基礎控除 (第314条の2第2項; 道府県民税 第34条第2項): 330,000 until FY2020; from FY2021 (平成30年度
// 改正) 430,000, graded down by 合計所得金額 above 24,000,000 yen. 令和7年度改正 raised the income
// tax's, not this one.
struct BasicStep {
  int64_t up_to;  // total income up to and including
  int64_t amount;
};
struct BasicTable {
  int first, last;
  std::vector<BasicStep> steps;
};
const std::vector<BasicTable> kBasic = {
    {2020, 2020, {{kMax, 330'000}}},
    {2021, 9999, {{24'000'000, 430'000}, {24'500'000, 290'000}, {25'000'000, 150'000}, {kMax, 0}}},
};

// ---------------------------------------------------------------------------------------------
// The own income limit of a 同一生計配偶者 / 控除対象配偶者 and a 扶養親族 (第292条第1項第7号・第9号).
// 380,000 until FY2020; 480,000 from FY2021 (平成30年度改正, with the basic deduction +100,000);
// 580,000 from FY2026 (令和7年度改正).
struct LimitRule {
  int first, last;
  int64_t limit;
};
const std::vector<LimitRule> kDependantIncomeLimit = {{2020, 2020, 380'000}, {2021, 2025, 480'000}, {2026, 9999, 580'000}};

// ---------------------------------------------------------------------------------------------
// 配偶者控除 (第314条の2第1項第10号 and the table of its paragraph on 控除対象配偶者; 平成29年度改正
// from FY2019), by the taxpayer's total income, and its 人的控除額の差 (第314条の6第1号イ(2)):
// general / 老人控除対象配偶者 (70 and over).
struct SpouseStep {
  int64_t taxpayer_up_to;
  int64_t general, elderly;                        // deduction
  int64_t general_difference, elderly_difference;  // 人的控除額の差
};
struct SpouseTable {
  int first, last;
  std::vector<SpouseStep> steps;
};
const std::vector<SpouseTable> kSpouse = {
    {2020, 9999,
     {{9'000'000, 330'000, 380'000, 50'000, 100'000},
      {9'500'000, 220'000, 260'000, 40'000, 60'000},
      {10'000'000, 110'000, 130'000, 20'000, 30'000},
      {kMax, 0, 0, 0, 0}}},
};

// ---------------------------------------------------------------------------------------------
// 配偶者特別控除 (第314条の2第1項第10号の2 and its table; 平成29年度改正 from FY2019): for a spouse
// above the 同一生計配偶者 income limit (kDependantIncomeLimit) up to the band's end, by the
// taxpayer's total income up to 9,000,000 / 9,500,000 / 10,000,000 yen; and its 人的控除額の差
// (第314条の6第1号イ(2)の括弧書き) for a spouse just above the limit. The bands moved up with the
// income limit in FY2021 (+100,000: 38万超 → 48万超). FY2026 (令和7年度改正, limit 58万): the lowest
// band starting at 58万超 and the others unchanged, as the income tax's table moved; the difference
// bands moved +100,000 as in FY2021 (an assumption: the amended 第314条の6 was not at hand).
struct SpouseSpecialBand {
  int64_t spouse_up_to;
  int64_t amount[3];  // taxpayer up to 9,000,000 / 9,500,000 / 10,000,000
};
struct SpouseDifferenceBand {
  int64_t spouse_below;
  int64_t difference[3];
};
struct SpouseSpecialTable {
  int first, last;
  std::vector<SpouseSpecialBand> bands;
  std::vector<SpouseDifferenceBand> differences;
};
const std::vector<SpouseSpecialTable> kSpouseSpecial = {
    {2020, 2020,
     {{900'000, {330'000, 220'000, 110'000}},
      {950'000, {310'000, 210'000, 110'000}},
      {1'000'000, {260'000, 180'000, 90'000}},
      {1'050'000, {210'000, 140'000, 70'000}},
      {1'100'000, {160'000, 110'000, 60'000}},
      {1'150'000, {110'000, 80'000, 40'000}},
      {1'200'000, {60'000, 40'000, 20'000}},
      {1'230'000, {30'000, 20'000, 10'000}}},
     {{400'000, {50'000, 40'000, 20'000}}, {450'000, {30'000, 20'000, 10'000}}}},
    {2021, 2025,
     {{1'000'000, {330'000, 220'000, 110'000}},
      {1'050'000, {310'000, 210'000, 110'000}},
      {1'100'000, {260'000, 180'000, 90'000}},
      {1'150'000, {210'000, 140'000, 70'000}},
      {1'200'000, {160'000, 110'000, 60'000}},
      {1'250'000, {110'000, 80'000, 40'000}},
      {1'300'000, {60'000, 40'000, 20'000}},
      {1'330'000, {30'000, 20'000, 10'000}}},
     {{500'000, {50'000, 40'000, 20'000}}, {550'000, {30'000, 20'000, 10'000}}}},
    {2026, 9999,
     {{1'000'000, {330'000, 220'000, 110'000}},
      {1'050'000, {310'000, 210'000, 110'000}},
      {1'100'000, {260'000, 180'000, 90'000}},
      {1'150'000, {210'000, 140'000, 70'000}},
      {1'200'000, {160'000, 110'000, 60'000}},
      {1'250'000, {110'000, 80'000, 40'000}},
      {1'300'000, {60'000, 40'000, 20'000}},
      {1'330'000, {30'000, 20'000, 10'000}}},
     {{600'000, {50'000, 40'000, 20'000}}, {650'000, {30'000, 20'000, 10'000}}}},
};

// ---------------------------------------------------------------------------------------------
// 扶養控除 (第314条の2第1項第11号 and its paragraphs on 特定扶養親族, 老人扶養親族 and 同居老親等;
// 年少扶養親族 under 16 have had no deduction since FY2012) and its 人的控除額の差 (第314条の6
// 第1号イ(3)): general 330,000 (diff 50,000), 特定 19-22 450,000 (180,000), 老人 70+ 380,000
// (100,000), 同居老親等 70+ 450,000 (130,000).
struct DependantRule {
  int first, last;
  int min_age, specific_from, specific_to, elderly_from;
  HumanDeduction general, specific, elderly, elderly_cohabiting;
};
const std::vector<DependantRule> kDependant = {
    {2020, 9999, 16, 19, 22, 70, {330'000, 50'000}, {450'000, 180'000}, {380'000, 100'000}, {450'000, 130'000}},
};

// ---------------------------------------------------------------------------------------------
// 調整控除 (第314条の6; 道府県民税 第37条): the 基礎控除's 人的控除額の差 (50,000), and from FY2021
// only for a total income of at most 25,000,000 yen (平成30年度改正).
struct CreditRule {
  int first, last;
  int64_t basic_difference;
  int64_t income_up_to;
};
const std::vector<CreditRule> kCredit = {{2020, 2020, 50'000, kMax}, {2021, 9999, 50'000, 25'000'000}};

// ---------------------------------------------------------------------------------------------
// 所得割 rates (第314条の3第1項 / 第35条第1項: 6 % and 4 %; for 指定都市 第314条の3第2項 / 第35条
// 第2項: 8 % and 2 %, from FY2018 by 平成29年度改正), the 調整控除's share (第314条の6 / 第37条:
// 3 % and 2 %, 指定都市 4 % and 1 %), and the cap just above the 所得割 non-taxable limit (附則
// 第3条の3第2項 / 第5項: 50 % of the excess, split 6/4, 指定都市 8/2).
struct RateRule {
  int first, last;
  Split levy, levy_designated, credit, credit_designated, cap, cap_designated;
};
const std::vector<RateRule> kRates = {
    {2018, 9999, {6, 4}, {8, 2}, {3, 2}, {4, 1}, {30, 20}, {40, 10}},
};

// ---------------------------------------------------------------------------------------------
// 均等割: 市町村民税 3,000 (第310条), 道府県民税 1,000 (第38条), each with 500 more for FY2014 to
// FY2023 (東日本大震災からの復興に関し地方公共団体が実施する防災のための施策に必要な財源の確保に
// 係る地方税の臨時特例に関する法律 第2条); from FY2024 the national 森林環境税 1,000 (森林環境税
// 及び森林環境譲与税に関する法律 第5条, 附則: from 令和6年度), collected with the 均等割.
struct PerCapitaRule {
  int first, last;
  PerCapita amounts;
};
const std::vector<PerCapitaRule> kPerCapita = {
    {2014, 2023, {3'500, 1'500, 0}},
    {2024, 9999, {3'000, 1'000, 1'000}},
};

// ---------------------------------------------------------------------------------------------
// 非課税限度額 (生活保護 1級地). 均等割: 第295条第3項 and 地方税法施行令第47条の3 (the municipality's
// 条例 within it): 350,000 × (1 + dependants) + 210,000 when there are dependants; 所得割: 附則
// 第3条の3第1項 / 第4項: 350,000 × (1 + dependants) + 320,000 when there are dependants. From FY2021
// both 100,000 more (平成30年度改正, with the salary deduction -100,000 and basic deduction
// +100,000). Dependants: the 同一生計配偶者 and the 扶養親族 (年少 included).
struct ExemptRule {
  int first, last;
  int64_t per_person, base, per_capita_with_dependants, income_levy_with_dependants;
};
const std::vector<ExemptRule> kExempt = {
    {2020, 2020, 350'000, 0, 210'000, 320'000},
    {2021, 9999, 350'000, 100'000, 210'000, 320'000},
};

}  // namespace

int64_t salary_income(int fiscal_year, int64_t revenue) {
  const auto& steps = in_force(kSalary, fiscal_year).steps;
  const SalaryStep* step = &steps.front();
  for (const SalaryStep& s : steps)
    if (revenue >= s.from) step = &s;
  const int64_t base = step->quarter ? revenue / 4'000 * 1'000 : revenue;
  return std::max<int64_t>(0, floor_div(base * step->num, step->den) + step->add);
}

int64_t pension_income(int fiscal_year, int age, int64_t revenue, int64_t other_income) {
  const PensionTable& table = in_force(kPension, fiscal_year);
  const auto& steps = age >= 65 ? table.from_65 : table.under_65;
  const PensionStep* step = &steps.back();
  for (const PensionStep& s : steps) {
    if (revenue <= s.up_to) {
      step = &s;
      break;
    }
  }
  int64_t less_deduction = 0;
  if (table.graded_by_other_income) {
    if (other_income > 20'000'000) less_deduction = 200'000;
    else if (other_income > 10'000'000) less_deduction = 100'000;
  }
  // revenue - (revenue * p / 100 + add), rounded down: the deduction's fraction rounds up.
  const int64_t income = floor_div(revenue * (100 - step->percent), 100) - step->add + less_deduction;
  return std::max<int64_t>(0, income);
}

int64_t salary_adjustment(int fiscal_year, int64_t salary_revenue, bool dependant_under_23) {
  if (!in_force(kIncomeAdjustment, fiscal_year).in_force || !dependant_under_23 || salary_revenue <= 8'500'000) return 0;
  return (std::min<int64_t>(salary_revenue, 10'000'000) - 8'500'000 + 9) / 10;
}

int64_t salary_pension_adjustment(int fiscal_year, int64_t salary_income, int64_t pension_income) {
  if (!in_force(kIncomeAdjustment, fiscal_year).in_force || salary_income <= 0 || pension_income <= 0) return 0;
  return std::max<int64_t>(0, std::min<int64_t>(salary_income, 100'000) + std::min<int64_t>(pension_income, 100'000) -
                                  100'000);
}

int64_t basic_deduction(int fiscal_year, int64_t total_income) {
  for (const BasicStep& s : in_force(kBasic, fiscal_year).steps)
    if (total_income <= s.up_to) return s.amount;
  return 0;
}

int64_t dependant_income_limit(int fiscal_year) { return in_force(kDependantIncomeLimit, fiscal_year).limit; }

HumanDeduction spouse_deduction(int fiscal_year, int64_t taxpayer_income, int spouse_age) {
  for (const SpouseStep& s : in_force(kSpouse, fiscal_year).steps) {
    if (taxpayer_income <= s.taxpayer_up_to) {
      return spouse_age >= 70 ? HumanDeduction{s.elderly, s.elderly_difference}
                              : HumanDeduction{s.general, s.general_difference};
    }
  }
  return {};
}

HumanDeduction spouse_special_deduction(int fiscal_year, int64_t taxpayer_income, int64_t spouse_income) {
  if (spouse_income <= dependant_income_limit(fiscal_year)) return {};  // a 同一生計配偶者 instead
  int column = 0;
  if (taxpayer_income > 10'000'000) return {};
  if (taxpayer_income > 9'500'000) column = 2;
  else if (taxpayer_income > 9'000'000) column = 1;
  const SpouseSpecialTable& t = in_force(kSpouseSpecial, fiscal_year);
  HumanDeduction d;
  for (const SpouseSpecialBand& b : t.bands) {
    if (spouse_income <= b.spouse_up_to) {
      d.amount = b.amount[column];
      break;
    }
  }
  for (const SpouseDifferenceBand& b : t.differences) {
    if (spouse_income < b.spouse_below) {
      d.difference = b.difference[column];
      break;
    }
  }
  return d;
}

HumanDeduction dependant_deduction(int fiscal_year, int age, bool lives_with_taxpayer) {
  const DependantRule& r = in_force(kDependant, fiscal_year);
  if (age < r.min_age) return {};
  if (age >= r.specific_from && age <= r.specific_to) return r.specific;
  if (age >= r.elderly_from) return lives_with_taxpayer ? r.elderly_cohabiting : r.elderly;
  return r.general;
}

int64_t basic_deduction_difference(int fiscal_year) { return in_force(kCredit, fiscal_year).basic_difference; }

bool adjustment_credit_applies(int fiscal_year, int64_t total_income) {
  return total_income <= in_force(kCredit, fiscal_year).income_up_to;
}

Split income_levy_percent(int fiscal_year, bool designated_city) {
  const RateRule& r = in_force(kRates, fiscal_year);
  return designated_city ? r.levy_designated : r.levy;
}

Split adjustment_credit_percent(int fiscal_year, bool designated_city) {
  const RateRule& r = in_force(kRates, fiscal_year);
  return designated_city ? r.credit_designated : r.credit;
}

Split exempt_cap_percent(int fiscal_year, bool designated_city) {
  const RateRule& r = in_force(kRates, fiscal_year);
  return designated_city ? r.cap_designated : r.cap;
}

PerCapita per_capita(int fiscal_year) { return in_force(kPerCapita, fiscal_year).amounts; }

int64_t per_capita_exempt_limit(int fiscal_year, int dependants) {
  const ExemptRule& r = in_force(kExempt, fiscal_year);
  return r.per_person * (1 + dependants) + r.base + (dependants > 0 ? r.per_capita_with_dependants : 0);
}

int64_t income_levy_exempt_limit(int fiscal_year, int dependants) {
  const ExemptRule& r = in_force(kExempt, fiscal_year);
  return r.per_person * (1 + dependants) + r.base + (dependants > 0 ? r.income_levy_with_dependants : 0);
}

}  // namespace jlis::municipal::tax_rules
