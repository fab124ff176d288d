#include "municipal/seal_registration.h"

#include <cairo.h>

#include <algorithm>
#include <array>
#include <set>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "common/enum_names.h"
#include "municipal/cairo_util.h"
#include "municipal/seal_image.h"
#include "pki/openssl.h"
#include "store/migrations.h"
#include "municipal/resident_key.h"

namespace jlis::municipal {
namespace {

using internal::resident_key;
using internal::resident_of_key;
using nlohmann::json;
using store::Connection;
using store::Row;

// One active registration per person, whatever the municipality: the partial unique index is the
// database's own guard behind the check in the writer's transaction. An abolished row carries its
// date and reason; an active one neither.
const std::vector<store::Migration> kSealMigrations = {{1, R"(
  CREATE TABLE municipal_seal_registrations (
    municipality_code TEXT NOT NULL, registration_number BIGINT NOT NULL,
    resident_code BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'abolished')),
    registered_on TEXT NOT NULL, abolished_on TEXT, abolition_reason TEXT,
    replaces BIGINT, replaced_by BIGINT,
    impression_sha256 TEXT NOT NULL, impression_png_base64 TEXT NOT NULL,
    PRIMARY KEY (municipality_code, registration_number),
    CHECK ((status = 'active') = (abolished_on IS NULL AND abolition_reason IS NULL)));
  CREATE INDEX municipal_seal_registrations_resident
    ON municipal_seal_registrations (resident_code, municipality_code, registration_number);
  CREATE UNIQUE INDEX municipal_seal_registrations_one_active
    ON municipal_seal_registrations (resident_code) WHERE status = 'active';
  CREATE TABLE municipal_seal_requests (
    seq {{id}},
    municipality_code TEXT NOT NULL, request_id TEXT NOT NULL, request_hash TEXT NOT NULL,
    kind TEXT NOT NULL, registration_number BIGINT NOT NULL, recorded_at TEXT NOT NULL,
    UNIQUE (municipality_code, request_id));
)"},
// Each impression image once, under its SHA-256: registrations name it (a changed seal is a new
// image; a re-registration of the same seal, or the same image elsewhere, shares the stored one).
{2, R"(
  CREATE TABLE municipal_seal_impressions (
    impression_sha256 TEXT PRIMARY KEY, impression_png_base64 TEXT NOT NULL);
  INSERT INTO municipal_seal_impressions (impression_sha256, impression_png_base64)
    SELECT impression_sha256, MIN(impression_png_base64) FROM municipal_seal_registrations GROUP BY impression_sha256;
  ALTER TABLE municipal_seal_registrations DROP COLUMN impression_png_base64;
)"}};

constexpr std::array<std::string_view, 2> kStatusNames = {"active", "abolished"};
constexpr std::array<std::string_view, 5> kReasonNames = {"request", "death", "move_out", "ex_officio", "changed"};
constexpr std::array<std::string_view, 3> kRefusalNames = {"no_seal", "seal_abolished", "not_resident"};


constexpr const char* kSealColumns =
    "municipality_code, registration_number, resident_code, status, registered_on, abolished_on, "
    "abolition_reason, replaces, replaced_by, impression_sha256";

// A row of kSealColumns, with the base64 impression as column 10 when selected.
Result<SealRegistration> read_registration(const Row& r) {
  SealRegistration s;
  JLIS_ASSIGN_OR_RETURN(s.municipality_code, LocalGovernmentCode::parse(r.text(0)));
  s.registration_number = r.int64(1);
  s.resident_code = resident_of_key(r.int64(2));
  JLIS_ASSIGN_OR_RETURN(s.status, (parse_enum_name<SealStatus>(kStatusNames, r.text(3), "status")));
  JLIS_ASSIGN_OR_RETURN(s.registered_on, Date::parse_iso(r.text(4)));
  if (!r.is_null(5)) {
    JLIS_ASSIGN_OR_RETURN(Date d, Date::parse_iso(r.text(5)));
    s.abolished_on = d;
  }
  if (!r.is_null(6)) {
    JLIS_ASSIGN_OR_RETURN(auto reason, parse_seal_abolition_reason(r.text(6)));
    s.abolition_reason = reason;
  }
  if (!r.is_null(7)) s.replaces = r.int64(7);
  if (!r.is_null(8)) s.replaced_by = r.int64(8);
  s.impression_sha256 = r.text(9);
  if (r.columns() > 10) {
    JLIS_ASSIGN_OR_RETURN(s.impression_png, pki::base64_decode(r.text(10)));
  }
  return s;
}

// The registrations `where` selects, in number order; with the impression bytes when `with_impression`.
Result<std::vector<SealRegistration>> load(Connection& conn, const std::string& where, const store::Params& params,
                                           bool with_impression) {
  std::vector<SealRegistration> out;
  Status failed;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kSealColumns +
                                      (with_impression ? ", (SELECT i.impression_png_base64 FROM municipal_seal_impressions i "
                                                         "WHERE i.impression_sha256 = municipal_seal_registrations.impression_sha256)"
                                                       : "") +
                                      " FROM municipal_seal_registrations WHERE " + where +
                                      " ORDER BY registration_number",
                                  params, [&](const Row& r) {
                                    auto s = read_registration(r);
                                    if (!s.ok()) {
                                      failed = internal_error("a stored seal registration is malformed: " +
                                                              s.status().message());
                                      return false;
                                    }
                                    out.push_back(std::move(*s));
                                    return true;
                                  }));
  JLIS_RETURN_IF_ERROR(failed);
  return out;
}

Result<std::optional<SealRegistration>> load_one(Connection& conn, const std::string& where,
                                                 const store::Params& params, bool with_impression) {
  JLIS_ASSIGN_OR_RETURN(auto all, load(conn, where, params, with_impression));
  if (all.empty()) return std::optional<SealRegistration>();
  return std::optional<SealRegistration>(std::move(all.back()));
}

Result<SealRegistration> load_number(Connection& conn, const LocalGovernmentCode& municipality, int64_t number,
                                     bool with_impression) {
  JLIS_ASSIGN_OR_RETURN(auto s, load_one(conn, "municipality_code = ? AND registration_number = ?",
                                         {municipality.str(), number}, with_impression));
  if (!s) return not_found("no seal registration " + std::to_string(number) + " in this municipality");
  return std::move(*s);
}

// The active registration of `resident` in `municipality`, if any.
Result<std::optional<SealRegistration>> active_seal(Connection& conn, const LocalGovernmentCode& municipality,
                                                    const ResidentCode& resident, bool with_impression) {
  return load_one(conn, "resident_code = ? AND municipality_code = ? AND status = 'active'",
                  {resident_key(resident), municipality.str()}, with_impression);
}

// The resident of `municipality` with code `code`, as `conn` sees it; unknown_resident() for an
// unknown code or someone else's resident (the registry's get_for_municipality, on this connection).
Result<registry::Resident> own_resident(Connection& conn, registry::Registry& registry,
                                        const LocalGovernmentCode& municipality, const ResidentCode& code) {
  auto r = registry.get(conn, code);
  if (!r.ok()) return r.status().code() == Code::not_found ? registry::unknown_resident() : r.status();
  if (r->municipality_code != municipality) return registry::unknown_resident();
  return r;
}

// The eligibility of a registration (register and change alike): living here, 15 or older, not under
// guardianship.
Status eligible(const registry::Resident& r, const SealRegistrationRequest& request, Date today) {
  if (r.status != registry::ResidentStatus::resident)
    return conflict(std::string("the resident is not living in the municipality (") +
                    std::string(registry::status_name(r.status)) + "): no seal can be registered");
  if (age_on(r.person.date_of_birth, today) < kMinSealRegistrationAge)
    return conflict("a seal cannot be registered for a person under 15");
  if (request.under_guardianship) return conflict("a seal cannot be registered for an adult under guardianship");
  return Status::ok();
}

Result<int64_t> next_number(Connection& conn, const LocalGovernmentCode& municipality) {
  // The single writer numbers registrations.
  JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64(
      "SELECT MAX(registration_number) FROM municipal_seal_registrations WHERE municipality_code = ?",
      {municipality.str()}));
  return last.value_or(0) + 1;
}

Status insert_registration(Connection& conn, const LocalGovernmentCode& municipality, int64_t number,
                           const ResidentCode& resident, Date on, const std::string& png, const std::string& sha256,
                           std::optional<int64_t> replaces) {
  store::Value replaced = nullptr;
  if (replaces) replaced = *replaces;
  JLIS_ASSIGN_OR_RETURN(auto stored, conn.query_int64("SELECT 1 FROM municipal_seal_impressions WHERE impression_sha256 = ?",
                                                      {sha256}));
  if (!stored) {
    JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO municipal_seal_impressions (impression_sha256, impression_png_base64) "
                                      "VALUES (?, ?)",
                                      {sha256, pki::base64_encode(png)})
                             .status());
  }
  return conn
      .execute("INSERT INTO municipal_seal_registrations (municipality_code, registration_number, resident_code, "
               "status, registered_on, replaces, impression_sha256) VALUES (?, ?, ?, 'active', ?, ?, ?)",
               {municipality.str(), number, resident_key(resident), on.to_iso(), replaced, sha256})
      .status();
}

Status abolish_row(Connection& conn, const SealRegistration& s, Date on, SealAbolitionReason reason,
                   std::optional<int64_t> replaced_by = std::nullopt) {
  store::Value by = nullptr;
  if (replaced_by) by = *replaced_by;
  JLIS_ASSIGN_OR_RETURN(int64_t changed,
                        conn.execute("UPDATE municipal_seal_registrations SET status = 'abolished', abolished_on = ?, "
                                     "abolition_reason = ?, replaced_by = ? "
                                     "WHERE municipality_code = ? AND registration_number = ? AND status = 'active'",
                                     {on.to_iso(), std::string(seal_abolition_reason_name(reason)), by,
                                      s.municipality_code.str(), s.registration_number}));
  if (changed != 1) return internal_error("seal registration " + std::to_string(s.registration_number) +
                                          " was not active when abolished");
  return Status::ok();
}

Status check_request_id(const std::string& id) {
  if (id.empty() || id.size() > registry::kMaxEventIdLength)
    return invalid_argument("request_id must have 1 to " + std::to_string(registry::kMaxEventIdLength) + " bytes");
  return Status::ok();
}

uint32_t big_endian32(std::string_view s, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

}  // namespace

std::string_view seal_status_name(SealStatus status) { return kStatusNames[static_cast<size_t>(status)]; }
std::string_view seal_abolition_reason_name(SealAbolitionReason reason) {
  return kReasonNames[static_cast<size_t>(reason)];
}
Result<SealAbolitionReason> parse_seal_abolition_reason(std::string_view text) {
  return parse_enum_name<SealAbolitionReason>(kReasonNames, text, "reason");
}
std::string_view seal_refusal_code(SealRefusal refusal) { return kRefusalNames[static_cast<size_t>(refusal)]; }

json to_json(const SealRegistration& s, bool with_impression) {
  json out = {{"registration_number", s.registration_number},
              {"municipality_code", s.municipality_code.str()},
              {"resident_code", s.resident_code.str()},
              {"status", seal_status_name(s.status)},
              {"registered_on", s.registered_on.to_iso()},
              {"abolished_on", nullptr},
              {"abolition_reason", nullptr},
              {"replaces", nullptr},
              {"replaced_by", nullptr},
              {"impression_sha256", s.impression_sha256}};
  if (s.abolished_on) out["abolished_on"] = s.abolished_on->to_iso();
  if (s.abolition_reason) out["abolition_reason"] = seal_abolition_reason_name(*s.abolition_reason);
  if (s.replaces) out["replaces"] = *s.replaces;
  if (s.replaced_by) out["replaced_by"] = *s.replaced_by;
  if (with_impression && !s.impression_png.empty()) out["impression_png"] = pki::base64_encode(s.impression_png);
  return out;
}

namespace {

// The fields of a seal request body: each known, `required` present; request_id and resident_code.
Status read_seal_fields(const json& j, const std::set<std::string>& known, std::string& request_id,
                        ResidentCode& resident) {
  if (!j.is_object()) return invalid_argument("the body must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (!known.count(key)) return invalid_argument("field '" + key + "' does not belong to this request");
  }
  if (!j.contains("request_id") || !j["request_id"].is_string()) return invalid_argument("request_id is required");
  request_id = j["request_id"].get<std::string>();
  if (!j.contains("resident_code") || !j["resident_code"].is_string()) return invalid_argument("resident_code is required");
  auto code = ResidentCode::parse(j["resident_code"].get<std::string>());
  if (!code.ok()) return invalid_argument("the resident code must be 11 digits with a valid check digit");
  resident = *code;
  return Status::ok();
}

}  // namespace

Result<SealRegistrationRequest> seal_registration_request_from_json(const json& j) {
  SealRegistrationRequest r;
  JLIS_RETURN_IF_ERROR(read_seal_fields(j, {"request_id", "resident_code", "impression_png", "under_guardianship"},
                                        r.request_id, r.resident_code));
  if (!j.contains("impression_png") || !j["impression_png"].is_string())
    return invalid_argument("impression_png (the seal's impression, a PNG in base64) is required");
  const std::string& text = j["impression_png"].get_ref<const std::string&>();
  if (text.size() > kMaxSealImpressionBytes * 4 / 3 + 4) return invalid_argument("the impression is too large");
  auto png = pki::base64_decode(text);
  if (!png.ok()) return invalid_argument("impression_png is not base64");
  r.impression_png = std::move(*png);
  if (j.contains("under_guardianship")) {
    if (!j["under_guardianship"].is_boolean()) return invalid_argument("under_guardianship must be true or false");
    r.under_guardianship = j["under_guardianship"].get<bool>();
  }
  return r;
}

Result<SealAbolitionRequest> seal_abolition_request_from_json(const json& j) {
  SealAbolitionRequest r;
  JLIS_RETURN_IF_ERROR(read_seal_fields(j, {"request_id", "resident_code", "reason", "registration_number"},
                                        r.request_id, r.resident_code));
  if (!j.contains("reason") || !j["reason"].is_string()) return invalid_argument("reason is required");
  JLIS_ASSIGN_OR_RETURN(r.reason, parse_seal_abolition_reason(j["reason"].get<std::string>()));
  if (j.contains("registration_number")) {
    if (!j["registration_number"].is_number_integer() || j["registration_number"].get<int64_t>() < 1)
      return invalid_argument("registration_number must be a positive integer");
    r.registration_number = j["registration_number"].get<int64_t>();
  }
  return r;
}

std::string surname_of(std::string_view name) {
  const size_t full_width = name.find("\xE3\x80\x80");  // U+3000
  const size_t ascii = name.find(' ');
  return std::string(name.substr(0, std::min(full_width, ascii)));
}

Result<std::string> generated_seal_impression(std::string_view name) {
  const std::string surname = surname_of(name);
  if (surname.empty()) return invalid_argument("the name has no surname to make a seal of");
  return seal_png(personal_seal(surname), kGeneratedSealImpressionPixels);
}

Status validate_seal_impression(std::string_view png) {
  if (png.empty()) return invalid_argument("impression_png is empty");
  if (png.size() > kMaxSealImpressionBytes)
    return invalid_argument("impression_png is larger than " + std::to_string(kMaxSealImpressionBytes) + " bytes");
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  static constexpr std::string_view kIend("\0\0\0\0IEND\xae\x42\x60\x82", 12);
  // Signature, IHDR (length 13), its CRC, and IEND at least.
  if (png.size() < 8 + 8 + 13 + 4 + 12 || png.substr(0, 8) != kSignature)
    return invalid_argument("impression_png is not a PNG file");
  if (big_endian32(png, 8) != 13 || png.substr(12, 4) != "IHDR")
    return invalid_argument("impression_png does not begin with an IHDR chunk");
  // The sides before decoding, so that a small file cannot make the decoder allocate gigabytes.
  const uint32_t width = big_endian32(png, 16), height = big_endian32(png, 20);
  const auto within = [](uint32_t side) {
    return side >= static_cast<uint32_t>(kMinSealImpressionPixels) &&
           side <= static_cast<uint32_t>(kMaxSealImpressionPixels);
  };
  if (!within(width) || !within(height))
    return invalid_argument("impression_png must be " + std::to_string(kMinSealImpressionPixels) + " to " +
                            std::to_string(kMaxSealImpressionPixels) + " pixels a side");
  if (png.substr(png.size() - kIend.size()) != kIend) return invalid_argument("impression_png does not end with IEND");
  internal::SurfacePtr surface = internal::read_png(png);
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
    return invalid_argument(std::string("impression_png does not decode: ") +
                            cairo_status_to_string(cairo_surface_status(surface.get())));
  return Status::ok();
}

Status SealRegistrations::migrate(Connection& conn) { return store::migrate(conn, "municipal_seal", kSealMigrations); }

SealRegistrations::SealRegistrations(store::Pool& pool, store::Writer& writer, registry::Registry& registry,
                                     std::function<Date()> today)
    : pool_(pool), writer_(writer), registry_(registry), today_(std::move(today)) {}

Date SealRegistrations::today() const { return today_ ? today_() : Date::today(); }

Status SealRegistrations::check_impression(std::string_view png, const std::string& sha256) {
  constexpr size_t kRemembered = 65536;
  {
    std::lock_guard lock(valid_mutex_);
    if (valid_impressions_.contains(sha256)) return Status::ok();
  }
  JLIS_RETURN_IF_ERROR(validate_seal_impression(png));
  std::lock_guard lock(valid_mutex_);
  if (valid_impressions_.size() >= kRemembered) valid_impressions_.clear();
  valid_impressions_.insert(sha256);
  return Status::ok();
}

void SealRegistrations::attach() {
  registry_.add_listener([this](Connection& conn, const registry::ChangeEvent& event,
                                const std::optional<registry::Resident>& before, const registry::Resident& after) {
    return on_change(conn, event, before, after);
  });
}

Status SealRegistrations::on_change(Connection& conn, const registry::ChangeEvent& event,
                                    const std::optional<registry::Resident>& before, const registry::Resident& after) {
  using registry::EventType;
  switch (event.type) {
    case EventType::death:
    case EventType::move_out: {
      // Wherever it was registered: one active seal at most, and it dies or leaves with the person.
      JLIS_ASSIGN_OR_RETURN(auto active, load_one(conn, "resident_code = ? AND status = 'active'",
                                                  {resident_key(after.resident_code)}, false));
      if (!active) return Status::ok();
      return abolish_row(conn, *active, event.date,
                         event.type == EventType::death ? SealAbolitionReason::death : SealAbolitionReason::move_out);
    }
    case EventType::resident_code_change:
      if (!before) return Status::ok();
      return conn
          .execute("UPDATE municipal_seal_registrations SET resident_code = ? WHERE resident_code = ?",
                   {resident_key(after.resident_code), resident_key(before->resident_code)})
          .status();
    default:
      return Status::ok();
  }
}

Result<SealApplied> SealRegistrations::write(const LocalGovernmentCode& municipality, std::string_view kind,
                                             const std::string& request_id, const std::string& request_hash,
                                             const Status& prepared,
                                             const std::function<Result<int64_t>(Connection&)>& apply) {
  JLIS_RETURN_IF_ERROR(check_request_id(request_id));
  return store::run_for<SealApplied>(writer_, [&](Connection& conn) {
    return write_in(conn, municipality, kind, request_id, request_hash, prepared, apply);
  });
}

Result<SealApplied> SealRegistrations::write_in(Connection& conn, const LocalGovernmentCode& municipality,
                                                std::string_view kind, const std::string& request_id,
                                                const std::string& request_hash, const Status& prepared,
                                                const std::function<Result<int64_t>(Connection&)>& apply) {
  // The key first: a retry answers as the first time, whatever its content's validity now.
  std::optional<std::pair<std::string, int64_t>> earlier;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT request_hash, registration_number FROM municipal_seal_requests "
      "WHERE municipality_code = ? AND request_id = ?",
      {municipality.str(), request_id}, [&](const Row& r) {
        earlier.emplace(r.text(0), r.int64(1));
        return false;
      }));
  if (earlier) {
    if (earlier->first != request_hash)
      return conflict("request_id " + request_id + " was used for another seal request");
    JLIS_ASSIGN_OR_RETURN(SealRegistration s, load_number(conn, municipality, earlier->second, false));
    return SealApplied{std::move(s), true};
  }
  JLIS_RETURN_IF_ERROR(prepared);
  JLIS_ASSIGN_OR_RETURN(int64_t number, apply(conn));
  JLIS_RETURN_IF_ERROR(
      conn.execute("INSERT INTO municipal_seal_requests (municipality_code, request_id, request_hash, kind, "
                   "registration_number, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                   {municipality.str(), request_id, request_hash, std::string(kind), number, now_iso8601()})
          .status());
  JLIS_ASSIGN_OR_RETURN(SealRegistration s, load_number(conn, municipality, number, false));
  return SealApplied{std::move(s), false};
}

namespace {

// `sha256`: of the request's impression.
std::string registration_hash(std::string_view kind, const SealRegistrationRequest& request, const std::string& sha256) {
  return sha256_hex(json{{"kind", kind},
                         {"resident_code", request.resident_code.str()},
                         {"impression_sha256", sha256},
                         {"under_guardianship", request.under_guardianship}}
                        .dump());
}

}  // namespace

Result<SealApplied> SealRegistrations::register_seal(const LocalGovernmentCode& municipality,
                                                     const SealRegistrationRequest& request) {
  const Date on = today();
  const std::string sha256 = sha256_hex(request.impression_png);
  return write(municipality, "register", request.request_id, registration_hash("register", request, sha256),
               check_impression(request.impression_png, sha256),
               [&](Connection& conn) { return register_row(conn, municipality, request, on, sha256); });
}

Result<SealApplied> SealRegistrations::register_seal_in(Connection& conn, const LocalGovernmentCode& municipality,
                                                        const SealRegistrationRequest& request, Date on) {
  JLIS_RETURN_IF_ERROR(check_request_id(request.request_id));
  if (on > today()) return invalid_argument("a seal cannot be registered in the future");
  const std::string sha256 = sha256_hex(request.impression_png);
  return write_in(conn, municipality, "register", request.request_id, registration_hash("register", request, sha256),
                  check_impression(request.impression_png, sha256),
                  [&](Connection& c) { return register_row(c, municipality, request, on, sha256); });
}

Result<int64_t> SealRegistrations::register_row(Connection& conn, const LocalGovernmentCode& municipality,
                                                const SealRegistrationRequest& request, Date on,
                                                const std::string& sha256) {
  JLIS_ASSIGN_OR_RETURN(auto resident, own_resident(conn, registry_, municipality, request.resident_code));
  JLIS_RETURN_IF_ERROR(eligible(resident, request, on));
  // Any municipality's: a person has one registered seal.
  JLIS_ASSIGN_OR_RETURN(auto active, load_one(conn, "resident_code = ? AND status = 'active'",
                                              {resident_key(request.resident_code)}, false));
  if (active)
    return conflict("the resident already has a registered seal (number " +
                    std::to_string(active->registration_number) + "): change it or abolish it first");
  JLIS_ASSIGN_OR_RETURN(int64_t number, next_number(conn, municipality));
  JLIS_RETURN_IF_ERROR(insert_registration(conn, municipality, number, request.resident_code, on,
                                           request.impression_png, sha256, std::nullopt));
  return number;
}

Result<SealApplied> SealRegistrations::change(const LocalGovernmentCode& municipality,
                                              const SealRegistrationRequest& request) {
  const Date on = today();
  const std::string sha256 = sha256_hex(request.impression_png);
  return write(municipality, "change", request.request_id, registration_hash("change", request, sha256),
               check_impression(request.impression_png, sha256), [&](Connection& conn) -> Result<int64_t> {
                 JLIS_ASSIGN_OR_RETURN(auto resident, own_resident(conn, registry_, municipality, request.resident_code));
                 JLIS_RETURN_IF_ERROR(eligible(resident, request, on));
                 JLIS_ASSIGN_OR_RETURN(auto old, active_seal(conn, municipality, request.resident_code, false));
                 if (!old) return conflict("the resident has no registered seal here to change");
                 JLIS_ASSIGN_OR_RETURN(int64_t number, next_number(conn, municipality));
                 // The old one first: the index allows one active registration.
                 JLIS_RETURN_IF_ERROR(abolish_row(conn, *old, on, SealAbolitionReason::changed, number));
                 JLIS_RETURN_IF_ERROR(insert_registration(conn, municipality, number, request.resident_code, on,
                                                          request.impression_png, sha256, old->registration_number));
                 return number;
               });
}

Result<SealApplied> SealRegistrations::abolish(const LocalGovernmentCode& municipality,
                                               const SealAbolitionRequest& request) {
  const Date on = today();
  json hashed = {{"kind", "abolish"},
                 {"resident_code", request.resident_code.str()},
                 {"reason", seal_abolition_reason_name(request.reason)},
                 {"registration_number", nullptr}};
  if (request.registration_number) hashed["registration_number"] = *request.registration_number;
  const Status prepared = request.reason == SealAbolitionReason::changed
                              ? invalid_argument("reason changed is a change's own: submit a change")
                              : Status::ok();
  return write(municipality, "abolish", request.request_id, sha256_hex(hashed.dump()), prepared,
               [&](Connection& conn) -> Result<int64_t> {
                 JLIS_RETURN_IF_ERROR(own_resident(conn, registry_, municipality, request.resident_code).status());
                 JLIS_ASSIGN_OR_RETURN(auto active, active_seal(conn, municipality, request.resident_code, false));
                 if (!active) return conflict("the resident has no registered seal here to abolish");
                 if (request.registration_number && *request.registration_number != active->registration_number)
                   return conflict("registration " + std::to_string(*request.registration_number) +
                                   " is not the resident's registered seal");
                 JLIS_RETURN_IF_ERROR(abolish_row(conn, *active, on, request.reason));
                 return active->registration_number;
               });
}

Result<SealCertifiability> SealRegistrations::certifiable(Connection& conn, const LocalGovernmentCode& municipality,
                                                          const ResidentCode& resident) {
  JLIS_ASSIGN_OR_RETURN(auto r, own_resident(conn, registry_, municipality, resident));
  SealCertifiability out;
  if (r.status != registry::ResidentStatus::resident) {
    out.refusal = SealRefusal::not_resident;
    return out;
  }
  // Only an active registration is ever certified; the history only tells the two refusals apart.
  JLIS_ASSIGN_OR_RETURN(auto active, active_seal(conn, municipality, resident, true));
  if (active) {
    out.seal = std::move(*active);
    return out;
  }
  JLIS_ASSIGN_OR_RETURN(auto any, conn.query_int64("SELECT COUNT(*) FROM municipal_seal_registrations "
                                                   "WHERE resident_code = ? AND municipality_code = ?",
                                                   {resident_key(resident), municipality.str()}));
  out.refusal = any.value_or(0) > 0 ? SealRefusal::seal_abolished : SealRefusal::no_seal;
  return out;
}

Result<SealCertifiability> SealRegistrations::certifiable(const LocalGovernmentCode& municipality,
                                                          const ResidentCode& resident) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return certifiable(*conn, municipality, resident);
}

Result<std::vector<SealRegistration>> SealRegistrations::history(const LocalGovernmentCode& municipality,
                                                                 const ResidentCode& resident) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto all, load(*conn, "resident_code = ? AND municipality_code = ?",
                                       {resident_key(resident), municipality.str()}, false));
  if (all.empty()) JLIS_RETURN_IF_ERROR(own_resident(*conn, registry_, municipality, resident).status());
  return all;
}

Result<SealRegistration> SealRegistrations::get(const LocalGovernmentCode& municipality, int64_t registration_number) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return load_number(*conn, municipality, registration_number, true);
}

}  // namespace jlis::municipal
