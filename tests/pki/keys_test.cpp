#include "pki/keys.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<p11-kit-1/p11-kit/pkcs11.h>)
#include <dlfcn.h>
#include <p11-kit-1/p11-kit/pkcs11.h>
#define JLIS_HAVE_PKCS11_HEADER 1
#endif

#include "softhsm.h"

namespace jlis::pki {
namespace {

namespace fs = std::filesystem;

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/jlis-keys-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The public half of `key`, as a key that holds no private material.
EvpPkeyPtr public_half(EVP_PKEY* key) {
  auto pem = public_key_pem(key);
  if (!pem.ok()) return nullptr;
  auto pub = public_key_from_pem(*pem);
  return pub.ok() ? std::move(pub).value() : nullptr;
}

std::string sha256_rsa_sign(EVP_PKEY* key, const std::string& data) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return {};
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1) return {};
  sig.resize(len);
  return sig;
}

bool sha256_rsa_verify(EVP_PKEY* pub, const std::string& data, const std::string& sig) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pub) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

// A self-signed certificate signed by `key` with X509_sign, as the CA signs.
X509Ptr signed_certificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1)
    return nullptr;
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("JLIS key test"), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) == nullptr || X509_set_pubkey(cert.get(), key) != 1)
    return nullptr;
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return nullptr;
  return cert;
}

// ---------------------------------------------------------------------------------------------
// file

class KeyStoreFile : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir();
    ASSERT_FALSE(root_.empty());
    directory_ = root_ + "/pki/keys";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  KeyStoreConfig config(std::string passphrase = "correct horse battery") const {
    KeyStoreConfig c;
    c.kind = KeyStoreConfig::Kind::file;
    c.directory = directory_;
    c.passphrase = std::move(passphrase);
    return c;
  }
  std::unique_ptr<KeyStore> open_store(std::string passphrase = "correct horse battery") const {
    auto store = KeyStore::open(config(std::move(passphrase)));
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string root_;
  std::string directory_;
};

TEST_F(KeyStoreFile, GenerateThenLoadSignsAndVerifies) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto generated = store->generate("ca-signing-2024");
  ASSERT_TRUE(generated.ok()) << generated.status().to_string();
  EXPECT_EQ(EVP_PKEY_get_base_id(generated->get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(generated->get()), 2048);
  EvpPkeyPtr pub = public_half(generated->get());
  ASSERT_NE(pub, nullptr);

  // A new store (as after a restart) reads the key back and it signs for the same public key.
  store.reset();
  auto reopened = open_store();
  ASSERT_NE(reopened, nullptr);
  auto loaded = reopened->load("ca-signing-2024");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(EVP_PKEY_eq(loaded->get(), pub.get()), 1);
  const std::string data = "住民票コード 0123456789";
  const std::string sig = sha256_rsa_sign(loaded->get(), data);
  ASSERT_FALSE(sig.empty());
  EXPECT_TRUE(sha256_rsa_verify(pub.get(), data, sig));
  EXPECT_FALSE(sha256_rsa_verify(pub.get(), data + "x", sig));

  X509Ptr cert = signed_certificate(loaded->get());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_verify(cert.get(), pub.get()), 1);
}

TEST_F(KeyStoreFile, KeyFileIsScryptEncryptedPkcs8Mode0600) {
  const std::string passphrase = "a-passphrase-to-look-for";
  auto store = open_store(passphrase);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(file_mode(directory_), 0700u);
  ASSERT_TRUE(store->generate("ocsp-2024").ok());

  const std::string path = directory_ + "/ocsp-2024.key.pem";
  EXPECT_EQ(file_mode(path), 0600u);
  const std::string pem = read_file(path);
  EXPECT_EQ(pem.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 0), 0u) << pem.substr(0, 60);
  EXPECT_EQ(pem.find(passphrase), std::string::npos);
  EXPECT_EQ(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(pem.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  // Nothing else is left in the directory (no temporary file).
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory_)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"ocsp-2024.key.pem"});

  // The header promises PBES2 with scrypt and AES-256-CBC: check the algorithm identifiers.
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ASSERT_NE(bio, nullptr);
  using X509SigPtr = std::unique_ptr<X509_SIG, OpensslDeleter<X509_SIG_free>>;
  X509SigPtr sig(PEM_read_bio_PKCS8(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(sig, nullptr);
  const X509_ALGOR* alg = nullptr;
  X509_SIG_get0(sig.get(), &alg, nullptr);
  const ASN1_OBJECT* oid = nullptr;
  const void* param = nullptr;
  int param_type = 0;
  X509_ALGOR_get0(&oid, &param_type, &param, alg);
  ASSERT_EQ(OBJ_obj2nid(oid), NID_pbes2);
  ASSERT_EQ(param_type, V_ASN1_SEQUENCE);
  std::unique_ptr<PBE2PARAM, OpensslDeleter<PBE2PARAM_free>> pbe2(static_cast<PBE2PARAM*>(
      ASN1_item_unpack(static_cast<const ASN1_STRING*>(param), ASN1_ITEM_rptr(PBE2PARAM))));
  ASSERT_NE(pbe2, nullptr);
  EXPECT_EQ(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_scrypt);
  EXPECT_EQ(OBJ_obj2nid(pbe2->encryption->algorithm), NID_aes_256_cbc);
}

TEST_F(KeyStoreFile, OpenSslCommandLineDecryptsTheFile) {
  // Interoperability: an operator can inspect or back up the key with the stock openssl tool.
  auto store = open_store("operator-passphrase");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->generate("interop").ok());
  ASSERT_EQ(::setenv("JLIS_TEST_KEY_PASS", "operator-passphrase", 1), 0);
  const std::string cmd = "openssl pkey -noout -passin env:JLIS_TEST_KEY_PASS -in '" + directory_ +
                          "/interop.key.pem' >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  ::unsetenv("JLIS_TEST_KEY_PASS");
}

TEST_F(KeyStoreFile, WrongPassphraseIsPermissionDenied) {
  {
    auto store = open_store("the right passphrase");
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->generate("root").ok());
  }
  auto wrong = open_store("the wrong passphrase");
  ASSERT_NE(wrong, nullptr);
  auto key = wrong->load("root");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::permission_denied) << key.status().to_string();
  EXPECT_EQ(key.status().message().find("the wrong passphrase"), std::string::npos);
  EXPECT_EQ(key.status().message().find("the right passphrase"), std::string::npos);
}

TEST_F(KeyStoreFile, MissingLabelIsNotFound) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto key = store->load("no-such-key");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::not_found) << key.status().to_string();
}

// A file store decrypts a label once (scrypt: ~45 ms of CPU each time): loading it again, or a key
// it generated, answers the same key without reading the file; another store reads the file.
TEST_F(KeyStoreFile, AStoreDecryptsALabelOnceAndAnswersTheSameKeyAfter) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto generated = store->generate("made-here");
  ASSERT_TRUE(generated.ok()) << generated.status().to_string();
  {
    auto other = open_store();
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(other->generate("made-elsewhere").ok());
  }
  auto first = store->load("made-elsewhere");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  // The files go: the store still answers both keys, the very keys it answered before.
  fs::remove(directory_ + "/made-here.key.pem");
  fs::remove(directory_ + "/made-elsewhere.key.pem");
  auto again = store->load("made-elsewhere");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->get(), first->get());
  auto made = store->load("made-here");
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  EXPECT_EQ(made->get(), generated->get());
  auto fresh = open_store();
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->load("made-elsewhere").status().code(), Code::not_found);
  // A handle outlives its store and still signs.
  store.reset();
  EXPECT_FALSE(sha256_rsa_sign(again->get(), "data").empty());
}

TEST_F(KeyStoreFile, DamagedFileIsInternalNotPermissionDenied) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  std::ofstream(directory_ + "/broken.key.pem") << "-----BEGIN ENCRYPTED PRIVATE KEY-----\nnot base64\n";
  auto key = store->load("broken");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::internal) << key.status().to_string();
}

TEST_F(KeyStoreFile, DuplicateLabelIsConflict) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto first = store->generate("twice");
  ASSERT_TRUE(first.ok());
  EvpPkeyPtr first_pub = public_half(first->get());
  auto second = store->generate("twice");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::conflict) << second.status().to_string();
  // The first key is untouched.
  auto loaded = store->load("twice");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(EVP_PKEY_eq(loaded->get(), first_pub.get()), 1);
}

TEST_F(KeyStoreFile, ShortPassphraseIsInvalidArgument) {
  auto store = KeyStore::open(config("1234567"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::invalid_argument);
  EXPECT_EQ(store.status().message().find("1234567"), std::string::npos);
  EXPECT_TRUE(KeyStore::open(config("12345678")).ok());

  KeyStoreConfig no_directory = config();
  no_directory.directory.clear();
  EXPECT_EQ(KeyStore::open(no_directory).status().code(), Code::invalid_argument);
}

TEST_F(KeyStoreFile, BadLabelIsInvalidArgument) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  for (const std::string& label :
       std::vector<std::string>{"", "Upper", "a/b", "../escape", "a.b", "a b", std::string(65, 'a')}) {
    EXPECT_EQ(store->generate(label).status().code(), Code::invalid_argument) << label;
    EXPECT_EQ(store->load(label).status().code(), Code::invalid_argument) << label;
  }
  EXPECT_TRUE(store->generate(std::string(64, 'a')).ok());
  EXPECT_FALSE(fs::exists(root_ + "/pki/escape.key.pem"));
}

// ---------------------------------------------------------------------------------------------
// pkcs11 (a real SoftHSM2 token)

constexpr const char* kToken = "jlis-test";
constexpr const char* kPin = "654321";
constexpr const char* kSoPin = "123456";

using testing::find_softhsm_module;

class KeyStorePkcs11 : public ::testing::Test {
 protected:
  // One token for the whole suite (each test uses its own labels): initialising a token takes a
  // moment, and SoftHSM reads SOFTHSM2_CONF when the module is initialised.
  static void SetUpTestSuite() {
    module_ = find_softhsm_module();
    root_ = make_temp_dir();
    if (module_.empty() || root_.empty()) return;
    token_ready_ = testing::init_softhsm_token(root_, kToken, kSoPin, kPin);
  }
  static void TearDownTestSuite() {
    ::unsetenv("SOFTHSM2_CONF");
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  void SetUp() override {
    ASSERT_FALSE(module_.empty()) << "softhsm2 is not installed (the Makefile installs it: make deps)";
    ASSERT_FALSE(root_.empty());
    ASSERT_TRUE(token_ready_) << "softhsm2-util --init-token failed";
  }

  static KeyStoreConfig config(std::string pin = kPin, std::string token = kToken) {
    KeyStoreConfig c;
    c.kind = KeyStoreConfig::Kind::pkcs11;
    c.module = module_;
    c.token_label = std::move(token);
    c.pin = std::move(pin);
    return c;
  }
  static std::unique_ptr<KeyStore> open_store() {
    auto store = KeyStore::open(config());
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static inline std::string module_;
  static inline std::string root_;
  static inline bool token_ready_ = false;
};

TEST_F(KeyStorePkcs11, GeneratedKeySignsCertificatesAndData) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto key = store->generate("hsm-ca");
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  EXPECT_EQ(EVP_PKEY_get_base_id(key->get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), 2048);
  EvpPkeyPtr pub = public_half(key->get());
  ASSERT_NE(pub, nullptr);

  X509Ptr cert = signed_certificate(key->get());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_verify(cert.get(), pub.get()), 1);

  const std::string data = "OCSP response to be signed";
  const std::string sig = sha256_rsa_sign(key->get(), data);
  ASSERT_EQ(sig.size(), 256u);
  EXPECT_TRUE(sha256_rsa_verify(pub.get(), data, sig));
  EXPECT_FALSE(sha256_rsa_verify(pub.get(), "something else", sig));
}

TEST_F(KeyStorePkcs11, ReopenedStoreLoadsTheSameKey) {
  EvpPkeyPtr pub;
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    auto key = store->generate("hsm-reopen");
    ASSERT_TRUE(key.ok()) << key.status().to_string();
    pub = public_half(key->get());
    ASSERT_NE(pub, nullptr);
  }  // the key handle goes before its store, as the header requires
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto key = store->load("hsm-reopen");
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  EXPECT_EQ(EVP_PKEY_eq(key->get(), pub.get()), 1);
  const std::string sig = sha256_rsa_sign(key->get(), "after a restart");
  EXPECT_TRUE(sha256_rsa_verify(pub.get(), "after a restart", sig));
}

TEST_F(KeyStorePkcs11, DuplicateLabelIsConflictAndMissingIsNotFound) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto first = store->generate("hsm-twice");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  auto second = store->generate("hsm-twice");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::conflict) << second.status().to_string();
  // Loading still finds exactly one key under the label.
  auto loaded = store->load("hsm-twice");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(EVP_PKEY_eq(loaded->get(), first->get()), 1);

  EXPECT_EQ(store->load("hsm-never-made").status().code(), Code::not_found);
  EXPECT_EQ(store->load("Bad/Label").status().code(), Code::invalid_argument);
  EXPECT_EQ(store->generate("").status().code(), Code::invalid_argument);
}

TEST_F(KeyStorePkcs11, WrongPinIsPermissionDenied) {
  auto store = KeyStore::open(config("000000"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::permission_denied) << store.status().to_string();
  EXPECT_EQ(store.status().message(), "the PKCS#11 PIN was refused");
  // The module was released: the right PIN works afterwards in the same process.
  EXPECT_NE(open_store(), nullptr);
}

TEST_F(KeyStorePkcs11, UnknownTokenIsNotFound) {
  auto store = KeyStore::open(config(kPin, "no-such-token"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::not_found) << store.status().to_string();
}

TEST_F(KeyStorePkcs11, BadConfigurationIsInvalidArgument) {
  KeyStoreConfig c = config();
  c.module = root_ + "/no-such-module.so";
  EXPECT_EQ(KeyStore::open(c).status().code(), Code::invalid_argument);
  c = config();
  c.pin.clear();
  EXPECT_EQ(KeyStore::open(c).status().code(), Code::invalid_argument);
  c = config();
  c.token_label.clear();
  EXPECT_EQ(KeyStore::open(c).status().code(), Code::invalid_argument);
}

TEST_F(KeyStorePkcs11, SecondStoreOnTheSameModuleIsRefused) {
  auto first = open_store();
  ASSERT_NE(first, nullptr);
  auto second = KeyStore::open(config());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::conflict) << second.status().to_string();
}

TEST_F(KeyStorePkcs11, ConcurrentSigningWithOneHandlePerThread) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto key = store->generate("hsm-threads");
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  EvpPkeyPtr pub = public_half(key->get());
  ASSERT_NE(pub, nullptr);

  constexpr int kThreads = 4;
  constexpr int kSignatures = 8;
  std::vector<int> good(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto mine = store->load("hsm-threads");
      if (!mine.ok()) return;
      for (int i = 0; i < kSignatures; ++i) {
        const std::string data = "thread " + std::to_string(t) + " message " + std::to_string(i);
        if (sha256_rsa_verify(pub.get(), data, sha256_rsa_sign(mine->get(), data))) ++good[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(good[t], kSignatures) << "thread " << t;
}

TEST_F(KeyStorePkcs11, PrivateKeyNeverLeavesTheToken) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    auto key = store->generate("hsm-sealed");
    ASSERT_TRUE(key.ok()) << key.status().to_string();
    // The handle carries only the public numbers: OpenSSL cannot serialise a private key from it.
    unsigned char* der = nullptr;
    const int n = i2d_PrivateKey(key->get(), &der);
    OPENSSL_free(der);
    EXPECT_LE(n, 0);
    ERR_clear_error();
  }
#ifdef JLIS_HAVE_PKCS11_HEADER
  // Ask the token itself, through the raw PKCS#11 interface, what libp11 set on the private key.
  void* lib = ::dlopen(module_.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << ::dlerror();
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib, "C_GetFunctionList"));
  ASSERT_NE(get_list, nullptr);
  CK_FUNCTION_LIST_PTR p11 = nullptr;
  ASSERT_EQ(get_list(&p11), CKR_OK);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  ASSERT_EQ(p11->C_Initialize(&args), CKR_OK);
  CK_ULONG nslots = 0;
  ASSERT_EQ(p11->C_GetSlotList(CK_TRUE, nullptr, &nslots), CKR_OK);
  std::vector<CK_SLOT_ID> slots(nslots);
  ASSERT_EQ(p11->C_GetSlotList(CK_TRUE, slots.data(), &nslots), CKR_OK);
  CK_SLOT_ID slot = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < nslots && !found; ++i) {
    CK_TOKEN_INFO info{};
    ASSERT_EQ(p11->C_GetTokenInfo(slots[i], &info), CKR_OK);
    std::string label(reinterpret_cast<const char*>(info.label), sizeof info.label);
    label.erase(label.find_last_not_of(' ') + 1);
    if (label == kToken) {
      slot = slots[i];
      found = true;
    }
  }
  ASSERT_TRUE(found);
  CK_SESSION_HANDLE session = 0;
  ASSERT_EQ(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session), CKR_OK);
  ASSERT_EQ(p11->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(kPin)), 6), CKR_OK);
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  char label[] = "hsm-sealed";
  CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, label, sizeof label - 1}};
  ASSERT_EQ(p11->C_FindObjectsInit(session, find, 2), CKR_OK);
  CK_OBJECT_HANDLE object = 0;
  CK_ULONG count = 0;
  ASSERT_EQ(p11->C_FindObjects(session, &object, 1, &count), CKR_OK);
  ASSERT_EQ(p11->C_FindObjectsFinal(session), CKR_OK);
  ASSERT_EQ(count, 1u);

  CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, always_sensitive = CK_FALSE, never_extractable = CK_FALSE,
           local = CK_FALSE, token = CK_FALSE, is_private = CK_FALSE, sign = CK_FALSE;
  unsigned char id[32] = {};
  CK_ATTRIBUTE attributes[] = {{CKA_SENSITIVE, &sensitive, sizeof sensitive},
                               {CKA_EXTRACTABLE, &extractable, sizeof extractable},
                               {CKA_ALWAYS_SENSITIVE, &always_sensitive, sizeof always_sensitive},
                               {CKA_NEVER_EXTRACTABLE, &never_extractable, sizeof never_extractable},
                               {CKA_LOCAL, &local, sizeof local},
                               {CKA_TOKEN, &token, sizeof token},
                               {CKA_PRIVATE, &is_private, sizeof is_private},
                               {CKA_SIGN, &sign, sizeof sign},
                               {CKA_ID, id, sizeof id}};
  ASSERT_EQ(p11->C_GetAttributeValue(session, object, attributes, std::size(attributes)), CKR_OK);
  EXPECT_EQ(sensitive, CK_TRUE);          // set by libp11's template
  EXPECT_EQ(always_sensitive, CK_TRUE);   // sensitive since it was made
  EXPECT_EQ(local, CK_TRUE);              // generated on the token, never imported
  EXPECT_EQ(token, CK_TRUE);              // persistent
  EXPECT_EQ(is_private, CK_TRUE);         // visible only after login
  EXPECT_EQ(sign, CK_TRUE);
  EXPECT_EQ(extractable, CK_FALSE);       // SoftHSM's default; libp11 0.4.12 does not set it
  EXPECT_EQ(never_extractable, CK_TRUE);
  EXPECT_EQ(attributes[8].ulValueLen, 8u);  // our random CKA_ID
  CK_ATTRIBUTE secret = {CKA_PRIVATE_EXPONENT, nullptr, 0};
  EXPECT_EQ(p11->C_GetAttributeValue(session, object, &secret, 1), static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE));

  EXPECT_EQ(p11->C_Logout(session), CKR_OK);
  EXPECT_EQ(p11->C_CloseSession(session), CKR_OK);
  EXPECT_EQ(p11->C_Finalize(nullptr), CKR_OK);
  ::dlclose(lib);
#else
  GTEST_SKIP() << "the token's attributes are checked only where <p11-kit-1/p11-kit/pkcs11.h> is installed";
#endif
}

}  // namespace
}  // namespace jlis::pki
