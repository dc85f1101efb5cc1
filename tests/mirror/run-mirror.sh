#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-mirror.sh: mirror-all, inside the test initramfs (tests/qemu/init,
# s2mmu.mode=mirror).  Runs programs nobody here wrote -- Debian's
# stress-ng and some of the kernel's mm selftests -- twice: plainly, then
# with LD_PRELOAD=s2mmu_mirror.so, which makes the process's whole address
# space an s2mmu VM touched by a background vCPU.  Prints TAP: one result
# per program; it passes when
#
#   - the mirrored run's result equals the plain run's: the exit status,
#     and for kselftest programs the "# Totals:" line (stress-ng: its
#     passed/failed/skipped summary);
#   - the mirror log holds at least one report of a process that touched
#     its memory (accesses > 0), and no report of an invariant violation
#     or of a process that could not be mirrored.
#
# When the plain run fails and the two disagree, both run once more and
# the second pair is judged (see the loop below).
#
# Kernel splats are caught by tests/qemu/parse.py from the kernel log.
# Usage: run-mirror.sh [FILTER] (only the programs whose name contains it).

dir=$(dirname "$0")
so=$dir/s2mmu_mirror.so
out=/tmp/mirror
filter=${1:-}
mkdir -p "$out"
cd /tmp || exit 1

# name|command: stress-ng first (bounded by --timeout), then the selftests.
# stress-ng 0.15 (Debian 12) has no ksm, thp or migrate stressors:
# mmaphuge and madvise cover THP, numa (slow) page migration (the boot
# has two NUMA nodes); the migration selftest covers migration, and
# ksm_functional_tests KSM (on demand, see below).
SNG="/mirror/bin/stress-ng --timeout 2s --metrics-brief --temp-path /tmp"
# madvise runs --verbose: its mirrored run on 6.1 now and then exits 2
# ("unsuccessful run") with no failure line; its debug lines say why.
tests="
stress-ng:mmap|$SNG --mmap 2 --mmap-bytes 16M
stress-ng:madvise|$SNG --madvise 2 --verbose
stress-ng:mremap|$SNG --mremap 2 --mremap-bytes 16M
stress-ng:fork|$SNG --fork 2
stress-ng:mmaphuge|$SNG --mmaphuge 1 --mmaphuge-mmaps 64
stress-ng:mprotect|$SNG --mprotect 2
mm:mkdirty|/mirror/mm/mkdirty
mm:mremap_test|/mirror/mm/mremap_test -t 8 -p 42
mm:migration|/mirror/mm/migration -t private_anon_thp
"
# Run only when FILTER names them.  Too slow under TCG for every `make
# check` (up to minutes each; numa even plainly): mmapfork, numa.  Not
# comparable: the mirror's read faults map the shared zero page over
# memory the program discarded or never wrote, which tests looking at
# page frames notice -- ksm_functional_tests' test_unmerge_discarded
# finds "duplicates" (range_maps_duplicates()), cow's helpers see pages
# populated between two pagemap reads ("read and ioctl return unmatched
# results") or get no THP.
slow="
stress-ng:mmapfork|$SNG --mmapfork 1
stress-ng:numa|$SNG --numa 1 --numa-ops 8
mm:ksm_functional_tests|/mirror/mm/ksm_functional_tests
mm:cow|/mirror/mm/cow
"

if [ -n "$filter" ]; then
	selected=$(printf '%s\n%s\n' "$tests" "$slow" | grep '|' |
		grep -F -- "$filter")
else
	selected=$(echo "$tests" | grep '|')
fi
echo "1..$(echo "$selected" | grep -c '|')"

# summary FILE: what must be equal between the two runs' output.  The
# one tolerated difference: kselftest cases that pass plainly may skip
# when mirrored (cow's THP cases skip when the mirror's read faults
# populated the range with the (huge) zero page before the test's first
# write), so "# Totals:" is compared as the number of cases, failures,
# errors and unexpected passes.
summary() {
	grep -E '^# Totals:|^# (PASSED|FAILED):|stress-ng: [a-z]+: \[[0-9]+\] (passed|failed|skipped|untrustworthy):' "$1" |
		sed -E 's/\[[0-9]+\] //' |
		awk -F'[ :]+' '/^# Totals:/ {
			print "# cases:" $4 + $8 + $12, "fail:" $6,
				"xpass:" $10, "error:" $14; next } { print }'
}

# field NAME LINE: the value of NAME=value in a report line.
field() {
	echo "$2" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}

n=0
total_procs=0
total_acc=0
rc_all=0
echo "$selected" | {
while IFS='|' read -r name cmd; do
	n=$((n + 1))
	f=$out/$(echo "$name" | tr ':/' '__')
	# In the program's directory: ksm_functional_tests re-executes
	# itself as ./ksm_functional_tests.
	prog=${cmd%% *}
	# The pair runs again, once, when the plain run itself failed and
	# the two disagree: a program that fails without the mirror (as
	# stress-ng's madvise stressor did once on 6.1) says nothing about
	# the mirror.  A mirrored failure after a plain pass is never
	# retried.
	for attempt in 1 2; do
		rm -f "$f.log"
		t0=$(date +%s)
		# shellcheck disable=SC2086
		(cd "${prog%/*}" && exec $cmd) > "$f.plain" 2>&1
		rc0=$?
		t1=$(date +%s)
		# shellcheck disable=SC2086
		(cd "${prog%/*}" && S2MMU_MIRROR_LOG=$f.log \
			S2MMU_MIRROR_QUIET=1 LD_PRELOAD=$so exec $cmd) \
			> "$f.mirror" 2>&1
		rc1=$?
		t2=$(date +%s)
		[ "$rc0" != 0 ] || break
		[ "$rc0" != "$rc1" ] ||
			[ "$(summary "$f.plain")" != "$(summary "$f.mirror")" ] ||
			break
		[ "$attempt" = 2 ] && break
		echo "# $name: the plain run failed (rc=$rc0), mirrored rc=$rc1: running both again"
		summary "$f.plain" | sed 's/^/#   plain: /'
		tail -n 5 "$f.plain" | sed 's/^/#   | /'
	done

	exits=$(grep -c 'event=exit' "$f.log" 2>/dev/null)
	bad=$(grep -E 'event=(violation|nomirror)| violations=[1-9]' \
		"$f.log" 2>/dev/null | head -n 3)
	acc=0
	touched=0
	leaves=0
	while read -r l; do
		a=$(field accesses "$l")
		acc=$((acc + a))
		[ "$a" = 0 ] || touched=$((touched + 1))
		leaves=$((leaves + $(field leaves "$l")))
	done <<EOF
$(grep 'event=exit' "$f.log" 2>/dev/null)
EOF
	why=
	[ "$rc0" = "$rc1" ] || why="$why exit status $rc0 plain, $rc1 mirrored;"
	if [ "$(summary "$f.plain")" != "$(summary "$f.mirror")" ]; then
		why="$why results differ;"
	fi
	totals0=$(grep -m 1 '^# Totals:' "$f.plain")
	totals1=$(grep -m 1 '^# Totals:' "$f.mirror")
	[ -z "$totals0$totals1" ] ||
		echo "# $name: plain \"${totals0#\# }\", mirrored \"${totals1#\# }\""
	[ "${exits:-0}" -gt 0 ] || why="$why no mirror report;"
	[ "$touched" -gt 0 ] || why="$why no process touched its memory;"
	[ -z "$bad" ] || why="$why mirror reported a problem;"

	echo "# $name: plain rc=$rc0 ($((t1 - t0)) s), mirrored rc=$rc1 ($((t2 - t1)) s); reports=${exits:-0} touching=$touched accesses=$acc leaves=$leaves violations=$(grep -c -E 'event=violation| violations=[1-9]' "$f.log" 2>/dev/null)"
	if [ -z "$why" ]; then
		echo "ok $n $name"
	else
		echo "# FAIL $name:$why"
		sed 's/^/#   M| /' "$f.mirror"
		tail -n 20 "$f.log" | sed 's/^/#   L| /'
		[ -z "$bad" ] || echo "$bad" | sed 's/^/#   /'
		echo "#   plain:"
		summary "$f.plain" | sed 's/^/#     /'
		echo "#   mirrored:"
		summary "$f.mirror" | sed 's/^/#     /'
		echo "#   plain run's failures and skips:"
		grep -E '^not ok|^ok .*# SKIP|^# +(FAIL|SKIP)' "$f.plain" |
			head -n 10 | sed 's/^/#   | /'
		echo "#   mirrored run's failures and skips:"
		grep -E '^not ok|^ok .*# SKIP|^# +(FAIL|SKIP)' "$f.mirror" |
			head -n 10 | sed 's/^/#   | /'
		tail -n 8 "$f.mirror" | sed 's/^/#   | /'
		echo "not ok $n $name"
		rc_all=1
	fi
	total_procs=$((total_procs + ${exits:-0}))
	total_acc=$((total_acc + acc))
done
echo "# mirror-all: $total_procs mirrored processes reported, $total_acc accesses"
exit $rc_all
}
