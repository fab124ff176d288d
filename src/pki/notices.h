// Certificate expiry notices (電子証明書の有効期限通知書, 11.09 M a year): what
// CertificateAuthority::expiry_notices answers, and the rules it follows.
//
//   - Lead time as the card's notices (card_system.h): the run of month M covers the certificates
//     expiring in month M+2 (their last day of validity, in Japan), so a run at the start of a
//     month reaches holders two to three months ahead, inside the renewal window (a certificate is
//     renewed at the window from three months before it expires).
//   - Which certificates: a card's (device card) that are good at their expiry, that is neither
//     revoked nor on hold. Smartphone certificates are left out: the holder's app shows their
//     expiry, and they end with the card's.
//   - One notice per card and expiry day: a card's signature and authentication certificates
//     expiring the same day share one notice, which names both.
//   - How: a letter to the registered address for a holder living in Japan; an e-mail for a
//     holder abroad, to the address given when applying for the card (card::ApplicationRequest's
//     email), noted missing when none was given.
//   - Never twice: each notice is recorded (table pki_expiry_notices, key card and expiry day) in
//     the writer's transaction that decides it is new, so a second run of a month, or two runs at
//     once, send nothing again; a certificate issued later for a card and day already noticed is
//     covered by that notice.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "card/card_system.h"
#include "common/date.h"
#include "common/identifiers.h"
#include "pki/profile.h"

namespace jlis::pki {

// One notice to send.
struct CertificateExpiryNotice {
  std::string card_id = {};
  ResidentCode resident_code = {};
  LocalGovernmentCode municipality_code = {};  // the holder's municipality now
  Date expires_on = {};                        // the last day of validity, in Japan
  std::vector<CertificateKind> kinds = {};     // signature first, then authentication
  std::vector<std::string> serials = {};       // in the order of kinds
  card::NoticeKind kind = card::NoticeKind::letter;
  std::string name = {};                       // letter: the addressee
  std::string address = {};                    // letter: the registered address
  std::optional<std::string> email = {};       // e-mail: the address, when one was given
  bool email_missing = false;                  // e-mail notice without an address to send it to
};

struct CertificateNoticeRun {
  Date covers_from = {}, covers_until = {};           // expiries in [from, until]
  std::vector<CertificateExpiryNotice> notices = {};  // recorded by this run, to be sent
  int64_t already_recorded = 0;                       // notices of these expiries recorded earlier
};

}  // namespace jlis::pki
