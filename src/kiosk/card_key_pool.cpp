#include "kiosk/card_key_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "pki/openssl.h"
#include "store/data_dir.h"

namespace jlis::kiosk {
namespace {

namespace fs = std::filesystem;

fs::path pool_path(const std::string& data_dir) { return fs::path(data_dir) / "keys" / "card-key-pool.pem"; }

// The PEM private keys of `text`, in order.
Result<std::vector<std::string>> split_keys(const std::string& text) {
  std::vector<std::string> keys;
  static constexpr std::string_view kEnd = "-----END PRIVATE KEY-----\n";
  size_t at = 0;
  while (true) {
    const size_t begin = text.find("-----BEGIN PRIVATE KEY-----", at);
    if (begin == std::string::npos) break;
    const size_t end = text.find(kEnd, begin);
    if (end == std::string::npos) return invalid_argument("the card key pool ends inside a key");
    keys.push_back(text.substr(begin, end + kEnd.size() - begin));
    at = end + kEnd.size();
  }
  if (keys.size() % 2 != 0) return invalid_argument("the card key pool holds an odd number of keys");
  return keys;
}

Result<std::string> public_of(const std::string& pem) {
  JLIS_ASSIGN_OR_RETURN(auto key, pki::private_key_from_pem(pem));
  return pki::public_key_pem(key.get());
}

}  // namespace

Status CardKeyPool::add_public(size_t pair) {
  for (size_t i = public_pems_.size(); i < 2 * (pair + 1); ++i) {
    JLIS_ASSIGN_OR_RETURN(std::string pub, public_of(private_pems_[i]));
    public_pems_.push_back(std::move(pub));
  }
  public_.push_back({public_pems_[2 * pair], public_pems_[2 * pair + 1]});
  return Status::ok();
}

Result<CardKeyPool> CardKeyPool::load(const std::string& data_dir) {
  std::ifstream in(pool_path(data_dir), std::ios::binary);
  if (!in) return not_found("the data directory has no card key pool (jlis population generate --key-pool N)");
  std::stringstream text;
  text << in.rdbuf();
  CardKeyPool pool;
  JLIS_ASSIGN_OR_RETURN(pool.private_pems_, split_keys(text.str()));
  for (size_t p = 0; p < pool.pairs(); ++p) JLIS_RETURN_IF_ERROR(pool.add_public(p));
  return pool;
}

Result<CardKeyPool> CardKeyPool::ensure(const std::string& data_dir, size_t pairs) {
  if (!store::is_simulation(data_dir))
    return invalid_argument("a card key pool shares key pairs between cards: only in a simulation's data directory "
                            "(jlis init --simulation)");
  CardKeyPool pool;
  auto loaded = load(data_dir);
  if (loaded.ok()) pool = std::move(*loaded);
  else if (loaded.status().code() != Code::not_found) return loaded.status();
  if (pool.pairs() >= pairs) return pool;
  std::string added;
  for (size_t p = pool.pairs(); p < pairs; ++p) {
    for (int k = 0; k < 2; ++k) {
      JLIS_ASSIGN_OR_RETURN(auto key, pki::generate_rsa(2048));
      JLIS_ASSIGN_OR_RETURN(std::string pem, pki::private_key_pem(key.get()));
      added += pem;
      pool.private_pems_.push_back(std::move(pem));
    }
    JLIS_RETURN_IF_ERROR(pool.add_public(p));
  }
  const fs::path path = pool_path(data_dir);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return internal_error("cannot write " + path.string());
  bool ok = ::write(fd, added.data(), added.size()) == static_cast<ssize_t>(added.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return internal_error("cannot write " + path.string());
  return pool;
}

Result<std::string> CardKeyPool::private_key_for(const std::string& certificate_pem) const {
  JLIS_ASSIGN_OR_RETURN(auto cert, pki::x509_from_pem(certificate_pem));
  pki::EvpPkeyPtr key(X509_get_pubkey(cert.get()));
  if (!key) return invalid_argument("the certificate has no public key");
  JLIS_ASSIGN_OR_RETURN(std::string pub, pki::public_key_pem(key.get()));
  for (size_t i = 0; i < public_pems_.size(); ++i)
    if (public_pems_[i] == pub) return private_pems_[i];
  return not_found("the card's key is not in the data directory's card key pool");
}

}  // namespace jlis::kiosk
