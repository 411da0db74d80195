#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// Host resources: memory, load, CPUs, boot time. Read from /proc on Linux
/// and from `sysctl` and `vm_stat` on macOS.
struct HostResources {
  double memory_total_bytes = -1;
  double memory_available_bytes = -1;
  double load1 = -1;
  double cpus = -1;
  double boot_timestamp_seconds = -1;
  /// macOS only (hw.pagesize): the page size for vm_stat output that lacks
  /// its header. Not exported.
  double page_size_bytes = -1;
};

/// Parsers (pure; tested on fixtures). Each returns an error naming what is
/// missing or malformed.
Status ParseProcMeminfo(std::string_view text, HostResources* out);
Status ParseProcLoadavg(std::string_view text, HostResources* out);
/// /proc/stat: "btime" and the number of "cpuN" lines.
Status ParseProcStat(std::string_view text, HostResources* out);

/// Output of `sysctl hw.memsize hw.ncpu hw.pagesize vm.loadavg kern.boottime`
/// in its named form, one "name: value" line each:
///   hw.memsize: 17179869184
///   hw.ncpu: 10
///   hw.pagesize: 16384
///   vm.loadavg: { 1.23 1.45 1.67 }
///   kern.boottime: { sec = 1700000000, usec = 123456 } Mon Nov 13 22:13:20 2023
/// Fills memory_total_bytes, cpus, page_size_bytes, load1 and
/// boot_timestamp_seconds (sec + usec / 1e6); all five lines are required.
/// Nothing is written to `out` on error.
Status ParseSysctlValues(std::string_view text, HostResources* out);

/// Output of `vm_stat`: the bytes available for new work without swapping,
///   (Pages free + Pages speculative + Pages inactive) * page size.
/// vm_stat prints "Pages free" as the kernel's free_count minus
/// speculative_count (vm_stat.c), so adding speculative back gives the
/// kernel's free_count, and free_count + inactive_count is what psutil
/// (psutil/_psosx.py virtual_memory) and Zabbix (zbxsysinfo/osx/memory.c)
/// report as available on macOS. Purgeable pages are not added: they are
/// already counted within active/inactive, so adding them would count them
/// twice. The page size is the header's ("(page size of 16384 bytes)") when
/// there is one, else `page_size` (hw.pagesize; <= 0 for none).
Result<double> ParseVmStat(std::string_view text, double page_size);

/// Where a host collector reads from. kSysctl runs `sysctl` and `vm_stat`
/// (macOS); kProc reads /proc (Linux).
enum class HostSource { kProc, kSysctl };

/// kSysctl when built for macOS, else kProc.
constexpr HostSource kDefaultHostSource =
#ifdef __APPLE__
    HostSource::kSysctl;
#else
    HostSource::kProc;
#endif

/// A host-resources collector for `host` reading from `source`. The sysctl
/// and vm_stat argv come from ctx.Command("sysctl" / "vm_stat", …) so the
/// config's `commands:` can override them.
std::unique_ptr<Collector> NewHostCollector(const std::string& host, HostSource source,
                                            const ConfigContext& ctx);

/// `resources: true|false`. The collector reads from kDefaultHostSource.
Result<std::unique_ptr<Collector>> ParseHostCollector(const YAML::Node& node,
                                                      const ConfigContext& ctx,
                                                      const std::string& host);

}  // namespace joelclaw
