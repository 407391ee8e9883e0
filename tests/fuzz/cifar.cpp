// Fuzz target: CIFAR binary files (ember::data::parse_cifar_records, the
// parser behind CifarDataset), each input tried as CIFAR-10 and as
// CIFAR-100. Seeds: corpus/cifar/. Bad input must be an ember::Error;
// anything else escaping is a finding.
#include <cstddef>
#include <cstdint>

#include <ember/core/error.h>
#include <ember/data/cifar.h>

namespace {

// Reads every byte of t, so that the sanitizers check it really holds as
// many elements as its shape says.
unsigned touch(const ember::Tensor& t) {
  if (!t.defined()) return 0;
  const auto* bytes = static_cast<const volatile uint8_t*>(t.raw_data());
  const size_t n = static_cast<size_t>(t.numel()) * ember::dtype_size(t.dtype());
  unsigned sum = 0;
  for (size_t i = 0; i < n; ++i) sum += bytes[i];
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (auto kind : {ember::data::CifarKind::Cifar10, ember::data::CifarKind::Cifar100}) {
    try {
      const ember::data::CifarRecords r = ember::data::parse_cifar_records(data, size, kind, "fuzz.bin");
      (void)(touch(r.images) + touch(r.labels) + touch(r.coarse_labels));
    } catch (const ember::Error&) {
    }
  }
  return 0;
}
