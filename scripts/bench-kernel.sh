#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-kernel.sh: build (or reuse) the kernel `make bench` boots and
# print its build directory (the bzImage is arch/x86/boot/bzImage there,
# lib/test_hmm.ko the dmirror module; the directory is also the KDIR the
# benchmark modules are built against).
#
# Debian's linux-source-6.12 (extracted by s2_linux_src), configured as
# x86_64_defconfig plus tests/bench/bench.config: no debug options,
# TEST_HMM=m and what it needs, and a trim of what QEMU -M pc does not
# need.  Built out of tree into $S2MMU_CACHE/kernel-bench-<key>, the key
# hashing the fragment, the base defconfig, the source version and the
# compiler, with `nice -n 19 make -j2` (the machine is shared).  A
# finished build is stamped and reused; an interrupted one resumes.  The
# seconds a cold build took are kept in .s2mmu-build-seconds.
#
# Fails when olddefconfig dropped any CONFIG_X=value line of the fragment.
#
# Environment: S2MMU_BENCH_JOBS (default 2) parallel jobs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

frag=$S2MMU_TOP/tests/bench/bench.config
jobs=${S2MMU_BENCH_JOBS:-2}
src=$(s2_linux_src)
key=$( { cat "$frag" "$src/arch/x86/configs/x86_64_defconfig"
	s2_pkg_version linux-source-6.12
	gcc --version | head -n 1; } | sha256sum | cut -c1-16)
out=$S2MMU_CACHE/kernel-bench-$key

mkdir -p "$S2MMU_CACHE"
exec 9>"$S2MMU_CACHE/kernel-bench.lock"
flock 9

if [ -f "$out/.s2mmu-built" ]; then
	s2_log "bench kernel: cached in $out" \
		"(cold build took $(cat "$out/.s2mmu-build-seconds" 2>/dev/null || echo ?) s)"
	printf '%s\n' "$out"
	exit 0
fi

mkdir -p "$out"
log=$out/build.log
kmake() {
	nice -n 19 make -C "$src" O="$out" ARCH=x86_64 -j"$jobs" "$@" \
		>> "$log" 2>&1 ||
		{ tail -n 60 "$log" >&2; s2_die "bench kernel: make $* failed (log: $log)"; }
}

cold=
start=$(date +%s)
: > "$log"
if [ ! -f "$out/.s2mmu-configured" ]; then
	cold=1
	s2_log "bench kernel: configuring in $out"
	s2_kernel_config bench "$src" "$out" "$frag" "$log"
	touch "$out/.s2mmu-configured"
fi

s2_log "bench kernel: building with nice -n 19 make -j$jobs (log: $log)"
kmake bzImage modules
for f in arch/x86/boot/bzImage lib/test_hmm.ko Module.symvers; do
	[ -f "$out/$f" ] || s2_die "bench kernel: no $out/$f after the build"
done
secs=$(($(date +%s) - start))
s2_log "bench kernel: built in $secs s"
# Only a build configured in this run (not resumed) is a cold one.
[ -z "$cold" ] || echo "$secs" > "$out/.s2mmu-build-seconds"
touch "$out/.s2mmu-built"
printf '%s\n' "$out"
