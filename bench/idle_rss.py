#!/usr/bin/env python3
"""Idle memory benchmark (issue 7: performance).

Starts our exporter with its embedded default config (no --config.file),
node_exporter (default collectors) and blackbox_exporter (one http_2xx
module), each on a free loopback port and never scraped, waits --seconds
(default 10), and prints each one's RSS (VmRSS) and peak RSS (VmHWM).

usage: bench/idle_rss.py [--binary build/joelclaw_exporter] [--seconds 10]
"""
import argparse
import os
import sys
import time

import benchlib as b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/joelclaw_exporter")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()

    started = [("joelclaw_exporter (embedded config)", *b.start_ours(args.binary)),
               ("node_exporter 1.5.0", *b.start_node_exporter()),
               ("blackbox_exporter 0.23.0", *b.start_blackbox())]
    rows = []
    try:
        for _, proc, base in started:
            b.wait_http(base + "/-/healthy", proc=proc)
        time.sleep(args.seconds)
        for name, proc, _ in started:
            rows.append((name, b.status_kib(proc.pid, "VmRSS"), b.status_kib(proc.pid, "VmHWM")))
    finally:
        for _, proc, _ in started:
            b.stop(proc)

    print(f"idle for {args.seconds:.0f}s after answering /-/healthy, never scraped; "
          f"{os.cpu_count()} CPUs; load average: {b.loadavg()}")
    print(f"{'exporter':<38}{'RSS MiB':>10}{'peak MiB':>10}")
    for name, rss, hwm in rows:
        print(f"{name:<38}{b.mib(rss):>10.1f}{b.mib(hwm):>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
