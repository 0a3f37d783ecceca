#!/bin/sh
# make deb: dbmlops_VERSION_ARCH.deb, built by dpkg-buildpackage from the
# release tarball in OUTDIR (make dist), as a Debian builder would: the
# tree unpacked in a scratch folder, debian/changelog written from VERSION
# and dated by the tarball (its files carry the commit's time), so the same
# tarball gives the same package. DEB_BUILD_OPTIONS=nocheck skips the
# package's tests (unit and command-line).
set -eu
out=${1:?usage: deb.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
v=$(cat "$top/VERSION")
tarball=$out/dbmlops-$v.tar.gz
for c in dpkg-buildpackage dh; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "deb: $c is missing: apt-get install dpkg-dev debhelper" >&2
		exit 1
	fi
done
[ -r "$tarball" ] || { echo "deb: $tarball: run make dist first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbmdeb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tarball" -C "$tmp"
src=$tmp/dbmlops-$v
SOURCE_DATE_EPOCH=$(stat -c %Y "$src/VERSION")
export SOURCE_DATE_EPOCH
maint=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat > "$src/debian/changelog" <<EOT
dbmlops ($v) unstable; urgency=medium

  * Release $v; NEWS.md says what it changed.

 -- $maint  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
EOT
(cd "$src" && dpkg-buildpackage -b -us -uc) > "$tmp/build.log" 2>&1 || {
	tail -40 "$tmp/build.log" >&2
	echo "deb: dpkg-buildpackage failed (the end of its log is above)" >&2
	exit 1
}
deb=$(cd "$tmp" && ls dbmlops_"$v"_*.deb)
mv "$tmp/$deb" "$out/"
echo "$out/$deb"
