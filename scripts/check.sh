#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: everything `make check` runs, on a fresh machine too.
#
#   1. scripts/deps.sh           install packages, fetch kernels (cached)
#   2. module builds, W=1        Debian 6.1 + 6.12 amd64, 6.12 arm64 (cross)
#   3. sparse (C=2)              6.12 amd64 and arm64
#   4. checkpatch --strict       every project C file and header
#      layers                    scripts/check-layers.py: no call from a
#                                file to one above it (index.rst)
#      packaging                 scripts/check-dkms.sh: DKMS, make install,
#                                the .deb, the DKMS-built module and the
#                                udev rule in QEMU; the machine restored
#   5. KUnit under UML           tests/kunit/run.sh
#   6. selftests in QEMU         tests/qemu/run.sh on the three targets
#      mirror-all in QEMU        tests/qemu/run.sh --mirror on the x86_64
#                                targets ($S2MMU_MIRROR_TARGETS)
#   7. debug kernel              $S2MMU_DEBUG_TARGETS (x86_64-debug): the
#                                kernel build (scripts/debug-kernel.sh,
#                                cached), the module build (W=1) and the
#                                selftests on it; `S2MMU_DEBUG_TARGETS=`
#                                leaves it out
#
# Every step records PASS/FAIL/SKIP lines; the last line printed is the
# tally "N passed, N failed, N skipped".  Exits non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

mkdir -p "$S2MMU_BUILD"
S2MMU_RESULTS=$S2MMU_BUILD/results.txt
export S2MMU_RESULTS
: > "$S2MMU_RESULTS"
start=$(date +%s)

# step NAME CMD...: run one step that is itself a single result; returns
# its status.
step() {
	local name=$1 t0=$SECONDS rc=0
	shift
	s2_log "$name"
	if "$@"; then
		s2_result PASS "$name"
	else
		s2_result FAIL "$name"
		rc=1
	fi
	s2_log "$name: $((SECONDS - t0)) s"
	return $rc
}

# suite NAME CMD...: run a runner that records its own per-test results;
# its failure without a recorded FAIL still counts as one.
suite() {
	local name=$1 t0=$SECONDS before
	shift
	s2_log "$name"
	before=$(grep -c '^FAIL' "$S2MMU_RESULTS")
	if ! "$@"; then
		if [ "$(grep -c '^FAIL' "$S2MMU_RESULTS")" = "$before" ]; then
			s2_result FAIL "$name"
		fi
	fi
	s2_log "$name: $((SECONDS - t0)) s"
}

summary() {
	local p f s
	p=$(grep -c '^PASS' "$S2MMU_RESULTS")
	f=$(grep -c '^FAIL' "$S2MMU_RESULTS")
	s=$(grep -c '^SKIP' "$S2MMU_RESULTS")
	if [ "$f" != 0 ]; then
		echo "Failed:"
		grep '^FAIL' "$S2MMU_RESULTS" | sed 's/^/  /'
	fi
	echo "make check took $(($(date +%s) - start)) s"
	echo "$p passed, $f failed, $s skipped"
	[ "$f" = 0 ]
}

if ! bash "$S2MMU_TOP/scripts/deps.sh"; then
	s2_result FAIL deps
	summary
	exit 1
fi

for t in $S2MMU_TARGETS; do
	step "build:$t" bash "$S2MMU_TOP/scripts/build-module.sh" "$t"
done
for t in x86_64-6.12 arm64-6.12; do
	step "sparse:$t" bash "$S2MMU_TOP/scripts/build-module.sh" "$t" C=2
done
step checkpatch bash "$S2MMU_TOP/scripts/checkpatch.sh"
step layers python3 "$S2MMU_TOP/scripts/check-layers.py"
suite packaging bash "$S2MMU_TOP/scripts/check-dkms.sh"
suite kunit bash "$S2MMU_TOP/tests/kunit/run.sh"
suite selftests bash "$S2MMU_TOP/tests/qemu/run.sh" $S2MMU_TARGETS
# mirror-all: real programs (stress-ng, mm selftests) with their whole
# address space mirrored by s2mmu (tests/mirror/), one boot per target;
# x86_64 only.  `S2MMU_MIRROR_TARGETS= make check` leaves it out.
: "${S2MMU_MIRROR_TARGETS=x86_64-6.1 x86_64-6.12}"
[ -z "$S2MMU_MIRROR_TARGETS" ] ||
	suite mirror bash "$S2MMU_TOP/tests/qemu/run.sh" --mirror $S2MMU_MIRROR_TARGETS

# Last, as the longest: the kernel build is a result of its own (about a
# quarter of an hour cold, nothing when cached); what needs the kernel is
# skipped when it fails.
for t in $S2MMU_DEBUG_TARGETS; do
	case "$t" in
	x86_64-debug) kbuild=$S2MMU_TOP/scripts/debug-kernel.sh ;;
	*) s2_result FAIL "kernel:$t (unknown debug target)"; continue ;;
	esac
	if ! step "kernel:$t" bash "$kbuild"; then
		s2_result SKIP "build:$t"
		s2_result SKIP "selftests:$t"
		continue
	fi
	if step "build:$t" bash "$S2MMU_TOP/scripts/build-module.sh" "$t"; then
		suite "selftests:$t" bash "$S2MMU_TOP/tests/qemu/run.sh" "$t"
	else
		s2_result SKIP "selftests:$t"
	fi
done

summary
