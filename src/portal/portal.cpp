#include "portal/portal.h"

#include <openssl/rand.h>

#include <ctime>
#include <map>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "http/labelled_counter.h"
#include "pki/card_login.h"
#include "pki/openssl.h"
#include "registry/resident.h"
#include "store/migrations.h"

namespace jlis::portal {
namespace {

using nlohmann::json;
using store::Connection;

const std::vector<store::Migration> kPortalMigrations = {{1, R"(
CREATE TABLE portal_logins (
  login_id TEXT PRIMARY KEY,            -- the session's id (ps-…): never its secret
  resident_code TEXT NOT NULL,          -- the certificate's holder at the log-in
  certificate_serial TEXT NOT NULL,
  logged_in_at BIGINT NOT NULL,         -- seconds since the epoch
  ended_at BIGINT,
  end_reason TEXT                       -- logout | idle | lifetime | certificate
);
CREATE INDEX portal_logins_resident ON portal_logins (resident_code);
)"}};

struct Pending {
  std::string challenge;
  int64_t expires_at = 0;
};

struct Live {
  std::string session_id;
  ResidentCode resident_code;
  std::string certificate_serial;
  int64_t logged_in_at = 0, seen_at = 0;
};

}  // namespace

Status Portal::migrate(Connection& conn) { return store::migrate(conn, "portal", kPortalMigrations); }

struct Portal::Impl {
  Impl(store::Pool& p, store::Writer& w, registry::Registry& r, pki::CertificateAuthority& c,
       registry::DisclosureDecorator d, PortalOptions o)
      : pool(p), writer(w), registry(r), authenticator(c), disclose(std::move(d)), options(std::move(o)) {}

  store::Pool& pool;
  store::Writer& writer;
  registry::Registry& registry;
  pki::CardAuthenticator authenticator;
  registry::DisclosureDecorator disclose;
  PortalOptions options;

  mutable std::mutex mu;
  std::map<std::string, Pending> pending;  // guarded by mu: open log-ins by session id
  std::map<std::string, Live> live;        // guarded by mu: sessions by the SHA-256 of their secret
  http::LabelledCounter logins{"jlis_portal_logins_total", "Log-ins to the resident's page, by outcome.", {"outcome"}};

  int64_t now() const { return options.clock ? options.clock() : static_cast<int64_t>(std::time(nullptr)); }

  // Why a live session is over at `at`, or "" while it lasts.
  std::string over(const Live& s, int64_t at) const {
    if (at - s.logged_in_at >= options.lifetime_seconds) return "lifetime";
    if (at - s.seen_at >= options.idle_seconds) return "idle";
    return "";
  }

  // Records the end of session `id` (best effort: the session is gone from memory already).
  void record_end(const std::string& id, const std::string& reason) {
    const int64_t at = now();
    (void)writer.run([&](Connection& conn) -> Status {
      return conn
          .execute("UPDATE portal_logins SET ended_at = ?, end_reason = ? WHERE login_id = ? AND ended_at IS NULL",
                   {at, reason, id})
          .status();
    });
  }

  // Drops the open log-ins and sessions that are over (caller holds mu): the ended ones' ids.
  std::vector<std::pair<std::string, std::string>> sweep(int64_t at) {
    std::erase_if(pending, [at](const auto& e) { return e.second.expires_at <= at; });
    std::vector<std::pair<std::string, std::string>> ended;
    for (auto it = live.begin(); it != live.end();) {
      const std::string why = over(it->second, at);
      if (why.empty()) {
        ++it;
        continue;
      }
      ended.emplace_back(it->second.session_id, why);
      it = live.erase(it);
    }
    return ended;
  }
};

Portal::Portal(store::Pool& pool, store::Writer& writer, registry::Registry& registry, pki::CertificateAuthority& ca,
               registry::DisclosureDecorator disclose, PortalOptions options)
    : impl_(std::make_unique<Impl>(pool, writer, registry, ca, std::move(disclose), std::move(options))) {}
Portal::~Portal() = default;

int64_t Portal::now() const { return impl_->now(); }

Result<Opened> Portal::open() {
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(16));
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return pki::openssl_error("RAND_bytes");
  Opened o{"ps-" + id, pki::base64_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes)),
           now() + impl_->options.login_seconds};
  std::vector<std::pair<std::string, std::string>> ended;
  {
    std::lock_guard lock(impl_->mu);
    ended = impl_->sweep(now());
  }
  for (const auto& [sid, why] : ended) impl_->record_end(sid, why);
  std::lock_guard lock(impl_->mu);
  if (impl_->pending.size() >= impl_->options.max_open)
    return unavailable("too many log-ins are open at once: try again in a few minutes");
  impl_->pending[o.session_id] = {o.challenge, o.expires_at};
  return o;
}

Result<Session> Portal::log_in(const std::string& session_id, const std::string& certificate_pem,
                               const std::string& signature_base64) {
  Pending p;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->pending.find(session_id);
    if (it == impl_->pending.end() || it->second.expires_at <= now())
      return not_found("no log-in " + session_id + " is open (it expired, was used, or never was): start again");
    p = it->second;
    impl_->pending.erase(it);  // one try per challenge
  }
  auto outcome = [this](const Status& s) {
    const std::string reason = pki::refusal_reason(s);
    impl_->logins.add({s.is_ok() ? "ok" : reason.empty() ? "error" : reason});
  };
  auto verified = impl_->authenticator.verify(p.challenge, certificate_pem, signature_base64, now());
  if (!verified.ok()) {
    outcome(verified.status());
    return verified.status();
  }
  JLIS_ASSIGN_OR_RETURN(std::string secret, random_hex(32));
  Session session{session_id, secret, {}, 0};
  std::string serial;
  const int64_t at = now();
  Status s = impl_->writer.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(pki::CertificateRecord rec, pki::CardAuthenticator::check_register(conn, *verified, at));
    session.resident_code = rec.resident_code;
    serial = rec.serial;
    return conn
        .execute("INSERT INTO portal_logins (login_id, resident_code, certificate_serial, logged_in_at) VALUES (?, ?, ?, ?)",
                 {session_id, rec.resident_code.str(), rec.serial, at})
        .status();
  });
  outcome(s);
  JLIS_RETURN_IF_ERROR(s);
  session.expires_at = at + impl_->options.idle_seconds;
  std::lock_guard lock(impl_->mu);
  impl_->live[sha256_hex(secret)] = {session_id, session.resident_code, serial, at, at};
  return session;
}

Result<ResidentCode> Portal::resident(std::string_view secret) {
  if (secret.empty()) return unauthenticated("log in with your card first");
  const std::string key = sha256_hex(secret);
  const int64_t at = now();
  Live s;
  std::string why;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->live.find(key);
    if (it == impl_->live.end()) return unauthenticated("no session has this credential: log in with your card");
    why = impl_->over(it->second, at);
    if (why.empty()) {
      it->second.seen_at = at;
      s = it->second;
    } else {
      s = it->second;
      impl_->live.erase(it);
    }
  }
  if (!why.empty()) {
    impl_->record_end(s.session_id, why);
    return unauthenticated("the session has ended: log in with your card again");
  }
  // The card may have been suspended or revoked since the log-in: its sessions end.
  std::string status;
  JLIS_RETURN_IF_ERROR(impl_->pool.read([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(pki::CertificateRecord rec, pki::CertificateAuthority::find_in(conn, s.certificate_serial));
    status = std::string(rec.status(at));
    return Status::ok();
  }));
  if (status != "good") {
    {
      std::lock_guard lock(impl_->mu);
      impl_->live.erase(key);
    }
    impl_->record_end(s.session_id, "certificate");
    return unauthenticated("the card's certificate is no longer good (" + status + "): the session has ended");
  }
  return s.resident_code;
}

Result<json> Portal::record(std::string_view secret) {
  JLIS_ASSIGN_OR_RETURN(ResidentCode code, resident(secret));
  JLIS_ASSIGN_OR_RETURN(registry::Resident r, impl_->registry.get(code));
  JLIS_ASSIGN_OR_RETURN(json out, registry::disclosure(impl_->registry, code, impl_->disclose));
  out["resident"] = registry::to_json(r);
  return out;
}

Status Portal::log_out(std::string_view secret, const std::string& session_id) {
  if (secret.empty()) return unauthenticated("log in with your card first");
  const std::string key = sha256_hex(secret);
  std::string id;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->live.find(key);
    if (it == impl_->live.end()) return unauthenticated("no session has this credential");
    if (!session_id.empty() && it->second.session_id != session_id) return not_found("this credential has no session " + session_id);
    id = it->second.session_id;
    impl_->live.erase(it);
  }
  impl_->record_end(id, "logout");
  return Status::ok();
}

std::string Portal::metrics() const {
  std::lock_guard lock(impl_->mu);
  return "# TYPE jlis_portal_sessions gauge\njlis_portal_sessions " + std::to_string(impl_->live.size()) + "\n" +
         impl_->logins.text();
}

}  // namespace jlis::portal
