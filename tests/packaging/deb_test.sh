#!/usr/bin/env bash
# The Debian package: builds it with cpack from the build directory of FABRICCTL, checks
# its metadata and contents, installs it with dpkg into an empty root and runs what it
# installed (the binary, every man page without a roff warning, the bash completion,
# `systemd-analyze verify` on the units), removes it again, and checks that
# `cmake --install --prefix P` gives units that start P/bin/fabricctl. Prints SKIP and
# passes without cpack or dpkg.
# With FABRICCTL_TEST_HOST_INSTALL=1 (or CI=true, on a throwaway CI machine, as root) it
# also installs the package on this host with `dpkg -i`, verifies the units where systemd
# looks for them, and removes it with `dpkg -r`.
#   deb_test.sh FABRICCTL SOURCE_DIR
set -euo pipefail
bin=$(realpath "$1")
src=$(realpath "$2")
build=$(dirname "$bin")
for tool in cpack dpkg dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not found"
    exit 0
  fi
done
# shellcheck source=../cli/testlib.sh
source "$src/tests/cli/testlib.sh" # defines work, fail, has, has_line

# The version is defined once, in project() of the top-level CMakeLists.txt.
version=$(sed -n 's/^project(fabricctl VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no project() version in $src/CMakeLists.txt"

# ---- build the package
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/pkg" >cpack.log 2>&1 || { cat cpack.log >&2; fail "cpack"; }
debs=("$work"/pkg/fabricctl_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
  fail "expected one fabricctl_*.deb in $work/pkg, found: ${debs[*]}"
fi
deb=${debs[0]}
echo "package: $(basename "$deb"), $(du -k "$deb" | cut -f1) KiB"

# ---- metadata
[ "$(dpkg-deb -f "$deb" Package)" = fabricctl ] || fail "Package is not fabricctl"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version $(dpkg-deb -f "$deb" Version), expected $version"
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] || fail "no Maintainer"
[ -n "$(dpkg-deb -f "$deb" Description)" ] || fail "no Description"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# dpkg-shlibdeps ran: the C library and the RDMA libraries the binary links are named.
for library in libc6 libibverbs1 libibumad3 libsqlite3-0; do
  [[ ", $depends" == *", $library "* || ", $depends" == *", $library,"* ]] || fail "Depends lacks $library"
done

# depends_met: every dependency (or one of its alternatives) is installed on this host in a
# version that satisfies it, so installing with --force-depends below hides nothing.
depends_met() {
  local clause alternative name op wanted have ok
  IFS=',' read -ra clauses <<<"$depends"
  for clause in "${clauses[@]}"; do
    ok=0
    IFS='|' read -ra alternatives <<<"$clause"
    for alternative in "${alternatives[@]}"; do
      read -r name op wanted <<<"${alternative//[()]/ }"
      have=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null) || continue
      if [ -z "$op" ] || dpkg --compare-versions "$have" "$op" "$wanted"; then ok=1; fi
    done
    [ $ok = 1 ] || fail "dependency not met on this host: $clause"
  done
}
depends_met

# ---- contents: the binary, a man page per command, completion, units, docs; no benches or tests
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >contents.txt
# subcommands PATH...: the subcommands `fabricctl PATH... --help` lists.
subcommands() { "$bin" "$@" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'; }
pages=(fabricctl)
for command in $(subcommands); do
  pages+=("fabricctl-$command")
  for sub in $(subcommands "$command"); do pages+=("fabricctl-$command-$sub"); done
done
[ ${#pages[@]} -gt 20 ] || fail "only ${#pages[@]} commands found in fabricctl --help"
has_line contents.txt /usr/bin/fabricctl
for page in "${pages[@]}"; do has_line contents.txt "/usr/share/man/man1/$page.1.gz"; done
has_line contents.txt /usr/share/bash-completion/completions/fabricctl
for unit in fabricctl-agent.service fabricctl-manage.service fabricctl-monitor.service fabricctl-sweep.service \
  fabricctl-sweep.timer; do
  has_line contents.txt "/usr/lib/systemd/system/$unit"
done
has_line contents.txt /usr/share/doc/fabricctl/README.md
has_line contents.txt /usr/share/doc/fabricctl/copyright
has_line contents.txt /usr/share/doc/fabricctl/changelog.gz
for doc in "$src"/docs/*.md; do has_line contents.txt "/usr/share/doc/fabricctl/$(basename "$doc")"; done
if grep -E 'bench|_tests|fuzz' contents.txt; then fail "the package holds benches, tests or fuzz targets"; fi
[ "$(grep -c '/man1/.*\.1\.gz$' contents.txt)" = ${#pages[@]} ] || fail "man pages other than one per command"

# ---- install into an empty root (as root: dpkg --root; otherwise unpack with dpkg -x)
root=$work/root
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
  touch "$root/var/lib/dpkg/status"
  # The libraries live on the host, not in the empty root: depends_met checked them there.
  dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" >dpkg.log 2>&1 || { cat dpkg.log >&2; fail "dpkg -i"; }
  [ "$(dpkg --root="$root" -s fabricctl | sed -n 's/^Status: //p')" = "install ok installed" ] || fail "not installed"
else
  dpkg -x "$deb" "$root"
fi

"$root/usr/bin/fabricctl" --version >version.txt
has version.txt "fabricctl $version"

# The copyright file is machine-readable (DEP-5) and the changelog's first entry is this version.
head -1 "$root/usr/share/doc/fabricctl/copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/$' ||
  fail "copyright: not a DEP-5 file"
changelog_head=$(zcat "$root/usr/share/doc/fabricctl/changelog.gz" | head -1)
[ "$changelog_head" = "fabricctl ($version) unstable; urgency=medium" ] || fail "changelog starts with: $changelog_head"
# Lintian (tools/install-deps.sh installs it): no error or warning.
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$deb" >lintian.log 2>&1 || { cat lintian.log >&2; fail "lintian"; }
else
  echo "SKIP: lintian not found; package not linted"
fi

# Every page renders, without a single roff or man warning, and names its command.
if ! command -v man >/dev/null; then
  echo "SKIP: man not found; pages not rendered"
  pages=()
fi
for page in "${pages[@]}"; do
  warnings=$(man --warnings -l "$root/usr/share/man/man1/$page.1.gz" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man $page: $warnings"
  MANWIDTH=80 man -l "$root/usr/share/man/man1/$page.1.gz" 2>/dev/null | tr -s " " >page.txt
  has page.txt "$page - "
done
if [ ${#pages[@]} -gt 0 ]; then
  [ "$(MANPATH="$root/usr/share/man" man -w fabricctl-route)" = "$root/usr/share/man/man1/fabricctl-route.1.gz" ] ||
    fail "man -w fabricctl-route does not find the installed page"
  MANWIDTH=80 MANPATH="$root/usr/share/man" man fabricctl-sweep-run 2>/dev/null >page.txt
  has page.txt "--fabric"
fi

# The completion offers subcommands, long flags and a flag's choices.
# complete WORD...: what the installed completion offers for the last WORD.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _fabricctl; echo "${COMPREPLY[*]}"' \
    _ "$root/usr/share/bash-completion/completions/fabricctl" "$@" 2>/dev/null
}
[ "$(complete_words fabricctl ro)" = route ] || fail "completion of 'fabricctl ro': $(complete_words fabricctl ro)"
[ "$(complete_words fabricctl sweep r)" = run ] || fail "completion of 'fabricctl sweep r'"
[ "$(complete_words fabricctl route compute --eng)" = --engine ] || fail "completion of '--eng'"
[ "$(complete_words fabricctl sweep run --fabric "")" = "sim tcp verbs mpi" ] ||
  fail "completion of '--fabric ': $(complete_words fabricctl sweep run --fabric "")"

# The installed units start the installed binary. systemd-analyze verify needs that binary
# at the path the unit names: verify copies that name the binary in the empty root.
units=$root/usr/lib/systemd/system
if command -v systemd-analyze >/dev/null; then
  mkdir verify
  for unit in "$units"/fabricctl-*.service; do has "$unit" "ExecStart=/usr/bin/fabricctl "; done
  for unit in "$units"/fabricctl-*; do
    sed "s#/usr/bin/fabricctl#$root/usr/bin/fabricctl#" "$unit" >"verify/$(basename "$unit")"
  done
  output=$(systemd-analyze verify --man=no verify/* 2>&1) || fail "systemd-analyze verify: $output"
  [ -z "$output" ] || fail "systemd-analyze verify: $output"
else
  echo "SKIP: systemd-analyze not found; units not verified"
fi

if [ "$(id -u)" = 0 ]; then
  dpkg --root="$root" --force-script-chrootless -r fabricctl >dpkg.log 2>&1 || { cat dpkg.log >&2; fail "dpkg -r"; }
  [ ! -e "$root/usr/bin/fabricctl" ] || fail "dpkg -r left /usr/bin/fabricctl"
  left=$(find "$root" -path "$root/var/lib/dpkg" -prune -o -type f -print)
  [ -z "$left" ] || fail "dpkg -r left files: $left"
fi

# ---- cmake --install to another prefix: the units name that prefix's binary
cmake --install "$build" --prefix "$work/prefix" >install.log 2>&1 || { cat install.log >&2; fail "cmake --install"; }
[ -x "$work/prefix/bin/fabricctl" ] || fail "cmake --install: no bin/fabricctl"
has "$work/prefix/lib/systemd/system/fabricctl-agent.service" "ExecStart=$work/prefix/bin/fabricctl probe serve"
has "$work/prefix/lib/systemd/system/fabricctl-sweep.service" "Documentation=file://$work/prefix/share/doc/fabricctl/"
has "$work/prefix/lib/systemd/system/fabricctl-manage.service" "ExecStart=$work/prefix/bin/fabricctl manage --sm"
[ -f "$work/prefix/share/man/man1/fabricctl-route.1.gz" ] || fail "cmake --install: no man page"

# ---- optional: the real thing on this (throwaway) host
if [ "${FABRICCTL_TEST_HOST_INSTALL:-0}" = 1 ] || [ "${CI:-}" = true ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: host install needs root"
  elif dpkg-query -W fabricctl >/dev/null 2>&1; then
    echo "SKIP: host install: a fabricctl package is installed already; left alone"
  else
    on_exit 'dpkg -r fabricctl >/dev/null 2>&1 || true'
    dpkg -i "$deb" >dpkg.log 2>&1 || { cat dpkg.log >&2; fail "host dpkg -i"; }
    /usr/bin/fabricctl --version | grep -qF "fabricctl $version" || fail "host: /usr/bin/fabricctl --version"
    ! command -v man >/dev/null || [ "$(man -w fabricctl-route)" = /usr/share/man/man1/fabricctl-route.1.gz ] || fail "host: man -w fabricctl-route"
    if command -v systemd-analyze >/dev/null; then
      output=$(systemd-analyze verify --man=no /usr/lib/systemd/system/fabricctl-* 2>&1) || fail "host verify: $output"
      [ -z "$output" ] || fail "host systemd-analyze verify: $output"
    fi
    dpkg -r fabricctl >dpkg.log 2>&1 || { cat dpkg.log >&2; fail "host dpkg -r"; }
    [ ! -e /usr/bin/fabricctl ] || fail "host: dpkg -r left /usr/bin/fabricctl"
    echo "host install: dpkg -i, checks, dpkg -r passed"
  fi
fi
echo "PASS: package $(basename "$deb"): binary, man pages, completion, 4 units, docs"
