// The municipal issuance server (証明発行サーバ): makes the six certificate documents from the
// municipality's records for an identified resident, refuses those the law or the municipality does
// not allow, and records every issuance and refusal. The convenience-store centre relays to it (HTTP,
// municipal/routes.h); the municipal window and operators use `jlis documents render`. Small
// municipalities use the shared issuance function of the local-government cloud (BCL) instead of a
// server of their own: the same code, with `shared_function` in their configuration.
//
// One issuance, step by step: (1) one writer transaction checks eligibility against the records as
// they stand, reads what the document shows, numbers it (発行番号, per municipality and year) and
// records it with its content digest; (2) after the commit, outside the writer, the document is
// signed (its verification code, with the municipality's key) and rendered to PDF, then sealed when
// a sealer is set (seal_with). So no check is a race with a change, and nothing leaves unrecorded. A
// refusal is recorded the same way. When step (2) fails, the document does not leave and a second
// transaction marks its record kUndelivered.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <openssl/evp.h>

#include "municipal/document_content.h"
#include "municipal/household.h"
#include "municipal/seal_registration.h"
#include "registry/population.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::municipal {

// What a municipality offers at kiosks (コンビニ交付) and what each document costs there.
struct KioskOffer {
  std::set<DocumentType> documents;      // the documents offered at kiosks
  std::map<DocumentType, int64_t> fees;  // yen, per document
  bool shared_function = false;          // served by the shared issuance function (BCL)
  std::string mayor_name;                // printed with the mayor's seal
};
// The offer of a municipality that configured none: all six, at the common kiosk fees, with a
// mayor's name chosen from `names` by the municipality code (a simulation's default).
KioskOffer default_offer(const LocalGovernmentCode& municipality, const registry::Names& names);

// The reasons a document is refused, as a kiosk shows them (the `refusal` of the HTTP answer).
inline constexpr std::string_view kRefusedNotResident = "not_resident";   // moved out, abroad, unknown here
inline constexpr std::string_view kRefusedDeceased = "deceased";
inline constexpr std::string_view kRefusedSupportMeasure = "support_measure";  // 支援措置 (DV protection)
inline constexpr std::string_view kRefusedNoSeal = "no_seal";
inline constexpr std::string_view kRefusedSealAbolished = "seal_abolished";
inline constexpr std::string_view kRefusedNoFamilyRegister = "no_family_register";  // none held here
inline constexpr std::string_view kRefusedNoTaxRecord = "no_tax_record";
inline constexpr std::string_view kRefusedNotOffered = "not_offered";  // not at kiosks in this municipality
// The kiosk's log-in certificate is revoked, on hold (a suspended card) or expired.
inline constexpr std::string_view kRefusedCertificateNotGood = "certificate_not_good";
// The outcome of a document numbered and recorded that never reached its applicant: its signing,
// drawing or sealing failed, or the issuance centre returned it (returned()). Its number is not
// used again and does not verify (check_code).
inline constexpr std::string_view kUndelivered = "undelivered";

struct IssuanceRequest {
  DocumentType type = DocumentType::juminhyo;
  ResidentCode applicant;          // the identified resident (the card holder)
  // Kiosk: the user-authentication certificate (card or smartphone) the holder logged in with. When
  // given, the applicant is its holder as the certificate register says inside the issuing
  // transaction; not_found for an unknown serial, permission_denied for a signature certificate,
  // refused certificate_not_good when it is not good at that moment.
  std::string certificate_serial;
  bool whole_household = false;    // juminhyo, kisai-jiko: every member (else the applicant only)
  ResidentSheetItems items;        // juminhyo, kisai-jiko
  bool individual = false;         // koseki: 個人事項証明書 of the applicant only
  std::optional<int> fiscal_year;  // kazei: the latest on record when empty
  // Who asked: "kiosk" (through the centre, `session` its kiosk session) or "window" (the
  // municipality's own counter or an operator; the kiosk offer does not apply).
  std::string channel = "window";
  std::string session;
};
// The JSON of POST /v1/issuance/{municipality}/documents (docs/openapi.yaml): a kiosk request.
Result<IssuanceRequest> issuance_request_from_json(const nlohmann::json& json);

struct IssuedDocument {
  std::string issuance_number;  // 発行番号, e.g. 131016-2026-0000001
  DocumentType type = DocumentType::juminhyo;
  std::string subject;          // the applicant's name (the PDF's Subject)
  ResidentCode subject_resident;  // whose document it is: what the kiosk centre checks
  int64_t fee = 0;              // yen (0 at the window: the window charges its own)
  std::string pdf;
};
struct Refusal {
  std::string reason;   // one of the kRefused… codes
  std::string message;  // for the person at the kiosk
};
struct IssuanceOutcome {
  std::optional<IssuedDocument> document;  // exactly one of the two
  std::optional<Refusal> refusal;
};

// One line of the issuance log (証明書交付記録): part of the resident's disclosure.
struct IssuanceRecord {
  std::string issuance_number;  // "" for a refusal
  LocalGovernmentCode municipality;
  ResidentCode resident;
  DocumentType type = DocumentType::juminhyo;
  std::string channel, session;
  std::string outcome;  // "issued", kUndelivered, or the refusal's reason
  std::string recorded_at;
};

// What the centre's public verification page says of the code printed on a document: whether it
// was issued, by whom, when, and what kind of document; never whom it is about.
struct IssuanceCheck {
  bool issued = false;  // false: no such document (or a QR code that is forged or altered)
  std::string issuance_number;
  LocalGovernmentCode municipality;
  std::string municipality_name;  // 千代田区
  DocumentType type = DocumentType::juminhyo;
  std::string channel;  // "kiosk" (the convenience-store centre) or "window"
  Date issued_on;       // the date of issue printed on it
  bool code_verified = false;  // asked by the QR code's payload, whose signature and content match
};

// The electronic seal (電子公印, issue 12 §2): what the sealer is told of each document it seals.
struct SealRequest {
  LocalGovernmentCode municipality;  // the issuing municipality, whose seal goes on it
  DocumentType type = DocumentType::juminhyo;
  std::string issuance_number;
};
// Puts the municipality's PAdES signature on a drawn document (pki::sign_pdf, with the document-
// signing or position certificate the municipality holds) and answers the signed PDF; the PDF as it
// came when the municipality holds none.
using Sealer = std::function<Result<std::string>(const SealRequest& request, std::string pdf)>;

class IssuanceServer {
 public:
  static Status migrate(store::Connection& conn);
  // DIR/keys/documents.key: the secret from which each municipality's document-signing key (ECDSA
  // P-256) is derived; made when missing (mode 0600).
  static Status create_key_file(const std::string& data_dir);

  // Not owned: all must outlive this. Reads DIR/keys/documents.key; `reference_dir` holds names.csv
  // (the default mayors' names); `today` dates the documents (empty: the real date in Japan).
  static Result<std::unique_ptr<IssuanceServer>> open(const std::string& data_dir, const std::string& reference_dir,
                                                      store::Pool& pool, store::Writer& writer,
                                                      registry::Registry& registry, Households& households,
                                                      SealRegistrations& seals, std::function<Date()> today = {});
  ~IssuanceServer();

  // From now on every document drawn goes through `sealer` before it leaves: like the drawing, after
  // the issuance is committed, so a sealer's failure is issue()'s error, the document does not leave
  // and its record becomes kUndelivered (as for a failed drawing). Call before serving: not safe
  // beside issue().
  void seal_with(Sealer sealer);

  // Makes the document `request` asks of `municipality` (see the top of this file), or refuses it.
  // Errors (not refusals): invalid_argument for a request that does not hold together; conflict for
  // a kiosk session this municipality has returned (returned()), nothing recorded; internal.
  Result<IssuanceOutcome> issue(const LocalGovernmentCode& municipality, const IssuanceRequest& request);

  // The municipality whose server makes `type` for `resident` when none is named: where the resident
  // lives, and for 戸籍 and 附票 the 本籍 municipality that holds their register (else where they live).
  Result<LocalGovernmentCode> default_issuer(const ResidentCode& resident, DocumentType type);

  // The kiosk offer of a municipality (its configuration, else default_offer()).
  Result<KioskOffer> offer(const LocalGovernmentCode& municipality);
  Status configure(const LocalGovernmentCode& municipality, const KioskOffer& offer);

  // 支援措置 (DV protection): while a measure is in force for a resident (since ≤ today, and before
  // `until` when given), no document about them is issued at kiosks (refused support_measure); the
  // window still issues, after its own checks.
  Status place_support_measure(const LocalGovernmentCode& municipality, const ResidentCode& resident, Date since,
                               std::optional<Date> until);

  // The issuance centre returns what a kiosk session got here and never reached its terminal
  // (交付中止): every kiosk document `municipality` recorded for `session` becomes kUndelivered,
  // except `delivered` (the number its terminal fetched, when it fetched one). The centre asks once
  // the session has ended; it asks for documents it holds (discarded as another person's, or never
  // fetched) and for those whose answer it never received. From then on the session gets no more
  // documents here: issue() refuses it with conflict, in its own transaction, so a request that
  // reaches the municipality after the return (a late relay) issues nothing the return missed.
  // Answers the numbers it changed (none when asked again); invalid_argument for an empty session.
  Result<std::vector<std::string>> returned(const LocalGovernmentCode& municipality, const std::string& session,
                                            const std::string& delivered);

  // The issuance log of a resident, newest first.
  Result<std::vector<IssuanceRecord>> records_of(const ResidentCode& resident);

  // The verification page's question: `code` is the issuance number printed on a document
  // (131016-2026-0000001) or the payload of its QR code (JLIS1:…). A payload is issued only when its
  // signature verifies with the municipality's key and it names the record's municipality, date and
  // content digest. A number whose document never left (kUndelivered) is not issued.
  // invalid_argument when `code` is neither (a number is 1 to 32 letters, digits and
  // hyphens; a payload must decode).
  Result<IssuanceCheck> check_code(std::string_view code);

  // The public key that verifies the documents of `municipality` (for the centre's verification).
  Result<std::string> public_key_pem(const LocalGovernmentCode& municipality);

 private:
  struct Impl;
  explicit IssuanceServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::municipal
