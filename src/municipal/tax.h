// Municipal inhabitant tax (個人住民税): the assessment (課税) of one resident for one fiscal year
// (年度), by the rules in force for that year, and the municipality's record of it.
//
// What is assessed: the municipal inhabitant tax (市町村民税) and the prefectural one (道府県民税),
// each an income levy (所得割) and a per-capita levy (均等割), and from FY2024 the national forest
// environment tax (森林環境税) collected with the per-capita levy. The income of fiscal year Y is
// that of calendar year Y-1 (前年所得課税, 地方税法第294条・第313条).
//
// The rules (tax_rules.cpp holds every rate and threshold, one table per rule, each row naming the
// law and article it comes from) are those in force for FY2020 to FY2026; any other year is
// refused. The computation, step by step:
//   1. income by kind: salary (給与所得, through the 給与所得控除 and 所得税法別表第五's rounding
//      below 6,600,000 yen of revenue), public pension (公的年金等に係る雑所得), business and other
//      miscellaneous income as declared; the 所得金額調整控除 (salary above 8,500,000 with a
//      dependant under 23; salary and pension together); their sum is the total income
//      (総所得金額, here also 合計所得金額: no separately taxed income);
//   2. income deductions (所得控除): social insurance premiums as paid, spouse (配偶者控除, or for a
//      spouse above its income limit 配偶者特別控除), dependants (扶養控除: general, 特定, 老人,
//      同居老親), basic (基礎控除, graded by income from FY2021);
//   3. taxable income (課税総所得金額): total income minus deductions, rounded down to 1,000 yen;
//   4. income levy: 10 % of it, municipal 6 % and prefectural 4 % (designated cities 8 % and 2 %),
//      minus the adjustment credit (調整控除) split the same way, each rounded down to 100 yen;
//   5. per-capita levy by the year's amounts;
//   6. the non-taxable limits (非課税限度額) for the per-capita levy and the income levy, and just
//      above the income-levy limit its cap at half the excess.
//
// Not modelled (a declaration needing them is assessed without them): the 特定親族特別控除 of
// FY2026, the deductions for disability, widows, single parents and working students, medical
// expenses, life and earthquake insurance, donations (寄附金税額控除) and the housing-loan credit; separately taxed income (分離課税); losses and
// their carry-forward; the non-taxable rule for disabled people, minors, widows and single parents
// (地方税法第295条第1項第2号); the 生活保護 級地 2 and 3 limits (the 級地 1 limit is applied
// everywhere); and prefectural or municipal extra taxes (超過課税, e.g. 森林環境 taxes of the
// prefectures, 横浜市's 均等割 surcharge): the standard rates are applied everywhere.
//
// All amounts are whole yen in int64_t. Everything here is thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "store/database.h"

namespace jlis::municipal {

// The first and last fiscal years whose rules are known.
inline constexpr int kFirstTaxYear = 2020;
inline constexpr int kLastTaxYear = 2026;

// A person's age as the tax law counts it: on 31 December of the income year, that is of
// fiscal_year - 1 (所得税法第85条第3項, applied by 地方税法第314条の2第9項).
int tax_age(Date date_of_birth, int fiscal_year);

// True for the 20 designated cities (政令指定都市, 地方自治法第252条の19) and their wards (行政区),
// whose municipal/prefectural income-levy split is 8/2 instead of 6/4.
bool is_designated_city(LocalGovernmentCode code);

// The taxpayer's spouse, whose own income decides between the spouse deduction (配偶者控除, and
// counting for the non-taxable limits) and the spouse special deduction (配偶者特別控除).
struct Spouse {
  int age = 0;                // on 31 December of the income year (see tax_age)
  int64_t total_income = 0;   // the spouse's 合計所得金額
};

// A relative supported by the taxpayer (扶養親族). One whose own income is above the year's limit is
// not a dependant and is ignored.
struct Dependant {
  int age = 0;                // on 31 December of the income year; under 16 gives no deduction but counts
                              // for the non-taxable limits
  int64_t total_income = 0;   // the dependant's 合計所得金額
  // A lineal ascendant of the taxpayer or spouse living with them (同居老親等): 45万 instead of
  // 38万 from age 70.
  bool lives_with_taxpayer = false;
};

// What a resident declared (or the employer's and pension payer's reports said) for one fiscal
// year. Amounts are for the income year (fiscal_year - 1); none may be negative.
struct IncomeDeclaration {
  int fiscal_year = 0;                 // 年度: kFirstTaxYear .. kLastTaxYear
  int age = 0;                         // the taxpayer's, on 31 December of the income year
  int64_t salary_revenue = 0;          // 給与等の収入金額
  int64_t pension_revenue = 0;         // 公的年金等の収入金額
  int64_t business_income = 0;         // 事業所得 (revenue minus expenses)
  int64_t miscellaneous_income = 0;    // 雑所得 other than public pensions
  int64_t social_insurance_premiums = 0;  // 社会保険料 paid (deducted in full)
  std::optional<Spouse> spouse = {};
  std::vector<Dependant> dependants = {};
};

// The assessment: every figure a 所得・課税証明書 prints. Income levies are after the adjustment
// credit and the non-taxable rules.
struct TaxAssessment {
  int fiscal_year = 0;
  bool designated_city = false;
  // Income (所得).
  int64_t salary_income = 0;           // 給与所得 (before the 所得金額調整控除)
  int64_t pension_income = 0;          // 公的年金等に係る雑所得
  int64_t business_income = 0;         // 事業所得
  int64_t miscellaneous_income = 0;    // 雑所得 (other)
  int64_t income_adjustment = 0;       // 所得金額調整控除 (subtracted from the salary income)
  int64_t total_income = 0;            // 総所得金額 (= 合計所得金額 here)
  // Deductions (所得控除).
  int64_t social_insurance_deduction = 0;  // 社会保険料控除
  int64_t spouse_deduction = 0;            // 配偶者控除
  int64_t spouse_special_deduction = 0;    // 配偶者特別控除
  int64_t dependant_deduction = 0;         // 扶養控除
  int64_t basic_deduction = 0;             // 基礎控除
  int64_t total_deductions = 0;            // 所得控除合計
  int64_t taxable_income = 0;              // 課税標準額 (課税総所得金額, 1,000-yen units)
  // Who counts for the non-taxable limits: the spouse and the dependants within the income limit.
  int dependants_counted = 0;
  int64_t human_deduction_difference = 0;  // 人的控除額の差 (the 調整控除's base)
  int64_t adjustment_credit_municipal = 0;     // 調整控除 (市町村民税)
  int64_t adjustment_credit_prefectural = 0;   // 調整控除 (道府県民税)
  bool per_capita_exempt = false;          // 均等割 非課税 (so also the forest environment tax)
  bool income_levy_exempt = false;         // 所得割 非課税
  int64_t income_levy_municipal = 0;       // 所得割 (市町村民税)
  int64_t income_levy_prefectural = 0;     // 所得割 (道府県民税)
  int64_t per_capita_municipal = 0;        // 均等割 (市町村民税, with the 復興 500 yen until FY2023)
  int64_t per_capita_prefectural = 0;      // 均等割 (道府県民税, with the 復興 500 yen until FY2023)
  int64_t forest_environment_tax = 0;      // 森林環境税 (national, from FY2024)
  int64_t total = 0;                       // everything above that is payable: 年税額

  bool operator==(const TaxAssessment&) const = default;
};

// Assesses a declaration by the rules of its fiscal year. `designated_city` selects the 8/2 split
// (see is_designated_city). Fails with invalid_argument for a fiscal year outside
// kFirstTaxYear..kLastTaxYear, a negative amount or age, or an amount above 10^12 yen.
Result<TaxAssessment> assess(const IncomeDeclaration& declaration, bool designated_city);

// The declaration as JSON text (the stored form) and back; from_json fails with invalid_argument
// on malformed text.
std::string declaration_to_json(const IncomeDeclaration& declaration);
Result<IncomeDeclaration> declaration_from_json(const std::string& json);

// One stored assessment.
struct TaxRecord {
  ResidentCode resident_code = {};
  int fiscal_year = 0;
  LocalGovernmentCode municipality_code = {};  // the municipality that assessed (domicile on 1 January)
  IncomeDeclaration declaration = {};
  TaxAssessment assessment = {};
  std::string recorded_at = {};                // ISO 8601 UTC
};

// The municipality's tax records (tables municipal_tax_*). Stateless: every function takes the
// connection to use, so that writes run inside the caller's transaction (the writer's job).
class TaxRecords {
 public:
  // Creates or upgrades the tables (component "municipal_tax"); conflict when the database holds
  // a newer schema than this binary knows.
  static Status migrate(store::Connection& conn);

  // Records the assessment of `record.resident_code` for `record.fiscal_year` by
  // `record.municipality_code`; a later record for the same three replaces it (a corrected
  // assessment, 更正). Fails with invalid_argument when the assessment's fiscal year is not the
  // declaration's, internal when the database fails. Runs in the caller's transaction, if any.
  static Status record(store::Connection& conn, const TaxRecord& record);

  // The assessment of a resident for a fiscal year (a resident is assessed by one municipality a
  // year; should two have recorded one, the latest recorded), or nullopt when there is none.
  static Result<std::optional<TaxRecord>> find(store::Connection& conn, const ResidentCode& resident,
                                               int fiscal_year);

  // Every assessment of a resident, newest fiscal year first.
  static Result<std::vector<TaxRecord>> list(store::Connection& conn, const ResidentCode& resident);
};

}  // namespace jlis::municipal
