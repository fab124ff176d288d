// The LGPKI application workflow (lgpki_workflow.h).
#include "pki/lgpki_workflow.h"

#include <openssl/pem.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "pki/key_policy.h"
#include "pki/request.h"

namespace jlis::pki {

using store::Connection;
using store::Row;
using State = LgpkiApplicationState;

namespace {

constexpr std::string_view kStates[] = {"filed",   "reviewed", "approved", "issued", "refused",
                                        "revocation-requested", "revoked"};

Result<State> parse_state(std::string_view text) {
  for (size_t i = 0; i < std::size(kStates); ++i)
    if (kStates[i] == text) return static_cast<State>(i);
  return internal_error("lgpki_applications holds an unknown state");
}

std::string who(const auth::Principal& p) {
  // The CLI's operator already says "operator:<name>" as its subject.
  if (p.role == auth::Role::operator_ && p.subject.rfind("operator:", 0) == 0) return p.subject;
  return std::string(auth::role_name(p.role)) + ":" + p.subject;
}

std::string now_iso() { return iso8601_seconds(static_cast<int64_t>(std::time(nullptr))); }

nlohmann::json subject_json(const LgpkiSubject& s) {
  return {{"municipality_code", s.municipality_code}, {"organisation", s.organisation}, {"unit", s.unit},
          {"position", s.position},                   {"common_name", s.common_name},   {"dns_names", s.dns_names}};
}

Result<LgpkiSubject> subject_of(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return internal_error("lgpki_applications holds a damaged subject");
  LgpkiSubject s;
  s.municipality_code = j.value("municipality_code", "");
  s.organisation = j.value("organisation", "");
  s.unit = j.value("unit", "");
  s.position = j.value("position", "");
  s.common_name = j.value("common_name", "");
  s.dns_names = j.value("dns_names", std::vector<std::string>{});
  return s;
}

Status check_id(const std::string& id) {
  bool ok = id.size() == 19 && id.rfind("la-", 0) == 0;
  for (size_t i = 3; ok && i < id.size(); ++i) ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
  return ok ? Status::ok() : invalid_argument("an application id is la- and 16 lower-case hex digits");
}

constexpr const char* kApplicationColumns =
    "a.id, a.municipality, a.profile, a.subject, a.request, a.key_label, a.state, a.serial, c.der";

// The application `id` read on `conn`, with its steps; nullopt when there is none.
Result<std::optional<LgpkiApplication>> load_application(Connection& conn, const std::string& id) {
  std::optional<Result<LgpkiApplication>> found;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kApplicationColumns +
                                      " FROM lgpki_applications a LEFT JOIN lgpki_certificates c ON c.serial = a.serial "
                                      "WHERE a.id = ?",
                                  {id}, [&](const Row& r) {
                                    found = [&]() -> Result<LgpkiApplication> {
                                      LgpkiApplication a;
                                      a.id = r.text(0);
                                      a.municipality_code = r.text(1);
                                      JLIS_ASSIGN_OR_RETURN(a.profile, parse_lgpki_profile(r.text(2)));
                                      JLIS_ASSIGN_OR_RETURN(a.subject, subject_of(r.text(3)));
                                      a.request = r.text(4);
                                      a.key_label = r.optional_text(5).value_or("");
                                      JLIS_ASSIGN_OR_RETURN(a.state, parse_state(r.text(6)));
                                      a.serial = r.optional_text(7).value_or("");
                                      if (!r.is_null(8)) {
                                        JLIS_ASSIGN_OR_RETURN(a.certificate_der, base64_decode(r.text(8)));
                                      }
                                      return a;
                                    }();
                                    return false;
                                  }));
  if (!found) return std::optional<LgpkiApplication>{};
  JLIS_RETURN_IF_ERROR(found->status());
  LgpkiApplication a = std::move(found->value());
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT at, step, by_whom, detail FROM lgpki_application_steps WHERE application = ? ORDER BY seq", {id},
      [&](const Row& r) {
        a.steps.push_back({r.text(0), r.text(1), r.text(2), r.text(3)});
        return true;
      }));
  return std::optional<LgpkiApplication>(std::move(a));
}

bool sees(const auth::Principal& caller, const std::string& municipality) {
  if (caller.role == auth::Role::operator_) return true;
  return (caller.role == auth::Role::municipality || caller.role == auth::Role::lgpki_registration) &&
         caller.subject == municipality;
}

Status record_step(Connection& conn, const std::string& id, const std::string& step, const auth::Principal& by,
                   const std::string& detail) {
  return conn
      .execute("INSERT INTO lgpki_application_steps (application, at, step, by_whom, detail) VALUES (?, ?, ?, ?, ?)",
               {id, now_iso(), step, who(by), detail})
      .status();
}

Status set_state(Connection& conn, const std::string& id, State state) {
  return conn
      .execute("UPDATE lgpki_applications SET state = ? WHERE id = ?",
               {std::string(lgpki_application_state_name(state)), id})
      .status();
}

// The application `id` for a step that `caller` takes in state `from`: not_found when the caller
// may not see it; permission_denied when the caller's role is not `role` (or, for a government's
// role, not of its government); conflict when it is in another state.
Result<LgpkiApplication> for_step(Connection& conn, const auth::Principal& caller, const std::string& id,
                                  auth::Role role, State from, std::string_view step) {
  if (caller.role != role)
    return permission_denied("only the " + std::string(auth::role_name(role)) + " role may " + std::string(step) +
                             " an LGPKI application");
  JLIS_ASSIGN_OR_RETURN(auto a, load_application(conn, id));
  if (!a || !sees(caller, a->municipality_code)) return not_found("no LGPKI application " + id);
  if (a->state != from)
    return conflict("LGPKI application " + id + " is " + std::string(lgpki_application_state_name(a->state)) +
                    "; to " + std::string(step) + " it, it must be " + std::string(lgpki_application_state_name(from)));
  return std::move(*a);
}

Status check_reason_text(bool approve, const std::string& reason) {
  if (!approve && reason.empty()) return invalid_argument("a refusal needs a reason");
  if (reason.size() > 1000) return invalid_argument("a reason is at most 1000 bytes");
  for (unsigned char c : reason)
    if (c < 0x20 || c == 0x7f) return invalid_argument("a reason has no control characters");
  return Status::ok();
}

}  // namespace

std::string_view lgpki_application_state_name(LgpkiApplicationState state) {
  return kStates[static_cast<size_t>(state)];
}

Result<LgpkiKeyAndRequest> make_key_and_request(KeyStore& keys, LgpkiProfile profile,
                                                const std::string& municipality_code) {
  JLIS_RETURN_IF_ERROR(LocalGovernmentCode::parse(municipality_code).status());
  LgpkiKeyAndRequest out;
  JLIS_ASSIGN_OR_RETURN(std::string hex, random_hex(8));
  out.id = "la-" + hex;
  out.key_label = "lgpki-" + std::string(lgpki_profile_name(profile)) + "-" + municipality_code + "-" + hex;
  JLIS_ASSIGN_OR_RETURN(EvpPkeyPtr key, keys.generate(out.key_label));
  JLIS_ASSIGN_OR_RETURN(out.request, make_certification_request(key.get(), out.key_label));
  return out;
}

Result<LgpkiApplication> LgpkiWorkflow::file(const auth::Principal& caller, const LgpkiFiling& filing) {
  JLIS_RETURN_IF_ERROR(check_lgpki_subject(filing.profile, filing.subject));
  JLIS_ASSIGN_OR_RETURN(CertificationRequest request, parse_certification_request(filing.request));
  JLIS_RETURN_IF_ERROR(check_key_policy(request.key.rsa_public_key));
  std::string id = filing.id;
  if (id.empty()) {
    JLIS_ASSIGN_OR_RETURN(std::string hex, random_hex(8));
    id = "la-" + hex;
  }
  JLIS_RETURN_IF_ERROR(check_id(id));
  // The request as PEM, whichever form it came in.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(request.der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(request.der.size())));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!req || !bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return internal_error("re-encoding the request");
  char* data = nullptr;
  const long pem_len = BIO_get_mem_data(bio.get(), &data);
  const std::string request_pem(data, static_cast<size_t>(pem_len));
  const std::string& code = filing.subject.municipality_code;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    if (!(caller.role == auth::Role::municipality && caller.subject == code))
      return permission_denied("a local government files LGPKI applications for itself only, with its own token");
    JLIS_RETURN_IF_ERROR(
        conn.execute("INSERT INTO lgpki_applications (id, municipality, profile, subject, request, key_label, state, "
                     "filed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     {id, code, std::string(lgpki_profile_name(filing.profile)), subject_json(filing.subject).dump(),
                      request_pem,
                      filing.key_label.empty() ? store::Value(nullptr) : store::Value(filing.key_label),
                      std::string(lgpki_application_state_name(State::filed)), now_iso()})
            .status());
    return record_step(conn, id, "filed", caller, std::string(lgpki_profile_name(filing.profile)));
  }));
  return get(caller, id);
}

Result<LgpkiApplication> LgpkiWorkflow::review(const auth::Principal& caller, const std::string& id, bool approve,
                                               const std::string& reason) {
  JLIS_RETURN_IF_ERROR(check_id(id));
  JLIS_RETURN_IF_ERROR(check_reason_text(approve, reason));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(for_step(conn, caller, id, auth::Role::lgpki_registration, State::filed, "review").status());
    JLIS_RETURN_IF_ERROR(set_state(conn, id, approve ? State::reviewed : State::refused));
    return record_step(conn, id, approve ? "reviewed" : "review-refused", caller, reason);
  }));
  return get(caller, id);
}

Result<LgpkiApplication> LgpkiWorkflow::approve(const auth::Principal& caller, const std::string& id, bool approve,
                                                const std::string& reason) {
  JLIS_RETURN_IF_ERROR(check_id(id));
  JLIS_RETURN_IF_ERROR(check_reason_text(approve, reason));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(for_step(conn, caller, id, auth::Role::operator_, State::reviewed, "approve").status());
    JLIS_RETURN_IF_ERROR(set_state(conn, id, approve ? State::approved : State::refused));
    return record_step(conn, id, approve ? "approved" : "approval-refused", caller, reason);
  }));
  return get(caller, id);
}

Result<LgpkiApplication> LgpkiWorkflow::issue(const auth::Principal& caller, const std::string& id) {
  JLIS_RETURN_IF_ERROR(check_id(id));
  if (caller.role != auth::Role::operator_)
    return permission_denied("only the operator role may issue an LGPKI application");
  // What to issue, read outside; the state is checked again where the certificate is written.
  LgpkiApplication a;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(auto found, load_application(*conn, id));
    if (!found) return not_found("no LGPKI application " + id);
    a = std::move(*found);
  }
  LgpkiIssuance in;
  in.profile = a.profile;
  in.request = a.request;
  in.subject = a.subject;
  in.key_label = a.key_label;
  in.also = [&](Connection& conn, const LgpkiCertificate& cert) -> Status {
    JLIS_RETURN_IF_ERROR(for_step(conn, caller, id, auth::Role::operator_, State::approved, "issue").status());
    JLIS_RETURN_IF_ERROR(
        conn.execute("UPDATE lgpki_applications SET state = ?, serial = ? WHERE id = ?",
                     {std::string(lgpki_application_state_name(State::issued)), cert.serial, id})
            .status());
    return record_step(conn, id, "issued", caller, cert.serial);
  };
  if (a.state != State::approved)  // a clear answer without signing anything; checked again above
    return conflict("LGPKI application " + id + " is " + std::string(lgpki_application_state_name(a.state)) +
                    "; to issue it, it must be approved");
  JLIS_RETURN_IF_ERROR(lgpki_.issue(in).status());
  return get(caller, id);
}

Result<LgpkiApplication> LgpkiWorkflow::request_revocation(const auth::Principal& caller, const std::string& id,
                                                           RevocationReason reason, const std::string& why) {
  JLIS_RETURN_IF_ERROR(check_id(id));
  JLIS_RETURN_IF_ERROR(check_reason_text(true, why));
  JLIS_RETURN_IF_ERROR(check_lgpki_revocation_reason(reason, /*ca=*/false));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, for_step(conn, caller, id, auth::Role::lgpki_registration, State::issued,
                                                       "request the revocation of"));
    JLIS_ASSIGN_OR_RETURN(auto revoked, conn.query_int64("SELECT COUNT(*) FROM lgpki_certificates WHERE serial = ? AND "
                                                         "revoked_at IS NOT NULL",
                                                         {a.serial}));
    if (revoked.value_or(0) > 0) return conflict("the certificate of LGPKI application " + id + " is revoked already");
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE lgpki_applications SET state = ?, revocation_reason = ? WHERE id = ?",
                                      {std::string(lgpki_application_state_name(State::revocation_requested)),
                                       static_cast<int64_t>(reason), id})
                             .status());
    return record_step(conn, id, "revocation-requested", caller,
                       std::string(reason_name(reason)) + (why.empty() ? "" : ": " + why));
  }));
  return get(caller, id);
}

Result<LgpkiApplication> LgpkiWorkflow::revoke(const auth::Principal& caller, const std::string& id) {
  JLIS_RETURN_IF_ERROR(check_id(id));
  if (caller.role != auth::Role::operator_)
    return permission_denied("only the operator role may revoke through an LGPKI application");
  std::string serial;
  RevocationReason reason = RevocationReason::unspecified;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(auto found, load_application(*conn, id));
    if (!found) return not_found("no LGPKI application " + id);
    if (found->state != State::revocation_requested)
      return conflict("LGPKI application " + id + " is " + std::string(lgpki_application_state_name(found->state)) +
                      "; to revoke it, its sub-authority must first request the revocation");
    serial = found->serial;
    JLIS_ASSIGN_OR_RETURN(auto r, conn->query_int64("SELECT revocation_reason FROM lgpki_applications WHERE id = ?", {id}));
    reason = static_cast<RevocationReason>(r.value_or(0));
  }
  JLIS_RETURN_IF_ERROR(lgpki_
                           .revoke(serial, reason,
                                   [&](Connection& conn, const LgpkiCertificate&) -> Status {
                                     JLIS_RETURN_IF_ERROR(for_step(conn, caller, id, auth::Role::operator_,
                                                                   State::revocation_requested, "revoke")
                                                              .status());
                                     JLIS_RETURN_IF_ERROR(set_state(conn, id, State::revoked));
                                     return record_step(conn, id, "revoked", caller,
                                                        serial + " " + std::string(reason_name(reason)));
                                   })
                           .status());
  return get(caller, id);
}

Result<LgpkiApplication> LgpkiWorkflow::get(const auth::Principal& caller, const std::string& id) {
  JLIS_RETURN_IF_ERROR(check_id(id));
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto a, load_application(*conn, id));
  if (!a || !sees(caller, a->municipality_code)) return not_found("no LGPKI application " + id);
  return std::move(*a);
}

Result<std::vector<LgpkiApplication>> LgpkiWorkflow::list(const auth::Principal& caller,
                                                          const std::string& municipality) {
  if (municipality.empty() && caller.role != auth::Role::operator_)
    return permission_denied("only the operator lists every government's LGPKI applications");
  if (!municipality.empty() && !sees(caller, municipality))
    return permission_denied("a local government lists its own LGPKI applications only");
  std::vector<std::string> ids;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    const std::string sql = std::string("SELECT id FROM lgpki_applications") +
                            (municipality.empty() ? "" : " WHERE municipality = ?") + " ORDER BY filed_at, id";
    JLIS_RETURN_IF_ERROR(conn->query(sql, municipality.empty() ? store::Params{} : store::Params{municipality},
                                     [&](const Row& r) {
                                       ids.push_back(r.text(0));
                                       return true;
                                     }));
  }
  std::vector<LgpkiApplication> out;
  for (const auto& id : ids) {
    JLIS_ASSIGN_OR_RETURN(LgpkiApplication a, get(caller, id));
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace jlis::pki
