// The OCSP responder's request parsing, as strangers reach it (src/pki/ocsp_routes.cpp):
//   first byte even: the rest is the POST /ocsp body, a DER OCSPRequest, given to answer() as is;
//   first byte odd:  the rest is the GET /ocsp/{request...} path after "/ocsp/": split and
//                    percent-decoded by the router, joined with '/', base64-decoded, then answered
//                    (not base64: the empty request, as the route does).
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.h"
#include "pki/ocsp.h"
#include "pki/openssl.h"
#include "tests/pki/test_ca.h"

namespace {

using namespace jlis::pki;

// A fixed CA and responder (made with openssl; the seed requests of corpus/fuzz_ocsp_request ask
// this CA about serials 0x10..0x1f, which are "good").
constexpr const char* kCaPem = R"(-----BEGIN CERTIFICATE-----
MIIDYTCCAkmgAwIBAgIUVjMpfvZUg2zfdey3t6Jl4bk+kr8wDQYJKoZIhvcNAQEL
BQAwNzELMAkGA1UEBhMCSlAxFjAUBgNVBAoMDU9wZW5KTElTIGZ1enoxEDAOBgNV
BAMMB2Z1enogQ0EwIBcNMjYxMTMwMjA0NDMxWhgPMjEyNjExMDYyMDQ0MzFaMDcx
CzAJBgNVBAYTAkpQMRYwFAYDVQQKDA1PcGVuSkxJUyBmdXp6MRAwDgYDVQQDDAdm
dXp6IENBMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwDHmacKWT3qF
veLdwR7EBeiqraywwJUPMoLPNUj4G/Cham2OKtWxVCF1Pi77X402dWdGq8B8s021
S5aqeHzEswkglZ/fy/O1p5BZuL7xqkRT+Ht7VfZ9SfGDmrOIVkElOSeBQycXsy6C
x9bjVAiYcO24ljf/wpZWiV+ZOS0v1UITV7Lg8X98RlBA1iJUhpPzo5Ox7g/0EXHp
UXMdlflIksYsVTbyxJzVlOH8UwVbXQ5JeXceQSvl95wuKQTCQj9rSNaNJF+51thb
NQSmhJ3i4hrMJF+4UoYxSl7QnkpQkPtbDL1AvqOlzZ0y2j8e546fTM+7tpsTeIrJ
TNyYieV6GQIDAQABo2MwYTAdBgNVHQ4EFgQUaXc0doPA96IGSMu7WR+auivMmtkw
HwYDVR0jBBgwFoAUaXc0doPA96IGSMu7WR+auivMmtkwDwYDVR0TAQH/BAUwAwEB
/zAOBgNVHQ8BAf8EBAMCAQYwDQYJKoZIhvcNAQELBQADggEBAC1TUM3qRw1gvcVr
FVlh2dyhpLXPxFrdjxiFd3pQ32MlMTGxtbVJfdPSOgvW8JrLS0Ieg1qyajXrKKH7
LnBpD5feA6gEWl5QLT8cRliSQMwXGlVfP3ksJuTXq5tMHIm5DOy008JxSBhfhSVg
turJ4glP+8Ba/X+3kcCe8T5vdzvX46u7CDGgJVp4/guNx0iHZHsQM3EWbZ8GUQjj
ve6jwXskGnyWSDAsoOdpbUv4hWs5cer7gBeImVgQ4qxz+GMbsM6ZeFvtCvyHLPBS
+5ycjucRdx+T1aUF9qnBZxhC+wm5/B/KOdfga2I0QcxaBoZPn9XzJQiFa0RaJU33
if0w7Xo=
-----END CERTIFICATE-----)";
constexpr const char* kResponderPem = R"(-----BEGIN CERTIFICATE-----
MIIDbzCCAlegAwIBAgIBCjANBgkqhkiG9w0BAQsFADA3MQswCQYDVQQGEwJKUDEW
MBQGA1UECgwNT3BlbkpMSVMgZnV6ejEQMA4GA1UEAwwHZnV6eiBDQTAgFw0yNjEx
MzAyMDQ0MzJaGA8yMTI2MTEwNjIwNDQzMlowQzELMAkGA1UEBhMCSlAxFjAUBgNV
BAoMDU9wZW5KTElTIGZ1enoxHDAaBgNVBAMME2Z1enogT0NTUCByZXNwb25kZXIw
ggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC4zH6F4o1kPgC6dt8cLEoD
jUX43soru82fzh637H4r6QKn1qG87TzSRo4N60qEACx92427qUXgnL4pPYe42PeG
kDYXD5T2+qcxtgiRb6ZbuADvc92qiHAAiOcP82ooQpBxYdg1DQkvt94QwK+G91QT
6v/rg9Z+rYGUtPheuYPmltYRKQf0WyKguEBIN4DLKfxAANhYmq65iysTDE46OzWz
Q2Ah6VJ9gwsdJGR8ge9ZHODCalD+0eMPcrXiA7EWzhi/Qg6RtoR++9WTFw39tJki
SK45opZGdyBVEAZcAQJWxLDDYD6AwSR++bxgpcUE3TRGTGHRqmS5FXiN/7byjf7j
AgMBAAGjeDB2MBMGA1UdJQQMMAoGCCsGAQUFBwMJMA8GCSsGAQUFBzABBQQCBQAw
DgYDVR0PAQH/BAQDAgeAMB0GA1UdDgQWBBTVu4j2yoRntxPQr1kcEX+4iSiJCTAf
BgNVHSMEGDAWgBRpdzR2g8D3ogZIy7tZH5q6K8ya2TANBgkqhkiG9w0BAQsFAAOC
AQEAqJUmeFJeI2ShoJ49aYOsImf0NLWGSLyG+OoT2ajZVYJ/mO/zRpvjf1lY6Xxl
Y6DK5Cx5yAfN/sfcH4eUMGraQxJHhm++AInltzPF9iBMS4y2jhExZMPGzh4ouYmM
bJ/6PbbuuyIPDn3/yjJvsleCeVdsg9RnFOjCRS8cROpmqTVsaaQ/ONX1De8AMr02
R+Vw88CcdOlBkbdrr9fXTfJc5Umv7lZWTBETob10FSAus+5gqLaL3YPrIpZbYI9u
P728mbrMbV3T59GSg8PgW35eFmdriSJGuuelGA1gg5kekIPw9o/LDqDqm0THOwPP
1xRxxCEpfabIswaniVGZYzasog==
-----END CERTIFICATE-----)";
constexpr const char* kResponderKeyPem = R"(-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC4zH6F4o1kPgC6
dt8cLEoDjUX43soru82fzh637H4r6QKn1qG87TzSRo4N60qEACx92427qUXgnL4p
PYe42PeGkDYXD5T2+qcxtgiRb6ZbuADvc92qiHAAiOcP82ooQpBxYdg1DQkvt94Q
wK+G91QT6v/rg9Z+rYGUtPheuYPmltYRKQf0WyKguEBIN4DLKfxAANhYmq65iysT
DE46OzWzQ2Ah6VJ9gwsdJGR8ge9ZHODCalD+0eMPcrXiA7EWzhi/Qg6RtoR++9WT
Fw39tJkiSK45opZGdyBVEAZcAQJWxLDDYD6AwSR++bxgpcUE3TRGTGHRqmS5FXiN
/7byjf7jAgMBAAECggEAUyANQ50qW652Nmn1Jx+W9W0NTgqtJyn1rw4RDEuRX6AT
BTtLCoguZSm+iW1O2fyYBs8FPKZCW+w1r6hRTikugnWJFyt3pvcN0RMgXIc77iLh
LNTSH3z64Iq0YRztogl7Hr1T+10PRksvVRrPeeb0B3ecQazOhbH3SVR0KmvJdKWb
wfkoq9OzAJTsGvk3rW2OSjnx6Bq0CXyuBO5BsuWOQ/NO8B1YPN2Xw+PHwaSkOwzU
ayQgg4DY+4jAc3FFtKVsBwYfSFdfU8Epi45M/gaYfago1OqVUPRRt/IW6X7afYE8
XbQrPVVP4OKZHIWQPRoJagFGerZkgze+tU7nskflrQKBgQD99+L+aj28ljCdboli
DS0/1cT36k7Kea7abO6KlNW8si2JtT1rFi5jLo8suLBGtzuT3XvkhtrZITtW3Rl9
BKMwjZ+Q1CWAytjcRzN95z57wJr9ZK9EzXk+X9KRHUa7GoLrldQbwiJsfrDmr9CP
JED0eG4sZ098/Hg4Fe84Mq9XLwKBgQC6RvPAMc7wrKbvnQqTy/8yLjvteUoY3TnQ
zDgh0GW4AJS7yFvr1KV32UstQOvssQh7nC9g8Z2zxw/8KcbIz61tEFxVtj+0Z5Qc
V9o7QVeblGDzSRYw8SjluF3souL4u7XElEmajsiidFMd2o/y7lVAx9/YgWP5RND0
/vKb7RYmjQKBgQDA+AzdytPF60hdFpQEkIaFLmRPCxV6+yJEjOhjG9ubWLcJH1Df
gScV7VaUYHBwCuGV5IAyj9TRjlKMGcs4FsH4LmPDo64rQfWsydzyGTZ8yUf6qPoT
iRxKrHxODrSjje1UG6/it4t4bHr1jTkmyiEgoDD2RDk9eofN9byiMsDPuQKBgQCf
EgoDHUWnlvhzdDrdHX5OvtakI0hYVUqS+GIS1iCW8cARX7bHe+7VmrSs71zI4iDp
VeXLtmjCZgJLhu1e/KIPmcIP27Mo/q6nSYptwY3rqNjlyIrvvnD7QubKNgr292zw
cuUr3DSPLiDwRH1aqZYZ3NVV0KCr880w+in5Z4vb3QKBgFSxT3/vuHjUxqwNV+DF
N6zD2x8/i1hHxSZBgu3TTw4FXDOeNobUGE6GNYO4c8uljm9NSNSA4NMnieHOTsPi
GBTwc+iVcVlDYoeLJ1IoPnqbPCbFClSZbnHcoJQPbVUUXi569bafMp1n3hZAeGhF
ypu1DPCEruL7hTcrhf/53D0J
-----END PRIVATE KEY-----)";

EvpPkeyPtr private_key(const char* pem) {
  BioPtr bio(BIO_new_mem_buf(pem, -1));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  testing::check(key != nullptr, "reading a fixture key");
  return key;
}

X509Ptr certificate(const char* pem) {
  auto cert = x509_from_pem(pem);
  testing::check(cert.ok(), "reading a fixture certificate");
  return std::move(*cert);
}

struct Fixture {
  X509Ptr ca = certificate(kCaPem);
  X509Ptr responder_cert = certificate(kResponderPem);
  EvpPkeyPtr responder_key = private_key(kResponderKeyPem);
  OcspResponder responder{{{ca.get(), responder_cert.get(), responder_key.get()}},
                          [](size_t, const std::string& serial) -> jlis::Result<CertificateStatus> {
                            // Serials 0x10..0x1f are good (signed once, then cached). Any other
                            // lookup fails (tryLater): an unknown serial would be signed on the fly
                            // at every request, and RSA signing would make each run ~30 ms.
                            if (serial.size() != 2 || serial[0] != '1') return jlis::unavailable("fuzz: no such certificate");
                            CertificateStatus s;
                            s.kind = CertificateStatus::Kind::good;
                            return s;
                          }};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();  // lives for the process, like the server's responder
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) == 0) {
    fixture->responder.answer(rest);
    return 0;
  }
  std::vector<std::string> segments;
  if (!jlis::http::internal::split_path("/ocsp/" + std::string(rest), segments) || segments.size() < 2) return 0;
  std::string joined;
  for (size_t i = 1; i < segments.size(); ++i) {
    if (i > 1) joined += '/';
    joined += segments[i];
  }
  auto der = base64_decode(joined);
  fixture->responder.answer(der.ok() ? std::string_view(*der) : std::string_view());
  return 0;
}
