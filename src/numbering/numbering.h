// 個人番号付番システム: resident-code pools per municipality, the My Number register, and the
// notification letters (個人番号通知書) that municipalities print and send.
//
// Resident codes (住民票コード). The centre hands each municipality a pool of unused codes; a first
// registration (birth, or a first move-in from abroad) takes the next code of its municipality's
// pool. A code is "unused" when it was never placed in any pool, issued or retired: every code the
// system ever touched has one row in numbering_resident_codes (PRIMARY KEY on the code) whose
// state only moves forward, pooled → issued → retired. A pool is refilled with random unused codes
// when a take finds it empty (16 the first time, doubling up to kPoolBatch = 1,000). Codes never collide whatever the concurrency: every take
// runs on the single writer's connection inside its transaction, and the primary key refuses a
// second row for a code (also across processes, which serialise on the database lock).
// Codes issued before this component existed are adopted (adopt_code) by the backfill.
//
// My Numbers (個人番号). derive(code, k) = FF1-AES-256 (radix 10) of the 11 digits of the resident
// code under the tweak k (k = 0: the empty tweak, exactly MyNumberGenerator; k > 0: k as 4
// big-endian bytes), then the statutory check digit. Without the key the number can neither be
// computed from the code nor the code recovered from the number. Every number ever issued has one
// row in numbering_my_numbers (PRIMARY KEY on the number, rows are never deleted), so no number is
// ever issued twice: issue_my_number tries k = 0, 1, 2, ... and takes the first derived number
// that is not in the register. FF1 is a bijection for each k, so k = 0 is free unless a reissue or
// a resident-code change already took that value (rare); a reissue for a leak starts from the
// old number's k + 1. The register keeps the retired numbers with the
// date and reason, so an old number answers as changed (find_my_number).
//
// Letters. Every issued number (first registration, backfill, reissue) gets a letter for the
// municipality to print (pending_letters, mark_printed); it lives in the number's register row
// (letter_state pending / printed / withdrawn), so issuing a number is one insert.
//
// The key. 32 random bytes in DIR/keys/my-number.key (mode 0600, directory 0700), created by
// `jlis init` (create_key_file) and loaded by every command that opens the data directory
// (load_key); a missing key or a key of the wrong size is refused. The key is never logged, never
// put in an error message or a response. A PKCS#11 key (the AES key on a token, FF1 computed with
// C_Encrypt) is planned and NOT built: today the key is a file only.
//
// Threading. The methods that take a Connection run on that connection only; the write methods
// are meant for the writer's connection, inside its transaction (they may run twice when the
// writer retries a batch, and act only through the connection). The FF1 cipher is guarded by an
// internal mutex, so a Numbering may be shared by all threads.
// Errors: internal for database or OpenSSL failures; the others are documented per method. No error
// message carries a My Number or the key.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"
#include "numbering/ff1.h"
#include "store/database.h"
#include "store/migrations.h"

namespace jlis::numbering {

inline constexpr size_t kKeySize = 32;  // AES-256

// Where a resident code stands in the numbering register.
enum class CodeState { unknown, pooled, issued, retired };

// One row of the My Number register.
struct MyNumberRecord {
  MyNumber my_number = {};
  ResidentCode resident_code = {};  // the holder's code (for a retired number: when it was retired)
  std::string issued_on = {};       // YYYY-MM-DD
  std::string issue_reason = {};    // "first_registration", "backfill", "leak"
  bool retired = false;
  std::string retired_on = {};      // when retired
  std::string retire_reason = {};   // "leak"
};

// A notification letter (個人番号通知書) to print: one per issued number, identified by it.
struct Letter {
  LocalGovernmentCode municipality = {};  // the municipality that registered the event
  ResidentCode resident_code = {};
  MyNumber my_number = {};
  std::string reason = {};      // as MyNumberRecord::issue_reason
  std::string created_at = {};  // ISO 8601 UTC
};

class Numbering {
 public:
  // Codes added to a municipality's pool when a take finds it empty: kFirstPoolBatch the first
  // time, doubling with each refill up to kPoolBatch (numbering_pools counts the refills).
  static constexpr size_t kFirstPoolBatch = 16;
  static constexpr size_t kPoolBatch = 1000;

  // Applies the numbering schema migrations (component "numbering", tables numbering_*).
  static Status migrate(store::Connection& conn);
  // The index a bulk load of the register may build after its rows (store::DeferrableIndex): the
  // pending letters by municipality, which only the letters' printing reads.
  static const std::vector<store::DeferrableIndex>& deferrable_indexes();

  // DIR/keys/my-number.key.
  static std::string key_path(const std::string& data_dir);
  // Creates the key file with 32 fresh random bytes (mode 0600, its directory 0700) unless it
  // exists; an existing key is left untouched. Errors: internal when the file cannot be written.
  static Status create_key_file(const std::string& data_dir);
  // Reads the key. Errors: invalid_argument when it is missing (the message names `jlis init`) or
  // is not exactly kKeySize bytes.
  static Result<std::array<uint8_t, kKeySize>> load_key(const std::string& data_dir);

  // A Numbering keyed with `key` (kKeySize bytes; not retained, only the AES key schedule).
  // Errors: invalid_argument for a key of the wrong size.
  static Result<std::unique_ptr<Numbering>> create(std::span<const uint8_t> key);
  // load_key + create.
  static Result<std::unique_ptr<Numbering>> open(const std::string& data_dir);

  // --- Resident codes (writer connection) ---

  // Adds `count` random unused codes to the pool of `municipality`.
  Status refill_pool(store::Connection& conn, const LocalGovernmentCode& municipality, size_t count);
  // Takes the next code of the municipality's pool (refilling it when empty) and marks it issued.
  Result<ResidentCode> take_code(store::Connection& conn, const LocalGovernmentCode& municipality);
  // Marks a code issued elsewhere (before pools existed) as issued, so no pool ever hands it out.
  // A code already known is left as it is.
  Status adopt_code(store::Connection& conn, const ResidentCode& code, const LocalGovernmentCode& municipality);
  // A resident's request for a new code: retires `old` (never issued again) and takes a new code
  // from the municipality's pool. The My Number does not change: `current` (the holder's number, if
  // any) is re-linked to the new code in the register.
  // Errors: conflict when `old` is already retired.
  Result<ResidentCode> change_code(store::Connection& conn, const ResidentCode& old,
                                   const LocalGovernmentCode& municipality, const Date& on,
                                   const std::optional<MyNumber>& current);
  // Where a code stands (any connection).
  Result<CodeState> code_state(store::Connection& conn, const ResidentCode& code);

  // --- My Numbers (writer connection) ---

  // Issues the resident's first My Number (the first free derivation) and its letter.
  // `reason`: "first_registration" or "backfill". Errors: conflict when the resident already holds
  // a current number.
  Result<MyNumber> issue_my_number(store::Connection& conn, const ResidentCode& code,
                                   const LocalGovernmentCode& municipality, const Date& on,
                                   std::string_view reason);
  // Retires `old` (which must be the resident's current number) and issues a fresh one for `code`,
  // never equal to any number ever issued, with its letter; a letter of `old` not yet printed is
  // withdrawn. Only reason "leak" is accepted (番号法 第7条第2項): invalid_argument otherwise;
  // conflict when `old` is not the current number of `code`.
  Result<MyNumber> reissue_my_number(store::Connection& conn, const ResidentCode& code, const MyNumber& old,
                                     const LocalGovernmentCode& municipality, const Date& on,
                                     std::string_view reason);
  // The register's row for a number, current or retired (any connection); nullopt when never issued.
  Result<std::optional<MyNumberRecord>> find_my_number(store::Connection& conn, const MyNumber& number);

  // --- Letters ---

  // Letters of a municipality not yet marked printed, by number (any connection).
  Result<std::vector<Letter>> pending_letters(store::Connection& conn, const LocalGovernmentCode& municipality);
  // Marks the letters of these numbers printed (writer connection); others are left as they are.
  Status mark_printed(store::Connection& conn, const std::vector<MyNumber>& numbers);

  // The k-th derivation for a resident code (no database). Thread-safe.
  MyNumber derive(const ResidentCode& code, uint32_t k);

  Numbering(const Numbering&) = delete;
  Numbering& operator=(const Numbering&) = delete;

 private:
  explicit Numbering(Ff1 ff1) : ff1_(std::move(ff1)) {}
  // Inserts the first free derivation from k = first_k; answers it.
  Result<MyNumber> insert_fresh(store::Connection& conn, const ResidentCode& code,
                                const LocalGovernmentCode& municipality, const Date& on, std::string_view reason,
                                uint32_t first_k);

  std::mutex mu_;  // guards ff1_
  Ff1 ff1_;
};

}  // namespace jlis::numbering
