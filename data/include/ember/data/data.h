// data: IDX reader, datasets, DataLoader, transforms. Depends on core only.
// The readers arrive with the MNIST training issue; this header marks the
// module's include root (ember/data/...).
#pragma once

#include "ember/core/tensor.h"
