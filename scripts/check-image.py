#!/usr/bin/env python3
"""Checks the Dockerfile against what it has to agree with, without building
it (no registry is reachable where the tests run, so `FROM debian:bookworm`
cannot be pulled; docs/kubernetes.md says how the image was built by hand).

    python3 scripts/check-image.py                          # CTest image_packages
    python3 scripts/check-image.py --binary=build/joelclaw_exporter   # image_runtime_libs
    python3 scripts/check-image.py --self-test [--binary=...]

1. The build stage (`FROM debian:bookworm AS build`) installs exactly the
   packages of BUILD_PKGS in scripts/setup-deps.sh: a package added to one
   and not the other fails.
2. The runtime stage is the last one, `FROM debian:bookworm-slim`, runs as
   65532:65532, exposes 10042 and has the entrypoint
   ["/usr/local/bin/joelclaw_exporter"], which it copies from the build
   stage; the build stage builds that target as Release with the tests off.
3. With --binary (Linux, Debian: ldd and dpkg): the runtime stage installs
   the package of every library the binary needs directly (its DT_NEEDED
   entries, resolved to files by ldd, the files to packages by dpkg -S),
   except libc6, libgcc-s1 and libstdc++6, which bookworm-slim has; and
   nothing else but ca-certificates and openssh-client (the NAS collector
   runs ssh) and packages of the libraries those pull in (ldd's full list).
   A sanitizer build's runtimes (libasan, libtsan, libubsan) are skipped.

--self-test breaks copies of the Dockerfile and setup-deps.sh in memory, one
way at a time, and fails unless each break is reported. Prints one problem a
line and exits 1 on any.
"""

import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
SETUP_DEPS = ROOT / "scripts" / "setup-deps.sh"
BINARY_IN_IMAGE = "/usr/local/bin/joelclaw_exporter"
USER = "65532:65532"
PORT = "10042"
# In debian:bookworm-slim already (Priority: required, or their dependencies).
IN_SLIM = {"libc6", "libgcc-s1", "libstdc++6"}
# Runtime packages for what the exporter runs rather than links.
EXTRA_RUNTIME = {"ca-certificates", "openssh-client"}
# A sanitizer build links these; the image is a plain Release build.
SANITIZER_LIB_RE = re.compile(r"^lib(asan|tsan|ubsan|lsan|hwasan|clang_rt)[.-]")


class Stage:
    def __init__(self, image, name):
        self.image = image
        self.name = name
        self.instructions = []  # (KEYWORD, argument text), continuations joined

    def packages(self):
        """Every package of `apt-get install` in the stage's RUNs, in order."""
        found = []
        for keyword, arg in self.instructions:
            if keyword != "RUN":
                continue
            for command in re.split(r"&&|;|\|\|", arg):
                try:
                    words = shlex.split(command)
                except ValueError:  # quoting split by the separators above
                    words = command.split()
                while words and "=" in words[0]:  # VAR=value before the command
                    words.pop(0)
                if words[:2] == ["apt-get", "install"]:
                    found += [w for w in words[2:] if not w.startswith("-")]
        return found

    def get(self, keyword):
        return [arg for k, arg in self.instructions if k == keyword]


def parse_dockerfile(text):
    """The stages of a Dockerfile: comments dropped (also between continued
    lines, as Docker does), continuations joined."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    if current.strip():
        logical.append(current.strip())
    stages = []
    for line in logical:
        keyword, _, arg = line.partition(" ")
        keyword, arg = keyword.upper(), arg.strip()
        if keyword == "FROM":
            words = arg.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0] if words else "", name))
        elif stages:
            stages[-1].instructions.append((keyword, arg))
    return stages


def setup_build_packages(text):
    """The words of `BUILD_PKGS=( ... )` in setup-deps.sh."""
    m = re.search(r"^BUILD_PKGS=\((.*?)\)", text, re.S | re.M)
    if not m:
        return None
    return shlex.split(m.group(1), comments=True)


def check_dockerfile(dockerfile_text, setup_text, problems):
    stages = parse_dockerfile(dockerfile_text)
    build = [s for s in stages if s.name == "build"]
    if len(build) != 1 or build[0].image != "debian:bookworm":
        problems.append("Dockerfile: needs one build stage `FROM debian:bookworm AS build`")
        return None
    build = build[0]
    runtime = stages[-1]
    if runtime is build or runtime.image != "debian:bookworm-slim":
        problems.append("Dockerfile: the last stage (the image) must be FROM debian:bookworm-slim")
        return None

    wanted = setup_build_packages(setup_text)
    have = build.packages()
    if wanted is None:
        problems.append("scripts/setup-deps.sh: no BUILD_PKGS=( ... ) list")
    else:
        for p in sorted(set(wanted) - set(have)):
            problems.append(f"Dockerfile: build stage does not install {p}, which "
                            "scripts/setup-deps.sh BUILD_PKGS has")
        for p in sorted(set(have) - set(wanted)):
            problems.append(f"Dockerfile: build stage installs {p}, which scripts/setup-deps.sh "
                            "BUILD_PKGS does not have (add it there, or drop it here)")
    for stage, what in ((build, "build stage"), (runtime, "runtime stage")):
        packages = stage.packages()
        for p in sorted({p for p in packages if packages.count(p) > 1}):
            problems.append(f"Dockerfile: {what} lists {p} twice")
        for arg in stage.get("RUN"):
            if "apt-get install" in arg and "--no-install-recommends" not in arg:
                problems.append(f"Dockerfile: {what}: apt-get install without "
                                "--no-install-recommends (setup-deps.sh installs without them)")

    build_runs = " ".join(build.get("RUN"))
    for needle in ("-DCMAKE_BUILD_TYPE=Release", "-DJOELCLAW_BUILD_TESTS=OFF",
                   "--target joelclaw_exporter"):
        if needle not in build_runs:
            problems.append(f"Dockerfile: the build stage must build with {needle}")
    copies = [a for a in runtime.get("COPY") if a.startswith("--from=build ")]
    if not any(a.split()[-1] == BINARY_IN_IMAGE for a in copies):
        problems.append(f"Dockerfile: the runtime stage must COPY --from=build the binary to "
                        f"{BINARY_IN_IMAGE}")
    if runtime.get("USER")[-1:] != [USER]:
        problems.append(f"Dockerfile: the image must run as USER {USER} (non-root, the uid the "
                        "k8s/ manifests run as)")
    if PORT not in " ".join(runtime.get("EXPOSE")).split():
        problems.append(f"Dockerfile: the image must EXPOSE {PORT}")
    if runtime.get("ENTRYPOINT")[-1:] != [f'["{BINARY_IN_IMAGE}"]']:
        problems.append(f'Dockerfile: ENTRYPOINT must be ["{BINARY_IN_IMAGE}"] (exec form; '
                        "k8s/ passes only args)")
    return runtime.packages()


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def library_packages(binary, problems):
    """({soname: its packages} for the binary's direct libraries, the packages
    of every library ldd lists), from readelf, ldd and dpkg -S."""
    needed = []
    proc = run(["readelf", "-d", "-W", str(binary)])
    if proc.returncode != 0:
        problems.append(f"readelf -d {binary}: {proc.stderr.strip()}")
        return None
    for m in re.finditer(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", proc.stdout):
        needed.append(m.group(1))
    proc = run(["ldd", str(binary)])
    if proc.returncode != 0:
        problems.append(f"ldd {binary}: {proc.stderr.strip() or proc.stdout.strip()}")
        return None
    paths = {}  # soname -> path
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+) \(", line)
        if m:
            paths[m.group(1)] = m.group(2)
        elif "not found" in line:
            problems.append(f"ldd {binary}: {line.strip()}")

    def candidates(path):
        # dpkg knows a library by the path its package installed, which on a
        # merged-/usr system may differ from ldd's by a /usr prefix or a link.
        real = str(pathlib.Path(path).resolve())
        out = []
        for p in (path, real):
            out.append(p)
            out.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
        return list(dict.fromkeys(out))

    def owners(sonames):
        all_paths = sorted({c for s in sonames if s in paths for c in candidates(paths[s])})
        owner_of = {}
        if all_paths:
            out = run(["dpkg", "-S"] + all_paths).stdout  # exit 1 when some path is unknown
            for line in out.splitlines():
                pkgs, _, path = line.partition(": ")
                owner_of[path.strip()] = {p.split(":")[0].strip() for p in pkgs.split(",")}
        result = {}
        for s in sonames:
            if SANITIZER_LIB_RE.match(s):
                continue
            if s not in paths:
                problems.append(f"ldd {binary}: {s} is not resolved to a file")
                continue
            found = set().union(*(owner_of.get(c, set()) for c in candidates(paths[s])))
            if not found:
                problems.append(f"dpkg -S: no package owns {paths[s]} ({s})")
            result[s] = found
        return result

    direct = owners(needed)
    everything = owners(list(paths))
    return direct, set().union(*everything.values()) if everything else set()


def check_runtime(runtime_packages, libs, problems):
    direct, everything = libs
    have = set(runtime_packages)
    for soname, pkgs in sorted(direct.items()):
        if pkgs and not pkgs & (have | IN_SLIM):
            problems.append(f"Dockerfile: runtime stage does not install {'/'.join(sorted(pkgs))}"
                            f", the package of {soname}, which the binary needs")
    for p in sorted(have - everything - EXTRA_RUNTIME):
        problems.append(f"Dockerfile: runtime stage installs {p}, which provides no library "
                        "the binary needs (only libraries, ca-certificates and openssh-client)")
    for p in sorted(have & IN_SLIM):
        problems.append(f"Dockerfile: runtime stage installs {p}, which debian:bookworm-slim has")


def check(dockerfile_text, setup_text, libs):
    problems = []
    runtime = check_dockerfile(dockerfile_text, setup_text, problems)
    if runtime is not None and libs is not None:
        check_runtime(runtime, libs, problems)
    return problems


def self_test(libs):
    dockerfile, setup = DOCKERFILE.read_text(), SETUP_DEPS.read_text()

    def sub(text, old, new):
        if old not in text:
            raise SystemExit(f"self-test: {old!r} is not in the file any more; update the case")
        return text.replace(old, new, 1)

    # (what breaks, Dockerfile text, setup-deps.sh text, expected message)
    cases = [
        ("a build package only in the Dockerfile",
         sub(dockerfile, "build-essential cmake", "build-essential git cmake"), setup,
         "build stage installs git"),
        ("a build package only in setup-deps.sh", dockerfile,
         sub(setup, "build-essential cmake", "build-essential libpcap-dev cmake"),
         "build stage does not install libpcap-dev"),
        ("a build package dropped from the Dockerfile",
         sub(dockerfile, " nlohmann-json3-dev", ""), setup,
         "build stage does not install nlohmann-json3-dev"),
        ("a test package counted as a build package", dockerfile,
         sub(setup, "BUILD_PKGS=(\n", "BUILD_PKGS=(\n  libgtest-dev\n"),
         "build stage does not install libgtest-dev"),
        ("no BUILD_PKGS list", dockerfile, sub(setup, "BUILD_PKGS=(", "PKGS_BUILD=("),
         "no BUILD_PKGS"),
        ("the runtime stage on the full image",
         sub(dockerfile, "FROM debian:bookworm-slim", "FROM debian:bookworm"), setup,
         "must be FROM debian:bookworm-slim"),
        ("root", sub(dockerfile, "USER 65532:65532", "USER root"), setup, "must run as USER"),
        ("shell-form entrypoint",
         sub(dockerfile, f'ENTRYPOINT ["{BINARY_IN_IMAGE}"]', f"ENTRYPOINT {BINARY_IN_IMAGE}"),
         setup, "ENTRYPOINT must be"),
        ("another port", sub(dockerfile, "EXPOSE 10042", "EXPOSE 9100"), setup, "EXPOSE 10042"),
        ("tests built in the image",
         sub(dockerfile, "-DJOELCLAW_BUILD_TESTS=OFF", "-DJOELCLAW_BUILD_TESTS=ON"), setup,
         "-DJOELCLAW_BUILD_TESTS=OFF"),
        ("recommends pulled in",
         sub(dockerfile, "apt-get install -y -q --no-install-recommends \\\n      lib",
             "apt-get install -y -q \\\n      lib"), setup, "without --no-install-recommends"),
    ]
    if libs is not None:
        cases += [
            ("a linked library's package missing from the runtime stage",
             sub(dockerfile, " libyaml-cpp0.7", ""), setup,
             "does not install libyaml-cpp0.7, the package of libyaml-cpp"),
            ("a runtime package that provides no needed library",
             sub(dockerfile, "ca-certificates openssh-client", "ca-certificates openssh-client curl"),
             setup, "installs curl, which provides no library"),
            ("a -dev package in the runtime stage",
             sub(dockerfile, "ca-certificates openssh-client", "ca-certificates openssh-client "
                 "libssl-dev"), setup, "installs libssl-dev, which provides no library"),
            ("a package the slim image has",
             sub(dockerfile, "ca-certificates openssh-client", "ca-certificates openssh-client "
                 "libstdc++6"), setup, "installs libstdc++6, which debian:bookworm-slim has"),
        ]
    failures = [f"the committed files: {p}" for p in check(dockerfile, setup, libs)]
    for what, d, s, needle in cases:
        if not any(needle in p for p in check(d, s, libs)):
            failures.append(f"{what} was not reported as '{needle}'")
    # Comments between continued lines are dropped, as Docker drops them.
    commented = sub(dockerfile, "      zlib1g-dev \\\n", "      zlib1g-dev \\\n# a note\n")
    if check(commented, setup, libs) != check(dockerfile, setup, libs):
        failures.append("a comment inside a continued RUN changed the result")
    for f in failures:
        print(f"self-test: {f}", file=sys.stderr)
    total = len(cases) + 2
    print(f"self-test: {total - len(failures)} of {total} breaks reported"
          f"{'' if libs is not None else ' (no --binary: the runtime library cases skipped)'}")
    return 1 if failures else 0


def main(argv):
    binary, want_self_test = None, False
    for arg in argv:
        if arg.startswith("--binary="):
            binary = pathlib.Path(arg.split("=", 1)[1])
        elif arg == "--self-test":
            want_self_test = True
        else:
            print(f"usage: {sys.argv[0]} [--binary=BINARY] [--self-test]", file=sys.stderr)
            return 2
    problems = []
    libs = None
    if binary is not None:
        if not binary.is_file():
            print(f"check-image: {binary}: no such file", file=sys.stderr)
            return 1
        libs = library_packages(binary, problems)
        if problems:
            for p in problems:
                print(p, file=sys.stderr)
            return 1
    if want_self_test:
        return self_test(libs)
    problems = check(DOCKERFILE.read_text(), SETUP_DEPS.read_text(), libs)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check-image: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-image: OK" + (f" (runtime libraries of {binary})" if binary else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
