// Fuzz target: safetensors bytes (ember::deserialize_safetensors, which
// load_safetensors shares every check with). A file that loads must also
// survive a round trip: serialized again and read back, it holds the same
// tensors and metadata (a mismatch aborts, so libFuzzer keeps the input).
// Seeds: corpus/safetensors/.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <ember/core/error.h>
#include <ember/nn/safetensors.h>

namespace {

bool same(const ember::SafetensorsContents& a, const ember::SafetensorsContents& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& [name_a, ta] = a.tensors[i];
    const auto& [name_b, tb] = b.tensors[i];
    if (name_a != name_b || ta.dtype() != tb.dtype() || ta.shape() != tb.shape()) return false;
    const size_t n = static_cast<size_t>(ta.numel()) * ember::dtype_size(ta.dtype());
    if (n > 0 && std::memcmp(ta.raw_data(), tb.raw_data(), n) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::SafetensorsContents first;
  try {
    first = ember::deserialize_safetensors({reinterpret_cast<const char*>(data), size}, "fuzz.safetensors");
  } catch (const ember::Error&) {
    return 0;
  }
  // Everything that loaded must write and load again, unchanged.
  const std::string again = ember::serialize_safetensors(first.tensors, first.metadata);
  if (!same(first, ember::deserialize_safetensors(again, "round trip"))) {
    std::fprintf(stderr, "safetensors: the round trip changed the contents\n");
    std::abort();
  }
  return 0;
}
