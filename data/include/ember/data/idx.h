// IDX files: the format MNIST and Fashion-MNIST ship in (LeCun et al.).
//
// Note [IDX format]
//   bytes 0-1   0x00 0x00                 magic: always zero
//   byte  2     type code                 0x08 uint8, 0x09 int8, 0x0B int16,
//                                         0x0C int32, 0x0D float32, 0x0E float64
//   byte  3     ndim                      number of dimensions
//   4*ndim      sizes                     one big-endian uint32 per dim, outermost first
//   rest        data                      row-major, multi-byte values big-endian
// Nothing may follow the data. MNIST's image files are [N, 28, 28] uint8 and
// its label files [N] uint8.
//
// Files may be gzip-compressed (the usual `.gz` distribution). The reader
// detects gzip by its magic bytes (1f 8b), not by the file name, so a
// renamed file still opens. Every defect (missing file, bad magic, unknown
// type code, a size that disagrees with the header, a truncated or corrupt
// gzip stream, trailing bytes) throws ember::FileError naming the file and
// what is wrong; nothing is allocated from an unchecked header size. A gzip
// file may hold several members (as `cat a.gz b.gz` makes); anything else
// after the last one is a corrupt stream.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "ember/core/tensor.h"

namespace ember::data {

/// Reads an IDX file, raw or gzip, into a CPU tensor with the file's dims.
/// uint8 stays uint8; int8/int16/int32 widen to int64; float32 and float64
/// keep their width.
Tensor read_idx(const std::filesystem::path& path);

/// The same parse for an IDX file held in memory (raw or gzip, told apart by
/// the magic bytes), with every check read_idx makes; `source` names it in
/// error messages (read_idx loads the file and calls this parser).
Tensor parse_idx(std::string_view bytes, const std::string& source = "<memory>");

/// Writes a CPU tensor (any layout) as IDX: uint8 -> 0x08, int64 -> 0x0C
/// (values must fit in int32), float32 -> 0x0D, float64 -> 0x0E. Gzip when
/// the name ends in ".gz". The file is written to a temporary name and
/// renamed into place, so a failed write never leaves a half file behind.
void write_idx(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace ember::data
