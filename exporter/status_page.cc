#include "exporter/status_page.h"

#include <cmath>
#include <ctime>

#include "exporter/status_board.h"

namespace joelclaw {
namespace {

using nlohmann::json;

// The board comes from BuildBoard, so its fields have their types; a
// missing one still reads as "" rather than throwing.
std::string S(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// States become CSS classes; only the known ones do.
std::string StateClass(const std::string& state) {
  for (const char* known :
       {"up", "down", "warning", "pending", "idle", "healthy", "degraded", "unreachable"}) {
    if (state == known) return state;
  }
  return "pending";
}

std::string Mark(const std::string& state) {
  if (state == "up") return "✔";
  if (state == "down") return "✖";
  if (state == "warning") return "▲";
  if (state == "idle") return "○";
  return "…";
}

std::string UtcTime(double unix_seconds) {
  const time_t t = static_cast<time_t>(std::floor(unix_seconds));
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buf;
}

constexpr char kHead[] = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="10"></noscript>
<style>
:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--fg:#1d2127;--muted:#667085;--line:#e4e7ec;
--up:#12803a;--down:#c8102e;--warning:#a86b00;--pending:#b26b00;--idle:#8a94a6}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--card:#171b21;--fg:#e6e8eb;--muted:#98a2b3;
--line:#2a3039;--up:#3ccf6e;--down:#ff5c6c;--warning:#f5c542;--pending:#f0a830;--idle:#7d8799}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:center;gap:.6em;flex-wrap:wrap;padding:14px 14px 4px}
h1{font-size:1.15em;margin:0}
main{padding:6px 10px;display:grid;gap:10px;grid-template-columns:repeat(auto-fill,minmax(340px,1fr))}
@media (max-width:420px){main{grid-template-columns:1fr}}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px;min-width:0}
section.degraded,section.unreachable{border-color:var(--down)}
section.warning{border-color:var(--warning)}
h2{font-size:1.05em;margin:0 0 6px;display:flex;align-items:center;gap:.5em}
.pill{font-size:.78em;font-weight:600;padding:1px 8px;border-radius:99px;color:#fff;background:var(--pending)}
.pill.healthy{background:var(--up)}.pill.degraded,.pill.unreachable{background:var(--down)}
.pill.warning{background:var(--warning)}
h2 .about{font-weight:400;color:var(--muted);font-size:.85em}
.desc{font-weight:400;color:var(--muted)}
ul{list-style:none;margin:0;padding:0}
li.svc{display:grid;grid-template-columns:1.4em 1fr auto;column-gap:.4em;padding:5px 0;border-top:1px solid var(--line)}
li.svc:first-child{border-top:0}
.mark{font-weight:700;text-align:center}
.up .mark{color:var(--up)}.down .mark{color:var(--down)}.warning .mark{color:var(--warning)}
.pending .mark{color:var(--pending)}.idle .mark{color:var(--idle)}
.name{font-weight:600;overflow-wrap:anywhere}
.meta{color:var(--muted);font-size:.85em;white-space:nowrap}
.detail{grid-column:2/4;color:var(--muted);font-size:.9em;overflow-wrap:anywhere}
.down .detail{color:var(--down)}
.warning .detail{color:var(--warning)}
.res{margin:6px 0 0;font-size:.9em;color:var(--muted)}
.res.down{color:var(--down)}
.res.warning{color:var(--warning)}
details{margin-top:6px;font-size:.88em}
summary{cursor:pointer;color:var(--down);font-weight:600}
.failures li{padding:3px 0;overflow-wrap:anywhere}
.when{color:var(--muted)}
.exporters{padding:0 14px;font-size:.88em;color:var(--muted)}
.exporters .down{color:var(--down)}
footer{padding:10px 14px 24px;font-size:.85em;color:var(--muted)}
footer a{color:inherit}
#live.bad{color:var(--down);font-weight:600}
</style>
)";

// Re-fetches this page and swaps the parts that change: the page is the one
// renderer (server side, everything escaped there), so the script holds no
// board logic of its own.
constexpr char kScript[] = R"(<script>
(function () {
  var live = document.getElementById('live');
  function swap(doc, id) {
    var fresh = doc.getElementById(id), old = document.getElementById(id);
    if (fresh && old) old.replaceWith(document.importNode(fresh, true));
  }
  function refresh() {
    fetch(location.pathname, {cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        ['overall', 'exporters', 'board', 'about'].forEach(function (id) { swap(doc, id); });
        document.title = doc.title;
        live.textContent = 'live, updated ' + new Date().toLocaleTimeString();
        live.className = '';
      })
      .catch(function (e) {
        live.textContent = 'cannot reach the exporter (' + e.message + '), retrying';
        live.className = 'bad';
      });
  }
  live.textContent = 'live';
  setInterval(refresh, 5000);
})();
</script>
)";

std::string Pill(const std::string& state, const std::string& id = "") {
  return "<span" + (id.empty() ? "" : " id=\"" + id + "\"") + " class=\"pill " +
         StateClass(state) + "\">" + HtmlEscape(state) + "</span>";
}

std::string ServiceItem(const json& s) {
  const std::string state = StateClass(S(s, "state"));
  std::string meta = HtmlEscape(S(s, "source"));
  if (s.contains("port") && s["port"].is_number()) meta += ":" + std::to_string(s["port"].get<int>());
  std::string out = "<li class=\"svc " + state + "\" data-state=\"" + state + "\">";
  out += "<span class=\"mark\" title=\"" + state + "\">" + Mark(state) + "</span>";
  const std::string description = S(s, "description");
  out += "<span class=\"name\">" + HtmlEscape(S(s, "name")) +
         (description.empty() ? ""
                              : "<span class=\"desc\"> — " + HtmlEscape(description) + "</span>") +
         "</span>";
  out += "<span class=\"meta\">" + meta + "</span>";
  const std::string detail = S(s, "detail");
  if (!detail.empty()) out += "<span class=\"detail\">" + HtmlEscape(detail) + "</span>";
  return out + "</li>\n";
}

std::string HostSection(const json& h) {
  const std::string state = StateClass(S(h, "state"));
  const std::string kind = S(h, "kind"), description = S(h, "description");
  const bool network = kind == "network" || (kind.empty() && h.value("global", false));
  std::string out =
      "<section class=\"host " + state + "\" data-host=\"" + HtmlEscape(S(h, "name")) +
      "\">\n<h2>" + HtmlEscape(S(h, "name")) +
      (description.empty() ? "" : " <span class=\"about\">" + HtmlEscape(description) + "</span>") +
      (network ? " <small>(network-wide)</small>" : "") +
      (kind == "cluster" ? " <small>(Kubernetes cluster)</small>" : "") + " " + Pill(state) +
      "</h2>\n<ul class=\"services\">\n";
  for (const json& s : h.value("services", json::array())) out += ServiceItem(s);
  out += "</ul>\n";
  const json res = h.value("resources", json());
  if (res.is_object()) {
    const std::string rs = StateClass(S(res, "state"));
    out += "<p class=\"res " + rs + "\">" + Mark(rs) + " " + HtmlEscape(S(res, "summary")) + "</p>\n";
  }
  const json failures = h.value("recent_failures", json::array());
  if (!failures.empty()) {
    out += "<details open><summary>Recent failures</summary><ul class=\"failures\">\n";
    for (const json& f : failures) {
      std::string when;
      if (f.contains("age_seconds") && f["age_seconds"].is_number()) {
        when = HumanAge(f["age_seconds"].get<double>()) + " ago";
      }
      const std::string reason = S(f, "reason");
      out += "<li><b>" + HtmlEscape(S(f, "service")) + "</b> <span class=\"when\">" +
             HtmlEscape(S(f, "source")) + (when.empty() ? "" : ", " + when) + "</span> " +
             HtmlEscape(reason.empty() ? "" : reason + ": ") + HtmlEscape(S(f, "message")) +
             "</li>\n";
    }
    out += "</ul></details>\n";
  }
  return out + "</section>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string RenderStatusPage(const json& board, std::string_view metrics_path) {
  const std::string overall = S(board, "state");
  std::string out = kHead;
  out += "<title>joelclaw: " + HtmlEscape(overall) + "</title>\n</head>\n<body>\n";
  out += "<header><h1>joelclaw network</h1> " + Pill(overall, "overall") + "</header>\n";
  // Exporters that could not be read; the page's own exporter always can.
  out += "<div id=\"exporters\" class=\"exporters\">";
  std::string about;
  for (const json& e : board.value("exporters", json::array())) {
    if (!e.value("reachable", false)) {
      out += "<p class=\"down\">✖ exporter " + HtmlEscape(S(e, "url")) + " unreachable: " +
             HtmlEscape(S(e, "error")) + "</p>";
      continue;
    }
    about = "exporter " + HtmlEscape(S(e, "version"));
    if (!S(e, "revision").empty()) about += " (" + HtmlEscape(S(e, "revision")) + ")";
    if (e.contains("generated_at") && e["generated_at"].is_number()) {
      about += ", generated " + UtcTime(e["generated_at"].get<double>());
    }
    if (!e.value("ready", false)) about += ", first round still running";
    if (e.contains("last_reload_successful") && e["last_reload_successful"] == false) {
      out += "<p class=\"down\">✖ last config reload failed: " +
             HtmlEscape(S(e, "last_reload_error")) + "</p>";
    }
  }
  out += "</div>\n<main id=\"board\" data-state=\"" + StateClass(overall) + "\">\n";
  const json hosts = board.value("hosts", json::array());
  for (const json& h : hosts) out += HostSection(h);
  if (hosts.empty()) out += "<section><p>Nothing is configured or nothing has reported yet.</p></section>\n";
  out += "</main>\n<footer><span id=\"about\">" + about +
         "</span><br><span id=\"live\">auto-refresh needs JavaScript; reloading every 10 s</span>"
         " · <a href=\"" + HtmlEscape(metrics_path) + "\">" + HtmlEscape(metrics_path) +
         "</a> · <a href=\"/api/v1/status\">/api/v1/status</a>"
         " · <a href=\"/-/healthy\">/-/healthy</a> · <a href=\"/-/ready\">/-/ready</a></footer>\n";
  out += kScript;
  out += "</body>\n</html>\n";
  return out;
}

std::string RenderStatusPageForDocument(const std::string& status_json,
                                        std::string_view metrics_path) {
  ExporterStatus self;
  self.url = "this exporter";
  self.document = json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  self.reachable = !self.document.is_discarded();
  if (!self.reachable) self.error = "its status document could not be read";
  return RenderStatusPage(BuildBoard({self}), metrics_path);
}

std::vector<std::pair<std::string, std::string>> StatusPageHeaders() {
  return {{"Content-Security-Policy",
           "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
           "frame-ancestors 'none'"},
          {"Cache-Control", "no-store"},
          {"X-Content-Type-Options", "nosniff"}};
}

}  // namespace joelclaw
