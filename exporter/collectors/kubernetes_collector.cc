#include "exporter/collectors/kubernetes_collector.h"

#include <cstdlib>
#include <set>

#include "exporter/json_fields.h"
#include "exporter/probes/net.h"
#include "nlohmann/json.hpp"

namespace joelclaw {
namespace {

using Json = nlohmann::json;

// The condition statuses of the Kubernetes API, exported as label values.
constexpr std::pair<std::string_view, std::string_view> kConditionStatuses[] = {
    {"True", "true"}, {"False", "false"}, {"Unknown", "unknown"}};

// obj[key] as an object; absent or null gives an empty one.
Result<Json> GetObject(const Json& obj, const char* key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Json::object();
  if (!it->is_object()) return Status::Error(what + ": " + key + " is not an object");
  return *it;
}

Result<Json> GetArray(const Json& obj, const char* key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Json::array();
  if (!it->is_array()) return Status::Error(what + ": " + key + " is not a list");
  return *it;
}

// The items of a `kind` list answer.
Result<Json> ListItems(std::string_view json, std::string_view kind) {
  const Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return Status::Error("the answer is not valid JSON: \"" + PeerText(json, 60) + "\"");
  }
  if (!root.is_object()) return Status::Error("the answer is not a JSON object");
  std::string got;
  Status s = JsonString(root, "kind", "the answer: ", &got);
  if (!s.ok()) return s;
  if (!got.empty() && got != kind) {
    return Status::Error("expected a " + std::string(kind) + ", got a " + got);
  }
  auto items = root.find("items");
  if (items == root.end()) {
    return Status::Error("the answer has no items; not a Kubernetes " + std::string(kind));
  }
  if (items->is_null()) return Json::array();
  if (!items->is_array()) return Status::Error("items is not a list");
  return *items;
}

// metadata.name (required) and metadata.namespace of a list item.
Status ItemMeta(const Json& item, size_t index, std::string_view kind, std::string* ns,
                std::string* name) {
  const std::string what = std::string(kind) + " " + std::to_string(index);
  if (!item.is_object()) return Status::Error(what + " is not an object");
  Result<Json> meta = GetObject(item, "metadata", what);
  if (!meta.ok()) return meta.status();
  Status s = JsonString(*meta, "name", what + ": ", name);
  if (!s.ok()) return s;
  if (name->empty()) return Status::Error(what + " has no metadata.name");
  if (ns != nullptr && !(s = JsonString(*meta, "namespace", what + ": ", ns)).ok()) return s;
  return Status::Ok();
}

// (type, status) of each entry of status.conditions.
Status Conditions(const Json& status, const std::string& what,
                  std::vector<std::pair<std::string, std::string>>* out) {
  Result<Json> list = GetArray(status, "conditions", what);
  if (!list.ok()) return list.status();
  for (const Json& c : *list) {
    if (!c.is_object()) return Status::Error(what + ": a condition is not an object");
    std::string type, value;
    Status s = JsonString(c, "type", what + ": condition: ", &type);
    if (!s.ok() || !(s = JsonString(c, "status", what + ": condition " + type + ": ", &value)).ok()) {
      return s;
    }
    if (!type.empty()) out->emplace_back(type, value);
  }
  return Status::Ok();
}

bool ConditionTrue(const std::vector<std::pair<std::string, std::string>>& conditions,
                   std::string_view type) {
  for (const auto& [t, v] : conditions) {
    if (t == type) return v == "True";
  }
  return false;
}

Status ParseContainers(const Json& status, const char* key, bool init, const std::string& what,
                       std::vector<KubeContainer>* out) {
  Result<Json> list = GetArray(status, key, what);
  if (!list.ok()) return list.status();
  for (const Json& c : *list) {
    if (!c.is_object()) return Status::Error(what + ": an entry of " + key + " is not an object");
    KubeContainer k;
    k.init = init;
    Status s = JsonString(c, "name", what + ": " + key + ": ", &k.name);
    if (!s.ok()) return s;
    const std::string cw = what + ": container " + k.name;
    if (!(s = JsonBool(c, "ready", cw + ": ", &k.ready)).ok()) return s;
    if (!(s = JsonInt(c, "restartCount", cw + ": ", &k.restarts)).ok()) return s;
    Result<Json> state = GetObject(c, "state", cw);
    if (!state.ok()) return state.status();
    for (const char* st : {"running", "waiting", "terminated"}) {
      if (state->contains(st)) {
        k.state = st;
        break;
      }
    }
    if (k.state == "waiting") {
      Result<Json> waiting = GetObject(*state, "waiting", cw);
      if (!waiting.ok()) return waiting.status();
      if (!(s = JsonString(*waiting, "reason", cw + ": state.waiting: ", &k.waiting_reason)).ok()) {
        return s;
      }
    }
    out->push_back(std::move(k));
  }
  return Status::Ok();
}

}  // namespace

std::string TalosVersion(std::string_view os_image) {
  constexpr std::string_view kPrefix = "Talos (";
  if (os_image.rfind(kPrefix, 0) != 0 || os_image.back() != ')') return "";
  return std::string(os_image.substr(kPrefix.size(), os_image.size() - kPrefix.size() - 1));
}

Result<std::vector<KubeNode>> ParseKubeNodeList(std::string_view json) {
  Result<Json> items = ListItems(json, "NodeList");
  if (!items.ok()) return items.status();
  std::vector<KubeNode> nodes;
  for (size_t i = 0; i < items->size(); ++i) {
    const Json& item = (*items)[i];
    KubeNode n;
    Status s = ItemMeta(item, i, "node", nullptr, &n.name);
    if (!s.ok()) return s;
    const std::string what = "node " + n.name;
    Result<Json> spec = GetObject(item, "spec", what);
    Result<Json> status = GetObject(item, "status", what);
    if (!spec.ok()) return spec.status();
    if (!status.ok()) return status.status();
    if (!(s = JsonBool(*spec, "unschedulable", what + ": ", &n.unschedulable)).ok()) return s;
    if (!(s = Conditions(*status, what, &n.conditions)).ok()) return s;
    n.ready = ConditionTrue(n.conditions, "Ready");
    Result<Json> info = GetObject(*status, "nodeInfo", what);
    if (!info.ok()) return info.status();
    if (!(s = JsonString(*info, "osImage", what + ": ", &n.os_image)).ok()) return s;
    if (!(s = JsonString(*info, "kubeletVersion", what + ": ", &n.kubelet_version)).ok()) return s;
    n.talos_version = TalosVersion(n.os_image);
    nodes.push_back(std::move(n));
  }
  return nodes;
}

Result<std::vector<KubePod>> ParseKubePodList(std::string_view json) {
  Result<Json> items = ListItems(json, "PodList");
  if (!items.ok()) return items.status();
  std::vector<KubePod> pods;
  for (size_t i = 0; i < items->size(); ++i) {
    const Json& item = (*items)[i];
    KubePod p;
    Status s = ItemMeta(item, i, "pod", &p.namespace_name, &p.name);
    if (!s.ok()) return s;
    const std::string what = "pod " + p.namespace_name + "/" + p.name;
    Result<Json> spec = GetObject(item, "spec", what);
    if (!spec.ok()) return spec.status();
    if (!(s = JsonString(*spec, "nodeName", what + ": spec: ", &p.node_name)).ok()) return s;
    Result<Json> status = GetObject(item, "status", what);
    if (!status.ok()) return status.status();
    if (!(s = JsonString(*status, "phase", what + ": ", &p.phase)).ok()) return s;
    std::vector<std::pair<std::string, std::string>> conditions;
    if (!(s = Conditions(*status, what, &conditions)).ok()) return s;
    p.ready = ConditionTrue(conditions, "Ready");
    if (!(s = ParseContainers(*status, "initContainerStatuses", true, what, &p.containers)).ok() ||
        !(s = ParseContainers(*status, "containerStatuses", false, what, &p.containers)).ok()) {
      return s;
    }
    pods.push_back(std::move(p));
  }
  return pods;
}

Result<std::vector<KubeWorkload>> ParseKubeWorkloadList(std::string_view json,
                                                        std::string_view kind) {
  Result<Json> items = ListItems(json, std::string(kind) + "List");
  if (!items.ok()) return items.status();
  std::vector<KubeWorkload> out;
  for (size_t i = 0; i < items->size(); ++i) {
    const Json& item = (*items)[i];
    KubeWorkload w;
    w.kind = std::string(kind);
    Status s = ItemMeta(item, i, kind, &w.namespace_name, &w.name);
    if (!s.ok()) return s;
    const std::string what = w.kind + " " + w.namespace_name + "/" + w.name;
    Result<Json> spec = GetObject(item, "spec", what);
    Result<Json> status = GetObject(item, "status", what);
    if (!spec.ok()) return spec.status();
    if (!status.ok()) return status.status();
    w.desired = 1;  // The API's default for spec.replicas.
    if (!(s = JsonInt(*spec, "replicas", what + ": spec: ", &w.desired)).ok()) return s;
    if (!(s = JsonInt(*status, "readyReplicas", what + ": status: ", &w.ready)).ok()) return s;
    out.push_back(std::move(w));
  }
  return out;
}

namespace {

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

class KubernetesCollector : public Collector {
 public:
  explicit KubernetesCollector(KubernetesOptions opts) : opts_(std::move(opts)) {}

  std::string HostLabel() const override { return opts_.cluster; }

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    Result<KubeClientConfig> config = LoadClientConfig(ctx.env);
    if (!config.ok()) return config.status();
    out->details["server"] = config->server;
    out->details["context"] = config->context;
    std::string token = config->token;
    if (token.empty() && !config->token_file.empty()) {
      Result<std::string> t = ReadBearerToken(ctx.env, config->token_file);
      if (!t.ok()) return t.status().WithPrefix("kubernetes token");
      token = *t;
    }
    KubeApiClient api(*config, std::move(token), opts_.max_body_bytes, ctx);

    // Each answer's metrics go out as soon as it is parsed: on a later
    // failure the scheduler still exports them (a partial result).
    Status s = CollectNodes(api, out);
    if (!s.ok()) return s;
    Json pods_not_ready = Json::array();
    Json workloads = Json::array();
    int64_t pods_total = 0;
    for (const std::string& ns : opts_.namespaces) {
      if (!(s = CollectPods(api, ns, out, &pods_total, &pods_not_ready)).ok()) return s;
      for (const char* kind : {"Deployment", "StatefulSet"}) {
        if (!(s = CollectWorkloads(api, ns, kind, out, &workloads)).ok()) return s;
      }
    }
    out->details["pods_total"] = pods_total;
    out->details["pods_not_ready"] = std::move(pods_not_ready);
    out->details["workloads"] = std::move(workloads);
    return Status::Ok();
  }

 private:
  Result<KubeClientConfig> LoadClientConfig(Env* env) const {
    Result<KubeClientConfig> config = Status::Error("");
    if (opts_.in_cluster) {
      const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
      const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
      config = InClusterKubeConfig(host ? host : "", port ? port : "", opts_.service_account_dir);
    } else {
      Result<std::string> text = env->ReadFile(opts_.kubeconfig, 4 << 20);
      if (!text.ok()) return text.status().WithPrefix("kubeconfig");
      config = ParseKubeconfig(*text, opts_.kubeconfig, DirName(opts_.kubeconfig), opts_.context);
    }
    if (!config.ok()) return config.status();
    Status s = ResolveKubeFiles(env, &*config);
    if (!s.ok()) return s;
    return config;
  }

  // GET `path` and parse it with `parse`; errors name the request.
  template <typename T, typename Parse>
  static Result<T> Fetch(KubeApiClient& api, const std::string& path, Parse parse) {
    Result<std::string> body = api.Get(path);
    if (!body.ok()) return body.status();
    Result<T> parsed = parse(*body);
    if (!parsed.ok()) return parsed.status().WithPrefix("GET " + path);
    return parsed;
  }

  Status CollectNodes(KubeApiClient& api, CollectOutput* out) {
    auto nodes = Fetch<std::vector<KubeNode>>(api, "/api/v1/nodes", ParseKubeNodeList);
    if (!nodes.ok()) return nodes.status();
    MetricSet& m = out->metrics;
    Json list = Json::array();
    for (const KubeNode& n : *nodes) {
      // A node is a machine of the network: its series are its own host's.
      m.Gauge("joelclaw_kube_node_ready", "1 if the node's Ready condition is True, else 0.",
              {{"host", n.name}, {"node", n.name}}, n.ready ? 1 : 0);
      m.Gauge("joelclaw_kube_node_info",
              "Always 1; the node's OS image, kubelet version and Talos version (absent when the "
              "node does not run Talos).",
              {{"host", n.name},
               {"node", n.name},
               {"os_image", n.os_image},
               {"kubelet_version", n.kubelet_version},
               {"talos_version", n.talos_version}},
              1);
      m.Gauge("joelclaw_kube_node_unschedulable", "1 if the node is cordoned, else 0.",
              {{"host", n.name}, {"node", n.name}}, n.unschedulable ? 1 : 0);
      Json bad = Json::array();
      for (const auto& [type, value] : n.conditions) {
        for (const auto& [api_status, label] : kConditionStatuses) {
          m.Gauge("joelclaw_kube_node_condition",
                  "1 for the node condition's current status (true, false, unknown), 0 for the "
                  "others.",
                  {{"host", n.name},
                   {"node", n.name},
                   {"condition", type},
                   {"status", std::string(label)}},
                  value == api_status ? 1 : 0);
        }
        // Ready should be True; the pressure conditions (and those of
        // node-problem-detector) should be False.
        const bool healthy = type == "Ready" ? value == "True" : value == "False";
        if (!healthy) bad.push_back(type + "=" + value);
      }
      list.push_back({{"node", n.name},
                      {"name", n.name},
                      {"ready", n.ready},
                      {"unschedulable", n.unschedulable},
                      {"os_image", n.os_image},
                      {"kubelet_version", n.kubelet_version},
                      {"talos_version", n.talos_version},
                      {"problems", std::move(bad)}});
    }
    out->details["nodes"] = std::move(list);
    return Status::Ok();
  }

  Status CollectPods(KubeApiClient& api, const std::string& ns, CollectOutput* out,
                     int64_t* total, Json* not_ready) {
    auto pods = Fetch<std::vector<KubePod>>(api, "/api/v1/namespaces/" + ns + "/pods",
                                            ParseKubePodList);
    if (!pods.ok()) return pods.status();
    MetricSet& m = out->metrics;
    for (const KubePod& p : *pods) {
      ++*total;
      // The machine the pod runs on; the cluster while it has none.
      const std::string host = p.node_name.empty() ? opts_.cluster : p.node_name;
      m.Gauge("joelclaw_kube_pod_ready", "1 if the pod's Ready condition is True, else 0.",
              {{"host", host}, {"namespace", p.namespace_name}, {"pod", p.name}}, p.ready ? 1 : 0);
      Json waiting = Json::array();
      int64_t restarts = 0;
      for (const KubeContainer& c : p.containers) {
        const Labels l = {{"host", host},
                          {"namespace", p.namespace_name},
                          {"pod", p.name},
                          {"container", c.name}};
        m.Counter("joelclaw_kube_container_restarts_total",
                  "Restarts of the container in this pod, as the kubelet counts them "
                  "(restartCount).",
                  l, static_cast<double>(c.restarts));
        restarts += c.restarts;
        std::string_view reason;
        if (c.state == "waiting") {
          reason = "other";
          for (std::string_view known : kKubeWaitingReasons) {
            if (known == c.waiting_reason) reason = known;
          }
          waiting.push_back({{"container", c.name},
                             {"reason", c.waiting_reason.empty() ? "other" : c.waiting_reason}});
        }
        for (std::string_view r : kKubeWaitingReasons) {
          Labels lr = l;
          lr.emplace_back("reason", std::string(r));
          m.Gauge("joelclaw_kube_container_waiting",
                  "1 if the container is waiting for this reason (\"other\": any reason not "
                  "listed), else 0.",
                  lr, r == reason ? 1 : 0);
        }
      }
      // A finished Job pod is not ready by design; it is no problem.
      if (!p.ready && p.phase != "Succeeded") {
        not_ready->push_back({{"namespace", p.namespace_name},
                              {"pod", p.name},
                              {"node", p.node_name},
                              {"phase", p.phase},
                              {"restarts", restarts},
                              {"waiting", std::move(waiting)}});
      }
    }
    return Status::Ok();
  }

  Status CollectWorkloads(KubeApiClient& api, const std::string& ns, const std::string& kind,
                          CollectOutput* out, Json* list) {
    const std::string resource = kind == "Deployment" ? "deployments" : "statefulsets";
    auto workloads = Fetch<std::vector<KubeWorkload>>(
        api, "/apis/apps/v1/namespaces/" + ns + "/" + resource,
        [&kind](std::string_view body) { return ParseKubeWorkloadList(body, kind); });
    if (!workloads.ok()) return workloads.status();
    for (const KubeWorkload& w : *workloads) {
      for (const auto& [state, value] : {std::pair<const char*, int64_t>{"desired", w.desired},
                                         {"ready", w.ready}}) {
        out->metrics.Gauge("joelclaw_kube_workload_replicas",
                           "Replicas of the Deployment or StatefulSet: desired (spec.replicas) "
                           "and ready (status.readyReplicas).",
                           {{"host", opts_.cluster},
                            {"namespace", w.namespace_name},
                            {"kind", w.kind},
                            {"name", w.name},
                            {"state", state}},
                           static_cast<double>(value));
      }
      list->push_back({{"namespace", w.namespace_name},
                       {"kind", w.kind},
                       {"name", w.name},
                       {"desired", w.desired},
                       {"ready", w.ready}});
    }
    return Status::Ok();
  }

  KubernetesOptions opts_;
};

// A namespace name is a DNS label (RFC 1123): it becomes part of a URL path.
bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Collector> NewKubernetesCollector(KubernetesOptions options) {
  return std::make_unique<KubernetesCollector>(std::move(options));
}

Result<std::unique_ptr<Collector>> ParseKubernetesCollector(const YAML::Node& node,
                                                            const ConfigContext& ctx,
                                                            const std::string& host) {
  (void)host;  // Global: one cluster view per exporter.
  const std::string what = "kubernetes";
  Status s = ctx.CheckMap(
      node, what,
      {"kubeconfig", "context", "in_cluster", "namespaces", "max_body_bytes", "cluster",
       // Read by the config loader (ParseTiming), for this
       // collector's schedule.
       "interval", "timeout"});
  if (!s.ok()) return s;
  KubernetesOptions o;
  if (!(s = ctx.GetString(node, what, "kubeconfig", false, &o.kubeconfig)).ok()) return s;
  if (!(s = ctx.GetString(node, what, "context", false, &o.context)).ok()) return s;
  if (!(s = ctx.GetBool(node, what, "in_cluster", &o.in_cluster)).ok()) return s;
  if (o.in_cluster && !o.kubeconfig.empty()) {
    return ctx.Error(node["kubeconfig"],
                     what + ": kubeconfig and in_cluster: true exclude each other; keep one");
  }
  if (!o.in_cluster && o.kubeconfig.empty()) {
    return ctx.Error(node, what + ": needs kubeconfig (a path, e.g. ~/.kube/config) or "
                                  "in_cluster: true");
  }
  if (o.in_cluster && !o.context.empty()) {
    return ctx.Error(node["context"], what + ": context needs a kubeconfig; in_cluster has none");
  }
  if (node["context"] && o.context.empty()) {
    return ctx.Error(node["context"], what + ": context is empty");
  }
  o.kubeconfig = ctx.ResolvePath(o.kubeconfig);
  if (!(s = ctx.GetStringList(node, what, "namespaces", &o.namespaces)).ok()) return s;
  if (o.namespaces.empty()) {
    return ctx.Error(node["namespaces"] ? node["namespaces"] : node,
                     what + ": namespaces must list at least one namespace (e.g. [joelclaw])");
  }
  std::set<std::string> seen;
  for (const std::string& ns : o.namespaces) {
    if (!IsDnsLabel(ns)) {
      return ctx.Error(node["namespaces"], what + ": namespaces: '" + ns +
                                               "' is not a namespace name (lower-case letters, "
                                               "digits and '-', at most 63)");
    }
    if (!seen.insert(ns).second) {
      return ctx.Error(node["namespaces"], what + ": namespaces: '" + ns + "' is listed twice");
    }
  }
  if (!(s = ctx.GetString(node, what, "cluster", false, &o.cluster)).ok()) return s;
  if (o.cluster.empty()) return ctx.Error(node["cluster"], what + ": cluster is empty");
  int64_t max_body = static_cast<int64_t>(o.max_body_bytes);
  if (!(s = ctx.GetInt(node, what, "max_body_bytes", 1024, 256 << 20, &max_body)).ok()) return s;
  o.max_body_bytes = static_cast<size_t>(max_body);
  return NewKubernetesCollector(std::move(o));
}

}  // namespace joelclaw
