#include "pki/keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <vector>

#include <libp11.h>

#include "common/digest.h"
#include "pki/passphrase_cipher.h"

namespace jlis::pki {
namespace {

constexpr int kKeyBits = 2048;
constexpr size_t kMinPassphrase = 8;
constexpr off_t kMaxKeyFile = 64 * 1024;

bool valid_label(const std::string& label) {
  if (label.empty() || label.size() > 64) return false;
  for (char c : label)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

Status bad_label() { return invalid_argument("a key label is 1 to 64 characters of a-z, 0-9 and '-'"); }

std::string errno_text(int e) { return std::system_category().message(e); }


// ---------------------------------------------------------------------------------------------
// file

// Closes a descriptor on every path; the write path closes explicitly to see close's result.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Creates `path` and its missing parents with mode 0700.
Status make_private_directory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return invalid_argument("the key directory is not a directory");
    return Status::ok();
  }
  if (errno != ENOENT) return internal_error("checking the key directory: " + errno_text(errno));
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) JLIS_RETURN_IF_ERROR(make_private_directory(path.substr(0, slash)));
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return internal_error("creating the key directory: " + errno_text(errno));
  return Status::ok();
}

Status write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return internal_error("writing a key file: " + errno_text(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

// Writes `data` to `path` (mode 0600) only if `path` does not exist yet, atomically: the bytes go to a
// fresh temporary file (O_EXCL) that is synced and then hard-linked to `path`, so a reader sees
// either no file or the whole file, and link's EEXIST refuses an existing path without a race.
Status write_new_file(const std::string& directory, const std::string& path, const std::string& data,
                      const std::string& label) {
  JLIS_ASSIGN_OR_RETURN(std::string suffix, random_hex(8));
  const std::string temp = directory + "/." + label + ".key.pem.tmp-" + suffix;
  FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return internal_error("creating a key file: " + errno_text(errno));
  Status written = write_all(fd.get(), data);
  if (written.is_ok() && ::fsync(fd.get()) != 0) written = internal_error("syncing a key file: " + errno_text(errno));
  if (fd.close() != 0 && written.is_ok()) written = internal_error("closing a key file: " + errno_text(errno));
  if (written.is_ok() && ::link(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    written = e == EEXIST ? conflict("a key labelled '" + label + "' already exists")
                          : internal_error("storing a key file: " + errno_text(e));
  }
  // The temporary name goes in every case; if unlinking fails after a successful link the key is
  // stored and the leftover (encrypted, 0600) file is harmless.
  ::unlink(temp.c_str());
  JLIS_RETURN_IF_ERROR(written);
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0)
    return internal_error("syncing the key directory: " + errno_text(errno));
  return Status::ok();
}

Result<std::string> read_key_file(const std::string& path, const std::string& label) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return not_found("no key labelled '" + label + "'");
    return internal_error("opening a key file: " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return internal_error("reading a key file: " + errno_text(errno));
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxKeyFile)
    return internal_error("the key file of '" + label + "' is not a key file");
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return internal_error("reading a key file: " + errno_text(errno));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > static_cast<size_t>(kMaxKeyFile))
      return internal_error("the key file of '" + label + "' is not a key file");
  }
  return data;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

class FileKeyStore final : public KeyStore {
 public:
  FileKeyStore(std::string directory, std::string passphrase)
      : directory_(std::move(directory)), cipher_(std::move(passphrase)) {}

  Result<EvpPkeyPtr> generate(const std::string& label) override {
    if (!valid_label(label)) return bad_label();
    const std::string path = path_of(label);
    // Early refusal saves a key generation; write_new_file refuses again without a race.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return conflict("a key labelled '" + label + "' already exists");
    JLIS_RETURN_IF_ERROR(adopt_salt());
    JLIS_ASSIGN_OR_RETURN(EvpPkeyPtr key, generate_rsa(kKeyBits));
    P8InfoPtr info(EVP_PKEY2PKCS8(key.get()));
    if (!info) return openssl_error("encoding a private key");
    JLIS_ASSIGN_OR_RETURN(X509SigPtr sig, cipher_.encrypt(info.get()));
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PKCS8(bio.get(), sig.get()) != 1) return openssl_error("writing an encrypted key");
    const std::string pem = bio_contents(bio.get());
    JLIS_RETURN_IF_ERROR(write_new_file(directory_, path, pem, label));
    std::lock_guard lock(mu_);
    return kept(label, std::move(key));
  }

  Result<EvpPkeyPtr> load(const std::string& label) override {
    if (!valid_label(label)) return bad_label();
    std::lock_guard lock(mu_);
    if (auto at = loaded_.find(label); at != loaded_.end()) return shared(at->second.get());
    JLIS_ASSIGN_OR_RETURN(std::string pem, read_key_file(path_of(label), label));
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return openssl_error("reading a key file");
    // Two steps instead of PEM_read_bio_PrivateKey so that a damaged file (internal) and a wrong
    // passphrase (permission_denied) are told apart.
    X509SigPtr sig(PEM_read_bio_PKCS8(bio.get(), nullptr, nullptr, nullptr));
    if (!sig) return openssl_error("the key file of '" + label + "' is not an encrypted PKCS#8 key");
    auto info = cipher_.decrypt(sig.get());
    if (!info.ok() && info.status().code() == Code::permission_denied)
      return permission_denied("the passphrase does not decrypt the key labelled '" + label + "'");
    if (!info.ok()) return info.status();
    EvpPkeyPtr key(EVP_PKCS82PKEY(info->get()));
    if (!key) return openssl_error("decoding the key labelled '" + label + "'");
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
      return internal_error("the key labelled '" + label + "' is not an RSA key");
    return kept(label, std::move(key));
  }

 private:
  std::string path_of(const std::string& label) const { return directory_ + "/" + label + ".key.pem"; }

  // Before the first key this store writes: reads one of the directory's keys (the first by name),
  // so that the new file shares its salt and a process opening them all derives once, not twice.
  // A passphrase that does not decrypt it is refused (a store's files are under one passphrase);
  // a file that cannot be read otherwise leaves the new key a salt of its own.
  Status adopt_salt() {
    if (cipher_.has_salt()) return Status::ok();
    const std::string suffix = ".key.pem";
    std::set<std::string> labels;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.ends_with(suffix)) continue;
      std::string label = name.substr(0, name.size() - suffix.size());
      if (valid_label(label)) labels.insert(std::move(label));
    }
    if (labels.empty()) return Status::ok();
    auto read = load(*labels.begin());
    return !read.ok() && read.status().code() == Code::permission_denied ? read.status() : Status::ok();
  }

  // Another handle on `key`: a file key signs from many threads at once (keys.h).
  static EvpPkeyPtr shared(EVP_PKEY* key) {
    EVP_PKEY_up_ref(key);
    return EvpPkeyPtr(key);
  }
  // Keeps `key` as `label`'s and answers a handle on it. Under mu_.
  EvpPkeyPtr kept(const std::string& label, EvpPkeyPtr key) {
    EvpPkeyPtr answer = shared(key.get());
    loaded_[label] = std::move(key);
    return answer;
  }

  const std::string directory_;
  PassphraseCipher cipher_;  // derives once per salt, not once per file (passphrase_cipher.h)
  // Each label is decrypted once per store: the components load a key more than once (an LGPKI CA
  // signs certificates and OCSP answers). A label's file is never replaced (generate refuses an
  // existing one).
  std::mutex mu_;
  std::map<std::string, EvpPkeyPtr> loaded_;
};

// ---------------------------------------------------------------------------------------------
// pkcs11

// PKCS#11 return values (PKCS#11 v2.40 §11.1); libp11 reports them as the OpenSSL error reason.
constexpr int kCkrPinIncorrect = 0xA0;
constexpr int kCkrPinInvalid = 0xA1;
constexpr int kCkrPinLenRange = 0xA2;
constexpr int kCkrPinExpired = 0xA3;
constexpr int kCkrPinLocked = 0xA4;

// A PKCS#11 module may be initialised once per process, and C_Finalize (run when a store unloads
// it) ends every session of the process. Two live stores on one module would therefore break each
// other, so a module (by its real path) is held by at most one KeyStore at a time.
class ModulesInUse {
 public:
  static bool acquire(const std::string& path) {
    std::lock_guard lock(mutex());
    return paths().insert(path).second;
  }
  static void release(const std::string& path) {
    std::lock_guard lock(mutex());
    paths().erase(path);
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::set<std::string>& paths() {
    static std::set<std::string> p;
    return p;
  }
};

// Owns a libp11 context: the module, the slot list (which holds the session pool and the login)
// and the module registration; releases them in the order libp11 requires.
class Pkcs11Context {
 public:
  Pkcs11Context() = default;
  Pkcs11Context(const Pkcs11Context&) = delete;
  Pkcs11Context& operator=(const Pkcs11Context&) = delete;
  ~Pkcs11Context() {
    if (slots != nullptr) PKCS11_release_all_slots(ctx, slots, nslots);
    if (loaded) PKCS11_CTX_unload(ctx);
    if (ctx != nullptr) PKCS11_CTX_free(ctx);
    if (!module_path.empty()) ModulesInUse::release(module_path);
  }

  std::string module_path;  // set once the module is registered in ModulesInUse
  PKCS11_CTX* ctx = nullptr;
  bool loaded = false;
  PKCS11_SLOT* slots = nullptr;
  unsigned int nslots = 0;
  PKCS11_SLOT* slot = nullptr;  // the slot of our token, inside `slots`
};

class Pkcs11KeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<KeyStore>> open(const KeyStoreConfig& config) {
    if (config.module.empty()) return invalid_argument("the PKCS#11 module is not configured");
    if (config.token_label.empty()) return invalid_argument("the PKCS#11 token label is not configured");
    if (config.pin.empty()) return invalid_argument("the PKCS#11 PIN is not configured");
    char resolved[PATH_MAX];
    if (::realpath(config.module.c_str(), resolved) == nullptr)
      return invalid_argument("the PKCS#11 module '" + config.module + "' does not exist");

    auto session = std::make_unique<Pkcs11Context>();
    if (!ModulesInUse::acquire(resolved))
      return conflict("the PKCS#11 module '" + config.module + "' is already open in this process");
    session->module_path = resolved;
    session->ctx = PKCS11_CTX_new();
    if (session->ctx == nullptr) return openssl_error("creating a PKCS#11 context");
    if (PKCS11_CTX_load(session->ctx, resolved) != 0)
      return openssl_error("loading the PKCS#11 module '" + config.module + "'");
    session->loaded = true;
    if (PKCS11_enumerate_slots(session->ctx, &session->slots, &session->nslots) != 0)
      return openssl_error("listing the PKCS#11 slots");
    for (unsigned int i = 0; i < session->nslots; ++i) {
      PKCS11_TOKEN* token = session->slots[i].token;
      if (token != nullptr && token->initialized && token->label != nullptr && config.token_label == token->label) {
        session->slot = &session->slots[i];
        break;
      }
    }
    if (session->slot == nullptr) return not_found("no PKCS#11 token labelled '" + config.token_label + "'");
    if (PKCS11_open_session(session->slot, 1) != 0) return openssl_error("opening a PKCS#11 session");
    if (PKCS11_login(session->slot, 0, config.pin.c_str()) != 0) {
      const unsigned long e = ERR_peek_last_error();
      const int reason = ERR_GET_LIB(e) == ERR_get_CKR_code() ? ERR_GET_REASON(e) : 0;
      if (reason == kCkrPinIncorrect || reason == kCkrPinInvalid || reason == kCkrPinLenRange) {
        ERR_clear_error();
        return permission_denied("the PKCS#11 PIN was refused");
      }
      if (reason == kCkrPinLocked || reason == kCkrPinExpired) {
        ERR_clear_error();
        return permission_denied("the PKCS#11 PIN is locked or expired");
      }
      return openssl_error("logging in to the PKCS#11 token");
    }
    return std::unique_ptr<KeyStore>(new Pkcs11KeyStore(std::move(session)));
  }

  Result<EvpPkeyPtr> generate(const std::string& label) override {
    if (!valid_label(label)) return bad_label();
    std::lock_guard lock(mutex_);
    PKCS11_TOKEN* token = session_->slot->token;
    // libp11 enumerates private and public keys separately; a label on either is taken.
    PKCS11_KEY* keys = nullptr;
    unsigned int count = 0;
    if (PKCS11_enumerate_keys(token, &keys, &count) != 0) return openssl_error("listing the PKCS#11 keys");
    std::vector<std::string> ids;
    for (unsigned int i = 0; i < count; ++i) {
      if (keys[i].label != nullptr && label == keys[i].label)
        return conflict("a key labelled '" + label + "' already exists");
      ids.emplace_back(reinterpret_cast<const char*>(keys[i].id), keys[i].id_len);
    }
    if (PKCS11_enumerate_public_keys(token, &keys, &count) != 0) return openssl_error("listing the PKCS#11 keys");
    for (unsigned int i = 0; i < count; ++i) {
      if (keys[i].label != nullptr && label == keys[i].label)
        return conflict("a key labelled '" + label + "' already exists");
      ids.emplace_back(reinterpret_cast<const char*>(keys[i].id), keys[i].id_len);
    }
    // CKA_ID ties the private key to its public key (and, later, to certificates on the token): a
    // fresh random value that no existing key uses.
    unsigned char id[8];
    for (;;) {
      if (RAND_bytes(id, sizeof id) != 1) return openssl_error("drawing a key id");
      const std::string candidate(reinterpret_cast<const char*>(id), sizeof id);
      bool used = false;
      for (const std::string& other : ids) used = used || other == candidate;
      if (!used) break;
    }
    std::vector<char> label_c(label.begin(), label.end());
    label_c.push_back('\0');
    // libp11 0.4.12 marks PKCS11_generate_key deprecated ("will be removed in libp11 0.5.0") but it is
    // the only key-generation call that version has; the warning is silenced for this call only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const int rc = PKCS11_generate_key(token, EVP_PKEY_RSA, kKeyBits, label_c.data(), id, sizeof id);
#pragma GCC diagnostic pop
    if (rc != 0) return openssl_error("generating a key on the PKCS#11 token");
    return load_locked(label);
  }

  Result<EvpPkeyPtr> load(const std::string& label) override {
    if (!valid_label(label)) return bad_label();
    std::lock_guard lock(mutex_);
    return load_locked(label);
  }

 private:
  explicit Pkcs11KeyStore(std::unique_ptr<Pkcs11Context> session) : session_(std::move(session)) {}

  Result<EvpPkeyPtr> load_locked(const std::string& label) {
    PKCS11_KEY* keys = nullptr;
    unsigned int count = 0;
    if (PKCS11_enumerate_keys(session_->slot->token, &keys, &count) != 0)
      return openssl_error("listing the PKCS#11 keys");
    PKCS11_KEY* found = nullptr;
    for (unsigned int i = 0; i < count; ++i) {
      if (keys[i].label == nullptr || label != keys[i].label) continue;
      if (found != nullptr) return internal_error("several keys on the token are labelled '" + label + "'");
      found = &keys[i];
    }
    if (found == nullptr) return not_found("no key labelled '" + label + "'");
    if (PKCS11_get_key_type(found) != EVP_PKEY_RSA)
      return internal_error("the key labelled '" + label + "' is not an RSA key");
    EvpPkeyPtr key(PKCS11_get_private_key(found));
    if (!key) return openssl_error("opening the PKCS#11 key labelled '" + label + "'");
    return key;
  }

  // Serialises the libp11 calls made here (enumerating, generating, wrapping keys), which share the
  // slot's cached key list.
  std::mutex mutex_;
  std::unique_ptr<Pkcs11Context> session_;
};

}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::open(const KeyStoreConfig& config) {
  switch (config.kind) {
    case KeyStoreConfig::Kind::file: {
      if (config.directory.empty()) return invalid_argument("the key directory is not configured");
      if (config.passphrase.size() < kMinPassphrase)
        return invalid_argument("the key passphrase must be at least 8 characters");
      std::string directory = config.directory;
      while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
      JLIS_RETURN_IF_ERROR(make_private_directory(directory));
      return std::unique_ptr<KeyStore>(new FileKeyStore(std::move(directory), config.passphrase));
    }
    case KeyStoreConfig::Kind::pkcs11:
      return Pkcs11KeyStore::open(config);
  }
  return invalid_argument("unknown key store kind");
}

}  // namespace jlis::pki
