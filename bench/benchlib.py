"""Shared pieces of the benchmarks in bench/ (python3 stdlib only).

Loopback targets, starting our exporter and the reference exporters
(node_exporter, blackbox_exporter from Debian) on free loopback ports, reading
a process's CPU time and memory from /proc, and running and parsing `wrk
--latency`. Nothing here listens on anything but 127.0.0.1.
"""
import http.server
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

NODE_EXPORTER = "prometheus-node-exporter"
BLACKBOX_EXPORTER = "prometheus-blackbox-exporter"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def require(program):
    """Exits with a clear message when a program the benchmark drives is missing."""
    if shutil.which(program) is None:
        sys.exit(f"{program} not found: install it (apt-get install -y --no-install-recommends "
                 f"wrk prometheus-node-exporter prometheus-blackbox-exporter)")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Quiet(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a small 200 JSON body and logs nothing."""

    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TargetServer(http.server.ThreadingHTTPServer):
    # Python's default listen backlog is 5: hundreds of probes connecting at
    # once would overflow it and measure the kernel's SYN retransmits instead
    # of the exporter.
    request_queue_size = 4096
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Shared with forked children (start_target_processes), so the parent
        # can read how many requests a client gave up on.
        self.aborted = multiprocessing.get_context("fork").Value("i", 0)

    def handle_error(self, request, client_address):
        # A client that closed before the answer was written (a probe that
        # timed out) shows up here; count it instead of printing a traceback.
        with self.aborted.get_lock():
            self.aborted.value += 1


def start_http_server(port=0):
    """A threaded loopback HTTP server in this process. Returns the server."""
    httpd = TargetServer(("127.0.0.1", port), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def start_target_processes(n):
    """n loopback HTTP servers, each in its own forked process (so they do not
    share one GIL). Returns (servers, processes): the parent's (closed) copies,
    for their ports and `aborted` counters; stop them with stop_processes."""
    ctx = multiprocessing.get_context("fork")
    servers, procs = [], []
    for _ in range(n):
        httpd = TargetServer(("127.0.0.1", 0), Quiet)
        p = ctx.Process(target=httpd.serve_forever, daemon=True)
        p.start()
        httpd.server_close()  # the child keeps its copy of the socket
        servers.append(httpd)
        procs.append(p)
    return servers, procs


def aborted(servers):
    """Requests the clients of these servers closed before getting an answer."""
    return sum(s.aborted.value for s in servers)


def stop_processes(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=5)


def write_temp(name, text):
    path = os.path.join(tempfile.mkdtemp(prefix="joelclaw-bench-"), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def http_checks_config(urls, hosts=4, interval="15s", timeout="5s"):
    """YAML for one http check per URL, spread round-robin over `hosts` hosts."""
    lines = [f"defaults: {{interval: {interval}, timeout: {timeout}}}", "hosts:"]
    for h in range(hosts):
        lines += [f"  bench-{h}:", "    checks:"]
        for i in range(h, len(urls), hosts):
            lines.append(f"      - {{name: c{i}, http: {{url: '{urls[i]}'}}}}")
    return "\n".join(lines) + "\n"


def wait_http(url, timeout=30.0, want=200, proc=None):
    """Polls url until it answers `want`; raises RuntimeError after timeout or
    as soon as `proc` (the server's process, when given) has exited."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server of {url} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == want:
                    return
        except OSError as e:  # urllib's HTTPError (503 before ready) is an OSError
            last = e
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer {want} within {timeout:.0f} s (last: {last})")


def fetch(url, timeout=10, data=None):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def start_ours(binary, config=None, extra=()):
    """Starts our exporter on a free loopback port. Returns (proc, base_url)."""
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--log.level=error", *extra]
    if config:
        argv.append(f"--config.file={config}")
    proc = subprocess.Popen(argv)
    return proc, f"http://127.0.0.1:{port}"


def start_node_exporter():
    require(NODE_EXPORTER)
    port = free_port()
    proc = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=error"], stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


BLACKBOX_CONFIG = """modules:
  http_2xx:
    prober: http
    timeout: {timeout}
    http:
      preferred_ip_protocol: ip4
"""


def start_blackbox(timeout="5s"):
    require(BLACKBOX_EXPORTER)
    port = free_port()
    cfg = write_temp("blackbox.yml", BLACKBOX_CONFIG.format(timeout=timeout))
    proc = subprocess.Popen([BLACKBOX_EXPORTER, f"--config.file={cfg}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"],
                            stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid):
    """utime + stime of a process so far, in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces; count from after its ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid, key):
    """A 'kB' line of /proc/PID/status (VmRSS, VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def mib(kib):
    return kib / 1024.0


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_wrk(out):
    """Parses `wrk --latency` output into a dict: rps, p50_ms, p90_ms, p99_ms,
    requests, non2xx, socket_errors (connect+read+write+timeout)."""
    r = {"non2xx": 0, "socket_errors": 0}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if not m:
        raise ValueError("no Requests/sec line in wrk output:\n" + out)
    r["rps"] = float(m.group(1))
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        r[f"p{pct}_ms"] = _ms(m.group(1))
    r["requests"] = int(re.search(r"^\s+(\d+) requests in", out, re.M).group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["socket_errors"] = sum(int(x) for x in m.groups())
        r["socket_detail"] = m.group(0)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    return r


def run_wrk(url, seconds, threads=2, connections=10):
    """Runs wrk against url; returns (parsed dict, raw output)."""
    require("wrk")
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out), out


def sample_value(text, name, **labels):
    """Sum of the samples of metric `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def count_samples(text, name, value=None):
    """How many samples of `name` there are (with `value`, only those equal to it)."""
    n = 0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if value is None or float(line.rsplit(" ", 1)[1]) == value:
                n += 1
    return n
