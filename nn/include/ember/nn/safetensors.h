// The safetensors file format: named tensors plus string metadata, readable
// by PyTorch (safetensors.torch) and written by it. This is only the file
// layer; Module::state_dict and training checkpoints sit on top of it.
//
// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// header, then the raw little-endian tensor bytes (docs/serialization.md
// walks through one byte by byte). Reading treats the file as hostile: every
// number in the header is checked against the file before it is used, so a
// corrupt or truncated file throws FileError naming the path and the problem
// and never reads out of bounds.
//
// Writing goes to a temporary file in the target's directory that is renamed
// into place, so a failed save leaves no partial file and an existing file
// untouched.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using SafetensorsMetadata = std::map<std::string, std::string>;

/// What a safetensors file holds.
struct SafetensorsContents {
  NamedTensors tensors;          // dense CPU tensors, sorted by name (bytewise)
  SafetensorsMetadata metadata;  // the "__metadata__" object; empty if absent
  std::string source;            // the path (or "<memory>"), for error messages

  /// The tensor called `name`, or nullptr.
  const Tensor* find(std::string_view name) const;
  /// The tensor called `name`; throws FileError naming the source if absent.
  const Tensor& at(std::string_view name) const;
};

/// Writes `tensors` (any device, layout or dtype Ember has) and `metadata` to
/// `path` atomically. Data is laid out by element size (8-byte dtypes first),
/// then by name, so every tensor is aligned to its element size in the file;
/// the header lists "__metadata__" first, then the tensors in that order.
/// Throws ValueError for bad input (duplicate or reserved name, undefined
/// tensor, invalid UTF-8) before touching the disk, FileError if writing fails.
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const SafetensorsMetadata& metadata = {});

/// Reads and validates a whole file; see docs/serialization.md for the rules.
/// Throws FileError ("load_safetensors: <path>: <problem>") on any violation.
SafetensorsContents load_safetensors(const std::filesystem::path& path);

/// The bytes save_safetensors would write (same layout), for in-memory use.
std::string serialize_safetensors(const NamedTensors& tensors, const SafetensorsMetadata& metadata = {});

/// Parses a whole file held in memory, with the same checks as
/// load_safetensors; `source` names it in error messages.
SafetensorsContents deserialize_safetensors(std::string_view bytes, const std::string& source = "<memory>");

}  // namespace ember
