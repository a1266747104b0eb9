#!/usr/bin/env bash
# Runs one built libFuzzer target in two steps:
#   1. regression: every file of its seed corpus tests/fuzz/<target>/ is run once, so known
#      reproducers are checked on every run;
#   2. fuzzing for SECONDS over a working corpus OUTDIR/corpus/<target>/ (new inputs go
#      there), seeded from tests/fuzz/<target>/ and tests/data/.
#   bash tools/fuzz/fuzz-target.sh BINARY SECONDS OUTDIR
# A crash, sanitizer report, leak, timeout (-timeout, default 10 s per input) or memory blow-up
# fails the script and prints the reproducer's path and the command that replays it.
# FABRICCTL_FUZZ_SECONDS overrides SECONDS (e.g. for a longer run of ctest -L fuzz).
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: fuzz-target.sh BINARY SECONDS OUTDIR" >&2
  exit 2
fi
binary=$1 seconds=${FABRICCTL_FUZZ_SECONDS:-$2} outdir=$3
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
target=$(basename "$binary")
seeds=$source_dir/tests/fuzz/$target
corpus=$outdir/corpus/$target crashes=$outdir/crashes/$target
mkdir -p "$corpus" "$crashes"
started=$outdir/$target.started
touch "$started"
# The runtime's own PATH lookup of llvm-symbolizer fails on Debian 12; name it.
symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
if [ -n "$symbolizer" ]; then
  symbolizer=":external_symbolizer_path=$(readlink -f "$symbolizer")"
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-print_stacktrace=1$symbolizer}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1$symbolizer}
limits=(-timeout="${FABRICCTL_FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -max_len=65536)

# report_crash: names the reproducers this run left (not older ones), and how to replay them.
report_crash() {
  local found=0
  while IFS= read -r -d '' file; do
    echo "fuzz: $target reproducer: $file" >&2
    echo "fuzz:   replay with: $binary $file" >&2
    found=1
  done < <(find "$crashes" -type f -newer "$started" -print0)
  if [ "$found" = 0 ]; then echo "fuzz: $target failed without a reproducer; see the log above" >&2; fi
}

seed_files=()
if [ -d "$seeds" ]; then
  while IFS= read -r -d '' file; do seed_files+=("$file"); done \
    < <(find "$seeds" -type f ! -name 'README*' -print0 | sort -z)
fi
if [ ${#seed_files[@]} -gt 0 ]; then
  echo "fuzz: $target: replaying ${#seed_files[@]} seed files from tests/fuzz/$target/"
  log=$outdir/$target.replay.log
  if ! "$binary" "${limits[@]}" -artifact_prefix="$crashes/" "${seed_files[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    failed=$(grep -o '^Running: .*' "$log" | tail -1 | cut -d' ' -f2-)
    echo "fuzz: $target FAILED on the seed file ${failed:-?} (replay: $binary ${failed:-FILE})" >&2
    exit 1
  fi
else
  echo "fuzz: $target: no seed files in tests/fuzz/$target/ (nothing to replay)"
fi

dirs=("$corpus")
for dir in "$seeds" "$source_dir/tests/data"; do
  if [ -d "$dir" ]; then dirs+=("$dir"); fi
done
echo "fuzz: $target: fuzzing for ${seconds}s"
if ! "$binary" "${limits[@]}" -max_total_time="$seconds" -artifact_prefix="$crashes/" \
    -print_final_stats=1 "${dirs[@]}"; then
  echo "fuzz: $target FAILED" >&2
  report_crash
  exit 1
fi
