#!/usr/bin/env python3
"""Groups a `perf script` dump of an Ember run (with call stacks) into a
per-op profile, written as markdown. Used by bench/profile_lenet.sh:

  perf script -F comm,tid,period,ip,sym,dso -i perf.data > stacks.txt
  python3 bench/perf_summary.py stacks.txt --title "..." > profile.md

Two views of the same samples:
  * by kernel: what the CPU was executing (the innermost Ember or library
    function; libc string functions and kernel page-fault frames are
    charged to their own rows or to the Ember function that called them);
  * by op: which Ember op, backward node, optimizer, data loader or test
    evaluation the sample ran under (the outermost public ember:: op on the
    stack, so an im2col inside conv2d counts for conv2d).
Time is the sum of sample periods (cpu-clock: nanoseconds) over all
threads, so the data loader's prefetch thread adds to the total although
it runs beside the training loop.
"""
import argparse
import re
from collections import Counter

KERNEL_ROWS = [  # (row, regex on the function name); first match wins
    ("GEMM (Eigen gebp / packing)", r"^Eigen::internal::(gebp|gemm|general_matrix|gemv)"),
    ("GEMM (Ember's packed GEMM: micro-kernel, packing)", r"ember::kernels::cpu::.*(gemm|matmul|pack_|microkernel)"),
    ("im2col (conv forward)", r"CpuBackend::im2col"),
    ("col2im (conv input gradient)", r"CpuBackend::col2im"),
    ("copy / contiguous / cast", r"CpuBackend::copy|copy\(ember::TensorView"),
    ("elementwise (binary, unary, where)", r"binary_loop|unary_loop|arithmetic<|comparison<|unary_any|CpuBackend::(binary|unary|where)"),
    ("reductions (sum, max, argmax)", r"reduce_into|reduce_all|reduce_row|CpuBackend::reduce"),
    ("softmax / log_softmax", r"CpuBackend::softmax|softmax_"),
    ("max pooling indices", r"max_pool2d_indices"),
    ("gather / scatter / index (pooling, loss)", r"CpuBackend::(gather|scatter_add|index_select|index_add)|check_index"),
    ("fill / zeroing", r"CpuBackend::fill|arange"),
    ("thread pool (dispatch, wait)", r"ember::detail::parallel_run|ember::parallel_for|ThreadPool|parallel\.cpp"),
    ("optimizer (Adam)", r"^ember::optim::"),
    ("data loader", r"^ember::data::"),
    ("allocator (Ember cache, malloc/free)", r"^(malloc|free|cfree|_int_malloc|_int_free|malloc_consolidate|__libc_malloc|"
     r"__libc_free|unlink_chunk|sysmalloc|_int_memalign|__posix_memalign|aligned_alloc|operator new|operator delete)"
     r"|cpu_allocator|CachingAllocator|ember::Storage::|Allocator::"),
    ("autograd engine and graph bookkeeping", r"^ember::autograd::|Backward::apply|ember::Node|ember::record|should_record|"
     r"AutogradMeta|autograd_meta|gradient_edge|InputMeta|VersionCounter"),
    ("tensor metadata, dispatch, views (other Ember)", r"^ember::|^std::|shared_ptr|^CLI::|nlohmann"),
]
LIBC_STRING = r"^__(memset|memmove|memcpy|memcmp|strlen)|^(memset|memmove|memcpy)"


def parse(path):
    """Yields (thread, period, [function names, innermost first]) per sample."""
    head, frames = None, []
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if not line.strip():
            if head:
                yield head[0], head[1], frames
            head, frames = None, []
        elif not line.startswith((" ", "\t")):
            parts = line.split()
            period = int(parts[-1]) if parts and parts[-1].isdigit() else 1
            head, frames = (" ".join(parts[:2]), period), []
        else:
            m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$", line)
            if m:
                frames.append((m.group(1), m.group(2)))
    if head:
        yield head[0], head[1], frames


def kernel_row(frames):
    if not frames:
        return "unknown"
    names = [f for f, _ in frames]
    if any("page_fault" in n for n in names) and "[kernel" in frames[0][1]:
        return "page faults (first touch of fresh memory)"
    user = [(f, d) for f, d in frames if "[kernel" not in d]
    if not user:
        return "kernel (syscalls, scheduling)"
    leaf = user[0][0]
    if re.search(LIBC_STRING, leaf):  # charge memset/memcpy to the Ember caller when it is a kernel
        caller = next((f for f, _ in user[1:] if f.startswith("ember::")), "")
        for row, rx in KERNEL_ROWS[:11]:
            if caller and re.search(rx, caller):
                return row
        return "memset / memcpy (libc, from other callers)"
    for row, rx in KERNEL_ROWS:
        if re.search(rx, leaf):
            return row
    return "other (" + (frames[0][1].split("/")[-1] or "?") + ")"


PUBLIC_OP = re.compile(r"^ember::([a-z_0-9]+)$")  # a free function of namespace ember: a public op


def op_row(frames):
    names = [f for f, _ in frames]
    if any(re.search(r"mnist::.*evaluate", n) for n in names):
        return "test-set evaluation (not timed in samples/s)"
    if any(n.startswith("ember::data::") for n in names):
        return "data loader (prefetch thread and batch hand-over)"
    if any(n.startswith("ember::optim::") for n in names):
        return "optimizer step and zero_grad"
    if any("safetensors" in n for n in names):
        return "checkpoint saving"
    backward = [n for n in names if n.endswith("::apply") and "Backward" in n]
    if backward:
        return "backward: " + re.sub(r"^.*::(\w+Backward)::apply$", r"\1", backward[-1])
    if any(n.startswith("ember::autograd::") for n in names):
        return "backward: engine (graph walk, gradient accumulation)"
    ops = [PUBLIC_OP.match(n).group(1) for n in names if PUBLIC_OP.match(n)]
    if ops:
        return "forward: " + ops[-1]
    if any(n.startswith("ember::nn::") for n in names):
        return "forward: module code"
    if any(n.startswith("Eigen::internal::") for n in names):
        # Eigen's GEMM keeps its packing buffers on the stack, past what a DWARF stack dump holds.
        return "GEMM with its caller not unwound (forward or backward matmul)"
    if any("mnist::train" in n for n in names):
        return "trainer loop (other)"
    return "startup, exit and other"


def table(counter, total_ns, title, top=None):
    rows = sorted(counter.items(), key=lambda kv: -kv[1])[:top]
    out = [f"| {title} | ms | % |", "|---|---|---|"]
    out += [f"| {k} | {v / 1e6:.0f} | {100 * v / total_ns:.1f} |" for k, v in rows]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stacks")
    ap.add_argument("--title", default="Ember profile")
    ap.add_argument("--note", action="append", default=[], help="a line for the header (repeatable)")
    a = ap.parse_args()
    by_kernel, by_op, by_symbol, threads, by_pair = Counter(), Counter(), Counter(), Counter(), Counter()
    total = samples = 0
    for thread, period, frames in parse(a.stacks):
        total += period
        samples += 1
        by_kernel[kernel_row(frames)] += period
        by_op[op_row(frames)] += period
        threads[thread] += period
        if frames:
            by_symbol[re.sub(r"\(.*", "", frames[0][0].replace("(anonymous namespace)", "{anon}"))[:110]] += period
        by_pair[(op_row(frames), kernel_row(frames))] += period
    if samples == 0:
        raise SystemExit("perf_summary.py: no samples in " + a.stacks)
    out = [f"# {a.title}", ""] + [f"- {n}" for n in a.note] + [
        f"- {samples} samples, {total / 1e6:.0f} ms of CPU time over {len(threads)} thread(s): "
        + ", ".join(f"{t} {100 * v / total:.0f}%" for t, v in threads.most_common()), ""]
    out += ["## By kernel: what the CPU was executing", ""] + table(by_kernel, total, "kernel") + [""]
    out += ["## By op: what it was executing for", "",
            "Each sample goes to the outermost public Ember op on its stack (conv2d's im2col, copies and GEMM "
            "count for conv2d), or to the backward node, optimizer, data loader or evaluation it ran under.", ""]
    out += table(by_op, total, "op") + [""]
    out += ["## By op and kernel (top 30)", ""]
    out += table(Counter({f"{o} / {k}": v for (o, k), v in by_pair.items()}), total, "op / kernel", top=30) + [""]
    out += ["## Top 25 functions (self time)", ""] + table(by_symbol, total, "function", top=25) + [""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
