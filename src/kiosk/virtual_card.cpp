#include "kiosk/virtual_card.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/digest.h"
#include "pki/openssl.h"

namespace jlis::kiosk {
namespace {

using card::CardSecret;
using nlohmann::json;

constexpr std::string_view kFormat = "jlis-virtual-card-1";

// invalid_argument unless the private key belongs to the certificate.
Status check_pair(const std::string& certificate_pem, const std::string& key_pem, std::string_view which) {
  auto cert = pki::x509_from_pem(certificate_pem);
  if (!cert.ok()) return invalid_argument(std::string(which) + " certificate is not a PEM certificate");
  JLIS_ASSIGN_OR_RETURN(auto key, pki::private_key_from_pem(key_pem));
  if (X509_check_private_key(cert->get(), key.get()) != 1)
    return invalid_argument(std::string("the ") + std::string(which) + " key does not match its certificate");
  return Status::ok();
}

std::string digest(const std::string& salt, std::string_view secret) { return sha256_hex(salt + std::string(secret)); }

Result<VirtualCard::Slot> new_slot(CardSecret which, const std::string& certificate_pem, const std::string& key_pem,
                                   std::string_view secret) {
  JLIS_RETURN_IF_ERROR(check_secret_form(which, secret));
  JLIS_RETURN_IF_ERROR(check_pair(certificate_pem, key_pem,
                                  which == CardSecret::authentication_pin ? "authentication" : "signature"));
  VirtualCard::Slot s;
  s.certificate_pem = certificate_pem;
  s.private_key_pem = key_pem;
  JLIS_ASSIGN_OR_RETURN(s.salt, random_hex(16));
  s.secret_sha256 = digest(s.salt, secret);
  s.tries_left = which == CardSecret::authentication_pin ? kPinTries : kPasswordTries;
  return s;
}

json slot_json(const VirtualCard::Slot& s) {
  return {{"certificate", s.certificate_pem}, {"private_key", s.private_key_pem}, {"salt", s.salt},
          {"secret_sha256", s.secret_sha256}, {"tries_left", s.tries_left}};
}

Result<VirtualCard::Slot> slot_from_json(const json& j, int max_tries) {
  auto text = [&](const char* k) -> Result<std::string> {
    if (!j.contains(k) || !j[k].is_string()) return invalid_argument(std::string("the card file lacks ") + k);
    return j[k].get<std::string>();
  };
  VirtualCard::Slot s;
  JLIS_ASSIGN_OR_RETURN(s.certificate_pem, text("certificate"));
  JLIS_ASSIGN_OR_RETURN(s.private_key_pem, text("private_key"));
  JLIS_ASSIGN_OR_RETURN(s.salt, text("salt"));
  JLIS_ASSIGN_OR_RETURN(s.secret_sha256, text("secret_sha256"));
  if (!j.contains("tries_left") || !j["tries_left"].is_number_integer())
    return invalid_argument("the card file lacks tries_left");
  s.tries_left = j["tries_left"].get<int>();
  if (s.tries_left < 0 || s.tries_left > max_tries) return invalid_argument("the card file's tries_left is out of range");
  return s;
}

}  // namespace

Status check_secret_form(CardSecret which, std::string_view secret) {
  if (which == CardSecret::authentication_pin) {
    if (secret.size() != 4 || secret.find_first_not_of("0123456789") != std::string_view::npos)
      return invalid_argument("the user-authentication PIN is 4 digits");
    return Status::ok();
  }
  if (secret.size() < 6 || secret.size() > 16 ||
      secret.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string_view::npos)
    return invalid_argument("the signature password is 6 to 16 upper-case letters (A-Z) and digits");
  return Status::ok();
}

Result<VirtualCard> VirtualCard::make(const std::string& card_id, const std::string& authentication_certificate_pem,
                                      const std::string& authentication_key_pem, std::string_view pin,
                                      const std::optional<std::string>& signature_certificate_pem,
                                      const std::optional<std::string>& signature_key_pem, std::string_view password) {
  VirtualCard card;
  card.card_id_ = card_id;
  JLIS_ASSIGN_OR_RETURN(card.authentication_, new_slot(CardSecret::authentication_pin, authentication_certificate_pem,
                                                       authentication_key_pem, pin));
  if (signature_certificate_pem.has_value() != signature_key_pem.has_value())
    return invalid_argument("the signature key needs both its certificate and its private key");
  if (signature_certificate_pem) {
    JLIS_ASSIGN_OR_RETURN(card.signature_, new_slot(CardSecret::signature_password, *signature_certificate_pem,
                                                    *signature_key_pem, password));
  }
  return card;
}

Result<VirtualCard> VirtualCard::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot read the card file " + path);
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (!j.is_object() || j.value("format", "") != kFormat)
    return invalid_argument(path + " is not a virtual card file (" + std::string(kFormat) + ")");
  VirtualCard card;
  if (!j.contains("card_id") || !j["card_id"].is_string()) return invalid_argument("the card file lacks card_id");
  card.card_id_ = j["card_id"].get<std::string>();
  if (!j.contains("authentication")) return invalid_argument("the card file lacks the authentication key");
  JLIS_ASSIGN_OR_RETURN(card.authentication_, slot_from_json(j["authentication"], kPinTries));
  if (j.contains("signature") && !j["signature"].is_null()) {
    JLIS_ASSIGN_OR_RETURN(card.signature_, slot_from_json(j["signature"], kPasswordTries));
  }
  return card;
}

Status VirtualCard::save(const std::string& path) const {
  json j = {{"format", kFormat},
            {"card_id", card_id_},
            {"authentication", slot_json(authentication_)},
            {"signature", signature_ ? slot_json(*signature_) : json(nullptr)}};
  const std::string text = j.dump(2) + "\n";
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return invalid_argument("cannot write the card file " + tmp);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return internal_error("cannot write the card file " + path);
  }
  return Status::ok();
}

const VirtualCard::Slot* VirtualCard::slot(CardSecret which) const {
  if (which == CardSecret::authentication_pin) return &authentication_;
  return signature_ ? &*signature_ : nullptr;
}

VirtualCard::Slot* VirtualCard::mutable_slot(CardSecret which) { return const_cast<Slot*>(slot(which)); }

bool VirtualCard::locked(CardSecret which) const {
  const Slot* s = slot(which);
  return s && s->tries_left == 0;
}

Status VirtualCard::verify(CardSecret which, std::string_view secret) {
  Slot* s = mutable_slot(which);
  if (!s) return not_found("the card has no signature key (its holder was under 15 when it was issued)");
  const bool pin = which == CardSecret::authentication_pin;
  if (s->tries_left == 0)
    return permission_denied(std::string(pin ? "the user-authentication PIN" : "the signature password") +
                             " is locked: the holder's municipality resets it");
  const std::string given = digest(s->salt, secret);
  if (given.size() == s->secret_sha256.size() &&
      CRYPTO_memcmp(given.data(), s->secret_sha256.data(), given.size()) == 0) {
    s->tries_left = pin ? kPinTries : kPasswordTries;
    return Status::ok();
  }
  --s->tries_left;
  if (s->tries_left == 0)
    return permission_denied(std::string(pin ? "wrong PIN" : "wrong password") +
                             ": it is now locked; the holder's municipality resets it");
  return permission_denied(std::string(pin ? "wrong PIN, " : "wrong password, ") + std::to_string(s->tries_left) +
                           (s->tries_left == 1 ? " try" : " tries") + " left");
}

Result<std::string> VirtualCard::sign(CardSecret which, std::string_view secret, std::string_view data) {
  JLIS_RETURN_IF_ERROR(verify(which, secret));
  JLIS_ASSIGN_OR_RETURN(auto key, pki::private_key_from_pem(slot(which)->private_key_pem));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return pki::openssl_error("EVP_DigestSign");
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return pki::openssl_error("EVP_DigestSign");
  signature.resize(length);
  return signature;
}

Status VirtualCard::reset(CardSecret which, std::string_view new_secret) {
  Slot* s = mutable_slot(which);
  if (!s) return not_found("the card has no signature key");
  JLIS_RETURN_IF_ERROR(check_secret_form(which, new_secret));
  JLIS_ASSIGN_OR_RETURN(s->salt, random_hex(16));
  s->secret_sha256 = digest(s->salt, new_secret);
  s->tries_left = which == CardSecret::authentication_pin ? kPinTries : kPasswordTries;
  return Status::ok();
}

}  // namespace jlis::kiosk
