#!/bin/sh
# make dist: dbmlops-VERSION.tar.gz of the commit checked out, into OUTDIR.
# The same commit gives the same bytes: git archive orders the files by
# path, stamps every one with the commit's time and owner root, and gzip -n
# leaves out the name and time. The tarball carries a COMMIT file, so that
# its build names the commit without git (see the Makefile).
set -eu
out=${1:?usage: dist.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
v=$(cat "$top/VERSION")
cd "$top"
if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
	echo "dist: $top is not a git checkout with a commit" >&2
	exit 1
fi
if ! git diff --quiet HEAD -- 2>/dev/null; then
	echo "dist: warning: uncommitted changes are left out (the tarball is HEAD)" >&2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbmdist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
git rev-parse --short=12 HEAD > "$tmp/COMMIT"
mkdir -p "$out"
git -c core.autocrlf=false -c tar.umask=022 archive --format=tar --prefix="dbmlops-$v/" \
    --add-file="$tmp/COMMIT" HEAD | gzip -n -9 > "$tmp/dbmlops-$v.tar.gz"
mv "$tmp/dbmlops-$v.tar.gz" "$out/"
echo "$out/dbmlops-$v.tar.gz"
