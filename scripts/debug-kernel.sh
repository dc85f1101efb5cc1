#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh: build (or reuse) the kernel of the x86_64-debug QEMU
# target and print the path of its bzImage.
#
# The kernel is Debian's linux-source-6.12 (extracted by s2_linux_src),
# configured as x86_64_defconfig plus tests/qemu/debug.config (lockdep,
# KASAN, DEBUG_VM, kmemleak... and a trim of what QEMU -M pc does not
# need), built out of tree into $S2MMU_CACHE/kernel-debug-<key> (see
# s2_debug_kernel_dir in scripts/lib.sh: the key changes with the
# fragment, the base defconfig, the source version and the compiler).
# A finished build is marked with a stamp and reused as is, so a warm run
# costs nothing; an interrupted one resumes incrementally.  The build
# directory also serves as KDIR for the module (modules_prepare and
# Module.symvers are part of the build).
#
# Fails when olddefconfig dropped any CONFIG_X=value line of the fragment
# (an unmet dependency), listing the missing options.
#
# Environment: S2MMU_JOBS (default: nproc) parallel jobs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

frag=$S2MMU_TOP/tests/qemu/debug.config
jobs=${S2MMU_JOBS:-$(nproc)}
src=$(s2_linux_src)
out=$(s2_debug_kernel_dir)
image=$out/arch/x86/boot/bzImage

mkdir -p "$S2MMU_CACHE"
# One build at a time per cache (two `make check` runs may share it).
exec 9>"$S2MMU_CACHE/kernel-debug.lock"
flock 9

if [ -f "$out/.s2mmu-built" ] && [ -f "$image" ]; then
	s2_log "debug kernel: cached in $out"
	printf '%s\n' "$image"
	exit 0
fi

mkdir -p "$out"
log=$out/build.log
kmake() {
	make -C "$src" O="$out" ARCH=x86_64 -j"$jobs" "$@" >> "$log" 2>&1 ||
		{ tail -n 60 "$log" >&2; s2_die "debug kernel: make $* failed (log: $log)"; }
}

: > "$log"
s2_log "debug kernel: configuring in $out"
s2_kernel_config debug "$src" "$out" "$frag" "$log"
if grep -q '=m$' "$out/.config"; then
	s2_log "debug kernel: modules built too:" \
		"$(grep '=m$' "$out/.config" | tr '\n' ' ')"
fi

s2_log "debug kernel: building with $jobs jobs (log: $log)"
start=$(date +%s)
# bzImage, plus "modules" for Module.symvers and what an external module
# build needs (no option of the fragment is =m, so little else).
kmake bzImage modules
[ -f "$image" ] || s2_die "debug kernel: no $image after the build"
[ -f "$out/Module.symvers" ] || s2_die "debug kernel: no Module.symvers"
s2_log "debug kernel: built in $(($(date +%s) - start)) s"
touch "$out/.s2mmu-built"
printf '%s\n' "$image"
