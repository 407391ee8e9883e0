// Fuzz target: IDX files, raw and gzip (ember::data::parse_idx, the parser
// behind read_idx and so behind every MNIST dataset). Seeds: corpus/idx/.
// Bad input must be an ember::Error; anything else escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <ember/core/error.h>
#include <ember/data/idx.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ember::Tensor t = ember::data::parse_idx({reinterpret_cast<const char*>(data), size}, "fuzz.idx");
    // Read every byte of the result, so that the sanitizers check the
    // tensor really holds as many elements as its shape says.
    const auto* bytes = static_cast<const volatile uint8_t*>(t.raw_data());
    const size_t n = static_cast<size_t>(t.numel()) * ember::dtype_size(t.dtype());
    unsigned sum = 0;
    for (size_t i = 0; i < n; ++i) sum += bytes[i];
    (void)sum;
  } catch (const ember::Error&) {
  }
  return 0;
}
