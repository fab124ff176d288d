// The municipalities' electronic seals (電子公印, LGPKI issue §2) through the real `jlis` binary, on
// a generated population with LGPKI: once a municipality's mayor holds a position certificate
// (filed, reviewed, approved, issued with `jlis lgpki`), every document it issues leaves signed,
// from `jlis documents render` (the window) and from `jlis serve` (the kiosk route, without a
// restart); pdfsig reports the signature valid, the signer and the certificate trusted; after the
// certificate is revoked the next document leaves unsigned and `openssl verify -crl_check` rejects
// the signer of the earlier one.
#include <algorithm>
#include <sstream>

#include "pki_fixture.h"

namespace jlis::e2e {
namespace {

struct Person {
  std::string code, municipality, status;
};

class SealedDocumentsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("sealed");
    work_ = dir_ + "-files";
    fs::remove_all(work_);
    fs::create_directories(work_);
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    ::unsetenv("JLIS_TOKEN");
    const auto out = prepared_dir(
        dir_, {{"init", "--data", "{dir}", "--simulation"},
               {"ca", "init", "--data", "{dir}"},
               {"lgpki", "init", "--data", "{dir}", "--public-url", "http://lgpki.example.jp"},
               {"population", "generate", "--data", "{dir}", "--count", "200", "--seed", "11", "--key-pool", "4"},
               {"token", "create", "--data", "{dir}", "--role", "issuance-centre", "--name", "Kiosk centre"}});
    ASSERT_EQ(out.size(), 5u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    centre_ = out[4].last_line();
    const Output csv = jlis({"residents", "export", "--data", dir_});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    std::istringstream in(csv.out);
    std::string line;
    std::getline(in, line);  // resident_code,name,name_kana,date_of_birth,sex,address,municipality_code,status
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
      if (f.size() == 8 && f[7] == "resident") people_.push_back({f[0], f[6], f[7]});
    }
    ASSERT_FALSE(people_.empty());
  }
  void TearDown() override {
    ::unsetenv("JLIS_TOKEN");
    fs::remove_all(dir_);
    fs::remove_all(work_);
  }
  Output as(const std::string& token, std::vector<std::string> args) {
    if (token.empty()) ::unsetenv("JLIS_TOKEN");
    else ::setenv("JLIS_TOKEN", token.c_str(), 1);
    Output o = jlis(args);
    ::unsetenv("JLIS_TOKEN");
    return o;
  }
  Output lgpki(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), "lgpki");
    args.insert(args.begin() + 2, {"--data", dir_});
    return as(token, args);
  }
  // The mayor of `code` gets a position certificate through the whole workflow; answers the
  // application id. The sub-authority's token is kept for the revocation request.
  std::string mayor_certified(const std::string& code) {
    const Output government = jlis({"municipality", "token", "--data", dir_, "--code", code});
    EXPECT_EQ(government.exit_code, 0) << government.err;
    const Output registration =
        jlis({"token", "create", "--data", dir_, "--role", "lgpki-registration", "--name", code});
    EXPECT_EQ(registration.exit_code, 0) << registration.err;
    registration_ = registration.last_line();
    Output o = lgpki(government.last_line(), {"apply", "--municipality", code, "--profile", "position",
                                              "--organisation", "市役所 " + code, "--position", "市長",
                                              "--common-name", "市長 " + code});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    const std::string id = o.last_line();
    EXPECT_EQ(lgpki(registration_, {"review", "--application", id}).exit_code, 0);
    EXPECT_EQ(lgpki("", {"approve", "--application", id}).exit_code, 0);
    o = lgpki("", {"issue", "--application", id});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    return id;
  }
  void revoke(const std::string& id) {
    Output o = lgpki(registration_, {"revoke", "--application", id, "--request", "--reason", "affiliationChanged"});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    o = lgpki("", {"revoke", "--application", id});
    ASSERT_EQ(o.exit_code, 0) << o.err;
  }
  Output render(const Person& p, const std::string& file) {
    return jlis({"documents", "render", "--data", dir_, "--resident", p.code, "--type", "juminhyo", "--output",
                 work_ + "/" + file});
  }
  // An NSS database (for pdfsig) trusting the LGPKI root, fetched from `jlis serve`.
  void trust_root(Client& client) {
    auto root = client.get("/lgpki/ca/root.cer");
    ASSERT_EQ(root.result_int(), 200) << root.body();
    write_file(work_ + "/root.pem", der_to_pem(root.body()));
    auto ca = client.get("/lgpki/ca/position.cer");
    ASSERT_EQ(ca.result_int(), 200) << ca.body();
    write_file(work_ + "/position-ca.pem", der_to_pem(ca.body()));
    const Output o = in_work("mkdir -p nssdb && certutil -N -d sql:nssdb --empty-password && "
                             "certutil -A -d sql:nssdb -n root -t C,C,C -a -i root.pem");
    ASSERT_EQ(o.exit_code, 0) << o.out;
  }
  // pdfsig's report on `file`. -no-ocsp: the certificates name the public URL given at `lgpki init`,
  // which nothing answers in this test; revocation is checked with the CRL below.
  Output pdfsig(const std::string& file) { return in_work("pdfsig -no-ocsp -nssdir sql:nssdb " + file); }
  Output in_work(const std::string& line) { return shell("cd " + quote(work_) + " && " + line + " 2>&1"); }

  std::string dir_, work_, centre_, registration_;
  std::vector<Person> people_;
};

// Rule: from the moment the mayor's certificate is issued, each 住民票の写し of the municipality
// leaves with its PAdES signature (pdfsig: valid, the mayor named, trusted through the root), and
// another municipality's documents do not (it holds no certificate); once
// it is revoked, documents leave unsigned again and the CRL makes openssl refuse the signer of a
// document signed before.
TEST_F(SealedDocumentsE2E, TheWindowSignsWithTheMayorsCertificateUntilItIsRevoked) {
  const Person& p = people_.front();
  Output o = render(p, "before.pdf");
  ASSERT_EQ(o.exit_code, 0) << o.err;

  const std::string id = mayor_certified(p.municipality);
  o = render(p, "signed.pdf");
  ASSERT_EQ(o.exit_code, 0) << o.err;

  Server server(dir_);
  ASSERT_NE(server.port(), 0);
  Client client(server.port());
  trust_root(client);
  o = pdfsig("before.pdf");
  EXPECT_NE(o.out.find("does not contain any signatures"), std::string::npos) << o.out;
  const auto other = std::find_if(people_.begin(), people_.end(),
                                  [&](const Person& q) { return q.municipality != p.municipality; });
  ASSERT_NE(other, people_.end());
  o = render(*other, "other.pdf");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  o = pdfsig("other.pdf");
  EXPECT_NE(o.out.find("does not contain any signatures"), std::string::npos) << o.out;
  o = pdfsig("signed.pdf");
  EXPECT_NE(o.out.find("Signature #1"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("Signature #2"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Signer Certificate Common Name: 市長 " + p.municipality), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Signature Validation: Signature is Valid."), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Certificate Validation: Certificate is Trusted."), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Signature Type: ETSI.CAdES.detached"), std::string::npos) << o.out;
  // A byte changed inside the signed range: no longer valid.
  o = in_work("cp signed.pdf changed.pdf && printf 'X' | dd of=changed.pdf bs=1 seek=200 conv=notrunc status=none");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  o = pdfsig("changed.pdf");
  EXPECT_EQ(o.out.find("Signature Validation: Signature is Valid."), std::string::npos) << o.out;

  // The signer as the document carries it, checked against the CRL served before and after.
  o = in_work("pdfsig -dump signed.pdf >/dev/null && openssl pkcs7 -inform DER -in signed.pdf.sig0 -print_certs "
              "| awk '/^subject=/{k = /title/} k && /BEGIN/{p = 1} p {print} /END/{p = 0}' > signer.pem && "
              "openssl x509 -in signer.pem -noout -subject -nameopt utf8,sep_comma_plus");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("title=市長"), std::string::npos) << o.out;
  const std::string verify =
      "openssl verify -crl_check -CAfile root.pem -untrusted position-ca.pem -CRLfile position.crl.pem signer.pem";
  auto crl = client.get("/lgpki/crl/position.crl");
  ASSERT_EQ(crl.result_int(), 200);
  write_file(work_ + "/position.crl.pem", crl_pem(crl.body()));
  o = in_work(verify);
  EXPECT_EQ(o.exit_code, 0) << o.out;

  revoke(id);
  o = render(p, "after.pdf");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  o = pdfsig("after.pdf");
  EXPECT_NE(o.out.find("does not contain any signatures"), std::string::npos) << o.out;
  crl = client.get("/lgpki/crl/position.crl");
  ASSERT_EQ(crl.result_int(), 200);
  write_file(work_ + "/position.crl.pem", crl_pem(crl.body()));
  o = in_work(verify);
  EXPECT_NE(o.exit_code, 0) << o.out;
  EXPECT_NE(o.out.find("certificate revoked"), std::string::npos) << o.out;
  EXPECT_EQ(server.stop(), 0);
}

// Rule: the kiosk's documents from a running `jlis serve` are sealed too, from the first one after
// the certificate is issued (no restart).
TEST_F(SealedDocumentsE2E, TheKioskRouteSignsOnceTheCertificateIsIssuedWithoutARestart) {
  Server server(dir_);
  ASSERT_NE(server.port(), 0);
  Client client(server.port());
  trust_root(client);
  // A card holder whose authentication certificate the centre names, as the kiosk log-in does.
  std::string serial;
  Person holder;
  std::string government;
  for (const Person& p : people_) {
    const Output t = jlis({"municipality", "token", "--data", dir_, "--code", p.municipality});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    auto r = client.get("/v1/residents/" + p.code + "/certificates", {{"Authorization", "Bearer " + t.last_line()}});
    if (r.result_int() != 200) continue;
    const json list = json::parse(r.body())["certificates"];  // kept: iterating a temporary's member is UB
    for (const auto& c : list)
      if (c["kind"] == "authentication" && c["device"] == "card" && c["status"] == "good") serial = c["serial"];
    if (!serial.empty()) {
      holder = p;
      break;
    }
  }
  ASSERT_FALSE(serial.empty()) << "no generated resident holds a card with certificates";
  int session = 0;
  auto document = [&](const std::string& file) {
    const json request = {{"certificate_serial", serial}, {"session", "ks-sealed-" + std::to_string(++session)},
                          {"type", "juminhyo"}, {"members", "self"}};
    auto r = client.request(bhttp::verb::post, "/v1/issuance/" + holder.municipality + "/documents", request.dump(),
                            {{"Authorization", "Bearer " + centre_}});
    EXPECT_EQ(r.result_int(), 200) << r.body();
    write_file(work_ + "/" + file, r.body());
  };
  document("kiosk-before.pdf");
  Output o = pdfsig("kiosk-before.pdf");
  EXPECT_NE(o.out.find("does not contain any signatures"), std::string::npos) << o.out;

  mayor_certified(holder.municipality);
  document("kiosk-signed.pdf");
  o = pdfsig("kiosk-signed.pdf");
  EXPECT_NE(o.out.find("Signer Certificate Common Name: 市長 " + holder.municipality), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Signature Validation: Signature is Valid."), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Certificate Validation: Certificate is Trusted."), std::string::npos) << o.out;
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace jlis::e2e
