// A minimal synchronous HTTP/1.1 client over loopback for the server tests.
//
// Contract log: when the environment variable JLIS_CONTRACT_LOG names a file, every exchange is
// appended to it as one JSON line {"method","target","status","content_type","request_body",
// "response_body"} (bodies that are not UTF-8 text appear as "response_bytes": <size> instead).
// tools/contract/validate.mjs checks these lines against docs/openapi.yaml (tests/CMakeLists.txt).
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jlis::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Reply = bhttp::response<bhttp::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

class Client {
 public:
  // `contract`: log the exchanges (false for servers other than `jlis serve`, which the API
  // description does not cover, such as the kiosk screen).
  explicit Client(uint16_t port, bool contract = true) : contract_(contract), socket_(ioc_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }

  Reply request(bhttp::verb method, std::string target, std::string body = "",
                const Headers& headers = {}, int version = 11) {
    bhttp::request<bhttp::string_body> req(method, target, version);
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(socket_, req);
    Reply reply = read_reply();
    if (contract_) contract_log(std::string(req.method_string()), target, req.body(), reply);
    return reply;
  }
  Reply get(std::string target, const Headers& headers = {}) {
    return request(bhttp::verb::get, std::move(target), "", headers);
  }

  void send_raw(std::string_view bytes) {
    raw_sent_ += bytes;
    asio::write(socket_, asio::buffer(bytes));
  }
  // Reads the answer to what send_raw sent (logged with the method and target of its first line).
  Reply read() {
    Reply reply = read_reply();
    const std::string first = raw_sent_.substr(0, raw_sent_.find("\r\n"));
    const size_t sp1 = first.find(' ');
    const size_t sp2 = sp1 == std::string::npos ? sp1 : first.find(' ', sp1 + 1);
    if (sp2 != std::string::npos) {
      const size_t head_end = raw_sent_.find("\r\n\r\n");
      contract_log(first.substr(0, sp1), first.substr(sp1 + 1, sp2 - sp1 - 1),
                   head_end == std::string::npos ? "" : raw_sent_.substr(head_end + 4), reply);
    }
    raw_sent_.clear();
    return reply;
  }
  // Reads raw bytes up to and including `delimiter`.
  std::string read_until(std::string_view delimiter) {
    std::string out;
    char c;
    while (out.size() < delimiter.size() || out.substr(out.size() - delimiter.size()) != delimiter) {
      asio::read(socket_, asio::buffer(&c, 1));
      out += c;
    }
    return out;
  }
  // True when the server has closed the connection (the next read sees EOF or a reset).
  bool server_closed() {
    beast::error_code ec;
    char c;
    if (buffer_.size() > 0) return false;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  Reply read_reply() {
    Reply reply;
    bhttp::read(socket_, buffer_, reply);
    return reply;
  }

  static bool is_utf8_text(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      const auto c = static_cast<unsigned char>(s[i]);
      size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > s.size() || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return false;
      for (size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
      i += n;
    }
    return true;
  }
  static void append_json(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += ch;
      } else if (c < 0x20) {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += ch;
      }
    }
    out += '"';
  }
  // Appends one exchange to $JLIS_CONTRACT_LOG (under flock: parallel tests share the file).
  static void contract_log(const std::string& method, std::string_view target, std::string_view request_body,
                           const Reply& reply) {
    const char* path = std::getenv("JLIS_CONTRACT_LOG");
    if (path == nullptr || *path == 0) return;
    std::string line = "{\"method\":";
    append_json(line, method);
    line += ",\"target\":";
    append_json(line, target);
    line += ",\"status\":" + std::to_string(reply.result_int()) + ",\"content_type\":";
    auto ct = reply.find(bhttp::field::content_type);
    append_json(line, ct == reply.end() ? std::string_view() : std::string_view(ct->value().data(), ct->value().size()));
    if (!request_body.empty()) {
      if (is_utf8_text(request_body)) {
        line += ",\"request_body\":";
        append_json(line, request_body.substr(0, 4096));
      } else {
        line += ",\"request_bytes\":" + std::to_string(request_body.size());
      }
    }
    const std::string& body = reply.body();
    if (is_utf8_text(body)) {
      line += ",\"response_body\":";
      append_json(line, body);
    } else {
      line += ",\"response_bytes\":" + std::to_string(body.size());
    }
    line += "}\n";
    const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ::flock(fd, LOCK_EX);
    for (size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);  // releases the lock
  }

  std::string raw_sent_;  // bytes of send_raw since the last read()
  bool contract_ = true;
  asio::io_context ioc_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

}  // namespace jlis::http::testing
