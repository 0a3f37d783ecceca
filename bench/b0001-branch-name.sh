#!/bin/sh
# branch-name against `git rev-parse --abbrev-ref HEAD` in the same
# repository. Goal (issue: foundation): at most 2x git's wall time; in
# practice branch-name reads .git/HEAD itself and spawns nothing.
set -eu
. bench/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git -c init.defaultBranch=main init -q repo
cd repo
git -c user.name=b -c user.email=b@b commit -q --allow-empty -m x
git checkout -q -b feature/bench
for i in $(seq 1 200); do git branch "b$i"; done
git pack-refs --all
g=$(mean_ms 500 git rev-parse --abbrev-ref HEAD)
b=$(mean_ms 500 "$BIN/branch-name")
echo "git rev-parse --abbrev-ref HEAD: ${g} ms"
echo "branch-name:                     ${b} ms"
awk -v g="$g" -v b="$b" 'BEGIN { r = b / g; printf "ratio: %.2fx (goal <= 2x): %s\n", r, r <= 2 ? "met" : "MISSED" }'
