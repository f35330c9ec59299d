#!/usr/bin/env bash
# deps: install the host toolchain with apt, skipping what is already present.
# Idempotent; never touches the system's apt sources.
set -euo pipefail

pkgs=(
	gcc make flex bison bc libelf-dev libssl-dev cpio ccache xz-utils git
	qemu-system-x86 qemu-system-arm qemu-system-data
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	python3 perl rsync kmod dwarves
	python3-sphinx python3-sphinx-rtd-theme python3-yaml graphviz
	# checkpatch.pl runs spdxcheck.py on added files, with these modules.
	python3-ply python3-git
	gnuplot-nox fonts-dejavu-core	# make bench: the chart
	gdb-multiarch			# dump-guest.sh: where a stuck guest's CPUs are
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
# Refresh the package lists once if they have never been fetched.
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
	$sudo apt-get update -q
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" ||
	{ $sudo apt-get update -q &&
	  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; }
