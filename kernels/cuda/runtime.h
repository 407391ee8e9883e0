// The CUDA device runtime (internal header): devices, their memory (Note
// [CUDA caching allocator]), their one stream, host transfers through
// pinned staging buffers, synchronization and the device error flag (Note
// [Device error flag] in device.h). On the emulator (EMBER_SIMT) the same
// functions run on host memory: one device, cuda:0.
#pragma once

#include <cstddef>

#include "allocator.h"
#include "device.h"

namespace ember::kernels::cuda {

// How many devices are usable: visible GPUs, or 1 on the emulator.
int device_count();
// The device's caching allocator.
CachingAllocator& device_allocator(int device);
// The device's one stream (a cudaStream_t; null on the emulator).
void* device_stream(int device);

// Host -> device, asynchronous: the bytes go through a pinned staging
// buffer, and the call returns once they are copied there. Bytes already in
// pinned memory (pinned_allocator) are copied straight from there.
void copy_from_host(int device, void* dst, const void* host_src, size_t nbytes);
// Note [Overlapped uploads]
// A batch's upload on the device's stream runs between two steps' kernels.
// On the copy stream it runs beside them, on the GPU's copy engine:
// start_upload queues host (pinned) -> device on the copy stream, after the
// work the device's stream holds so far (dst may be a block that work
// still uses: stream-ordered reuse, Note [CUDA caching allocator]), and
// returns an event; finish_upload makes the device's stream wait for it,
// so the kernels queued after finish_upload see the data, and those queued
// between the two calls run beside the copy. On the emulator both are
// immediate. A handle (the event) is consumed by finish_upload.
void* start_upload(int device, void* dst, const void* pinned_src, size_t nbytes);
void finish_upload(int device, void* upload);
// Device -> host: waits for the device's queued work and the copy, then
// checks the error flag.
void copy_to_host(int device, void* host_dst, const void* src, size_t nbytes);
// Device -> device on the device's stream.
void copy_on_device(int device, void* dst, const void* src, size_t nbytes);
// Waits for the device's queued work, then checks the error flag.
void synchronize(int device);
// Throws IndexError naming the op if a kernel recorded a bad index since
// the last check (and clears the flag). Reads device memory: call after a
// synchronization.
void check_error_flag(int device);

// Page-locked host memory (for staging and for the DataLoader's batches);
// on the emulator, ordinary host memory.
Allocator& pinned_allocator();

}  // namespace ember::kernels::cuda
