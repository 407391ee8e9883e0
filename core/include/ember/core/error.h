// Errors. Every user mistake (wrong shape, dtype, device, dim, index, file)
// throws a subclass of ember::Error whose message names the op and the
// shapes involved. Internal invariants use EMBER_ASSERT, which reports file
// and line: if one fires, Ember has a bug, not the user.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error { using Error::Error; };    // incompatible shapes
class DTypeError : public Error { using Error::Error; };    // unsupported or mismatched dtype
class DeviceError : public Error { using Error::Error; };   // mismatched or missing device
class IndexError : public Error { using Error::Error; };    // dim or index out of range
class ValueError : public Error { using Error::Error; };    // any other bad argument
class AutogradError : public Error { using Error::Error; };  // misuse of the autograd graph
class FileError : public Error { using Error::Error; };      // missing, unreadable or malformed file
class InternalError : public Error { using Error::Error; };  // a broken invariant: a bug in Ember
class OutOfMemory : public Error { using Error::Error; };    // a device (or the host) has no memory left
class AnomalyError : public Error { using Error::Error; };   // a NaN or Inf that anomaly mode caught
class DistributedError : public Error { using Error::Error; };  // a collective failed or timed out (a rank died)

namespace detail {
// Builds a message from any streamable pieces: concat("got ", 3, " dims").
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, ShapeError, "add: shapes ", a, " and ", b, " ...");
#define EMBER_CHECK(cond, ErrorType, ...)                        \
  do {                                                           \
    if (!(cond)) throw ::ember::ErrorType(::ember::detail::concat(__VA_ARGS__)); \
  } while (0)

// Internal invariant; never triggered by user input.
#define EMBER_ASSERT(cond)                                                           \
  do {                                                                               \
    if (!(cond))                                                                     \
      throw ::ember::InternalError(::ember::detail::concat(                          \
          "internal assert failed: ", #cond, " at ", __FILE__, ":", __LINE__));      \
  } while (0)
