// CA generations (ca.h new_generation, issue 15 §3): a renewed CA keeps its name and changes its
// key; link certificates join the generations both ways; new certificates come from the new
// generation while the old one's stay valid, answer OCSP with their own responder and appear in
// their own generation's CRLs. Checked with OpenSSL (`openssl verify`, `openssl ocsp` over real
// HTTP), GnuTLS (`certtool --verify`) and python3-cryptography (issuer chosen by key identifier).
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <map>

#include "../http/client.h"
#include "tools_fixture.h"

namespace jlis::pki::testing {
namespace {

namespace fs = std::filesystem;

std::string generation_key_id(const ASN1_OCTET_STRING* id) {
  return id == nullptr ? "" : std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(id)),
                                          static_cast<size_t>(ASN1_STRING_length(id)));
}
std::string generation_aki(X509* cert) { return generation_key_id(X509_get0_authority_key_id(cert)); }
std::string generation_ski(X509* cert) { return generation_key_id(X509_get0_subject_key_id(cert)); }

std::string generation_crl_aki(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl) return "unparsable";
  using AkidPtr = std::unique_ptr<AUTHORITY_KEYID, OpensslDeleter<AUTHORITY_KEYID_free>>;
  AkidPtr akid(static_cast<AUTHORITY_KEYID*>(X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, nullptr, nullptr)));
  return akid ? generation_key_id(akid->keyid) : "";
}

// python3-cryptography, independent of OpenSSL's X.509 code: argv[1] the certificate, argv[2:] the
// candidate issuers. "name": the first candidate whose subject is the certificate's issuer name
// (what a client choosing by name alone does); "keyid": the candidate whose subjectKeyIdentifier
// is the certificate's authorityKeyIdentifier. Then verify_directly_issued_by (name and
// signature). Exit 0 verified, 1 signature refused, 2 no candidate.
constexpr const char* kChooseIssuer = R"py(
import sys
from cryptography import x509
mode = sys.argv[1]
cert = x509.load_pem_x509_certificate(open(sys.argv[2], 'rb').read())
cands = [x509.load_pem_x509_certificate(open(f, 'rb').read()) for f in sys.argv[3:]]
aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
def ski(c):
    return c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
if mode == 'name':
    chosen = [c for c in cands if c.subject == cert.issuer]
else:
    chosen = [c for c in cands if ski(c) == aki]
if not chosen:
    print('no candidate')
    sys.exit(2)
try:
    cert.verify_directly_issued_by(chosen[0])
except Exception as e:
    print('refused', type(e).__name__)
    sys.exit(1)
print('verified')
)py";

class CaGenerationTest : public CaToolsTest {
 protected:
  void SetUp() override {
    CaToolsTest::SetUp();
    write_file((tmp_ / "choose.py").string(), kChooseIssuer);
  }
  void save(const std::string& name, const std::string& data) { write_file((tmp_ / name).string(), data); }
  // Every published certificate as DIR/<kind>.pem; answers them by kind.
  std::map<std::string, X509Ptr> save_published() {
    std::map<std::string, X509Ptr> out;
    for (const auto& p : ca_->published()) {
      save(p.kind + ".pem", p.pem);
      out[p.kind] = x509_from_pem(p.pem).value();
    }
    return out;
  }
  std::string cmd(const std::string& line, int* rc) { return run("cd " + tmp_.string() + " && " + line + " 2>&1", rc); }

  const Keys old_keys_, new_keys_;
};

TEST_F(CaGenerationTest, BothGenerationsVerifyThroughTheLinksAnswerOcspAndPublishTheirOwnCrls) {
  const auto old_holder = resident_in("132217", "g-old", "東京都清瀬市中里一丁目1番1号");
  card_with_certificates(old_holder, old_keys_);
  const CertificateRecord old_sig = cert_of(old_holder, CertificateKind::signature);

  auto g = ca_->new_generation(CertificateKind::signature);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(g->generation, 2);
  EXPECT_TRUE(g->current);

  const auto new_holder = resident_in(card::testing::kChiyoda, "g-new", "東京都千代田区丸の内一丁目1番1号");
  card_with_certificates(new_holder, new_keys_);
  const CertificateRecord new_sig = cert_of(new_holder, CertificateKind::signature);

  auto certs = save_published();
  for (const char* k : {"signature-ca", "signature-ocsp", "signature-ca-2", "signature-ocsp-2", "signature-link-1-2",
                        "signature-link-2-1", "authentication-ca", "authentication-ocsp"})
    ASSERT_TRUE(certs.count(k)) << k;
  EXPECT_FALSE(certs.count("authentication-ca-2"));  // only the signature CA was renewed
  for (const char* f : {"signature-ca.pem", "signature-ca-1.pem", "signature-ca-2.pem", "signature-ocsp-2.pem",
                        "signature-link-1-2.pem", "signature-link-2-1.pem"})
    EXPECT_TRUE(fs::exists(dir_ / "pki" / f)) << f;
  X509* ca1 = certs["signature-ca"].get();
  X509* ca2 = certs["signature-ca-2"].get();
  X509* link12 = certs["signature-link-1-2"].get();
  X509* link21 = certs["signature-link-2-1"].get();
  // The same name; told apart only by the key identifiers.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(ca1), X509_get_subject_name(ca2)), 0);
  EXPECT_NE(generation_ski(ca1), generation_ski(ca2));
  EXPECT_EQ(X509_verify(ca2, X509_get0_pubkey(ca2)), 1);  // self-signed
  // Old key signs the new public key, and the new key the old one.
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(link12), X509_get_issuer_name(link12)), 0);
  EXPECT_EQ(generation_aki(link12), generation_ski(ca1));
  EXPECT_EQ(generation_ski(link12), generation_ski(ca2));
  EXPECT_EQ(X509_verify(link12, X509_get0_pubkey(ca1)), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(link12), X509_get0_pubkey(ca2)), 1);
  EXPECT_EQ(generation_aki(link21), generation_ski(ca2));
  EXPECT_EQ(generation_ski(link21), generation_ski(ca1));
  EXPECT_EQ(X509_verify(link21, X509_get0_pubkey(ca2)), 1);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(link21), X509_get0_pubkey(ca1)), 1);
  // New certificates come from the new generation and name its CRLs; the old keep theirs.
  auto old_x = x509_from_der(old_sig.der).value();
  auto new_x = x509_from_der(new_sig.der).value();
  EXPECT_EQ(generation_aki(old_x.get()), generation_ski(ca1));
  EXPECT_EQ(generation_aki(new_x.get()), generation_ski(ca2));
  EXPECT_EQ(X509_verify(new_x.get(), X509_get0_pubkey(ca2)), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE serial = '" + new_sig.serial + "' AND generation = 2"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_certificates WHERE serial = '" + old_sig.serial + "' AND generation = 1"), 1);
  save_cert(old_sig, "old");
  save_cert(new_sig, "new");
  int rc = -1;
  std::string out = cmd("openssl x509 -noout -text -in new.pem", &rc);
  EXPECT_NE(out.find("URI:" + ca_->public_url() + "/crl/signature-g2/131016.crl"), std::string::npos) << out;
  out = cmd("openssl x509 -noout -text -in old.pem", &rc);
  EXPECT_NE(out.find("URI:" + ca_->public_url() + "/crl/signature/132217.crl"), std::string::npos) << out;

  // OpenSSL: only the NEW root trusted, the new-with-old link untrusted: the OLD certificate
  // verifies; and only the old root with the old-with-new link: the new one verifies.
  out = cmd("openssl verify -CAfile signature-ca-2.pem -untrusted signature-link-2-1.pem old.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("old.pem: OK"), std::string::npos) << out;
  out = cmd("openssl verify -CAfile signature-ca.pem -untrusted signature-link-1-2.pem new.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("new.pem: OK"), std::string::npos) << out;
  // Each root alone verifies its own generation, and not the other's although the name matches:
  // OpenSSL picks issuers by key identifier and finds none.
  out = cmd("openssl verify -CAfile signature-ca-2.pem new.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd("openssl verify -CAfile signature-ca-2.pem old.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("unable to get local issuer certificate"), std::string::npos) << out;
  out = cmd("openssl verify -CAfile signature-ca.pem new.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("unable to get local issuer certificate"), std::string::npos) << out;

  // Choosing the issuer by name alone fails (the first CA of that name is the other
  // generation's: a bad signature), choosing by key identifier succeeds (python3-cryptography).
  out = cmd("python3 choose.py name old.pem signature-ca-2.pem signature-ca.pem", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("refused InvalidSignature"), std::string::npos) << out;
  out = cmd("python3 choose.py keyid old.pem signature-ca-2.pem signature-ca.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd("python3 choose.py name new.pem signature-ca.pem signature-ca-2.pem", &rc);
  EXPECT_EQ(rc, 1) << out;
  out = cmd("python3 choose.py keyid new.pem signature-ca.pem signature-ca-2.pem", &rc);
  EXPECT_EQ(rc, 0) << out;

  // GnuTLS: the old certificate with the link as its chain verifies under the new root alone.
  out = cmd("cat old.pem signature-link-2-1.pem > old-chain.pem && cat new.pem signature-link-1-2.pem > new-chain.pem",
            &rc);
  out = cmd("certtool --verify --load-ca-certificate signature-ca-2.pem --infile old-chain.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Chain verification output: Verified."), std::string::npos) << out;
  out = cmd("certtool --verify --load-ca-certificate signature-ca.pem --infile new-chain.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Chain verification output: Verified."), std::string::npos) << out;
  out = cmd("certtool --verify --load-ca-certificate signature-ca-2.pem --infile old.pem", &rc);
  EXPECT_NE(out.find("Chain verification output: Not verified."), std::string::npos) << out;

  // OCSP over HTTP: each generation answers for its own certificates, signed by its responder.
  serve();
  const std::string ocsp = " -url " + url() + "/ocsp -no_nonce";
  out = cmd("openssl ocsp -issuer signature-ca.pem -cert old.pem -CAfile signature-ca.pem" + ocsp, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
  EXPECT_NE(out.find("old.pem: good"), std::string::npos) << out;
  out = cmd("openssl ocsp -issuer signature-ca-2.pem -cert new.pem -CAfile signature-ca-2.pem" + ocsp, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Response verify OK"), std::string::npos) << out;
  EXPECT_NE(out.find("new.pem: good"), std::string::npos) << out;
  // The wrong generation named as the issuer (its key hash): not this generation's certificate.
  out = cmd("openssl ocsp -issuer signature-ca-2.pem -cert old.pem -CAfile signature-ca-2.pem" + ocsp, &rc);
  EXPECT_EQ(out.find("old.pem: good"), std::string::npos) << out;
  EXPECT_NE(out.find("unauthorized"), std::string::npos) << out;

  // A revocation of an old-generation certificate: OCSP of the old generation, its CRLs only.
  ASSERT_TRUE(ca_->revoke(municipality("132217"), old_sig.serial, RevocationReason::key_compromise).ok());
  ASSERT_TRUE(ca_->tick().is_ok());
  out = cmd("openssl ocsp -issuer signature-ca.pem -cert old.pem -CAfile signature-ca.pem" + ocsp, &rc);
  EXPECT_NE(out.find("old.pem: revoked"), std::string::npos) << out;
  ASSERT_TRUE(ca_->generate_crls().ok());
  http::testing::Client client(server_->port());
  auto full1 = client.get("/crl/signature.crl");
  auto full2 = client.get("/crl/signature-g2.crl");
  auto delta2 = client.get("/crl/signature-g2-delta.crl");
  auto part1 = client.get("/crl/signature/132217.crl");
  auto part2 = client.get("/crl/signature-g2/131016.crl");
  for (const auto* r : {&full1, &full2, &delta2, &part1, &part2}) ASSERT_EQ(r->result_int(), 200) << r->body();
  EXPECT_EQ(client.get("/crl/signature-g3.crl").result_int(), 404);
  EXPECT_EQ(client.get("/crl/authentication-g2.crl").result_int(), 404);
  EXPECT_EQ(client.get("/crl/signature-g3/131016.crl").result_int(), 404);
  EXPECT_EQ(generation_crl_aki(full1.body()), generation_ski(ca1));
  EXPECT_EQ(generation_crl_aki(part1.body()), generation_ski(ca1));
  EXPECT_EQ(generation_crl_aki(full2.body()), generation_ski(ca2));
  EXPECT_EQ(generation_crl_aki(part2.body()), generation_ski(ca2));
  save("full1.crl", full1.body());
  save("full2.crl", full2.body());
  save("part1.crl", part1.body());
  save("part2.crl", part2.body());
  out = cmd("openssl verify -crl_check -CAfile signature-ca.pem -CRLfile part1.crl old.pem", &rc);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile signature-ca.pem -CRLfile full1.crl old.pem", &rc);
  EXPECT_NE(out.find("certificate revoked"), std::string::npos) << out;
  out = cmd("openssl crl -inform DER -in full2.crl -noout -text", &rc);
  EXPECT_NE(out.find("No Revoked Certificates"), std::string::npos) << out;
  out = cmd("openssl verify -crl_check -CAfile signature-ca-2.pem -CRLfile part2.crl new.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd("openssl verify -crl_check -CAfile signature-ca-2.pem -CRLfile full2.crl new.pem", &rc);
  EXPECT_EQ(rc, 0) << out;

  // Recorded in the store, listed, and read again by a new process.
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_ca_generations WHERE ca = 'signature'"), 2);
  auto list = ca_->generations();
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  ASSERT_EQ(list->size(), 3u);  // signature 1 and 2, authentication 1
  EXPECT_FALSE((*list)[0].current);
  EXPECT_EQ((*list)[0].certificates, 1);
  EXPECT_TRUE((*list)[1].current);
  EXPECT_EQ((*list)[1].certificates, 1);
  EXPECT_EQ((*list)[1].subject_key_id, g->subject_key_id);
  server_->stop();
  server_.reset();
  ca_.reset();
  CaOptions options;
  options.clock = [this] { return now_.load(); };
  ca_ = CertificateAuthority::open(dir_.string(), *pool_, *writer_, *registry_, {"a test passphrase", ""}, options)
            .value();
  ASSERT_TRUE(ca_->load_keys().is_ok());
  EXPECT_EQ(ca_->generations()->size(), 3u);
  EXPECT_EQ(ca_->published().size(), 8u);
}

TEST_F(CaGenerationTest, ARenewalInAServingProcessIsRefusedAndTheAuthenticationCaRenewsToo) {
  auto g = ca_->new_generation(CertificateKind::authentication);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(g->generation, 2);
  const auto holder = resident_in(card::testing::kChiyoda, "g-auth", "東京都千代田区丸の内一丁目1番1号");
  card_with_certificates(holder, new_keys_);
  const CertificateRecord auth = cert_of(holder, CertificateKind::authentication);
  auto cert = x509_from_der(auth.der).value();
  auto certs = save_published();
  EXPECT_EQ(generation_aki(cert.get()), generation_ski(certs["authentication-ca-2"].get()));
  save_cert(auth, "auth");
  int rc = -1;
  std::string out = cmd("openssl x509 -noout -text -in auth.pem", &rc);
  EXPECT_NE(out.find("URI:" + ca_->public_url() + "/crl/authentication-g2.crl"), std::string::npos) << out;
  serve();  // the responder now exists
  EXPECT_EQ(ca_->new_generation(CertificateKind::signature).status().code(), Code::conflict);
}

}  // namespace
}  // namespace jlis::pki::testing
