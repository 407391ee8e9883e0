#!/usr/bin/env bash
# CPU micro-benchmarks, Ember and PyTorch side by side in ONE run (issue 4).
# Writes bench/results/cpu/ (or --out DIR):
#   micro.csv            framework,config,case,shape,threads,median_ms,gflops,gbps
#   torch_configs.jsonl  per torch config: the BLAS library really loaded
#                        (from /proc/self/maps), OpenBLAS's config and core,
#                        GLIBC_TUNABLES, thread count
#   ldd.txt              libtorch_cpu.so's BLAS/LAPACK resolution, stock and swapped
#   meta.json            CPU, flags, date, compiler, git commit, versions
# and then bench/results/cpu/micro.md through bench/summarize_cpu.py.
#
# Configurations, each at every thread count of --threads:
#   ember   cache-on, cache-off (EMBER_CPU_CACHE=0)
#   pytorch stock           Debian's torch as installed (reference BLAS, libblas3)
#           openblas        libopenblas0-openmp swapped in through LD_LIBRARY_PATH
#                           (apt-get download + dpkg -x into bench/.cache; nothing installed),
#                           OpenBLAS picking its kernel for this CPU
#           openblas-skx    the same with OPENBLAS_CORETYPE=SkylakeX (AVX-512 kernel)
#   and each torch config again with glibc told to keep freed memory
#   (suffix -keepmem: GLIBC_TUNABLES=$KEEPMEM below).
#
#   bash bench/cpu_micro.sh                  # the full run (tens of minutes: reference BLAS is slow)
#   bash bench/cpu_micro.sh --quick          # a trial run: few cases, few repeats, marked as trial
#   bash bench/cpu_micro.sh --threads "1 2" --repeat 21 --filter 'matmul'
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 threads="1 2" filter="" repeat=15 warmup=3 min_sample_ms=20 max_case_s=30 out=bench/results/cpu
usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --threads) threads=$2; shift ;;
    --filter) filter=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --max-case-s) max_case_s=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "cpu_micro.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  repeat=3 warmup=1 min_sample_ms=5 max_case_s=3
  [ -n "$filter" ] || filter='^(matmul_(64|256|1024)|lenet_conv2|lenet_fc1|add_alloc|add_out|sum|softmax)$'
fi
# The small_* cases measure Ember's dispatch cost alone (backends_speed.sh --micro); torch_micro.py has no twins.
[ -n "$filter" ] || filter='^(matmul|lenet|add|sum|softmax)'


die() { echo "cpu_micro.sh: $*" >&2; exit 1; }
. bench/torch_env.sh  # PY, KEEPMEM, fetch_openblas

# ---- build ----
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
[ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
cmake --build build/release --target ember-bench -j"${EMBER_BUILD_JOBS:-2}" >/dev/null ||
  die "building ember-bench failed (run: cmake --build build/release --target ember-bench)"
bin=build/release/bench/ember-bench

# ---- OpenBLAS, unpacked but not installed ----
fetch_openblas

# Which BLAS/LAPACK sonames torch links (libblas.so.3, liblapack.so.3 through
# Debian's alternatives): OpenBLAS must provide each, or the swap is partial.
torch_cpu=$("$PY" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))')
sonames=$(ldd "$torch_cpu" | awk '/lib(blas|lapack|cblas)[^ ]*\.so/ {print $1}')
[ -n "$sonames" ] || die "ldd finds no BLAS soname in $torch_cpu: don't know what to swap"
for s in $sonames; do [ -e "$obdir/$s" ] || die "OpenBLAS in $obdir has no $s (torch links it)"; done

mkdir -p "$out"
csv=$out/micro.csv
rm -f "$csv" "$out/torch_configs.jsonl"
{
  echo "# ldd $torch_cpu (stock)"
  ldd "$torch_cpu" | grep -E 'blas|lapack|gomp'
  echo "# LD_LIBRARY_PATH=$obdir ldd $torch_cpu (openblas configs)"
  LD_LIBRARY_PATH=$obdir ldd "$torch_cpu" | grep -E 'blas|lapack|gomp'
} > "$out/ldd.txt"

# ember-bench's CPU mode, timed hot as bench/torch_micro.py is (repetitions
# sized by time, so --repeat and --min-sample-ms are torch_micro.py's alone).
common=(--device cpu --hot --warmup-ms "$((warmup * min_sample_ms))" --max-row-s "$max_case_s" --micro-csv "$csv")
torch_common=(--repeat "$repeat" --warmup "$warmup" --min-sample-ms "$min_sample_ms" --max-case-s "$max_case_s"
              --csv "$csv")
[ -z "$filter" ] || { common+=(--filter "$filter"); torch_common+=(--filter "$filter"); }
has_pool=$("$bin" --info | "$PY" -c 'import json, sys; print(int(json.load(sys.stdin)["thread_pool"]))')

run_ember() {  # config threads [env...]
  local config=$1 t=$2
  shift 2
  if [ "$t" != 1 ] && [ "$has_pool" = 0 ]; then
    echo "== ember $config, $t threads: skipped (this Ember has no thread pool yet)"
    return
  fi
  echo "== ember $config, $t threads"
  env "$@" "$bin" --config "$config" --threads "$t" "${common[@]}"
}

run_torch() {  # config threads [env...]
  local config=$1 t=$2
  shift 2
  echo "== pytorch $config, $t threads"
  # OPENBLAS_CORETYPE from the caller's environment would silently pick a kernel: cleared unless a config sets it.
  env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$t" "$@" "$PY" bench/torch_micro.py --info --config "$config" --threads "$t" \
    >> "$out/torch_configs.jsonl"
  env -u OPENBLAS_CORETYPE OMP_NUM_THREADS="$t" "$@" "$PY" bench/torch_micro.py --config "$config" --threads "$t" "${torch_common[@]}"
}

status=0
for t in $threads; do
  run_ember cache-on "$t" || status=1
  run_ember cache-off "$t" EMBER_CPU_CACHE=0 || status=1
  run_torch stock "$t" || status=1
  run_torch openblas "$t" LD_LIBRARY_PATH="$obdir" || status=1
  run_torch openblas-skx "$t" LD_LIBRARY_PATH="$obdir" OPENBLAS_CORETYPE=SkylakeX || status=1
  run_torch stock-keepmem "$t" GLIBC_TUNABLES="$KEEPMEM" || status=1
  run_torch openblas-keepmem "$t" LD_LIBRARY_PATH="$obdir" GLIBC_TUNABLES="$KEEPMEM" || status=1
  run_torch openblas-skx-keepmem "$t" LD_LIBRARY_PATH="$obdir" OPENBLAS_CORETYPE=SkylakeX GLIBC_TUNABLES="$KEEPMEM" || status=1
done

# The swapped configs must really have run on OpenBLAS.
"$PY" - "$out/torch_configs.jsonl" <<'PY' || status=1
import json, sys
for line in open(sys.argv[1]):
    c = json.loads(line)
    want = "openblas" if c["config"].startswith("openblas") else "reference (netlib libblas3)"
    if c["blas_in_use"] != want:
        sys.exit(f"cpu_micro.sh: config {c['config']} ran on {c['blas_in_use']}, expected {want}")
    if "skx" in c["config"] and c.get("openblas_core") != "SkylakeX":
        sys.exit(f"cpu_micro.sh: config {c['config']} ran OpenBLAS core {c.get('openblas_core')}, expected SkylakeX")
PY

# ---- what ran where ----
"$PY" - "$out/meta.json" "$quick" "$threads" "$repeat" "$warmup" "$openblas_version" "$("$bin" --info)" <<'PY'
import datetime, json, os, platform, re, subprocess, sys
path, quick, threads, repeat, warmup, openblas, ember_info = sys.argv[1:]
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
lscpu = sh("LC_ALL=C lscpu")
field = lambda name: (re.findall(rf"^{name}:\s*(.*)$", lscpu, re.M) or [""])[0]
flags = field("Flags").split()
import torch
meta = {
    "trial": quick == "1", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpu_model": field("Model name"), "cpus": os.cpu_count(), "threads_per_core": field("Thread\\(s\\) per core"),
    "simd_flags": [f for f in flags if re.match(r"(sse4_2|avx|avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_vnni|amx\w*)$", f)],
    "kernel": platform.release(), "glibc": platform.libc_ver()[1], "load_average_at_end": os.getloadavg(),
    "git_commit": sh("git rev-parse --short HEAD") + (" (modified)" if sh("git status --porcelain --untracked-files=no") else ""),
    "ember": json.loads(ember_info), "torch": torch.__version__, "openblas_deb": openblas,
    "threads": threads.split(), "repeat": int(repeat), "warmup": int(warmup),
}
json.dump(meta, open(path, "w"), indent=1)
PY

"$PY" bench/summarize_cpu.py "$out"
# The ratios as grouped bars, one group per case, one bar per thread count.
if cmake --build build/release --target ember-plot -j"${EMBER_BUILD_JOBS:-2}" >/dev/null; then
  cols=$(head -1 "$out/ratios.csv" | cut -d, -f2-)
  IFS=, read -r -a ycols <<< "$cols"
  build/release/examples/ember-plot "$out/ratios.csv" --bars -x case -y "${ycols[@]}" --reference 1 \
    --title "Ember vs the best PyTorch configuration (above 1: Ember faster)" --y-label "t_torch / t_ember" \
    -o "$out/ratios.svg" || status=1
fi
echo "wrote $csv, $out/micro.md and $out/ratios.svg"
exit $status
