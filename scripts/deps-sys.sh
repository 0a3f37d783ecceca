#!/bin/sh
# Install the Debian packages dbmlops needs to build, test and run its demo
# (with --check, also what only the tests need; with --runtime, only what
# installed tools miss).
# Uses apt-get as root, sudo otherwise; when neither can work, says exactly
# what to install and fails.
set -eu

# --runtime BINDIR: only what the installed tools in BINDIR need to run (a
# CI cache holds the build): nothing when every library they link is there
# and python3 with venv and pip is, else the whole list below
if [ "${1:-}" = --runtime ]; then
	bin=${2:?usage: deps-sys.sh --runtime BINDIR}
	if command -v make git curl >/dev/null 2>&1 &&
	    python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null &&
	    python3 -m pip --version >/dev/null 2>&1 &&
	    ! ldd "$bin"/* 2>/dev/null | grep -q 'not found'; then
		exit 0
	fi
	shift 2
fi

pkgs="gcc make pkg-config git curl rsync tar ca-certificates perl procps
libcurl4-openssl-dev libjsmn-dev libyaml-dev libarchive-dev libssl-dev
libinih-dev libmicrohttpd-dev check python3 python3-venv python3-pip"
# --check: what make check needs beyond that (a headless browser for the
# MLflow UI test; the package build, lintian and zsh for the release test;
# clang, which CI builds with too, and its runtime, which make fuzz links
# for libFuzzer and the sanitizers: apt-get leaves it out, being only a
# recommendation of clang's)
[ "${1:-}" = --check ] && pkgs="$pkgs chromium dpkg-dev debhelper lintian zsh clang libclang-rt-dev"

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
# python3 may come from elsewhere (pyenv, a CI image): accept any python3 >= 3.10 with venv
if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
	missing=$(printf '%s\n' $missing | grep -vx -e python3 -e python3-venv | tr '\n' ' ')
	# the wheel build (make train) needs pip in that python3
	if python3 -m pip --version >/dev/null 2>&1; then
		missing=$(printf '%s\n' $missing | grep -vx python3-pip | tr '\n' ' ')
	fi
fi
missing=$(echo $missing)
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages: $missing" >&2
	echo "deps: this is not a Debian system; install their equivalents by hand" >&2
	echo "deps: (macOS: the README's Homebrew line, under Install)" >&2
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=sudo
else
	echo "deps: missing packages: $missing" >&2
	echo "deps: run: sudo apt-get install $missing" >&2
	exit 1
fi
echo "deps: installing $missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || true
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
