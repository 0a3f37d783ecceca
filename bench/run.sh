#!/bin/sh
# Run every benchmark under bench/ (make bench). Benchmarks measure; they are
# not tests and are not part of make check.
set -eu
cd "$(dirname "$0")/.."
for b in bench/b[0-9]*; do
	echo "== $b"
	case $b in
	*.py) .venv/bin/python "$b" ;;
	*) sh "$b" ;;
	esac
done
