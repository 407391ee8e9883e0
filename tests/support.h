// Shared test helpers: random inputs in several memory layouts, and a
// float64 reference ("Ref": a shape and row-major doubles) to check ops
// against, with plain loops that are obviously right.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <ember/ember.h>

namespace ember::test {

// A fresh folder under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("ember_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);  // a leftover of an earlier process with this pid
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  std::vector<std::string> names() const {  // what the directory holds, sorted
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// Sets the CPU thread count for one scope and restores it after.
struct ThreadCount {
  int old = get_num_threads();
  explicit ThreadCount(int n) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(old); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;
};

// How a test input is laid out in memory.
enum class Layout { Contiguous, Transposed, Strided };
inline const char* layout_name(Layout l) {
  return l == Layout::Contiguous ? "contiguous" : l == Layout::Transposed ? "transposed" : "strided";
}

// Uniform values in [lo, hi) with the given shape and layout, on `device`
// (made on the CPU, so the values are the same for every device, then laid
// out there). Transposed: the last two dims are swapped in memory; Strided:
// every other element of a twice-as-long last dim.
inline Tensor random_input(const Shape& shape, DType dtype, Layout layout, double lo = -2, double hi = 2,
                           uint64_t seed = 1, Device device = kCPU) {
  Generator gen(seed);
  auto make = [&](const Shape& s) {
    return (rand(s, {.dtype = DType::Float64}, &gen) * (hi - lo) + lo).to(device);
  };
  Tensor t;
  if (layout == Layout::Transposed && shape.size() >= 2) {
    Shape swapped = shape;
    std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
    t = make(swapped).to(dtype).transpose(-1, -2);
  } else if (layout == Layout::Strided && !shape.empty()) {
    Shape wide = shape;
    wide.back() *= 2;
    t = make(wide).to(dtype).slice(-1, 0, wide.back(), 2);
  } else {
    t = make(shape).to(dtype);
  }
  return t;
}

struct Ref {
  Shape shape;
  std::vector<double> v;
  int64_t numel() const { return ember::numel(shape); }
};

inline Ref ref_of(const Tensor& t) { return {t.shape(), t.to(DType::Float64).to_vector<double>()}; }

// Row-major multi-index of flat position i.
inline std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

// Flat position in `shape` of the out-index `idx` under broadcasting.
inline int64_t broadcast_index(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t flat = 0;
  size_t lead = idx.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + (shape[d] == 1 ? 0 : idx[lead + d]);
  return flat;
}

inline Shape ref_broadcast(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    out[i] = std::max(da, db);
  }
  return out;
}

inline Ref ref_binary(const Ref& a, const Ref& b, const std::function<double(double, double)>& f) {
  Ref out{ref_broadcast(a.shape, b.shape), {}};
  for (int64_t i = 0; i < out.numel(); ++i) {
    auto idx = unravel(i, out.shape);
    out.v.push_back(f(a.v[broadcast_index(idx, a.shape)], b.v[broadcast_index(idx, b.shape)]));
  }
  return out;
}

inline Ref ref_unary(const Ref& a, const std::function<double(double)>& f) {
  Ref out{a.shape, {}};
  for (double x : a.v) out.v.push_back(f(x));
  return out;
}

// Reduces `dims` (sorted, non-empty means those dims; empty means all) with
// f over each group's values.
inline Ref ref_reduce(const Ref& a, std::vector<int64_t> dims, bool keepdim,
                      const std::function<double(const std::vector<double>&)>& f) {
  if (dims.empty())
    for (int64_t d = 0; d < static_cast<int64_t>(a.shape.size()); ++d) dims.push_back(d);
  for (auto& d : dims)
    if (d < 0) d += static_cast<int64_t>(a.shape.size());
  Shape kept = a.shape;
  for (int64_t d : dims) kept[d] = 1;
  std::vector<std::vector<double>> groups(static_cast<size_t>(numel(kept)));
  for (int64_t i = 0; i < a.numel(); ++i) {
    auto idx = unravel(i, a.shape);
    for (int64_t d : dims) idx[d] = 0;
    int64_t g = 0;
    for (size_t d = 0; d < kept.size(); ++d) g = g * kept[d] + idx[d];
    groups[g].push_back(a.v[i]);
  }
  Ref out;
  for (size_t d = 0; d < kept.size(); ++d)
    if (keepdim || std::find(dims.begin(), dims.end(), static_cast<int64_t>(d)) == dims.end())
      out.shape.push_back(kept[d]);
  for (auto& g : groups) out.v.push_back(f(g));
  return out;
}

// (m, k) x (k, n) by three nested loops.
inline Ref ref_matmul2d(const Ref& a, const Ref& b) {
  int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  Ref out{{m, n}, std::vector<double>(m * n, 0.0)};
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) out.v[i * n + j] += a.v[i * k + p] * b.v[p * n + j];
  return out;
}

// Checks shape first, then every value within atol + rtol * |ref|.
inline void check_close(const Tensor& got, const Ref& want, double rtol, double atol, const std::string& what) {
  INFO(what);
  INFO("got shape " << shape_str(got.shape()) << ", expected " << shape_str(want.shape));
  REQUIRE(got.shape() == want.shape);
  std::vector<double> g = got.to(DType::Float64).to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok = (std::isnan(g[i]) && std::isnan(want.v[i])) || g[i] == want.v[i] ||
              std::abs(g[i] - want.v[i]) <= atol + rtol * std::abs(want.v[i]);
    if (!ok) {
      INFO("element " << i << ": got " << g[i] << ", expected " << want.v[i]);
      REQUIRE(ok);
    }
  }
}


// REQUIRE_THROWS_AS plus a check that the message contains each fragment.
#define REQUIRE_THROWS_WITH_ALL(expr, ErrorType, ...)                                                    \
  do {                                                                                                   \
    bool thrown_ = false;                                                                                \
    try {                                                                                                \
      (void)(expr);                                                                                      \
    } catch (const ErrorType& e_) {                                                                      \
      thrown_ = true;                                                                                    \
      std::string msg_ = e_.what();                                                                      \
      for (std::string frag_ : {__VA_ARGS__}) {                                                          \
        INFO("message: " << msg_ << "\nmissing: " << frag_);                                             \
        CHECK(msg_.find(frag_) != std::string::npos);                                                   \
      }                                                                                                  \
    }                                                                                                    \
    INFO(#expr " should throw " #ErrorType);                                                             \
    REQUIRE(thrown_);                                                                                    \
  } while (0)

}  // namespace ember::test
