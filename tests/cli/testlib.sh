# Shared by the CLI test scripts: source it after `fabricctl=$1`. Makes a scratch directory
# (removed on exit), enters it, and defines the assertions.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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
