// viz: CSV logger, SVG charts, HTML report. Depends on core at most: chart
// code takes plain numbers. Arrives with the viz issue; this header marks the
// module's include root (ember/viz/...).
#pragma once

#include "ember/core/tensor.h"
