#!/usr/bin/env bash
# Fills .gpu-carry/ (ignored by git) with what scripts/gpu_check.sh needs on
# the GPU machine, which has CUDA, CMake and a compiler but no package
# registry: the header-only libraries from this machine's Debian packages
# (Eigen, Catch2, nlohmann-json, CLI11), zlib's header and static library,
# small CMake package files that point at them, and the commit being
# checked. The dataset travels on its own (datasets/mnist-digits).
#
#   scripts/gpu_prepare.sh          # then, through the device tool:
#   run: bash scripts/gpu_check.sh   carry: [".gpu-carry", "datasets/mnist-digits"]
#
# docs/cuda.md ("On a GPU machine") says the whole routine.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.gpu-carry
rm -rf "$dest"
mkdir -p "$dest/include" "$dest/lib" "$dest/cmake"

need() { [[ -e $1 ]] || { echo "gpu_prepare.sh: $1 is missing (run scripts/setup.sh first)" >&2; exit 1; }; }
for p in /usr/include/eigen3/Eigen /usr/include/catch2/catch.hpp /usr/include/nlohmann/json.hpp \
         /usr/include/CLI/CLI.hpp /usr/include/zlib.h /usr/lib/x86_64-linux-gnu/libz.a \
         /usr/lib/cmake/Catch2/Catch.cmake; do
  need "$p"
done
mkdir -p "$dest/include/eigen3"
cp -r /usr/include/eigen3/Eigen "$dest/include/eigen3/"
cp -r /usr/include/catch2 /usr/include/nlohmann /usr/include/CLI "$dest/include/"
cp /usr/include/zlib.h /usr/include/zconf.h "$dest/include/"
cp /usr/lib/x86_64-linux-gnu/libz.a "$dest/lib/"
# catch_discover_tests, for tests/CMakeLists.txt
cp /usr/lib/cmake/Catch2/Catch.cmake /usr/lib/cmake/Catch2/CatchAddTests.cmake "$dest/cmake/"

# One config file per package: an imported target over the carried headers
# (the Debian ones name absolute /usr paths), and a version file that
# accepts the versions our find_package calls ask for.
package() {  # name version target include-subdir [extra cmake]
  local name=$1 version=$2 target=$3 sub=$4 extra=${5:-}
  if [[ -z $version ]]; then
    echo "gpu_prepare.sh: no version for $name: is its Debian package installed? (bash scripts/setup.sh)" >&2
    exit 1
  fi
  cat >"$dest/cmake/${name}Config.cmake" <<EOF
# Written by scripts/gpu_prepare.sh: ${name} ${version}, headers carried in .gpu-carry/include.
if(NOT TARGET ${target})
  add_library(${target} INTERFACE IMPORTED)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "\${CMAKE_CURRENT_LIST_DIR}/../include${sub}")
endif()
${extra}
EOF
  cat >"$dest/cmake/${name}ConfigVersion.cmake" <<EOF
set(PACKAGE_VERSION "${version}")
set(PACKAGE_VERSION_COMPATIBLE TRUE)
if(PACKAGE_FIND_VERSION_MAJOR AND NOT PACKAGE_FIND_VERSION_MAJOR EQUAL "${version%%.*}")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
EOF
}
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed 's/[-+~].*//' | cut -d. -f1-3; }
package Eigen3 "$(ver libeigen3-dev)" Eigen3::Eigen /eigen3
package Catch2 "$(ver catch2)" Catch2::Catch2 "" 'list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")'
package nlohmann_json "$(ver nlohmann-json3-dev)" nlohmann_json::nlohmann_json ""
package CLI11 "$(ver libcli11-dev)" CLI11::CLI11 ""

{
  git rev-parse HEAD 2>/dev/null || echo unknown
  git diff --quiet HEAD 2>/dev/null || echo "(with uncommitted changes)"
} >"$dest/COMMIT"
echo "gpu_prepare.sh: $(du -sh "$dest" | cut -f1) in $dest ($(head -1 $dest/COMMIT))"
