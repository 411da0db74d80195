#!/usr/bin/env python3
"""Writes the Grafana dashboards in dashboards/*.json (schemaVersion 38).

The JSON files are generated: edit this script and run it
(`python3 scripts/gen-dashboards.py`), never the JSON by hand.
`--check` exits 1 when a committed file differs from what this script writes
(scripts/check-rules.sh runs it). Standard library only.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "dashboards"

DS = {"type": "prometheus", "uid": "${datasource}"}
H = 'host=~"$host"'
# Global collectors have an empty host; keep them whatever host is selected.
H_OR_GLOBAL = 'host=~"$host|"'


def _rules_config():
    """rules/config.yml, the `_config` the rules are generated from: its
    exporterSelector and thresholds are the dashboards' too. (A minimal
    reader of its flat `key: value` lines: this script needs no PyYAML.)"""
    values = {}
    for line in (ROOT / "rules" / "config.yml").read_text().splitlines():
        line = line.split(" #", 1)[0].rstrip()
        if not line or line.lstrip().startswith("#") or ":" not in line:
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if value.startswith("'") and value.endswith("'"):
            value = value[1:-1]
        if value:
            values[key] = value
    return values


_CONFIG = _rules_config()
# The exporters' scrape job: one setting for rules and dashboards.
JOB = _CONFIG["exporterSelector"]
RESTARTS = _CONFIG["restartsIn15m"]
# Jobs meant to run all the time (the rules page only for these).
KEEPALIVE = 'kind=~"keepalive|unknown"'
INST = 'instance=~"$instance"'

UP_DOWN = [{"type": "value", "options": {
    "0": {"text": "down", "color": "red", "index": 0},
    "1": {"text": "up", "color": "green", "index": 1}}}]
RUNNING = [{"type": "value", "options": {
    "0": {"text": "stopped", "color": "red", "index": 0},
    "1": {"text": "running", "color": "green", "index": 1}}}]
PRESENT = [{"type": "value", "options": {
    "0": {"text": "missing", "color": "red", "index": 0},
    "1": {"text": "loaded", "color": "green", "index": 1}}}]
OK_FAILED = [{"type": "value", "options": {
    "0": {"text": "failed", "color": "red", "index": 0},
    "1": {"text": "ok", "color": "green", "index": 1}}}]


def steps(*pairs):
    """Threshold steps: steps("green", ("red", 1)) -> base green, red from 1."""
    out = [{"color": pairs[0], "value": None}]
    out += [{"color": c, "value": v} for c, v in pairs[1:]]
    return {"mode": "absolute", "steps": out}


RED_GREEN = steps("red", ("green", 1))
GREEN_RED = steps("green", ("red", 1))
SPACE_LEFT = steps("red", ("orange", 0.1), ("green", 0.2))


def target(expr, legend="", ref="A", instant=False, table=False):
    t = {"datasource": DS, "refId": ref, "expr": expr,
         "legendFormat": legend or "__auto", "range": not instant, "instant": instant,
         "editorMode": "code"}
    if table:
        t["format"] = "table"
    return t


def panel(kind, title, targets, unit, description="", w=12, h=8, mappings=None,
          thresholds=None, min_=None, max_=None, custom=None, options=None,
          overrides=None, transformations=None):
    defaults = {"unit": unit, "mappings": mappings or [],
                "thresholds": thresholds or steps("green"),
                "color": {"mode": "thresholds" if (mappings or thresholds) else "palette-classic"}}
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if custom:
        defaults["custom"] = custom
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
         "options": options or {}, "_w": w, "_h": h}
    if transformations:
        p["transformations"] = transformations
    return p


def stat(title, expr, unit="none", description="", w=4, h=4, **kw):
    kw.setdefault("thresholds", GREEN_RED)
    return panel("stat", title, [target(expr, instant=True)], unit, description, w, h,
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "background", "graphMode": "none", "justifyMode": "auto",
                          "textMode": "auto", "orientation": "auto"}, **kw)


def timeseries(title, targets, unit, description="", w=12, h=8, threshold_line=None, **kw):
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
              "spanNulls": False, "axisSoftMin": None,
              "thresholdsStyle": {"mode": "line" if threshold_line else "off"}}
    custom = {k: v for k, v in custom.items() if v is not None}
    if threshold_line:
        kw["thresholds"] = threshold_line
    return panel("timeseries", title, targets, unit, description, w, h, custom=custom,
                 options={"legend": {"displayMode": "table", "placement": "bottom",
                                     "showLegend": True, "calcs": ["lastNotNull", "max"]},
                          "tooltip": {"mode": "multi", "sort": "desc"}}, **kw)


def state_timeline(title, expr, legend, mappings, description="", w=12, h=8):
    return panel("state-timeline", title, [target(expr, legend)], "none", description, w, h,
                 mappings=mappings, thresholds=RED_GREEN,
                 custom={"fillOpacity": 80, "lineWidth": 0},
                 options={"showValue": "never", "mergeValues": True, "alignValue": "left",
                          "rowHeight": 0.9, "legend": {"showLegend": False},
                          "tooltip": {"mode": "single"}})


def bargauge(title, expr, legend, unit, description="", w=8, h=8, **kw):
    return panel("bargauge", title, [target(expr, legend, instant=True)], unit, description, w, h,
                 options={"displayMode": "gradient", "orientation": "horizontal",
                          "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "showUnfilled": True}, **kw)


def table(title, columns, keep, description="", w=24, h=8):
    """An instant table merging one query per column.

    columns: (header, expr, unit, mappings or None, color cell or not).
    keep: label columns to show, in order.
    """
    targets, overrides, rename, order = [], [], {}, {}
    for i, label in enumerate(keep):
        order[label] = i
    for i, (header, expr, unit, mappings, colored) in enumerate(columns):
        ref = chr(ord("A") + i)
        targets.append(target(expr, ref=ref, instant=True, table=True))
        rename["Value #" + ref] = header
        order["Value #" + ref] = len(keep) + i
        props = [{"id": "unit", "value": unit}]
        if mappings:
            props.append({"id": "mappings", "value": mappings})
        if colored:
            props.append({"id": "custom.cellOptions", "value": {"type": "color-background"}})
            props.append({"id": "thresholds", "value": RED_GREEN})
        overrides.append({"matcher": {"id": "byName", "options": header}, "properties": props})
    transformations = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True},
            "indexByName": order, "renameByName": rename}},
    ]
    return panel("table", title, targets, "none", description, w, h,
                 custom={"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
                 options={"showHeader": True, "cellHeight": "sm",
                          "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
                 overrides=overrides, transformations=transformations)


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "_w": 24, "_h": 1}


def layout(panels):
    """Places panels left to right, wrapping at Grafana's 24 columns."""
    x = y = row_h = 0
    out = []
    for pid, p in enumerate(panels, start=1):
        w, h = p.pop("_w"), p.pop("_h")
        if x + w > 24 or p["type"] == "row":
            if x > 0:
                y += row_h
            x, row_h = 0, 0
        p["id"] = pid
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        x += w
        row_h = max(row_h, h)
        if p["type"] == "row":
            y += h
            x, row_h = 0, 0
        out.append(p)
    return out


def datasource_var():
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "includeAll": False,
            "multi": False, "options": [], "refresh": 1, "regex": "", "skipUrlSync": False}


def query_var(name, label, query, all_value=".*"):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "definition": query, "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "current": {}, "hide": 0, "includeAll": True, "allValue": all_value, "multi": True,
            "options": [], "refresh": 2, "regex": "", "sort": 1, "skipUrlSync": False}


# Every machine: hosts with checks (the NAS has nothing else) and hosts with
# collectors (the GPU box has no check).
HOST_VAR = query_var(
    "host", "Host",
    'label_values({__name__=~"joelclaw_probe_success|joelclaw_collector_success"}, host)')


def dashboard(uid, title, description, panels, extra_vars=()):
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["joelclaw"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 38,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "timepicker": {},
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"title": "joelclaw", "type": "dashboards", "tags": ["joelclaw"],
                   "asDropdown": True, "includeVars": True, "keepTime": True, "icon": "external link",
                   "targetBlank": False, "tooltip": "", "url": ""}],
        "templating": {"list": [datasource_var(), HOST_VAR, *extra_vars]},
        "panels": layout(panels),
    }


def overview():
    jobs_down = (f'joelclaw_launchd_job_running{{{H}}} == 0 '
                 f'and on (instance, job, host, label) joelclaw_launchd_job_present{{{H}}} == 1 '
                 f'and on (instance, job, host, label) joelclaw_launchd_job_kind{{{H},{KEEPALIVE}}} == 1')
    panels = [
        row("Status"),
        stat("Checks down", f"count(joelclaw_probe_success{{{H}}} == 0) or vector(0)",
             description="Checks whose last run failed."),
        stat("Hosts down",
             'count(ALERTS{alertstate="firing",alertname="JoelclawHostDown",host=~"$host"}) or vector(0)',
             description="Machines that are unreachable (JoelclawHostDown firing)."),
        stat("launchd jobs down", f"count({jobs_down}) or vector(0)",
             description="Loaded KeepAlive launchd jobs with no running process."),
        stat("Crash-looping jobs",
             f"count(increase(joelclaw_launchd_job_restarts_total{{{H}}}[15m]) >= {RESTARTS} "
             f"and on (instance, job, host, label) joelclaw_launchd_job_kind{{{H},{KEEPALIVE}}} == 1)"
             " or vector(0)",
             description=f"KeepAlive launchd jobs restarted {RESTARTS} or more times in 15 minutes."),
        stat("Failing collectors", f"count(joelclaw_collector_success{{{H_OR_GLOBAL}}} == 0) or vector(0)"),
        stat("Firing alerts",
             'count(ALERTS{alertstate="firing",alertname=~"Joelclaw.*",host=~"$host|unknown"}) or vector(0)',
             description="Joelclaw alerts firing in this Prometheus."),
        row("Checks"),
        table("Checks", [
            ("state", f"joelclaw_probe_success{{{H}}}", "none", UP_DOWN, True),
            ("duration", f"joelclaw_probe_duration_seconds{{{H}}}", "s", None, False),
            ("last run", f"joelclaw_probe_last_run_timestamp_seconds{{{H}}} * 1000",
             "dateTimeAsIso", None, False),
            ("interval", f"joelclaw_probe_interval_seconds{{{H}}}", "s", None, False),
        ], keep=["host", "target", "kind", "instance"], w=12, h=12,
            description="Every check, red when its last run failed."),
        state_timeline("Check state", f"joelclaw_probe_success{{{H}}}", "{{host}} / {{target}}",
                       UP_DOWN, w=12, h=12),
        timeseries("Values from JSON bodies",
                   [target(f"joelclaw_probe_value{{{H}}}", "{{host}} / {{target}} {{field}}")],
                   "none", description="E.g. the worker's functionCount, pdf-brain's docs.", w=12),
        timeseries("Failed runs by reason",
                   [target(f"sum by (host, reason) (increase(joelclaw_probe_failures_total{{{H}}}[$__rate_interval]))",
                           "{{host}} {{reason}}")], "none", w=12),
        table("HTTP status codes", [
            ("status", f"joelclaw_http_status_code{{{H}}}", "none", None, False),
        ], keep=["host", "target", "instance"], w=12,
            description="The status of each http check's last response (absent before a response)."),
        bargauge("TLS certificates expire in",
                 f"joelclaw_tls_cert_not_after_timestamp_seconds{{{H}}} - time()",
                 "{{host}} / {{target}}", "s", w=12,
                 thresholds=steps("red", ("orange", 14 * 86400), ("green", 30 * 86400)),
                 description="Time until each served leaf certificate expires; "
                             "JoelclawTlsCertExpiringSoon fires under 14 days."),
        row("launchd"),
        state_timeline("launchd jobs running", f"joelclaw_launchd_job_running{{{H}}}",
                       "{{host}} / {{label}}", RUNNING),
        timeseries("launchd restarts in 15m",
                   [target(f"increase(joelclaw_launchd_job_restarts_total{{{H}}}[15m])",
                           "{{host}} / {{label}}")], "none",
                   description="3 or more is a crash loop (JoelclawLaunchdJobCrashLooping).",
                   threshold_line=steps("green", ("red", 3))),
        row("Hosts and exporter"),
        bargauge("Filesystem space available",
                 f"joelclaw_filesystem_avail_bytes{{{H}}} / joelclaw_filesystem_size_bytes{{{H}}}",
                 "{{host}} {{mountpoint}}", "percentunit", min_=0, max_=1, thresholds=SPACE_LEFT),
        bargauge("Memory available",
                 f"joelclaw_host_memory_available_bytes{{{H}}} / joelclaw_host_memory_total_bytes{{{H}}}",
                 "{{host}}", "percentunit", min_=0, max_=1, thresholds=SPACE_LEFT),
        state_timeline("Collectors", f"joelclaw_collector_success{{{H_OR_GLOBAL}}}",
                       "{{host}} / {{collector}}", OK_FAILED, w=8),
    ]
    return dashboard("joelclaw-overview", "joelclaw / Overview",
                     "Status board of the joelclaw network: checks, launchd jobs, hosts, collectors.",
                     panels)


def launchd():
    sel = f'{H},label=~"$label"'
    panels = [
        row("Status"),
        stat("Jobs configured", f"count(joelclaw_launchd_job_present{{{sel}}}) or vector(0)",
             thresholds=steps("blue"), w=5),
        stat("Running", f"count(joelclaw_launchd_job_running{{{sel}}} == 1) or vector(0)",
             thresholds=steps("green"), w=5),
        stat("Down", f"count(joelclaw_launchd_job_running{{{sel}}} == 0 "
                     f"and on (instance, job, host, label) joelclaw_launchd_job_present{{{sel}}} == 1 "
                     f"and on (instance, job, host, label) joelclaw_launchd_job_kind{{{sel},{KEEPALIVE}}} == 1)"
                     " or vector(0)",
             description="KeepAlive jobs with no process (periodic and on-demand jobs are idle between runs).",
             w=5),
        stat("Missing", f"count(joelclaw_launchd_job_present{{{sel}}} == 0) or vector(0)", w=4),
        stat("Crash-looping",
             f"count(increase(joelclaw_launchd_job_restarts_total{{{sel}}}[15m]) >= {RESTARTS} "
             f"and on (instance, job, host, label) joelclaw_launchd_job_kind{{{sel},{KEEPALIVE}}} == 1)"
             " or vector(0)", w=5),
        row("Jobs"),
        table("Jobs", [
            ("present", f"joelclaw_launchd_job_present{{{sel}}}", "none", PRESENT, True),
            ("running", f"joelclaw_launchd_job_running{{{sel}}}", "none", RUNNING, True),
            ("pid", f"joelclaw_launchd_job_pid{{{sel}}}", "none", None, False),
            ("last exit status", f"joelclaw_launchd_job_last_exit_status{{{sel}}}", "none", None, False),
            ("restarts in 15m", f"increase(joelclaw_launchd_job_restarts_total{{{sel}}}[15m])",
             "none", None, False),
            ("restarts in range", f"increase(joelclaw_launchd_job_restarts_total{{{sel}}}[$__range])",
             "none", None, False),
            ("run interval", f"joelclaw_launchd_job_run_interval_seconds{{{sel}}}", "s", None, False),
            ("since last run", f"time() - joelclaw_launchd_job_last_run_timestamp_seconds{{{sel}}}",
             "s", None, False),
        ], keep=["host", "label", "instance"], h=9),
        table("Job kinds", [
            ("kind", f"joelclaw_launchd_job_kind{{{sel}}} == 1", "none", None, False),
        ], keep=["host", "label", "kind"], w=24, h=6,
            description="keepalive: meant to run all the time (down pages); periodic: "
                        "StartInterval/StartCalendarInterval (missed runs warn); on_demand: "
                        "WatchPaths, sockets (a failed run warns); unknown: counts as keepalive."),
        state_timeline("Running", f"joelclaw_launchd_job_running{{{sel}}}", "{{host}} / {{label}}",
                       RUNNING, w=24),
        state_timeline("Present (loaded in launchd)", f"joelclaw_launchd_job_present{{{sel}}}",
                       "{{host}} / {{label}}", PRESENT, w=24, h=6),
        row("Restarts"),
        timeseries("Restarts in 15m",
                   [target(f"increase(joelclaw_launchd_job_restarts_total{{{sel}}}[15m])",
                           "{{host}} / {{label}}")], "none",
                   description="3 or more is a crash loop (JoelclawLaunchdJobCrashLooping).",
                   threshold_line=steps("green", ("red", 3))),
        timeseries("PID", [target(f"joelclaw_launchd_job_pid{{{sel}}}", "{{host}} / {{label}}")],
                   "none", description="A step is a restart; 0 is not running."),
        timeseries("Last exit status",
                   [target(f"joelclaw_launchd_job_last_exit_status{{{sel}}}", "{{host}} / {{label}}")],
                   "none", description="Negative: killed by that signal (-9 is SIGKILL)."),
        timeseries("Restarts per hour",
                   [target(f"increase(joelclaw_launchd_job_restarts_total{{{sel}}}[1h])",
                           "{{host}} / {{label}}")], "none"),
    ]
    label_var = query_var("label", "Job", 'label_values(joelclaw_launchd_job_present{host=~"$host"}, label)')
    return dashboard("joelclaw-launchd", "joelclaw / launchd",
                     "launchd jobs on the Macs: running, restarts, exit status, missing jobs.",
                     panels, extra_vars=[label_var])


def storage_hosts():
    ratio = f"joelclaw_filesystem_avail_bytes{{{H}}} / joelclaw_filesystem_size_bytes{{{H}}}"
    mem_ratio = f"joelclaw_host_memory_available_bytes{{{H}}} / joelclaw_host_memory_total_bytes{{{H}}}"
    predict = f"predict_linear(joelclaw_filesystem_avail_bytes{{{H}}}[6h], 86400)"
    panels = [
        row("Filesystems"),
        table("Filesystems", [
            ("size", f"joelclaw_filesystem_size_bytes{{{H}}}", "bytes", None, False),
            ("available", f"joelclaw_filesystem_avail_bytes{{{H}}}", "bytes", None, False),
            ("available ratio", ratio, "percentunit", None, False),
            ("available in 24h (predicted)", predict, "bytes", None, False),
        ], keep=["host", "mountpoint", "instance"], h=7),
        timeseries("Space available (ratio)", [target(ratio, "{{host}} {{mountpoint}}")],
                   "percentunit", min_=0, max_=1,
                   threshold_line=steps("red", ("transparent", 0.1))),
        timeseries("Space available", [target(f"joelclaw_filesystem_avail_bytes{{{H}}}",
                                              "{{host}} {{mountpoint}}")], "bytes", min_=0),
        timeseries("Predicted space available in 24h", [target(predict, "{{host}} {{mountpoint}}")],
                   "bytes", description="At the rate of the last 6 hours; below 0 fills within a day.",
                   threshold_line=steps("red", ("transparent", 0))),
        timeseries("Filesystem size", [target(f"joelclaw_filesystem_size_bytes{{{H}}}",
                                              "{{host}} {{mountpoint}}")], "bytes", min_=0),
        row("Memory and load"),
        timeseries("Memory available (ratio)", [target(mem_ratio, "{{host}}")], "percentunit",
                   min_=0, max_=1, threshold_line=steps("red", ("transparent", 0.05))),
        timeseries("Memory", [
            target(f"joelclaw_host_memory_available_bytes{{{H}}}", "{{host}} available"),
            target(f"joelclaw_host_memory_total_bytes{{{H}}}", "{{host}} total", ref="B"),
        ], "bytes", min_=0),
        timeseries("Load (1m)", [target(f"joelclaw_host_load1{{{H}}}", "{{host}}")], "short", min_=0),
        timeseries("Load per CPU", [target(f"joelclaw_host_load1{{{H}}} / joelclaw_host_cpus{{{H}}}",
                                           "{{host}}")], "percentunit", min_=0),
        table("Hosts", [
            ("CPUs", f"joelclaw_host_cpus{{{H}}}", "none", None, False),
            ("memory", f"joelclaw_host_memory_total_bytes{{{H}}}", "bytes", None, False),
            ("booted", f"joelclaw_host_boot_timestamp_seconds{{{H}}} * 1000", "dateTimeAsIso", None, False),
            ("uptime", f"time() - joelclaw_host_boot_timestamp_seconds{{{H}}}", "s", None, False),
        ], keep=["host", "instance"], h=6),
    ]
    return dashboard("joelclaw-storage-hosts", "joelclaw / Storage and hosts",
                     "Filesystems (space, fill prediction), memory and load of the joelclaw hosts.",
                     panels)


def exporter():
    e = f"{JOB},{INST}"
    panels = [
        row("Status"),
        stat("Up", f"up{{{e}}}", mappings=UP_DOWN, thresholds=RED_GREEN),
        stat("Ready", f"joelclaw_exporter_ready{{{INST}}}", mappings=[{"type": "value", "options": {
            "0": {"text": "not ready", "color": "orange", "index": 0},
            "1": {"text": "ready", "color": "green", "index": 1}}}], thresholds=RED_GREEN),
        stat("Last config reload", f"joelclaw_config_last_reload_successful{{{INST}}}",
             mappings=OK_FAILED, thresholds=RED_GREEN),
        stat("Config loaded at", f"joelclaw_config_last_reload_success_timestamp_seconds{{{INST}}} * 1000",
             unit="dateTimeAsIso", thresholds=steps("blue")),
        stat("Started at", f"joelclaw_exporter_start_time_seconds{{{INST}}} * 1000",
             unit="dateTimeAsIso", thresholds=steps("blue")),
        stat("Uptime", f"time() - joelclaw_exporter_start_time_seconds{{{INST}}}", unit="s",
             thresholds=steps("blue")),
        table("Build", [("up", f"joelclaw_exporter_build_info{{{INST}}}", "none", None, False)],
              keep=["instance", "version", "revision"], h=5),
        row("Collectors"),
        state_timeline("Collector success", f"joelclaw_collector_success{{{INST},{H_OR_GLOBAL}}}",
                       "{{host}} / {{collector}}", OK_FAILED),
        timeseries("Collector duration",
                   [target(f"joelclaw_collector_duration_seconds{{{INST},{H_OR_GLOBAL}}}",
                           "{{host}} / {{collector}}")], "s", min_=0),
        row("Probes"),
        timeseries("Probe duration",
                   [target(f"joelclaw_probe_duration_seconds{{{INST},{H}}}", "{{host}} / {{target}}")],
                   "s", min_=0),
        timeseries("Time since last run, in intervals",
                   [target(f"(time() - joelclaw_probe_last_run_timestamp_seconds{{{INST},{H}}})"
                           f" / joelclaw_probe_interval_seconds{{{INST},{H}}}", "{{host}} / {{target}}")],
                   "none", description="Over 3 is stale (JoelclawProbeStale).", min_=0,
                   threshold_line=steps("green", ("red", 3))),
        timeseries("Time since last run",
                   [target(f"time() - joelclaw_probe_last_run_timestamp_seconds{{{INST},{H}}}",
                           "{{host}} / {{target}}")], "s", min_=0),
        timeseries("Failed runs by reason",
                   [target(f"sum by (reason) (increase(joelclaw_probe_failures_total{{{INST},{H}}}[$__rate_interval]))",
                           "{{reason}}")], "none", min_=0),
        row("Alertmanager bridge"),
        stat("Undelivered events", f"joelclaw_bridge_spool_events{{{INST}}}",
             description="Events in the spool that Inngest has not accepted yet.",
             thresholds=steps("green", ("orange", 1))),
        stat("Oldest undelivered", f"joelclaw_bridge_spool_oldest_age_seconds{{{INST}}}", unit="s",
             description="Over 10 minutes fires JoelclawBridgeSendFailing.",
             thresholds=steps("green", ("orange", 60), ("red", 600))),
        timeseries("Notifications by status",
                   [target(f"sum by (status) (increase(joelclaw_bridge_notifications_total{{{INST}}}[$__rate_interval]))",
                           "{{status}}")], "none",
                   description="POST /alertmanager outcomes; anything but accepted fires "
                               "JoelclawBridgeRejectingNotifications.", min_=0, w=8),
        timeseries("Deliveries to Inngest",
                   [target(f"sum(increase(joelclaw_bridge_events_sent_total{{{INST}}}[$__rate_interval]))",
                           "events sent"),
                    target(f"sum(increase(joelclaw_bridge_send_failures_total{{{INST}}}[$__rate_interval]))",
                           "failed attempts", ref="B")], "none", min_=0, w=8),
        row("Process"),
        timeseries("CPU", [target(f"rate(process_cpu_seconds_total{{{e}}}[$__rate_interval])", "{{instance}}")],
                   "percentunit", description="Share of one core.", min_=0, w=8),
        timeseries("Resident memory", [target(f"process_resident_memory_bytes{{{e}}}", "{{instance}}")],
                   "bytes", min_=0, w=8),
        timeseries("Open file descriptors", [target(f"process_open_fds{{{e}}}", "{{instance}}")],
                   "none", min_=0, w=8),
        timeseries("Scrape duration", [target(f"scrape_duration_seconds{{{e}}}", "{{instance}}")],
                   "s", min_=0, w=12),
        timeseries("Samples scraped", [target(f"scrape_samples_scraped{{{e}}}", "{{instance}}")],
                   "none", min_=0, w=12),
    ]
    inst_var = query_var("instance", "Exporter", f'label_values(up{{{JOB}}}, instance)')
    return dashboard("joelclaw-exporter", "joelclaw / Exporter",
                     "joelclaw-exporter itself: collectors, config reloads, probe timing, process.",
                     panels, extra_vars=[inst_var])


# joelclaw_systemd_unit_state has one series per state; the table and the
# timeline show the current one as a code (1..6, in this order) with mappings.
SYSTEMD_STATES = ["active", "reloading", "inactive", "failed", "activating", "deactivating"]
SYSTEMD_STATE = [{"type": "value", "options": {
    "0": {"text": "other", "color": "text", "index": 0},
    "1": {"text": "active", "color": "green", "index": 1},
    "2": {"text": "reloading", "color": "blue", "index": 2},
    "3": {"text": "inactive", "color": "orange", "index": 3},
    "4": {"text": "failed", "color": "red", "index": 4},
    "5": {"text": "activating", "color": "yellow", "index": 5},
    "6": {"text": "deactivating", "color": "yellow", "index": 6}}}]
FOUND = [{"type": "value", "options": {
    "0": {"text": "not found", "color": "red", "index": 0},
    "1": {"text": "found", "color": "green", "index": 1}}}]


def systemd():
    sel = f'{H},unit=~"$unit"'
    code = " + ".join(
        f'{i} * sum without (state) (joelclaw_systemd_unit_state{{{sel},state="{s}"}})'
        for i, s in enumerate(SYSTEMD_STATES, start=1))
    restarts15 = f"increase(joelclaw_systemd_unit_restarts_total{{{sel}}}[15m])"
    panels = [
        row("Status"),
        stat("Units configured", f"count(joelclaw_systemd_unit_present{{{sel}}}) or vector(0)",
             thresholds=steps("blue")),
        stat("Active", f"count(joelclaw_systemd_unit_active{{{sel}}} == 1) or vector(0)",
             thresholds=steps("green")),
        stat("Failed", f'count(joelclaw_systemd_unit_state{{{sel},state="failed"}} == 1) or vector(0)',
             description="Units in the failed state (JoelclawSystemdUnitFailed)."),
        stat("Not active", f"count(joelclaw_systemd_unit_active{{{sel}}} == 0 and "
                           f"joelclaw_systemd_unit_present{{{sel}}} == 1) or vector(0)",
             description="Known units that are not active (JoelclawSystemdUnitDown)."),
        stat("Not found", f"count(joelclaw_systemd_unit_present{{{sel}}} == 0) or vector(0)",
             description="Configured units systemd does not know (JoelclawSystemdUnitMissing)."),
        stat("Crash-looping", f"count({restarts15} >= 3) or vector(0)",
             description="Units restarted 3 or more times in 15 minutes (JoelclawSystemdUnitCrashLooping)."),
        row("Units"),
        table("Units", [
            ("state", code, "none", SYSTEMD_STATE, True),
            ("present", f"joelclaw_systemd_unit_present{{{sel}}}", "none", FOUND, True),
            ("restarts (systemd)", f"joelclaw_systemd_unit_restarts_total{{{sel}}}", "none", None, False),
            ("restarts in 15m", restarts15, "none", None, False),
            ("restarts in range", f"increase(joelclaw_systemd_unit_restarts_total{{{sel}}}[$__range])",
             "none", None, False),
        ], keep=["host", "unit", "instance"], h=9,
            description="Every configured unit: its ActiveState, whether systemd knows it, restarts."),
        state_timeline("Active state", code, "{{host}} / {{unit}}", SYSTEMD_STATE, w=24,
                       description="The unit's ActiveState over time; SubState is in /api/v1/status."),
        state_timeline("Present (known to systemd)", f"joelclaw_systemd_unit_present{{{sel}}}",
                       "{{host}} / {{unit}}", FOUND, w=24, h=6),
        row("Restarts"),
        timeseries("Restarts in 15m", [target(restarts15, "{{host}} / {{unit}}")], "none",
                   description="3 or more is a crash loop (JoelclawSystemdUnitCrashLooping).",
                   threshold_line=steps("green", ("red", 3))),
        timeseries("Restarts per hour",
                   [target(f"increase(joelclaw_systemd_unit_restarts_total{{{sel}}}[1h])",
                           "{{host}} / {{unit}}")], "none"),
    ]
    unit_var = query_var("unit", "Unit", 'label_values(joelclaw_systemd_unit_present{host=~"$host"}, unit)')
    return dashboard("joelclaw-systemd", "joelclaw / systemd",
                     "systemd units on the Linux hosts (clanker-001): state, restarts, missing units.",
                     panels, extra_vars=[unit_var])


def tailscale():
    # Global collector: no host label. The info join adds os and hostname to
    # a peer's row; a missing always-on peer has no info and keeps its row.
    sel = 'peer=~"$peer"'
    on = "on (instance, job, peer)"

    def with_info(expr):
        return (f"{expr} * {on} group_left (os, hostname) joelclaw_tailscale_peer_info{{{sel}}}"
                f" or {on} {expr}")

    online = f"joelclaw_tailscale_peer_online{{{sel}}}"
    always_on = f"joelclaw_tailscale_peer_always_on{{{sel}}}"
    last_seen = f"joelclaw_tailscale_peer_last_seen_timestamp_seconds{{{sel}}}"
    online_offline = [{"type": "value", "options": {
        "0": {"text": "offline", "color": "red", "index": 0},
        "1": {"text": "online", "color": "green", "index": 1}}}]
    yes_no = [{"type": "value", "options": {
        "0": {"text": "no", "color": "text", "index": 0},
        "1": {"text": "yes", "color": "blue", "index": 1}}}]
    running = [{"type": "value", "options": {
        "0": {"text": "not running", "color": "red", "index": 0},
        "1": {"text": "running", "color": "green", "index": 1}}}]
    panels = [
        row("Status"),
        stat("tailscaled here", "joelclaw_tailscale_self_online", mappings=running,
             thresholds=RED_GREEN, w=6,
             description="BackendState of tailscaled on each exporter's machine (JoelclawTailscaleSelfDown)."),
        stat("Peers online", f"count(max by (peer) ({online}) == 1) or vector(0)",
             thresholds=steps("green"), w=6, description="Online as seen by at least one exporter."),
        stat("Peers offline", f"count(max by (peer) ({online}) == 0) or vector(0)",
             thresholds=steps("blue"), w=6, description="Offline as seen by every exporter."),
        stat("Always-on peers offline",
             f"count({online} == 0 and {on} {always_on} == 1) or vector(0)", w=6,
             description="Always-on peers offline or missing (JoelclawTailscalePeerOffline after 10m)."),
        row("Peers"),
        table("Peers online", [
            ("online", with_info(online), "none", online_offline, True),
            ("always on", with_info(always_on), "none", yes_no, False),
            ("last seen", with_info(f"{last_seen} * 1000"), "dateTimeAsIso", None, False),
            ("last seen age", with_info(f"time() - {last_seen}"), "s", None, False),
        ], keep=["peer", "hostname", "os", "instance"], h=10,
            description="Every peer the exporter sees, and always-on peers missing from tailscale status."),
        state_timeline("Online", online, "{{peer}}", online_offline, w=24),
        timeseries("Last seen age", [target(f"time() - {last_seen}", "{{peer}}")], "s",
                   description="Time since each peer was last connected; about 0 while it is online "
                               "(Tailscale sends no last-seen time for online peers).",
                   min_=0, threshold_line=steps("green", ("red", 600))),
        timeseries("tailscaled state", [target(
            "joelclaw_tailscale_backend_state == 1", "{{instance}} {{state}}")], "none",
            description="BackendState of tailscaled on each exporter's machine.", min_=0),
    ]
    peer_var = query_var("peer", "Peer", "label_values(joelclaw_tailscale_peer_online, peer)")
    return dashboard("joelclaw-tailscale", "joelclaw / Tailscale",
                     "Tailscale peers as the exporters see them: online, always-on peers, last seen.",
                     panels, extra_vars=[peer_var])


def kubernetes():
    # Global collector: no host label; the cluster is whatever the exporter's
    # kubeconfig points at.
    ns = 'namespace=~"$namespace"'
    ready_not = [{"type": "value", "options": {
        "0": {"text": "not ready", "color": "red", "index": 0},
        "1": {"text": "ready", "color": "green", "index": 1}}}]
    restarts15 = f"increase(joelclaw_kube_container_restarts_total{{{ns}}}[15m])"
    desired = f'joelclaw_kube_workload_replicas{{{ns},state="desired"}}'
    ready = f'joelclaw_kube_workload_replicas{{{ns},state="ready"}}'
    panels = [
        row("Cluster"),
        stat("API reachable", 'joelclaw_collector_success{collector="kubernetes"}',
             mappings=OK_FAILED, thresholds=RED_GREEN, w=4,
             description="Whether the last run of the kubernetes collector read the API "
                         "(JoelclawKubeApiUnreachable); the reason is in /api/v1/status."),
        stat("Nodes ready", "count(joelclaw_kube_node_ready == 1) or vector(0)",
             thresholds=steps("green"), w=4),
        stat("Nodes not ready", "count(joelclaw_kube_node_ready == 0) or vector(0)", w=4,
             description="Ready condition not True (JoelclawKubeNodeNotReady after 5m)."),
        stat("Pods not ready",
             f"count(joelclaw_kube_pod_ready{{{ns}}} == 0) or vector(0)", w=4,
             thresholds=steps("green", ("orange", 1)),
             description="Includes finished Job pods, which are never ready."),
        stat("Containers crash-looping",
             f'count(joelclaw_kube_container_waiting{{{ns},reason="CrashLoopBackOff"}} == 1) '
             f"or vector(0)", w=4,
             description="Waiting in CrashLoopBackOff (JoelclawKubePodCrashLooping)."),
        stat("Workloads short of replicas",
             f"count({ready} < on (instance, job, namespace, kind, name) "
             f"group_left {desired}) or vector(0)", w=4,
             description="Deployments and StatefulSets with fewer ready than desired replicas "
                         "(JoelclawKubeWorkloadReplicasNotReady)."),
        row("Nodes"),
        table("Nodes", [
            ("ready", "joelclaw_kube_node_ready * on (instance, job, node) group_left "
                      "(os_image, kubelet_version, talos_version) joelclaw_kube_node_info",
             "none", ready_not, True),
            ("cordoned", "joelclaw_kube_node_unschedulable", "none", None, False),
        ], keep=["node", "talos_version", "kubelet_version", "os_image", "instance"], h=6,
            description="Every node with its Talos version (from osImage) and kubelet version."),
        state_timeline("Node ready", "joelclaw_kube_node_ready", "{{node}}", ready_not, w=12, h=6),
        state_timeline("Node conditions (not as expected)",
                       'joelclaw_kube_node_condition{condition!="Ready",status!="false"} == 1',
                       "{{node}} {{condition}}={{status}}", None, w=12, h=6),
        row("Workloads"),
        table("Deployments and StatefulSets", [
            ("desired", desired, "none", None, False),
            ("ready", ready, "none", None, False),
            ("all ready", f"{ready} >= bool on (instance, job, namespace, kind, name) "
                          f"group_left {desired}", "none", OK_FAILED, True),
        ], keep=["namespace", "kind", "name", "instance"], h=8,
            description="Desired (spec.replicas) and ready replicas of each workload."),
        row("Pods"),
        state_timeline("Pod ready", f"joelclaw_kube_pod_ready{{{ns}}}", "{{namespace}}/{{pod}}",
                       ready_not, w=24),
        timeseries("Container restarts in 15m", [target(restarts15, "{{pod}} / {{container}}")],
                   "none", threshold_line=steps("green", ("red", 3))),
        timeseries("Containers waiting, by reason",
                   [target(f"sum by (reason) (joelclaw_kube_container_waiting{{{ns}}})",
                           "{{reason}}")], "none", min_=0,
                   description="CrashLoopBackOff and the image pull reasons need a person; "
                               "ContainerCreating and PodInitializing are normal for a while."),
    ]
    ns_var = query_var("namespace", "Namespace", "label_values(joelclaw_kube_pod_ready, namespace)")
    return dashboard("joelclaw-kubernetes", "joelclaw / Kubernetes (Talos)",
                     "The Talos Kubernetes cluster as the exporter reads its API: nodes and Talos "
                     "versions, pods, restarts, workloads (Inngest, Qdrant, Redis).",
                     panels, extra_vars=[ns_var])
def gpu():
    sel = f'{H},gpu=~"$gpu"'
    on = "on (instance, job, host, gpu)"

    def with_name(expr):
        return f"{expr} * {on} group_left (name) joelclaw_gpu_info{{{sel}}}"

    temp = f"joelclaw_gpu_temperature_celsius{{{sel}}}"
    mem_ratio = f"joelclaw_gpu_memory_used_bytes{{{sel}}} / joelclaw_gpu_memory_total_bytes{{{sel}}}"
    uncorrected1h = f'increase(joelclaw_gpu_ecc_errors_total{{{sel},type="uncorrected"}}[1h])'
    throttled = f'joelclaw_gpu_throttle_active{{{sel},reason!="gpu_idle"}} == 1'
    legend = "{{host}} GPU {{gpu}}"
    panels = [
        row("Status"),
        stat("GPUs", f"sum(joelclaw_gpu_devices{{{H}}}) or vector(0)", thresholds=steps("blue"),
             description="GPUs the exporters can read."),
        stat("GPUs missing", f"sum(joelclaw_gpu_devices_expected{{{H}}} - on (instance, job, host) "
                             f"joelclaw_gpu_devices{{{H}}}) or vector(0)",
             description="Expected (gpu.expected_gpus) minus seen (JoelclawGpuMissing after 5m)."),
        stat("Hottest GPU", f"max({temp})", unit="celsius", thresholds=steps("green", ("orange", 80), ("red", 85)),
             description="Highest core temperature (JoelclawGpuTooHot above 85 °C for 10m)."),
        stat("Fullest GPU memory", f"max({mem_ratio})", unit="percentunit",
             thresholds=steps("green", ("orange", 0.9), ("red", 0.95)),
             description="JoelclawGpuMemoryNearlyFull above 95% for 15m."),
        stat("Uncorrected ECC errors (1h)", f"sum({uncorrected1h}) or vector(0)",
             description="JoelclawGpuEccErrors fires on any."),
        stat("GPUs throttled", f"count(count by (instance, host, gpu) ({throttled})) or vector(0)",
             thresholds=steps("green", ("orange", 1)),
             description="GPUs whose clocks are held down for a reason other than being idle."),
        row("GPUs"),
        table("GPUs", [
            ("temperature", with_name(temp), "celsius", None, False),
            ("utilization", with_name(f"joelclaw_gpu_utilization_ratio{{{sel}}}"), "percentunit", None, False),
            ("memory used", with_name(f"joelclaw_gpu_memory_used_bytes{{{sel}}}"), "bytes", None, False),
            ("memory total", with_name(f"joelclaw_gpu_memory_total_bytes{{{sel}}}"), "bytes", None, False),
            ("power", with_name(f"joelclaw_gpu_power_watts{{{sel}}}"), "watt", None, False),
            ("power limit", with_name(f"joelclaw_gpu_power_limit_watts{{{sel}}}"), "watt", None, False),
        ], keep=["host", "gpu", "name", "instance"], h=7,
            description="Every GPU; a reading the card does not offer is blank, never 0."),
        timeseries("Temperature", [target(temp, legend)], "celsius",
                   threshold_line=steps("transparent", ("red", 85))),
        timeseries("Utilization", [target(f"joelclaw_gpu_utilization_ratio{{{sel}}}", legend)],
                   "percentunit", min_=0, max_=1),
        timeseries("Memory used (ratio)", [target(mem_ratio, legend)], "percentunit", min_=0, max_=1,
                   threshold_line=steps("transparent", ("red", 0.95))),
        timeseries("Memory used", [target(f"joelclaw_gpu_memory_used_bytes{{{sel}}}", legend)],
                   "bytes", min_=0),
        timeseries("Power", [
            target(f"joelclaw_gpu_power_watts{{{sel}}}", legend),
            target(f"joelclaw_gpu_power_limit_watts{{{sel}}}", legend + " limit", ref="B"),
        ], "watt", min_=0),
        timeseries("Clocks", [target(f"joelclaw_gpu_clock_hertz{{{sel}}}", legend + " {{clock}}")],
                   "hertz", min_=0),
        timeseries("Fan", [target(f"joelclaw_gpu_fan_ratio{{{sel}}}", legend)], "percentunit", min_=0,
                   description="Absent for passively cooled boards."),
        timeseries("Throttle reasons active", [target(f"joelclaw_gpu_throttle_active{{{sel}}} == 1",
                                                      legend + " {{reason}}")], "none", min_=0,
                   description="Reasons holding the clocks down; gpu_idle is normal at rest, "
                               "sw_thermal_slowdown and hw_* mean heat or power trouble."),
        row("Errors"),
        timeseries("ECC errors per hour", [target(
            f"increase(joelclaw_gpu_ecc_errors_total{{{sel}}}[1h])", legend + " {{type}}")], "short",
            min_=0, description="Uncorrected errors alert (JoelclawGpuEccErrors); corrected ones are a trend."),
        timeseries("GPUs seen vs expected", [
            target(f"joelclaw_gpu_devices{{{H}}}", "{{host}} seen"),
            target(f"joelclaw_gpu_devices_expected{{{H}}}", "{{host}} expected", ref="B"),
        ], "short", min_=0),
    ]
    gpu_var = query_var("gpu", "GPU", 'label_values(joelclaw_gpu_info{host=~"$host"}, gpu)')
    return dashboard("joelclaw-gpu", "joelclaw / GPU",
                     "GPUs of the machines running the exporter: temperature, memory, power, "
                     "clocks, throttling, ECC errors, missing GPUs.",
                     panels, extra_vars=[gpu_var])


DASHBOARDS = {
    "joelclaw-overview.json": overview,
    "joelclaw-launchd.json": launchd,
    "joelclaw-storage-hosts.json": storage_hosts,
    "joelclaw-exporter.json": exporter,
    "joelclaw-tailscale.json": tailscale,
    "joelclaw-systemd.json": systemd,
    "joelclaw-kubernetes.json": kubernetes,
    "joelclaw-gpu.json": gpu,
}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, build in DASHBOARDS.items():
        text = json.dumps(build(), indent=2, sort_keys=False) + "\n"
        path = OUT / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        print("out of date (run python3 scripts/gen-dashboards.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
