#!/usr/bin/env bash
# Builds every libFuzzer target (tools/fuzz/*_fuzz.cc) with clang 16, ASan and UBSan into
# build-fuzz/, then runs each for SECONDS (default 120) on a corpus seeded from tests/data.
#   bash tools/fuzz/run-fuzz.sh [SECONDS] [TARGET...]
# Crashes are written to build-fuzz/crashes/<target>/ and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-120}
shift || true
cxx=$(command -v clang++-16 || true)
if [ -z "$cxx" ]; then
  echo "run-fuzz: clang++-16 not found (apt-get install clang-16 libclang-rt-16-dev)" >&2
  exit 2
fi
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  # clang 16 implements what libstdc++ 12's <expected> needs (P0848) but still reports
  # __cpp_concepts 201907, which hides std::expected; announce the C++20 value.
  CXX=$cxx CC=${cxx%++*}-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFABRICCTL_FUZZ=ON -DFABRICCTL_TESTS=OFF \
    "-DCMAKE_CXX_FLAGS=-D__cpp_concepts=202002L -Wno-macro-redefined"
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tools/fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
fi
cmake --build build-fuzz -j2 --target "${targets[@]}"
status=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t crashes=build-fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes"
  # Seed with the test data of every format; libFuzzer keeps what adds coverage.
  find tests/data -type f -size -64k -exec cp -n {} "$corpus"/ \; 2>/dev/null || true
  # And with the target's own seeds (tests/fuzz/<target>/).
  if [ -d "tests/fuzz/$t" ]; then cp -n "tests/fuzz/$t"/* "$corpus"/ 2>/dev/null || true; fi
  echo "run-fuzz: $t for ${seconds}s"
  if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "build-fuzz/$t" "$corpus" \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$crashes/" -print_final_stats=1; then
    echo "run-fuzz: $t FAILED; reproducers in $crashes" >&2
    status=1
  fi
done
exit $status
