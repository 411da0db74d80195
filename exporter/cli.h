#pragma once

#include <string>
#include <vector>

#include "exporter/duration.h"
#include "exporter/status.h"

namespace joelclaw {

/// The whole command line: `joelclaw_exporter [serve] [flags]`,
/// `joelclaw_exporter version`, … Returns the process exit code. Installs
/// signal handling for serve. Call once, from main.
int RunMain(int argc, char** argv);

/// Parsed serving flags.
struct ServeFlags {
  std::string config_file;
  std::string listen_address = ":10042";
  std::string web_config_file;
  std::string log_level = "info";
  std::string log_format = "logfmt";      ///< "logfmt" or "json".
  std::string telemetry_path = "/metrics";
  bool config_check = false;
  int max_workers = 256;
  int max_connections = 2048;            ///< --web.max-connections
  Duration read_header_timeout{10000};   ///< --web.read-header-timeout
};

/// Parses `--name=value` / `--name value` flags and checks each value
/// (levels, formats, an unparsable listen address, a telemetry path that is
/// not a free absolute path), so that bad usage is refused, with exit
/// status 2, before any config is read. Errors name the flag. Pure; for
/// tests.
bool ParseServeFlags(const std::vector<std::string>& args, ServeFlags* flags,
                     std::string* error);

/// Checks the syntax of a `--web.listen-address`: "HOST:PORT", ":PORT" or
/// "[IPv6]:PORT", HOST an IPv4 address or a host name, PORT 0–65535. Says
/// what is wrong, naming the flag; binding is the server's job. Pure.
Status CheckListenAddress(const std::string& address);

}  // namespace joelclaw
