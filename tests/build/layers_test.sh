#!/usr/bin/env bash
# The build enforces the layering (cli -> probes -> routing -> fabric): each library is
# compiled with the include folders of its own layer and the layers below it, so an include
# that points up does not compile. Compiles small files with the exact flags CMake uses for
# fabric/, routing/ and probes/ (compile_commands.json) and checks that each layer reaches
# its own and lower headers and none above it.
#   layers_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
# shellcheck source=../cli/testlib.sh
source "$src/tests/cli/testlib.sh" # defines work, fail
[ -f "$build/compile_commands.json" ] || fail "no $build/compile_commands.json"

# compile LAYER HEADER: compiles a file in LAYER/ that includes HEADER with the flags of a
# real source file of LAYER; exit status of the compiler.
compile() {
  local layer=$1 header=$2
  python3 - "$build/compile_commands.json" "$src" "$layer" "$header" "$work" <<'PY'
import json, os, shlex, subprocess, sys
db, src, layer, header, work = sys.argv[1:]
entries = [e for e in json.load(open(db)) if os.path.dirname(os.path.relpath(e["file"], src)) == layer]
if not entries:
    sys.exit(f"no source of {layer}/ in {db}")
entry = entries[0]
args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
probe = os.path.join(work, f"{layer}_probe.cc")
with open(probe, "w") as f:
    f.write(f'#include "{header}"\n')
out = []
skip = False
for a in args:
    if skip:
        skip = False
        continue
    if a in ("-o", "-MF", "-MT", "-MQ"):
        skip = True
        continue
    if a in ("-MD", "-MMD") or a == entry["file"] or a.endswith(".cc"):
        continue
    out.append(a)
r = subprocess.run(out + ["-fsyntax-only", probe], cwd=entry["directory"], capture_output=True, text=True)
sys.stderr.write(r.stderr[:400])
sys.exit(r.returncode)
PY
}

# allowed LAYER HEADER / refused LAYER HEADER
allowed() { compile "$1" "$2" 2>err.txt || { cat err.txt >&2; fail "$1/ cannot include $2"; }; }
refused() {
  if compile "$1" "$2" 2>err.txt; then fail "$1/ includes $2, a layer above it, and still compiles"; fi
  # gcc: "HEADER: No such file or directory"; clang: "'HEADER' file not found".
  grep -Eq "$2: No such file or directory|'$2' file not found" err.txt ||
    { cat err.txt >&2; fail "$1/ including $2 failed for another reason"; }
}

allowed fabric fabric/error.h
refused fabric routing/engine.h
refused fabric probes/transport.h
allowed routing fabric/error.h
allowed routing routing/engine.h
refused routing probes/transport.h
allowed probes routing/engine.h
allowed probes probes/transport.h
refused probes cli/cli_util.h
echo "PASS: fabric sees only fabric/, routing sees fabric/ and routing/, probes sees no cli/"
