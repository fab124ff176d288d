#include "municipal/tax.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "municipal/tax_rules.h"
#include "store/migrations.h"

namespace jlis::municipal {

namespace {

namespace rules = tax_rules;

// Above this an amount is a typing error, and products of it with percentages stay far from overflow.
constexpr int64_t kMaxAmount = 1'000'000'000'000;

Status check_amount(int64_t v, const char* what) {
  if (v < 0) return invalid_argument(std::string(what) + " is negative");
  if (v > kMaxAmount) return invalid_argument(std::string(what) + " is implausibly large");
  return Status::ok();
}

Status check_age(int age, const char* whose) {
  if (age < 0 || age > 150) return invalid_argument(std::string(whose) + " age is out of range");
  return Status::ok();
}

Status check(const IncomeDeclaration& d) {
  if (d.fiscal_year < kFirstTaxYear || d.fiscal_year > kLastTaxYear)
    return invalid_argument("no tax rules for fiscal year " + std::to_string(d.fiscal_year) + " (known: " +
                            std::to_string(kFirstTaxYear) + " to " + std::to_string(kLastTaxYear) + ")");
  JLIS_RETURN_IF_ERROR(check_age(d.age, "the taxpayer's"));
  JLIS_RETURN_IF_ERROR(check_amount(d.salary_revenue, "salary revenue"));
  JLIS_RETURN_IF_ERROR(check_amount(d.pension_revenue, "pension revenue"));
  JLIS_RETURN_IF_ERROR(check_amount(d.business_income, "business income"));
  JLIS_RETURN_IF_ERROR(check_amount(d.miscellaneous_income, "miscellaneous income"));
  JLIS_RETURN_IF_ERROR(check_amount(d.social_insurance_premiums, "social insurance premiums"));
  if (d.spouse) {
    JLIS_RETURN_IF_ERROR(check_age(d.spouse->age, "the spouse's"));
    JLIS_RETURN_IF_ERROR(check_amount(d.spouse->total_income, "the spouse's income"));
  }
  if (d.dependants.size() > 100) return invalid_argument("too many dependants");
  for (const Dependant& dep : d.dependants) {
    JLIS_RETURN_IF_ERROR(check_age(dep.age, "a dependant's"));
    JLIS_RETURN_IF_ERROR(check_amount(dep.total_income, "a dependant's income"));
  }
  return Status::ok();
}

int64_t round_down(int64_t v, int64_t unit) { return v / unit * unit; }

}  // namespace

int tax_age(Date date_of_birth, int fiscal_year) {
  return age_on(date_of_birth, Date::from_ymd(fiscal_year - 1, 12, 31).value());
}

// The 20 指定都市 (地方自治法第252条の19第1項; 地方自治法第二百五十二条の十九第一項の指定都市の
// 指定に関する政令, the last added 熊本市 on 2012-04-01), as in ../shared/data/municipalities.csv
// (type 政令市). Their wards (行政区) have the codes that follow the city's: up to 28 above it
// (大阪市北区 27127, 大阪市中央区 27128), and no other municipality's code lies in that range.
bool is_designated_city(LocalGovernmentCode code) {
  static constexpr std::array<uint32_t, 20> kCities = {
      1100,  4100,  11100, 12100, 14100, 14130, 14150, 15100, 22100, 22130,
      23100, 26100, 27100, 27140, 28100, 33100, 34100, 40100, 40130, 43100};
  const uint32_t body = code.body();
  for (uint32_t city : kCities)
    if (body >= city && body < city + 30) return true;
  return false;
}

Result<TaxAssessment> assess(const IncomeDeclaration& d, bool designated_city) {
  JLIS_RETURN_IF_ERROR(check(d));
  const int fy = d.fiscal_year;
  TaxAssessment a;
  a.fiscal_year = fy;
  a.designated_city = designated_city;

  // Who counts: the spouse and dependants within the income limit (同一生計配偶者, 扶養親族).
  const int64_t limit = rules::dependant_income_limit(fy);
  const bool spouse_counts = d.spouse && d.spouse->total_income <= limit;
  std::vector<const Dependant*> dependants;
  for (const Dependant& dep : d.dependants)
    if (dep.total_income <= limit) dependants.push_back(&dep);
  const bool dependant_under_23 =
      std::any_of(dependants.begin(), dependants.end(), [](const Dependant* dep) { return dep->age < 23; });
  a.dependants_counted = static_cast<int>(dependants.size()) + (spouse_counts ? 1 : 0);

  // 1. Income.
  a.salary_income = d.salary_revenue > 0 ? rules::salary_income(fy, d.salary_revenue) : 0;
  const int64_t salary_adjustment =
      std::min(a.salary_income, rules::salary_adjustment(fy, d.salary_revenue, dependant_under_23));
  const int64_t salary_after = a.salary_income - salary_adjustment;
  a.business_income = d.business_income;
  a.miscellaneous_income = d.miscellaneous_income;
  const int64_t other_income = salary_after + a.business_income + a.miscellaneous_income;
  a.pension_income = d.pension_revenue > 0 ? rules::pension_income(fy, d.age, d.pension_revenue, other_income) : 0;
  a.income_adjustment = salary_adjustment + rules::salary_pension_adjustment(fy, salary_after, a.pension_income);
  a.total_income = a.salary_income - a.income_adjustment + a.pension_income + a.business_income + a.miscellaneous_income;

  // 2. Deductions, and the 人的控除額の差 of each human deduction.
  a.social_insurance_deduction = d.social_insurance_premiums;
  int64_t difference = rules::basic_deduction_difference(fy);
  if (spouse_counts) {
    const rules::HumanDeduction s = rules::spouse_deduction(fy, a.total_income, d.spouse->age);
    a.spouse_deduction = s.amount;
    difference += s.difference;
  } else if (d.spouse) {
    const rules::HumanDeduction s = rules::spouse_special_deduction(fy, a.total_income, d.spouse->total_income);
    a.spouse_special_deduction = s.amount;
    difference += s.difference;
  }
  for (const Dependant* dep : dependants) {
    const rules::HumanDeduction s = rules::dependant_deduction(fy, dep->age, dep->lives_with_taxpayer);
    a.dependant_deduction += s.amount;
    difference += s.difference;
  }
  a.basic_deduction = rules::basic_deduction(fy, a.total_income);
  a.human_deduction_difference = difference;
  a.total_deductions = a.social_insurance_deduction + a.spouse_deduction + a.spouse_special_deduction +
                       a.dependant_deduction + a.basic_deduction;

  // 3. Taxable income, rounded down to 1,000 yen (地方税法第20条の4の2第1項).
  a.taxable_income = round_down(std::max<int64_t>(0, a.total_income - a.total_deductions), 1'000);

  // 6 first: the non-taxable limits decide whether 4 and 5 charge anything.
  a.per_capita_exempt = a.total_income <= rules::per_capita_exempt_limit(fy, a.dependants_counted);
  const int64_t income_limit = rules::income_levy_exempt_limit(fy, a.dependants_counted);
  a.income_levy_exempt = a.per_capita_exempt || a.total_income <= income_limit;

  // 4. Income levy and the adjustment credit (調整控除, 地方税法第314条の6 / 第37条).
  if (!a.income_levy_exempt) {
    const rules::Split rate = rules::income_levy_percent(fy, designated_city);
    int64_t municipal = a.taxable_income * rate.municipal / 100;
    int64_t prefectural = a.taxable_income * rate.prefectural / 100;
    if (a.taxable_income > 0 && rules::adjustment_credit_applies(fy, a.total_income)) {
      constexpr int64_t kThreshold = 2'000'000, kMinimumBase = 50'000;
      const int64_t base = a.taxable_income <= kThreshold
                               ? std::min(difference, a.taxable_income)
                               : std::max(difference - (a.taxable_income - kThreshold), kMinimumBase);
      const rules::Split credit = rules::adjustment_credit_percent(fy, designated_city);
      a.adjustment_credit_municipal = std::min(municipal, base * credit.municipal / 100);
      a.adjustment_credit_prefectural = std::min(prefectural, base * credit.prefectural / 100);
      municipal -= a.adjustment_credit_municipal;
      prefectural -= a.adjustment_credit_prefectural;
    }
    // Just above the limit the levy is at most half of the excess (附則第3条の3第2項 / 第5項).
    const rules::Split cap = rules::exempt_cap_percent(fy, designated_city);
    municipal = std::min(municipal, (a.total_income - income_limit) * cap.municipal / 100);
    prefectural = std::min(prefectural, (a.total_income - income_limit) * cap.prefectural / 100);
    // Each tax's amount rounded down to 100 yen (地方税法第20条の4の2第3項).
    a.income_levy_municipal = round_down(municipal, 100);
    a.income_levy_prefectural = round_down(prefectural, 100);
  }

  // 5. Per-capita levy and the forest environment tax.
  if (!a.per_capita_exempt) {
    const rules::PerCapita pc = rules::per_capita(fy);
    a.per_capita_municipal = pc.municipal;
    a.per_capita_prefectural = pc.prefectural;
    a.forest_environment_tax = pc.forest_environment;
  }
  a.total = a.income_levy_municipal + a.income_levy_prefectural + a.per_capita_municipal + a.per_capita_prefectural +
            a.forest_environment_tax;
  return a;
}

// --- JSON -------------------------------------------------------------------------------------

std::string declaration_to_json(const IncomeDeclaration& d) {
  nlohmann::json j = {{"fiscal_year", d.fiscal_year},
                      {"age", d.age},
                      {"salary_revenue", d.salary_revenue},
                      {"pension_revenue", d.pension_revenue},
                      {"business_income", d.business_income},
                      {"miscellaneous_income", d.miscellaneous_income},
                      {"social_insurance_premiums", d.social_insurance_premiums},
                      {"spouse", nullptr},
                      {"dependants", nlohmann::json::array()}};
  if (d.spouse) j["spouse"] = {{"age", d.spouse->age}, {"total_income", d.spouse->total_income}};
  for (const Dependant& dep : d.dependants)
    j["dependants"].push_back(
        {{"age", dep.age}, {"total_income", dep.total_income}, {"lives_with_taxpayer", dep.lives_with_taxpayer}});
  return j.dump();
}

Result<IncomeDeclaration> declaration_from_json(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return invalid_argument("the declaration is not a JSON object");
  try {
    IncomeDeclaration d;
    d.fiscal_year = j.at("fiscal_year").get<int>();
    d.age = j.at("age").get<int>();
    d.salary_revenue = j.at("salary_revenue").get<int64_t>();
    d.pension_revenue = j.at("pension_revenue").get<int64_t>();
    d.business_income = j.at("business_income").get<int64_t>();
    d.miscellaneous_income = j.at("miscellaneous_income").get<int64_t>();
    d.social_insurance_premiums = j.at("social_insurance_premiums").get<int64_t>();
    if (j.contains("spouse") && !j.at("spouse").is_null())
      d.spouse = Spouse{j.at("spouse").at("age").get<int>(), j.at("spouse").at("total_income").get<int64_t>()};
    if (j.contains("dependants")) {
      for (const auto& dep : j.at("dependants"))
        d.dependants.push_back({dep.at("age").get<int>(), dep.at("total_income").get<int64_t>(),
                                dep.value("lives_with_taxpayer", false)});
    }
    return d;
  } catch (const nlohmann::json::exception&) {
    return invalid_argument("the declaration's JSON lacks a field or has one of the wrong type");
  }
}

// --- Storage ----------------------------------------------------------------------------------

namespace {

const std::vector<store::Migration> kTaxMigrations = {{1, R"(
  -- One row per assessment: the declaration as JSON (its form may grow), the figures as columns (what
  -- certificates and statistics read). A resident is assessed by the municipality of 1 January.
  CREATE TABLE municipal_tax_assessments (
    resident_code BIGINT NOT NULL, fiscal_year BIGINT NOT NULL, municipality_code TEXT NOT NULL,
    declaration_json TEXT NOT NULL, designated_city BIGINT NOT NULL,
    salary_income BIGINT NOT NULL, pension_income BIGINT NOT NULL, business_income BIGINT NOT NULL,
    miscellaneous_income BIGINT NOT NULL, income_adjustment BIGINT NOT NULL, total_income BIGINT NOT NULL,
    social_insurance_deduction BIGINT NOT NULL, spouse_deduction BIGINT NOT NULL,
    spouse_special_deduction BIGINT NOT NULL,
    dependant_deduction BIGINT NOT NULL, basic_deduction BIGINT NOT NULL, total_deductions BIGINT NOT NULL,
    taxable_income BIGINT NOT NULL, dependants_counted BIGINT NOT NULL, human_deduction_difference BIGINT NOT NULL,
    adjustment_credit_municipal BIGINT NOT NULL, adjustment_credit_prefectural BIGINT NOT NULL,
    per_capita_exempt BIGINT NOT NULL, income_levy_exempt BIGINT NOT NULL,
    income_levy_municipal BIGINT NOT NULL, income_levy_prefectural BIGINT NOT NULL,
    per_capita_municipal BIGINT NOT NULL, per_capita_prefectural BIGINT NOT NULL,
    forest_environment_tax BIGINT NOT NULL, total BIGINT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (resident_code, fiscal_year, municipality_code));
)"}};

// The figure columns, in the table's order, and the TaxAssessment member each holds.
struct Figure {
  const char* column;
  int64_t TaxAssessment::*member;
};
constexpr Figure kFigures[] = {
    {"salary_income", &TaxAssessment::salary_income},
    {"pension_income", &TaxAssessment::pension_income},
    {"business_income", &TaxAssessment::business_income},
    {"miscellaneous_income", &TaxAssessment::miscellaneous_income},
    {"income_adjustment", &TaxAssessment::income_adjustment},
    {"total_income", &TaxAssessment::total_income},
    {"social_insurance_deduction", &TaxAssessment::social_insurance_deduction},
    {"spouse_deduction", &TaxAssessment::spouse_deduction},
    {"spouse_special_deduction", &TaxAssessment::spouse_special_deduction},
    {"dependant_deduction", &TaxAssessment::dependant_deduction},
    {"basic_deduction", &TaxAssessment::basic_deduction},
    {"total_deductions", &TaxAssessment::total_deductions},
    {"taxable_income", &TaxAssessment::taxable_income},
    {"human_deduction_difference", &TaxAssessment::human_deduction_difference},
    {"adjustment_credit_municipal", &TaxAssessment::adjustment_credit_municipal},
    {"adjustment_credit_prefectural", &TaxAssessment::adjustment_credit_prefectural},
    {"income_levy_municipal", &TaxAssessment::income_levy_municipal},
    {"income_levy_prefectural", &TaxAssessment::income_levy_prefectural},
    {"per_capita_municipal", &TaxAssessment::per_capita_municipal},
    {"per_capita_prefectural", &TaxAssessment::per_capita_prefectural},
    {"forest_environment_tax", &TaxAssessment::forest_environment_tax},
    {"total", &TaxAssessment::total},
};
// The columns before the figures, in the order read_record reads them and record writes them: the
// key (the first three), the declaration, then the assessment's flags.
constexpr const char* kLeadColumns[] = {"resident_code",      "fiscal_year",       "municipality_code",
                                        "declaration_json",   "recorded_at",       "designated_city",
                                        "dependants_counted", "per_capita_exempt", "income_levy_exempt"};
std::string select_columns() {
  std::string s;
  for (const char* c : kLeadColumns) s += std::string(s.empty() ? "" : ", ") + c;
  for (const Figure& f : kFigures) s += std::string(", ") + f.column;
  return s;
}
constexpr int kFirstFigureColumn = static_cast<int>(std::size(kLeadColumns));

Result<TaxRecord> read_record(const store::Row& r) {
  TaxRecord rec;
  rec.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(0)));
  rec.fiscal_year = static_cast<int>(r.int64(1));
  JLIS_ASSIGN_OR_RETURN(rec.municipality_code, LocalGovernmentCode::parse(r.text(2)));
  JLIS_ASSIGN_OR_RETURN(rec.declaration, declaration_from_json(r.text(3)));
  rec.recorded_at = r.text(4);
  TaxAssessment& a = rec.assessment;
  a.fiscal_year = rec.fiscal_year;
  a.designated_city = r.int64(5) != 0;
  a.dependants_counted = static_cast<int>(r.int64(6));
  a.per_capita_exempt = r.int64(7) != 0;
  a.income_levy_exempt = r.int64(8) != 0;
  int column = kFirstFigureColumn;
  for (const Figure& f : kFigures) a.*f.member = r.int64(column++);
  return rec;
}

Result<std::vector<TaxRecord>> query_records(store::Connection& conn, const std::string& where,
                                             const store::Params& params) {
  std::vector<TaxRecord> out;
  Status failed;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT " + select_columns() + " FROM municipal_tax_assessments " + where, params,
                                  [&](const store::Row& r) {
                                    auto rec = read_record(r);
                                    if (!rec.ok()) {
                                      failed = internal_error("a stored tax record is unreadable: " +
                                                              rec.status().message());
                                      return false;
                                    }
                                    out.push_back(std::move(*rec));
                                    return true;
                                  }));
  JLIS_RETURN_IF_ERROR(failed);
  return out;
}

}  // namespace

Status TaxRecords::migrate(store::Connection& conn) { return store::migrate(conn, "municipal_tax", kTaxMigrations); }

Status TaxRecords::record(store::Connection& conn, const TaxRecord& rec) {
  if (rec.assessment.fiscal_year != rec.declaration.fiscal_year || rec.fiscal_year != rec.declaration.fiscal_year)
    return invalid_argument("the assessment is not of the declaration's fiscal year");
  const TaxAssessment& a = rec.assessment;
  std::vector<std::string> names(std::begin(kLeadColumns), std::end(kLeadColumns));
  store::Params params = {static_cast<int64_t>(rec.resident_code.body()),
                          static_cast<int64_t>(rec.fiscal_year),
                          rec.municipality_code.str(),
                          declaration_to_json(rec.declaration),
                          rec.recorded_at.empty() ? now_iso8601() : rec.recorded_at,
                          int64_t{a.designated_city},
                          int64_t{a.dependants_counted},
                          int64_t{a.per_capita_exempt},
                          int64_t{a.income_levy_exempt}};
  for (const Figure& f : kFigures) {
    names.push_back(f.column);
    params.push_back(a.*f.member);
  }
  std::string columns, placeholders, update;
  for (size_t i = 0; i < names.size(); ++i) {
    columns += (i ? ", " : "") + names[i];
    placeholders += i ? ", ?" : "?";
    // A corrected assessment (更正) replaces everything but the key (the first three columns).
    if (i >= 3) update += (i > 3 ? ", " : "") + names[i] + " = excluded." + names[i];
  }
  return conn
      .execute("INSERT INTO municipal_tax_assessments (" + columns + ") VALUES (" + placeholders +
                   ") ON CONFLICT (resident_code, fiscal_year, municipality_code) DO UPDATE SET " + update,
               params)
      .status();
}

Result<std::optional<TaxRecord>> TaxRecords::find(store::Connection& conn, const ResidentCode& resident,
                                                  int fiscal_year) {
  JLIS_ASSIGN_OR_RETURN(auto records,
                        query_records(conn, "WHERE resident_code = ? AND fiscal_year = ? ORDER BY recorded_at DESC",
                                      {static_cast<int64_t>(resident.body()), static_cast<int64_t>(fiscal_year)}));
  if (records.empty()) return std::optional<TaxRecord>();
  return std::optional<TaxRecord>(std::move(records.front()));
}

Result<std::vector<TaxRecord>> TaxRecords::list(store::Connection& conn, const ResidentCode& resident) {
  return query_records(conn, "WHERE resident_code = ? ORDER BY fiscal_year DESC, recorded_at DESC",
                       {static_cast<int64_t>(resident.body())});
}

}  // namespace jlis::municipal
