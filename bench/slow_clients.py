#!/usr/bin/env python3
"""Hostile-client benchmark (issue 15: the server under hostile input).

Starts our exporter (embedded config plus a bridge whose Inngest is down)
and, when installed, node_exporter as the peer, then for each:

  1. scrapes /metrics N times with no other client (baseline);
  2. holds --connections idle TCP connections (no bytes sent) and scrapes;
  3. holds --connections connections that send one header byte per second
     (re-opened as the server closes them) and scrapes.

Prints p50 / p99 / max scrape latency and failures side by side. For ours
it then prints the peak RSS after 16 unauthenticated 8 MiB POSTs to
/alertmanager, and after replaying a --spool-mib MiB spool at start.

usage: bench/slow_clients.py [--binary build/joelclaw_exporter]
                             [--connections 1000] [--scrapes 100]
                             [--slow-seconds 15] [--spool-mib 60]
"""
import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import struct
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib

import benchlib as b


def scrape_latencies(url, n, spacing=0.05):
    lat, failures = [], 0
    for _ in range(n):
        start = time.monotonic()
        try:
            b.fetch(url, timeout=5)
            lat.append((time.monotonic() - start) * 1000)
        except Exception:
            failures += 1
        time.sleep(spacing)
    return lat, failures


def summary(lat, failures):
    if not lat:
        return f"all {failures} failed"
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return (f"p50 {statistics.median(lat):6.1f} ms  p99 {p99:6.1f} ms  "
            f"max {lat[-1]:6.1f} ms  failed {failures}")


def connect(port):
    s = socket.socket()
    s.setblocking(True)
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


class Holder:
    """Holds `n` connections open to 127.0.0.1:port; with `trickle`, sends
    one byte of a request line per second on each and re-opens the ones the
    server closes."""

    REQUEST = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 4096

    def __init__(self, port, n, trickle):
        self.port, self.n, self.trickle = port, n, trickle
        self.socks = [connect(port) for _ in range(n)]
        self.pos = [0] * n
        self.reopened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(1.0):
            if not self.trickle:
                continue
            for i, s in enumerate(self.socks):
                try:
                    if s is None:
                        raise OSError
                    s.send(self.REQUEST[self.pos[i] % len(self.REQUEST):][:1])
                    self.pos[i] += 1
                except OSError:
                    if s is not None:
                        s.close()
                    self.socks[i] = connect(self.port)
                    self.pos[i] = 0
                    self.reopened += 1

    def held(self):
        return sum(1 for s in self.socks if s is not None)

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in self.socks:
            if s is not None:
                s.close()


def run_scenarios(name, base, args):
    port = int(base.rsplit(":", 1)[1])
    url = base + "/metrics"
    rows = [(name, "no other clients", summary(*scrape_latencies(url, args.scrapes)))]
    h = Holder(port, args.connections, trickle=False)
    time.sleep(1)
    rows.append((name, f"{h.held()} idle connections",
                 summary(*scrape_latencies(url, args.scrapes))))
    h.close()
    h = Holder(port, args.connections, trickle=True)
    time.sleep(1)
    spacing = max(0.01, args.slow_seconds / args.scrapes)
    lat = scrape_latencies(url, args.scrapes, spacing)
    rows.append((name, f"{args.connections} at 1 byte/s ({h.reopened} re-opened)", summary(*lat)))
    h.close()
    return rows


def bridge_config(tmp, inngest_port, spool_dir):
    token = os.path.join(tmp, "token")
    key = os.path.join(tmp, "key")
    for path, text in ((token, "bench-token\n"), (key, "bench-key\n")):
        with open(path, "w") as f:
            f.write(text)
    cfg = os.path.join(tmp, "config.yaml")
    with open(cfg, "w") as f:
        f.write(f"""hosts:
  bench:
    filesystems: ["/"]
bridge:
  token_file: {token}
  inngest: {{url: "http://127.0.0.1:{inngest_port}", event_key_file: {key}}}
  spool_dir: {spool_dir}
  spool_max_bytes: {1 << 30}
  retry: {{initial: 5s, max: 5s}}
""")
    return cfg


def record(payload):
    data = payload.encode()
    return struct.pack("<II", len(data), zlib.crc32(data) & 0xffffffff) + data


def write_spool(spool_dir, mib):
    os.makedirs(spool_dir, exist_ok=True)
    pad = "p" * 4000
    with open(os.path.join(spool_dir, "spool.log"), "wb") as f:
        seq, written = 1, 0
        while written < mib << 20:
            event = json.dumps({"name": "system/health.degraded", "id": f"bench-{seq}",
                                "data": {"pad": pad}})
            r = record(f'{{"seq":{seq},"spooled_at":1700000000,"event":{event}}}')
            f.write(r)
            written += len(r)
            seq += 1
    return seq - 1


def post_unauthenticated(base, n=16, size=8 << 20):
    body = b"{" * size
    answers = []

    def one():
        req = urllib.request.Request(base + "/alertmanager", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                answers.append(r.status)
        except urllib.error.HTTPError as e:
            answers.append(e.code)
        except OSError:
            answers.append("reset")

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/joelclaw_exporter")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=100)
    ap.add_argument("--slow-seconds", type=float, default=15)
    ap.add_argument("--spool-mib", type=int, default=60)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 100:
        sys.exit(f"the open-files limit {hard} is too low for {args.connections} connections")

    tmp = b.write_temp("x", "")
    tmp = os.path.dirname(tmp)
    inngest_port = b.free_port()  # Nothing listens: Inngest is down.
    rows = []
    ours, base = b.start_ours(args.binary, bridge_config(tmp, inngest_port,
                                                         os.path.join(tmp, "spool")))
    try:
        b.wait_http(base + "/-/healthy", proc=ours)
        rows += run_scenarios("joelclaw_exporter", base, args)
        before = b.status_kib(ours.pid, "VmRSS")
        answers = post_unauthenticated(base)
        time.sleep(0.5)
        post_peak = b.status_kib(ours.pid, "VmHWM")
    finally:
        b.stop(ours)
    if shutil.which(b.NODE_EXPORTER):
        node, nbase = b.start_node_exporter()
        try:
            b.wait_http(nbase + "/metrics", proc=node)
            rows += run_scenarios("node_exporter", nbase, args)
        finally:
            b.stop(node)

    spool_dir = os.path.join(tmp, "big-spool")
    events = write_spool(spool_dir, args.spool_mib)
    ours, base = b.start_ours(args.binary, bridge_config(tmp, inngest_port, spool_dir))
    try:
        b.wait_http(base + "/-/healthy", proc=ours, timeout=60)
        time.sleep(1)
        replay_peak = b.status_kib(ours.pid, "VmHWM")
        _, body = b.fetch(base + "/metrics")
        pending = b.sample_value(body.decode(), "joelclaw_bridge_spool_events")
    finally:
        b.stop(ours)

    print(f"\nload average {b.loadavg()}; {args.scrapes} scrapes per row")
    width = max(len(r[1]) for r in rows)
    for name, scenario, text in rows:
        print(f"{name:18} {scenario:{width}}  {text}")
    print(f"\njoelclaw_exporter: 16 unauthenticated 8 MiB POSTs to /alertmanager: answers "
          f"{sorted(set(map(str, answers)))}, RSS before {b.mib(before):.1f} MiB, "
          f"peak after {b.mib(post_peak):.1f} MiB")
    print(f"joelclaw_exporter: replaying a {args.spool_mib} MiB spool ({events} events, "
          f"{pending:.0f} pending after start): peak RSS {b.mib(replay_peak):.1f} MiB")


if __name__ == "__main__":
    main()
