#!/usr/bin/env python3
"""bench/results/distributed/summary.md and throughput.svg from the files
bench/distributed_speed.sh wrote (see there).

  python3 bench/summarize_distributed.py OUT COMMIT MPI_VERSION
"""
import csv, datetime, os, platform, statistics, subprocess, sys
out, commit, mpi = sys.argv[1:4]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = list(csv.DictReader(open(os.path.join(out, "throughput.csv"))))
med = {}
for cfg in ("1 rank x 2 threads", "2 ranks x 1 thread"):
    med[cfg] = statistics.median(float(r["samples_per_second"]) for r in rows if r["config"] == cfg)
lines = ["# Data-parallel training on one 2-core machine", "",
         f"- CPU: {cpu}, {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}",
         f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; Ember at {commit}; {mpi}",
         "- transport: shared memory (`--mca btl self,vader`), the two ranks on one machine", "",
         "## Throughput: 2 ranks x 1 thread against 1 rank x 2 threads", "",
         "ember-mnist's default CNN on the 7,996 MNIST digits, 2 epochs, the same 64 images a step "
         "(1 rank: batch 64; 2 ranks: 32 each); epoch 2's samples/s.", "",
         "| repeat | 1 rank x 2 threads | 2 ranks x 1 thread |", "|---|---|---|"]
for r in sorted({r["repeat"] for r in rows}, key=int):
    v = {x["config"]: x["samples_per_second"] for x in rows if x["repeat"] == r}
    lines.append(f"| {r} | {v.get('1 rank x 2 threads', '')} | {v.get('2 ranks x 1 thread', '')} |")
ratio = med["2 ranks x 1 thread"] / med["1 rank x 2 threads"]
lines += ["", "The repeats spread widely on this shared 2-core VM; read the medians, and the table for the spread."]
lines += ["", f"Median: 1 rank x 2 threads **{med['1 rank x 2 threads']:.0f}** samples/s, 2 ranks x 1 thread "
          f"**{med['2 ranks x 1 thread']:.0f}**; 2 ranks / 1 rank = **{ratio:.2f}**.", ""]
lines += ["## Communication per step", "",
          "ember-dist-steps: the default CNN under DistributedDataParallel, 2 ranks x 1 thread, batch 32 per rank, "
          "random images, 40 timed steps after 5 warm-up ones; medians. *In flight*: the time some all-reduce was "
          "running on the communication thread (from the profiler's trace); *blocked*: the time backward() waited "
          "at its end for the all-reduces to finish (DDP::last_wait_seconds), the only part the step pays for.", "",
          "| buckets | step ms | backward ms | all-reduce in flight ms (share of step) | blocked ms (share of step) |",
          "|---|---|---|---|---|"]
for cap in ("25", "0.25"):
    s = list(csv.DictReader(open(os.path.join(out, f"steps-{cap}mb.csv"))))
    m = lambda k: statistics.median(float(x[k]) for x in s)
    step = m("step_ms")
    lines.append(f"| {cap} MiB cap: {s[0]['buckets']} bucket(s) | {step:.1f} | {m('backward_ms'):.1f} | "
                 f"{m('allreduce_inflight_ms'):.2f} ({100 * m('allreduce_inflight_ms') / step:.1f}%) | "
                 f"{m('allreduce_wait_ms'):.2f} ({100 * m('allreduce_wait_ms') / step:.1f}%) |")
# The throughput chart: one group per repeat, then the medians.
wide = os.path.join(out, "throughput-chart.csv")
with open(wide, "w") as f:
    f.write("repeat,1 rank x 2 threads,2 ranks x 1 thread\n")
    for r in sorted({r["repeat"] for r in rows}, key=int):
        v = {x["config"]: x["samples_per_second"] for x in rows if x["repeat"] == r}
        f.write(f"{r},{v['1 rank x 2 threads']},{v['2 ranks x 1 thread']}\n")
    f.write(f"median,{med['1 rank x 2 threads']},{med['2 ranks x 1 thread']}\n")
subprocess.run(["build/release/examples/ember-plot", wide, "--bars", "-x", "repeat", "-y", "1 rank x 2 threads",
                "2 ranks x 1 thread", "-o", os.path.join(out, "throughput.svg"), "--title",
                "Default CNN, digits: 2 ranks x 1 thread vs 1 rank x 2 threads",
                "--y-label", "samples/s (epoch 2)"], check=True)
lines.insert(lines.index("## Communication per step") - 1, "\n![samples/s per repeat and the medians](throughput.svg)")
lines += ["", "## Overlap: one step's timeline (0.25 MiB buckets)", "",
          "![backward nodes on the main thread, all-reduces on the communication thread](timeline.svg)", "",
          "From the profiler's trace of rank 0's last timed step (trace.json opens in chrome://tracing or Perfetto); "
          "time 0 is the step's start (the broadcast of rank 0's buffers before the forward), so the empty start of "
          "the main lane is the forward. "
          "Backward reaches the last layers' gradients first; as soon as a bucket's gradients are all accumulated its "
          "all-reduce starts on the communication thread while the main thread computes the next ConvBackward. "
          "Only the last bucket (the first layers, whose gradients come last) is waited for.", ""]
open(os.path.join(out, "summary.md"), "w").write("\n".join(lines))
print("\n".join(lines))
