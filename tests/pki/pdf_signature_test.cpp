// PDF signatures (pki/pdf_signature.h) and RFC 3161 time-stamps (pki/timestamp.h), checked by the
// tools a document's holder and a relying party use: poppler's pdfsig (with an NSS database that
// trusts the test root), MuPDF's mutool, and openssl ts and cms. On the real clock: the tools check
// the certificates' validity against it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "pki/pdf_signature.h"
#include "pki/timestamp.h"
#include "pdfs.h"
#include "test_ca.h"

namespace jlis::pki {
namespace {

using testing::CertSpec;
using testing::one_page_pdf;

class PdfSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jlis-pdf-signature-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    now_ = static_cast<int64_t>(std::time(nullptr));
    root_key_ = testing::make_key();
    root_ = testing::make_cert({.common_name = "LGPKI Test Root", .ca = true}, root_key_.get());
    signer_key_ = testing::make_key();
    signer_ = testing::make_cert({.common_name = "Kiyose-shi Mayor", .serial_hex = "10", .issuer = root_.get(),
                                  .issuer_key = root_key_.get()},
                                 signer_key_.get());
    tsa_key_ = testing::make_key();
    auto tsa_cert = testing::make_cert({.common_name = "Test TSA", .serial_hex = "20", .issuer = root_.get(),
                                        .issuer_key = root_key_.get(), .eku = "critical,timeStamping"},
                                       tsa_key_.get());
    auto tsa = TimeStampAuthority::make(testing::cert_pem(tsa_cert.get()), testing::key_pem(tsa_key_.get()),
                                        {testing::cert_pem(root_.get())}, "1.2.392.200149.8.7.1");
    ASSERT_TRUE(tsa.ok()) << tsa.status().to_string();
    tsa_.emplace(std::move(*tsa));
    root_pem_ = path("root.pem", testing::cert_pem(root_.get()));
    tsa_pem_ = path("tsa.pem", testing::cert_pem(tsa_cert.get()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `data` as DIR/name; answers the path.
  std::string path(const std::string& name, const std::string& data) {
    const std::string p = (dir_ / name).string();
    testing::write_file(p, data);
    return p;
  }

  // The time-stamper a signer uses: a query over the signature value, answered by the test TSA.
  TimeStamper stamper() {
    return [this](std::string_view value) -> Result<std::string> {
      JLIS_ASSIGN_OR_RETURN(auto query, timestamp_query(value));
      JLIS_ASSIGN_OR_RETURN(auto answer, tsa_->respond(query, now_));
      return timestamp_token(answer, query);
    };
  }
  PdfSignOptions options() {
    PdfSignOptions o;
    o.signing_time = now_;
    o.name = "清瀬市長";
    o.reason = "住民票の写しの交付";
    o.location = "東京都清瀬市";
    o.stamp = stamper();
    return o;
  }
  std::string signed_pdf() {
    auto out = sign_pdf(one_page_pdf("Juminhyo no utsushi"), {signer_.get(), signer_key_.get(), {}}, options());
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : std::string();
  }

  // pdfsig's report, verifying against an NSS database that trusts the test root.
  std::string pdfsig(const std::string& file) {
    const std::string nss = (dir_ / "nss").string();
    if (!std::filesystem::exists(nss)) {
      std::filesystem::create_directory(nss);
      int rc = -1;
      testing::run("certutil -N -d sql:" + nss + " --empty-password 2>&1", &rc);
      EXPECT_EQ(rc, 0);
      testing::run("certutil -A -d sql:" + nss + " -n root -t CT,C,C -i " + root_pem_ + " 2>&1", &rc);
      EXPECT_EQ(rc, 0);
    }
    return testing::run("pdfsig -nssdir sql:" + nss + " " + file + " 2>&1");
  }

  std::filesystem::path dir_;
  int64_t now_ = 0;
  EvpPkeyPtr root_key_, signer_key_, tsa_key_;
  X509Ptr root_, signer_;
  std::optional<TimeStampAuthority> tsa_;
  std::string root_pem_, tsa_pem_;
};

TEST_F(PdfSignatureTest, PdfsigReportsTheSignatureValidTrustedAndNamesTheSigner) {
  const std::string pdf = signed_pdf();
  const std::string report = pdfsig(path("signed.pdf", pdf));
  EXPECT_NE(report.find("Signature #1"), std::string::npos) << report;
  EXPECT_EQ(report.find("Signature #2"), std::string::npos) << report;
  EXPECT_NE(report.find("Signer Certificate Common Name: Kiyose-shi Mayor"), std::string::npos) << report;
  EXPECT_NE(report.find("Signature Type: ETSI.CAdES.detached"), std::string::npos) << report;
  EXPECT_NE(report.find("Signature Validation: Signature is Valid."), std::string::npos) << report;
  EXPECT_NE(report.find("Certificate Validation: Certificate is Trusted."), std::string::npos) << report;
  EXPECT_NE(report.find("Total document signed"), std::string::npos) << report;
}

TEST_F(PdfSignatureTest, TheSignedDocumentKeepsTheOriginalBytesAndItsText) {
  const std::string original = one_page_pdf("Juminhyo no utsushi");
  auto out = sign_pdf(original, {signer_.get(), signer_key_.get(), {}}, options());
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  // An incremental update: the document as issued, then the signature after it.
  EXPECT_EQ(out->substr(0, original.size()), original);
  EXPECT_NE(testing::run("pdftotext " + path("signed.pdf", *out) + " - 2>&1").find("Juminhyo no utsushi"),
            std::string::npos);
}

TEST_F(PdfSignatureTest, AChangedByteInTheSignedRangeFailsVerificationInBothReaders) {
  std::string pdf = signed_pdf();
  const size_t at = pdf.find("Juminhyo");
  ASSERT_NE(at, std::string::npos);
  pdf[at] = 'X';  // the page now says "Xuminhyo": same length, different bytes
  const std::string file = path("changed.pdf", pdf);
  const std::string report = pdfsig(file);
  EXPECT_EQ(report.find("Signature is Valid"), std::string::npos) << report;
  EXPECT_NE(report.find("Signature Validation: Digest Mismatch."), std::string::npos) << report;
  const std::string mupdf = testing::run("mutool sign -v " + file + " 2>&1");
  EXPECT_EQ(mupdf.find("The document is unchanged since signing."), std::string::npos) << mupdf;
  EXPECT_NE(mupdf.find("Digest error: Signature invalidated by change to document."), std::string::npos) << mupdf;
}

TEST_F(PdfSignatureTest, MupdfAlsoFindsTheSignatureValid) {
  const std::string file = path("signed.pdf", signed_pdf());
  const std::string report = testing::run("mutool sign -v " + file + " 2>&1");
  // (MuPDF has no trust store of its own to give: it reports the signer's certificate unverified.)
  EXPECT_NE(report.find("The document is unchanged since signing."), std::string::npos) << report;
  EXPECT_NE(report.find("cn=Kiyose-shi Mayor"), std::string::npos) << report;
}

TEST_F(PdfSignatureTest, TheCmsVerifiesOverTheByteRangeAndCarriesTheTimeStampAndTheSigningCertificate) {
  const std::string pdf = signed_pdf();
  // /ByteRange [a b c d]: the signed bytes are [a, a+b) and [c, c+d); between them, <hex CMS>.
  const size_t range = pdf.rfind("/ByteRange");
  ASSERT_NE(range, std::string::npos);
  size_t r[4];
  ASSERT_EQ(std::sscanf(pdf.c_str() + range, "/ByteRange [ %zu %zu %zu %zu", &r[0], &r[1], &r[2], &r[3]), 4)
      << pdf.substr(range, 60);
  EXPECT_EQ(r[0], 0u);
  EXPECT_EQ(r[2] + r[3], pdf.size());  // the whole file but the signature
  const std::string signed_bytes = pdf.substr(r[0], r[1]) + pdf.substr(r[2], r[3]);
  std::string der;
  for (size_t i = r[1] + 1; i + 1 < r[2] - 1; i += 2)
    der.push_back(static_cast<char>(std::stoi(pdf.substr(i, 2), nullptr, 16)));
  const std::string cms = path("signature.der", der), content = path("content.bin", signed_bytes);
  int rc = -1;
  const std::string verified = testing::run("openssl cms -verify -binary -inform DER -in " + cms + " -content " +
                                                content + " -CAfile " + root_pem_ + " -purpose any -out /dev/null 2>&1",
                                            &rc);
  EXPECT_EQ(rc, 0) << verified;
  EXPECT_NE(verified.find("Verification successful"), std::string::npos) << verified;
  const std::string printed = testing::run("openssl cms -cmsout -print -inform DER -in " + cms + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << printed;
  EXPECT_NE(printed.find("id-smime-aa-timeStampToken"), std::string::npos) << printed;
  EXPECT_NE(printed.find("id-smime-aa-signingCertificateV2"), std::string::npos) << printed;
}

TEST_F(PdfSignatureTest, WithoutATimeStamperTheSignatureIsStillValid) {
  PdfSignOptions o = options();
  o.stamp = nullptr;
  auto out = sign_pdf(one_page_pdf("B-B"), {signer_.get(), signer_key_.get(), {}}, o);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_NE(pdfsig(path("bb.pdf", *out)).find("Signature Validation: Signature is Valid."), std::string::npos);
}

TEST_F(PdfSignatureTest, BadInputIsRefusedWithAClearError) {
  auto not_pdf = sign_pdf("this is not a PDF", {signer_.get(), signer_key_.get(), {}}, options());
  ASSERT_FALSE(not_pdf.ok());
  EXPECT_EQ(not_pdf.status().code(), Code::invalid_argument);
  auto wrong_key = sign_pdf(one_page_pdf("x"), {signer_.get(), tsa_key_.get(), {}}, options());
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.status().code(), Code::invalid_argument);
  PdfSignOptions o = options();
  o.stamp = [](std::string_view) -> Result<std::string> { return unavailable("the time-stamp authority is down"); };
  auto no_stamp = sign_pdf(one_page_pdf("x"), {signer_.get(), signer_key_.get(), {}}, o);
  ASSERT_FALSE(no_stamp.ok());
  EXPECT_EQ(no_stamp.status().code(), Code::unavailable);
}

// The time-stamp authority as openssl ts, an independent RFC 3161 client, sees it.
TEST_F(PdfSignatureTest, OpensslTsVerifiesTheAuthoritysAnswerToItsOwnQuery) {
  const std::string data = path("data.txt", "住民票の写し");
  int rc = -1;
  testing::run("openssl ts -query -data " + data + " -sha256 -cert -out " + (dir_ / "q.tsq").string() + " 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  std::ifstream in(dir_ / "q.tsq", std::ios::binary);
  const std::string query((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto answer = tsa_->respond(query, now_);
  ASSERT_TRUE(answer.ok()) << answer.status().to_string();
  const std::string tsr = path("a.tsr", *answer);
  const std::string verified = testing::run("openssl ts -verify -data " + data + " -in " + tsr + " -CAfile " +
                                                root_pem_ + " -untrusted " + tsa_pem_ + " 2>&1",
                                            &rc);
  EXPECT_EQ(rc, 0) << verified;
  EXPECT_NE(verified.find("Verification: OK"), std::string::npos) << verified;
  const std::string text = testing::run("openssl ts -reply -in " + tsr + " -text 2>&1");
  EXPECT_NE(text.find("Policy OID: 1.2.392.200149.8.7.1"), std::string::npos) << text;
  // Another file does not match the answer.
  const std::string other = path("other.txt", "戸籍謄本");
  testing::run("openssl ts -verify -data " + other + " -in " + tsr + " -CAfile " + root_pem_ + " -untrusted " +
                   tsa_pem_ + " 2>&1",
               &rc);
  EXPECT_NE(rc, 0);
}

TEST_F(PdfSignatureTest, TheAuthorityRejectsWhatItCannotAnswerAndTheClientSaysSo) {
  // A query over MD5 is answered with a rejection (badAlg), not a time-stamp.
  const std::string data = path("data.txt", "x");
  int rc = -1;
  testing::run("openssl ts -query -data " + data + " -md5 -out " + (dir_ / "md5.tsq").string() + " 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  std::ifstream in(dir_ / "md5.tsq", std::ios::binary);
  const std::string md5_query((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rejected = tsa_->respond(md5_query, now_);
  ASSERT_TRUE(rejected.ok());
  const std::string text = testing::run("openssl ts -reply -in " + path("md5.tsr", *rejected) + " -text 2>&1");
  EXPECT_NE(text.find("Status: Rejected."), std::string::npos) << text;
  EXPECT_NE(text.find("unrecognized or unsupported algorithm identifier"), std::string::npos) << text;
  auto token = timestamp_token(*rejected, md5_query);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), Code::unavailable);
  // Garbage gets a rejection too; an answer to another query is not taken.
  auto garbage = tsa_->respond("not a query", now_);
  ASSERT_TRUE(garbage.ok());
  EXPECT_FALSE(timestamp_token(*garbage, md5_query).ok());
  auto q1 = timestamp_query("one"), q2 = timestamp_query("two");
  ASSERT_TRUE(q1.ok() && q2.ok());
  auto a1 = tsa_->respond(*q1, now_);
  ASSERT_TRUE(a1.ok());
  EXPECT_TRUE(timestamp_token(*a1, *q1).ok());
  auto mismatched = timestamp_token(*a1, *q2);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), Code::invalid_argument);
  // A certificate without the time-stamping purpose cannot be an authority.
  auto not_tsa = TimeStampAuthority::make(testing::cert_pem(signer_.get()), testing::key_pem(signer_key_.get()), {},
                                          "1.2.392.200149.8.7.1");
  ASSERT_FALSE(not_tsa.ok());
  EXPECT_EQ(not_tsa.status().code(), Code::invalid_argument);
}

}  // namespace
}  // namespace jlis::pki
