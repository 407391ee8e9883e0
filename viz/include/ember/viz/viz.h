// viz: what a person looks at after (and during) a run. Depends on core only
// (for ember::Error): chart code takes plain numbers, graph pictures take
// DOT text. See docs/viz.md.
//
//   csv_logger.h   metrics.csv (flushed per row, resumable) and config.json
//   charts.h       line, grouped bar, roofline, heatmap, image-grid and timeline charts as SVG
//   ticks.h        nice tick values and scales (used by the charts)
//   svg.h          the SVG writer and the shared style (Okabe–Ito palette)
//   dot.h          DOT text -> SVG through Graphviz's `dot`
//   report.h       the self-contained report.html
//   tensorboard.h  TensorBoard event files, written by hand
//   progress.h     a terminal progress bar (plain lines when not a terminal)
//   io.h           atomic file writes
#pragma once

#include "ember/viz/charts.h"
#include "ember/viz/csv_logger.h"
#include "ember/viz/dot.h"
#include "ember/viz/io.h"
#include "ember/viz/progress.h"
#include "ember/viz/report.h"
#include "ember/viz/svg.h"
#include "ember/viz/tensorboard.h"
#include "ember/viz/ticks.h"
