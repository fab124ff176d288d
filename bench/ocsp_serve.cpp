// The OCSP responder of the OCSP throughput benchmark (bench/ocsp_throughput.sh): a throwaway CA
// with a delegated responder, COUNT certificates (one in ten revoked) in an in-memory status
// table, an OcspResponder over it served by http::Server through add_ocsp_routes on
// 127.0.0.1:PORT, exactly as `jlis serve` serves it. Before serving it writes to DIR:
//   ca.pem resp.pem resp.key        the CA and the responder, for `openssl ocsp`
//   index.txt index.txt.attr        the same certificates as an `openssl ca` database
//   get_paths.txt                   GET paths of one request per certificate: /ocsp/<url-encoded base64>
//   raw_paths.txt                   the same requests as /<url-encoded base64> (openssl ocsp's GET)
//   www/r/<n>                       the DER responses our responder answers them with,
//   static_paths.txt                and their paths /r/<n>, for nginx to serve as static files
// then prints "serving" and answers until SIGINT or SIGTERM.
// Usage: ocsp_serve PORT DIR [COUNT=1000] [WORKERS=0 (the server's default)]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../tests/pki/test_ca.h"
#include "http/server.h"
#include "pki/ocsp.h"

namespace {

using namespace jlis::pki;
namespace fs = std::filesystem;

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string index_time(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%y%m%d%H%M%SZ", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ocsp_serve PORT DIR [COUNT] [WORKERS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const fs::path dir = argv[2];
  const int count = argc > 3 ? std::atoi(argv[3]) : 1000;
  const int workers = argc > 4 ? std::atoi(argv[4]) : 0;
  if (port <= 0 || port > 65535 || count <= 0) {
    std::fprintf(stderr, "usage: ocsp_serve PORT DIR [COUNT] [WORKERS]\n");
    return 2;
  }
  fs::create_directories(dir / "www" / "r");

  auto ca_key = testing::make_key();
  testing::CertSpec ca_spec;
  ca_spec.common_name = "OCSP benchmark CA";
  ca_spec.ca = true;
  auto ca = testing::make_cert(ca_spec, ca_key.get());
  auto responder_key = testing::make_key();
  testing::CertSpec responder_spec;
  responder_spec.common_name = "OCSP benchmark responder";
  responder_spec.serial_hex = "0a";
  responder_spec.issuer = ca.get();
  responder_spec.issuer_key = ca_key.get();
  responder_spec.ocsp_signing = true;
  auto responder_cert = testing::make_cert(responder_spec, responder_key.get());
  testing::write_file(dir / "ca.pem", testing::cert_pem(ca.get()));
  testing::write_file(dir / "resp.pem", testing::cert_pem(responder_cert.get()));
  testing::write_file(dir / "resp.key", testing::key_pem(responder_key.get()));

  // Serials 0x100000.. ; every tenth revoked.
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::map<std::string, CertificateStatus> table;
  std::ofstream index(dir / "index.txt");
  const std::string expiry = index_time(now + 365 * 86400);
  std::vector<std::string> serials;
  for (int i = 0; i < count; ++i) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%x", 0x100000 + i);
    serials.push_back(hex);
    CertificateStatus s;
    s.kind = i % 10 == 9 ? CertificateStatus::Kind::revoked : CertificateStatus::Kind::good;
    if (s.kind == CertificateStatus::Kind::revoked) {
      s.revoked_at = now - 86400;
      s.reason = RevocationReason::key_compromise;
    }
    table[hex] = s;
    std::string upper = hex;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (s.kind == CertificateStatus::Kind::revoked) {
      index << "R\t" << expiry << '\t' << index_time(s.revoked_at) << ",keyCompromise\t" << upper
            << "\tunknown\t/CN=leaf " << hex << '\n';
    } else {
      index << "V\t" << expiry << "\t\t" << upper << "\tunknown\t/CN=leaf " << hex << '\n';
    }
  }
  index.close();
  testing::write_file(dir / "index.txt.attr", "unique_subject = no\n");

  OcspResponder responder({{ca.get(), responder_cert.get(), responder_key.get()}},
                          [&table](size_t, const std::string& serial) -> jlis::Result<CertificateStatus> {
                            auto it = table.find(serial);
                            return it == table.end() ? CertificateStatus{} : it->second;
                          });
  responder.start_refresher();

  std::ofstream get_paths(dir / "get_paths.txt"), raw_paths(dir / "raw_paths.txt"),
      static_paths(dir / "static_paths.txt");
  for (size_t i = 0; i < serials.size(); ++i) {
    auto number = serial_from_hex(serials[i]);
    testing::check(number.ok(), "serial_from_hex");
    OcspCertIdPtr id(OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca.get()), X509_get0_pubkey_bitstr(ca.get()),
                                      number->get()));
    OcspRequestPtr request(OCSP_REQUEST_new());
    testing::check(id && request && OCSP_request_add0_id(request.get(), id.get()) != nullptr, "making a request");
    id.release();  // owned by the request
    unsigned char* out = nullptr;
    const int n = i2d_OCSP_REQUEST(request.get(), &out);
    testing::check(n > 0, "i2d_OCSP_REQUEST");
    const std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    OPENSSL_free(out);
    const std::string encoded = url_encode(base64_encode(der));
    get_paths << "/ocsp/" << encoded << '\n';
    raw_paths << "/" << encoded << '\n';
    // The response every later request gets (pre-produced, cached), as nginx's static file.
    auto answer = responder.answer(der);
    testing::check(answer->successful, "answering a request");
    testing::write_file(dir / "www" / "r" / std::to_string(i), answer->der);
    static_paths << "/r/" << i << '\n';
  }
  get_paths.close();
  raw_paths.close();
  static_paths.close();

  jlis::http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = static_cast<uint16_t>(port);
  options.worker_threads = workers;
  jlis::http::Server server(options);
  add_ocsp_routes(server, responder);
  jlis::Status started = server.start();
  if (!started.is_ok()) {
    std::fprintf(stderr, "ocsp_serve: %s\n", started.to_string().c_str());
    return 1;
  }
  std::printf("serving %d certificates on 127.0.0.1:%d\n", count, port);
  std::fflush(stdout);
  server.wait();
  std::printf("%s", responder.metrics().c_str());
  return 0;
}
