#!/usr/bin/env python3
"""Checks the Kubernetes manifests in k8s/ offline (no cluster, no kubeconform:
Debian bookworm packages no offline schema validator).

    python3 scripts/check-k8s.py [--exporter build/joelclaw_exporter]
    python3 scripts/check-k8s.py --self-test

1. Every YAML file under k8s/ parses, with no key repeated in a mapping.
2. Each kustomization root (k8s/base, k8s/overlays/*) resolves like kustomize
   for the features used here (resources: files and folders,
   configMapGenerator with files, images); every file it names exists, and
   every YAML file under k8s/ is used by one.
3. Every object has the apiVersion of its kind, a valid name, the joelclaw
   namespace where namespaced, the required fields of its kind with their
   types (the small schema below), and no unknown key in the pod and
   container fields where a typo would be dropped silently.
4. Workloads: the image `joelclaw-exporter` (the repository's Dockerfile)
   tagged by the kustomization's images: with the project VERSION of
   CMakeLists.txt, --config.file=/etc/joelclaw/exporter.yaml served from a
   ConfigMap, port 10042 with /-/healthy and /-/ready probes, requests and
   limits, and the security settings (non-root, read-only root filesystem, no
   privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no
   host namespaces or host paths). The GPU DaemonSet is pinned to GPU nodes
   with the NVIDIA runtime class, tolerates nvidia.com/gpu and sets
   JOELCLAW_HOST to the node's name.
5. References: ServiceAccounts, RBAC (read-only, exactly what the kubernetes
   collector reads), Service selectors and ports; Services are ClusterIP.
6. The exporter configs the ConfigMaps are generated from: no `bridge:` (the
   Alertmanager -> Inngest bridge runs in panda's exporter, docs/kubernetes.md);
   with --exporter, `joelclaw_exporter --config.check` accepts them.

--self-test breaks copies of the manifests in memory, one way at a time, and
fails unless each break is reported: the checks above cannot pass vacuously.
Prints `file: object: problem` lines and exits 1 on any problem.
"""

import copy
import json
import pathlib
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit(f"PyYAML is missing for {sys.executable}: install Debian's python3-yaml "
             "(scripts/setup-deps.sh) and run this with /usr/bin/python3")

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"

NAMESPACE = "joelclaw"
# The image the repository's Dockerfile builds (docs/kubernetes.md). Manifests
# name it without a tag; each kustomization root's images: adds the tag.
IMAGE = "joelclaw-exporter"
CONFIG_ARG = "--config.file=/etc/joelclaw/exporter.yaml"
CONFIG_PATH = "/etc/joelclaw/exporter.yaml"
PORT = 10042
JOB = "joelclaw-exporter"
# Client-side `kubectl apply` copies an object into an annotation, and all
# annotations of an object must stay under 256 KiB.
MAX_OBJECT_BYTES = 200 * 1024
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUANTITY_RE = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|Ki|Mi|Gi)?$")

API_VERSION = {
    "ServiceAccount": "v1", "ConfigMap": "v1", "Secret": "v1", "Service": "v1",
    "Deployment": "apps/v1", "DaemonSet": "apps/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}

# Required paths and their types, per kind. `a[]` means every item of list a.
_WORKLOAD = [("spec.selector.matchLabels", dict), ("spec.template.metadata.labels", dict),
             ("spec.template.spec", dict), ("spec.template.spec.containers", list),
             ("spec.template.spec.containers[].name", str),
             ("spec.template.spec.containers[].image", str)]
_RULES = [("rules", list), ("rules[].apiGroups", list), ("rules[].resources", list),
          ("rules[].verbs", list)]
_BINDING = [("roleRef.apiGroup", str), ("roleRef.kind", str), ("roleRef.name", str),
            ("subjects", list), ("subjects[].kind", str), ("subjects[].name", str)]
REQUIRED = {
    "ServiceAccount": [],
    "ConfigMap": [("data", dict)],
    "Secret": [("type", str)],
    "Service": [("spec.selector", dict), ("spec.ports", list), ("spec.ports[].name", str),
                ("spec.ports[].port", int)],
    "Deployment": _WORKLOAD + [("spec.replicas", int)],
    "DaemonSet": _WORKLOAD,
    "ClusterRole": _RULES, "Role": _RULES,
    "ClusterRoleBinding": _BINDING, "RoleBinding": _BINDING,
}

# Keys the API server knows (core/v1 as of 1.32) where an unknown one would be
# dropped with at most a warning.
POD_SPEC_KEYS = {
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers",
    "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers", "hostAliases",
    "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets",
    "initContainers", "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy",
    "priority", "priorityClassName", "readinessGates", "resourceClaims", "restartPolicy",
    "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
    "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
    "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints", "volumes"}
CONTAINER_KEYS = {
    "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle",
    "livenessProbe", "name", "ports", "readinessProbe", "resizePolicy", "resources",
    "restartPolicy", "securityContext", "startupProbe", "stdin", "stdinOnce",
    "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices",
    "volumeMounts", "workingDir"}
CONTAINER_SECURITY_KEYS = {
    "allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
    "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions",
    "seccompProfile", "windowsOptions"}
POD_SECURITY_KEYS = {
    "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot",
    "runAsUser", "seLinuxChangePolicy", "seLinuxOptions", "seccompProfile",
    "supplementalGroups", "supplementalGroupsPolicy", "sysctls", "windowsOptions"}
PROBE_KEYS = {"exec", "failureThreshold", "grpc", "httpGet", "initialDelaySeconds",
              "periodSeconds", "successThreshold", "tcpSocket",
              "terminationGracePeriodSeconds", "timeoutSeconds"}
VOLUME_MOUNT_KEYS = {"mountPath", "mountPropagation", "name", "readOnly", "recursiveReadOnly",
                     "subPath", "subPathExpr"}
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator",
                      "images"}
GENERATOR_KEYS = {"name", "files", "options"}


def project_version():
    """x.y.z of `project(... VERSION x.y.z ...)` in CMakeLists.txt."""
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"^\s*project\s*\([^)]*?\bVERSION\s+([0-9][0-9.]*)", text, re.M | re.I)
    if not m:
        sys.exit("CMakeLists.txt: no project(... VERSION x.y.z) found")
    return m.group(1)


class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's parser where PyYAML has it) that rejects a key
    repeated in one mapping (PyYAML keeps the last one silently; the API
    server and kustomize would disagree)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is repeated (first on line {seen[key] + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def load_all(text):
    """Every document of a YAML stream, strictly; empty documents dropped."""
    return [d for d in yaml.load_all(text, Loader=StrictLoader) if d is not None]


def split_image(ref):
    """(name, tag) of an image reference; a registry port is not a tag."""
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, ""
    return name, tag


class Obj:
    """One manifest object and where it came from."""

    def __init__(self, doc, source, generated_from=None):
        self.doc = doc
        self.source = source                  # path relative to the repo
        self.generated_from = generated_from  # configMapGenerator: {key: file path}

    @property
    def kind(self):
        return self.doc.get("kind") if isinstance(self.doc, dict) else None

    @property
    def name(self):
        meta = self.doc.get("metadata") if isinstance(self.doc, dict) else None
        return meta.get("name") if isinstance(meta, dict) else None

    def where(self):
        return f"{self.source}: {self.kind}/{self.name}"


def rel(path):
    return pathlib.Path(path).resolve().relative_to(ROOT).as_posix()


def get(doc, path, default=None):
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return default
        doc = doc[part]
    return doc


def walk(doc, path):
    """(concrete path, value) for a path that may contain `x[]` steps; a
    missing step yields (path, None)."""
    results = [("", doc)]
    for part in path.split("."):
        each = part.endswith("[]")
        key = part[:-2] if each else part
        nxt = []
        for prefix, value in results:
            here = f"{prefix}.{key}" if prefix else key
            if not isinstance(value, dict) or key not in value:
                nxt.append((here, None))
                continue
            value = value[key]
            if each:
                if isinstance(value, list):
                    nxt += [(f"{here}[{i}]", v) for i, v in enumerate(value)]
                else:
                    nxt.append((here, None))
            else:
                nxt.append((here, value))
        results = nxt
    return results


def quantity(text):
    """A CPU or memory quantity as a float in base units, or None."""
    m = QUANTITY_RE.match(str(text))
    if not m:
        return None
    scale = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024, "Mi": 1024 ** 2,
             "Gi": 1024 ** 3}[m.group(3)]
    return float(m.group(1)) * scale


class Checker:
    def __init__(self, version=None):
        self.problems = []
        self.version = version or project_version()  # the image tag every workload must have

    def fail(self, where, message):
        self.problems.append(f"{where}: {message}")

    # -- loading -------------------------------------------------------------

    def load_file(self, path, cache):
        key = rel(path)
        if key not in cache:
            try:
                cache[key] = load_all(pathlib.Path(path).read_text())
            except (OSError, yaml.YAMLError) as e:
                self.fail(key, f"invalid YAML: {e}".replace("\n", " "))
                cache[key] = []
        return cache[key]

    def resolve(self, folder, cache, used, stack=()):
        """The objects a kustomization folder builds, kustomize-style."""
        kfile = folder / "kustomization.yaml"
        where = rel(kfile) if kfile.exists() else rel(folder)
        if not kfile.exists():
            self.fail(where, "no kustomization.yaml in this folder")
            return []
        if folder.resolve() in stack:
            self.fail(where, "kustomization includes itself")
            return []
        used.add(rel(kfile))
        docs = self.load_file(kfile, cache)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            self.fail(where, "expected one mapping")
            return []
        k = docs[0]
        if (k.get("apiVersion"), k.get("kind")) != ("kustomize.config.k8s.io/v1beta1",
                                                   "Kustomization"):
            self.fail(where, "apiVersion/kind must be "
                             "kustomize.config.k8s.io/v1beta1 Kustomization")
        for key in k:
            if key not in KUSTOMIZATION_KEYS:
                self.fail(where, f"key '{key}' is not one check-k8s.py understands "
                                 f"({', '.join(sorted(KUSTOMIZATION_KEYS))}); extend the checker")
        objs = []
        for entry in k.get("resources") or []:
            path = folder / str(entry)
            if path.is_dir():
                objs += self.resolve(path, cache, used, stack + (folder.resolve(),))
            elif path.is_file():
                used.add(rel(path))
                objs += [Obj(copy.deepcopy(d), rel(path)) for d in self.load_file(path, cache)]
            else:
                self.fail(where, f"resource '{entry}' does not exist")
        for g in k.get("configMapGenerator") or []:
            if not isinstance(g, dict) or not isinstance(g.get("name"), str):
                self.fail(where, "configMapGenerator item without a name")
                continue
            for key in g:
                if key not in GENERATOR_KEYS:
                    self.fail(where, f"configMapGenerator '{g['name']}': key '{key}' is not "
                                     "one check-k8s.py understands")
            data, files = {}, {}
            for entry in g.get("files") or []:
                key, _, file = str(entry).rpartition("=")
                path = folder / file
                key = key or path.name
                if not path.is_file():
                    self.fail(where, f"configMapGenerator '{g['name']}': file '{file}' "
                                     "does not exist")
                    continue
                used.add(rel(path))
                data[key] = path.read_text()
                files[key] = path
            if not data:
                self.fail(where, f"configMapGenerator '{g['name']}' generates no data")
            meta = {"name": g["name"], "labels": get(g, "options.labels", {})}
            objs.append(Obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                             "data": data}, where, generated_from=files))
        for image in k.get("images") or []:
            # The tag (and, in an overlay of the user's, the registry) of the
            # exporter image; kustomize applies it to every object built so far.
            if not isinstance(image, dict) or set(image) - {"name", "newName", "newTag"}:
                self.fail(where, "images: items take name, newName and newTag only")
                continue
            for o in objs:
                for c in get(o.doc, "spec.template.spec.containers", []) or []:
                    if not isinstance(c, dict):
                        continue
                    name, tag = split_image(str(c.get("image", "")))
                    if name == image.get("name"):
                        tag = str(image.get("newTag", tag))
                        name = image.get("newName", name)
                        c["image"] = f"{name}:{tag}" if tag else name
        ns = k.get("namespace")
        if ns is not None:
            if ns != NAMESPACE:
                self.fail(where, f"namespace must be {NAMESPACE}, not {ns}")
            for o in objs:
                if o.kind not in CLUSTER_SCOPED and isinstance(o.doc.get("metadata"), dict):
                    o.doc["metadata"].setdefault("namespace", ns)
        return objs

    # -- per object ----------------------------------------------------------

    def check_object(self, o):
        if not isinstance(o.doc, dict):
            self.fail(o.source, "a document that is not a mapping")
            return False
        where = o.where()
        if o.kind not in API_VERSION:
            self.fail(where, f"kind {o.kind!r} is not one this project uses "
                             f"({', '.join(sorted(API_VERSION))}); extend the checker")
            return False
        if o.doc.get("apiVersion") != API_VERSION[o.kind]:
            self.fail(where, f"apiVersion must be {API_VERSION[o.kind]}")
        meta = o.doc.get("metadata")
        if not isinstance(meta, dict) or not isinstance(o.name, str) or not NAME_RE.match(o.name) \
                or len(o.name) > 253:
            self.fail(where, "metadata.name must be a DNS-1123 subdomain")
            return False
        if o.kind in CLUSTER_SCOPED:
            if "namespace" in meta:
                self.fail(where, f"{o.kind} is cluster-scoped: no metadata.namespace")
        elif meta.get("namespace") != NAMESPACE:
            self.fail(where, f"metadata.namespace must be {NAMESPACE}")
        for field in ("labels", "annotations"):
            values = meta.get(field, {})
            if not isinstance(values, dict):
                self.fail(where, f"metadata.{field} must be a mapping")
                continue
            for key, value in values.items():
                if not isinstance(value, str):
                    self.fail(where, f"metadata.{field}.{key} must be a string (quote it)")
                elif field == "labels" and (len(value) > 63 or not LABEL_VALUE_RE.match(value)):
                    self.fail(where, f"label {key}={value!r} is not a valid label value")
        if (meta.get("labels") or {}).get("app.kubernetes.io/name") != JOB:
            self.fail(where, f"label app.kubernetes.io/name must be {JOB}")
        ok = True
        for path, typ in REQUIRED[o.kind]:
            for concrete, value in walk(o.doc, path):
                if not isinstance(value, typ) or isinstance(value, bool) != (typ is bool):
                    self.fail(where, f"{concrete} must be a {typ.__name__}")
                    ok = False
        size = len(json.dumps(o.doc))
        if size > MAX_OBJECT_BYTES:
            self.fail(where, f"{size} bytes: too large for kubectl apply's annotation")
        return ok

    def unknown_keys(self, where, mapping, known, what):
        if isinstance(mapping, dict):
            for key in mapping:
                if key not in known:
                    self.fail(where, f"unknown key '{key}' in {what}")

    # -- workloads -----------------------------------------------------------

    def check_workload(self, o, objs):
        where, pod = o.where(), get(o.doc, "spec.template.spec")
        labels = get(o.doc, "spec.template.metadata.labels")
        selector = get(o.doc, "spec.selector.matchLabels")
        if any(labels.get(k) != v for k, v in selector.items()):
            self.fail(where, "spec.selector.matchLabels does not match the pod template labels")
        self.unknown_keys(where, pod, POD_SPEC_KEYS, "the pod spec")
        self.unknown_keys(where, pod.get("securityContext"), POD_SECURITY_KEYS,
                          "the pod securityContext")
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(host):
                self.fail(where, f"{host} must not be set")
        if pod.get("initContainers"):
            self.fail(where, "initContainers are not expected (check them here first)")
        sa = pod.get("serviceAccountName")
        if not self.find(objs, "ServiceAccount", sa):
            self.fail(where, f"serviceAccountName {sa!r} is not a ServiceAccount of this build")
        volumes = {v.get("name"): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
        for name, v in volumes.items():
            if "hostPath" in v:
                self.fail(where, f"volume {name}: hostPath is not allowed")
            cm = get(v, "configMap.name")
            if cm is not None and not self.find(objs, "ConfigMap", cm):
                self.fail(where, f"volume {name}: ConfigMap {cm!r} is not part of this build")
        mounted = set()
        for c in pod["containers"]:
            self.check_container(where, c, volumes, objs)
            mounted |= {m.get("name") for m in c.get("volumeMounts") or [] if isinstance(m, dict)}
        for name in volumes:
            if name not in mounted:
                self.fail(where, f"volume {name} is mounted by no container")
        if o.kind == "DaemonSet":
            self.check_gpu_pod(where, pod)

    def check_gpu_pod(self, where, pod):
        selected = get(pod, "nodeSelector", {}).get("nvidia.com/gpu.present") == "true"
        required = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        for term in get(pod, f"{required}.nodeSelectorTerms", []) or []:
            for e in term.get("matchExpressions") or []:
                if e.get("key") == "nvidia.com/gpu.present" and e.get("operator") == "In" and \
                        e.get("values") == ["true"]:
                    selected = True
        if not selected:
            self.fail(where, 'must select nodes with nvidia.com/gpu.present: "true"')
        if not any(t.get("key") == "nvidia.com/gpu" and t.get("operator") in ("Exists", "Equal")
                   for t in pod.get("tolerations") or [] if isinstance(t, dict)):
            self.fail(where, "must tolerate the nvidia.com/gpu taint")
        if pod.get("runtimeClassName") != "nvidia":
            self.fail(where, "runtimeClassName must be nvidia (NVML comes from the NVIDIA runtime)")
        for c in pod["containers"]:
            # The exporter's own host name, and so the host label of the GPU
            # series: the node, not the pod.
            host = [e for e in c.get("env") or [] if isinstance(e, dict) and
                    e.get("name") == "JOELCLAW_HOST"]
            if len(host) != 1 or get(host[0], "valueFrom.fieldRef.fieldPath") != "spec.nodeName":
                self.fail(where, "must set env JOELCLAW_HOST from fieldRef spec.nodeName (the "
                                 "node's name as the host label of the GPU series)")
            for part in ("requests", "limits"):
                if "nvidia.com/gpu" in (get(c, f"resources.{part}") or {}):
                    self.fail(where, "must not request nvidia.com/gpu: that takes a GPU away "
                                     "from the workloads")

    def check_container(self, where, c, volumes, objs):
        where = f"{where}: container {c.get('name')}"
        self.unknown_keys(where, c, CONTAINER_KEYS, "the container")
        if c.get("image") != f"{IMAGE}:{self.version}":
            self.fail(where, f"image must be {IMAGE}:{self.version} (the manifest names {IMAGE}, "
                             "the kustomization's images: adds newTag, the project VERSION of "
                             f"CMakeLists.txt), not {c.get('image')!r}")
        args = c.get("args") or []
        if CONFIG_ARG not in args:
            self.fail(where, f"args must contain {CONFIG_ARG}")
        for a in args:
            if str(a).startswith("--web.listen-address=") and not str(a).endswith(f":{PORT}"):
                self.fail(where, f"{a}: the exporter must listen on port {PORT}")
        if "command" in c:
            self.fail(where, "command overrides the image's entrypoint; use args")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []
                 if isinstance(p, dict)}
        if PORT not in ports.values():
            self.fail(where, f"must declare containerPort {PORT}")
        for probe, path in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
            p = c.get(probe)
            self.unknown_keys(where, p, PROBE_KEYS, probe)
            port = get(p, "httpGet.port")
            if get(p, "httpGet.path") != path or ports.get(port, port) != PORT:
                self.fail(where, f"{probe} must be httpGet {path} on port {PORT}")
        for part in ("requests", "limits"):
            for res in ("cpu", "memory"):
                if quantity(get(c, f"resources.{part}.{res}")) is None:
                    self.fail(where, f"resources.{part}.{res} must be set to a quantity")
        for res in ("cpu", "memory"):
            req, lim = (quantity(get(c, f"resources.{p}.{res}")) for p in ("requests", "limits"))
            if req is not None and lim is not None and req > lim:
                self.fail(where, f"resources: {res} request is above its limit")
        sc = c.get("securityContext")
        self.unknown_keys(where, sc, CONTAINER_SECURITY_KEYS, "the container securityContext")
        sc = sc if isinstance(sc, dict) else {}
        expect = {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                  "allowPrivilegeEscalation": False}
        for key, value in expect.items():
            if sc.get(key) is not value:
                self.fail(where, f"securityContext.{key} must be {str(value).lower()}")
        if not isinstance(sc.get("runAsUser"), int) or isinstance(sc.get("runAsUser"), bool) \
                or sc["runAsUser"] <= 0:
            self.fail(where, "securityContext.runAsUser must be a non-zero user id")
        if sc.get("privileged"):
            self.fail(where, "securityContext.privileged must not be true")
        if get(sc, "capabilities.drop") != ["ALL"] or get(sc, "capabilities.add"):
            self.fail(where, "securityContext.capabilities must drop [ALL] and add nothing")
        if get(sc, "seccompProfile.type") != "RuntimeDefault":
            self.fail(where, "securityContext.seccompProfile.type must be RuntimeDefault")
        mounts = [m for m in c.get("volumeMounts") or [] if isinstance(m, dict)]
        for m in mounts:
            self.unknown_keys(where, m, VOLUME_MOUNT_KEYS, "a volumeMount")
            if m.get("name") not in volumes:
                self.fail(where, f"volumeMount {m.get('name')!r} names no volume")
        config = self.config_for(c, volumes, objs)
        if config is None:
            self.fail(where, f"{CONFIG_PATH} must be mounted from a ConfigMap of this build")
        else:
            self.check_config(where, config)

    def config_for(self, c, volumes, objs):
        """(path of the config source, its text) mounted at CONFIG_PATH."""
        for m in c.get("volumeMounts") or []:
            if not isinstance(m, dict):
                continue
            path, sub = m.get("mountPath"), m.get("subPath")
            key = sub if path == CONFIG_PATH else (
                "exporter.yaml" if path == CONFIG_PATH.rsplit("/", 1)[0] else None)
            cm = self.find(objs, "ConfigMap", get(volumes.get(m.get("name"), {}), "configMap.name"))
            if key and cm and key in (cm.doc.get("data") or {}):
                source = (cm.generated_from or {}).get(key)
                return (rel(source) if source else cm.source, cm.doc["data"][key])
        return None

    def check_config(self, where, config):
        source, text = config
        try:
            docs = load_all(text)
        except yaml.YAMLError as e:
            self.fail(source, f"invalid YAML: {e}".replace("\n", " "))
            return
        cfg = docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else {}
        self.configs.append(source)
        if "bridge" in cfg:
            self.fail(where, f"{source}: no bridge: in the cluster (the Alertmanager -> Inngest "
                             "bridge runs in panda's exporter, docs/kubernetes.md)")

    # -- references ----------------------------------------------------------

    @staticmethod
    def find(objs, kind, name):
        for o in objs:
            if o.kind == kind and o.name == name:
                return o
        return None

    def check_rbac(self, objs):
        grants = {}  # service account -> set of (scope, group, resource, verb)
        for o in objs:
            if o.kind in ("Role", "ClusterRole"):
                for r in o.doc["rules"]:
                    for field in ("apiGroups", "resources", "verbs"):
                        if "*" in r.get(field, []):
                            self.fail(o.where(), f"rules: no wildcard in {field}")
                    extra = set(r["verbs"]) - {"get", "list", "watch"}
                    if extra:
                        self.fail(o.where(), f"rules: read-only verbs only, not {sorted(extra)}")
                    if "secrets" in r["resources"]:
                        self.fail(o.where(), "rules: the exporter must not read Secrets")
            if o.kind not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            ref = o.doc["roleRef"]
            role = self.find(objs, ref.get("kind"), ref.get("name"))
            if ref.get("apiGroup") != "rbac.authorization.k8s.io" or role is None or \
                    (o.kind == "ClusterRoleBinding" and ref.get("kind") != "ClusterRole"):
                self.fail(o.where(), f"roleRef {ref.get('kind')}/{ref.get('name')} is not a role "
                                     "of this build")
                continue
            scope = get(o.doc, "metadata.namespace", "*")
            for s in o.doc["subjects"]:
                if s.get("kind") != "ServiceAccount" or s.get("namespace") != NAMESPACE or \
                        not self.find(objs, "ServiceAccount", s.get("name")):
                    self.fail(o.where(), f"subject {s.get('name')!r} is not a ServiceAccount "
                                         f"of this build in {NAMESPACE}")
                    continue
                for r in role.doc["rules"]:
                    for g in r["apiGroups"]:
                        for res in r["resources"]:
                            for v in r["verbs"]:
                                grants.setdefault(s["name"], set()).add((scope, g, res, v))
        need = [("*", "", "nodes"), (NAMESPACE, "", "pods"), (NAMESPACE, "apps", "deployments"),
                (NAMESPACE, "apps", "statefulsets")]
        for o in objs:
            if o.kind != "Deployment":
                continue
            sa = get(o.doc, "spec.template.spec.serviceAccountName")
            have = grants.get(sa, set())
            for scope, group, res in need:
                for verb in ("get", "list"):
                    if not {(scope, group, res, verb), ("*", group, res, verb)} & have:
                        self.fail(o.where(), f"ServiceAccount {sa} may not {verb} {res} "
                                             f"({'cluster' if scope == '*' else scope}); the "
                                             "kubernetes collector reads them")
            if get(o.doc, "spec.template.spec.automountServiceAccountToken") is False:
                self.fail(o.where(), "the kubernetes collector needs the ServiceAccount token")

    def check_services(self, objs):
        pods = [get(o.doc, "spec.template.metadata.labels") for o in objs
                if o.kind in ("Deployment", "DaemonSet")]
        services = [o for o in objs if o.kind == "Service"]
        for s in services:
            sel = s.doc["spec"]["selector"]
            if not any(all(p.get(k) == v for k, v in sel.items()) for p in pods if p):
                self.fail(s.where(), "spec.selector matches no workload of this build")
            for p in s.doc["spec"]["ports"]:
                if p.get("port") != PORT or p.get("targetPort") not in (PORT, "http-metrics"):
                    self.fail(s.where(), f"port {p.get('name')} must be {PORT} -> http-metrics")
            if get(s.doc, "metadata.labels", {}).get("app.kubernetes.io/name") != JOB:
                self.fail(s.where(), f"label app.kubernetes.io/name must be {JOB} (the job name)")
            # Reaching the exporter from outside the cluster is a choice made
            # per network (docs/kubernetes.md), not a default of the base.
            if get(s.doc, "spec.type", "ClusterIP") != "ClusterIP":
                self.fail(s.where(), "spec.type must be ClusterIP (docs/kubernetes.md says how "
                                     "to reach it from outside)")

    # -- the whole tree ------------------------------------------------------

    def run(self, mutate=None):
        cache, used = {}, set()
        for path in sorted(K8S.rglob("*")):
            if path.suffix in (".yaml", ".yml"):
                self.load_file(path, cache)
        self.configs = []
        roots = [K8S / "base"] + sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())
        for root in roots:
            objs = self.resolve(root, cache, used)
            if mutate:
                objs = mutate(rel(root), objs)
            seen = set()
            valid = []
            for o in objs:
                if self.check_object(o):
                    ident = (o.kind, get(o.doc, "metadata.namespace"), o.name)
                    if ident in seen:
                        self.fail(o.where(), f"defined twice in {rel(root)}")
                    seen.add(ident)
                    valid.append(o)
                if o.kind == "Secret":
                    self.fail(o.where(), "Secrets are created with kubectl, never committed")
            for o in valid:
                if o.kind in ("Deployment", "DaemonSet"):
                    self.check_workload(o, valid)
            self.check_rbac(valid)
            self.check_services(valid)
            if not any(o.kind == "Deployment" for o in valid):
                self.fail(rel(root), "builds no Deployment (the prober)")
            if root.name == "gpu" and not any(o.kind == "DaemonSet" for o in valid):
                self.fail(rel(root), "builds no DaemonSet")
        for path in sorted(K8S.rglob("*")):
            if path.suffix in (".yaml", ".yml") and rel(path) not in used:
                self.fail(rel(path), "used by no kustomization")
        return self.problems

    def check_exporter_configs(self, exporter):
        for source in sorted(set(self.configs)):
            proc = subprocess.run([exporter, "--config.check", f"--config.file={ROOT / source}"],
                                  capture_output=True, text=True, timeout=60)
            if proc.returncode != 0:
                self.fail(source, "joelclaw_exporter --config.check: " +
                          (proc.stderr or proc.stdout).strip().replace("\n", " / "))


def _self_test():
    """Each break must be reported with its message; the committed tree must
    report nothing."""

    def container(doc):
        return doc["spec"]["template"]["spec"]["containers"][0]

    def pod(doc):
        return doc["spec"]["template"]["spec"]

    def sc(doc):
        return container(doc)["securityContext"]

    # (kind, name or None for every object of the kind, change, expected message)
    cases = [
        ("Deployment", None, lambda d: sc(d).pop("readOnlyRootFilesystem"),
         "readOnlyRootFilesystem must be true"),
        ("DaemonSet", None, lambda d: sc(d).update(allowPrivilegeEscalation=True),
         "allowPrivilegeEscalation must be false"),
        ("Deployment", None, lambda d: sc(d)["capabilities"].update(add=["NET_RAW"]),
         "capabilities must drop [ALL]"),
        ("Deployment", None, lambda d: sc(d).update(runAsUser=0), "runAsUser must be a non-zero"),
        ("Deployment", None, lambda d: sc(d).pop("runAsNonRoot"), "runAsNonRoot must be true"),
        ("Deployment", None, lambda d: sc(d).pop("seccompProfile"),
         "seccompProfile.type must be RuntimeDefault"),
        ("Deployment", None, lambda d: container(d).update(image="nginx:latest"),
         "image must be joelclaw-exporter:"),
        ("Deployment", None, lambda d: container(d).update(args=["--log.level=info"]),
         "args must contain --config.file"),
        ("Deployment", None, lambda d: container(d)["readinessProbe"]["httpGet"].update(path="/"),
         "readinessProbe must be httpGet /-/ready"),
        ("DaemonSet", None, lambda d: container(d).pop("livenessProbe"),
         "livenessProbe must be httpGet /-/healthy"),
        ("Deployment", None, lambda d: container(d)["resources"].pop("limits"),
         "resources.limits.cpu must be set"),
        ("Deployment", None, lambda d: container(d).update(readinessprobe={}),
         "unknown key 'readinessprobe'"),
        ("DaemonSet", None, lambda d: pod(d).update(hostNetwork=True),
         "hostNetwork must not be set"),
        ("DaemonSet", None,
         lambda d: pod(d)["volumes"].append({"name": "dev", "hostPath": {"path": "/dev"}}),
         "hostPath is not allowed"),
        ("DaemonSet", None, lambda d: pod(d).pop("nodeSelector"), "nvidia.com/gpu.present"),
        ("DaemonSet", None, lambda d: pod(d).pop("tolerations"),
         "tolerate the nvidia.com/gpu taint"),
        ("DaemonSet", None, lambda d: pod(d).pop("runtimeClassName"),
         "runtimeClassName must be nvidia"),
        ("Role", None, lambda d: d["rules"][1].update(resources=["deployments"]),
         "may not get statefulsets"),
        ("ClusterRole", None, lambda d: d["rules"][0]["verbs"].append("delete"),
         "read-only verbs only, not ['delete']"),
        ("Service", "joelclaw-exporter", lambda d: d["spec"]["selector"].update(app="other"),
         "spec.selector matches no workload"),
        ("Service", "joelclaw-exporter", lambda d: d["spec"].update(type="NodePort"),
         "spec.type must be ClusterIP"),
        ("DaemonSet", None, lambda d: container(d)["env"].pop(0),
         "must set env JOELCLAW_HOST from fieldRef spec.nodeName"),
        ("DaemonSet", None,
         lambda d: container(d)["env"][0]["valueFrom"]["fieldRef"].update(fieldPath="metadata.name"),
         "must set env JOELCLAW_HOST from fieldRef spec.nodeName"),
        ("ConfigMap", "joelclaw-exporter-config",
         lambda d: d["data"].update({"exporter.yaml": d["data"]["exporter.yaml"] + "bridge: {}\n"}),
         "no bridge: in the cluster"),
        ("Service", None, lambda d: d["spec"]["ports"][0].update(port="10042"),
         "spec.ports[0].port must be a int"),
        ("ServiceAccount", None, lambda d: d["metadata"].update(namespace="default"),
         "metadata.namespace must be joelclaw"),
        ("Secret", None, None, "Secrets are created with kubectl, never committed"),
    ]

    def mutation(kind, name, change):
        def mutate(root, objs):
            objs = [Obj(copy.deepcopy(o.doc), o.source, o.generated_from) for o in objs]
            if change is None:  # add one of the kind
                objs.append(Obj({"apiVersion": API_VERSION[kind], "kind": kind,
                                 "metadata": {"name": "joelclaw-exporter-extra",
                                              "namespace": NAMESPACE,
                                              "labels": {"app.kubernetes.io/name": JOB}},
                                 "type": "Opaque", "stringData": {"key": "value"}}, root))
            for o in objs:
                if change is not None and o.kind == kind and name in (None, o.name):
                    change(o.doc)
            return objs
        return mutate

    failures = [f"the committed tree: {p}" for p in Checker().run()]
    try:
        load_all("a: 1\nb: 2\na: 3\n")
        failures.append("a repeated key was not reported")
    except yaml.YAMLError:
        pass
    for kind, name, change, needle in cases:
        if not any(needle in p for p in Checker().run(mutation(kind, name, change))):
            failures.append(f"a broken {kind} was not reported as '{needle}'")
    # A project VERSION that the kustomizations' newTag does not follow: every
    # workload of every root (the base's Deployment, the overlay's DaemonSet).
    stale = [p for p in Checker(version="99.0.0").run() if "image must be joelclaw-exporter:99.0.0" in p]
    if not any("Deployment" in p for p in stale) or not any("DaemonSet" in p for p in stale):
        failures.append("a newTag other than the project VERSION was not reported for every "
                        "workload")
    for f in failures:
        print(f"self-test: {f}", file=sys.stderr)
    total = len(cases) + 2
    print(f"self-test: {total - len(failures)} of {total} breaks reported")
    return 1 if failures else 0


def main(argv):
    if "--self-test" in argv:
        return _self_test()
    exporter = None
    for arg in argv:
        if arg.startswith("--exporter="):
            exporter = arg.split("=", 1)[1]
        else:
            print(f"usage: {sys.argv[0]} [--exporter=BINARY] | --self-test", file=sys.stderr)
            return 2
    checker = Checker()
    checker.run()
    if exporter:
        checker.check_exporter_configs(exporter)
    for p in checker.problems:
        print(p, file=sys.stderr)
    if checker.problems:
        print(f"check-k8s: {len(checker.problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-k8s: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
