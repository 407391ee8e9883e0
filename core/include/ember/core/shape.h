// Shapes, strides and the index arithmetic every op shares.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember {

using Shape = std::vector<int64_t>;    // sizes, outermost first
using Strides = std::vector<int64_t>;  // in elements, not bytes

int64_t numel(const Shape& shape);
// Row-major strides of a dense tensor of this shape.
Strides contiguous_strides(const Shape& shape);
// "[2, 3]". (Shape is a std::vector, so there is no operator<<: use this.)
std::string shape_str(const Shape& shape);
// NumPy broadcasting of two shapes; throws ShapeError naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Maps a possibly negative dim into [0, ndim); throws IndexError naming `op`.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);
// Normalizes a list of dims (empty = all dims), sorted and without repeats.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op);

}  // namespace ember
