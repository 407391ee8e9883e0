// data: everything to feed a model from IDX or CIFAR files, on core only (no
// autograd, no nn): the IDX reader/writer, Dataset/TensorDataset/Subset,
// MNIST-style and CIFAR datasets, the DataLoader with its prefetch thread,
// and the transforms. docs/data.md walks through it.
#pragma once

#include "ember/data/cifar.h"
#include "ember/data/dataset.h"
#include "ember/data/idx.h"
#include "ember/data/loader.h"
#include "ember/data/mnist.h"
#include "ember/data/random.h"
#include "ember/data/transforms.h"
