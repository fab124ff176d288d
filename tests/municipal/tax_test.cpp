// The inhabitant-tax assessment against hand-computed cases at the edges of each rule, and its
// storage. Every expected figure has its computation beside it; "A" is the salary revenue / 4
// rounded down to 1,000 yen (所得税法別表第五 as the NTA's 速算表 writes it).
#include "municipal/tax.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../store/test_store.h"
#include "common/reference_data.h"
#include "store/migrations.h"

namespace jlis::municipal {
namespace {

TaxAssessment assess_ok(const IncomeDeclaration& d, bool designated = false) {
  auto a = assess(d, designated);
  EXPECT_TRUE(a.ok()) << a.status().to_string();
  return a.ok() ? *a : TaxAssessment{};
}

IncomeDeclaration salary(int fy, int64_t revenue) {
  IncomeDeclaration d;
  d.fiscal_year = fy;
  d.age = 40;
  d.salary_revenue = revenue;
  return d;
}

IncomeDeclaration business(int fy, int64_t income) {
  IncomeDeclaration d;
  d.fiscal_year = fy;
  d.age = 40;
  d.business_income = income;
  return d;
}

IncomeDeclaration pension(int fy, int age, int64_t revenue) {
  IncomeDeclaration d;
  d.fiscal_year = fy;
  d.age = age;
  d.pension_revenue = revenue;
  return d;
}

int64_t salary_income(int fy, int64_t revenue) { return assess_ok(salary(fy, revenue)).salary_income; }

// --- 給与所得 -----------------------------------------------------------------------------------

TEST(SalaryIncome, Fy2024FollowsTheTableOfArticle28AndAppendedTable5AtEveryEdge) {
  EXPECT_EQ(salary_income(2024, 550'999), 0);           // below 551,000: 0
  EXPECT_EQ(salary_income(2024, 551'000), 1'000);       // 551,000 - 550,000
  EXPECT_EQ(salary_income(2024, 1'618'999), 1'068'999);  // 1,618,999 - 550,000
  EXPECT_EQ(salary_income(2024, 1'619'000), 1'069'000);  // 別表第五 row 1,619,000-1,619,999
  EXPECT_EQ(salary_income(2024, 1'620'000), 1'070'000);  // row 1,620,000-1,621,999
  EXPECT_EQ(salary_income(2024, 1'623'999), 1'072'000);  // row 1,622,000-1,623,999
  // 1,625,000: 第28条第3項 alone would give 1,625,000 - 550,000 = 1,075,000; 別表第五's row
  // 1,624,000-1,627,999 gives 1,074,000, and the table is what applies below 6,600,000.
  EXPECT_EQ(salary_income(2024, 1'625'000), 1'074'000);
  EXPECT_EQ(salary_income(2024, 1'625'001), 1'074'000);  // same row
  EXPECT_EQ(salary_income(2024, 1'628'000), 1'076'800);  // A = 407,000; 407,000 * 2.4 + 100,000
  EXPECT_EQ(salary_income(2024, 1'799'999), 1'177'600);  // A = 449,000; 449,000 * 2.4 + 100,000
  EXPECT_EQ(salary_income(2024, 1'800'000), 1'180'000);  // A = 450,000; 450,000 * 2.8 - 80,000
  EXPECT_EQ(salary_income(2024, 3'599'999), 2'437'200);  // A = 899,000; 2,517,200 - 80,000
  EXPECT_EQ(salary_income(2024, 3'600'000), 2'440'000);  // A = 900,000; 900,000 * 3.2 - 440,000
  EXPECT_EQ(salary_income(2024, 5'003'999), 3'560'000);  // A = 1,250,000; * 3.2 - 440,000 (4,000-yen steps)
  EXPECT_EQ(salary_income(2024, 6'599'999), 4'836'800);  // A = 1,649,000; * 3.2 - 440,000
  EXPECT_EQ(salary_income(2024, 6'600'000), 4'840'000);  // 6,600,000 * 0.9 - 1,100,000
  EXPECT_EQ(salary_income(2024, 6'600'001), 4'840'000);  // 5,940,000.9 rounded down - 1,100,000
  EXPECT_EQ(salary_income(2024, 8'500'000), 6'550'000);  // 8,500,000 * 0.9 - 1,100,000
  EXPECT_EQ(salary_income(2024, 8'500'001), 6'550'001);  // 8,500,001 - 1,950,000 (the cap)
  EXPECT_EQ(salary_income(2024, 10'000'000), 8'050'000);  // 10,000,000 - 1,950,000
}

TEST(SalaryIncome, Fy2020UsesThePreReformTableWith650000MinimumAnd2200000Cap) {
  EXPECT_EQ(salary_income(2020, 650'999), 0);            // below 651,000: 0
  EXPECT_EQ(salary_income(2020, 651'000), 1'000);        // 651,000 - 650,000
  EXPECT_EQ(salary_income(2020, 1'625'000), 974'000);    // 別表第五 row 1,624,000-1,627,999
  EXPECT_EQ(salary_income(2020, 1'628'000), 976'800);    // A = 407,000; * 2.4
  EXPECT_EQ(salary_income(2020, 1'800'000), 1'080'000);  // A = 450,000; * 2.8 - 180,000
  EXPECT_EQ(salary_income(2020, 3'600'000), 2'340'000);  // A = 900,000; * 3.2 - 540,000
  EXPECT_EQ(salary_income(2020, 6'600'000), 4'740'000);  // * 0.9 - 1,200,000
  EXPECT_EQ(salary_income(2020, 8'500'001), 6'450'000);  // 7,650,000.9 rounded down - 1,200,000
  EXPECT_EQ(salary_income(2020, 10'000'000), 7'800'000);  // * 0.9 - 1,200,000 = 10,000,000 - 2,200,000
  EXPECT_EQ(salary_income(2020, 12'000'000), 9'800'000);  // 12,000,000 - 2,200,000
}

TEST(SalaryIncome, Fy2021IsTheFirstYearOfThe550000Minimum) {
  EXPECT_EQ(salary_income(2020, 1'000'000), 350'000);  // 1,000,000 - 650,000
  EXPECT_EQ(salary_income(2021, 1'000'000), 450'000);  // 1,000,000 - 550,000
  EXPECT_EQ(salary_income(2021, 9'000'000), 7'050'000);  // 9,000,000 - 1,950,000
  EXPECT_EQ(salary_income(2020, 9'000'000), 6'900'000);  // 9,000,000 * 0.9 - 1,200,000
}

TEST(SalaryIncome, Fy2026RaisesTheMinimumTo650000UpTo1900000) {
  EXPECT_EQ(salary_income(2026, 650'999), 0);            // below 651,000: 0
  EXPECT_EQ(salary_income(2026, 1'625'000), 975'000);    // 1,625,000 - 650,000 (no 40 % step any more)
  EXPECT_EQ(salary_income(2026, 1'899'999), 1'249'999);  // 1,899,999 - 650,000
  EXPECT_EQ(salary_income(2026, 1'900'000), 1'250'000);  // A = 475,000; * 2.8 - 80,000
  EXPECT_EQ(salary_income(2026, 3'600'000), 2'440'000);  // unchanged from FY2025
  EXPECT_EQ(salary_income(2026, 8'500'001), 6'550'001);  // unchanged from FY2025
}

// --- 公的年金等に係る雑所得 ---------------------------------------------------------------------

TEST(PensionIncome, Fy2024From65DeductsAtLeast1100000) {
  EXPECT_EQ(assess_ok(pension(2024, 65, 1'100'000)).pension_income, 0);
  EXPECT_EQ(assess_ok(pension(2024, 65, 1'100'001)).pension_income, 1);
  EXPECT_EQ(assess_ok(pension(2024, 65, 3'300'000)).pension_income, 2'200'000);  // - 1,100,000
  // 3,300,001 * 0.75 = 2,475,000.75, rounded down, - 275,000
  EXPECT_EQ(assess_ok(pension(2024, 65, 3'300'001)).pension_income, 2'200'000);
  EXPECT_EQ(assess_ok(pension(2024, 65, 4'100'000)).pension_income, 2'800'000);   // * 0.75 - 275,000
  EXPECT_EQ(assess_ok(pension(2024, 65, 7'700'000)).pension_income, 5'860'000);   // * 0.85 - 685,000
  EXPECT_EQ(assess_ok(pension(2024, 65, 10'000'000)).pension_income, 8'045'000);  // * 0.95 - 1,455,000
  EXPECT_EQ(assess_ok(pension(2024, 65, 12'000'000)).pension_income, 10'045'000);  // - 1,955,000
}

TEST(PensionIncome, Fy2024Under65DeductsAtLeast600000) {
  EXPECT_EQ(assess_ok(pension(2024, 64, 600'000)).pension_income, 0);
  EXPECT_EQ(assess_ok(pension(2024, 64, 1'300'000)).pension_income, 700'000);  // - 600,000
  EXPECT_EQ(assess_ok(pension(2024, 64, 2'000'000)).pension_income, 1'225'000);  // * 0.75 - 275,000
  EXPECT_EQ(assess_ok(pension(2024, 65, 2'000'000)).pension_income, 900'000);  // from 65: - 1,100,000
}

TEST(PensionIncome, OtherIncomeAbove10MillionReducesTheDeductionBy100000And20MillionBy200000) {
  IncomeDeclaration d = pension(2024, 70, 2'000'000);
  d.business_income = 10'000'000;
  EXPECT_EQ(assess_ok(d).pension_income, 900'000);  // other income not above 10,000,000: - 1,100,000
  d.business_income = 10'000'001;
  EXPECT_EQ(assess_ok(d).pension_income, 1'000'000);  // - 1,000,000
  d.business_income = 20'000'001;
  EXPECT_EQ(assess_ok(d).pension_income, 1'100'000);  // - 900,000
  d.fiscal_year = 2020;  // no grading before 令和2年分: - 1,200,000 from 65
  EXPECT_EQ(assess_ok(d).pension_income, 800'000);
}

TEST(PensionIncome, Fy2020UsesThePreReformTable) {
  EXPECT_EQ(assess_ok(pension(2020, 65, 3'300'000)).pension_income, 2'100'000);  // - 1,200,000
  EXPECT_EQ(assess_ok(pension(2020, 64, 1'300'000)).pension_income, 600'000);    // - 700,000
  EXPECT_EQ(assess_ok(pension(2020, 65, 4'100'000)).pension_income, 2'700'000);  // * 0.75 - 375,000
}

// --- 所得金額調整控除 ---------------------------------------------------------------------------

TEST(IncomeAdjustment, SalaryAndPensionTogetherLoseUpTo100000FromFy2021) {
  IncomeDeclaration d = pension(2024, 67, 1'500'000);  // pension income 400,000
  d.salary_revenue = 1'000'000;                         // salary income 450,000
  TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.income_adjustment, 100'000);  // min(450,000, 100,000) + min(400,000, 100,000) - 100,000
  EXPECT_EQ(a.total_income, 750'000);       // 450,000 - 100,000 + 400,000
  d.fiscal_year = 2020;                     // salary 350,000, pension 300,000, no adjustment
  a = assess_ok(d);
  EXPECT_EQ(a.income_adjustment, 0);
  EXPECT_EQ(a.total_income, 650'000);
}

TEST(IncomeAdjustment, SalaryAbove8500000WithAChildUnder23Loses10PercentOfTheExcess) {
  IncomeDeclaration d = salary(2024, 10'000'000);  // salary income 8,050,000
  d.dependants.push_back({10, 0, false});
  TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.income_adjustment, 150'000);  // (10,000,000 - 8,500,000) * 10 %
  EXPECT_EQ(a.total_income, 7'900'000);     // 8,050,000 - 150,000
  d.dependants[0].age = 23;                 // no child under 23: no adjustment
  EXPECT_EQ(assess_ok(d).income_adjustment, 0);
}

// --- 基礎控除 -----------------------------------------------------------------------------------

TEST(BasicDeduction, Fy2024IsGradedAt24_245And25Million) {
  EXPECT_EQ(assess_ok(business(2024, 24'000'000)).basic_deduction, 430'000);
  EXPECT_EQ(assess_ok(business(2024, 24'000'001)).basic_deduction, 290'000);
  EXPECT_EQ(assess_ok(business(2024, 24'500'000)).basic_deduction, 290'000);
  EXPECT_EQ(assess_ok(business(2024, 24'500'001)).basic_deduction, 150'000);
  EXPECT_EQ(assess_ok(business(2024, 25'000'000)).basic_deduction, 150'000);
  EXPECT_EQ(assess_ok(business(2024, 25'000'001)).basic_deduction, 0);
}

TEST(BasicDeduction, Fy2020Is330000AtAnyIncome) {
  EXPECT_EQ(assess_ok(business(2020, 1'000'000)).basic_deduction, 330'000);
  EXPECT_EQ(assess_ok(business(2020, 30'000'000)).basic_deduction, 330'000);
}

// --- 配偶者控除 and 扶養控除 --------------------------------------------------------------------

TEST(SpouseDeduction, TheSpousesOwnIncomeLimitIs380000Then480000Then580000) {
  IncomeDeclaration d = business(2024, 3'000'000);
  d.spouse = Spouse{40, 480'000};
  EXPECT_EQ(assess_ok(d).spouse_deduction, 330'000);
  d.spouse->total_income = 480'001;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 0);
  EXPECT_EQ(assess_ok(d).dependants_counted, 0);
  d.fiscal_year = 2020;
  d.spouse->total_income = 380'000;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 330'000);
  d.spouse->total_income = 380'001;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 0);
  d.fiscal_year = 2026;
  d.spouse->total_income = 580'000;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 330'000);
  d.spouse->total_income = 580'001;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 0);
}

TEST(SpouseDeduction, IsGradedByTheTaxpayersIncomeAndHigherFrom70) {
  IncomeDeclaration d = business(2024, 9'000'000);
  d.spouse = Spouse{69, 0};
  EXPECT_EQ(assess_ok(d).spouse_deduction, 330'000);
  d.spouse->age = 70;  // 老人控除対象配偶者
  EXPECT_EQ(assess_ok(d).spouse_deduction, 380'000);
  d.business_income = 9'000'001;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 260'000);
  d.spouse->age = 69;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 220'000);
  d.business_income = 9'500'001;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 110'000);
  d.business_income = 10'000'001;
  EXPECT_EQ(assess_ok(d).spouse_deduction, 0);
}

TEST(SpouseSpecialDeduction, FromTheSpouseIncomeLimitTo1330000InBandsFy2024) {
  auto special = [](int64_t spouse_income, int64_t taxpayer_income = 5'000'000, int fy = 2024) {
    IncomeDeclaration d = business(fy, taxpayer_income);
    d.spouse = Spouse{40, spouse_income};
    return assess_ok(d);
  };
  EXPECT_EQ(special(480'000).spouse_special_deduction, 0);  // 配偶者控除 330,000 instead
  EXPECT_EQ(special(480'001).spouse_special_deduction, 330'000);
  EXPECT_EQ(special(480'001).spouse_deduction, 0);
  EXPECT_EQ(special(480'001).dependants_counted, 0);  // not a 同一生計配偶者
  EXPECT_EQ(special(1'000'000).spouse_special_deduction, 330'000);
  EXPECT_EQ(special(1'000'001).spouse_special_deduction, 310'000);
  EXPECT_EQ(special(1'100'000).spouse_special_deduction, 260'000);
  EXPECT_EQ(special(1'330'000).spouse_special_deduction, 30'000);
  EXPECT_EQ(special(1'330'001).spouse_special_deduction, 0);
  // Taxpayer above 9,000,000 and 9,500,000: the second and third columns; above 10,000,000 none.
  EXPECT_EQ(special(1'050'000, 9'000'001).spouse_special_deduction, 210'000);
  EXPECT_EQ(special(1'050'000, 9'500'001).spouse_special_deduction, 110'000);
  EXPECT_EQ(special(1'050'000, 10'000'001).spouse_special_deduction, 0);
  // 人的控除額の差: 50,000 for 48万超50万未満, 30,000 for 50万以上55万未満, then 0 (+ basic 50,000).
  EXPECT_EQ(special(499'999).human_deduction_difference, 100'000);
  EXPECT_EQ(special(500'000).human_deduction_difference, 80'000);
  EXPECT_EQ(special(550'000).human_deduction_difference, 50'000);
  // FY2020: from 38万超 to 123万.
  EXPECT_EQ(special(380'001, 5'000'000, 2020).spouse_special_deduction, 330'000);
  EXPECT_EQ(special(900'001, 5'000'000, 2020).spouse_special_deduction, 310'000);
  EXPECT_EQ(special(1'230'000, 5'000'000, 2020).spouse_special_deduction, 30'000);
  EXPECT_EQ(special(1'230'001, 5'000'000, 2020).spouse_special_deduction, 0);
}

// Business 5,000,000 and a spouse earning 1,100,000 (special deduction 260,000), FY2024:
//   deductions 260,000 + 430,000 = 690,000; taxable 4,310,000; 258,600 and 172,400
//   difference 50,000 (the spouse's is 0 at 110万): minimum credit 1,500 and 1,000
//   → 257,100 and 171,400; total + 5,000 = 433,500
TEST(SpouseSpecialDeduction, AWholeAssessment) {
  IncomeDeclaration d = business(2024, 5'000'000);
  d.spouse = Spouse{40, 1'100'000};
  const TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.total_deductions, 690'000);
  EXPECT_EQ(a.taxable_income, 4'310'000);
  EXPECT_EQ(a.income_levy_municipal, 257'100);
  EXPECT_EQ(a.income_levy_prefectural, 171'400);
  EXPECT_EQ(a.total, 433'500);
}

TEST(DependantDeduction, ByAge16_19To22_70AndLivingWithTheTaxpayer) {
  auto deduction = [](int age, bool lives_with = false) {
    IncomeDeclaration d = business(2024, 5'000'000);
    d.dependants.push_back({age, 0, lives_with});
    return assess_ok(d).dependant_deduction;
  };
  EXPECT_EQ(deduction(15), 0);  // 年少扶養親族: no deduction since FY2012
  EXPECT_EQ(deduction(16), 330'000);
  EXPECT_EQ(deduction(18), 330'000);
  EXPECT_EQ(deduction(19), 450'000);  // 特定扶養親族
  EXPECT_EQ(deduction(22), 450'000);
  EXPECT_EQ(deduction(23), 330'000);
  EXPECT_EQ(deduction(69), 330'000);
  EXPECT_EQ(deduction(70), 380'000);        // 老人扶養親族
  EXPECT_EQ(deduction(70, true), 450'000);  // 同居老親等
}

TEST(DependantDeduction, ADependantAboveTheIncomeLimitIsNoDependant) {
  IncomeDeclaration d = business(2024, 5'000'000);
  d.dependants.push_back({20, 480'000, false});
  d.dependants.push_back({20, 480'001, false});
  const TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.dependant_deduction, 450'000);
  EXPECT_EQ(a.dependants_counted, 1);
}

// --- The whole assessment -------------------------------------------------------------------

// Salary 5,000,000, social insurance 750,000, single, FY2024.
//   salary income: A = 1,250,000; 1,250,000 * 3.2 - 440,000 = 3,560,000
//   deductions: 750,000 + basic 430,000 = 1,180,000; taxable 2,380,000
//   所得割 6 % 142,800 and 4 % 95,200; 調整控除: taxable above 2,000,000 and difference 50,000:
//   max(50,000 - 380,000, 50,000) = 50,000: 3 % 1,500 and 2 % 1,000 → 141,300 and 94,200
//   均等割 3,000 + 1,000, 森林環境税 1,000: total 240,500
TEST(Assessment, AnOrdinarySalaryEarnerFy2024) {
  IncomeDeclaration d = salary(2024, 5'000'000);
  d.social_insurance_premiums = 750'000;
  const TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.salary_income, 3'560'000);
  EXPECT_EQ(a.total_income, 3'560'000);
  EXPECT_EQ(a.social_insurance_deduction, 750'000);
  EXPECT_EQ(a.basic_deduction, 430'000);
  EXPECT_EQ(a.total_deductions, 1'180'000);
  EXPECT_EQ(a.taxable_income, 2'380'000);
  EXPECT_EQ(a.human_deduction_difference, 50'000);
  EXPECT_EQ(a.adjustment_credit_municipal, 1'500);
  EXPECT_EQ(a.adjustment_credit_prefectural, 1'000);
  EXPECT_EQ(a.income_levy_municipal, 141'300);
  EXPECT_EQ(a.income_levy_prefectural, 94'200);
  EXPECT_EQ(a.per_capita_municipal, 3'000);
  EXPECT_EQ(a.per_capita_prefectural, 1'000);
  EXPECT_EQ(a.forest_environment_tax, 1'000);
  EXPECT_EQ(a.total, 240'500);
}

// The same person in a designated city: 8 % 190,400 and 2 % 47,600; 調整控除 4 % 2,000 and 1 % 500
// → 188,400 and 47,100; the total is the same 240,500.
TEST(Assessment, DesignatedCitiesSplitTheLevyAndTheCredit8To2) {
  IncomeDeclaration d = salary(2024, 5'000'000);
  d.social_insurance_premiums = 750'000;
  const TaxAssessment a = assess_ok(d, /*designated=*/true);
  EXPECT_TRUE(a.designated_city);
  EXPECT_EQ(a.adjustment_credit_municipal, 2'000);
  EXPECT_EQ(a.adjustment_credit_prefectural, 500);
  EXPECT_EQ(a.income_levy_municipal, 188'400);
  EXPECT_EQ(a.income_levy_prefectural, 47'100);
  EXPECT_EQ(a.total, 240'500);
}

TEST(Assessment, PerCapitaLevyIs3500And1500UntilFy2023Then3000And1000PlusForestTax) {
  IncomeDeclaration d = salary(2023, 5'000'000);
  d.social_insurance_premiums = 750'000;
  TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.per_capita_municipal, 3'500);  // 3,000 + 500 復興
  EXPECT_EQ(a.per_capita_prefectural, 1'500);  // 1,000 + 500 復興
  EXPECT_EQ(a.forest_environment_tax, 0);
  EXPECT_EQ(a.total, 141'300 + 94'200 + 5'000);
  d.fiscal_year = 2024;
  a = assess_ok(d);
  EXPECT_EQ(a.per_capita_municipal, 3'000);
  EXPECT_EQ(a.per_capita_prefectural, 1'000);
  EXPECT_EQ(a.forest_environment_tax, 1'000);
}

// Social insurance 749,500: 3,560,000 - 1,179,500 = 2,380,500 → taxable 2,380,000 (1,000-yen units).
// Social insurance 749,000: taxable 2,381,000; 6 % 142,860 - 1,500 = 141,360 → 141,300;
// 4 % 95,240 - 1,000 = 94,240 → 94,200 (each tax to 100 yen).
TEST(Assessment, TaxableIncomeRoundsDownTo1000AndEachLevyTo100) {
  IncomeDeclaration d = salary(2024, 5'000'000);
  d.social_insurance_premiums = 749'500;
  EXPECT_EQ(assess_ok(d).taxable_income, 2'380'000);
  d.social_insurance_premiums = 749'000;
  const TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.taxable_income, 2'381'000);
  EXPECT_EQ(a.income_levy_municipal, 141'300);
  EXPECT_EQ(a.income_levy_prefectural, 94'200);
}

// Salary 1,200,000, single, FY2024: income 650,000; taxable 650,000 - 430,000 = 220,000;
// 13,200 and 8,800; 調整控除 on min(50,000, 220,000) = 50,000: 1,500 and 1,000 → 11,700 and 7,800.
TEST(AdjustmentCredit, BelowTwoMillionIsFivePercentOfTheDifference) {
  const TaxAssessment a = assess_ok(salary(2024, 1'200'000));
  EXPECT_EQ(a.taxable_income, 220'000);
  EXPECT_EQ(a.adjustment_credit_municipal, 1'500);
  EXPECT_EQ(a.adjustment_credit_prefectural, 1'000);
  EXPECT_EQ(a.income_levy_municipal, 11'700);
  EXPECT_EQ(a.income_levy_prefectural, 7'800);
  EXPECT_EQ(a.total, 24'500);  // + 5,000
}

// Business 460,000, single: taxable 30,000; 1,800 and 1,200; 調整控除 on min(50,000, 30,000):
// 900 and 600 → 900 and 600.
TEST(AdjustmentCredit, BelowTwoMillionIsFivePercentOfTheTaxableIncomeWhenThatIsLess) {
  const TaxAssessment a = assess_ok(business(2024, 460'000));
  EXPECT_EQ(a.taxable_income, 30'000);
  EXPECT_EQ(a.adjustment_credit_municipal, 900);
  EXPECT_EQ(a.adjustment_credit_prefectural, 600);
  EXPECT_EQ(a.income_levy_municipal, 900);
  EXPECT_EQ(a.income_levy_prefectural, 600);
}

// Spouse (0 income), two 特定扶養 (19, 20) and a 同居老親 (75), business 4,410,000, FY2024:
//   deductions 330,000 + 450,000 * 2 + 450,000 + 430,000 = 2,110,000; taxable 2,300,000
//   difference 50,000 + 50,000 + 180,000 * 2 + 130,000 = 590,000
//   credit base 590,000 - (2,300,000 - 2,000,000) = 290,000: 3 % 8,700 and 2 % 5,800
//   138,000 - 8,700 = 129,300 and 92,000 - 5,800 = 86,200; total + 5,000 = 220,500
TEST(AdjustmentCredit, AboveTwoMillionTheDifferenceShrinksByTheExcess) {
  IncomeDeclaration d = business(2024, 4'410'000);
  d.spouse = Spouse{45, 0};
  d.dependants = {{19, 0, false}, {20, 0, false}, {75, 0, true}};
  const TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.total_deductions, 2'110'000);
  EXPECT_EQ(a.taxable_income, 2'300'000);
  EXPECT_EQ(a.human_deduction_difference, 590'000);
  EXPECT_EQ(a.adjustment_credit_municipal, 8'700);
  EXPECT_EQ(a.adjustment_credit_prefectural, 5'800);
  EXPECT_EQ(a.income_levy_municipal, 129'300);
  EXPECT_EQ(a.income_levy_prefectural, 86'200);
  EXPECT_EQ(a.total, 220'500);
}

// Business 25,000,000: basic 150,000, taxable 24,850,000: 1,491,000 - 1,500 and 994,000 - 1,000.
// Business 25,000,001: basic 0, taxable 25,000,000, no 調整控除: 1,500,000 and 1,000,000.
TEST(AdjustmentCredit, NoneAboveTwentyFiveMillionFromFy2021) {
  TaxAssessment a = assess_ok(business(2024, 25'000'000));
  EXPECT_EQ(a.income_levy_municipal, 1'489'500);
  EXPECT_EQ(a.income_levy_prefectural, 993'000);
  a = assess_ok(business(2024, 25'000'001));
  EXPECT_EQ(a.adjustment_credit_municipal, 0);
  EXPECT_EQ(a.income_levy_municipal, 1'500'000);
  EXPECT_EQ(a.income_levy_prefectural, 1'000'000);
  // FY2020 had no such limit: basic 330,000, taxable 24,670,000 (1,480,200 and 986,800) minus the
  // minimum credit 1,500 and 1,000.
  a = assess_ok(business(2020, 25'000'001));
  EXPECT_EQ(a.income_levy_municipal, 1'478'700);
  EXPECT_EQ(a.income_levy_prefectural, 985'800);
}

// --- 非課税限度額 -------------------------------------------------------------------------------

TEST(NonTaxable, SingleFy2024Limit450000ForBothLevies) {
  TaxAssessment a = assess_ok(business(2024, 450'000));  // 350,000 * 1 + 100,000
  EXPECT_TRUE(a.per_capita_exempt);
  EXPECT_TRUE(a.income_levy_exempt);
  EXPECT_EQ(a.total, 0);
  // One yen above: 均等割 and 森林環境税 charged; 所得割 would be (20,000 taxable) 1,200 - 600 and
  // 800 - 400, but just above the limit it is at most 50 % of the 1-yen excess (30 % and 20 %): 0.
  a = assess_ok(business(2024, 450'001));
  EXPECT_FALSE(a.per_capita_exempt);
  EXPECT_FALSE(a.income_levy_exempt);
  EXPECT_EQ(a.income_levy_municipal, 0);
  EXPECT_EQ(a.income_levy_prefectural, 0);
  EXPECT_EQ(a.total, 5'000);
  // 1,000 yen above: 600 and 400 capped at 300 and 200.
  a = assess_ok(business(2024, 451'000));
  EXPECT_EQ(a.income_levy_municipal, 300);
  EXPECT_EQ(a.income_levy_prefectural, 200);
}

// A single salary earner pays nothing up to 1,000,000 yen of salary, before and after the reform:
// FY2024 1,000,000 - 550,000 = 450,000 = 350,000 + 100,000; FY2020 1,000,000 - 650,000 = 350,000.
TEST(NonTaxable, Salary1000000IsTheSingleSalaryEarnersLimit) {
  EXPECT_EQ(assess_ok(salary(2024, 1'000'000)).total, 0);
  EXPECT_EQ(assess_ok(salary(2024, 1'000'001)).total, 5'000);  // income 450,001: per capita only
  EXPECT_EQ(assess_ok(salary(2020, 1'000'000)).total, 0);
  EXPECT_EQ(assess_ok(salary(2020, 1'000'001)).total, 5'000);  // income 350,001: 3,500 + 1,500
}

TEST(NonTaxable, Fy2020SingleLimitIs350000) {
  EXPECT_EQ(assess_ok(business(2020, 350'000)).total, 0);
  const TaxAssessment a = assess_ok(business(2020, 350'001));
  EXPECT_EQ(a.per_capita_municipal, 3'500);
  EXPECT_EQ(a.per_capita_prefectural, 1'500);
  EXPECT_EQ(a.income_levy_municipal, 0);  // taxable 20,000, capped at 30 % of 1 yen
  EXPECT_EQ(a.total, 5'000);
}

// Spouse and one child of 10 (both counted: n = 2), FY2024:
//   均等割 limit 350,000 * 3 + 100,000 + 210,000 = 1,360,000
//   所得割 limit 350,000 * 3 + 100,000 + 320,000 = 1,470,000
TEST(NonTaxable, WithDependantsThePerCapitaAndIncomeLimitsDiffer) {
  IncomeDeclaration d = business(2024, 1'360'000);
  d.spouse = Spouse{40, 0};
  d.dependants.push_back({10, 0, false});
  TaxAssessment a = assess_ok(d);
  EXPECT_EQ(a.dependants_counted, 2);
  EXPECT_TRUE(a.per_capita_exempt);
  EXPECT_EQ(a.total, 0);
  d.business_income = 1'360'001;
  a = assess_ok(d);
  EXPECT_FALSE(a.per_capita_exempt);
  EXPECT_TRUE(a.income_levy_exempt);
  EXPECT_EQ(a.total, 5'000);
  d.business_income = 1'470'000;
  a = assess_ok(d);
  EXPECT_TRUE(a.income_levy_exempt);
  EXPECT_EQ(a.total, 5'000);
  // 1 yen above: taxable 1,470,001 - 760,000 → 710,000; 42,600 - 3,000 and 28,400 - 2,000 (credit
  // on min(100,000, 710,000)); capped at 30 % and 20 % of 1 yen: 0.
  d.business_income = 1'470'001;
  a = assess_ok(d);
  EXPECT_FALSE(a.income_levy_exempt);
  EXPECT_EQ(a.income_levy_municipal, 0);
  EXPECT_EQ(a.total, 5'000);
  // 10,000 above: caps 3,000 and 2,000 (the levies would be 40,200 and 26,800).
  d.business_income = 1'480'000;
  a = assess_ok(d);
  EXPECT_EQ(a.income_levy_municipal, 3'000);
  EXPECT_EQ(a.income_levy_prefectural, 2'000);
  EXPECT_EQ(a.total, 10'000);
}

TEST(NonTaxable, APensionerFrom65IsExemptUpTo1550000OfPension) {
  EXPECT_EQ(assess_ok(pension(2024, 70, 1'550'000)).total, 0);      // income 450,000
  EXPECT_EQ(assess_ok(pension(2024, 70, 1'550'001)).total, 5'000);  // income 450,001
}

// --- Refusals and coverage ------------------------------------------------------------------

TEST(Assess, RefusesAFiscalYearWithoutRulesAndNegativeAmounts) {
  EXPECT_EQ(assess(salary(2019, 1), false).status().code(), Code::invalid_argument);
  EXPECT_EQ(assess(salary(2027, 1), false).status().code(), Code::invalid_argument);
  EXPECT_EQ(assess(salary(2024, -1), false).status().code(), Code::invalid_argument);
  IncomeDeclaration d = salary(2024, 1);
  d.social_insurance_premiums = -1;
  EXPECT_EQ(assess(d, false).status().code(), Code::invalid_argument);
  d = salary(2024, 1);
  d.dependants.push_back({10, -5, false});
  EXPECT_EQ(assess(d, false).status().code(), Code::invalid_argument);
}

// Every table has a row for every year in kFirstTaxYear..kLastTaxYear (a missing one aborts).
TEST(Assess, EveryYearWithRulesAssessesEveryKindOfIncome) {
  for (int fy = kFirstTaxYear; fy <= kLastTaxYear; ++fy) {
    IncomeDeclaration d = salary(fy, 7'000'000);
    d.age = 66;
    d.pension_revenue = 2'000'000;
    d.business_income = 1'000'000;
    d.miscellaneous_income = 100'000;
    d.social_insurance_premiums = 900'000;
    d.spouse = Spouse{71, 100'000};
    d.dependants = {{10, 0, false}, {17, 0, false}, {20, 0, false}, {80, 0, true}, {75, 0, false}};
    for (bool designated : {false, true}) {
      auto a = assess(d, designated);
      ASSERT_TRUE(a.ok()) << fy;
      EXPECT_GT(a->total, 0) << fy;
      EXPECT_EQ(a->total, a->income_levy_municipal + a->income_levy_prefectural + a->per_capita_municipal +
                              a->per_capita_prefectural + a->forest_environment_tax);
    }
  }
}

TEST(TaxAge, IsTheAgeOn31DecemberOfTheIncomeYear) {
  EXPECT_EQ(tax_age(Date::from_ymd(1959, 12, 31).value(), 2025), 65);  // 65 on 2024-12-31
  EXPECT_EQ(tax_age(Date::from_ymd(1960, 1, 1).value(), 2025), 64);
}

// --- Designated cities ------------------------------------------------------------------------

TEST(DesignatedCity, ExactlyThe20CitiesAndTheirWardsOfTheReferenceData) {
  std::ifstream in(ReferenceData::default_dir() + "/municipalities.csv");
  ASSERT_TRUE(in) << ReferenceData::default_dir();
  std::string line;
  std::getline(in, line);  // header
  int cities = 0, wards = 0, others = 0;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string code, pref, name, type;
    std::getline(row, code, ',');
    std::getline(row, pref, ',');
    std::getline(row, name, ',');
    std::getline(row, type, ',');
    auto lg = LocalGovernmentCode::parse(code);
    ASSERT_TRUE(lg.ok()) << code;
    const bool designated = type == "政令市" || type == "行政区";
    EXPECT_EQ(is_designated_city(*lg), designated) << code << " " << name;
    (type == "政令市" ? cities : type == "行政区" ? wards : others)++;
  }
  EXPECT_EQ(cities, 20);
  EXPECT_GT(wards, 150);
  EXPECT_GT(others, 1500);
}

// --- Storage -----------------------------------------------------------------------------------

class TaxRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-tax-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = store_.open((dir_ / "tax.db").string()).value();
    conn_ = db_->connect().value();
    ASSERT_TRUE(TaxRecords::migrate(*conn_).is_ok());
  }
  void TearDown() override {
    conn_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  TaxRecord sample(int fy, int64_t salary_revenue) {
    TaxRecord r;
    r.resident_code = ResidentCode::from_body(123456789);
    r.fiscal_year = fy;
    r.municipality_code = LocalGovernmentCode::parse("131016").value();
    r.declaration = salary(fy, salary_revenue);
    r.declaration.social_insurance_premiums = 700'000;
    r.declaration.spouse = Spouse{50, 300'000};
    r.declaration.dependants = {{12, 0, false}, {78, 0, true}};
    r.assessment = assess_ok(r.declaration);
    r.recorded_at = "2026-06-01T00:00:00Z";
    return r;
  }

  store::testing::TestStore store_;
  std::filesystem::path dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::Connection> conn_;
};

TEST_F(TaxRecordsTest, ARecordedAssessmentReadsBackWithItsDeclaration) {
  const TaxRecord r = sample(2025, 6'000'000);
  {
    auto tx = store::Transaction::begin(*conn_);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(TaxRecords::record(*conn_, r).is_ok());
    ASSERT_TRUE(tx->commit().is_ok());
  }
  auto found = TaxRecords::find(*conn_, r.resident_code, 2025);
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  ASSERT_TRUE(found->has_value());
  const TaxRecord& got = **found;
  EXPECT_EQ(got.resident_code, r.resident_code);
  EXPECT_EQ(got.municipality_code, r.municipality_code);
  EXPECT_EQ(got.recorded_at, r.recorded_at);
  EXPECT_EQ(got.assessment, r.assessment);
  EXPECT_EQ(declaration_to_json(got.declaration), declaration_to_json(r.declaration));
  EXPECT_EQ(got.declaration.dependants.size(), 2u);
  EXPECT_TRUE(got.declaration.dependants[1].lives_with_taxpayer);
  auto none = TaxRecords::find(*conn_, r.resident_code, 2024);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(TaxRecordsTest, ACorrectedAssessmentReplacesTheEarlierAndListIsNewestYearFirst) {
  ASSERT_TRUE(TaxRecords::record(*conn_, sample(2024, 6'000'000)).is_ok());
  ASSERT_TRUE(TaxRecords::record(*conn_, sample(2025, 6'000'000)).is_ok());
  TaxRecord corrected = sample(2025, 6'500'000);
  corrected.recorded_at = "2026-08-01T00:00:00Z";
  ASSERT_TRUE(TaxRecords::record(*conn_, corrected).is_ok());
  auto found = TaxRecords::find(*conn_, corrected.resident_code, 2025);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->declaration.salary_revenue, 6'500'000);
  EXPECT_EQ((*found)->assessment, corrected.assessment);
  auto all = TaxRecords::list(*conn_, corrected.resident_code);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].fiscal_year, 2025);
  EXPECT_EQ((*all)[1].fiscal_year, 2024);
}

TEST_F(TaxRecordsTest, RefusesAnAssessmentOfAnotherYearThanItsDeclaration) {
  TaxRecord r = sample(2025, 6'000'000);
  r.assessment.fiscal_year = 2024;
  EXPECT_EQ(TaxRecords::record(*conn_, r).code(), Code::invalid_argument);
}

TEST_F(TaxRecordsTest, MigratingTwiceIsHarmless) {
  EXPECT_TRUE(TaxRecords::migrate(*conn_).is_ok());
  auto v = store::schema_version(*conn_, "municipal_tax");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 1);
}

TEST(DeclarationJson, RefusesMalformedText) {
  EXPECT_EQ(declaration_from_json("not json").status().code(), Code::invalid_argument);
  EXPECT_EQ(declaration_from_json("{\"fiscal_year\": 2024}").status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::municipal
