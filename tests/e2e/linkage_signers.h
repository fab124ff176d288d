// The linkage bodies' signing keys for the tests that call the platform over HTTP
// (linkage/signatures.h): each body gets an LGPKI organisation certificate for a fresh key, issued
// by the data directory's LGPKI and registered to the body, as an operator does with `jlis lgpki`
// and `jlis linkage body certificate add`; here in the test process, on the same store and key store
// (JLIS_CA_PASSPHRASE), which costs one key-store opening instead of a dozen `jlis` runs. The test
// then signs each message as the body's own software would: a detached CMS signature over the exact
// body, base64, in the JLIS-Signature header, and checks the platform's signature on each answer.
#pragma once

#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "../pki/requests.h"
#include "../pki/test_ca.h"
#include "cli/app.h"
#include "linkage/bodies.h"
#include "linkage/signatures.h"
#include "pki/cades.h"
#include "pki/lgpki.h"

namespace jlis::e2e {

class LinkageSigners {
 public:
  // Certifies and registers a key for each body of `bodies` on data directory `dir` (which has an
  // LGPKI: jlis lgpki init). Failures are test failures.
  void certify(const std::string& dir, const std::vector<std::string>& bodies) {
    auto app = cli::App::open(dir);
    ASSERT_TRUE(app.ok()) << app.status().to_string();
    auto lgpki = (*app)->lgpki(dir);
    ASSERT_TRUE(lgpki.ok() && *lgpki != nullptr) << "the data directory has no LGPKI";
    linkage::Bodies registry((*app)->pool(), (*app)->writer(), (*app)->directory());
    for (const std::string& body : bodies) {
      pki::EvpPkeyPtr key = pki::testing::make_key();
      pki::LgpkiIssuance in;
      in.profile = pki::LgpkiProfile::organisation;
      in.request = pki::testing::request_pem({key.get()});
      in.subject = {"131016", "千代田区", "情報連携", "", body};
      auto issued = (*lgpki)->issue(in);
      ASSERT_TRUE(issued.ok()) << issued.status().to_string();
      auto cert = pki::x509_from_der(issued->der).value();
      auto added = registry.add_certificate(body, pki::x509_pem(cert.get()).value());
      ASSERT_TRUE(added.ok()) << added.status().to_string();
      auto authorities = (*lgpki)->ca_certificates().value();
      pki::X509Ptr ca;
      for (const auto& c : authorities) {
        if (c.name == "organisation") ca = pki::x509_from_pem(c.pem).value();
        if (c.name == "root") root_ = pki::x509_from_pem(c.pem).value();
      }
      signers_.insert_or_assign(body, Signer{std::move(cert), std::move(ca), std::move(key)});
    }
  }
  // Revokes `body`'s certificate (keyCompromise) through the data directory's LGPKI, as another
  // process: a server on `dir` learns it by its tick.
  void revoke(const std::string& dir, const std::string& body) {
    auto app = cli::App::open(dir);
    ASSERT_TRUE(app.ok()) << app.status().to_string();
    auto lgpki = (*app)->lgpki(dir);
    ASSERT_TRUE(lgpki.ok() && *lgpki != nullptr) << "the data directory has no LGPKI";
    const std::string serial = pki::serial_hex(X509_get0_serialNumber(signers_.at(body).cert.get()));
    auto revoked = (*lgpki)->revoke(serial, pki::RevocationReason::key_compromise);
    ASSERT_TRUE(revoked.ok()) << revoked.status().to_string();
  }
  bool has(const std::string& body) const { return signers_.count(body) > 0; }
  // The JLIS-Signature header's value for `message` sent by `body`.
  std::string sign(const std::string& body, const std::string& message) const {
    const Signer& s = signers_.at(body);
    auto der = pki::cades_sign(message, {s.cert.get(), s.key.get(), {s.ca.get()}},
                               static_cast<int64_t>(std::time(nullptr)));
    EXPECT_TRUE(der.ok()) << der.status().to_string();
    return der.ok() ? pki::base64_encode(*der) : std::string();
  }
  // LGPKI's first root (PEM), which the answers verify from.
  std::string root_pem() const {
    auto pem = root_ ? pki::x509_pem(root_.get()) : Result<std::string>(not_found("certify() first"));
    return pem.ok() ? *pem : "";
  }
  // Whether `signature_base64` (an answer's JLIS-Signature) is the platform's over `answer`, as a
  // body's software checks it: the CMS signature over the exact bytes, its chain to the LGPKI root
  // (of the data directory certified last), its signer the platform's message-signing certificate.
  // "" when it is, else why not.
  std::string platform_signed(const std::string& answer, const std::string& signature_base64) const {
    if (!root_) return "no root: certify() first";
    if (signature_base64.empty()) return "the answer is not signed";
    auto der = pki::base64_decode(signature_base64);
    if (!der.ok()) return "the signature is not base64";
    auto verified = pki::cades_verify(*der, answer, {root_.get()}, {}, static_cast<int64_t>(std::time(nullptr)));
    if (!verified.ok()) return verified.status().to_string();
    const std::string subject = pki::lgpki_name_text(X509_get_subject_name(verified->signer.get()));
    if (subject.find("OU=Information-Linkage Platform") == std::string::npos) return "signed by " + subject;
    return "";
  }

 private:
  struct Signer {
    pki::X509Ptr cert, ca;
    pki::EvpPkeyPtr key;
  };
  std::map<std::string, Signer> signers_;
  pki::X509Ptr root_;  // the first root of the LGPKI certified last
};

}  // namespace jlis::e2e
