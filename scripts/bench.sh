#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [CASE...]: `make bench`.  Boot the bench kernel (Debian's
# linux-source-6.12 with TEST_HMM, scripts/bench-kernel.sh) in QEMU (x86_64,
# TCG, 2 vCPUs, 6 GiB) with s2mmu.ko, lib/test_hmm.ko (dmirror) and
# tests/bench/gup_floor.ko, run tests/bench/s2mmu_bench, and write into
# build/bench/: the console log, results.csv (every repetition),
# results.json (min/median per variant, the ratios against the targets),
# table.txt (printed at the end) and PNG plots.  Documentation/bench.rst
# says what each case measures.
#
# Environment: S2MMU_BENCH_REPS (default 5) repetitions,
# S2MMU_BENCH_MIB (default 1024) memory per case, S2MMU_BENCH_MEM (QEMU
# -m, default 6G), S2MMU_BENCH_TIMEOUT (seconds, default 5400).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

reps=${S2MMU_BENCH_REPS:-5}
mib=${S2MMU_BENCH_MIB:-1024}
out=$S2MMU_BUILD/bench
t0=$(date +%s)

bash "$S2MMU_TOP/scripts/deps.sh"
# The plots: a bench-only dependency.
if [ -z "$(s2_pkg_version gnuplot-nox)" ]; then
	s2_log "installing gnuplot-nox"
	apt-get update -q > /dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends gnuplot-nox > /dev/null
fi

kdir=$(bash "$S2MMU_TOP/scripts/bench-kernel.sh")
src=$(s2_linux_src)
mkdir -p "$out"

# s2mmu.ko and gup_floor.ko against the bench kernel, from copies of the
# sources (as scripts/build-module.sh: the checkout stays clean).
kbuild() {
	local dir=$1 log=$1/build.log
	shift
	make -C "$kdir" M="$dir" W=1 "$@" modules > "$log" 2>&1 ||
		{ cat "$log"; s2_die "bench: module build in $dir failed"; }
	if grep -E 'warning:|error:' "$log"; then
		s2_die "bench: compiler warnings in $dir (see above)"
	fi
}
s2_log "bench: building s2mmu.ko, gup_floor.ko and s2mmu_bench"
rsync -a --delete --prune-empty-dirs \
	--exclude='/build/' --exclude='/.git/' --exclude='/tools/' \
	--exclude='/tests/' \
	--include='*/' --include='Kbuild' --include='*.c' --include='*.h' \
	--exclude='*' "$S2MMU_TOP/" "$out/module/"
# The test flavour: its test_age_locked and test_nx_recovery_locked let
# the aging and nx cases run the old locked paths in the same boot (the
# other knobs stay off).
kbuild "$out/module" S2MMU_PROVE_MMU=y
mkdir -p "$out/gup_floor"
cp "$S2MMU_TOP"/tests/bench/{Kbuild,gup_floor.c,gup_floor.h} "$out/gup_floor/"
kbuild "$out/gup_floor"
# test_hmm_uapi.h comes from the kernel source it was built from.
gcc -static -O2 -Wall -Wextra -Werror -I"$S2MMU_TOP/include/uapi" \
	-I"$S2MMU_TOP/tests/bench" -I"$src/lib" \
	-o "$out/s2mmu_bench" "$S2MMU_TOP/tests/bench/s2mmu_bench.c" -lpthread

root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,bench,lib/modules}
cp /bin/busybox "$root/bin/busybox"
cp "$S2MMU_TOP/tests/bench/init" "$root/init"
chmod 755 "$root/init"
cp "$out/module/s2mmu.ko" "$out/gup_floor/gup_floor.ko" \
	"$kdir/lib/test_hmm.ko" "$root/lib/modules/"
cp "$out/s2mmu_bench" "$root/bench/"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz"

args="-r,$reps,-m,$mib"
for c in "$@"; do
	args="$args,$c"
done
log=$out/console.log
s2_log "bench: booting QEMU (TCG, 2 vCPUs, ${S2MMU_BENCH_MEM:-6G}); console: $log"
start=$(date +%s)
timeout --foreground "${S2MMU_BENCH_TIMEOUT:-5400}" \
	qemu-system-x86_64 -M pc -cpu max -smp 2 -m "${S2MMU_BENCH_MEM:-6G}" \
	-accel tcg,thread=multi -nographic -no-reboot -nodefaults \
	-serial stdio -kernel "$kdir/arch/x86/boot/bzImage" \
	-initrd "$out/initramfs.cpio.gz" \
	-append "console=ttyS0 loglevel=1 panic=-1 s2mmu.args=$args" \
	< /dev/null > "$log" 2>&1 || true
s2_log "bench: QEMU ran $(($(date +%s) - start)) s"
grep -q '^BENCH-DONE' <(tr -d '\r' < "$log") ||
	{ tail -n 40 "$log"; s2_die "bench: the guest did not finish (log: $log)"; }

python3 "$S2MMU_TOP/tests/bench/report.py" --out "$out" \
	--build-seconds "$(cat "$kdir/.s2mmu-build-seconds" 2>/dev/null || echo 0)" \
	--total-seconds "$(($(date +%s) - t0))" "$log"
