#!/bin/sh
# Make the project virtualenv from tests/requirements.txt and print its path.
# The virtualenv lives outside the checkout, in
# ${DBMLOPS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/dbmlops}/venv-<hash>, keyed by a
# hash of the requirements and the Python version, so a second run installs
# nothing. .venv in the checkout is a symlink to it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
req="$top/tests/requirements.txt"
py=${DBMLOPS_PYTHON:-python3}
cache=${DBMLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dbmlops}
key=$( { cat "$req"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
venv="$cache/venv-$key"

if [ ! -f "$venv/.complete" ]; then
	echo "venv: building $venv (once for these pins)" >&2
	rm -rf "$venv"
	mkdir -p "$cache"
	"$py" -m venv "$venv"
	"$venv/bin/python" -m pip install -q --disable-pip-version-check \
	    --upgrade pip >&2
	"$venv/bin/python" -m pip install -q --disable-pip-version-check \
	    -r "$req" >&2
	touch "$venv/.complete"
fi
ln -sfn "$venv" "$top/.venv"
echo "$venv"
