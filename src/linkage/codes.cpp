#include "linkage/codes.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <ctime>
#include <optional>

#include "common/clock.h"
#include "common/digest.h"
#include "linkage/bodies.h"
#include "linkage/signatures.h"
#include "store/migrations.h"

namespace jlis::linkage {

using store::Connection;
using store::Row;

namespace {

const std::vector<store::Migration> kCodeMigrations = {{1, R"sql(
CREATE TABLE linkage_persons (
  person_id TEXT PRIMARY KEY,          -- 32 hex digits, random; never leaves the platform
  resident_code TEXT NOT NULL UNIQUE   -- the current one (move_resident follows a change)
);
CREATE TABLE linkage_codes (
  body TEXT NOT NULL,
  code TEXT NOT NULL,                  -- 32 hex digits (codes.h)
  person_id TEXT NOT NULL,
  PRIMARY KEY (body, person_id)
);
CREATE UNIQUE INDEX linkage_codes_code ON linkage_codes (body, code);
)sql"}};

Status check_body(const std::string& body) {
  if (body.empty() || body.size() > 64) return invalid_argument("a body id is 1 to 64 of [a-z0-9-]");
  for (char c : body)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return invalid_argument("a body id is 1 to 64 of [a-z0-9-]");
  return Status::ok();
}

Status check_code(const std::string& code) {
  if (code.size() != 32) return invalid_argument("a linkage code is 32 hex digits");
  for (char c : code)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return invalid_argument("a linkage code is 32 hex digits");
  return Status::ok();
}

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

}  // namespace

Status LinkageCodes::migrate(Connection& conn) { return store::migrate(conn, "linkage", kCodeMigrations); }

Result<EVP_PKEY*> LinkageCodes::key() {
  std::lock_guard lock(key_mu_);
  if (key_ != nullptr || keys_ == nullptr) return key_;
  auto made = keys_->generate(kCodeKeyLabel);
  // Another process made it between the platform's load and now: its key is the platform's.
  if (!made.ok() && made.status().code() == Code::conflict) made = keys_->load(kCodeKeyLabel);
  if (!made.ok()) return made.status();
  owned_key_ = std::move(*made);
  return key_ = owned_key_.get();
}

Result<std::string> LinkageCodes::derive(EVP_PKEY* key, const std::string& body, const std::string& person) {
  const std::string digest = sha256("jlis-linkage-code|" + body + "|" + person);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr), EVP_PKEY_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
    return pki::openssl_error("the linkage code key");
  std::string signature(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                    reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
    return pki::openssl_error("signing with the linkage code key");
  signature.resize(len);
  return to_hex(sha256(signature).substr(0, 16));
}

Result<std::string> LinkageCodes::code_for(const std::string& body, const ResidentCode& resident) {
  JLIS_RETURN_IF_ERROR(check_body(body));
  const std::string rc = resident.str();
  {  // Recorded already: a read.
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(auto code, conn->query_text("SELECT c.code FROM linkage_codes c JOIN linkage_persons p ON "
                                                      "p.person_id = c.person_id JOIN linkage_bodies b ON b.body_id = "
                                                      "c.body WHERE p.resident_code = ? AND c.body = ? AND b.active = 1",
                                                      {rc, body}));
    if (code) return *code;
  }
  // Made in the writer's transaction: the anchor and the code, each checked there (a concurrent
  // request for the same person or code finds the other's row, never a second one). The key first,
  // outside it: the first code of a data directory may have to generate it.
  JLIS_ASSIGN_OR_RETURN(EVP_PKEY* const code_key, key());
  JLIS_ASSIGN_OR_RETURN(std::string fresh_person, random_hex(16));
  std::string out;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(Bodies::active(conn, body).status());
    JLIS_ASSIGN_OR_RETURN(auto person, conn.query_text("SELECT person_id FROM linkage_persons WHERE resident_code = ?", {rc}));
    if (!person) {
      JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_persons (person_id, resident_code) VALUES (?, ?)",
                                        {fresh_person, rc})
                               .status());
      person = fresh_person;
    }
    JLIS_ASSIGN_OR_RETURN(auto recorded, conn.query_text("SELECT code FROM linkage_codes WHERE body = ? AND person_id = ?",
                                                  {body, *person}));
    if (recorded) {
      out = *recorded;
      return Status::ok();
    }
    JLIS_ASSIGN_OR_RETURN(out, derive(code_key, body, *person));
    JLIS_ASSIGN_OR_RETURN(auto taken, person_of(conn, body, out));
    if (taken) return conflict("a linkage code collided; the person's code cannot be made");
    return conn.execute("INSERT INTO linkage_codes (body, code, person_id) VALUES (?, ?, ?)", {body, out, *person})
        .status();
  }));
  return out;
}

Result<std::string> LinkageCodes::code_by_my_number(registry::Registry& registry, const std::string& body,
                                                   const MyNumber& number, const std::string& request_id,
                                                   const SignedMessage* signed_by) {
  JLIS_RETURN_IF_ERROR(check_body(body));
  if (signed_by) {
    const std::string logged_at = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));
    JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
      LogAppender log(conn);
      JLIS_RETURN_IF_ERROR(accept_signed(conn, log, body, "code-request", *signed_by, logged_at));
      return log.finish();
    }));
  }
  Result<Body> asking = [&]() -> Result<Body> {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    return Bodies::active(*conn, body);
  }();
  if (!asking.ok()) return asking.status();
  if (asking->kind == BodyKind::ministry)
    return permission_denied("body " + body + " (a ministry) holds no My Numbers: it cannot be given a code by one");
  JLIS_ASSIGN_OR_RETURN(registry::Resident resident, registry.find_by_my_number(number));
  // Recorded before the code is made: no resident code reaches the platform unrecorded.
  JLIS_RETURN_IF_ERROR(registry.record_provision(kLinkagePlatformAgency, "情報提供ネットワークシステム",
                                                 "linkage code for " + body, {resident.resident_code}, request_id));
  return code_for(body, resident.resident_code);
}

Result<ResidentCode> LinkageCodes::resident_of(const std::string& body, const std::string& code) {
  JLIS_RETURN_IF_ERROR(check_body(body));
  JLIS_RETURN_IF_ERROR(check_code(code));
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto rc, conn->query_text(
                                          "SELECT p.resident_code FROM linkage_codes c JOIN linkage_persons p ON "
                                          "p.person_id = c.person_id WHERE c.body = ? AND c.code = ?",
                                          {body, code}));
  if (!rc) return not_found("body " + body + " has no such linkage code");
  return ResidentCode::parse(*rc);
}

Result<std::string> LinkageCodes::convert(const std::string& from, const std::string& code, const std::string& to) {
  JLIS_RETURN_IF_ERROR(check_body(to));
  JLIS_ASSIGN_OR_RETURN(ResidentCode resident, resident_of(from, code));
  return code_for(to, resident);
}

Result<std::optional<std::string>> LinkageCodes::code_of(Connection& conn, const std::string& body,
                                                         const std::string& person_id) {
  return conn.query_text("SELECT code FROM linkage_codes WHERE body = ? AND person_id = ?", {body, person_id});
}

Result<std::optional<std::string>> LinkageCodes::person_of(Connection& conn, const std::string& body,
                                                           const std::string& code) {
  return conn.query_text("SELECT person_id FROM linkage_codes WHERE body = ? AND code = ?", {body, code});
}

Status LinkageCodes::move_resident(Connection& conn, const ResidentCode& from, const ResidentCode& to) {
  return conn.execute("UPDATE linkage_persons SET resident_code = ? WHERE resident_code = ?", {to.str(), from.str()})
      .status();
}

}  // namespace jlis::linkage
