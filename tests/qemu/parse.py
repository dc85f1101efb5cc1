#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check one QEMU console log of the s2mmu test initramfs (tests/qemu/init).

Prints one PASS/FAIL/SKIP line per test case (and appends it to
$S2MMU_RESULTS when set) and exits non-zero when anything failed: a
"not ok", a plan with missing results, a non-zero exit, a boot that did
not finish, the module not loading or unloading, or a kernel log line
that shows a splat (WARNING, BUG, Oops, KASAN, lockdep, leaks...).
"""
import argparse
import os
import re
import sys

SPLAT = re.compile(
    r'WARNING:|\bBUG[: ]|\bOops\b|Kernel panic|KASAN|UBSAN|kmemleak|'
    r'unreferenced object|(?i:\bleak)|lockdep|possible recursive locking|'
    r'circular locking|suspicious RCU|inconsistent lock state|'
    r'sleeping function called from invalid context|'
    r'general protection fault|refcount_t:|list_add corruption|'
    r'list_del corruption|Call Trace:|blocked for more than|'
    r'detected stalls? on|self-detected stall')
# Our own marker written into the kernel log before insmod, and the boot
# banners of the debug kernel's checkers (they are not reports).
IGNORE = re.compile(r's2mmu-test: loading s2mmu.ko|'
                    r'rcu: \s*RCU lockdep checking is enabled\.$|'
                    r'kmemleak: Kernel memory leak detector initialized')
# Lines of report printed after each splat line, and bounds on the output.
CONTEXT = 30
MAX_SPLATS = 20
MAX_REPORT_LINES = 200
ANSI = re.compile(r'\x1b(\[[0-9;?]*[A-Za-z]|[c()][0-9A-B]?)')
TAP = re.compile(r'^(not ok|ok) (\d+) (.*?)(?:\s+#\s*(SKIP|TODO)\b.*)?$')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--target', required=True)
    ap.add_argument('--mode', default='test')
    ap.add_argument('log')
    args = ap.parse_args()

    out = open(os.environ['S2MMU_RESULTS'], 'a') if os.environ.get(
        'S2MMU_RESULTS') else None
    counts = {'PASS': 0, 'FAIL': 0, 'SKIP': 0}

    def result(status, name):
        counts[status] += 1
        line = '%s qemu:%s:%s' % (status, args.target, name)
        print(line)
        if out:
            out.write(line + '\n')

    with open(args.log, errors='replace') as f:
        lines = [ANSI.sub('', l.rstrip('\r\n').replace('\r', ''))
                 for l in f]
    # Firmware and early boot output may precede a marker on its line.
    lines = [l[l.index('S2MMU-'):] if 'S2MMU-' in l and
             not l.startswith('[') else l for l in lines]

    done = any(l.startswith('S2MMU-DONE') for l in lines)
    kernel = next((l for l in lines if l.startswith('S2MMU-KERNEL')), None)
    if kernel:
        print('# ' + kernel)
    result('PASS' if done else 'FAIL', 'boot')
    if not done:
        print('# console log tail (%s):' % args.log)
        for l in lines[-60:]:
            print('#   ' + l)
    result('PASS' if 'S2MMU-INSMOD ok' in lines else 'FAIL', 'insmod')

    binary = None
    plan = 0
    seen = 0
    for l in lines:
        if l.startswith('S2MMU-BEGIN '):
            binary = l.split()[1]
            plan, seen = 0, 0
            continue
        if l.startswith('S2MMU-TIME '):
            # S2MMU-TIME NAME START END, seconds of guest uptime.
            f = l.split()
            try:
                print('# %s: %.1f s' % (f[1], float(f[3]) - float(f[2])))
            except (IndexError, ValueError):
                pass
            continue
        # The init's watchdog: a binary past its time, and what its
        # threads were blocked in.
        if l.startswith('S2MMU-HANG '):
            f = l.split()
            result('FAIL', '%s:hung (%s)' % (f[1], ' '.join(f[2:])))
            continue
        if l.startswith('S2MMU-STACK '):
            print('#   ' + l[len('S2MMU-STACK '):])
            continue
        if binary is None:
            continue
        if l.startswith('S2MMU-END '):
            rc = l.rsplit('rc=', 1)[-1]
            if args.mode == 'demo':
                result('PASS' if rc == '0' else 'FAIL', 'demo')
            else:
                if plan == 0 or seen != plan:
                    result('FAIL', '%s:plan (%d of %d results)' %
                           (binary, seen, plan))
                if rc != '0' and counts['FAIL'] == 0:
                    result('FAIL', '%s:exit rc=%s' % (binary, rc))
            binary = None
            continue
        m = re.match(r'^1\.\.(\d+)$', l)
        if m:
            plan = int(m.group(1))
            continue
        m = TAP.match(l)
        if m:
            seen += 1
            name = '%s:%s' % (binary, m.group(3).strip())
            if m.group(1) == 'not ok':
                result('FAIL', name)
            elif m.group(4) == 'SKIP':
                result('SKIP', name)
            else:
                result('PASS', name)
        elif l.startswith('#') and ('FAIL' in l or 'Expected' in l or
                                    'SKIP' in l):
            print('#   ' + l)
    if binary is not None:
        result('FAIL', '%s:did not finish' % binary)

    if done:
        result('PASS' if 'S2MMU-RMMOD ok' in lines else 'FAIL', 'rmmod')
        counters = next((l for l in lines
                         if l.startswith('S2MMU-COUNTERS')), '')
        if counters != 'S2MMU-COUNTERS vms=0 table_pages=0':
            print('# module counters not back to zero: ' + counters)
        result('PASS' if counters == 'S2MMU-COUNTERS vms=0 table_pages=0'
               else 'FAIL', 'counters-zero')

    # Splat lines, and for each the report around it: the line before
    # and up to CONTEXT lines after (the call trace), so a failure seen
    # only in CI output can be diagnosed without the console log.
    def report(i):
        """Line numbers of the report around splat line i."""
        end = i + 1
        while end < min(len(lines), i + CONTEXT + 1) and \
                not lines[end].startswith('S2MMU-'):
            end += 1
        return range(max(i - 1, 0), end)

    splats = []
    context = []
    in_dmesg = False
    for i, l in enumerate(lines):
        if l == 'S2MMU-DMESG-BEGIN':
            in_dmesg = True
            continue
        if l == 'S2MMU-DMESG-END':
            in_dmesg = False
            continue
        if (in_dmesg or l.startswith('[')) and SPLAT.search(l) and \
                not IGNORE.search(l):
            splats.append(l)
            context.extend(report(i))
    # kmemleak's report (the debug kernel) is printed whole, before the
    # dmesg block: any line in it is a leak.
    in_leak = False
    for i, l in enumerate(lines):
        if l == 'S2MMU-KMEMLEAK-BEGIN':
            in_leak = True
        elif l == 'S2MMU-KMEMLEAK-END':
            in_leak = False
        elif in_leak and l.strip():
            splats.append(l)
            context.append(i)
        elif not in_leak and l.startswith('unreferenced object'):
            splats.append(l)
            context.extend(report(i))
    if splats:
        print('# kernel log splats:')
        for l in splats[:MAX_SPLATS]:
            print('#   ' + l)
        print('# the reports (%s):' % args.log)
        last = -2
        shown = 0
        for i in sorted(set(context)):
            if lines[i].startswith('S2MMU-'):
                continue
            if shown == MAX_REPORT_LINES:
                print('#   | ...')
                break
            if i != last + 1:
                print('#   | --')
            print('#   | ' + lines[i])
            last = i
            shown += 1
    result('FAIL' if splats or not done else 'PASS', 'dmesg-clean')

    print('# %s: %d passed, %d failed, %d skipped' %
          (args.target, counts['PASS'], counts['FAIL'], counts['SKIP']))
    return 1 if counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
