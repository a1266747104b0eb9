# Shared by the shell tests (tests/cli, tests/netns, tests/packaging): source it after
# `fabricctl=$1`. Makes a scratch directory $work (removed on exit), enters it, and defines
# the assertions. A test with more to undo (processes, namespaces) registers it with
# on_exit instead of setting its own EXIT trap, so the directory is still removed.

# on_exit CMD: CMD runs when the script exits, however it exits; the last registered runs
# first, so the scratch directory goes last.
exit_steps=()
on_exit() { exit_steps=("$1" "${exit_steps[@]}"); }
run_exit_steps() {
  local step
  for step in "${exit_steps[@]}"; do eval "$step" || true; done
}
trap run_exit_steps EXIT
# scratch_dir: sets `work` to a fresh directory, removed on exit.
scratch_dir() {
  work=$(mktemp -d)
  on_exit "rm -rf '$work'"
}
scratch_dir
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_rc CODE CMD...: runs CMD, keeps stdout in out.txt and stderr in err.txt.
expect_rc() {
  local want=$1; shift
  local rc=0
  "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" = "$want" ] || { cat out.txt err.txt >&2; fail "exit $rc, expected $want: $*"; }
}
# has FILE TEXT: TEXT appears in FILE; has_line FILE LINE: LINE is a whole line of FILE.
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks: $2"; }; }
has_line() { grep -qxF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks the line: $2"; }; }
# json_get FILE EXPR: prints d<EXPR> of the JSON in FILE, e.g. json_get out.txt '["engine"]'.
json_get() { python3 -c "import json,sys; d=json.load(open('$1')); print(eval('d' + sys.argv[1]))" "$2"; }
