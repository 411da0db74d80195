#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporter/status.h"

namespace joelclaw {

/// One GPU as the gpu collector reports it, from NVML or from nvidia-smi.
/// Every reading is optional: a field the card or driver does not support
/// (NVML_ERROR_NOT_SUPPORTED, a symbol an old driver lacks, nvidia-smi's
/// "[N/A]" / "[Not Supported]") stays empty and its series is skipped,
/// never exported as 0. Units are already the exported base units.
struct GpuReading {
  int index = 0;               ///< The `gpu` label (NVML/nvidia-smi index).
  std::string name;            ///< "NVIDIA RTX PRO 4500 Blackwell"
  std::string uuid;            ///< "GPU-…"
  std::string driver_version;  ///< "575.57.08"
  std::optional<double> temperature_celsius;
  std::optional<double> utilization_ratio;  ///< 0–1
  std::optional<double> memory_used_bytes;
  std::optional<double> memory_total_bytes;
  std::optional<double> power_watts;
  std::optional<double> power_limit_watts;  ///< The enforced limit.
  std::optional<double> sm_clock_hertz;
  std::optional<double> memory_clock_hertz;
  std::optional<double> fan_ratio;          ///< 0–1 of the fan's maximum.
  std::optional<double> ecc_corrected;      ///< Volatile (since driver load).
  std::optional<double> ecc_uncorrected;    ///< Volatile (since driver load).
  std::optional<uint64_t> throttle_reasons; ///< NVML clocks-throttle bitmask.
};

/// A known clocks-throttle reason: its bit in NVML's bitmask
/// (nvmlClocksThrottleReason*, the same bits nvidia-smi prints in
/// clocks_throttle_reasons.active) and its `reason` label.
struct GpuThrottleReason {
  uint64_t bit;
  const char* label;
};

/// Every reason exported as joelclaw_gpu_throttle_active{reason} (0/1).
inline constexpr GpuThrottleReason kGpuThrottleReasons[] = {
    {0x0000000000000001ULL, "gpu_idle"},
    {0x0000000000000002ULL, "applications_clocks_setting"},
    {0x0000000000000004ULL, "sw_power_cap"},
    {0x0000000000000008ULL, "hw_slowdown"},
    {0x0000000000000010ULL, "sync_boost"},
    {0x0000000000000020ULL, "sw_thermal_slowdown"},
    {0x0000000000000040ULL, "hw_thermal_slowdown"},
    {0x0000000000000080ULL, "hw_power_brake_slowdown"},
    {0x0000000000000100ULL, "display_clock_setting"},
};

/// What one NVML read found.
struct NvmlSnapshot {
  std::vector<GpuReading> gpus;  ///< The GPUs that could be read, by index.
  /// Per-field or per-device errors other than "not supported" (e.g. a GPU
  /// that fell off the bus): sentences, for the collector to report. The
  /// fields they concern are left empty.
  std::vector<std::string> errors;
};

/// The NVIDIA Management Library, opened with dlopen(3) at run time so the
/// exporter has no build or link dependency on CUDA. Only documented entry
/// points of nvml.h are used, declared in nvml.cc. The library stays loaded
/// and initialized (nvmlInit_v2) for the life of the process: Open() hands
/// out one shared instance per path, and initialization is retried on later
/// calls until it succeeds (the driver may load after the exporter).
///
/// The class is thread-safe: NVML itself is thread-safe (nvml.h, "NVML is
/// thread-safe so it is safe to make simultaneous NVML calls from multiple
/// threads"), and the initialization state is guarded by a mutex.
class NvmlLibrary {
 public:
  /// The process-wide instance for `path` (a file name such as
  /// "libnvidia-ml.so.1", looked up by the dynamic linker, or a path).
  /// Errors when dlopen fails or a required entry point (nvmlInit_v2,
  /// nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2) is missing.
  /// A failed open is not cached: the next call tries again.
  static Result<std::shared_ptr<NvmlLibrary>> Open(const std::string& path);

  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  /// Initializes NVML once (retrying after failure) and reads every GPU.
  /// Errors only when NVML cannot be initialized or cannot count the GPUs
  /// ("NVML: nvmlInit_v2: Driver Not Loaded"); problems with single devices
  /// or fields are in NvmlSnapshot::errors. Blocks as long as the driver
  /// does: NVML calls cannot be cancelled.
  Result<NvmlSnapshot> Read();

  struct Api;  // The resolved entry points; defined in nvml.cc.

 private:
  NvmlLibrary(void* handle, std::unique_ptr<Api> api);
  std::string ErrorText(int code) const;

  void* handle_;  // dlopen handle; owned.
  std::unique_ptr<Api> api_;
  std::mutex mu_;
  bool initialized_ = false;  // Guarded by mu_.
};

}  // namespace joelclaw
