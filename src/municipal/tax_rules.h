// Private to the municipal component: the inhabitant-tax rules of each fiscal year, as figures.
// tax_rules.cpp holds one table per rule, each row the years it is in force and its source; these
// functions only look the right row up. Every function expects a fiscal year with rules
// (kFirstTaxYear..kLastTaxYear, checked by assess()) and non-negative amounts.
#pragma once

#include <cstdint>

namespace jlis::municipal::tax_rules {

// 給与所得: salary revenue to salary income (給与所得控除 and 所得税法別表第五).
int64_t salary_income(int fiscal_year, int64_t revenue);

// 公的年金等に係る雑所得: pension revenue to income, by age (65 and over on 31 December) and by the
// taxpayer's income other than pensions (公的年金等に係る雑所得以外の合計所得金額).
int64_t pension_income(int fiscal_year, int age, int64_t revenue, int64_t other_income);

// 所得金額調整控除 (1): for salary revenue above 8,500,000 yen and a dependant under 23.
int64_t salary_adjustment(int fiscal_year, int64_t salary_revenue, bool dependant_under_23);
// 所得金額調整控除 (2): for salary and pension income together (after adjustment (1)).
int64_t salary_pension_adjustment(int fiscal_year, int64_t salary_income, int64_t pension_income);

// 基礎控除 by total income (合計所得金額).
int64_t basic_deduction(int fiscal_year, int64_t total_income);

// The highest own income of a spouse or a dependant (合計所得金額) that still counts as one.
int64_t dependant_income_limit(int fiscal_year);

// A deduction and its 人的控除額の差 (what the income tax allows more, the 調整控除's base).
struct HumanDeduction {
  int64_t amount = 0;
  int64_t difference = 0;
};
// 配偶者控除 by the taxpayer's total income and the spouse's age (70 and over: 老人控除対象配偶者).
HumanDeduction spouse_deduction(int fiscal_year, int64_t taxpayer_income, int spouse_age);
// 配偶者特別控除 for a spouse above the 同一生計配偶者 income limit (0 beyond the table).
HumanDeduction spouse_special_deduction(int fiscal_year, int64_t taxpayer_income, int64_t spouse_income);
// 扶養控除 for one dependant (within the income limit) by age and cohabitation.
HumanDeduction dependant_deduction(int fiscal_year, int age, bool lives_with_taxpayer);
// The 基礎控除's 人的控除額の差.
int64_t basic_deduction_difference(int fiscal_year);
// Whether the 調整控除 applies at this total income.
bool adjustment_credit_applies(int fiscal_year, int64_t total_income);

// Rates in percent of the taxable income (所得割) and of the 調整控除 base, municipal/prefectural.
struct Split {
  int64_t municipal = 0;
  int64_t prefectural = 0;
};
Split income_levy_percent(int fiscal_year, bool designated_city);
Split adjustment_credit_percent(int fiscal_year, bool designated_city);
// The 所得割 cap just above the non-taxable limit, in percent of the excess (附則第3条の3第2項).
Split exempt_cap_percent(int fiscal_year, bool designated_city);

// 均等割 and 森林環境税, in yen.
struct PerCapita {
  int64_t municipal = 0;
  int64_t prefectural = 0;
  int64_t forest_environment = 0;
};
PerCapita per_capita(int fiscal_year);

// 非課税限度額 for a taxpayer with `dependants` counted (同一生計配偶者 and 扶養親族): the highest
// total income at which the levy is not charged.
int64_t per_capita_exempt_limit(int fiscal_year, int dependants);
int64_t income_levy_exempt_limit(int fiscal_year, int dependants);

}  // namespace jlis::municipal::tax_rules
