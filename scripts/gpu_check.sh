#!/usr/bin/env bash
# The GPU check: what runs on a GPU machine, in one call of at most 9
# minutes (docs/cuda.md, "On a GPU machine"). Each step runs under its own
# timeout, and the one-page summary is rewritten after every step, so a
# call cut short still says how far it got.
#
#   bash scripts/gpu_check.sh [--dry-run] [--only STEP] [--carry DIR] [--out DIR] [--deadline SECONDS]
#
# Steps (budget in seconds):
#   build      240  CMake + nvcc (sm_90): test_cuda, ember-mnist, ember-bench, ember-bench-cuda-memory
#   tests       90  the CUDA test suite (op tables on cuda:ember and cuda:cudnn, launch paths, runtime)
#   train      150  ember-mnist on cuda:0: the default recipe (CNN, 15 epochs) for seeds 0, 1 and 2; the
#                   mean test accuracy must be within 0.3 points of the CPU's (bench/results/mnist/cpu-seeds.csv)
#   bench      150  ember-bench --quick (every family against cuda:cudnn, 60 s at most), ember-bench-cuda-memory
#                   and the PyTorch twins; the default CNN for 3 epochs, Ember (graphs) and PyTorch eager
#   cifar      150  ember-mnist: one epoch of ResNet-18 (the CIFAR recipe, batch 128) on 50,000 synthetic
#                   CIFAR-10-format images (scripts/make_synthetic_cifar.py), timed; no accuracy is claimed
#   nccl        60  ember-mnist train --distributed on cuda:0 without mpirun: a world of one whose gradient
#                   all-reduces go through NCCL (the startup line must say "backend nccl")
#   memcheck    90  compute-sanitizer memcheck over the kernels' and the CUDA graphs' tests
#   racecheck   90  compute-sanitizer racecheck and synccheck, shared-memory and shuffle kernels
# A step whose tool answers "Device not supported" (compute-sanitizer under
# gVisor) is "skipped", not "failed". The sanitizers come last: they get
# what the figures leave. The whole run stops at --deadline (default 520 s): a step
# that would run past it gets what is left, or is skipped.
#
# Output ($OUT, or --out; 3 files): summary.md (the tables), logs.tar.gz
# (every step's log and run directory, no weights) and figures.tar.gz (the
# benchmarks' CSV and JSON files).
set -uo pipefail
cd "$(dirname "$0")/.."

STEPS=(build tests train bench cifar nccl memcheck racecheck)
declare -A BUDGET=([build]=240 [tests]=90 [train]=150 [bench]=150 [cifar]=150 [nccl]=60 [memcheck]=90 [racecheck]=90)
declare -A RESULT TIME NOTE

dry=0 only="" carry=.gpu-carry out="${OUT:-$PWD/gpu-check-out}" deadline=520
build_dir=build/gpu-check
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --dry-run) dry=1 ;;
    --only) only=${2:?--only needs a step}; shift ;;
    --carry) carry=${2:?}; shift ;;
    --out) out=${2:?}; shift ;;
    --deadline) deadline=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $only && -z ${BUDGET[$only]:-} ]]; then
  echo "gpu_check.sh: --only $only: no such step (steps: ${STEPS[*]})" >&2
  exit 2
fi

started=$(date +%s)

# ---- the machine ----

if [[ $dry == 0 ]] && ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "gpu_check.sh: no NVIDIA GPU is visible here (nvidia-smi lists none). This script runs on the GPU" >&2
  echo "machine (docs/cuda.md); here, --dry-run shows what it would do, and the CUDA tests run on the" >&2
  echo "SIMT emulator (cmake --preset cuda-emu)." >&2
  exit 3
fi

work=$(mktemp -d /tmp/gpu-check.XXXXXX)
figs=$work/figures  # the benchmarks' CSV and JSON files, returned as figures.tar.gz
mkdir -p "$figs"
[[ $dry == 0 ]] && mkdir -p "$out"

# cuDNN, cuBLAS and NCCL by their versioned names: on the GPU machine they
# live inside Python packages (nvidia-cudnn-cu13, nvidia-cublas, ...). Only
# recorded: Ember links none of them yet, and putting those folders on
# LD_LIBRARY_PATH could hand our programs the packages' libcudart instead of
# the toolkit's they were built with.
find_lib() {
  local name=$1 dirs
  dirs=$(timeout 20 python3 -c 'import sys; print("\n".join(p for p in sys.path if p))' 2>/dev/null)
  for d in $dirs /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do
    [[ -d $d ]] || continue
    local hit
    hit=$(timeout 20 find "$d" -maxdepth 4 -name "$name" 2>/dev/null | head -1)
    [[ -n $hit ]] && { echo "$hit"; return; }
  done
}
libs=""
for lib in libcudnn.so.9 libcublas.so.13 libnccl.so.2; do
  path=$( [[ $dry == 0 ]] && find_lib $lib )
  libs+="| $lib | ${path:-not found} |"$'\n'
done

versions() {
  echo "| what | version |"
  echo "| --- | --- |"
  echo "| commit | $(head -1 "$carry/COMMIT" 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown) $(sed -n 2p "$carry/COMMIT" 2>/dev/null) |"
  echo "| GPU | $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1) |"
  echo "| nvcc | $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*') |"
  echo "| host compiler | $(c++ --version 2>/dev/null | head -1) |"
  echo "| CMake | $(cmake --version 2>/dev/null | head -1) |"
  echo "| compute-sanitizer | $(compute-sanitizer --version 2>/dev/null | grep -i version | head -1) |"
  echo "| PyTorch | $(timeout 60 python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())' 2>/dev/null) |"
  echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores |"
}
[[ $dry == 0 ]] && versions >"$work/versions.md" 2>/dev/null

write_summary() {
  {
    echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "scripts/gpu_check.sh${only:+ --only $only}; $(( $(date +%s) - started )) s so far. Logs: logs.tar.gz."
    echo
    echo "## Machine"
    echo
    cat "$work/versions.md" 2>/dev/null
    echo
    echo "| library | found at |"
    echo "| --- | --- |"
    printf '%s' "$libs"
    echo
    echo "## Steps"
    echo
    echo "| step | result | seconds | budget | note |"
    echo "| --- | --- | --- | --- | --- |"
    for s in "${STEPS[@]}"; do
      echo "| $s | ${RESULT[$s]:-not run} | ${TIME[$s]:-} | ${BUDGET[$s]} | ${NOTE[$s]:-} |"
    done
    if [[ -f $work/accuracy.md ]]; then
      echo
      echo "## The default recipe on the GPU, three seeds, against the CPU's"
      echo
      cat "$work/accuracy.md"
    fi
    if [[ -f $work/bench.md ]]; then
      echo
      echo "## Memory-bound kernels, quick mode (GB/s, higher is better)"
      echo
      cat "$work/bench.md"
    fi
    if [[ -f $work/epoch.md ]]; then
      echo
      echo "## The default CNN's training speed on the GPU: batch 64, no augmentation, 3 epochs"
      echo
      cat "$work/epoch.md"
    fi
    if [[ -f $figs/ember-bench/bench.md ]]; then
      echo
      echo "## ember-bench --quick: every kernel family against cuBLAS/cuDNN (figures/ember-bench/)"
      echo
      sed '1d; s/^## /### /' "$figs/ember-bench/bench.md"
    fi
  } >"$out/summary.md"
  tar -czf "$out/logs.tar.gz" --exclude='*.safetensors' --exclude=figures -C "$work" . 2>/dev/null
  tar -czf "$out/figures.tar.gz" -C "$work" figures 2>/dev/null
}

[[ $dry == 0 ]] && write_summary  # something comes back even if the build is cut short

# ---- running a step ----

# run_step NAME COMMAND: runs COMMAND (a bash string) under the step's
# timeout, its output in NAME.log; then classifies it.
run_step() {
  local name=$1 cmd=$2 budget=${BUDGET[$1]}
  local left=$(( deadline - ($(date +%s) - started) ))
  (( left - 5 < budget )) && budget=$(( left - 5 ))  # timeout's --kill-after may add 5 s
  if [[ $dry == 1 ]]; then
    printf '[%s] timeout %ss: %s\n' "$name" "${BUDGET[$name]}" "$cmd"
    return
  fi
  if (( budget < 10 )); then
    RESULT[$name]=skipped NOTE[$name]="no time left before the ${deadline} s deadline"
    write_summary
    return
  fi
  if [[ $name != build && ${RESULT[build]:-} == FAILED ]]; then
    RESULT[$name]=skipped NOTE[$name]="the build failed"
    write_summary
    return
  fi
  echo "== $name (timeout ${budget}s)"
  local t0=$(date +%s) rc
  timeout --kill-after=5 "$budget" bash -c "$cmd" >"$work/$name.log" 2>&1
  rc=$?
  TIME[$name]=$(( $(date +%s) - t0 ))
  if grep -q "Device not supported" "$work/$name.log"; then
    RESULT[$name]=skipped NOTE[$name]="compute-sanitizer: Device not supported on this machine"
  elif [[ $rc == 77 ]] && grep -q SKIPPED "$work/$name.log"; then
    RESULT[$name]=FAILED NOTE[$name]="the program saw no CUDA device: $(grep -m1 SKIPPED "$work/$name.log")"
  elif [[ $rc == 0 ]]; then
    RESULT[$name]=passed
  elif [[ $rc == 124 || $rc == 137 ]] && (( TIME[$name] >= budget )); then
    RESULT[$name]=FAILED NOTE[$name]="timed out after ${budget} s"
  else
    RESULT[$name]=FAILED NOTE[$name]="exit code $rc; last line: $(tail -1 "$work/$name.log" | tr '|' '/' | cut -c1-160)"
  fi
  echo "   ${RESULT[$name]} in ${TIME[$name]} s ${NOTE[$name]:-}"
  write_summary
}

want() { [[ -z $only || $only == "$1" ]]; }

# ---- the steps ----

jobs=$(nproc 2>/dev/null || echo 4)
generator=$(command -v ninja >/dev/null && echo Ninja || echo "Unix Makefiles")
cmake_args=(-S . -B "$build_dir" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON
            -DCMAKE_CUDA_ARCHITECTURES=90 -DEMBER_NATIVE=ON)
if [[ -d $carry/cmake ]]; then  # scripts/gpu_prepare.sh's header-only libraries and zlib
  for pkg in Eigen3 Catch2 nlohmann_json CLI11; do cmake_args+=(-D${pkg}_DIR="$PWD/$carry/cmake"); done
  cmake_args+=(-DZLIB_INCLUDE_DIR="$PWD/$carry/include" -DZLIB_LIBRARY="$PWD/$carry/lib/libz.a")
fi
targets="test_cuda ember-mnist ember-bench ember-bench-cuda-memory"
test_cuda="$build_dir/tests/test_cuda"
sanitizer="compute-sanitizer --error-exitcode 3 --print-limit 20"

want build && run_step build "cmake $(printf '%q ' "${cmake_args[@]}") && cmake --build $build_dir -j $jobs --target $targets"
want tests && run_step tests "$test_cuda --durations yes"
# The default recipe on the GPU for three seeds, against the CPU's three
# (committed; the CPU runs take minutes this budget does not have).
want train && run_step train "for seed in 0 1 2; do \
  $build_dir/examples/ember-mnist train --device cuda --seed \$seed --data-dir datasets/mnist-digits \
    --out $work/run-cuda-\$seed || exit 1; done && \
  python3 scripts/compare_accuracy.py --cpu bench/results/mnist/cpu-seeds.csv --runs $work/run-cuda-0 \
    $work/run-cuda-1 $work/run-cuda-2 --points 0.3 >$work/accuracy.md; rc=\$?; cat $work/accuracy.md; exit \$rc"
if want bench; then
  # ember-bench's status is the step's (a FAILED row exits 1), but only after
  # the other figures are taken: they say something either way.
  run_step bench "eb=0; $build_dir/bench/ember-bench --device cuda --quick --time-limit-s 60 \
      --out $figs/ember-bench || eb=\$?; \
    $build_dir/bench/ember-bench-cuda-memory --quick --csv $figs/bench-ember.csv && \
    python3 bench/torch_cuda_memory.py --quick --csv $figs/bench-torch.csv && \
    python3 bench/torch_sgemm.py --quick --csv $figs/sgemm-torch.csv && \
    python3 bench/torch_conv.py --quick --csv $figs/conv-torch.csv && \
    $build_dir/examples/ember-mnist train --device cuda --epochs 3 --augment 0 --data-dir datasets/mnist-digits \
      --out $work/speed-ember && cp $work/speed-ember/metrics.csv $figs/epoch-ember.csv && \
    python3 bench/torch_lenet_speed.py --model cnn --device cuda --epochs 3 --config gpu-eager >$figs/epoch-torch.json \
    && exit \$eb"
  if [[ $dry == 0 && -f $figs/bench-ember.csv && -f $figs/bench-torch.csv ]]; then
    python3 - "$figs/bench-ember.csv" "$figs/bench-torch.csv" >"$work/bench.md" <<'EOF'
import csv, sys
ember = {r["case"]: r for r in csv.DictReader(open(sys.argv[1]))}
torch = {r["case"]: r for r in csv.DictReader(open(sys.argv[2]))}
print("| case | shape | Ember | PyTorch | Ember / PyTorch |")
print("| --- | --- | --- | --- | --- |")
for name, e in ember.items():
    t = torch.get(name)
    tg = float(t["gbps"]) if t else float("nan")
    print(f"| {name} | {e['shape']} | {float(e['gbps']):.0f} | {tg:.0f} | {float(e['gbps']) / tg:.2f} |")
EOF
    write_summary
  fi
  if [[ $dry == 0 && -f $figs/epoch-ember.csv && -s $figs/epoch-torch.json ]]; then
    python3 - "$figs/epoch-ember.csv" "$figs/epoch-torch.json" >"$work/epoch.md" <<'EOF'
import csv, json, statistics, sys
ember = [float(r["samples_per_second"]) for r in csv.DictReader(open(sys.argv[1]))][1:]
torch = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])["samples_per_second"][1:]
e, t = statistics.median(ember), statistics.median(torch)
print("| framework | samples/s (median of epochs 2-3) |")
print("| --- | --- |")
print(f"| Ember (CUDA graphs, Ember's kernels) | {e:.0f} |")
print(f"| PyTorch eager (cuDNN, TF32 off) | {t:.0f} |")
print()
print(f"Ember / PyTorch: {e / t:.2f}x (the goal: at least 2x).")
EOF
    write_summary
  fi
fi

# One CIFAR-10 epoch on made-up images: the time is what it says; the
# images are not photographs, so the accuracy means nothing.
want cifar && run_step cifar "python3 scripts/make_synthetic_cifar.py $work/cifar10 --train 50000 --test 10000 && \
  $build_dir/examples/ember-mnist train --device cuda --dataset cifar10 --data-dir $work/cifar10 --epochs 1 \
    --out $work/cifar-run && cp $work/cifar-run/metrics.csv $figs/cifar-epoch-ember.csv && \
  cut -d, -f1,8,9 $work/cifar-run/metrics.csv"

# NCCL in a world of one (the machine has no MPI): the DDP all-reduces of a
# short --distributed run go through ncclAllReduce on the device's stream.
want nccl && run_step nccl "$build_dir/examples/ember-mnist train --distributed --device cuda --epochs 1 \
    --train-limit 2048 --data-dir datasets/mnist-digits --out $work/nccl-run | tee $work/nccl.log && \
  grep -q 'data-parallel: world 1, backend nccl' $work/nccl.log"

# The kernel tests, the graph tests and every table but the gradient ones
# (the same kernels, many more launches).
want memcheck && run_step memcheck "$sanitizer --tool memcheck $test_cuda '[kernels],[graph],[tables]~*gradcheck*'"
want racecheck && run_step racecheck "$sanitizer --tool racecheck $test_cuda '[shared]' && \
  $sanitizer --tool synccheck $test_cuda '[shared]'"

[[ $dry == 1 ]] && { echo "(dry run: nothing was run; output would go to $out)"; exit 0; }
write_summary
echo "summary: $out/summary.md"
for s in "${STEPS[@]}"; do [[ ${RESULT[$s]:-} == FAILED ]] && exit 1; done
exit 0
