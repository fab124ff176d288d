// The base of the tests that hand the CA's certificates and CRLs to other tools (openssl, certtool,
// NSS, python3-cryptography): on the real clock (the tools check validity against it), with a
// scratch directory, and the CA's routes on 127.0.0.1 when serve() is called.
#pragma once

#include <stdlib.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "ca_fixture.h"
#include "http/server.h"
#include "pki/routes.h"
#include "test_ca.h"

namespace jlis::pki::testing {

class CaToolsTest : public CaTest {
 protected:
  void SetUp() override {
    CaTest::SetUp();
    now_ = static_cast<int64_t>(std::time(nullptr));
    today_ = Date::from_days((now_.load() + 9 * 3600) / 86400);
    char tmpl[] = "/tmp/jlis-pki-tools-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    if (server_) server_->stop();
    std::filesystem::remove_all(tmp_);
    CaTest::TearDown();
  }
  // Starts the CA's routes (CRLs, OCSP over every generation) on 127.0.0.1.
  void serve() {
    http::ServerOptions o;
    o.io_threads = 1;
    o.worker_threads = 2;
    server_ = std::make_unique<http::Server>(o);
    ASSERT_TRUE(add_routes(*server_, *ca_, *directory_).is_ok());
    ASSERT_TRUE(server_->start().is_ok());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // A resident born in `code` at `address` (a birth event through the register).
  registry::Resident resident_in(const char* code, const std::string& id, const char* address) {
    registry::ChangeEvent e;
    e.event_id = id;
    e.type = registry::EventType::birth;
    e.date = card::testing::date("1990-04-01");
    e.person = registry::Person{"清瀬　花子", "キヨセ　ハナコ", e.date, registry::Sex::female, address};
    auto r = registry_->submit(card::testing::lg(code), e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r->resident;
  }
  // The resident's newest certificate of `kind`.
  CertificateRecord cert_of(const registry::Resident& r, CertificateKind kind) {
    auto list = ca_->certificates_of(municipality(r.municipality_code.str().c_str()), r.resident_code, "", "t");
    EXPECT_TRUE(list.ok()) << list.status().to_string();
    CertificateRecord out;
    if (list.ok())
      for (auto& c : *list)
        if (c.kind == kind && (out.serial.empty() || c.not_before >= out.not_before)) out = c;
    return out;
  }
  // Writes the certificate as DIR/<name>.pem; answers the path.
  std::string save_cert(const CertificateRecord& c, const std::string& name) {
    const std::string path = (tmp_ / (name + ".pem")).string();
    write_file(path, x509_pem(x509_from_der(c.der).value().get()).value());
    return path;
  }

  std::unique_ptr<http::Server> server_;
  std::filesystem::path tmp_;
};

}  // namespace jlis::pki::testing
