#!/usr/bin/env python3
"""/metrics throughput benchmark (issue 7: performance).

Starts our exporter with 1000 http checks (interval 15 s, spread over 4
hosts, against a loopback HTTP server), waits until /-/ready, then runs
`wrk -t2 -c10 -d20s --latency` against its /metrics; then the same against
node_exporter's and blackbox_exporter's own /metrics (both started here on
free loopback ports, default collectors / a one-module config). Prints
requests/s, p50, p99 and the uncompressed body size of each.

usage: bench/metrics_throughput.py [--binary build/joelclaw_exporter]
                                   [--checks 1000] [--seconds 20]
"""
import argparse
import os
import sys

import benchlib as b


def measure(name, base, seconds, threads, connections):
    url = base + "/metrics"
    _, body = b.fetch(url)
    r, _ = b.run_wrk(url, seconds, threads, connections)
    r["bytes"] = len(body)
    r["name"] = name
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/joelclaw_exporter")
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=10)
    args = ap.parse_args()
    for prog in ("wrk", b.NODE_EXPORTER, b.BLACKBOX_EXPORTER):
        b.require(prog)

    httpd = b.start_http_server()
    hport = httpd.server_address[1]
    urls = [f"http://127.0.0.1:{hport}/?n={i}" for i in range(args.checks)]
    cfg = b.write_temp("config.yaml", b.http_checks_config(urls))

    rows, procs = [], []
    try:
        proc, base = b.start_ours(args.binary, cfg)
        procs.append(proc)
        b.wait_http(base + "/-/ready", timeout=60, proc=proc)
        _, body = b.fetch(base + "/metrics")
        up = b.count_samples(body.decode(), "joelclaw_probe_success", 1)
        load_ours = b.loadavg()
        rows.append(measure(f"joelclaw_exporter ({args.checks} checks)", base,
                            args.seconds, args.threads, args.connections))

        for start, name in ((b.start_node_exporter, "node_exporter 1.5.0 (own /metrics)"),
                            (b.start_blackbox, "blackbox_exporter 0.23.0 (own /metrics)")):
            proc, base = start()
            procs.append(proc)
            b.wait_http(base + "/metrics", proc=proc)
            rows.append(measure(name, base, args.seconds, args.threads, args.connections))
    finally:
        for p in procs:
            b.stop(p)
        httpd.shutdown()

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s --latency, each exporter "
          f"alone; joelclaw checks up when measured: {up}/{args.checks}")
    print(f"load average before: {load_ours}; after: {b.loadavg()} ({os.cpu_count()} CPUs)")
    print(f"{'exporter':<42}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'body bytes':>12}{'errors':>8}")
    for r in rows:
        print(f"{r['name']:<42}{r['rps']:>10.1f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}"
              f"{r['bytes']:>12}{r['non2xx'] + r['socket_errors']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
