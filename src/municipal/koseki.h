// The family register (戸籍), held by the municipality of its 本籍, and the notices that change it.
//
// A register (戸籍) is made for a 本籍 (a place: 東京都千代田区千代田1番) and a head (筆頭者); its
// members are listed in the order they entered, and a member who leaves (除籍: marriage into another
// register, death, adoption, 分籍) stays listed, marked removed, with the entry that removed them.
// Each member carries the facts of their civil status (身分事項: 出生, 婚姻, 離婚, 養子縁組, 死亡, 分籍,
// 除籍); the register carries its own (編製, 転籍, 消除). A register whose last member left, or
// that moved its 本籍 to another municipality, is closed (除籍簿) and kept.
//
// Every notice (届出) is one call on the caller's connection, which must be inside a transaction (a
// store::Writer job, or a store::Transaction for tools and tests): every check runs there, before
// the first write, so a refused notice writes nothing; a failure of the database itself returns an
// error and the caller's rollback removes what was written. Each notice carries an idempotency
// key (event_id, unique per submitting municipality): a retry with the same content answers as the
// first time (replay = true) and writes nothing; the key reused for a different notice answers
// conflict. Errors: invalid_argument (malformed: empty or over-long name, a name without the space
// between surname and given name, a date in the future or before birth), not_found (an unknown
// register or member, or one held by another municipality: the same answer), conflict (the
// notice contradicts the register: a member already removed, a married person marrying, a
// divorce of someone who is not a spouse, a closed register).
//
// Not modelled: 婚氏続称 (keeping the married name after divorce), 認知, 特別養子縁組, 離縁, 失踪,
// 国籍, the 届出 forwarding between municipalities (a notice may name registers of any
// municipality once the submitting municipality holds one of them), corrections (訂正).
//
// Stateless and thread-safe: every function takes the connection to use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "registry/resident.h"
#include "store/database.h"

namespace jlis::municipal {

// Bounds of the stored text.
inline constexpr size_t kMaxKosekiNameLength = 100;      // 氏名, as registry::kMaxNameLength
inline constexpr size_t kMaxKosekiKanaLength = 200;      // 振り仮名
inline constexpr size_t kMaxHonsekiLength = 200;         // 本籍
inline constexpr size_t kMaxKosekiPlaceLength = 200;     // 出生地, 死亡地

// The kinds of 身分事項 (a member's) and of the register's own entries. A member's 除籍 is not an
// entry of its own but KosekiMember::removed, with the entry of the event that removed them (婚姻,
// 養子縁組, 分籍, 離婚, 死亡) naming where they went, as the register prints it.
enum class KosekiEntryKind {
  birth,         // 出生 (member)
  marriage,      // 婚姻 (member)
  divorce,       // 離婚 (member)
  adoption,      // 養子縁組 (member)
  death,         // 死亡 (member)
  branch,        // 分籍 (member: left to head a register of their own)
  old_surname,   // 旧氏 (member: the former surname recorded at their request)
  made,          // 編製 (register: when and why made)
  transfer,      // 転籍 (register, and its members in the new register)
  closed,        // 消除 (register: closed, 除籍簿)
};
// The Japanese name of the kind, as printed ("出生", "婚姻", ...).
std::string_view entry_kind_name(KosekiEntryKind kind);

// One 身分事項 (or register entry). Which fields apply depends on the kind; unused ones are empty.
struct KosekiEntry {
  KosekiEntryKind kind = KosekiEntryKind::birth;
  Date date = {};                        // the day it happened (出生日, 婚姻日 ...) or was made
  std::optional<Date> notified_on = {};  // 届出日
  std::string notifier = {};             // 届出人 ("父", "母", "同居者" ...)
  std::string place = {};                // 出生地, 死亡地
  std::string counterpart = {};          // 配偶者氏名, 養親氏名, 旧氏, the reason of 編製 / 消除
  std::string other_register = {};       // 従前戸籍 / 新戸籍 / 入籍戸籍: "本籍　筆頭者氏名"; 従前本籍 / 新本籍
  bool operator==(const KosekiEntry&) const = default;
};

// A member of a register, addressed by the register and their place in it (1-based).
struct MemberRef {
  int64_t register_id = 0;
  int member = 0;
  auto operator<=>(const MemberRef&) const = default;
};

struct KosekiMember {
  MemberRef ref;
  std::string name;        // 氏名, "氏　名" (a full-width space between surname and given name)
  std::string name_kana;   // 氏名の振り仮名 (katakana), same spacing
  Date date_of_birth;
  registry::Sex sex = registry::Sex::male;
  std::string father, mother;                    // 父母の氏名 ("" when not known)
  std::string adoptive_father, adoptive_mother;  // 養父母の氏名 (after 養子縁組)
  // 続柄: 長男, 二女 ... (父母との続柄), 妻, 夫, 養子, 養女; "" only for a divorced spouse whose
  // former register the system never held.
  std::string relationship;
  std::optional<ResidentCode> resident_code;  // when linked to the resident register
  bool removed = false;                        // 除籍
  std::string old_surname, old_surname_kana;   // 旧氏 ("" when none recorded)
  std::optional<MemberRef> came_from;          // the member row in the register they came from
  std::vector<KosekiEntry> entries;            // 身分事項, in the order recorded
};

// A register: the data of a 戸籍全部事項証明書 (all members) or 個人事項証明書 (one member).
struct KosekiRegister {
  int64_t id = 0;
  LocalGovernmentCode municipality;  // the 本籍 municipality that holds it
  std::string honseki;               // 本籍, e.g. 東京都千代田区千代田1番
  std::string head_name;             // 筆頭者氏名
  bool closed = false;               // 除籍簿 (after 転籍 to another municipality or 消除)
  std::optional<int64_t> successor;  // the register made by a 転籍 to another municipality
  std::vector<KosekiEntry> entries;  // the register's own: 編製, 転籍, 消除
  std::vector<KosekiMember> members;  // in register order
};

// The answer to a notice: the register and member it made or changed (member 0 when the notice
// concerns the register as a whole), and whether it was a retry.
struct KosekiOutcome {
  MemberRef ref;
  bool replay = false;
};

// A person entered by OpenRegister (a register loaded from paper, or made by 改製): unlike a birth,
// the 続柄 is given, since the parents need not be in the register.
struct InitialMember {
  std::string name, name_kana;
  Date date_of_birth;
  registry::Sex sex = registry::Sex::male;
  std::string father, mother;
  std::string relationship;   // 長男, 妻 ...: required
  std::optional<ResidentCode> resident_code;
  std::optional<KosekiEntry> birth;  // the 出生 entry, when known (kind is forced to birth)
};

// A register made outright, for registers that predate the system (編製 with `reason`, e.g.
// "平成改製"); the first member is the head.
struct OpenRegister {
  std::string event_id;
  Date date;                      // 編製日
  std::string reason;             // 編製事由
  std::string honseki;
  std::vector<InitialMember> members;  // 1..100, the head first
};

// 出生届: the child enters the register of the parent(s) named. The child's surname must be the
// register's; 続柄 is computed from the birth order among the children of the same father and mother
// of the same sex (長男, 二男, 三男 ...), counting those who since left.
struct BirthNotice {
  std::string event_id;
  int64_t register_id = 0;
  std::string name, name_kana;
  Date date_of_birth;
  registry::Sex sex = registry::Sex::male;
  std::string place;             // 出生地
  std::string father, mother;    // at least one must be a current member of the register
  Date notified_on;              // 届出日: not before the birth, not in the future
  std::string notifier;          // 届出人: 父, 母 ...
  // The child's resident code when already registered: recorded only; Fuhyo::link opens the 附票.
  std::optional<ResidentCode> resident_code;
};

// 婚姻届: the bearer of the chosen surname heads the couple's register. When that person already
// heads a register (筆頭者, e.g. after 分籍 or a divorce), the other joins it; otherwise a new register
// is made at `honseki` in `municipality` and both leave their registers (除籍 with the 婚姻 entry).
struct MarriageNotice {
  std::string event_id;
  Date date;                       // 婚姻日 = 届出日
  MemberRef husband, wife;
  bool husbands_surname = true;    // 婚姻後の氏: 夫の氏 or 妻の氏
  LocalGovernmentCode municipality;  // 新本籍 (ignored when the bearer already heads a register)
  std::string honseki;
};

// 離婚届: `spouse` (the one who took the other's surname, 妻 or 夫 in the register) leaves it and
// returns to the register they came from (復籍) with their former name, or, when `honseki` is given
// or that register is closed, heads a new register with their former name.
struct DivorceNotice {
  std::string event_id;
  Date date;
  MemberRef spouse;
  std::optional<LocalGovernmentCode> municipality;  // 新本籍, with honseki
  std::string honseki;
};

// 養子縁組届: `adoptee` leaves their register and enters the register of the adopters (each a
// current member of `register_id`, named) as 養子 or 養女, taking its surname. The adoptee must not
// head a register of their own.
struct AdoptionNotice {
  std::string event_id;
  Date date;
  MemberRef adoptee;
  int64_t register_id = 0;
  std::vector<std::string> adopters;  // 1 or 2 names
};

// 死亡届: the member is removed (除籍) with the 死亡 entry; a register left without current members
// is closed (消除).
struct DeathNotice {
  std::string event_id;
  MemberRef member;
  Date date;               // 死亡日
  std::string place;       // 死亡地
  Date notified_on;
  std::string notifier;    // 届出人: 親族, 同居者 ...
};

// 転籍届: the register moves its 本籍. Within the municipality, the register stays and gets a 転籍
// entry; to another municipality, that municipality holds a new register of the current members
// (編製 by 転籍) and the old one is closed as 除籍簿.
struct TransferNotice {
  std::string event_id;
  int64_t register_id = 0;
  Date date;
  LocalGovernmentCode municipality;
  std::string honseki;
};

// 分籍届: an adult (18 or older) member who is neither the head nor a spouse leaves to head a
// register of their own at `honseki`.
struct BranchNotice {
  std::string event_id;
  MemberRef member;
  Date date;
  LocalGovernmentCode municipality;
  std::string honseki;
};

// 旧氏の記載請求: records a former surname of the member (one they bore in an earlier register)
// and its furigana, printed on the 住民票 and the My Number card. A later request replaces it.
struct OldSurnameNotice {
  std::string event_id;
  MemberRef member;
  Date date;
  std::string old_surname, old_surname_kana;
};

class Koseki {
 public:
  // Creates or upgrades the tables of registers and 附票 (component "municipal_koseki"); conflict
  // when the database holds a newer schema than this binary knows.
  static Status migrate(store::Connection& conn);

  // The notices, each submitted by `by` (which must hold the register named, or for a marriage one
  // of them); see the file comment for their transaction, idempotency and errors.
  static Result<KosekiOutcome> open_register(store::Connection& conn, const LocalGovernmentCode& by,
                                             const OpenRegister& notice);
  static Result<KosekiOutcome> birth(store::Connection& conn, const LocalGovernmentCode& by, const BirthNotice& notice);
  static Result<KosekiOutcome> marriage(store::Connection& conn, const LocalGovernmentCode& by,
                                        const MarriageNotice& notice);
  static Result<KosekiOutcome> divorce(store::Connection& conn, const LocalGovernmentCode& by,
                                       const DivorceNotice& notice);
  static Result<KosekiOutcome> adoption(store::Connection& conn, const LocalGovernmentCode& by,
                                        const AdoptionNotice& notice);
  static Result<KosekiOutcome> death(store::Connection& conn, const LocalGovernmentCode& by, const DeathNotice& notice);
  static Result<KosekiOutcome> transfer(store::Connection& conn, const LocalGovernmentCode& by,
                                        const TransferNotice& notice);
  static Result<KosekiOutcome> branch(store::Connection& conn, const LocalGovernmentCode& by,
                                      const BranchNotice& notice);
  static Result<KosekiOutcome> record_old_surname(store::Connection& conn, const LocalGovernmentCode& by,
                                                  const OldSurnameNotice& notice);

  // The whole register (戸籍全部事項証明書), closed ones included; not_found for an unknown id.
  static Result<KosekiRegister> get(store::Connection& conn, int64_t register_id);
  // The register with one member only (個人事項証明書); not_found for an unknown register or member.
  static Result<KosekiRegister> member(store::Connection& conn, const MemberRef& ref);
  // The open register at a 本籍 of a municipality, or nullopt.
  static Result<std::optional<int64_t>> find(store::Connection& conn, const LocalGovernmentCode& municipality,
                                             const std::string& honseki);
  // The current (not removed, in an open register) member row of the person with this resident
  // code, or nullopt.
  static Result<std::optional<MemberRef>> find_by_resident(store::Connection& conn, const ResidentCode& code);
};

}  // namespace jlis::municipal
