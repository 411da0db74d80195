#!/usr/bin/env python3
"""Isolation benchmark (issue: foundation).

50 blackholed targets (loopback listeners whose accept queue is full, so a
SYN is dropped and connect() hangs until the probe's timeout) and 50 healthy
HTTP targets, all at a 5 s interval with a 4 s timeout. While it runs, every
second it fetches /metrics, times the request, and reads each healthy
target's joelclaw_probe_last_run_timestamp_seconds.

Prints: the worst staleness of a healthy target (now - the end of its last
run; must stay within one interval, 5 s, plus the few milliseconds the run
itself takes) and /metrics latency p50/p99/max (must stay under 50 ms). Only
loopback addresses are used.

usage: bench/isolation.py [--binary build/joelclaw_exporter] [--seconds 40]
"""
import argparse
import http.server
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchlib import Quiet, free_port


def blackhole_listener():
    """A listener that never accepts, with its accept queue already full."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(srv.getsockname())
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.05)
    return srv, fillers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/joelclaw_exporter")
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--blackholed", type=int, default=50)
    ap.add_argument("--healthy", type=int, default=50)
    args = ap.parse_args()

    holes = [blackhole_listener() for _ in range(args.blackholed)]
    # Python's default listen backlog is 5: 50 checks connecting at once would
    # overflow it and measure the kernel's SYN retransmits, not the exporter.
    http.server.ThreadingHTTPServer.request_queue_size = 256
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    hport = httpd.server_address[1]

    lines = ["defaults: {interval: 5s, timeout: 4s}", "hosts:", "  bench:", "    checks:"]
    for i, (srv, _) in enumerate(holes):
        lines.append(f"      - {{name: hole{i}, http: {{url: 'http://127.0.0.1:{srv.getsockname()[1]}/'}}}}")
    for i in range(args.healthy):
        lines.append(f"      - {{name: ok{i}, http: {{url: 'http://127.0.0.1:{hport}/?n={i}'}}}}")
    tmp = tempfile.mkdtemp()
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")

    port = free_port()
    proc = subprocess.Popen([args.binary, f"--config.file={cfg}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        # Let the first round of blackholed probes get stuck in connect().
        time.sleep(6)
        latencies, staleness = [], []
        end = time.time() + args.seconds
        while time.time() < end:
            t0 = time.perf_counter()
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            latencies.append((time.perf_counter() - t0) * 1000)
            now = time.time()
            worst = 0.0
            for line in body.splitlines():
                if line.startswith("joelclaw_probe_last_run_timestamp_seconds") and 'target="ok' in line:
                    worst = max(worst, now - float(line.rsplit(" ", 1)[1]))
            staleness.append(worst)
            time.sleep(1)
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        print(f"targets: {args.blackholed} blackholed + {args.healthy} healthy, interval 5s, timeout 4s, "
              f"{len(latencies)} samples over {args.seconds}s")
        print(f"{'figure':<44}{'measured':>12}{'bound':>10}")
        print(f"{'healthy target staleness, worst (s)':<44}{max(staleness):>12.2f}{'<= 5.5':>10}")
        print(f"{'healthy target staleness, median (s)':<44}{statistics.median(staleness):>12.2f}{'':>10}")
        print(f"{'/metrics latency p50 (ms)':<44}{p(0.5):>12.2f}{'':>10}")
        print(f"{'/metrics latency p99 (ms)':<44}{p(0.99):>12.2f}{'< 50':>10}")
        print(f"{'/metrics latency max (ms)':<44}{latencies[-1]:>12.2f}{'< 50':>10}")
        down = sum(1 for l in body.splitlines()
                   if l.startswith("joelclaw_probe_success") and 'target="hole' in l and l.endswith(" 0"))
        print(f"{'blackholed targets reported down (last sample)':<44}{down:>12}{args.blackholed:>10}")
        ok = max(staleness) <= 5.5 and latencies[-1] < 50
        print("RESULT:", "within bounds" if ok else "OUT OF BOUNDS")
        return 0 if ok else 1
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
