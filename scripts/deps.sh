#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything s2mmu's build, tests and demo need on a Debian 12
# machine.  Idempotent: when every package and cached file is present it
# does nothing (and runs no apt-get at all).
#
# Installed packages: compilers (native and aarch64 cross), QEMU, busybox,
# sparse, the Debian 6.1 and 6.12 amd64 kernel headers and linux-source-6.12;
# for mirror-all (tests/mirror/), stress-ng and libnuma-dev (the mm
# selftests); for the packaging tests (scripts/check-dkms.sh), dkms,
# dh-dkms, debhelper and udev (its udevadm applies the rule in QEMU); for
# trace_test on the x86_64 targets, trace-cmd (copied into the initramfs);
# for compat32_test's 32-bit (-m32) build on the x86_64 targets,
# gcc-12-multilib (not gcc-multilib, which conflicts with
# gcc-aarch64-linux-gnu: tests/selftests/Makefile makes its
# /usr/include/asm link itself).
# Downloaded (apt-get download + dpkg -x into $S2MMU_CACHE, so no
# update-initramfs runs): the amd64 6.1/6.12 and arm64 6.12 kernel images,
# the arm64 6.12 headers and the arm64 busybox-static.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="build-essential gcc-12 bc bison flex cpio kmod xz-utils rsync python3
libelf-dev libssl-dev dwarves sparse perl gawk
qemu-system-x86 qemu-system-arm busybox-static
gcc-aarch64-linux-gnu gcc-12-aarch64-linux-gnu libc6-dev-arm64-cross
linux-headers-amd64 linux-headers-6.12-amd64 linux-source-6.12
stress-ng libnuma-dev
dkms dh-dkms debhelper udev trace-cmd gcc-12-multilib"

apt_updated=
apt_update() {
	if [ -z "$apt_updated" ]; then
		s2_log "apt-get update"
		apt-get update -q >/dev/null
		apt_updated=1
	fi
}

missing=
for p in $PKGS; do
	[ -n "$(s2_pkg_version "$p")" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt_update
	s2_log "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing >/dev/null
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	apt_updated=
fi

# The headers packages installed above fix the kernel versions we test.
abi612=$(s2_abi_612) || s2_die "no 6.12 amd64 headers after install"
abi61=$(s2_abi_61) || s2_die "no 6.1 amd64 headers after install"
ver612=$(s2_pkg_version "linux-headers-$abi612-amd64")

# fetch_deb PKG[:ARCH] VERSION DESTDIR: download one .deb and unpack it.
fetch_deb() {
	local pkg=$1 ver=$2 dest=$3 tmp
	if [ -f "$dest/.s2mmu-$pkg" ]; then
		return 0
	fi
	apt_update
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	s2_log "downloading $pkg $ver"
	(cd "$tmp" && apt-get download -q "$pkg=$ver" >/dev/null)
	mkdir -p "$dest"
	dpkg -x "$tmp"/*.deb "$dest"
	rm -rf "$tmp"
	touch "$dest/.s2mmu-$pkg"
}

ver61=$(s2_pkg_version "linux-headers-$abi61-amd64")
fetch_deb "linux-image-$abi61-amd64-unsigned" "$ver61" \
	"$S2MMU_CACHE/images/amd64-$abi61"
fetch_deb "linux-image-$abi612-amd64-unsigned" "$ver612" \
	"$S2MMU_CACHE/images/amd64-$abi612"
fetch_deb "linux-image-$abi612-arm64-unsigned:arm64" "$ver612" \
	"$S2MMU_CACHE/images/arm64-$abi612"
fetch_deb "linux-headers-$abi612-arm64:arm64" "$ver612" "$S2MMU_CACHE/arm64"
bbver=$(s2_pkg_version busybox-static)
fetch_deb "busybox-static:arm64" "$bbver" "$S2MMU_CACHE/busybox-arm64"

# The arm64 headers' scripts/ and tools/ are relative links to the
# (host) linux-kbuild package: make them resolve inside the cache.
mkdir -p "$S2MMU_CACHE/arm64/usr/lib"
ln -sfn "/usr/lib/linux-kbuild-$abi612" \
	"$S2MMU_CACHE/arm64/usr/lib/linux-kbuild-$abi612"

s2_linux_src >/dev/null
s2_log "dependencies ready (6.1: $abi61, 6.12: $abi612)"
