// The GPU's SM clock, read before and after a run (docs/benchmarks.md,
// "Clocks"). A GPU that overheats or hits its power limit lowers its clock,
// and every row timed after that is slower than the kernel is; the report
// says so rather than publish the slower figure as the kernel's own.
//
// The clock comes from `nvidia-smi --query-gpu=clocks.sm,clocks.max.sm`:
// NVML would do too, but nvml.h is not on our build machines, and the
// command line is there wherever the driver is. The maximum is reported
// beside the readings.
#pragma once

#include <string>

namespace ember::bench {

struct GpuClocks {
  int sm_mhz = -1, max_sm_mhz = -1;  // -1: unknown
  bool known() const { return sm_mhz > 0; }
};

// Parses nvidia-smi's "--format=csv,noheader,nounits" line, "1980, 1980";
// unknown values where the text is not two numbers ("[N/A], 1980").
GpuClocks parse_clocks(const std::string& csv_line);
// Runs nvidia-smi for the GPU at PCI bus id `bus_id` (nvidia-smi's own
// numbering is not CUDA's under CUDA_VISIBLE_DEVICES); unknown clocks if it
// is missing or fails.
GpuClocks read_gpu_clocks(const std::string& bus_id);
// "" when the clock held; otherwise a warning naming both readings: the SM
// clock after the run is below `tolerance` of the one before. Both must be
// read under load (ember-bench queues a burst of work first): an idle GPU
// parks its clock low, which is no throttling.
std::string throttle_warning(const GpuClocks& before, const GpuClocks& after, double tolerance = 0.9);

}  // namespace ember::bench
