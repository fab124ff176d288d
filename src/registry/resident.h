// The identity information of the Basic Resident Register (本人確認情報) and the change events
// that municipalities submit (異動).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"

namespace jlis::registry {

enum class Sex { male, female };
// Where the resident stands: 住民 / 転出予定 (a move to another municipality not yet completed) /
// 国外転出 / 死亡.
enum class ResidentStatus { resident, moved_out, abroad, deceased };

std::string_view sex_name(Sex sex);  // "male", "female"
Result<Sex> parse_sex(std::string_view text);
std::string_view status_name(ResidentStatus status);  // "resident", "moved_out", "abroad", "deceased"
Result<ResidentStatus> parse_status(std::string_view text);

// The basic four (基本4情報) with the furigana.
struct Person {
  std::string name;       // 氏名 (kanji), canonical spacing
  std::string name_kana;  // 氏名の振り仮名 (katakana)
  Date date_of_birth;
  Sex sex = Sex::male;
  std::string address;    // canonical: prefecture + municipality + town + rest
};

struct Resident {
  ResidentCode resident_code;
  std::optional<MyNumber> my_number;  // empty until numbered
  Person person;
  LocalGovernmentCode municipality_code;  // the municipality that holds the record
  ResidentStatus status = ResidentStatus::resident;
  std::optional<LocalGovernmentCode> moving_to;  // a pending move-out's destination
  std::string address_abroad;                    // after a move abroad
};

// The lengths of the register's text fields, in characters (code points, after normalisation), as a
// real register's forms and the certificate fields they feed allow. Longer values are refused with
// invalid_argument (HTTP 400) and nothing is stored.
inline constexpr size_t kMaxNameLength = 100;           // 氏名 (name, and a name_change/correction's name)
inline constexpr size_t kMaxNameKanaLength = 200;       // 振り仮名
inline constexpr size_t kMaxAddressLength = 200;        // 住所 (canonical form)
inline constexpr size_t kMaxAddressAbroadLength = 200;  // 国外転出先
inline constexpr size_t kMaxEventIdLength = 128;        // event_id (bytes)

// resident_code_change: the resident asked for a new resident code (住民票コードの変更請求); the old
// code is retired for ever. my_number_reissue: a new My Number because the old one leaked
// (個人番号の変更請求, reason "leak"). Both are recorded in the history like every other change.
enum class EventType {
  birth, move_in, move_out, relocation, death, name_change, correction, resident_code_change, my_number_reissue
};
std::string_view event_type_name(EventType type);
Result<EventType> parse_event_type(std::string_view text);

// Where a person is placed in the municipality's households (世帯) by the event that places them
// (birth, move_in, relocation). The register of households (src/municipal/household.h) reads it inside
// the event's transaction and refuses the event when it does not fit (an unknown head, a relationship
// it does not know); the identity information itself does not change with it.
struct HouseholdPlacement {
  // Joins the household this resident heads (世帯主), same municipality. Empty: the person heads a
  // household of their own (a birth or a move-in without placement does the same; a relocation
  // without one keeps a head's household and makes anyone else the head of a new one).
  std::optional<ResidentCode> head;
  std::string relationship;  // 続柄 to the head (子, 妻, 夫, 父, 母, 孫, 縁故者, 同居人 ...); "世帯主" or "" with no head
};
inline constexpr size_t kMaxRelationshipLength = 20;

// A change as a municipality submits it. Which fields apply depends on the type (see the API doc).
struct ChangeEvent {
  std::string event_id;  // the idempotency key, unique per municipality
  EventType type = EventType::birth;
  Date date;             // 異動年月日
  std::optional<Person> person;              // birth; move_in from abroad (first registration)
  // move_in of a known resident (from a municipality or a return from abroad) also carries name (or
  // name_kana), date_of_birth and sex: they must match the record (same folding as the search),
  // else the move-in is refused with conflict. In other events they are the new values.
  std::optional<ResidentCode> resident_code;  // every other event
  std::string from;  // move_in: "abroad" or the municipality code moved from
  std::string to;    // move_out: "abroad" or the destination municipality code
  std::optional<std::string> address;         // move_in (completion), relocation, correction
  std::string address_abroad;                  // move_out abroad
  std::optional<std::string> name, name_kana;  // name_change, correction
  std::optional<Date> date_of_birth;           // correction
  std::optional<Sex> sex;                      // correction
  std::string reason = {};                     // my_number_reissue: "leak"
  std::optional<HouseholdPlacement> household = {};  // birth, move_in, relocation
};

// JSON forms of the API (field names as in docs/openapi.yaml).
nlohmann::json to_json(const Resident& resident);
// invalid_argument on a missing field or one of the wrong type; never throws.
Result<Resident> resident_from_json(const nlohmann::json& json);
nlohmann::json to_json(const ChangeEvent& event);
// Validates the shape: required fields per type, no fields foreign to the type, formats.
Result<ChangeEvent> event_from_json(const nlohmann::json& json);

}  // namespace jlis::registry
