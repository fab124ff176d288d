// How long a My Number card and its JPKI certificates are valid (番号法施行規則; 公的個人認証法).
//
// The card: from its issue date (発行日, the day J-LIS produced it) through the holder's 10th
// birthday after that day when the holder was 18 or over on it, else through the 5th birthday after
// it. Applications received before 2022-04-01 (the age of majority was 20) use 20 instead of 18.
// "After" is strict: a card issued on a birthday counts the next birthday as the first.
//
// The certificates are written onto the card at the window (交付), so they count from the handover:
// through the 5th birthday after it, and never past the card. No signature certificate
// (署名用電子証明書) is issued to a holder under 15 on the handover day.
//
// Born on 29 February: in a common year the birthday is 1 March, the day age_on() (common/date.h)
// counts the age as reached; so a card expiring on a birthday in a common year is valid through
// 1 March, and someone born on 29 February counts as 18 from 1 March. (Date::add_years gives
// 28 February for such a person and is not used here.)
// Foreign residents' cards also end with their period of stay; the register holds no such period,
// so this is not modelled.
#pragma once

#include "common/date.h"

namespace jlis::card {

// The day on which someone born on `birth` reaches `age` (its `age`-th birthday).
Date birthday(Date birth, int age);
// The n-th birthday strictly after `day` (n >= 1).
Date nth_birthday_after(Date birth, Date day, int n);
// The same day `months` later (or earlier), or the month's last day when it has no such day.
Date add_months(Date date, int months);

struct CardValidity {
  Date expires_on = {};
  bool adult = false;  // at least the age of majority on the issue date: the 10-birthday rule
};
CardValidity card_validity(Date birth, Date issued_on, Date applied_on);

struct CertificateValidity {
  Date expires_on = {};
  bool signature_certificate_allowed = false;
};
CertificateValidity certificate_validity(Date birth, Date delivered_on, Date card_expires_on);

// A renewal may be applied for from three months before the card expires (有効期限の3か月前から).
inline Date renewal_opens(Date card_expires_on) { return add_months(card_expires_on, -3); }

}  // namespace jlis::card
