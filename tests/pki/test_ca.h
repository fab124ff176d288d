// Throwaway CAs, delegated OCSP responders and leaf certificates, made with the X509 API, for the
// CRL and OCSP tests and benchmarks. Header-only: tests/pki links every .cpp into one binary, and
// bench/ includes it too. Failures abort: a test fixture that cannot make its certificates has
// nothing to test.
#pragma once

#include <openssl/pem.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "pki/openssl.h"
#include "test_cache.h"

namespace jlis::pki::testing {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test certificates: %s failed\n", what);
    std::abort();
  }
}

struct CertSpec {
  std::string common_name;
  std::string serial_hex = "01";
  X509* issuer = nullptr;          // null: self-signed
  EVP_PKEY* issuer_key = nullptr;  // null: self-signed (signs with `key`)
  bool ca = false;
  bool ocsp_signing = false;  // extendedKeyUsage OCSPSigning + id-pkix-ocsp-nocheck
  const char* eku = nullptr;  // another extendedKeyUsage, e.g. "critical,timeStamping"
  int64_t not_before = 0;     // 0: an hour ago
  int64_t not_after = 0;      // 0: in a year
  bool subject_key_id = true;
};

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  check(ext != nullptr, "making an extension");
  check(X509_add_ext(cert, ext.get(), -1) == 1, "adding an extension");
}

// A certificate for `key` (the subject's key pair; its public half is certified).
inline X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "set_version");
  auto serial = serial_from_hex(spec.serial_hex);
  check(serial.ok(), "serial_from_hex");
  check(X509_set_serialNumber(cert.get(), serial->get()) == 1, "set_serialNumber");
  X509NamePtr name(X509_NAME_new());
  check(name && X509_NAME_add_entry_by_txt(name.get(), "C", MBSTRING_ASC,
                                           reinterpret_cast<const unsigned char*>("JP"), -1, -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("OpenJLIS test"), -1, -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1,
                                       0) == 1,
        "subject name");
  check(X509_set_subject_name(cert.get(), name.get()) == 1, "set_subject_name");
  X509* issuer = spec.issuer != nullptr ? spec.issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) == 1, "set_issuer_name");
  auto nb = asn1_time(spec.not_before != 0 ? spec.not_before : now - 3600);
  auto na = asn1_time(spec.not_after != 0 ? spec.not_after : now + 365 * 86400);
  check(nb.ok() && na.ok(), "asn1_time");
  check(X509_set1_notBefore(cert.get(), nb->get()) == 1 && X509_set1_notAfter(cert.get(), na->get()) == 1,
        "validity");
  check(X509_set_pubkey(cert.get(), key) == 1, "set_pubkey");
  if (spec.ca) {
    add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  }
  if (spec.ocsp_signing) {
    add_ext(cert.get(), issuer, NID_ext_key_usage, "OCSPSigning");
    add_ext(cert.get(), issuer, NID_id_pkix_OCSP_noCheck, "ignored");
  }
  if (spec.eku != nullptr) add_ext(cert.get(), issuer, NID_ext_key_usage, spec.eku);
  if (spec.subject_key_id) add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash");
  if (spec.issuer != nullptr) add_ext(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  EVP_PKEY* signer = spec.issuer_key != nullptr ? spec.issuer_key : key;
  check(X509_sign(cert.get(), signer, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

// A fresh RSA-2048 key for this process (from the test cache: test_cache.h).
inline EvpPkeyPtr make_key() { return next_cached_rsa_key(); }

inline std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

inline std::string cert_pem(X509* cert) {
  auto pem = x509_pem(cert);
  check(pem.ok(), "x509_pem");
  return *pem;
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
  check(static_cast<bool>(out), "writing a file");
}

// Runs a shell command; answers its standard output and sets *exit_code.
inline std::string run(const std::string& command, int* exit_code = nullptr) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  check(pipe != nullptr, "popen");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  if (exit_code != nullptr) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace jlis::pki::testing
