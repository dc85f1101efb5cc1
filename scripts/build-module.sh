#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh [--prove] TARGET [make args...]: build s2mmu.ko (and the
# test helper modules) for one kernel target (see scripts/lib.sh) with W=1
# into build/TARGET/module/s2mmu.ko.  The sources are copied first so the
# targets never share object files.  Fails on any compiler warning.
#
# --prove builds the test flavour instead, into build/TARGET/module-prove/:
# the same sources with S2MMU_PROVE_MMU defined, which adds the test-only
# knobs (module parameters named test_*) the selftests use to inject
# delays and faults.  The module a user installs never has them (as KVM's
# CONFIG_KVM_PROVE_MMU).
#
# The x86_64-debug target builds against the O= directory of the debug
# kernel, which scripts/debug-kernel.sh builds first when it is not
# cached yet.
#
# Environment: S2MMU_JOBS (default: nproc) parallel make jobs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=module
prove=
if [ "${1:-}" = --prove ]; then
	flavour=module-prove
	prove=S2MMU_PROVE_MMU=y
	shift
fi
target=$1
shift
s2_target_vars "$target"
case "$target" in
x86_64-debug)
	[ -f "$T_KDIR/.s2mmu-built" ] ||
		bash "$S2MMU_TOP/scripts/debug-kernel.sh" > /dev/null
	;;
esac
[ -d "$T_KDIR" ] || s2_die "$T_KDIR missing: run scripts/deps.sh"

out=$S2MMU_BUILD/$target/$flavour
mkdir -p "$out"
rsync -a --delete --prune-empty-dirs \
	--exclude='/build/' --exclude='/.git/' --exclude='/tools/' \
	--exclude='/tests/selftests/' --exclude='/tests/bench/' \
	--include='*/' --include='Kbuild' --include='*.c' --include='*.h' \
	--exclude='*' "$S2MMU_TOP/" "$out/"

log=$out/build.log
make -j"${S2MMU_JOBS:-$(nproc)}" -C "$T_KDIR" M="$out" ARCH="$T_ARCH" \
	CROSS_COMPILE="$T_CROSS" \
	W=1 $prove "$@" modules > "$log" 2>&1 || { cat "$log"; exit 1; }
if grep -E 'warning:|error:' "$log"; then
	s2_die "$target: compiler warnings (see above)"
fi
grep -E '^ +(CHECK|CC|LD) ' "$log" | sed 's/^/  /' >&2 || true
[ -f "$out/s2mmu.ko" ] || s2_die "$target: s2mmu.ko not built"
