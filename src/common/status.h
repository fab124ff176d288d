// Status and Result: how errors cross module boundaries (no exceptions across a public header).
//
// A Status is either ok or carries a Code and a human-readable message. The message is safe to show
// to the caller: it never contains a My Number, a name, an address, a token or a key. The Code says
// what kind of failure it is; the HTTP layer maps it to a status (see code_http_status).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace jlis {

enum class Code {
  ok,
  invalid_argument,     // the input is malformed (400)
  unauthenticated,      // no or unknown credentials (401)
  permission_denied,    // authenticated, but not allowed (403)
  not_found,            // the named thing does not exist (404)
  conflict,             // contradicts the current state of the record (409)
  unavailable,          // try again later (503)
  internal,             // a bug or an environment failure (500)
};

// The stable lower-case name of a code, as used in JSON errors ("invalid_argument").
std::string_view code_name(Code code);
// The code named `name` (code_name's inverse); nullopt for a name that is not a code's.
std::optional<Code> parse_code_name(std::string_view name);
// The HTTP status that a failure of this code answers with.
int code_http_status(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: date is not YYYY-MM-DD" (or "ok").
  std::string to_string() const;

 private:
  Code code_ = Code::ok;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {Code::invalid_argument, std::move(m)}; }
inline Status unauthenticated(std::string m) { return {Code::unauthenticated, std::move(m)}; }
inline Status permission_denied(std::string m) { return {Code::permission_denied, std::move(m)}; }
inline Status not_found(std::string m) { return {Code::not_found, std::move(m)}; }
inline Status conflict(std::string m) { return {Code::conflict, std::move(m)}; }
inline Status unavailable(std::string m) { return {Code::unavailable, std::move(m)}; }
inline Status internal_error(std::string m) { return {Code::internal, std::move(m)}; }

// A value of T or a failed Status. Constructing a Result from an ok Status is a bug.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).is_ok());
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace jlis

// Early return of a failed Status from a function returning Status or Result<T>.
#define JLIS_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::jlis::Status jlis_status_ = (expr);       \
    if (!jlis_status_.is_ok()) return jlis_status_; \
  } while (0)

#define JLIS_CONCAT_INNER(a, b) a##b
#define JLIS_CONCAT(a, b) JLIS_CONCAT_INNER(a, b)
// `JLIS_ASSIGN_OR_RETURN(auto x, f());` binds x to the value or returns the failed Status.
#define JLIS_ASSIGN_OR_RETURN(lhs, expr) \
  JLIS_ASSIGN_OR_RETURN_IMPL(JLIS_CONCAT(jlis_result_, __LINE__), lhs, expr)
#define JLIS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
