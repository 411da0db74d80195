#!/usr/bin/env python3
"""Checks what `cmake --install` lays down (the CTest install_tree).

    python3 scripts/check-install.py --build=build

Installs the build into a fresh temporary prefix and checks the tree:
- bin/joelclaw_exporter runs (`version`);
- share/joelclaw-exporter/{rules,dashboards} equal the sources (the
  per-machine configs of deploy/ are checked by DeployTest.* instead);
- the service definition of the build (JOELCLAW_SERVICE_FILES): the systemd
  unit starts the installed binary with --config.file, carries the hardening
  docs/install.md promises, and `systemd-analyze verify` accepts it without a
  word; the launchd plist loads with plistlib and has the keys launchd needs,
  and the newsyslog.d entry rotates exactly the plist's log file, as a user
  the agent can write as, without a signal and without a turnover line;
- nothing else is installed.
The launchd plist and its newsyslog entry are checked on every platform: on
Linux they are written with packaging/configure-service-files.cmake into a
temporary folder, as the install step would on macOS. A missing program (cmake, systemd-analyze) fails.
"""

import configparser
import os
import pathlib
import plistlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARE = "share/joelclaw-exporter"

UNIT_SETTINGS = {  # key: value the [Service] section must have
    "DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "NoNewPrivileges": "yes", "Restart": "on-failure",
    "ExecReload": "/bin/kill -HUP $MAINPID", "CapabilityBoundingSet": "",
}
PLIST_KEYS = {"Label": str, "ProgramArguments": list, "RunAtLoad": bool, "KeepAlive": bool,
              "ThrottleInterval": int, "StandardOutPath": str, "StandardErrorPath": str}

problems = []


def fail(message):
    problems.append(message)


def run(argv, **kw):
    if shutil.which(argv[0]) is None and not os.path.isabs(argv[0]):
        fail(f"{argv[0]} is not installed (scripts/setup-deps.sh installs it)")
        return None
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)


def cache(build):
    values = {}
    for line in (build / "CMakeCache.txt").read_text().splitlines():
        if line and not line.startswith(("#", "//")) and "=" in line and ":" in line.split("=")[0]:
            key, value = line.split("=", 1)
            values[key.split(":")[0]] = value
    return values


def same_files(installed, source, pattern):
    want = {p.name: p.read_bytes() for p in source.glob(pattern)}
    have = {p.name: p.read_bytes() for p in installed.glob(pattern)} if installed.is_dir() else {}
    if not want:
        fail(f"{source.relative_to(ROOT)} has no {pattern}")
    if sorted(want) != sorted(have):
        fail(f"{installed}: installed {sorted(have)}, sources have {sorted(want)}")
    for name in want:
        if name in have and have[name] != want[name]:
            fail(f"{installed / name} differs from its source")
    return [installed / name for name in sorted(have)]


def check_unit(path, binary, config):
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(path.read_text())
    service = parser["Service"] if parser.has_section("Service") else {}
    exec_start = service.get("ExecStart", "").split()
    if exec_start[:1] != [str(binary)] or f"--config.file={config}" not in exec_start:
        fail(f"{path}: ExecStart must run {binary} with --config.file={config}: {exec_start}")
    for key, value in UNIT_SETTINGS.items():
        if service.get(key) != value:
            fail(f"{path}: [Service] {key}={value} expected, found {service.get(key)!r}")
    if "joelclaw-exporter/spool" not in service.get("StateDirectory", "").split():
        fail(f"{path}: StateDirectory must create joelclaw-exporter/spool (the bridge spool)")
    docs = parser.get("Unit", "Documentation", fallback="")
    if not docs.startswith("file://") or not pathlib.Path(docs[len("file://"):]).is_file():
        fail(f"{path}: Documentation= must name an installed file, not {docs!r}")
    if parser.get("Install", "WantedBy", fallback=None) != "multi-user.target":
        fail(f"{path}: [Install] WantedBy=multi-user.target expected")
    proc = run(["systemd-analyze", "verify", str(path)])
    if proc is not None and (proc.returncode != 0 or (proc.stdout + proc.stderr).strip()):
        fail(f"systemd-analyze verify {path}: exit {proc.returncode}: "
             f"{(proc.stdout + proc.stderr).strip()}")


def check_plist(path, binary, config):
    try:
        with open(path, "rb") as f:
            plist = plistlib.load(f)
    except Exception as e:  # plistlib raises several unrelated types
        fail(f"{path}: not a valid plist: {e}")
        return
    for key, typ in PLIST_KEYS.items():
        if not isinstance(plist.get(key), typ):
            fail(f"{path}: {key} must be a {typ.__name__}")
    if plist.get("Label") != "com.joelclaw.exporter":
        fail(f"{path}: Label must be com.joelclaw.exporter")
    args = plist.get("ProgramArguments") or []
    if args[:1] != [str(binary)] or f"--config.file={config}" not in args:
        fail(f"{path}: ProgramArguments must run {binary} with --config.file={config}: {args}")
    if plist.get("RunAtLoad") is not True or plist.get("KeepAlive") is not True:
        fail(f"{path}: RunAtLoad and KeepAlive must be true")
    if not isinstance(plist.get("ThrottleInterval"), int) or plist["ThrottleInterval"] < 1:
        fail(f"{path}: ThrottleInterval must be at least 1 second")
    for key in ("StandardOutPath", "StandardErrorPath"):
        if not os.path.isabs(str(plist.get(key, ""))):
            fail(f"{path}: {key} must be an absolute path")


def check_newsyslog(path, plist_path):
    """newsyslog.conf(5): logfile [owner:group] mode count size when flags."""
    try:
        text = path.read_text()
        with open(plist_path, "rb") as f:
            plist = plistlib.load(f)
    except Exception as e:  # a missing file or a bad plist, reported once
        fail(f"{path}: cannot check against {plist_path}: {e}")
        return
    entries = [line.split("#", 1)[0].split() for line in text.splitlines()]
    entries = [e for e in entries if e]
    if len(entries) != 1:
        fail(f"{path}: expected exactly one entry, found {len(entries)}")
        return
    fields = entries[0]
    if len(fields) != 7:
        fail(f"{path}: expected 7 fields (logfile owner:group mode count size when flags): {fields}")
        return
    logfile, owner_group, mode, count, size, when, flags = fields
    if logfile != plist.get("StandardErrorPath") or logfile != plist.get("StandardOutPath"):
        fail(f"{path}: rotates {logfile}, the plist logs to {plist.get('StandardErrorPath')}")
    owner = owner_group.split(":")[0] if ":" in owner_group else ""
    if not owner:
        fail(f"{path}: owner:group must name the agent's user (newsyslog makes the new log "
             f"root's otherwise): {owner_group!r}")
    if mode != "644" or not count.isdigit() or int(count) < 1:
        fail(f"{path}: mode 644 and a count of at least 1 expected: {mode} {count}")
    if not size.isdigit() or int(size) < 1024 or when != "*":
        fail(f"{path}: rotate by size (KB, at least 1024) with when '*': {size} {when}")
    for flag, why in (("N", "no signal: SIGHUP would reload the config"),
                      ("B", "no turnover line in the logfmt/JSON stream")):
        if flag not in flags:
            fail(f"{path}: flags must include {flag} ({why}): {flags}")


def configure_plist(values, prefix, out):
    """The plist as the install step writes it on macOS, for this prefix."""
    proc = run(["cmake", f"-DJOELCLAW_SOURCE_DIR={ROOT}", f"-DJOELCLAW_OUT_DIR={out}",
                "-DJOELCLAW_SERVICE_FILES=launchd",
                f"-DJOELCLAW_BINDIR={values.get('CMAKE_INSTALL_BINDIR', 'bin')}",
                f"-DJOELCLAW_CONFIG_FILE={values['JOELCLAW_CONFIG_FILE']}",
                f"-DJOELCLAW_LOG_DIR={values.get('JOELCLAW_LAUNCHD_LOG_DIR', '')}",
                f"-DJOELCLAW_LOG_OWNER={values.get('JOELCLAW_LAUNCHD_LOG_OWNER', '')}",
                f"-DCMAKE_INSTALL_PREFIX={prefix}",
                "-P", str(ROOT / "packaging" / "configure-service-files.cmake")])
    if proc is not None and proc.returncode != 0:
        fail(f"configure-service-files.cmake: {proc.stderr.strip()}")
    return out / "com.joelclaw.exporter.plist"


def main(argv):
    build = None
    for arg in argv:
        if arg.startswith("--build="):
            build = pathlib.Path(arg.split("=", 1)[1]).resolve()
    if build is None or not (build / "CMakeCache.txt").exists():
        print("usage: check-install.py --build=BUILD_DIR (a configured build)", file=sys.stderr)
        return 2
    values = cache(build)
    service = values.get("JOELCLAW_SERVICE_FILES", "")
    config = values.get("JOELCLAW_CONFIG_FILE", "")
    with tempfile.TemporaryDirectory(prefix="joelclaw-install-") as tmp:
        prefix = pathlib.Path(tmp) / "prefix"
        proc = run(["cmake", "--install", str(build), "--prefix", str(prefix)])
        if proc is None or proc.returncode != 0:
            fail(f"cmake --install failed: {proc.stderr.strip() if proc else ''}")
            return report()
        binary = prefix / values.get("CMAKE_INSTALL_BINDIR", "bin") / "joelclaw_exporter"
        expected = {binary}
        proc = run([str(binary), "version"])
        if proc is None or proc.returncode != 0 or "joelclaw" not in proc.stdout.lower():
            fail(f"{binary} version: {proc and (proc.stdout + proc.stderr).strip()}")
        share = prefix / SHARE
        expected |= set(same_files(share / "rules", ROOT / "rules", "joelclaw-*.yml"))
        expected |= set(same_files(share / "dashboards", ROOT / "dashboards", "*.json"))
        # GNUInstallDirs caches DOCDIR empty and computes the default.
        doc = prefix / (values.get("CMAKE_INSTALL_DOCDIR") or "share/doc/joelclaw_exporter")
        expected |= set(same_files(doc, ROOT / "docs", "*.md"))
        expected |= set(same_files(doc / "runbooks", ROOT / "docs" / "runbooks", "*.md"))
        if service == "systemd":
            unit_dir = pathlib.Path(values.get("JOELCLAW_SYSTEMD_UNIT_DIR", ""))
            unit = (unit_dir if unit_dir.is_absolute() else prefix / unit_dir) / \
                "joelclaw-exporter.service"
            gpu = share / "systemd" / "gpu.conf"
            expected |= {unit, gpu}
            if not unit.exists():
                fail(f"{unit} was not installed")
            else:
                check_unit(unit, binary, config)
            source = ROOT / "packaging" / "systemd" / "gpu.conf"
            if not gpu.exists() or gpu.read_bytes() != source.read_bytes():
                fail(f"{gpu} is missing or differs from packaging/systemd/gpu.conf")
        elif service == "launchd":
            plist_dir = pathlib.Path(values.get("JOELCLAW_LAUNCHD_DIR", ""))
            plist = (plist_dir if plist_dir.is_absolute() else prefix / plist_dir) / \
                "com.joelclaw.exporter.plist"
            conf_dir = pathlib.Path(values.get("JOELCLAW_NEWSYSLOG_DIR", ""))
            conf = (conf_dir if conf_dir.is_absolute() else prefix / conf_dir) / \
                "joelclaw-exporter.conf"
            expected |= {plist, conf}
            check_plist(plist, binary, config)
            check_newsyslog(conf, plist)
        if service != "launchd":
            out = pathlib.Path(tmp) / "launchd"
            out.mkdir()
            plist = configure_plist(values, prefix, out)
            check_plist(plist, binary, config)
            check_newsyslog(out / "joelclaw-exporter.conf", plist)
        installed = {p for p in prefix.rglob("*") if p.is_file()}
        for extra in sorted(installed - expected):
            fail(f"{extra.relative_to(prefix)} is installed but not expected (update this check)")
        for missing in sorted(expected - installed):
            fail(f"{missing.relative_to(prefix)} was not installed")
    return report()


def report():
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check-install: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-install: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
