#!/usr/bin/env bash
# Installs every Debian package fabricctl needs to build, test and benchmark.
# Idempotent: when everything is present it changes nothing; otherwise it runs
# `apt-get update` once and installs what is missing.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config ccache clang
  # libFuzzer targets: clang 16 is the first clang that compiles libstdc++ 12's <expected>
  clang-16 libclang-rt-16-dev
  # libraries
  libibverbs-dev libibumad-dev libibmad-dev
  libnl-3-dev libnl-route-3-dev libcli11-dev nlohmann-json3-dev doctest-dev
  libsqlite3-dev sqlite3 libfmt-dev libssl-dev
  # test scripts and benches
  python3 strace
  # InfiniBand simulator and the peers we test against
  ibsim-utils libumad2sim0 opensm infiniband-diags rdma-core ibverbs-providers
  # networks for TCP probes and sweeps; peers for the probe benchmarks
  iproute2 iperf3 qperf sockperf
  # the Debian package (cpack's dependency scan needs file) and its test: man pages, units,
  # lintian
  file man-db systemd lintian
  # promtool: checks the always-on monitor's metrics
  prometheus
  # headless browser: opens the HTML reports in their test
  chromium
  # VM with Soft-RoCE for real verbs tests
  qemu-system-x86 busybox-static cpio perftest
  # job mode (sweep run --fabric mpi) and its tests under mpirun and Slurm; Slurm's PMIx
  # plugin opens the libpmix.so that only libpmix-dev ships
  openmpi-bin libopenmpi-dev libpmix-dev slurm-wlm munge
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
