// A realistic synthetic population, built through the same event path municipalities use: births and
// first registrations from abroad, then moves between municipalities, relocations, marriages (a new
// surname), moves abroad and deaths, each as a ChangeEvent submitted by the municipality concerned.
//
// People are made in households (世帯), sized as in the 2020 census (1 person: 38 %, 2: 28 %, 3: 16 %,
// 4: 13 %, 5 and more: 5 %; about 2.2 people each): a head (世帯主, an adult); a spouse of the other
// sex and similar age with the same surname (妻, or 夫 when the wife heads it); children with the same
// surname born when their mother was 20 to 42 (子); sometimes an elderly parent of the head (父, 母);
// or a single parent with children. All live at one address of one municipality. Each member's
// first event places them (ChangeEvent::household): the head heads a new household, the others join
// it, so the heads are registered in one round and their members in the next. A household moves
// together; a woman living alone may marry (a new surname); deaths and moves abroad are each
// person's own (the household register hands a household to its successor).
//
// Where people live: municipalities are weighted by type (a ward of a designated city or a special
// ward of Tokyo holds far more people than a village) and by the number of towns each has, which
// tracks its size; see weight_of() in population.cpp. Ages follow Japan's 2020 census in ten-year
// bands within about two points each (the household compositions are calibrated for it); about
// half are male. Names come from names.csv with their readings; addresses are real towns of
// towns.csv with a plausible block number. Deterministic for a given seed (event ids included), so a
// run repeated with the same seed is replayed by the idempotency keys, not applied twice.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"

namespace jlis::registry {

// The names of names.csv with their readings (katakana), by kind.
struct Name {
  std::string kanji, katakana;
};
struct Names {
  std::vector<Name> last, male, female;
};
// Reads `reference_dir`/names.csv; invalid_argument when it is missing or lacks a kind.
Result<Names> load_names(const std::string& reference_dir);

struct PopulationOptions {
  int64_t count = 1000;  // residents to create
  uint64_t seed = 1;
  size_t batch = 100000;  // people per writer round, in whole households (each commit rewrites the pages it dirtied)
  // A bulk load (registry/bulk_load.h): the whole population in one transaction with the register's
  // secondary indexes built at the end, every check kept. Refused (conflict) unless the register is
  // empty; the first refused event rolls the whole load back (nothing is written) and ends it.
  bool bulk = false;
  // Called after each batch with the residents created so far.
  std::function<void(int64_t done, int64_t total)> progress;
};

struct PopulationReport {
  int64_t residents = 0;  // created
  int64_t households = 0;  // created (their heads registered)
  int64_t events = 0;     // applied, first registrations included
  int64_t refused = 0;    // events the registry refused (should stay 0)
  std::string first_refusal;  // the reason of the first refusal, for diagnosis
  // Bulk mode: an event was refused, so nothing was written (the counts above are then 0).
  bool rolled_back = false;
};

// Reads names.csv from `reference_dir` and submits the population's events to `registry`. Errors:
// invalid_argument (names.csv), conflict (bulk mode on a register that is not empty), the store's.
// A refused event is not an error: it is counted in the report (in bulk mode, with rolled_back).
Result<PopulationReport> generate_population(Registry& registry, const std::string& reference_dir,
                                             const PopulationOptions& options);

// A generated person's key for other generators' reproducible choices about them (the municipal
// records, the cards): a hash of what a seed decides (name, date of birth, address), because the
// resident codes come from each store's pools at random.
uint64_t generated_identity(const Person& person);

}  // namespace jlis::registry
