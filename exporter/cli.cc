#include "exporter/cli.h"

#include <curl/curl.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "exporter/app.h"
#include "exporter/flag_args.h"
#include "exporter/logging.h"
#include "exporter/status_command.h"
#include "exporter/version.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

constexpr char kUsage[] =
    "usage: joelclaw_exporter [serve] [flags]\n"
    "       joelclaw_exporter status [--url URL]... [--json] [--watch[=D]] [--timeout D]\n"
    "       joelclaw_exporter version\n"
    "\n"
    "Serving flags:\n"
    "  --config.file=PATH          YAML config (default: embedded config for this machine)\n"
    "  --config.check              validate the config, print problems, exit 0 or 1\n"
    "  --web.listen-address=ADDR   HOST:PORT or :PORT to serve on (default :10042)\n"
    "  --web.telemetry-path=PATH   path of the metrics (default /metrics)\n"
    "  --web.config.file=PATH      TLS and basic auth, exporter-toolkit format\n"
    "  --log.level=LEVEL           debug, info, warn or error (default info)\n"
    "  --log.format=FORMAT         logfmt or json (default logfmt)\n"
    "  --checks.max-concurrency=N  most checks running at once (default 256)\n"
    "  --web.max-connections=N     most open HTTP connections (default 2048); at the cap the\n"
    "                              one waiting longest for its request headers is closed\n"
    "  --web.read-header-timeout=D time a connection has for its TLS handshake and request\n"
    "                              headers (default 10s)\n";

int Serve(const std::vector<std::string>& args);
int Version(const std::vector<std::string>& args);

struct Subcommand {
  const char* name;
  const char* help;
  int (*run)(const std::vector<std::string>& args);
};

// ninja-style table of subcommands; `serve` is the default.
constexpr Subcommand kSubcommands[] = {
    {"serve", "run the exporter (default)", Serve},
    {"status", "print the network's state from one or more exporters", RunStatusCommand},
    {"version", "print version and revision", Version},
};

int Version(const std::vector<std::string>&) {
  std::printf("joelclaw_exporter %s (revision %s)\n", kVersion, kRevision);
  return 0;
}

bool IsDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

int Serve(const std::vector<std::string>& args) {
  ServeFlags flags;
  std::string error;
  if (!ParseServeFlags(args, &flags, &error)) {
    std::fprintf(stderr, "joelclaw_exporter: %s\n\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (flags.config_check) {
    auto config = flags.config_file.empty()
                      ? ParseConfig(EmbeddedDefaultConfig(LocalHostName()), "<embedded>")
                      : LoadConfigFile(flags.config_file);
    // Every problem of both files in one run, one "file:line: problem" a
    // line.
    bool ok = config.ok();
    if (!config.ok()) std::fprintf(stderr, "%s\n", config.status().message().c_str());
    if (!flags.web_config_file.empty()) {
      auto web = LoadWebConfig(flags.web_config_file);
      if (!web.ok()) std::fprintf(stderr, "%s\n", web.status().message().c_str());
      ok = ok && web.ok();
    }
    if (!ok) return 1;
    if ((*config)->bridge) {
      for (const std::string& warning : (*config)->bridge->warnings) {
        std::fprintf(stderr, "warning: %s\n", warning.c_str());
      }
    }
    std::printf("%s: OK (%zu hosts, %zu checks, %zu collectors)\n", (*config)->source.c_str(),
                (*config)->hosts.size(), (*config)->checks.size(), (*config)->collectors.size());
    return 0;
  }
  SetupLogging(flags.log_level, *ParseLogFormat(flags.log_format));

  // Signals are taken synchronously by this thread; every thread started
  // from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_ALL);
  // What a probe command leaves behind (a grandchild that called setsid)
  // comes back to us to be killed, rather than living on under init.
  if (Status reaper = EnableChildSubreaper(); !reaper.ok()) {
    spdlog::warn("{}", reaper.message());
  }

  App::Options options;
  options.config_file = flags.config_file;
  options.listen_address = flags.listen_address;
  options.telemetry_path = flags.telemetry_path;
  options.web_config_file = flags.web_config_file;
  options.max_workers = static_cast<size_t>(flags.max_workers);
  options.max_connections = flags.max_connections;
  options.read_header_timeout = flags.read_header_timeout;
  App app(options);
  Status s = app.Start();
  if (!s.ok()) {
    // Logged once, in the chosen format: this is the one report of it.
    LogEachLine(spdlog::level::err, "cannot start the exporter", "err", s.message());
    return 1;
  }
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)app.Reload();  // It logs its own failure.
      continue;
    }
    Log(spdlog::level::info, "shutting down",
        {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  app.Stop();
  Log(spdlog::level::info, "stopped");
  return 0;
}

}  // namespace

bool ParseServeFlags(const std::vector<std::string>& args, ServeFlags* flags,
                     std::string* error) {
  struct StringFlag {
    const char* name;
    std::string* dest;
  };
  const StringFlag string_flags[] = {
      {"--config.file", &flags->config_file},
      {"--web.listen-address", &flags->listen_address},
      {"--web.config.file", &flags->web_config_file},
      {"--log.level", &flags->log_level},
      {"--log.format", &flags->log_format},
      {"--web.telemetry-path", &flags->telemetry_path},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    FlagArg flag = SplitFlag(args[i]);
    const std::string& name = flag.name;
    const std::string& value = flag.value;
    const bool has_value = flag.has_value;
    if (name == "--config.check") {
      if (has_value) {
        *error = "--config.check takes no value";
        return false;
      }
      flags->config_check = true;
      continue;
    }
    bool handled = false;
    auto take_value = [&]() { return TakeFlagValue(args, &i, &flag, error); };
    for (const StringFlag& f : string_flags) {
      if (name != f.name) continue;
      if (!take_value()) return false;
      *f.dest = value;
      handled = true;
    }
    struct IntFlag {
      const char* name;
      long min, max;
      int* dest;
    };
    for (const IntFlag& f : {IntFlag{"--checks.max-concurrency", 1, 4096, &flags->max_workers},
                             IntFlag{"--web.max-connections", 1, 1000000,
                                     &flags->max_connections}}) {
      if (name != f.name) continue;
      if (!take_value()) return false;
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < f.min || n > f.max) {
        *error = std::string(f.name) + " must be between " + std::to_string(f.min) + " and " +
                 std::to_string(f.max);
        return false;
      }
      *f.dest = static_cast<int>(n);
      handled = true;
    }
    if (name == "--web.read-header-timeout") {
      if (!take_value()) return false;
      Result<Duration> d = ParseDuration(value);
      if (!d.ok() || d->count() <= 0) {
        *error = "--web.read-header-timeout must be a duration such as 10s";
        return false;
      }
      flags->read_header_timeout = *d;
      handled = true;
    }
    if (!handled) {
      *error = "unknown flag or argument '" + args[i] + "'";
      return false;
    }
  }
  const std::string& l = flags->log_level;
  if (l != "debug" && l != "info" && l != "warn" && l != "error") {
    *error = "--log.level must be debug, info, warn or error";
    return false;
  }
  if (Result<LogFormat> f = ParseLogFormat(flags->log_format); !f.ok()) {
    *error = f.status().message();
    return false;
  }
  if (Status s = CheckListenAddress(flags->listen_address); !s.ok()) {
    *error = s.message();
    return false;
  }
  const std::string& path = flags->telemetry_path;
  if (path.empty() || path[0] != '/' ||
      path.find_first_of(" \t\r\n?#") != std::string::npos) {
    *error = "--web.telemetry-path must be an absolute URL path such as /metrics, not '" + path +
             "'";
    return false;
  }
  for (const char* taken : kFixedPaths) {
    if (path == taken) {
      *error = "--web.telemetry-path " + path + " is taken by another endpoint of the exporter";
      return false;
    }
  }
  return true;
}

Status CheckListenAddress(const std::string& address) {
  const std::string bad = "--web.listen-address '" + address + "' ";
  if (address.find("://") != std::string::npos) {
    return Status::Error(bad + "is a URL; use HOST:PORT or :PORT");
  }
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status::Error(bad + "must be [IPv6]:PORT when it starts with '['");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
      return Status::Error(bad + "has no IPv6 address between the brackets");
    }
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return Status::Error(bad + "has no port; use HOST:PORT or :PORT");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return Status::Error(bad + "has an IPv6 host without brackets; use [::1]:PORT");
    }
    // An IPv4 address or a host name; whether it can be bound is up to the
    // server.
    if (host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
        std::string::npos) {
      return Status::Error(bad + "has an invalid host '" + host + "'");
    }
  }
  if (!IsDigits(port) || port.size() > 5 || std::stoi(port) > 65535) {
    return Status::Error(bad + "has an invalid port '" + port + "' (want 0-65535)");
  }
  return Status::Ok();
}

int RunMain(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")) {
    std::printf("%s\nSubcommands:\n", kUsage);
    for (const Subcommand& c : kSubcommands) std::printf("  %-10s %s\n", c.name, c.help);
    return 0;
  }
  if (!args.empty() && (args[0] == "--version")) return Version({});
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    for (const Subcommand& c : kSubcommands) {
      if (args[0] == c.name) return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
    }
    std::fprintf(stderr, "joelclaw_exporter: unknown subcommand '%s'\n\n%s", args[0].c_str(), kUsage);
    return 2;
  }
  return Serve(args);
}

}  // namespace joelclaw
