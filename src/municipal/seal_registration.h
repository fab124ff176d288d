// 印鑑登録: each municipality's register of its residents' seals, from which a 印鑑登録証明書 (seal
// registration certificate) is made. The municipality registers a resident's seal (its impression,
// 印影, as a PNG) under a registration number (登録番号) that its 印鑑登録証 (registration card)
// prints; the seal can be changed (変更: the old registration is abolished and the new impression
// registered under a new number) and abolished (廃止). Registrations are never deleted: the table
// keeps every registration and abolition, which is the resident's seal history.
//
// The rules (印鑑登録事務処理要領 and the municipalities' 印鑑条例 based on it):
//   - only the municipality's own residents (status resident) may register; someone else's
//     resident, or an unknown code, gets registry::unknown_resident();
//   - not under 15, and not someone the municipality found to be under guardianship (the request
//     says so: the register does not know it);
//   - one active seal per person: a second registration is conflict until the first is abolished;
//   - a registration is abolished by the resident's request (本人申請), ex officio (職権), by a
//     change (変更), and by death (死亡) and moving out (転出) through the resident register itself:
//     attach() makes the register's death and move_out events abolish the seal in the event's own
//     transaction, so no moment exists in which the person is dead or gone and the seal still
//     active;
//   - an abolished registration is never active again, and only the active registration of a
//     resident of the municipality is certifiable() (a 2023 incident issued certificates for
//     abolished seals: here the check reads the same committed state the issuance writes with).
//
// Every write runs in one writer transaction with every check inside it, and carries an
// idempotency key (request_id, unique per municipality): a retry with the same key and content
// answers the same registration (in its state now: a seal abolished since is answered abolished,
// never registered again); the key reused for another request is conflict, even when that request is
// invalid.
//
// Thread-safe: reads use pooled connections (or the caller's), writes the process's single Writer.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::municipal {

// The youngest age at which a seal may be registered.
inline constexpr int kMinSealRegistrationAge = 15;
// The largest impression accepted, in bytes of PNG.
inline constexpr size_t kMaxSealImpressionBytes = 200 * 1024;
// The sides an impression's image may have, in pixels.
inline constexpr int kMinSealImpressionPixels = 16;
inline constexpr int kMaxSealImpressionPixels = 4096;
// The side of a generated impression (generated_seal_impression), in pixels.
inline constexpr int kGeneratedSealImpressionPixels = 256;

enum class SealStatus { active, abolished };
// Why a registration was abolished (廃止の理由).
enum class SealAbolitionReason {
  request,     // 本人申請 (the resident's 廃止申請, e.g. a lost card)
  death,       // 死亡 (the register's death event)
  move_out,    // 転出 (the register's move_out event, abroad included)
  ex_officio,  // 職権 (the municipality's own decision)
  changed,     // 変更 (replaced by a new registration: SealRegistrations::change)
};
std::string_view seal_status_name(SealStatus status);                   // "active", "abolished"
std::string_view seal_abolition_reason_name(SealAbolitionReason reason);  // "request", "death", ...
Result<SealAbolitionReason> parse_seal_abolition_reason(std::string_view text);

// One registration, as the register keeps it.
struct SealRegistration {
  int64_t registration_number = 0;  // 登録番号: per municipality, 1, 2, 3 … in the order registered
  LocalGovernmentCode municipality_code;
  ResidentCode resident_code;
  SealStatus status = SealStatus::active;
  Date registered_on;
  std::optional<Date> abolished_on;                  // set once abolished
  std::optional<SealAbolitionReason> abolition_reason;  // set once abolished
  std::optional<int64_t> replaces;     // a change: the number of the registration it replaced
  std::optional<int64_t> replaced_by;  // abolished by a change: the number that replaced it
  std::string impression_sha256;       // of the PNG bytes, lower-case hex
  std::string impression_png;          // the PNG bytes; empty where a listing leaves them out
};

// The JSON of a registration: registration_number, municipality_code, resident_code, status,
// registered_on, abolished_on and abolition_reason (null while active), replaces, replaced_by (null
// when none), impression_sha256, and with `with_impression` (and the bytes loaded) impression_png
// as base64. Lists never carry the impression.
nlohmann::json to_json(const SealRegistration& registration, bool with_impression = false);

// A registration (register) or a change (change) as the municipality's window submits it.
struct SealRegistrationRequest {
  std::string request_id;  // idempotency key, unique per municipality (1..128 bytes)
  ResidentCode resident_code;
  // The impression as a PNG file (at most kMaxSealImpressionBytes, sides kMinSealImpressionPixels ..
  // kMaxSealImpressionPixels): a scan of the seal, or generated_seal_impression() for a simulated
  // resident.
  std::string impression_png;
  // The applicant is an adult under guardianship (成年被後見人), as the window found: refused.
  bool under_guardianship = false;
};

// An abolition (廃止) as the municipality's window submits it.
struct SealAbolitionRequest {
  std::string request_id;  // idempotency key, unique per municipality (1..128 bytes)
  ResidentCode resident_code;
  // request, death, move_out or ex_officio (changed is change()'s own).
  SealAbolitionReason reason = SealAbolitionReason::request;
  // The number on the card presented, if any: the abolition is refused (conflict) unless it is the
  // active registration's, so that a card of an older registration never abolishes a newer one.
  std::optional<int64_t> registration_number;
};

// The JSON bodies of the municipality's seal routes (docs/openapi.yaml): a registration or change
// {request_id, resident_code, impression_png (base64 of the PNG), under_guardianship (optional)}, an
// abolition {request_id, resident_code, reason, registration_number (optional)}. invalid_argument for
// any other shape or field; the contents are checked by the writes themselves.
Result<SealRegistrationRequest> seal_registration_request_from_json(const nlohmann::json& json);
Result<SealAbolitionRequest> seal_abolition_request_from_json(const nlohmann::json& json);

// The outcome of a write.
struct SealApplied {
  // register, change: the new registration; abolish: the abolished one. As it stands now (for a
  // replay: possibly abolished since). Without the impression bytes.
  SealRegistration registration;
  bool replay = false;  // a retry of a request applied before
};

// Why a seal cannot be certified (the reason code a kiosk shows).
enum class SealRefusal {
  no_seal,         // the resident never registered a seal in this municipality
  seal_abolished,  // the resident's last seal in this municipality was abolished
  not_resident,    // the resident died or moved out (転出予定 and 国外転出 included)
};
std::string_view seal_refusal_code(SealRefusal refusal);  // "no_seal", "seal_abolished", "not_resident"

// The answer of certifiable(): the active seal, or why there is none.
struct SealCertifiability {
  std::optional<SealRefusal> refusal;  // empty: certifiable
  SealRegistration seal;  // when certifiable: the active registration, with the impression bytes
  bool certifiable() const { return !refusal.has_value(); }
};

// The surname of a register name ("山田　太郎" → "山田": the text before the first space, full-width
// or not; the whole name when it has none).
std::string surname_of(std::string_view name);

// The impression of a simulated resident's seal: seal_image's personal_seal of the surname of
// `name`, as a PNG of kGeneratedSealImpressionPixels pixels; the same bytes for the same surname.
// invalid_argument when the surname is empty or longer than a seal holds (12 characters).
Result<std::string> generated_seal_impression(std::string_view name);

// Checks that `png` is an impression the register accepts: at most kMaxSealImpressionBytes, a PNG
// file (signature, IHDR first, IEND last) whose sides lie within kMinSealImpressionPixels ..
// kMaxSealImpressionPixels and which decodes in full. invalid_argument otherwise, saying why.
Status validate_seal_impression(std::string_view png);

class SealRegistrations {
 public:
  // Creates or upgrades the tables (component "municipal_seal"); conflict when the database holds a
  // newer schema than this binary knows.
  static Status migrate(store::Connection& conn);

  // `pool`, `writer` and `registry` are not owned and must outlive this. `today` dates the
  // registrations and the window's abolitions; empty: the real date.
  SealRegistrations(store::Pool& pool, store::Writer& writer, registry::Registry& registry,
                    std::function<Date()> today = {});

  // Joins the register's events: death and move_out abolish the resident's active seal (reason
  // death or move_out, dated the event's date) in the event's transaction, a failure refusing the
  // event; resident_code_change carries the seal history to the new code. Call once, before any
  // event.
  void attach();

  // Registers a seal of a resident of `municipality` under the municipality's next number, dated
  // today. Errors: invalid_argument (request_id, impression: see validate_seal_impression),
  // not_found (unknown_resident(): an unknown code or someone else's resident), conflict (the
  // resident is not living here (died, moved out), is under kMinSealRegistrationAge, is under
  // guardianship, or already has an active seal; or the request_id was used for another request).
  Result<SealApplied> register_seal(const LocalGovernmentCode& municipality, const SealRegistrationRequest& request);
  // The same inside the caller's writer job (`conn` is the writer's), dated `on` (not after today):
  // for loads such as a generated population, which register many seals in one transaction.
  Result<SealApplied> register_seal_in(store::Connection& conn, const LocalGovernmentCode& municipality,
                                       const SealRegistrationRequest& request, Date on);

  // 印鑑登録の変更: abolishes the resident's active seal (reason changed) and registers the new
  // impression under a new number, in one transaction. The same errors as register_seal, except that
  // the resident must have an active seal here (conflict otherwise). Answers the new registration
  // (its `replaces` names the old).
  Result<SealApplied> change(const LocalGovernmentCode& municipality, const SealRegistrationRequest& request);

  // 廃止: abolishes the resident's active seal, dated today. Errors: invalid_argument (request_id,
  // reason changed), not_found (unknown_resident()), conflict (no active seal here, or not the one
  // numbered in the request; the request_id used for another request). Works for a resident who has
  // died or moved out as well (whose seal the register's events will normally have abolished).
  Result<SealApplied> abolish(const LocalGovernmentCode& municipality, const SealAbolitionRequest& request);

  // Whether a 印鑑登録証明書 may be made for `resident` by `municipality`, read on `conn`: the
  // issuance calls it on its own transaction's connection, so that what it certifies is what that
  // transaction sees. not_found (unknown_resident()) for an unknown code or someone else's
  // resident; internal when the database fails. Refusals are answers, not errors: not_resident when
  // the resident died or moved out, else no_seal / seal_abolished after the last registration here.
  Result<SealCertifiability> certifiable(store::Connection& conn, const LocalGovernmentCode& municipality,
                                         const ResidentCode& resident);
  // The same on a pooled connection.
  Result<SealCertifiability> certifiable(const LocalGovernmentCode& municipality, const ResidentCode& resident);

  // The resident's registrations in `municipality`, oldest first, without the impression bytes
  // (abolished ones included: the history). A municipality sees the history it keeps also after the
  // resident has left; for a resident it has no registration of and who is not its own:
  // unknown_resident().
  Result<std::vector<SealRegistration>> history(const LocalGovernmentCode& municipality,
                                                const ResidentCode& resident);

  // One registration of `municipality` by number, with the impression bytes (not_found when the
  // municipality has no such number).
  Result<SealRegistration> get(const LocalGovernmentCode& municipality, int64_t registration_number);

 private:
  Status on_change(store::Connection& conn, const registry::ChangeEvent& event,
                   const std::optional<registry::Resident>& before, const registry::Resident& after);
  Result<SealApplied> write(const LocalGovernmentCode& municipality, std::string_view kind,
                            const std::string& request_id, const std::string& request_hash,
                            const Status& prepared,
                            const std::function<Result<int64_t>(store::Connection&)>& apply);
  // write()'s body, on the caller's writer connection.
  static Result<SealApplied> write_in(store::Connection& conn, const LocalGovernmentCode& municipality,
                                      std::string_view kind, const std::string& request_id,
                                      const std::string& request_hash, const Status& prepared,
                                      const std::function<Result<int64_t>(store::Connection&)>& apply);
  Result<int64_t> register_row(store::Connection& conn, const LocalGovernmentCode& municipality,
                               const SealRegistrationRequest& request, Date on, const std::string& sha256);
  Date today() const;
  // validate_seal_impression, remembered by the impression's SHA-256 (`sha256`) for those that passed (the
  // same few hundred impressions come back: decoding each again was most of a generated load).
  Status check_impression(std::string_view png, const std::string& sha256);

  store::Pool& pool_;
  store::Writer& writer_;
  registry::Registry& registry_;
  std::function<Date()> today_;
  std::mutex valid_mutex_;
  std::unordered_set<std::string> valid_impressions_;  // SHA-256 (hex) of impressions that passed; bounded
};

}  // namespace jlis::municipal
