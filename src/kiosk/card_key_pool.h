// The key pairs of a simulation's cards. A real card makes its key pairs on its chip; a generated
// population's cards draw theirs from a pool of pre-generated RSA-2048 pairs (`jlis population
// generate --key-pool N`), kept in DIR/keys/card-key-pool.pem (PKCS#8 PEM, mode 0600) so that
// `jlis card virtual` can later put the private keys of a simulated card on a virtual card. Pair i
// is keys 2i (signature) and 2i+1 (user authentication). Only a simulation's data directory has one.
#pragma once

#include <string>
#include <vector>

#include "card/card.h"
#include "common/status.h"

namespace jlis::kiosk {

class CardKeyPool {
 public:
  // The pool of `data_dir`, with at least `pairs` pairs: those in its file, then new ones generated
  // and appended to it. invalid_argument when `data_dir` is not a simulation's.
  static Result<CardKeyPool> ensure(const std::string& data_dir, size_t pairs);
  // The pool as its file holds it; not_found when the directory has none.
  static Result<CardKeyPool> load(const std::string& data_dir);

  size_t pairs() const { return private_pems_.size() / 2; }
  // The public keys (PEM) of pair `draw` modulo the pool's size, as a handover sends them.
  const card::CardKeys& public_keys(uint64_t draw) const { return public_[draw % public_.size()]; }
  // The private key (PEM) whose public key is the one `certificate_pem` certifies; not_found when
  // the pool has none (the card's keys were not drawn from it).
  Result<std::string> private_key_for(const std::string& certificate_pem) const;

 private:
  Status add_public(size_t pair);
  std::vector<std::string> private_pems_;
  std::vector<std::string> public_pems_;   // one per private key
  std::vector<card::CardKeys> public_;     // one per pair
};

}  // namespace jlis::kiosk
