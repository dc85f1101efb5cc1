# SPDX-License-Identifier: GPL-2.0
# Shared shell helpers for s2mmu's build and test scripts.  Source it.
#
# Everything large (extracted kernel source, UML and debug kernel builds,
# downloaded kernel images) lives in $S2MMU_CACHE, outside the checkout,
# so a second `make check` reuses it.

S2MMU_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${S2MMU_CACHE:=/var/cache/s2mmu}"
: "${S2MMU_BUILD:=$S2MMU_TOP/build}"
export S2MMU_TOP S2MMU_CACHE S2MMU_BUILD

s2_log() { printf '== %s\n' "$*" >&2; }
s2_die() { printf 's2mmu: error: %s\n' "$*" >&2; exit 1; }

# s2_result STATUS NAME: record one test result for the final tally.
# STATUS is PASS, FAIL or SKIP.  Without S2MMU_RESULTS it only prints.
s2_result() {
	printf '%s %s\n' "$1" "$2"
	if [ -n "${S2MMU_RESULTS:-}" ]; then
		printf '%s %s\n' "$1" "$2" >> "$S2MMU_RESULTS"
	fi
}

# Version of a Debian package (installed or cached), empty when absent.
s2_pkg_version() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$3 == "installed" { print $4 }'
}

# The Debian 6.12 kernel ABI name, e.g. 6.12.117+deb12, from the installed
# headers.  The 6.1 one from linux-headers-amd64's dependency.
s2_abi_612() {
	local d
	d=$(ls -d /usr/src/linux-headers-6.12*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || return 1
	d=${d#/usr/src/linux-headers-}
	printf '%s\n' "${d%-amd64}"
}

s2_abi_61() {
	local d
	d=$(ls -d /usr/src/linux-headers-6.1.0-*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || return 1
	d=${d#/usr/src/linux-headers-}
	printf '%s\n' "${d%-amd64}"
}

# Path of the extracted linux-source-6.12 tree (extracting it on first use).
s2_linux_src() {
	local tarball=/usr/src/linux-source-6.12.tar.xz ver dir
	[ -f "$tarball" ] || s2_die "linux-source-6.12 missing: run scripts/deps.sh"
	ver=$(s2_pkg_version linux-source-6.12)
	dir=$S2MMU_CACHE/src/linux-source-6.12-$ver
	if [ ! -f "$dir/.s2mmu-extracted" ]; then
		s2_log "extracting linux-source-6.12 $ver into $dir"
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp"
		tar -C "$dir.tmp" -xf "$tarball" --strip-components=1
		touch "$dir.tmp/.s2mmu-extracted"
		mv "$dir.tmp" "$dir"
	fi
	printf '%s\n' "$dir"
}

# The x86_64-debug kernel's build directory (scripts/debug-kernel.sh),
# keyed by what decides the kernel: the options of the fragment
# tests/qemu/debug.config (sorted, without comments, so editing a comment
# does not cost a rebuild), the base x86_64_defconfig, the linux-source
# version and the compiler.
s2_debug_kernel_dir() {
	local src key
	src=$(s2_linux_src)
	key=$( { grep -E '^CONFIG_|^# CONFIG_.* is not set' \
			"$S2MMU_TOP/tests/qemu/debug.config" | sort -u
		cat "$src/arch/x86/configs/x86_64_defconfig"
		s2_pkg_version linux-source-6.12
		gcc --version | head -n 1; } | sha256sum | cut -c1-16)
	printf '%s\n' "$S2MMU_CACHE/kernel-debug-$key"
}

# Kernel targets: name -> headers dir, arch, cross prefix, image.
# s2_target_vars NAME sets T_KDIR T_ARCH T_CROSS T_IMAGE T_QEMU_ARCH, and
# for QEMU T_QEMU_MACHINE (x86_64 only), T_QEMU_MEM, T_TIMEOUT (seconds,
# one boot), T_CMDLINE (extra kernel parameters), T_TEST_ENV (the
# selftests' environment on that target, NAME=VALUE,...) and T_MODULES
# (the kernel's /lib/modules/VERSION as Debian's image package holds it,
# empty for a kernel built here without modules).
s2_target_vars() {
	local abi
	T_QEMU_MACHINE=pc T_QEMU_MEM=2G T_TIMEOUT=900 T_CMDLINE= T_TEST_ENV=
	T_MODULES=
	case "$1" in
	x86_64-6.1)
		abi=$(s2_abi_61) || s2_die "6.1 headers missing: run scripts/deps.sh"
		T_KDIR=/usr/src/linux-headers-$abi-amd64
		T_ARCH=x86_64 T_CROSS= T_QEMU_ARCH=x86_64
		T_IMAGE=$S2MMU_CACHE/images/amd64-$abi/boot/vmlinuz-$abi-amd64
		T_MODULES=$S2MMU_CACHE/images/amd64-$abi/lib/modules/$abi-amd64
		;;
	x86_64-6.12)
		abi=$(s2_abi_612) || s2_die "6.12 headers missing: run scripts/deps.sh"
		T_KDIR=/usr/src/linux-headers-$abi-amd64
		T_ARCH=x86_64 T_CROSS= T_QEMU_ARCH=x86_64
		T_IMAGE=$S2MMU_CACHE/images/amd64-$abi/boot/vmlinuz-$abi-amd64
		T_MODULES=$S2MMU_CACHE/images/amd64-$abi/lib/modules/$abi-amd64
		;;
	arm64-6.12)
		abi=$(s2_abi_612) || s2_die "6.12 headers missing: run scripts/deps.sh"
		T_KDIR=$S2MMU_CACHE/arm64/usr/src/linux-headers-$abi-arm64
		T_ARCH=arm64 T_CROSS=aarch64-linux-gnu- T_QEMU_ARCH=aarch64
		T_IMAGE=$S2MMU_CACHE/images/arm64-$abi/boot/vmlinuz-$abi-arm64
		T_MODULES=$S2MMU_CACHE/images/arm64-$abi/lib/modules/$abi-arm64
		# TCG runs an arm64 guest at about half the x86_64 speed:
		# fuzz_test 5,000 iterations, scale_test 128 MiB and nx_test
		# 200 armed VMs in make check (31, 34 and 30 s at the x86
		# sizes); the x86_64 targets run the full sizes.
		# race_test's exit_mmap_kill 40 kills (26 s at 100) and
		# torture_test's storms 8 s (40 s at 12).
		T_TEST_ENV=S2MMU_FUZZ_ITERATIONS=5000,S2MMU_SCALE_4K_MIB=128,S2MMU_NX_MANY_VMS=200
		T_TEST_ENV=$T_TEST_ENV,S2MMU_RACE_KILLS=40,S2MMU_TORTURE_SECONDS=8
		;;
	x86_64-debug)
		# Built from linux-source-6.12 by scripts/debug-kernel.sh;
		# T_KDIR is its O= build directory.  KASAN and lockdep
		# under TCG need more memory and time; q35 boots it about
		# a quarter faster than pc (acpi=off would be faster still
		# but leaves one CPU and no poweroff).
		T_KDIR=$(s2_debug_kernel_dir)
		T_ARCH=x86_64 T_CROSS= T_QEMU_ARCH=x86_64
		T_IMAGE=$T_KDIR/arch/x86/boot/bzImage
		T_QEMU_MACHINE=q35 T_QEMU_MEM=4G T_TIMEOUT=2700
		# -cpu max has LA57; inline generic KASAN under 5-level
		# paging can report a false "wild-memory-access in
		# do_raw_spin_lock" when an interrupt arrives during
		# identify_cpu() early in boot (upstream: "kasan: Fix
		# false-positive wild-memory-access on x86 under 5-level
		# paging", June 2026).  It fired once in CI at 5.5 s of
		# boot, long before s2mmu.ko loads.  The stock 6.12
		# target keeps LA57.
		T_CMDLINE=no5lvl
		# Under KASAN and lockdep a slot costs ~2.6 ms to create:
		# 4096 slots there (the stock targets create all 32764).
		# scale_test at 64 MiB (make scale runs 8 GiB here too), and
		# nx_test with 200 armed VMs rather than 1,000 (39 s here),
		# and fuzz_test 4,000 iterations (63 s at 10,000).
		T_TEST_ENV=S2MMU_MANY_SLOTS=4096,S2MMU_SCALE_4K_MIB=64,S2MMU_NX_MANY_VMS=200,S2MMU_FUZZ_ITERATIONS=4000
		# race_test's exit_mmap_kill 25 kills (86 s at 100),
		# scale_test's huge-zero slot 16 GiB (32 s at 64) and
		# torture_test's storms 8 s (44 s at 12): what KASAN and
		# lockdep check is the same paths, not their repetitions.
		T_TEST_ENV=$T_TEST_ENV,S2MMU_RACE_KILLS=25,S2MMU_SCALE_2M_GIB=16,S2MMU_TORTURE_SECONDS=8
		;;
	*)
		s2_die "unknown target $1 ($S2MMU_TARGETS $S2MMU_DEBUG_TARGETS)"
		;;
	esac
	export T_KDIR T_ARCH T_CROSS T_IMAGE T_QEMU_ARCH T_QEMU_MACHINE \
		T_QEMU_MEM T_TIMEOUT T_CMDLINE T_TEST_ENV
}

# The targets booting Debian's stock kernels (the default of
# tests/qemu/run.sh), and those needing a kernel built here first (about
# a quarter of an hour cold; cached).  `S2MMU_DEBUG_TARGETS= make check`
# leaves the debug kernel out.
S2MMU_TARGETS="x86_64-6.1 x86_64-6.12 arm64-6.12"
: "${S2MMU_DEBUG_TARGETS=x86_64-debug}"
export S2MMU_DEBUG_TARGETS

# s2_kernel_config NAME SRC OUT FRAG LOG: configure the out-of-tree (O=)
# kernel build OUT of source SRC as x86_64_defconfig plus the fragment
# FRAG (merged, then olddefconfig), logging to LOG.  olddefconfig silently
# drops what has unmet dependencies: every CONFIG_X=value of FRAG must be
# in the final .config verbatim, else this fails listing what is missing.
s2_kernel_config() {
	local name=$1 src=$2 out=$3 frag=$4 log=$5 line opt missing=

	make -C "$src" O="$out" ARCH=x86_64 x86_64_defconfig >> "$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; s2_die "$name kernel: make x86_64_defconfig failed"; }
	(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" "$frag") >> "$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; s2_die "$name kernel: merge_config.sh failed"; }
	make -C "$src" O="$out" ARCH=x86_64 olddefconfig >> "$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; s2_die "$name kernel: make olddefconfig failed"; }
	while IFS= read -r line; do
		grep -qxF -- "$line" "$out/.config" || missing="$missing ${line%%=*}"
	done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$frag")
	if [ -n "$missing" ]; then
		for opt in $missing; do
			printf '  %s: asked %s, got %s\n' "$opt" \
				"$(grep -E "^$opt=" "$frag" | cut -d= -f2-)" \
				"$(grep -E "^$opt=|^# $opt is not set" "$out/.config" || echo absent)" >&2
		done
		s2_die "$name kernel: options of ${frag#"$S2MMU_TOP"/} missing from .config"
	fi
}
