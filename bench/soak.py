#!/usr/bin/env python3
"""Soak test (issue 7: performance).

For --minutes (default 10) our exporter runs 100 checks (interval 2 s,
timeout 1 s): 50 http checks of a steady loopback server, 30 http and 20 tcp
checks of a loopback server that goes down and comes back up every --flap
seconds (default 3; down = nothing listens, connection refused). Meanwhile:

  - wrk -t2 -c10 hammers /metrics the whole time;
  - every 10 s the config file is rewritten (alternately with and without 10
    extra checks and with one check's interval changed) and POST /-/reload
    is sent;
  - RSS (VmRSS) is sampled every 10 s.

Reports wrk's errors (non-2xx/3xx answers, socket errors), reload failures
(any answer but 200), and RSS after the 30 s warm-up, its maximum after the
warm-up, and at the end; also how many probe requests the target servers
saw abandoned (a reload cancels the runs in flight, so some are expected).
Exits 1 if any request errored, any reload failed,
the exporter exited, or RSS rose more than RSS_BOUND_MIB (20 MiB) above the
warm-up RSS at any later sample.

usage: bench/soak.py [--binary build/joelclaw_exporter] [--minutes 10]
"""
import argparse
import os
import subprocess
import sys
import threading
import time

import benchlib as b

RSS_BOUND_MIB = 20
WARMUP_S = 30
RELOAD_EVERY_S = 10
SAMPLE_EVERY_S = 10


class Flapper:
    """An HTTP server on a fixed loopback port that is up for `period`
    seconds, then down (socket closed) for `period` seconds, and so on."""

    def __init__(self, period):
        self.period = period
        self.httpd = b.start_http_server()
        self.port = self.httpd.server_address[1]
        self.flips = 0
        self.aborted = 0  # summed over the servers it has closed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.period):
            if self.httpd is not None:
                self._close_server()
            else:
                self.httpd = b.start_http_server(self.port)
            self.flips += 1

    def close(self):
        self._stop.set()
        self._thread.join()
        if self.httpd is not None:
            self._close_server()

    def _close_server(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.aborted += self.httpd.aborted.value
        self.httpd = None


def soak_config(steady_port, flap_port, variant):
    lines = ["defaults: {interval: 2s, timeout: 1s}", "hosts:", "  steady:", "    checks:"]
    for i in range(50):
        lines.append(f"      - {{name: s{i}, http: {{url: 'http://127.0.0.1:{steady_port}/?n={i}'}}}}")
    if variant:  # checks that come and go with every other reload
        for i in range(10):
            lines.append(f"      - {{name: extra{i}, http: {{url: 'http://127.0.0.1:{steady_port}/x{i}'}}}}")
    lines += ["  flapping:", "    checks:"]
    for i in range(30):
        interval = ", interval: 3s" if variant and i == 0 else ""
        lines.append(f"      - {{name: h{i}, http: {{url: 'http://127.0.0.1:{flap_port}/?n={i}'}}{interval}}}")
    for i in range(20):
        lines.append(f"      - {{name: t{i}, tcp: {{address: '127.0.0.1:{flap_port}'}}}}")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/joelclaw_exporter")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--flap", type=float, default=3)
    args = ap.parse_args()
    b.require("wrk")
    seconds = int(args.minutes * 60)
    if seconds <= WARMUP_S + SAMPLE_EVERY_S:
        sys.exit(f"--minutes must cover more than the {WARMUP_S} s warm-up plus one sample")

    steady, servers = b.start_target_processes(1)
    steady_port = steady[0].server_address[1]
    flapper = Flapper(args.flap)
    cfg = b.write_temp("config.yaml", soak_config(steady_port, flapper.port, 0))
    proc, base = b.start_ours(args.binary, cfg)
    wrk = None
    reloads, reload_failures, samples = 0, [], []
    load_start = b.loadavg()
    try:
        b.wait_http(base + "/-/ready", timeout=30, proc=proc)
        wrk = subprocess.Popen(["wrk", "-t2", "-c10", f"-d{seconds}s", "--latency",
                                base + "/metrics"], stdout=subprocess.PIPE, text=True)
        start = time.monotonic()
        next_reload, next_sample = RELOAD_EVERY_S, SAMPLE_EVERY_S
        while time.monotonic() - start < seconds and proc.poll() is None:
            time.sleep(0.5)
            t = time.monotonic() - start
            if t >= next_sample:
                samples.append((t, b.status_kib(proc.pid, "VmRSS")))
                next_sample += SAMPLE_EVERY_S
            if t >= next_reload:
                reloads += 1
                with open(cfg, "w") as f:
                    f.write(soak_config(steady_port, flapper.port, reloads % 2))
                try:
                    status, body = b.fetch(base + "/-/reload", data=b"")
                except OSError as e:
                    status, body = None, str(e).encode()
                if status != 200:
                    reload_failures.append(f"reload {reloads}: {status} {body[:200]!r}")
                next_reload += RELOAD_EVERY_S
        exited = proc.poll()
        _, metrics = b.fetch(base + "/metrics") if exited is None else (None, b"")
        wrk_out = wrk.communicate(timeout=60)[0]
        w = b.parse_wrk(wrk_out)
    finally:
        if wrk is not None and wrk.poll() is None:
            wrk.kill()
        b.stop(proc)
        flapper.close()
        b.stop_processes(servers)

    text = metrics.decode()
    flap_failures = b.sample_value(text, "joelclaw_probe_failures_total", host="flapping")
    steady_up = sum(1 for line in text.splitlines()
                    if line.startswith("joelclaw_probe_success{") and 'host="steady"' in line
                    and line.endswith(" 1"))
    warm = [kib for t, kib in samples if t >= WARMUP_S] or [0]
    rss_start, rss_max, rss_end = warm[0], max(warm), warm[-1]
    growth_mib = b.mib(rss_max - rss_start)

    print(f"soak: {seconds}s, 100 checks every 2s (50 steady http, 30 http + 20 tcp flapping every "
          f"{args.flap:g}s, {flapper.flips} flips), wrk -t2 -c10 on /metrics, reload every "
          f"{RELOAD_EVERY_S}s; {os.cpu_count()} CPUs; load average at start: {load_start}, "
          f"end: {b.loadavg()}")
    print(f"{'figure':<46}{'measured':>14}{'bound':>12}")
    rows = [
        ("wrk requests", w["requests"], ""),
        ("wrk requests/s", f"{w['rps']:.0f}", ""),
        ("wrk p50 / p99 (ms)", f"{w['p50_ms']:.2f} / {w['p99_ms']:.2f}", ""),
        ("wrk non-2xx/3xx answers", w["non2xx"], "0"),
        ("wrk socket errors", w["socket_errors"], "0"),
        ("reloads sent", reloads, ""),
        ("reload failures", len(reload_failures), "0"),
        ("exporter exited during the soak", "yes" if exited is not None else "no", "no"),
        ("steady checks up at the end", f"{steady_up}/{50 + 10 * (reloads % 2)}", ""),
        ("flapping checks' failed runs", f"{flap_failures:.0f}", "> 0"),
        ("requests abandoned by probes (steady/flapping)",
         f"{b.aborted(steady)}/{flapper.aborted}", ""),
        (f"RSS after {WARMUP_S}s warm-up (MiB)", f"{b.mib(rss_start):.1f}", ""),
        ("RSS max after warm-up (MiB)", f"{b.mib(rss_max):.1f}", ""),
        ("RSS at the end (MiB)", f"{b.mib(rss_end):.1f}", ""),
        ("RSS growth, max - warm-up (MiB)", f"{growth_mib:.1f}", f"<= {RSS_BOUND_MIB}"),
    ]
    for name, value, bound in rows:
        print(f"{name:<46}{str(value):>14}{bound:>12}")
    print("RSS samples (s: MiB):", ", ".join(f"{t:.0f}: {b.mib(k):.1f}" for t, k in samples))
    for f in reload_failures:
        print("reload failure:", f)
    if w.get("socket_detail"):
        print("wrk:", w["socket_detail"])

    ok = (w["non2xx"] == 0 and w["socket_errors"] == 0 and not reload_failures
          and exited is None and growth_mib <= RSS_BOUND_MIB)
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
