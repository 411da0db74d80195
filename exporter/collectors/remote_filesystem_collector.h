#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// One row of POSIX `df -Pk` output.
struct DfEntry {
  std::string filesystem;  ///< First column; may contain spaces (macOS "map auto_home").
  uint64_t size_bytes = 0;
  uint64_t avail_bytes = 0;
  std::string mountpoint;  ///< Everything after the capacity column; may contain spaces.
};

/// Parses `df -P` output: a "Filesystem N-blocks Used Available Capacity
/// Mounted on" header, then one row per operand, in order. Block counts are
/// scaled by the header's block size (1024 for -k) into bytes. A row that is
/// cut off or not a df row is an error naming its line, as is output without
/// the header or without any row. Pure.
Result<std::vector<DfEntry>> ParseDfPortable(std::string_view text);

/// Host section (the host is the machine whose disks are read, e.g. the NAS):
///   remote_filesystems:
///     ssh: three-body          # host name or address for ssh
///     paths: [/volume1]        # absolute; no whitespace or shell metacharacters
///     user: joel               # optional (ssh -l)
///     port: 22                 # optional (ssh -p)
///     identity_file: key       # optional (ssh -i), relative to the config file
/// Runs `ssh -o BatchMode=yes -o ConnectTimeout=N … HOST df -Pk -- PATHS…`
/// (the `ssh` command is overridable under `commands:`) and exports
/// joelclaw_filesystem_size_bytes / _avail_bytes{host, mountpoint=path}.
Result<std::unique_ptr<Collector>> ParseRemoteFilesystemCollector(const YAML::Node& node,
                                                                  const ConfigContext& ctx,
                                                                  const std::string& host);

}  // namespace joelclaw
