#!/usr/bin/env bash
# fetch: download the pinned linux-source .deb, verify it, and turn it into a
# git repository with the pristine tree committed and tagged 'base'.
# Everything lands in the cache; a second run does nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$TOP/base/linux.pin"

repo=$CACHE/base-$BASE_VERSION
[ -f "$repo.done" ] && { echo "$repo"; exit 0; }
mkdir -p "$CACHE/apt"

# A private apt configuration: our own sources list and lists directory, so
# the system's sources and package lists stay untouched.  The mirror is the
# one the system already uses for Debian.
mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb / && $2 ~ /\/debian\/?$/ {print $2; exit}' \
	/etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || die "no Debian mirror found in the system's apt sources"
apt_dir=$CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $BASE_SUITE main" \
	> "$apt_dir/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list"
	  -o Dir::Etc::SourceParts=/nonexistent
	  -o Dir::State::Lists="$apt_dir/lists"
	  -o Dir::Cache="$apt_dir/cache"
	  -o APT::Get::List-Cleanup=0)

deb=$CACHE/${BASE_PACKAGE}_${BASE_VERSION//:/%3a}_all.deb
if [ ! -f "$deb" ]; then
	stage "fetch: $BASE_PACKAGE $BASE_VERSION from $BASE_SUITE"
	apt-get -q "${apt_opts[@]}" update >/dev/null
	version=$BASE_VERSION
	if ! apt-cache "${apt_opts[@]}" show "$BASE_PACKAGE=$BASE_VERSION" >/dev/null 2>&1; then
		version=$(apt-cache "${apt_opts[@]}" policy "$BASE_PACKAGE" | awk '/Candidate:/ {print $2}')
		[ -n "$version" ] && [ "$version" != "(none)" ] || die "$BASE_PACKAGE is not published"
		echo "WARNING: ****************************************************************"
		echo "WARNING: pinned $BASE_PACKAGE $BASE_VERSION is no longer published;"
		echo "WARNING: falling back to $version, whose hash is NOT the pinned one."
		echo "WARNING: ****************************************************************"
		deb=$CACHE/${BASE_PACKAGE}_${version//:/%3a}_all.deb
	fi
	(cd "$CACHE" && apt-get -q "${apt_opts[@]}" download "$BASE_PACKAGE=$version")
	if [ "$version" = "$BASE_VERSION" ]; then
		echo "$BASE_SHA256  $deb" | sha256sum -c --quiet - ||
			{ rm -f "$deb"; die "sha256 mismatch for $deb"; }
	fi
fi

stage "fetch: unpacking $(basename "$deb")"
rm -rf "$repo.tmp"
mkdir -p "$repo.tmp"
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./$BASE_TARBALL" |
	tar -xJ -C "$repo.tmp" --strip-components=1

# A fixed identity and date make the base commit id the same on every machine,
# so 'base-commit:' in exported patches means the same thing everywhere.
stage "fetch: committing the pristine tree"
export GIT_AUTHOR_NAME="Debian $BASE_PACKAGE" GIT_AUTHOR_EMAIL="base@localhost"
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
git -C "$repo.tmp" init -q -b master
git -C "$repo.tmp" add -A -f
git -C "$repo.tmp" -c core.autocrlf=false commit -q -m "Linux $BASE_VERSION ($BASE_PACKAGE)"
git -C "$repo.tmp" tag base
rm -rf "$repo"
mv "$repo.tmp" "$repo"
touch "$repo.done"
echo "$repo"
