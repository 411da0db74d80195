#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"
#include "exporter/collectors/nvml.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// The fields the fallback asks nvidia-smi for, in this order:
///   nvidia-smi --query-gpu=<kNvidiaSmiQueryFields> --format=csv,noheader,nounits
inline constexpr char kNvidiaSmiQueryFields[] =
    "index,name,uuid,driver_version,temperature.gpu,utilization.gpu,memory.used,"
    "memory.total,power.draw,power.limit,clocks.sm,clocks.mem,fan.speed,"
    "ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,"
    "clocks_throttle_reasons.active";

/// Parses the output of that query: one line per GPU, 16 comma-separated
/// fields (blanks around them ignored), units already stripped (MiB, W, MHz,
/// %). "[N/A]", "N/A", "[Not Supported]" and any other bracketed note
/// ("[Unknown Error]") leave the field empty — its series is skipped, never
/// 0. The throttle reasons are NVML's bitmask in hex ("0x0000000000000004").
/// Errors (naming the line and field) on a wrong field count, an index that
/// is not a whole number or is repeated, and a value that is neither a
/// number nor a note. Empty output is zero GPUs. Pure.
Result<std::vector<GpuReading>> ParseNvidiaSmiCsv(std::string_view text);

/// Top-level section (one per exporter: it watches the machine it runs on):
///   gpu:
///     enabled: auto              # auto (default) | true | false
///     host: gpubox               # the `host` label; default: LocalHostName()
///     nvml_library: libnvidia-ml.so.1
///     expected_gpus: 2           # optional; exports joelclaw_gpu_devices_expected
/// Each run reads NVML (dlopen of nvml_library); when it cannot be loaded
/// or initialized, it runs nvidia-smi (command `nvidia-smi`, overridable
/// under `commands:`). With neither present (no NVML library to load and
/// no nvidia-smi to run), `auto` exports nothing and
/// succeeds (logged at debug level) — except joelclaw_gpu_devices 0 when
/// expected_gpus is set, so that a vanished driver still alerts — while
/// `true` fails the run with a sentence. An NVML library that loads but
/// cannot initialize, with no nvidia-smi, fails in both modes, and so does
/// an nvidia-smi that hangs, fails or prints garbage. `false`: no
/// collector. `host` (the
/// registry's) is "" (a global collector).
Result<std::unique_ptr<Collector>> ParseGpuCollector(const YAML::Node& node,
                                                     const ConfigContext& ctx,
                                                     const std::string& host);

}  // namespace joelclaw
