# TAP helpers for the command-line tests. Each test file sources this, runs
# in its own scratch directory and calls plan, then ok/fail checks.
set -u
: "${DBMLOPS_BIN:?set DBMLOPS_BIN to the directory of the built tools}"
PATH="$DBMLOPS_BIN:$PATH"
export PATH
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/dbmcli.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH" || exit 1
# a clean environment: no CI variables leak in from the machine running us
for v in $(env | sed -n 's/^\(GITHUB_[A-Z_]*\|BUILD_[A-Z_]*\|SYSTEM_[A-Z_]*\|CI_[A-Z_]*\|GITLAB_[A-Z_]*\|JENKINS_[A-Z_]*\|CHANGE_[A-Z_]*\|BRANCH_NAME\|GIT_[A-Z_]*\|BITBUCKET_[A-Z_]*\|CIRCLE[A-Z_]*\|BUILDKITE[A-Z_]*\|TEAMCITY_[A-Z_]*\|TRAVIS[A-Z_]*\|APPVEYOR[A-Z_]*\|DRONE[A-Z_]*\|DBMLOPS_[A-Z_]*\|DATABRICKS_[A-Z_]*\)=.*/\1/p'); do
	unset "$v"
done
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
export GIT_CONFIG_NOSYSTEM=1 HOME="$SCRATCH"
git config --global user.name t
git config --global user.email t@t
git config --global init.defaultBranch main

__n=0
__failed=0
plan() { echo "1..$1"; }
ok() { __n=$((__n + 1)); echo "ok $__n - $1"; }
not_ok() { __n=$((__n + 1)); __failed=$((__failed + 1)); echo "not ok $__n - $1"; }

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '# expected: %s\n# actual:   %s\n' "$2" "$3"
	fi
}

# run CMD...: sets $out, $err, $rc
run() {
	"$@" >"$SCRATCH/.out" 2>"$SCRATCH/.err"
	rc=$?
	out=$(cat "$SCRATCH/.out")
	err=$(cat "$SCRATCH/.err")
}

# golden NAME FILE: stdout of the last run equals FILE (diff -u shown)
golden() {
	if diff -u "$2" "$SCRATCH/.out" >"$SCRATCH/.diff"; then
		ok "$1"
	else
		not_ok "$1"
		sed 's/^/# /' "$SCRATCH/.diff"
	fi
}

finish() { exit $((__failed > 0)); }
