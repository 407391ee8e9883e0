# Sourced by the bench scripts that run PyTorch side by side with Ember
# (cpu_micro.sh, lenet_speed.sh): the interpreter, the glibc setting that
# keeps freed memory, and Debian's OpenBLAS unpacked (never installed) into
# bench/.cache so that torch can be pointed at it through LD_LIBRARY_PATH.
# Expects die() to be defined by the caller.

KEEPMEM='glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736:glibc.malloc.top_pad=268435456'
PY=/usr/bin/python3  # Debian's interpreter, where Debian's torch is installed
"$PY" -c 'import torch' 2>/dev/null || die "$PY cannot import torch (apt-get install python3-torch)"

# Sets obdir (the folder with OpenBLAS's libblas.so.3) and openblas_version.
fetch_openblas() {
  local cache=bench/.cache/openblas
  if ! ls "$cache"/root/usr/lib/*/openblas-openmp/libblas.so.3 >/dev/null 2>&1; then
    mkdir -p "$cache"
    (cd "$cache" && rm -f ./*.deb && apt-get download libopenblas0-openmp >/dev/null 2>&1) ||
      die "apt-get download libopenblas0-openmp failed (needs Debian's archive; try apt-get update)"
    dpkg -x "$cache"/libopenblas0-openmp_*.deb "$cache/root"
  fi
  obdir=$(cd "$(dirname "$(ls "$cache"/root/usr/lib/*/openblas-openmp/libblas.so.3 | head -1)")" && pwd)
  openblas_version=$(dpkg-deb -f "$cache"/libopenblas0-openmp_*.deb Version 2>/dev/null || echo unknown)
}
