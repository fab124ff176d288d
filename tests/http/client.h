// A minimal synchronous HTTP/1.1 client over loopback for the server tests.
#pragma once

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
  explicit Client(uint16_t port) : socket_(ioc_) {
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
    return read();
  }
  Reply get(std::string target, const Headers& headers = {}) {
    return request(bhttp::verb::get, std::move(target), "", headers);
  }

  void send_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  Reply read() {
    Reply reply;
    bhttp::read(socket_, buffer_, reply);
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
  asio::io_context ioc_;
  asio::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
};

}  // namespace jlis::http::testing
