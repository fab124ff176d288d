#include "numbering/numbering.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>

#include "common/clock.h"
#include "common/secret_file.h"
#include "store/migrations.h"

namespace jlis::numbering {
namespace {

using store::Connection;
using store::Row;

// {{id}} is used for the code and the number themselves (explicit values are inserted): in SQLite the
// row is then keyed by them directly, one B-tree instead of a table plus a unique index, which
// matters on the first-registration path.
const std::vector<store::Migration> kNumberingMigrations = {{1, R"(
  CREATE TABLE numbering_resident_codes (
    resident_code {{id}},
    municipality_code TEXT NOT NULL,
    state TEXT NOT NULL,
    pool_order BIGINT NOT NULL,
    changed_on TEXT);
  CREATE INDEX numbering_pool_next ON numbering_resident_codes (municipality_code, pool_order)
    WHERE state = 'pooled';
  CREATE TABLE numbering_pools (
    municipality_code TEXT PRIMARY KEY,
    refills BIGINT NOT NULL);
  CREATE TABLE numbering_my_numbers (
    my_number {{id}},
    resident_code BIGINT NOT NULL,
    derivation BIGINT NOT NULL,
    issued_on TEXT NOT NULL, issue_reason TEXT NOT NULL,
    retired_on TEXT, retire_reason TEXT,
    letter_municipality TEXT NOT NULL, letter_created_at TEXT NOT NULL,
    letter_state TEXT NOT NULL, letter_printed_at TEXT);
  CREATE INDEX numbering_letters_pending ON numbering_my_numbers (letter_municipality, my_number)
    WHERE letter_state = 'pending';
)"}};

constexpr uint64_t kCodeSpace = 10'000'000'000ULL;  // ten digits before the check digit
constexpr uint32_t kMaxDerivations = 1000;

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

// Random values from OpenSSL's CSPRNG.
Status random_words(std::vector<uint64_t>& out) {
  if (out.empty()) return Status::ok();
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size() * sizeof(uint64_t))) != 1)
    return internal_error("no randomness for resident codes");
  return Status::ok();
}

MyNumberRecord read_record(const Row& r) {
  MyNumberRecord m;
  m.my_number = MyNumber::from_body(static_cast<uint64_t>(r.int64(0)));
  m.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(1)));
  m.issued_on = r.text(2);
  m.issue_reason = r.text(3);
  m.retired = !r.is_null(4);
  m.retired_on = r.text(4);
  m.retire_reason = r.text(5);
  return m;
}

constexpr const char* kRecordColumns =
    "my_number, resident_code, issued_on, issue_reason, retired_on, retire_reason";

}  // namespace

Status Numbering::migrate(Connection& conn) { return store::migrate(conn, "numbering", kNumberingMigrations); }

const std::vector<store::DeferrableIndex>& Numbering::deferrable_indexes() {
  // As migration 1 creates it (above).
  static const std::vector<store::DeferrableIndex> indexes = {
      {"numbering_letters_pending",
       "CREATE INDEX numbering_letters_pending ON numbering_my_numbers (letter_municipality, my_number) "
       "WHERE letter_state = 'pending'"}};
  return indexes;
}

std::string Numbering::key_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "keys" / "my-number.key").string();
}

Status Numbering::create_key_file(const std::string& data_dir) {
  return create_secret_file(key_path(data_dir), kKeySize, "the My Number key");
}

Result<std::array<uint8_t, kKeySize>> Numbering::load_key(const std::string& data_dir) {
  JLIS_ASSIGN_OR_RETURN(std::string bytes,
                        read_secret_file(key_path(data_dir), kKeySize, "the My Number key",
                                         "; run `jlis init --data " + data_dir +
                                             "` to create it (only on a data directory that has never issued "
                                             "numbers with another key)"));
  std::array<uint8_t, kKeySize> key;
  std::memcpy(key.data(), bytes.data(), kKeySize);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

Result<std::unique_ptr<Numbering>> Numbering::create(std::span<const uint8_t> key) {
  if (key.size() != kKeySize) return invalid_argument("the My Number key must be 32 bytes");
  JLIS_ASSIGN_OR_RETURN(Ff1 ff1, Ff1::create(key, 10));
  return std::unique_ptr<Numbering>(new Numbering(std::move(ff1)));
}

Result<std::unique_ptr<Numbering>> Numbering::open(const std::string& data_dir) {
  JLIS_ASSIGN_OR_RETURN(auto key, load_key(data_dir));
  auto n = create(key);
  OPENSSL_cleanse(key.data(), key.size());
  return n;
}

MyNumber Numbering::derive(const ResidentCode& code, uint32_t k) {
  // All 11 digits, check digit included: FF1 is then a bijection of the whole 11-digit space.
  uint64_t value = code.body() * 10 + static_cast<uint64_t>(ResidentCode::check_digit(code.body()));
  std::array<uint16_t, 11> digits;
  for (size_t i = digits.size(); i-- > 0;) {
    digits[i] = static_cast<uint16_t>(value % 10);
    value /= 10;
  }
  const std::array<uint8_t, 4> tweak = {static_cast<uint8_t>(k >> 24), static_cast<uint8_t>(k >> 16),
                                        static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)};
  Status s;
  {
    std::lock_guard lock(mu_);
    s = ff1_.encrypt(digits, k == 0 ? std::span<const uint8_t>() : std::span<const uint8_t>(tweak), digits);
  }
  if (!s.is_ok()) {
    // Not expected once the cipher was created; a wrong number would be permanent.
    std::fprintf(stderr, "fatal: My Number derivation failed: %s\n", s.to_string().c_str());
    std::abort();
  }
  uint64_t body = 0;
  for (uint16_t d : digits) body = body * 10 + d;
  return MyNumber::from_body(body);
}

// --- Resident codes ---

Status Numbering::refill_pool(Connection& conn, const LocalGovernmentCode& municipality, size_t count) {
  const std::string muni = municipality.str();
  size_t added = 0;
  std::vector<uint64_t> words;
  for (int round = 0; added < count; ++round) {
    if (round > 100) return internal_error("no unused resident codes found");
    words.assign(2 * (count - added), 0);
    JLIS_RETURN_IF_ERROR(random_words(words));
    for (size_t i = 0; i + 1 < words.size() && added < count; i += 2) {
      const uint64_t body = words[i] % kCodeSpace;
      const int64_t order = static_cast<int64_t>(words[i + 1] >> 1);
      // A code the register already knows (pooled, issued or retired) is skipped: unused only.
      JLIS_ASSIGN_OR_RETURN(int64_t n, conn.execute(
          "INSERT INTO numbering_resident_codes (resident_code, municipality_code, state, pool_order) "
          "VALUES (?, ?, 'pooled', ?) ON CONFLICT (resident_code) DO NOTHING",
          {i64(body), muni, order}));
      added += static_cast<size_t>(n);
    }
  }
  return Status::ok();
}

Result<ResidentCode> Numbering::take_code(Connection& conn, const LocalGovernmentCode& municipality) {
  const std::string muni = municipality.str();
  for (int attempt = 0; attempt < 2; ++attempt) {
    JLIS_ASSIGN_OR_RETURN(auto body, conn.query_int64(
        "SELECT resident_code FROM numbering_resident_codes WHERE municipality_code = ? AND state = 'pooled' "
        "ORDER BY pool_order LIMIT 1", {muni}));
    if (body) {
      JLIS_RETURN_IF_ERROR(conn.execute("UPDATE numbering_resident_codes SET state = 'issued' WHERE resident_code = ?",
                                        {*body}).status());
      return ResidentCode::from_body(static_cast<uint64_t>(*body));
    }
    // The batch doubles with each refill, from kFirstPoolBatch up to kPoolBatch: a municipality
    // that registers few people does not tie up a thousand codes.
    JLIS_ASSIGN_OR_RETURN(auto refills, conn.query_int64(
        "SELECT refills FROM numbering_pools WHERE municipality_code = ?", {muni}));
    const int64_t done = refills.value_or(0);
    const size_t batch = done >= 10 ? kPoolBatch : std::min(kPoolBatch, kFirstPoolBatch << done);
    JLIS_RETURN_IF_ERROR(conn.execute(
        "INSERT INTO numbering_pools (municipality_code, refills) VALUES (?, 1) "
        "ON CONFLICT (municipality_code) DO UPDATE SET refills = numbering_pools.refills + 1", {muni}).status());
    JLIS_RETURN_IF_ERROR(refill_pool(conn, municipality, batch));
  }
  return internal_error("the resident-code pool of " + muni + " is empty after a refill");
}

Status Numbering::adopt_code(Connection& conn, const ResidentCode& code, const LocalGovernmentCode& municipality) {
  return conn.execute(
      "INSERT INTO numbering_resident_codes (resident_code, municipality_code, state, pool_order) "
      "VALUES (?, ?, 'issued', 0) ON CONFLICT (resident_code) DO NOTHING",
      {i64(code.body()), municipality.str()}).status();
}

Result<ResidentCode> Numbering::change_code(Connection& conn, const ResidentCode& old,
                                            const LocalGovernmentCode& municipality, const Date& on,
                                            const std::optional<MyNumber>& current) {
  JLIS_ASSIGN_OR_RETURN(CodeState state, code_state(conn, old));
  if (state == CodeState::retired) return conflict("the resident code " + old.str() + " is already retired");
  if (state == CodeState::pooled) return conflict("the resident code " + old.str() + " was never issued");
  if (state == CodeState::unknown) JLIS_RETURN_IF_ERROR(adopt_code(conn, old, municipality));
  JLIS_RETURN_IF_ERROR(conn.execute(
      "UPDATE numbering_resident_codes SET state = 'retired', changed_on = ? WHERE resident_code = ?",
      {on.to_iso(), i64(old.body())}).status());
  JLIS_ASSIGN_OR_RETURN(ResidentCode fresh, take_code(conn, municipality));
  // The current number's row follows the holder (by its primary key: no index on resident_code to
  // maintain on the hot path); retired numbers keep the code they had when retired.
  if (current)
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE numbering_my_numbers SET resident_code = ? WHERE my_number = ?",
                                      {i64(fresh.body()), i64(current->body())}).status());
  return fresh;
}

Result<CodeState> Numbering::code_state(Connection& conn, const ResidentCode& code) {
  CodeState state = CodeState::unknown;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT state FROM numbering_resident_codes WHERE resident_code = ?",
                                  {i64(code.body())}, [&](const Row& r) {
                                    const std::string s = r.text(0);
                                    state = s == "pooled" ? CodeState::pooled
                                            : s == "issued" ? CodeState::issued
                                                            : CodeState::retired;
                                    return false;
                                  }));
  return state;
}

// --- My Numbers ---

Result<MyNumber> Numbering::insert_fresh(Connection& conn, const ResidentCode& code,
                                         const LocalGovernmentCode& municipality, const Date& on,
                                         std::string_view reason, uint32_t first_k) {
  for (uint32_t k = first_k; k < first_k + kMaxDerivations; ++k) {
    const MyNumber number = derive(code, k);
    // The primary key makes "never issued before" a property of the register, not of the caller.
    // One row per number holds its letter too: one insert per issued number.
    JLIS_ASSIGN_OR_RETURN(int64_t n, conn.execute(
        "INSERT INTO numbering_my_numbers (my_number, resident_code, derivation, issued_on, issue_reason, "
        "letter_municipality, letter_created_at, letter_state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') "
        "ON CONFLICT (my_number) DO NOTHING",
        {i64(number.body()), i64(code.body()), static_cast<int64_t>(k), on.to_iso(), std::string(reason),
         municipality.str(), now_iso8601()}));
    if (n == 0) continue;
    return number;
  }
  return internal_error("no free My Number derivation for resident " + code.str());
}

Result<MyNumber> Numbering::issue_my_number(Connection& conn, const ResidentCode& code,
                                            const LocalGovernmentCode& municipality, const Date& on,
                                            std::string_view reason) {
  return insert_fresh(conn, code, municipality, on, reason, 0);
}

Result<MyNumber> Numbering::reissue_my_number(Connection& conn, const ResidentCode& code, const MyNumber& old,
                                              const LocalGovernmentCode& municipality, const Date& on,
                                              std::string_view reason) {
  if (reason != "leak")
    return invalid_argument("a My Number is changed only when it has leaked (reason must be \"leak\")");
  struct Held {
    int64_t holder, derivation;
    bool retired;
  };
  std::optional<Held> row;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT resident_code, derivation, retired_on FROM numbering_my_numbers WHERE my_number = ?",
                                  {i64(old.body())}, [&](const Row& r) {
                                    row = Held{r.int64(0), r.int64(1), !r.is_null(2)};
                                    return false;
                                  }));
  if (!row || row->holder != i64(code.body()) || row->retired)
    return conflict("the number given is not the current My Number of resident " + code.str());
  // A letter still waiting to be printed must not send out the leaked number: it is withdrawn.
  JLIS_RETURN_IF_ERROR(conn.execute(
      "UPDATE numbering_my_numbers SET retired_on = ?, retire_reason = ?, "
      "letter_state = CASE WHEN letter_state = 'pending' THEN 'withdrawn' ELSE letter_state END WHERE my_number = ?",
      {on.to_iso(), std::string(reason), i64(old.body())}).status());
  // Derivations of the new code start after the old number's: the usual case needs one try.
  return insert_fresh(conn, code, municipality, on, reason, static_cast<uint32_t>(row->derivation + 1));
}

Result<std::optional<MyNumberRecord>> Numbering::find_my_number(Connection& conn, const MyNumber& number) {
  std::optional<MyNumberRecord> out;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kRecordColumns + " FROM numbering_my_numbers WHERE my_number = ?",
                                  {i64(number.body())}, [&](const Row& r) {
                                    out = read_record(r);
                                    return false;
                                  }));
  return out;
}

// --- Letters ---

Result<std::vector<Letter>> Numbering::pending_letters(Connection& conn, const LocalGovernmentCode& municipality) {
  std::vector<Letter> out;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT my_number, resident_code, issue_reason, letter_created_at FROM numbering_my_numbers "
      "WHERE letter_municipality = ? AND letter_state = 'pending' ORDER BY my_number",
      {municipality.str()}, [&](const Row& r) {
        Letter l;
        l.municipality = municipality;
        l.my_number = MyNumber::from_body(static_cast<uint64_t>(r.int64(0)));
        l.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(1)));
        l.reason = r.text(2);
        l.created_at = r.text(3);
        out.push_back(std::move(l));
        return true;
      }));
  return out;
}

Status Numbering::mark_printed(Connection& conn, const std::vector<MyNumber>& numbers) {
  const std::string at = now_iso8601();
  for (const MyNumber& n : numbers)
    JLIS_RETURN_IF_ERROR(conn.execute(
        "UPDATE numbering_my_numbers SET letter_state = 'printed', letter_printed_at = ? "
        "WHERE my_number = ? AND letter_state = 'pending'",
        {at, i64(n.body())}).status());
  return Status::ok();
}

}  // namespace jlis::numbering
