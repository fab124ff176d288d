// The municipalities' own records for a generated population (registry/population.h): from the
// households (世帯) it made, the family registers (戸籍) with their attachments (附票), the tax
// assessments (課税) of the last three fiscal years, and the hook for seal registrations (印鑑登録).
//
// Family registers, each made outright (Koseki::open_register: the registers predate the system),
// held by the municipality of their 本籍, with every member who is a resident linked to them
// (Fuhyo::link), so that the 附票 follows the resident's moves from then on:
//   - a married couple: one register at their 本籍 with the husband as 筆頭者 (about 95 %, else the
//     wife), the spouse (妻 / 夫) and the children living with them (長男, 長女, 二男 … by birth order
//     among the couple's children of the same sex); an adult child has left it by 分籍 now and then
//     (Koseki::branch, which takes their 附票 along);
//   - a parent (父 / 母) of the head living with them: their own register (father as 筆頭者), the
//     other parent absent from the population (a member without resident code, dead when old);
//   - a single parent: a register of their own with the children;
//   - a person living alone, or anyone the rules above leave out: unmarried (in the register of
//     their parents, who are members without resident codes, or in their own after 分籍),
//     married with the spouse living elsewhere, widowed (the spouse's death recorded), or divorced
//     (a register of their own), by age;
//   - the 本籍 is at the household's address (its 番 or 番地) for most, and in another municipality
//     for about 30 % of people (more often for the registers of absent parents: the home town).
// Tax records (TaxRecords::record) for every adult for the last three fiscal years that have
// rules (tax.h): salaries for most people of 18 to 64 (a log-normal by age and sex; part-time
// work below the dependant limits for many wives and students), public pensions from 65 with some
// work beside, business income for some; the main earner of a household claims the spouse and the
// other members (children, parents) as tax.h's rules allow. The figures are assess()'s.
//
// Everything runs through the writer, one job per household, many households per transaction.
// Deterministic for a seed: each household's choices come from the seed and its head's resident
// code, and the notices' event ids too, so a rerun is replayed. Households whose head already is a
// member of a register are left as they are.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/date.h"
#include "common/status.h"
#include "municipal/seal_registration.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::municipal {

// An adult chosen to hold a registered seal (about 70 % of adults).
struct SealCandidate {
  registry::Resident resident;
  Date registered_on;    // between their 18th birthday (or arrival) and today
  std::string event_id;  // an idempotency key for the registration, unique per municipality
  std::string impression_png;  // generated_seal_impression of their name (drawn before the writer's job)
};

struct MunicipalPopulationOptions {
  uint64_t seed = 1;
  size_t batch = 2000;  // households per writer round
  // Called after each round with the households done so far.
  std::function<void(int64_t done, int64_t total)> progress;
  // Where the chosen adults' seals are registered (SealRegistrations::register_seal_in, inside the
  // household's writer job; a refusal fails the household's job like any other). Null: no seals
  // are registered (the candidates are still counted).
  SealRegistrations* seals = nullptr;
};

struct MunicipalPopulationReport {
  int64_t households = 0;        // considered
  int64_t skipped = 0;           // whose head already had a register
  int64_t registers = 0;         // made (分籍 included)
  int64_t linked = 0;            // register members linked to a resident (附票 opened)
  int64_t absent_members = 0;    // register members without a resident (absent parents, spouses)
  int64_t honseki_elsewhere = 0;  // linked residents whose register another municipality holds
  int64_t tax_records = 0;
  int64_t seal_candidates = 0;
  int64_t seals = 0;             // registered through the hook
  int64_t failures = 0;          // households whose job failed (should stay 0)
  std::string first_failure;
};

// Builds the records of every household of the store's resident register (see the top of this file).
// `registry` and `writer` must be the App's (the 附票 listener attached to the registry, the
// Koseki and TaxRecords tables migrated). Fails only when the store cannot be read; a household
// whose records are refused is counted in `failures` with the first reason.
Result<MunicipalPopulationReport> generate_municipal_records(store::Pool& pool, store::Writer& writer,
                                                             registry::Registry& registry,
                                                             const MunicipalPopulationOptions& options);

}  // namespace jlis::municipal
