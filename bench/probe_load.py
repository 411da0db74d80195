#!/usr/bin/env python3
"""Probe load benchmark (issue 7: performance).

1000 HTTP targets (distinct URLs on 4 loopback HTTP servers, each its own
process) probed every 15 s for --seconds (default 120), twice, one after the
other:

  (a) our exporter with 1000 http checks (interval 15 s, timeout 5 s);
  (b) blackbox_exporter with an http_2xx module (timeout 5 s), driven the way
      Prometheus drives it: GET /probe?target=URL&module=http_2xx once per
      target per 15 s, the targets' start times spread evenly over the
      interval (Prometheus offsets each target's scrape within the interval),
      at most --concurrency probes in flight.

Measures the exporter process only (not the driver or the target servers):
CPU seconds (utime + stime from /proc/PID/stat) over the window (the
seconds/interval rounds of probes), peak RSS
(VmHWM from /proc/PID/status), and the probe success ratio (ours: share of
joelclaw_probe_success == 1 at the end, and failed runs counted by
joelclaw_probe_failures_total; blackbox: share of /probe answers with
probe_success 1), and how many requests the target servers saw abandoned
(the prober closed the connection before the answer was written).

usage: bench/probe_load.py [--binary build/joelclaw_exporter] [--targets 1000]
                           [--seconds 120] [--interval 15] [--concurrency 64]
"""
import argparse
import concurrent.futures
import os
import sys
import threading
import time
import urllib.parse
import urllib.request

import benchlib as b


def run_ours(binary, urls, seconds, interval):
    cfg = b.write_temp("config.yaml", b.http_checks_config(urls, interval=f"{interval}s"))
    proc, base = b.start_ours(binary, cfg)
    try:
        b.wait_http(base + "/-/healthy", proc=proc)
        cpu0 = b.cpu_seconds(proc.pid)
        # All checks start at once and then every interval: stop the window
        # (and the exporter) 1 s before the round due at `seconds`, so that
        # it holds the same rounds as the blackbox driver's and no stopped
        # run is half done.
        time.sleep(seconds - 1)
        cpu = b.cpu_seconds(proc.pid) - cpu0
        hwm = b.status_kib(proc.pid, "VmHWM")
        _, body = b.fetch(base + "/metrics")
        text = body.decode()
        up = b.count_samples(text, "joelclaw_probe_success", 1)
        failed_runs = b.sample_value(text, "joelclaw_probe_failures_total")
        return {"cpu": cpu, "hwm": hwm, "ok": up, "total": len(urls),
                "note": f"{up}/{len(urls)} up at the end, {failed_runs:.0f} failed runs in the window"}
    finally:
        b.stop(proc)


def run_blackbox(urls, seconds, interval, concurrency):
    proc, base = b.start_blackbox()
    stats = {"ok": 0, "fail": 0, "errors": 0}
    lock = threading.Lock()

    def probe(url):
        q = urllib.parse.urlencode({"target": url, "module": "http_2xx"})
        try:
            # Prometheus tells the exporter its scrape timeout (10 s by default).
            req = urllib.request.Request(f"{base}/probe?{q}",
                                           headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
            with urllib.request.urlopen(req, timeout=15) as r:
                text = r.read().decode()
            key = "ok" if b.sample_value(text, "probe_success") == 1 else "fail"
        except OSError:
            key = "errors"
        with lock:
            stats[key] += 1

    try:
        b.wait_http(base + "/metrics", proc=proc)
        cpu0 = b.cpu_seconds(proc.pid)
        start = time.monotonic()
        n = len(urls)
        with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
            k = 0
            while True:
                # Target i of round r is due at start + r*interval + i*interval/n.
                due = start + (k // n) * interval + (k % n) * interval / n
                if due - start >= seconds:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(probe, urls[k % n])
                k += 1
        cpu = b.cpu_seconds(proc.pid) - cpu0
        hwm = b.status_kib(proc.pid, "VmHWM")
        total = stats["ok"] + stats["fail"] + stats["errors"]
        return {"cpu": cpu, "hwm": hwm, "ok": stats["ok"], "total": total,
                "note": f"{stats['ok']}/{total} probes succeeded, {stats['errors']} driver errors"}
    finally:
        b.stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/joelclaw_exporter")
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--interval", type=int, default=15)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--servers", type=int, default=4)
    args = ap.parse_args()
    b.require(b.BLACKBOX_EXPORTER)
    if args.seconds % args.interval or args.seconds < args.interval:
        sys.exit("--seconds must be a multiple of --interval")

    targets, servers = b.start_target_processes(args.servers)
    ports = [t.server_address[1] for t in targets]
    urls = [f"http://127.0.0.1:{ports[i % len(ports)]}/?n={i}" for i in range(args.targets)]
    try:
        load_a = b.loadavg()
        ours = run_ours(args.binary, urls, args.seconds, args.interval)
        ours["aborted"] = b.aborted(targets)
        load_b = b.loadavg()
        bb = run_blackbox(urls, args.seconds, args.interval, args.concurrency)
        bb["aborted"] = b.aborted(targets) - ours["aborted"]
        load_end = b.loadavg()
    finally:
        b.stop_processes(servers)

    print(f"{args.targets} http targets every {args.interval}s for {args.seconds}s, timeout 5s; "
          f"{os.cpu_count()} CPUs; load average at start of (a): {load_a}, of (b): {load_b}, "
          f"end: {load_end}")
    print(f"{'exporter':<34}{'CPU s':>8}{'CPU %':>8}{'peak RSS MiB':>14}{'success':>9}  detail")
    for name, r in ((f"(a) joelclaw_exporter", ours),
                    (f"(b) blackbox_exporter 0.23.0", bb)):
        ratio = r["ok"] / r["total"] if r["total"] else 0.0
        print(f"{name:<34}{r['cpu']:>8.2f}{100 * r['cpu'] / args.seconds:>8.1f}"
              f"{b.mib(r['hwm']):>14.1f}{ratio:>9.3f}  {r['note']}; "
              f"{r['aborted']} requests abandoned by the prober")
    return 0


if __name__ == "__main__":
    sys.exit(main())
