#pragma once

#include <string>
#include <vector>

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
  bool config_check = false;
  int max_workers = 256;
};

/// Parses `--name=value` / `--name value` flags. Errors name the flag.
/// Pure; for tests.
bool ParseServeFlags(const std::vector<std::string>& args, ServeFlags* flags,
                     std::string* error);

}  // namespace joelclaw
