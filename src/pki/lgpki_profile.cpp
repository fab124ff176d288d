#include "pki/lgpki_profile.h"

#include "common/identifiers.h"
#include "pki/certificate_builder.h"
#include "pki/profile.h"

namespace jlis::pki {

using namespace build;

namespace {

constexpr const char* kOrganisation = "LGPKI";

const char* ca_ou(LgpkiCa ca) {
  switch (ca) {
    case LgpkiCa::organisation: return "Organization CA";
    case LgpkiCa::position: return "Position CA";
    case LgpkiCa::application: return "Application CA";
  }
  return "";
}

Result<X509NamePtr> lgpki_name(const char* ou) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return openssl_error("allocating a name");
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "C", "JP"));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "O", kOrganisation));
  JLIS_RETURN_IF_ERROR(add_entry(name.get(), "OU", ou));
  return name;
}

Status check_text(std::string_view field, const std::string& value) {
  if (value.empty() || value.size() > 192) return invalid_argument(std::string(field) + " must be 1 to 64 characters");
  size_t chars = 0;
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return invalid_argument(std::string(field) + " must not hold control characters");
    if ((c & 0xc0) != 0x80) ++chars;
  }
  if (chars > 64) return invalid_argument(std::string(field) + " must be 1 to 64 characters");
  return Status::ok();
}

Status check_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return invalid_argument("a DNS name is 1 to 253 characters: " + name);
  size_t labels = 0, start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    const std::string_view label(name.data() + start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        label.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
      return invalid_argument("a DNS name is lower-case letters, digits and hyphens in dot-separated labels: " + name);
    ++labels;
    start = end + 1;
  }
  if (labels < 2) return invalid_argument("a DNS name has at least two labels: " + name);
  return Status::ok();
}

std::string join_uri(const std::string& base, const std::string& path) { return "URI:" + base + path; }

}  // namespace

std::string lgpki_name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string_view lgpki_ca_name(LgpkiCa ca) {
  switch (ca) {
    case LgpkiCa::organisation: return "organisation";
    case LgpkiCa::position: return "position";
    case LgpkiCa::application: return "application";
  }
  return "";
}

Result<LgpkiCa> parse_lgpki_ca(std::string_view text) {
  for (LgpkiCa ca : {LgpkiCa::organisation, LgpkiCa::position, LgpkiCa::application})
    if (text == lgpki_ca_name(ca)) return ca;
  return invalid_argument("an LGPKI issuing CA is \"organisation\", \"position\" or \"application\"");
}

std::string_view lgpki_profile_name(LgpkiProfile profile) {
  switch (profile) {
    case LgpkiProfile::organisation: return "organisation";
    case LgpkiProfile::position: return "position";
    case LgpkiProfile::application_server: return "application-server";
    case LgpkiProfile::document_signing: return "document-signing";
    case LgpkiProfile::time_stamping: return "time-stamping";
    case LgpkiProfile::message_signing: return "message-signing";
  }
  return "";
}

Result<LgpkiProfile> parse_lgpki_profile(std::string_view text) {
  for (LgpkiProfile p : {LgpkiProfile::organisation, LgpkiProfile::position, LgpkiProfile::application_server,
                         LgpkiProfile::document_signing, LgpkiProfile::time_stamping, LgpkiProfile::message_signing})
    if (text == lgpki_profile_name(p)) return p;
  return invalid_argument("no LGPKI profile is named \"" + std::string(text.substr(0, 64)) +
                          "\": organisation, position, application-server, document-signing, time-stamping or "
                          "message-signing");
}

LgpkiCa lgpki_issuer_of(LgpkiProfile profile) {
  switch (profile) {
    case LgpkiProfile::position: return LgpkiCa::position;
    case LgpkiProfile::application_server:
    case LgpkiProfile::time_stamping: return LgpkiCa::application;
    case LgpkiProfile::organisation:
    case LgpkiProfile::document_signing:
    case LgpkiProfile::message_signing: break;
  }
  return LgpkiCa::organisation;
}

const char* lgpki_policy_oid(LgpkiProfile profile) {
  switch (profile) {
    case LgpkiProfile::organisation: return "1.2.392.200149.8.6.1.1";
    case LgpkiProfile::position: return "1.2.392.200149.8.6.1.2";
    case LgpkiProfile::application_server: return "1.2.392.200149.8.6.1.3";
    case LgpkiProfile::document_signing: return "1.2.392.200149.8.6.1.4";
    case LgpkiProfile::time_stamping: return "1.2.392.200149.8.6.1.5";
    case LgpkiProfile::message_signing: return "1.2.392.200149.8.6.1.6";
  }
  return "";
}

std::string lgpki_crl_name(LgpkiCa ca, int generation) {
  std::string name(lgpki_ca_name(ca));
  return generation <= 1 ? name : name + "-g" + std::to_string(generation);
}
std::string lgpki_arl_name(int generation) {
  return generation <= 1 ? "arl" : "arl-g" + std::to_string(generation);
}
std::string lgpki_root_name(int generation) {
  return generation <= 1 ? "root" : "root-g" + std::to_string(generation);
}

Status check_lgpki_subject(LgpkiProfile profile, const LgpkiSubject& s) {
  if (lgpki_profile_name(profile).empty()) return invalid_argument("unknown LGPKI profile");
  if (lgpki_jlis_own(profile)) {
    if (!s.municipality_code.empty() || !s.organisation.empty() || !s.unit.empty() || !s.position.empty() ||
        !s.dns_names.empty())
      return invalid_argument("a " + std::string(lgpki_profile_name(profile)) +
                              " certificate is J-LIS's own: it names no local government, only a common name");
    return check_text("common_name", s.common_name);
  }
  if (!LocalGovernmentCode::parse(s.municipality_code).ok())
    return invalid_argument("municipality_code must be a local government code of 6 digits with its check digit");
  JLIS_RETURN_IF_ERROR(check_text("organisation", s.organisation));
  if (!s.unit.empty()) JLIS_RETURN_IF_ERROR(check_text("unit", s.unit));
  if (profile == LgpkiProfile::position) {
    JLIS_RETURN_IF_ERROR(check_text("position", s.position));
    if (!s.unit.empty()) return invalid_argument("a position certificate names no unit");
  } else if (!s.position.empty()) {
    return invalid_argument("only a position certificate names a position");
  }
  if (profile == LgpkiProfile::application_server) {
    if (s.dns_names.empty()) return invalid_argument("an application server certificate needs a DNS name");
    if (s.dns_names.size() > 16) return invalid_argument("at most 16 DNS names");
    for (const auto& n : s.dns_names) JLIS_RETURN_IF_ERROR(check_dns_name(n));
    if (!s.common_name.empty()) return invalid_argument("an application server certificate's CN is its first DNS name");
  } else {
    if (!s.dns_names.empty()) return invalid_argument("only an application server certificate names DNS names");
    if (profile != LgpkiProfile::position || !s.common_name.empty())
      JLIS_RETURN_IF_ERROR(check_text("common_name", s.common_name));
  }
  return Status::ok();
}

Result<X509Ptr> make_lgpki_root(const LgpkiRootParams& p) {
  if (p.key == nullptr) return internal_error("the root needs its key");
  JLIS_ASSIGN_OR_RETURN(auto name, lgpki_name("Root CA"));
  return self_signed_ca(name.get(), p.not_before, p.not_after, p.key);
}

Result<X509Ptr> make_lgpki_issuing_ca(const LgpkiIssuingCaParams& p) {
  if (p.root == nullptr || p.root_key == nullptr || p.public_key == nullptr)
    return internal_error("an issuing CA needs the root and its own public key");
  JLIS_ASSIGN_OR_RETURN(auto name, lgpki_name(ca_ou(p.ca)));
  JLIS_ASSIGN_OR_RETURN(std::string serial, new_serial());
  JLIS_ASSIGN_OR_RETURN(auto cert, skeleton(serial, p.not_before, p.not_after, name.get(),
                                            X509_get_subject_name(p.root), {p.public_key}));
  X509* c = cert.get();
  JLIS_RETURN_IF_ERROR(add_ext(c, p.root, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.root, NID_key_usage, "critical,keyCertSign,cRLSign"));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.root, NID_subject_key_identifier, "hash"));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.root, NID_authority_key_identifier, "keyid:always"));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.root, NID_crl_distribution_points,
                               join_uri(p.public_url, "/lgpki/crl/" + lgpki_arl_name(p.root_generation) + ".crl")));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.root, NID_info_access,
                               "caIssuers;" + join_uri(p.public_url, "/lgpki/ca/" + lgpki_root_name(p.root_generation) +
                                                                         ".cer")));
  JLIS_RETURN_IF_ERROR(sign(c, p.root_key));
  return cert;
}

Result<X509Ptr> make_lgpki_certificate(const LgpkiCertificateParams& p) {
  if (p.subject == nullptr || p.ca == nullptr || p.ca_key == nullptr)
    return internal_error("an LGPKI certificate needs its subject and its CA");
  JLIS_RETURN_IF_ERROR(check_lgpki_subject(p.profile, *p.subject));
  const LgpkiSubject& s = *p.subject;
  X509NamePtr subject(X509_NAME_new());
  if (!subject) return openssl_error("allocating a name");
  X509_NAME* n = subject.get();
  JLIS_RETURN_IF_ERROR(add_entry(n, "C", "JP"));
  JLIS_RETURN_IF_ERROR(add_entry(n, "O", kOrganisation));
  if (p.profile == LgpkiProfile::time_stamping) {
    JLIS_RETURN_IF_ERROR(add_entry(n, "OU", "Time-Stamping Authority"));
  } else if (p.profile == LgpkiProfile::message_signing) {
    JLIS_RETURN_IF_ERROR(add_entry(n, "OU", "Information-Linkage Platform"));
  } else {
    JLIS_RETURN_IF_ERROR(add_entry(n, "OU", s.municipality_code));
    JLIS_RETURN_IF_ERROR(add_entry(n, "OU", s.organisation));
  }
  if (!s.unit.empty()) JLIS_RETURN_IF_ERROR(add_entry(n, "OU", s.unit));
  if (p.profile == LgpkiProfile::position) JLIS_RETURN_IF_ERROR(add_entry(n, "title", s.position));
  const std::string cn = p.profile == LgpkiProfile::application_server ? s.dns_names.front()
                         : s.common_name.empty()                       ? s.position
                                                                       : s.common_name;
  JLIS_RETURN_IF_ERROR(add_entry(n, "CN", cn));
  JLIS_ASSIGN_OR_RETURN(auto cert, skeleton(p.serial_hex, p.not_before, p.not_after, n, X509_get_subject_name(p.ca),
                                            {nullptr, p.rsa_public_key}));
  X509* c = cert.get();
  JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_basic_constraints, "critical,CA:FALSE"));
  switch (p.profile) {
    case LgpkiProfile::organisation:
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_ext_key_usage, "clientAuth,emailProtection"));
      break;
    case LgpkiProfile::position:
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_key_usage, "critical,digitalSignature,nonRepudiation"));
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_ext_key_usage,
                                   std::string(kDocumentSigningEku) + ",emailProtection,clientAuth"));
      break;
    case LgpkiProfile::application_server: {
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_ext_key_usage, "serverAuth"));
      std::string san;
      for (const auto& d : s.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_subject_alt_name, san));
      break;
    }
    case LgpkiProfile::document_signing:
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_key_usage, "critical,digitalSignature,nonRepudiation"));
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_ext_key_usage, std::string(kDocumentSigningEku) + ",emailProtection"));
      break;
    case LgpkiProfile::time_stamping:
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_key_usage, "critical,digitalSignature,nonRepudiation"));
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_ext_key_usage, "critical,timeStamping"));
      break;
    case LgpkiProfile::message_signing:
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_key_usage, "critical,digitalSignature,nonRepudiation"));
      JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_ext_key_usage, "emailProtection"));
      break;
  }
  JLIS_RETURN_IF_ERROR(add_policy(c, lgpki_policy_oid(p.profile)));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_crl_distribution_points,
                               join_uri(p.public_url, "/lgpki/crl/" + p.ca_crl_name + ".crl")));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_info_access,
                               "caIssuers;" + join_uri(p.public_url, "/lgpki/ca/" + p.ca_crl_name + ".cer") +
                                   ",OCSP;" + join_uri(p.public_url, "/lgpki/ocsp")));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_subject_key_identifier, "hash"));
  JLIS_RETURN_IF_ERROR(add_ext(c, p.ca, NID_authority_key_identifier, "keyid:always"));
  JLIS_RETURN_IF_ERROR(sign(c, p.ca_key));
  return cert;
}

}  // namespace jlis::pki
