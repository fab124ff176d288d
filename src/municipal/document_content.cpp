#include "municipal/document_content.h"

#include <array>

#include "common/enum_names.h"

namespace jlis::municipal {
namespace {

constexpr std::array<std::string_view, 6> kTypeNames = {"juminhyo", "kisai-jiko", "inkan",
                                                        "koseki",   "koseki-fuhyo", "kazei"};
constexpr std::array<std::string_view, 6> kTitles = {"住民票の写し",     "住民票記載事項証明書", "印鑑登録証明書",
                                                     "戸籍全部事項証明書", "戸籍の附票の写し",     "所得・課税証明書"};

std::string sex_kanji(registry::Sex sex) { return sex == registry::Sex::male ? "男" : "女"; }

// 1,234,567円
std::string yen(int64_t amount) {
  std::string digits = std::to_string(amount < 0 ? -amount : amount);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (amount < 0 ? "-" : "") + out + "円";
}

Document base(DocumentType type, const Issuer& issuer, Date issued_on, const std::string& number,
              std::string certification, std::string subject) {
  Document d;
  d.title = std::string(document_title(type));
  d.issuer = issuer;
  d.issued_on = issued_on;
  d.issuance_number = number;
  d.certification = std::move(certification);
  d.subject = std::move(subject);
  return d;
}

}  // namespace

std::string_view document_type_name(DocumentType type) { return kTypeNames[static_cast<size_t>(type)]; }
Result<DocumentType> parse_document_type(std::string_view name) {
  return parse_enum_name<DocumentType>(kTypeNames, name, "type");
}
std::string_view document_title(DocumentType type) { return kTitles[static_cast<size_t>(type)]; }

std::string japanese_date(Date date) {
  auto text = format_japanese(date);
  return text.ok() ? *text : date.to_iso();
}

Document resident_sheet(const Issuer& issuer, Date issued_on, const std::string& number, const Household& household,
                        const std::vector<ResidentSheetPerson>& people, const ResidentSheetItems& items,
                        bool certified_items) {
  const std::string subject = people.empty() ? "" : people.front().resident.person.name;
  Document d = base(certified_items ? DocumentType::kisai_jiko : DocumentType::juminhyo, issuer, issued_on, number,
                    certified_items ? "上記の事項は、住民票に記載されていることを証明する。"
                                    : "この写しは、世帯全員又は一部の住民票の原本と相違ないことを証明する。",
                    subject);
  // The household's part: the address (the head's), and the head when asked for.
  const ResidentSheetPerson* head = nullptr;
  for (const auto& p : people)
    if (p.resident.resident_code == household.head) head = &p;
  FieldTable top;
  top.rows.push_back({"住所", people.empty() ? "" : (head ? head : &people.front())->resident.person.address});
  if (items.head_and_relationship && head)
    top.rows.push_back({"世帯主", RubyText(head->resident.person.name, head->resident.person.name_kana)});
  d.blocks.push_back(std::move(top));
  for (const auto& p : people) {
    const registry::Person& who = p.resident.person;
    FieldTable t;
    t.rows.push_back({"氏名", RubyText(who.name, who.name_kana)});
    t.rows.push_back({"生年月日", japanese_date(who.date_of_birth)});
    t.rows.push_back({"性別", sex_kanji(who.sex)});
    if (items.head_and_relationship) t.rows.push_back({"続柄", p.member.relationship});
    t.rows.push_back({"住民となった年月日", japanese_date(p.member.became_resident_on)});
    t.rows.push_back({"住所を定めた年月日", japanese_date(p.member.address_set_on) + "　届出 " +
                                                japanese_date(p.member.notified_on)});
    t.rows.push_back({"前住所", p.member.previous_address.empty() ? "―" : p.member.previous_address});
    if (items.honseki) {
      t.rows.push_back({"本籍", p.honseki.empty() ? "―" : p.honseki});
      t.rows.push_back({"筆頭者", p.head_of_register.empty() ? "―" : p.head_of_register});
    }
    if (items.my_number)
      t.rows.push_back({"個人番号", p.resident.my_number ? p.resident.my_number->str() : "―"});
    d.blocks.push_back(std::move(t));
  }
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

Document seal_certificate(const Issuer& issuer, Date issued_on, const std::string& number,
                          const registry::Resident& holder, const std::string& impression_png) {
  Document d = base(DocumentType::inkan, issuer, issued_on, number,
                    "この写しは、登録されている印影と相違ないことを証明する。", holder.person.name);
  d.blocks.push_back(ImageBox{impression_png, "印影", 30, 30});
  FieldTable t;
  t.rows.push_back({"氏名", RubyText(holder.person.name, holder.person.name_kana)});
  t.rows.push_back({"生年月日", japanese_date(holder.person.date_of_birth)});
  t.rows.push_back({"性別", sex_kanji(holder.person.sex)});
  t.rows.push_back({"住所", holder.person.address});
  d.blocks.push_back(std::move(t));
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

namespace {

// A 身分事項 as the computerised register prints it: 【出生日】令和元年5月1日 【出生地】…
std::string entry_text(const KosekiEntry& e) {
  std::string out;
  auto item = [&](const char* label, const std::string& value) {
    if (value.empty()) return;
    if (!out.empty()) out += "　";
    out += std::string("【") + label + "】" + value;
  };
  switch (e.kind) {
    case KosekiEntryKind::birth:
      item("出生日", japanese_date(e.date));
      item("出生地", e.place);
      break;
    case KosekiEntryKind::death:
      item("死亡日", japanese_date(e.date));
      item("死亡地", e.place);
      break;
    case KosekiEntryKind::marriage:
    case KosekiEntryKind::divorce:
      item(e.kind == KosekiEntryKind::marriage ? "婚姻日" : "離婚日", japanese_date(e.date));
      item("配偶者氏名", e.counterpart);
      item("従前戸籍", e.other_register);
      break;
    case KosekiEntryKind::adoption:
      item("縁組日", japanese_date(e.date));
      item("養親氏名", e.counterpart);
      item("従前戸籍", e.other_register);
      break;
    case KosekiEntryKind::old_surname:
      item("記録日", japanese_date(e.date));
      item("旧氏", e.counterpart);
      break;
    case KosekiEntryKind::made:
      item("編製日", japanese_date(e.date));
      item("編製事由", e.counterpart);
      break;
    default:
      item(std::string(entry_kind_name(e.kind)).append("日").c_str(), japanese_date(e.date));
      item("事由", e.counterpart);
      item("関係戸籍", e.other_register);
      break;
  }
  if (e.notified_on) item("届出日", japanese_date(*e.notified_on));
  item("届出人", e.notifier);
  return out;
}

}  // namespace

Document family_register_certificate(const Issuer& issuer, Date issued_on, const std::string& number,
                                     const KosekiRegister& reg, std::optional<int> only, const std::string& subject) {
  Document d = base(DocumentType::koseki, issuer, issued_on, number,
                    only ? "これは、戸籍中の一部の者について記録されている事項の全部を証明した書面である。"
                         : "これは、戸籍に記録されている事項の全部を証明した書面である。",
                    subject);
  if (only) d.title = "戸籍個人事項証明書";
  FieldTable top;
  top.rows.push_back({"本籍", reg.honseki});
  top.rows.push_back({"氏名", reg.head_name});
  d.blocks.push_back(std::move(top));
  GridTable reg_entries{{"戸籍事項", "内容"}, {1, 4}, {}};
  for (const KosekiEntry& e : reg.entries)
    reg_entries.rows.push_back({std::string(entry_kind_name(e.kind)), entry_text(e)});
  if (!reg_entries.rows.empty()) d.blocks.push_back(std::move(reg_entries));
  for (const KosekiMember& m : reg.members) {
    if (only && m.ref.member != *only) continue;
    FieldTable t;
    t.rows.push_back({"戸籍に記録されている者", RubyText(m.name, m.name_kana)});
    t.rows.push_back({"生年月日", japanese_date(m.date_of_birth)});
    if (!m.father.empty()) t.rows.push_back({"父", m.father});
    if (!m.mother.empty()) t.rows.push_back({"母", m.mother});
    if (!m.adoptive_father.empty()) t.rows.push_back({"養父", m.adoptive_father});
    if (!m.adoptive_mother.empty()) t.rows.push_back({"養母", m.adoptive_mother});
    t.rows.push_back({"続柄", m.relationship.empty() ? "―" : m.relationship});
    if (m.removed) t.rows.push_back({"", "除籍"});
    d.blocks.push_back(std::move(t));
    GridTable status{{"身分事項", "内容"}, {1, 4}, {}};
    for (const KosekiEntry& e : m.entries) status.rows.push_back({std::string(entry_kind_name(e.kind)), entry_text(e)});
    if (!status.rows.empty()) d.blocks.push_back(std::move(status));
  }
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

Document fuhyo_copy(const Issuer& issuer, Date issued_on, const std::string& number, const FuhyoCopy& copy,
                    const std::string& subject) {
  Document d = base(DocumentType::koseki_fuhyo, issuer, issued_on, number,
                    "この写しは、戸籍の附票の原本と相違ないことを証明する。", subject);
  FieldTable top;
  top.rows.push_back({"本籍", copy.honseki});
  top.rows.push_back({"筆頭者", copy.head_name});
  d.blocks.push_back(std::move(top));
  for (const FuhyoMember& m : copy.members) {
    FieldTable who;
    who.rows.push_back({"氏名", RubyText(m.name, m.name_kana)});
    who.rows.push_back({"生年月日", japanese_date(m.date_of_birth)});
    who.rows.push_back({"性別", sex_kanji(m.sex)});
    if (!m.old_surname.empty()) who.rows.push_back({"旧氏", RubyText(m.old_surname, m.old_surname_kana)});
    d.blocks.push_back(std::move(who));
    GridTable addresses{{"住所", "住所を定めた年月日"}, {3, 1}, {}};
    for (const FuhyoEntry& a : m.addresses)
      addresses.rows.push_back({(a.abroad ? "国外（" + a.address + "）" : a.address), japanese_date(a.since)});
    if (addresses.rows.empty()) addresses.rows.push_back({"―", "―"});
    d.blocks.push_back(std::move(addresses));
  }
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

Document tax_certificate(const Issuer& issuer, Date issued_on, const std::string& number,
                         const registry::Resident& taxpayer, const TaxRecord& record) {
  Document d = base(DocumentType::kazei, issuer, issued_on, number, "上記のとおり証明する。", taxpayer.person.name);
  const TaxAssessment& a = record.assessment;
  FieldTable who;
  who.rows.push_back({"年度", "令和" + std::to_string(record.fiscal_year - 2018) + "年度（" +
                                  std::to_string(record.fiscal_year - 1) + "年分の所得）"});
  who.rows.push_back({"住所", taxpayer.person.address});
  who.rows.push_back({"氏名", RubyText(taxpayer.person.name, taxpayer.person.name_kana)});
  who.rows.push_back({"生年月日", japanese_date(taxpayer.person.date_of_birth)});
  d.blocks.push_back(std::move(who));
  GridTable income{{"所得の種類", "金額"}, {2, 1}, {}};
  income.rows.push_back({"給与所得", yen(a.salary_income - a.income_adjustment)});
  income.rows.push_back({"公的年金等に係る雑所得", yen(a.pension_income)});
  income.rows.push_back({"事業所得", yen(a.business_income)});
  income.rows.push_back({"その他の雑所得", yen(a.miscellaneous_income)});
  income.rows.push_back({"総所得金額", yen(a.total_income)});
  d.blocks.push_back(std::move(income));
  GridTable deductions{{"所得控除", "金額"}, {2, 1}, {}};
  deductions.rows.push_back({"社会保険料控除", yen(a.social_insurance_deduction)});
  deductions.rows.push_back({"配偶者控除・配偶者特別控除", yen(a.spouse_deduction + a.spouse_special_deduction)});
  deductions.rows.push_back({"扶養控除（" + std::to_string(a.dependants_counted) + "人）", yen(a.dependant_deduction)});
  deductions.rows.push_back({"基礎控除", yen(a.basic_deduction)});
  deductions.rows.push_back({"所得控除合計", yen(a.total_deductions)});
  deductions.rows.push_back({"課税標準額", yen(a.taxable_income)});
  d.blocks.push_back(std::move(deductions));
  GridTable tax{{"税額", "市町村民税", "道府県民税"}, {2, 1, 1}, {}};
  tax.rows.push_back({"所得割額", yen(a.income_levy_municipal), yen(a.income_levy_prefectural)});
  tax.rows.push_back({"均等割額", yen(a.per_capita_municipal), yen(a.per_capita_prefectural)});
  tax.rows.push_back({"森林環境税", a.forest_environment_tax > 0 ? yen(a.forest_environment_tax) : "―", "―"});
  tax.rows.push_back({"年税額（合計）", yen(a.total), ""});
  d.blocks.push_back(std::move(tax));
  if (a.per_capita_exempt || a.income_levy_exempt)
    d.blocks.push_back(Note{a.per_capita_exempt ? "非課税（均等割・所得割）" : "所得割非課税", Note::Align::left});
  d.blocks.push_back(Note{"以下余白", Note::Align::center});
  return d;
}

}  // namespace jlis::municipal
