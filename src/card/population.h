// Cards for a generated population (`jlis cards generate`, `make run`), made by the lifecycle's own
// rules (the same functions as the API, back-dated), so every record is one the system could have
// made itself.
//
// For each resident living in Japan who has never applied: about 75 % apply, on a day between
// the start of the card (2016-01-04, or birth) and today, more often recently; children under 1
// apply for express newborn issuance. About 7.5 % of applicants first send an application without
// a photo, which is rejected (13.0 M applications for 12.0 M valid ones a year). Then production a
// few weeks later and handover a few days to weeks after that; expired cards are renewed (90 %)
// within three months before they expire; a few cards are suspended (1.5 %), reported lost or
// stolen (0.7 %, most reissued express) or returned (0.3 %); the most recent applications are
// still queued or shipped. The residents' current municipality stands in for where they lived
// when they applied.
//
// Reproducible: each resident's history is drawn from the seed and who they are (name, date of
// birth, address, which the registry's generator reproduces under its seed), not from the resident
// code, which numbering draws at random; so the same population, seed and today give the same
// histories (card ids are random). A resident who already has an application is left alone, so
// running it again adds nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "card/card_system.h"

namespace jlis::card {

struct CardPopulationOptions {
  uint64_t seed = 1;
  double applied_share = 0.75;
  size_t batch = 4096;  // residents per writer round
  // The key pairs of simulated cards: each handover draws the public keys its chip would have
  // generated from here (a pool of pre-generated pairs, `--key-pool N`), so the CA's listener can
  // write certificates. Empty: handovers carry no keys. Called on the writer thread.
  std::function<CardKeys(uint64_t draw)> card_keys = {};
  // Called after each round with the residents done so far.
  std::function<void(int64_t done, int64_t total)> progress = {};
};

struct CardPopulationReport {
  int64_t residents = 0;     // residents considered (in Japan, no application before)
  int64_t skipped = 0;       // residents left alone: they had applications
  int64_t applicants = 0;    // residents who applied
  int64_t applications = 0;  // applications recorded, rejected ones included
  int64_t rejected = 0;
  int64_t cards = 0;         // cards produced
  // Each applicant's newest card or application as it stands today:
  int64_t active = 0, suspended = 0, lost = 0, returned = 0, expired = 0, shipped = 0, queued = 0;
  int64_t failures = 0;        // residents whose history could not be made (should stay 0)
  std::string first_failure;   // its reason, for diagnosis
  double seconds = 0;
};

Result<CardPopulationReport> generate_cards(CardSystem& cards, const CardPopulationOptions& options = {});

}  // namespace jlis::card
