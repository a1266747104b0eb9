#!/usr/bin/env bash
# Configures and builds build-san/: clang 16 with AddressSanitizer, UndefinedBehaviorSanitizer
# (every report fatal) and libFuzzer coverage, so one build holds fabricctl, the unit tests
# and every libFuzzer target (tools/fuzz/*_fuzz.cc).
#   bash tools/build-san.sh [TARGET...]      (default: fabricctl, fabricctl_tests, fuzz targets)
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=$(command -v clang++-16 || true)
if [ -z "$cxx" ]; then
  echo "build-san: clang++-16 not found (apt-get install clang-16 libclang-rt-16-dev)" >&2
  exit 2
fi
if [ ! -f build-san/CMakeCache.txt ]; then
  # clang 16 implements what libstdc++ 12's <expected> needs (P0848) but still reports
  # __cpp_concepts 201907, which hides std::expected; announce the C++20 value.
  # -O1 and line tables only: cheaper to compile than -O2 -g, and stacks still name lines;
  # assertions stay on (no NDEBUG), one more check on every input.
  CXX=$cxx CC=${cxx%++*}-16 cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFABRICCTL_FUZZ=ON -DFABRICCTL_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=-D__cpp_concepts=202002L -Wno-macro-redefined" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fabricctl fabricctl_tests)
  for src in tools/fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
fi
cmake --build build-san -j"${JOBS:-$(nproc)}" --target "${targets[@]}"
