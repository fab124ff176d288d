// What each of the six kiosk documents says, as a municipality prints it: pure functions from the
// records (read by the issuance server inside its transaction) to the renderer's model (document.h).
// No store, no clock: the same records, date and number give the same document.
//
// The certification sentences and the items follow the standard forms: a 住民票の写し lists up to
// four people a sheet with 住所を定めた年月日 and 届出日 and the furigana of names, never the resident
// code; 世帯主・続柄, 本籍・筆頭者 and 個人番号 only when asked for.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "municipal/document.h"
#include "municipal/fuhyo.h"
#include "municipal/household.h"
#include "municipal/koseki.h"
#include "municipal/tax.h"
#include "registry/resident.h"

namespace jlis::municipal {

// The six documents, by their names in the CLI and the API.
enum class DocumentType { juminhyo, kisai_jiko, inkan, koseki, koseki_fuhyo, kazei };
std::string_view document_type_name(DocumentType type);  // "juminhyo" ...
Result<DocumentType> parse_document_type(std::string_view name);
std::string_view document_title(DocumentType type);      // "住民票の写し" ...

// The optional items of a 住民票の写し / 記載事項証明書 (the resident chooses them at the kiosk).
struct ResidentSheetItems {
  bool head_and_relationship = false;  // 世帯主・続柄
  bool honseki = false;                // 本籍・筆頭者
  bool my_number = false;              // 個人番号
};

// One person on a 住民票: the register's record, the household's, and the 本籍 when known.
struct ResidentSheetPerson {
  registry::Resident resident;
  HouseholdMember member;
  std::string honseki, head_of_register;  // "" when the person's register is not known
};

// 住民票の写し (`certified_items` false) or 住民票記載事項証明書 (true). `people` in household
// order, the first the applicant or the household's head.
Document resident_sheet(const Issuer& issuer, Date issued_on, const std::string& number, const Household& household,
                        const std::vector<ResidentSheetPerson>& people, const ResidentSheetItems& items,
                        bool certified_items);

// 印鑑登録証明書: the registered impression with the holder's name, date of birth and address.
Document seal_certificate(const Issuer& issuer, Date issued_on, const std::string& number,
                          const registry::Resident& holder, const std::string& impression_png);

// 戸籍全部事項証明書, or 個人事項証明書 of the member `only` (1-based register order).
Document family_register_certificate(const Issuer& issuer, Date issued_on, const std::string& number,
                                     const KosekiRegister& reg, std::optional<int> only, const std::string& subject);

// 戸籍の附票の写し of the members in `copy`.
Document fuhyo_copy(const Issuer& issuer, Date issued_on, const std::string& number, const FuhyoCopy& copy,
                    const std::string& subject);

// 所得・課税証明書 of one fiscal year.
Document tax_certificate(const Issuer& issuer, Date issued_on, const std::string& number,
                         const registry::Resident& taxpayer, const TaxRecord& record);

// 令和7年12月2日 (the ISO date when the era is unknown: before 明治).
std::string japanese_date(Date date);

}  // namespace jlis::municipal
