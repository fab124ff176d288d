// A simulated My Number Card chip, for the kiosk simulation and its tests: the card's private keys
// and its two secrets, kept in a file (`jlis card virtual` writes one for a simulated card, with the
// keys of the simulation's key pool; nothing here is a real card's security).
//
// As on the real chip (JPKI):
//   - the user-authentication key signs only after its PIN, 4 digits, is verified; 3 wrong PINs in
//     a row lock it;
//   - the signature key signs only after its password, 6 to 16 upper-case letters and digits, is
//     verified; 5 wrong passwords in a row lock it;
//   - a right secret before the lock sets its tries back to full; a locked secret refuses even the
//     right one, until the holder's municipality resets it (CardSystem::reset_pin records the reset,
//     then the window's terminal writes the new secret: reset()).
// The secrets are kept as salted SHA-256 digests, the keys as PEM (PKCS#8). The tries left are part
// of the card: save the card after every attempt, right or wrong, as the chip would keep them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "card/card.h"
#include "common/status.h"

namespace jlis::kiosk {

inline constexpr int kPinTries = 3;       // user-authentication PIN
inline constexpr int kPasswordTries = 5;  // signature password

// invalid_argument unless `secret` has the form of `which`: 4 digits; 6 to 16 of A-Z and 0-9.
Status check_secret_form(card::CardSecret which, std::string_view secret);

class VirtualCard {
 public:
  // One key of the chip with its certificate and the secret that guards it.
  struct Slot {
    std::string certificate_pem;  // the certificate the CA issued for the key
    std::string private_key_pem;  // PKCS#8
    std::string salt;             // hex
    std::string secret_sha256;    // hex: SHA-256 of the salt's bytes followed by the secret
    int tries_left = 0;
  };

  // A card with the user-authentication key (always) and the signature key (from age 15: absent
  // for younger holders). Checks the secrets' forms and that each private key matches its
  // certificate's public key (invalid_argument otherwise).
  static Result<VirtualCard> make(const std::string& card_id, const std::string& authentication_certificate_pem,
                                  const std::string& authentication_key_pem, std::string_view pin,
                                  const std::optional<std::string>& signature_certificate_pem,
                                  const std::optional<std::string>& signature_key_pem, std::string_view password);

  // Reads a card file; invalid_argument with the reason when it is not one.
  static Result<VirtualCard> load(const std::string& path);
  // Writes the card file (mode 0600), replacing it whole (a new file renamed over the old).
  Status save(const std::string& path) const;

  const std::string& card_id() const { return card_id_; }
  // The slot of `which`'s key; null when the card has no signature key.
  const Slot* slot(card::CardSecret which) const;
  bool locked(card::CardSecret which) const;

  // Verifies `secret` (see the top of this file). permission_denied "locked" when no try is left
  // (nothing counted); permission_denied "wrong PIN, N tries left" for a wrong one (one try counted,
  // the lock when it was the last); not_found when the card has no such key.
  Status verify(card::CardSecret which, std::string_view secret);
  // verify(), then signs `data` with the key (RSA PKCS#1 v1.5 with SHA-256): the signature.
  Result<std::string> sign(card::CardSecret which, std::string_view secret, std::string_view data);
  // The window's terminal writes a new secret after the reset is recorded: tries back to full.
  Status reset(card::CardSecret which, std::string_view new_secret);

 private:
  Slot* mutable_slot(card::CardSecret which);
  std::string card_id_;
  Slot authentication_;
  std::optional<Slot> signature_;
};

}  // namespace jlis::kiosk
