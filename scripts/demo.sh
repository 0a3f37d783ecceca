#!/bin/sh
# make demo: the main job end to end on this machine. A real MLflow
# tracking server and workspace-emu start on free loopback ports; then the
# example project's Makefile (templates/, through mk/dbmlops.mk) names the
# branch, builds the example wheel, uploads it content-addressed with
# dbfs-put, puts its path into conda.yaml and cluster.json with
# wheelpath-subst, and runs the project with mlflow-submit, which waits and
# prints the job's log. Servers stop at the end unless DBMLOPS_DEMO_KEEP=1.
# DBMLOPS_COMPUTE (make demo DBMLOPS_COMPUTE=...) picks the compute:
# new-cluster (the default), serverless, or cluster:demo-cluster (an
# all-purpose cluster the emulator declares, terminated until the run
# starts it).
# DBMLOPS_DEMO_MLFLOW_URL names a tracking server that is already running,
# to use instead of starting one (the tests share theirs this way).
# make demo passes DBMLOPS_DEMO_BIN and DBMLOPS_DEMO_STATE from its build
# folder (B=build-san SANITIZE=1: the sanitized tools and emulator).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${DBMLOPS_DEMO_BIN:-$top/build/bin}
py=$top/.venv/bin/python
state=${DBMLOPS_DEMO_STATE:-$top/build/demo}
rm -rf "$state"
mkdir -p "$state"

port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cleanup() {
	if [ "${DBMLOPS_DEMO_KEEP:-0}" = 1 ]; then
		echo "demo: servers left running: kill $emu_pid $mlflow_pid"
		echo "demo: the UI at ${DATABRICKS_HOST:-the emulator} asks for a" \
		    "login: user name token, password in $state/token"
		return
	fi
	[ -z "$emu_pid" ] || kill "$emu_pid" 2>/dev/null || true
	[ -z "$mlflow_pid" ] || kill "$mlflow_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
emu_pid=; mlflow_pid=
trap cleanup EXIT INT TERM

mlflow=${DBMLOPS_DEMO_MLFLOW_URL:-}
if [ -n "$mlflow" ]; then
	echo "demo: starting workspace-emu, with the MLflow server at $mlflow"
else
	echo "demo: starting an MLflow tracking server and workspace-emu"
	mlflow=http://127.0.0.1:$(port)
	# no job-execution consumers: the demo uses none
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false \
	"$top/.venv/bin/mlflow" server --backend-store-uri "sqlite:///$state/mlflow.db" \
	    --default-artifact-root dbfs:/mlflow-artifacts --host 127.0.0.1 \
	    --port "${mlflow##*:}" --workers 1 > "$state/mlflow.log" 2>&1 &
	mlflow_pid=$!
fi
# a throwaway token: in a file, never on a command line
"$py" -c 'import secrets; print("dapi" + secrets.token_hex(16))' > "$state/token"
chmod 600 "$state/token"
# DBMLOPS_WORKSPACE=legacy: a workspace that still has the DBFS root and
# old runtimes, and the seed's flow on it (10.3, dbfs:/wheels, shell mode)
kind=
case ${DBMLOPS_WORKSPACE:-new} in
new) ;;
legacy) kind=--legacy-dbfs
	export DBMLOPS_CLUSTER=${DBMLOPS_CLUSTER:-cluster-legacy.json} ;;
*) echo "demo: DBMLOPS_WORKSPACE=$DBMLOPS_WORKSPACE: expected new or legacy" >&2
	exit 2 ;;
esac
"$bin/workspace-emu" -d "$state/workspace" -l 127.0.0.1:0 \
    --token-file "$state/token" --mlflow-url "$mlflow" \
    --python "$py" --url-file "$state/url" --log "$state/requests.jsonl" \
    --cluster "demo-cluster:TERMINATED:demo all-purpose cluster" $kind \
    > /dev/null 2> "$state/emu.log" &
emu_pid=$!
i=0
until [ -s "$state/url" ] && curl -sf "$mlflow/health" > /dev/null; do
	i=$((i + 1))
	[ $i -lt 600 ] || { echo "demo: servers did not start; see $state/*.log" >&2; exit 1; }
	sleep 0.1
done
DATABRICKS_HOST=$(cat "$state/url")
DATABRICKS_TOKEN=$(cat "$state/token")
export DATABRICKS_HOST DATABRICKS_TOKEN
unset DATABRICKS_CONFIG_PROFILE DATABRICKS_CLIENT_ID DATABRICKS_CLIENT_SECRET
echo "demo: ${DBMLOPS_WORKSPACE:-new} workspace at $DATABRICKS_HOST, compute ${DBMLOPS_COMPUTE:-new-cluster}"

# outside a git checkout (a tarball), name the branch
"$bin/branch-name" > /dev/null 2>&1 || export DBMLOPS_BRANCH=demo

make --no-print-directory -C "$top/templates" train \
    DBMLOPS_BIN="$bin/" DBMLOPS_STATE="$state/state" DBMLOPS_PYTHON="$py"

echo
echo "demo: done. The run and its metrics are in MLflow: $DATABRICKS_HOST/"
echo "demo: (DBMLOPS_DEMO_KEEP=1 make demo leaves the servers running to look)"
