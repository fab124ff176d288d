// 世帯: the households of each municipality's resident register (住民基本台帳). The registry holds a
// resident's identity information; the municipality also keeps who lives with whom: every resident
// belongs to exactly one household, which one of them heads (世帯主), with each member's relationship
// to the head (続柄), the date they became a resident of the municipality (住民となった年月日), the
// date they took up their address (住所を定めた年月日), the date it was notified (届出日) and the
// previous address (前住所): what a 住民票の写し prints besides the basic four.
//
// Households follow the register's events inside the transaction that applies them (attach()): a
// birth or a move-in places the person (registry::ChangeEvent::household: join a head's household,
// else head a new one), a relocation keeps a head's household and moves anyone else to the household
// it names or to a new one of their own (世帯分離 by the move), a move-out or a death takes the person
// out, and a head who leaves hands the household to the successor (succession()). A placement that
// does not fit refuses the whole event. The municipality's own household notices (世帯変更届: a new
// head, a split, a merge) are submit()ted here, each with an idempotency key like the register's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::municipal {

inline constexpr std::string_view kHead = "世帯主";

// True for the 続柄 the register writes (世帯主, 妻, 夫, 子, 父, 母, 孫, 兄, 姉, 弟, 妹, 祖父, 祖母,
// 子の妻, 子の夫, 妻の父, 妻の母, 夫の父, 夫の母, 伯父, 伯母, 叔父, 叔母, 甥, 姪, 縁故者, 同居人,
// 妻（未届）, 夫（未届）).
bool known_relationship(std::string_view relationship);

// The relationship to a new head of a member whose relationship to the old head was `member`, when
// the new head was `successor` to the old head (the spouse or a child who takes over). Members the
// table does not cover become 縁故者; the municipality corrects them with a change_head notice.
std::string relationship_after_succession(std::string_view successor, std::string_view member,
                                          bool member_older_than_successor, registry::Sex member_sex);

struct HouseholdMember {
  ResidentCode resident_code;
  std::string relationship;   // 続柄 to the head; kHead for the head
  Date became_resident_on;    // 住民となった年月日 (birth, or the move-in)
  Date address_set_on;        // 住所を定めた年月日
  Date notified_on;           // 届出日 of the event that set the address
  std::string previous_address;  // 前住所 ("" after a birth)
};

struct Household {
  int64_t id = 0;  // 世帯番号 within the store
  LocalGovernmentCode municipality_code;
  ResidentCode head;
  Date formed_on;
  std::vector<HouseholdMember> members;  // the head first, then in the order they joined
};

// The municipality's own household notices (世帯変更届), each for one household of the municipality.
//   change_head (世帯主変更): `new_head`, a member, heads the household; `relationships` gives every
//     other member's 続柄 to the new head (all of them, the old head included).
//   separate (世帯分離): `members` (not the head) leave and form a new household at their address,
//     headed by `new_head` (one of them); `relationships` gives the others' 続柄 to it.
//   merge (世帯合併): the household headed by `from_head` joins the household of `head`;
//     `relationships` gives each joining member's 続柄 (its old head's included).
enum class HouseholdEventType { change_head, separate, merge };
struct HouseholdEvent {
  std::string event_id;  // idempotency key, unique per municipality
  HouseholdEventType type = HouseholdEventType::change_head;
  Date date;
  ResidentCode head;  // the head of the household the notice is about (before the change)
  std::optional<ResidentCode> new_head;           // change_head, separate
  std::vector<ResidentCode> members;              // separate
  std::optional<ResidentCode> from_head;          // merge
  std::map<std::string, std::string> relationships;  // resident code → 続柄
};
// The JSON of POST /v1/households/events (docs/openapi.yaml); invalid_argument on any other shape.
Result<HouseholdEvent> household_event_from_json(const nlohmann::json& json);
nlohmann::json to_json(const HouseholdEvent& event);
nlohmann::json to_json(const Household& household);

class Households {
 public:
  static Status migrate(store::Connection& conn);

  // `registry` and `writer` are not owned and must outlive this. `today` dates the notices (届出日);
  // empty: the real date.
  Households(store::Pool& pool, store::Writer& writer, registry::Registry& registry,
             std::function<Date()> today = {});

  // Joins the register's events (see the top of this file). Call once, before any event.
  void attach();

  // Applies a household notice of `municipality` in one writer transaction: the household must be
  // one of its own (else registry::unknown_resident(), the same answer as for an unknown code), the
  // people named must be its members as the notice says (conflict), the relationships known and
  // complete (invalid_argument). A retry with the same event_id and content answers as the first
  // time; the key reused for another notice is conflict. Answers the household(s) after the change:
  // the one named, and for separate the new one too.
  Result<std::vector<Household>> submit(const LocalGovernmentCode& municipality, const HouseholdEvent& event);

  // The household of a resident of `municipality` (not_found: unknown_resident() for an unknown code,
  // someone else's resident or one who is no longer in a household: moved out, died).
  Result<Household> of(const ResidentCode& resident, const LocalGovernmentCode& municipality);
  Result<Household> of(store::Connection& conn, const ResidentCode& resident);

  // Residents of the register without a household (data made before households existed) become the
  // head of a household of one, dated from their history: the first event that placed them in their
  // municipality and the last that set their address. Answers how many; 0 the second time.
  Result<int64_t> adopt_unplaced();

 private:
  Status on_change(store::Connection& conn, const registry::ChangeEvent& event,
                   const std::optional<registry::Resident>& before, const registry::Resident& after);
  Date today() const;

  store::Pool& pool_;
  store::Writer& writer_;
  registry::Registry& registry_;
  std::function<Date()> today_;
};

}  // namespace jlis::municipal
