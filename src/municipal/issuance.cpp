#include "municipal/issuance.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "common/secret_file.h"
#include "municipal/koseki.h"
#include "municipal/pdf.h"
#include "municipal/seal_registration.h"
#include "municipal/tax.h"
#include "municipal/verification.h"
#include "pki/ca.h"
#include "pki/openssl.h"
#include "store/migrations.h"
#include "municipal/resident_key.h"

namespace jlis::municipal {
namespace {

using internal::resident_key;
using internal::resident_of_key;
using nlohmann::json;
using store::Connection;
using store::Row;

const std::vector<store::Migration> kIssuanceMigrations = {{1, R"(
  CREATE TABLE municipal_kiosk_offers (
    municipality_code TEXT PRIMARY KEY,
    documents TEXT NOT NULL, fees TEXT NOT NULL, shared_function BIGINT NOT NULL, mayor_name TEXT NOT NULL);
  CREATE TABLE municipal_support_measures (
    seq {{id}},
    municipality_code TEXT NOT NULL, resident_code BIGINT NOT NULL, since TEXT NOT NULL, until TEXT);
  CREATE INDEX municipal_support_measures_resident ON municipal_support_measures (resident_code);
  CREATE TABLE municipal_issuances (
    seq {{id}},
    issuance_number TEXT, municipality_code TEXT NOT NULL, resident_code BIGINT NOT NULL,
    type TEXT NOT NULL, channel TEXT NOT NULL, session TEXT NOT NULL, outcome TEXT NOT NULL,
    content_digest TEXT, recorded_at TEXT NOT NULL);
  CREATE UNIQUE INDEX municipal_issuances_number ON municipal_issuances (issuance_number);
  CREATE INDEX municipal_issuances_resident ON municipal_issuances (resident_code, seq);
)"}, {2, R"(
  ALTER TABLE municipal_issuances ADD COLUMN issued_on TEXT;
)"}, {3, R"(
  CREATE INDEX municipal_issuances_session ON municipal_issuances (session) WHERE channel = 'kiosk';
)"}, {4, R"(
  CREATE TABLE municipal_returned_sessions (
    municipality_code TEXT NOT NULL, session TEXT NOT NULL, returned_at TEXT NOT NULL,
    PRIMARY KEY (municipality_code, session));
)"}};

constexpr size_t kKeySize = 32;
std::string key_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "keys" / "documents.key").string();
}


// The municipality's signing key: a P-256 scalar derived from the secret by HMAC-SHA256 over the
// municipality code (the same in every centre that holds the data directory).
Result<pki::EvpPkeyPtr> derive_key(const std::string& secret, const LocalGovernmentCode& code) {
  const std::string info = "OpenJLIS document signing key " + code.str();
  unsigned char okm[32];
  unsigned int len = sizeof okm;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(info.data()), info.size(), okm, &len))
    return internal_error("cannot derive the document key");
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1),
                                                            EC_GROUP_free);
  pki::BignumPtr d(BN_bin2bn(okm, static_cast<int>(len), nullptr));
  OPENSSL_cleanse(okm, sizeof okm);
  pki::BignumPtr order_minus_one(BN_dup(EC_GROUP_get0_order(group.get())));
  pki::BnCtxPtr ctx(BN_CTX_new());
  if (!group || !d || !order_minus_one || !ctx || !BN_sub_word(order_minus_one.get(), 1) ||
      !BN_mod(d.get(), d.get(), order_minus_one.get(), ctx.get()) || !BN_add_word(d.get(), 1))
    return internal_error("cannot derive the document key");
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> pub(EC_POINT_new(group.get()), EC_POINT_free);
  unsigned char pub_octets[65];
  if (!pub || !EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, ctx.get()) ||
      EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, pub_octets, sizeof pub_octets,
                         ctx.get()) != sizeof pub_octets)
    return internal_error("cannot derive the document key");
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub_octets, sizeof pub_octets))
    return internal_error("cannot derive the document key");
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  pki::EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !pctx || EVP_PKEY_fromdata_init(pctx.get()) != 1 ||
      EVP_PKEY_fromdata(pctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()) != 1)
    return internal_error("cannot derive the document key");
  return pki::EvpPkeyPtr(key);
}

std::string join_documents(const std::set<DocumentType>& docs) {
  std::string out;
  for (DocumentType t : docs) out += (out.empty() ? "" : ",") + std::string(document_type_name(t));
  return out;
}

// What the writer's transaction decided: a document to sign and render, or a refusal.
struct Decision {
  std::optional<Document> document;
  std::optional<Refusal> refusal;
  int64_t fee = 0;
};

Refusal refusal(std::string_view reason, std::string message) { return {std::string(reason), std::move(message)}; }

}  // namespace

KioskOffer default_offer(const LocalGovernmentCode& municipality, const registry::Names& names) {
  KioskOffer o;
  o.fees = {{DocumentType::juminhyo, 200}, {DocumentType::kisai_jiko, 200}, {DocumentType::inkan, 200},
            {DocumentType::koseki, 450},   {DocumentType::koseki_fuhyo, 300}, {DocumentType::kazei, 300}};
  for (const auto& [type, fee] : o.fees) o.documents.insert(type);
  const uint64_t h = std::hash<std::string>{}("mayor " + municipality.str());
  if (!names.last.empty() && !names.male.empty())
    o.mayor_name = names.last[h % names.last.size()].kanji + "　" + names.male[(h >> 20) % names.male.size()].kanji;
  return o;
}

Result<IssuanceRequest> issuance_request_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("an issuance request must be a JSON object");
  static const std::set<std::string> known = {"certificate_serial", "type",        "members", "items",
                                              "individual",         "fiscal_year", "session"};
  for (auto& [k, v] : j.items()) {
    (void)v;
    if (!known.count(k)) return invalid_argument("field '" + k + "' does not belong to an issuance request");
  }
  IssuanceRequest r;
  r.channel = "kiosk";
  if (!j.contains("type") || !j["type"].is_string()) return invalid_argument("type is required");
  JLIS_ASSIGN_OR_RETURN(r.type, parse_document_type(j["type"].get<std::string>()));
  if (j.contains("members")) {
    if (!j["members"].is_string() || (j["members"] != "all" && j["members"] != "self"))
      return invalid_argument("members must be \"all\" or \"self\"");
    r.whole_household = j["members"] == "all";
  }
  if (j.contains("items")) {
    if (!j["items"].is_array()) return invalid_argument("items must be an array");
    for (const auto& item : j["items"]) {
      if (item == "household") r.items.head_and_relationship = true;
      else if (item == "honseki") r.items.honseki = true;
      else if (item == "my-number") r.items.my_number = true;
      else return invalid_argument("items are household, honseki and my-number");
    }
  }
  if (j.contains("individual")) {
    if (!j["individual"].is_boolean()) return invalid_argument("individual must be true or false");
    r.individual = j["individual"].get<bool>();
  }
  if (j.contains("fiscal_year")) {
    if (!j["fiscal_year"].is_number_integer()) return invalid_argument("fiscal_year must be an integer");
    r.fiscal_year = j["fiscal_year"].get<int>();
  }
  if (j.contains("certificate_serial")) {
    if (!j["certificate_serial"].is_string() || j["certificate_serial"].get<std::string>().empty() ||
        j["certificate_serial"].get<std::string>().size() > 64)
      return invalid_argument("certificate_serial must be the serial of the holder's authentication certificate");
    r.certificate_serial = j["certificate_serial"].get<std::string>();
  }
  if (j.contains("session")) {
    if (!j["session"].is_string() || j["session"].get<std::string>().size() > 128)
      return invalid_argument("session must be a string of at most 128 characters");
    r.session = j["session"].get<std::string>();
  }
  return r;
}

struct IssuanceServer::Impl {
  store::Pool& pool;
  store::Writer& writer;
  registry::Registry& registry;
  Households& households;
  SealRegistrations& seals;
  std::function<Date()> today_fn;
  registry::Names names;
  std::string secret;
  std::mutex keys_mu;
  std::map<LocalGovernmentCode, pki::EvpPkeyPtr> keys;
  Sealer sealer;

  ~Impl() { OPENSSL_cleanse(secret.data(), secret.size()); }

  Date today() const { return today_fn ? today_fn() : Date::today(); }

  Result<EVP_PKEY*> key_of(const LocalGovernmentCode& code) {
    std::lock_guard<std::mutex> lock(keys_mu);
    auto it = keys.find(code);
    if (it == keys.end()) {
      JLIS_ASSIGN_OR_RETURN(auto key, derive_key(secret, code));
      it = keys.emplace(code, std::move(key)).first;
    }
    return it->second.get();
  }

  Result<KioskOffer> offer(Connection& conn, const LocalGovernmentCode& municipality) {
    std::optional<KioskOffer> found;
    Status parsed = Status::ok();
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT documents, fees, shared_function, mayor_name FROM municipal_kiosk_offers WHERE municipality_code = ?",
        {municipality.str()}, [&](const Row& r) {
          KioskOffer o;
          std::string docs = r.text(0);
          for (size_t start = 0; start < docs.size();) {
            size_t end = docs.find(',', start);
            if (end == std::string::npos) end = docs.size();
            auto t = parse_document_type(docs.substr(start, end - start));
            if (!t.ok()) parsed = t.status();
            else o.documents.insert(*t);
            start = end + 1;
          }
          const json fees = json::parse(r.text(1), nullptr, /*allow_exceptions=*/false);
          if (!fees.is_object()) parsed = internal_error("the kiosk fees of " + municipality.str() + " are corrupt");
          else
            for (const auto& [k, v] : fees.items()) {
              auto t = parse_document_type(k);
              if (t.ok() && v.is_number_integer()) o.fees[*t] = v.get<int64_t>();
            }
          o.shared_function = r.int64(2) != 0;
          o.mayor_name = r.text(3);
          found = std::move(o);
          return false;
        }));
    JLIS_RETURN_IF_ERROR(parsed);
    if (found) return *found;
    return default_offer(municipality, names);
  }

  Result<bool> under_support_measure(Connection& conn, const ResidentCode& resident) {
    const std::string today_iso = today().to_iso();
    JLIS_ASSIGN_OR_RETURN(auto n, conn.query_int64("SELECT COUNT(*) FROM municipal_support_measures WHERE "
                                                   "resident_code = ? AND since <= ? AND (until IS NULL OR until > ?)",
                                                   {resident_key(resident), today_iso, today_iso}));
    return n.value_or(0) > 0;
  }

  Result<std::string> next_number(Connection& conn, const LocalGovernmentCode& municipality) {
    const std::string prefix = municipality.str() + "-" + std::to_string(today().year()) + "-";
    std::optional<std::string> last;
    JLIS_RETURN_IF_ERROR(conn.query("SELECT MAX(issuance_number) FROM municipal_issuances WHERE issuance_number >= ? "
                                    "AND issuance_number < ?",
                                    {prefix, prefix + "~"}, [&](const Row& r) {
                                      last = r.optional_text(0);
                                      return false;
                                    }));
    const int64_t seq = last ? std::stoll(last->substr(prefix.size())) + 1 : 1;
    char digits[24];
    std::snprintf(digits, sizeof digits, "%07lld", static_cast<long long>(seq));
    return prefix + digits;
  }

  // The checks and the content, in the writer's transaction.
  Result<Decision> decide(Connection& conn, const LocalGovernmentCode& municipality, const IssuanceRequest& req,
                          std::string& number_out) {
    Decision out;
    const bool kiosk = req.channel == "kiosk";
    auto resident = registry.get(conn, req.applicant);
    if (!resident.ok()) {
      if (resident.status().code() != Code::not_found && resident.status().code() != Code::conflict)
        return resident.status();
      out.refusal = refusal(kRefusedNotResident, "この住民票コードの住民は登録されていません");
      return out;
    }
    const registry::Resident& who = *resident;
    if (who.status == registry::ResidentStatus::deceased) {
      out.refusal = refusal(kRefusedDeceased, "死亡した方の証明書は交付できません");
      return out;
    }
    const bool of_register = req.type == DocumentType::koseki || req.type == DocumentType::koseki_fuhyo;
    if (!of_register && (who.municipality_code != municipality || who.status != registry::ResidentStatus::resident)) {
      out.refusal = refusal(kRefusedNotResident, "この市区町村に住民登録がありません（転出・国外転出を含む）");
      return out;
    }
    JLIS_ASSIGN_OR_RETURN(KioskOffer offered, offer(conn, municipality));
    if (kiosk) {
      JLIS_ASSIGN_OR_RETURN(bool protected_person, under_support_measure(conn, who.resident_code));
      if (protected_person) {
        out.refusal = refusal(kRefusedSupportMeasure, "この証明書はコンビニ交付では交付できません。窓口にお越しください");
        return out;
      }
      if (!offered.documents.count(req.type)) {
        out.refusal = refusal(kRefusedNotOffered, "この市区町村ではこの証明書をコンビニ交付していません");
        return out;
      }
      out.fee = offered.fees.count(req.type) ? offered.fees.at(req.type) : 0;
    }
    const Municipality* m = registry.reference().find(municipality);
    if (!m) return invalid_argument("unknown municipality " + municipality.str());
    Issuer issuer{municipality, m->name, m->name + "長", offered.mayor_name, ""};
    const Date today_date = today();
    JLIS_ASSIGN_OR_RETURN(number_out, next_number(conn, municipality));
    const std::string& number = number_out;

    switch (req.type) {
      case DocumentType::juminhyo:
      case DocumentType::kisai_jiko: {
        JLIS_ASSIGN_OR_RETURN(Household h, households.of(conn, who.resident_code));
        std::vector<ResidentSheetPerson> people;
        for (const HouseholdMember& member : h.members) {
          if (!req.whole_household && member.resident_code != who.resident_code) continue;
          JLIS_ASSIGN_OR_RETURN(registry::Resident r, registry.get(conn, member.resident_code));
          ResidentSheetPerson p{std::move(r), member, "", ""};
          if (req.items.honseki) {
            JLIS_ASSIGN_OR_RETURN(auto ref, Koseki::find_by_resident(conn, member.resident_code));
            if (ref) {
              JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, Koseki::get(conn, ref->register_id));
              p.honseki = reg.honseki;
              p.head_of_register = reg.head_name;
            }
          }
          people.push_back(std::move(p));
        }
        // The applicant first when only some are listed; the household's order otherwise.
        out.document = resident_sheet(issuer, today_date, number, h, people, req.items,
                                      req.type == DocumentType::kisai_jiko);
        out.document->subject = who.person.name;
        break;
      }
      case DocumentType::inkan: {
        JLIS_ASSIGN_OR_RETURN(SealCertifiability seal, seals.certifiable(conn, municipality, who.resident_code));
        if (!seal.certifiable()) {
          const bool abolished = seal_refusal_code(*seal.refusal) == kRefusedSealAbolished;
          out.refusal = refusal(abolished ? kRefusedSealAbolished : kRefusedNoSeal,
                                abolished ? "登録された印鑑は廃止されています" : "印鑑登録がありません");
          break;
        }
        out.document = seal_certificate(issuer, today_date, number, who, seal.seal.impression_png);
        break;
      }
      case DocumentType::koseki:
      case DocumentType::koseki_fuhyo: {
        JLIS_ASSIGN_OR_RETURN(auto ref, Koseki::find_by_resident(conn, who.resident_code));
        std::optional<KosekiRegister> reg;
        if (ref) {
          JLIS_ASSIGN_OR_RETURN(KosekiRegister r, Koseki::get(conn, ref->register_id));
          if (r.municipality == municipality && !r.closed) reg = std::move(r);
        }
        if (!reg) {
          out.refusal = refusal(kRefusedNoFamilyRegister, "この市区町村に本籍がありません");
          break;
        }
        if (req.type == DocumentType::koseki) {
          out.document = family_register_certificate(issuer, today_date, number, *reg,
                                                     req.individual ? std::optional<int>(ref->member) : std::nullopt,
                                                     who.person.name);
        } else {
          JLIS_ASSIGN_OR_RETURN(FuhyoCopy copy, Fuhyo::copy(conn, reg->id, req.individual ? std::vector<int>{ref->member}
                                                                                           : std::vector<int>{}));
          out.document = fuhyo_copy(issuer, today_date, number, copy, who.person.name);
        }
        break;
      }
      case DocumentType::kazei: {
        JLIS_ASSIGN_OR_RETURN(auto records, TaxRecords::list(conn, who.resident_code));
        const TaxRecord* chosen = nullptr;
        for (const TaxRecord& r : records)  // newest first
          if (r.municipality_code == municipality && (!req.fiscal_year || r.fiscal_year == *req.fiscal_year)) {
            chosen = &r;
            break;
          }
        if (!chosen) {
          out.refusal = refusal(kRefusedNoTaxRecord, "この年度の課税記録がありません");
          break;
        }
        out.document = tax_certificate(issuer, today_date, number, who, *chosen);
        break;
      }
    }
    return out;
  }
};

Status IssuanceServer::migrate(Connection& conn) { return store::migrate(conn, "municipal_issuance", kIssuanceMigrations); }

Status IssuanceServer::create_key_file(const std::string& data_dir) {
  return create_secret_file(key_path(data_dir), kKeySize, "the document-signing key");
}

Result<std::unique_ptr<IssuanceServer>> IssuanceServer::open(const std::string& data_dir,
                                                             const std::string& reference_dir, store::Pool& pool,
                                                             store::Writer& writer, registry::Registry& registry,
                                                             Households& households, SealRegistrations& seals,
                                                             std::function<Date()> today) {
  JLIS_RETURN_IF_ERROR(create_key_file(data_dir));  // a data directory made before documents existed
  JLIS_ASSIGN_OR_RETURN(std::string secret, read_secret_file(key_path(data_dir), kKeySize, "the document-signing key"));
  JLIS_ASSIGN_OR_RETURN(registry::Names names, registry::load_names(reference_dir));
  auto impl = std::unique_ptr<Impl>(new Impl{pool, writer, registry, households, seals, std::move(today), std::move(names),
                                             std::move(secret), {}, {}, {}});
  return std::unique_ptr<IssuanceServer>(new IssuanceServer(std::move(impl)));
}

IssuanceServer::IssuanceServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IssuanceServer::~IssuanceServer() = default;

Result<IssuanceOutcome> IssuanceServer::issue(const LocalGovernmentCode& municipality, const IssuanceRequest& req) {
  if (req.channel != "kiosk" && req.channel != "window") return invalid_argument("channel must be kiosk or window");
  if (req.fiscal_year && (*req.fiscal_year < kFirstTaxYear || *req.fiscal_year > kLastTaxYear))
    return invalid_argument("fiscal_year must lie in " + std::to_string(kFirstTaxYear) + ".." +
                            std::to_string(kLastTaxYear));
  std::string number;
  IssuanceRequest r = req;
  JLIS_ASSIGN_OR_RETURN(Decision decision, store::run_for<Decision>(impl_->writer, [&](Connection& conn) -> Result<Decision> {
    number.clear();
    Decision d;
    if (req.channel == "kiosk") {
      JLIS_ASSIGN_OR_RETURN(auto ended, conn.query_int64(
          "SELECT 1 FROM municipal_returned_sessions WHERE municipality_code = ? AND session = ?",
          {municipality.str(), req.session}));
      if (ended)
        return conflict("kiosk session " + req.session + " has ended and was returned: it gets no more documents");
    }
    if (!req.certificate_serial.empty()) {
      // The kiosk's log-in, as the certificate register stands in this transaction.
      JLIS_ASSIGN_OR_RETURN(pki::CertificateRecord cert, pki::CertificateAuthority::find_in(conn, req.certificate_serial));
      if (cert.kind != pki::CertificateKind::authentication)
        return permission_denied("a kiosk identifies the holder by the user-authentication certificate");
      r.applicant = cert.resident_code;
      if (cert.status(static_cast<int64_t>(std::time(nullptr))) != "good")
        d.refusal = refusal(kRefusedCertificateNotGood, "このカードの利用者証明用電子証明書は有効ではありません");
    }
    if (!d.refusal) {
      JLIS_ASSIGN_OR_RETURN(d, impl_->decide(conn, municipality, r, number));
    }
    const std::string outcome = d.document ? "issued" : d.refusal->reason;
    JLIS_RETURN_IF_ERROR(conn.execute(
        "INSERT INTO municipal_issuances (issuance_number, municipality_code, resident_code, type, channel, session, "
        "outcome, content_digest, recorded_at, issued_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {d.document ? store::Value(number) : store::Value(nullptr), municipality.str(), resident_key(r.applicant),
         std::string(document_type_name(r.type)), r.channel, r.session, outcome,
         d.document ? store::Value(to_hex(content_digest(*d.document))) : store::Value(nullptr), now_iso8601(),
         d.document ? store::Value(d.document->issued_on.to_iso()) : store::Value(nullptr)})
                             .status());
    return d;
  }));
  IssuanceOutcome out;
  if (decision.refusal) {
    out.refusal = std::move(decision.refusal);
    return out;
  }
  // Committed: now signed and drawn, outside the writer.
  auto made = [&]() -> Result<std::string> {
    JLIS_ASSIGN_OR_RETURN(EVP_PKEY* key, impl_->key_of(municipality));
    JLIS_ASSIGN_OR_RETURN(VerificationCode code, make_verification_code(*decision.document, key));
    JLIS_ASSIGN_OR_RETURN(std::string pdf, render_pdf(*decision.document, code));
    if (!impl_->sealer) return pdf;
    return impl_->sealer(SealRequest{municipality, r.type, number}, std::move(pdf));
  }();
  if (!made.ok()) {
    // Nothing left: the record says so. Its number stays taken, and no longer verifies.
    (void)impl_->writer.run([&](Connection& conn) {
      return conn.execute("UPDATE municipal_issuances SET outcome = ? WHERE issuance_number = ? AND outcome = 'issued'",
                          {std::string(kUndelivered), number}).status();
    });
    return made.status();
  }
  out.document =
      IssuedDocument{number, r.type, decision.document->subject, r.applicant, decision.fee, std::move(*made)};
  return out;
}

void IssuanceServer::seal_with(Sealer sealer) { impl_->sealer = std::move(sealer); }

Result<LocalGovernmentCode> IssuanceServer::default_issuer(const ResidentCode& resident, DocumentType type) {
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  JLIS_ASSIGN_OR_RETURN(registry::Resident r, impl_->registry.get(*conn, resident));
  if (type == DocumentType::koseki || type == DocumentType::koseki_fuhyo) {
    JLIS_ASSIGN_OR_RETURN(auto ref, Koseki::find_by_resident(*conn, resident));
    if (ref) {
      JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, Koseki::get(*conn, ref->register_id));
      return reg.municipality;
    }
  }
  return r.municipality_code;
}

Result<KioskOffer> IssuanceServer::offer(const LocalGovernmentCode& municipality) {
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  return impl_->offer(*conn, municipality);
}

Status IssuanceServer::configure(const LocalGovernmentCode& municipality, const KioskOffer& offer) {
  json fees = json::object();
  for (const auto& [type, fee] : offer.fees) {
    if (fee < 0 || fee > 100000) return invalid_argument("a fee must lie between 0 and 100,000 yen");
    fees[std::string(document_type_name(type))] = fee;
  }
  if (offer.mayor_name.empty() || offer.mayor_name.size() > 200) return invalid_argument("the mayor's name is required");
  return impl_->writer.run([&](Connection& conn) {
    return conn
        .execute("INSERT INTO municipal_kiosk_offers (municipality_code, documents, fees, shared_function, mayor_name) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (municipality_code) DO UPDATE SET documents = excluded.documents, "
                 "fees = excluded.fees, shared_function = excluded.shared_function, mayor_name = excluded.mayor_name",
                 {municipality.str(), join_documents(offer.documents), fees.dump(),
                  int64_t{offer.shared_function ? 1 : 0}, offer.mayor_name})
        .status();
  });
}

Status IssuanceServer::place_support_measure(const LocalGovernmentCode& municipality, const ResidentCode& resident,
                                             Date since, std::optional<Date> until) {
  if (until && *until <= since) return invalid_argument("until must come after since");
  return impl_->writer.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(registry::Resident r, impl_->registry.get(conn, resident));
    if (r.municipality_code != municipality) return registry::unknown_resident();
    return conn
        .execute("INSERT INTO municipal_support_measures (municipality_code, resident_code, since, until) "
                 "VALUES (?, ?, ?, ?)",
                 {municipality.str(), resident_key(resident), since.to_iso(),
                  until ? store::Value(until->to_iso()) : store::Value(nullptr)})
        .status();
  });
}

Result<std::vector<std::string>> IssuanceServer::returned(const LocalGovernmentCode& municipality,
                                                          const std::string& session, const std::string& delivered) {
  if (session.empty()) return invalid_argument("a return names the kiosk session");
  std::vector<std::string> numbers;
  JLIS_RETURN_IF_ERROR(impl_->writer.run([&](Connection& conn) -> Status {
    numbers.clear();  // a second run (store/writer.h) reads them again
    JLIS_RETURN_IF_ERROR(conn.execute(
        "INSERT INTO municipal_returned_sessions (municipality_code, session, returned_at) VALUES (?, ?, ?) "
        "ON CONFLICT (municipality_code, session) DO NOTHING",
        {municipality.str(), session, now_iso8601()}).status());
    const std::string which = "session = ? AND channel = 'kiosk' AND municipality_code = ? AND outcome = 'issued' "
                              "AND issuance_number <> ?";
    JLIS_RETURN_IF_ERROR(conn.query("SELECT issuance_number FROM municipal_issuances WHERE " + which + " ORDER BY seq",
                                    {session, municipality.str(), delivered}, [&](const store::Row& r) {
                                      numbers.push_back(r.text(0));
                                      return true;
                                    }));
    return conn
        .execute("UPDATE municipal_issuances SET outcome = ? WHERE " + which,
                 {std::string(kUndelivered), session, municipality.str(), delivered})
        .status();
  }));
  return numbers;
}

Result<std::vector<IssuanceRecord>> IssuanceServer::records_of(const ResidentCode& resident) {
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  std::vector<IssuanceRecord> out;
  Status bad = Status::ok();
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT issuance_number, municipality_code, type, channel, session, outcome, recorded_at FROM "
      "municipal_issuances WHERE resident_code = ? ORDER BY seq DESC",
      {resident_key(resident)}, [&](const Row& r) {
        auto type = parse_document_type(r.text(2));
        if (!type.ok()) bad = type.status();
        out.push_back({r.text(0), LocalGovernmentCode::parse(r.text(1)).value(), resident,
                       type.ok() ? *type : DocumentType::juminhyo, r.text(3), r.text(4), r.text(5), r.text(6)});
        return true;
      }));
  JLIS_RETURN_IF_ERROR(bad);
  return out;
}

Result<IssuanceCheck> IssuanceServer::check_code(std::string_view code) {
  IssuanceCheck out;
  std::optional<VerifiedIssuance> verified;
  if (code.starts_with("JLIS1:")) {
    auto v = verify(code, [this](const LocalGovernmentCode& m) { return impl_->key_of(m); });
    if (!v.ok() && v.status().code() == Code::unauthenticated) return out;  // a forged or altered code
    JLIS_RETURN_IF_ERROR(v.status());
    verified = std::move(*v);
    code = verified->issuance_number;
  }
  const bool number = !code.empty() && code.size() <= 32 &&
                      code.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") ==
                          std::string_view::npos;
  if (!number) return invalid_argument("not an issuance number or a verification code");
  JLIS_ASSIGN_OR_RETURN(auto conn, impl_->pool.acquire());
  std::string digest;
  Status bad = Status::ok();
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT municipality_code, type, channel, COALESCE(issued_on, SUBSTR(recorded_at, 1, 10)), content_digest "
      "FROM municipal_issuances WHERE issuance_number = ? AND outcome = 'issued'",
      {std::string(code)}, [&](const Row& r) {
        auto municipality = LocalGovernmentCode::parse(r.text(0));
        auto type = parse_document_type(r.text(1));
        auto on = Date::parse_iso(r.text(3));
        if (!municipality.ok() || !type.ok() || !on.ok()) {
          bad = internal_error("an issuance record that does not parse: " + std::string(code));
          return false;
        }
        out.issued = true;
        out.issuance_number = std::string(code);
        out.municipality = *municipality;
        const Municipality* m = impl_->registry.reference().find(*municipality);
        out.municipality_name = m ? m->name : "";
        out.type = *type;
        out.channel = r.text(2);
        out.issued_on = *on;
        digest = r.text(4);
        return false;
      }));
  JLIS_RETURN_IF_ERROR(bad);
  if (out.issued && verified) {
    // The code must say what the record says: its issuer, its date and its content.
    if (verified->municipality != out.municipality || verified->issued_on != out.issued_on ||
        to_hex(verified->content_digest) != digest)
      return IssuanceCheck{};
    out.code_verified = true;
  }
  return out;
}

Result<std::string> IssuanceServer::public_key_pem(const LocalGovernmentCode& municipality) {
  JLIS_ASSIGN_OR_RETURN(EVP_PKEY* key, impl_->key_of(municipality));
  return pki::public_key_pem(key);
}

}  // namespace jlis::municipal
