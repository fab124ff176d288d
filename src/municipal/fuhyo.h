// The attachment to the family register (戸籍の附票): for each member of a register, the history of
// their addresses (住所 and 住所を定めた年月日), including the address abroad after a move abroad
// (国外転出, kept since the 2022 reform) and the return; and the attachment identity information
// (附票本人確認情報) built from it.
//
// The 附票 is kept by the 本籍 municipality but fed by the resident register: Fuhyo::attach adds a
// listener to the registry, so that every move of a resident whose resident code is linked to a
// current register member (one not removed, in an open register) updates that member's 附票 inside
// the registry's own transaction: a birth, a move-in (from a municipality or from abroad) and a
// relocation (転居) open a new entry and close the one before; a move abroad opens an entry with
// the address abroad; a death closes the current entry; a move-out to another municipality changes
// nothing until the move-in completes (the 附票 records the new address, not the pending move);
// a resident-code change (住民票コードの変更) follows the new code. A member who moves to another
// register (marriage, adoption, 転籍 ...) takes their current address along: the new register's
// 附票 starts with it, dated as before, and the old one's entry is closed.
//
// Stateless and thread-safe like Koseki; the tables are Koseki::migrate's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "municipal/koseki.h"
#include "registry/registry.h"

namespace jlis::municipal {

// One address of a member's 附票.
struct FuhyoEntry {
  std::string address;             // 住所, or the address abroad (国外転出先)
  bool abroad = false;
  Date since;                      // 住所を定めた年月日 (the day of the move abroad for an abroad entry)
  std::optional<Date> until;       // when the next address replaced it, or the entry was closed
  std::string reason;              // 出生, 転入, 転居, 国外転出, 国外転入, 記載 (linked), 入籍
  std::string end_reason;          // 転居, 転出, 国外転出, 死亡, 除籍 ... ("" while current)
  bool operator==(const FuhyoEntry&) const = default;
};

// A member's part of the 附票.
struct FuhyoMember {
  MemberRef ref;
  std::string name, name_kana;
  Date date_of_birth;
  registry::Sex sex = registry::Sex::male;
  std::string old_surname, old_surname_kana;
  bool removed = false;
  std::vector<FuhyoEntry> addresses;  // oldest first
};

// The data of a 戸籍の附票の写し.
struct FuhyoCopy {
  int64_t register_id = 0;
  LocalGovernmentCode municipality;
  std::string honseki, head_name;
  std::vector<FuhyoMember> members;
};

// 附票本人確認情報: what the 附票 side of 住基ネット holds of a person.
struct FuhyoIdentity {
  ResidentCode resident_code;
  std::string name, name_kana;
  Date date_of_birth;
  registry::Sex sex = registry::Sex::male;
  std::string address;              // the current address, or the address abroad
  bool abroad = false;
  std::optional<Date> address_since;  // 住所を定めた年月日 ("" when no 附票 entry yet)
  std::string old_surname, old_surname_kana;  // 旧氏 and its furigana ("" when none)
  LocalGovernmentCode municipality;   // the 本籍 municipality that holds the 附票
  std::string honseki, head_name;
  MemberRef ref;
};

// The JSON of GET /v1/fuhyo/{resident_code} (docs/openapi.yaml FuhyoIdentity): resident_code, name,
// name_kana, date_of_birth, sex, address, abroad, address_since (null when none), old_surname and
// old_surname_kana (null when none), municipality_code (of the 本籍, which keeps the 附票). The 本籍
// and the head's name stay out: they are not 附票本人確認情報.
nlohmann::json to_json(const FuhyoIdentity& identity);

// Linking a register member to the resident register: records the member's resident code and
// opens their 附票 with the resident's address as it stands (the address abroad for a resident
// abroad), dated `since` (住所を定めた年月日). Idempotent by event_id like the Koseki notices.
struct LinkNotice {
  std::string event_id;
  MemberRef member;
  registry::Resident resident;  // the resident record, as the registry answers it now
  Date since;
};

class Fuhyo {
 public:
  // Adds the listener that keeps the 附票 following the registry's changes (not thread-safe: call
  // before events are submitted). Koseki::migrate must have run on the registry's database: the
  // listener reads the register tables on every change. The listener touches only the municipal_koseki tables; a failure
  // of its own refuses the registry's event, as every listener's does.
  static void attach(registry::Registry& registry);
  // The listener's body, for callers that feed changes themselves.
  static Status on_change(store::Connection& conn, const registry::ChangeEvent& event,
                          const std::optional<registry::Resident>& before, const registry::Resident& after);

  // Links a member to a resident (see LinkNotice). not_found for an unknown member or a register of
  // another municipality; conflict when the member is removed, already linked to another code, or
  // another current member has this code; invalid_argument for `since` in the future.
  static Result<KosekiOutcome> link(store::Connection& conn, const LocalGovernmentCode& by, const LinkNotice& notice);

  // The 附票 of chosen members of a register (empty `members`: every member), in register order;
  // not_found for an unknown register or member.
  static Result<FuhyoCopy> copy(store::Connection& conn, int64_t register_id, const std::vector<int>& members = {});
  // The attachment identity information of the person with this resident code (their current
  // member row); not_found when no current member has it.
  static Result<FuhyoIdentity> identity(store::Connection& conn, const ResidentCode& code);
};

}  // namespace jlis::municipal
