// A stand-in for libnvidia-ml.so, built as a shared library by CMake and
// loaded by the gpu collector through its real dlopen/dlsym path. It exports
// the documented NVML entry points (NVML API Reference, nvml.h) with the C
// ABI the real library has, and answers with fixed values for two
// RTX PRO 4500-like GPUs:
//   GPU 0: idle, 41 °C, fan 30 %, no ECC errors, throttled only by gpu_idle.
//   GPU 1: busy and hot, 83 °C, power-capped and thermally slowed, 3
//          corrected and 1 uncorrected ECC error; its fan speed is
//          NVML_ERROR_NOT_SUPPORTED (a passively cooled board).
// Built with FAKE_NVML_OLD_DRIVER it lacks nvmlDeviceGetFanSpeed and
// nvmlDeviceGetCurrentClocksThrottleReasons, like a driver that predates
// them. Environment knobs, read on each call, for failure tests:
//   FAKE_NVML_INIT_RESULT=<n>  nvmlInit_v2 returns n (9 = Driver Not Loaded)
//   FAKE_NVML_LOST_GPU=1       GPU 1's handle is NVML_ERROR_GPU_IS_LOST
#include <cstdlib>
#include <cstring>

#include "exporter/collectors/nvml_api.h"

// The handle's target; nvml.h leaves the type incomplete.
struct nvmlDevice_st {
  unsigned index;
};

namespace {

constexpr nvmlReturn_t kSuccess = NVML_SUCCESS;
constexpr nvmlReturn_t kUninitialized = NVML_ERROR_UNINITIALIZED;
constexpr nvmlReturn_t kInvalidArgument = NVML_ERROR_INVALID_ARGUMENT;
constexpr nvmlReturn_t kNotSupported = NVML_ERROR_NOT_SUPPORTED;
constexpr nvmlReturn_t kInsufficientSize = NVML_ERROR_INSUFFICIENT_SIZE;
constexpr nvmlReturn_t kGpuIsLost = NVML_ERROR_GPU_IS_LOST;

struct Gpu {
  const char* name;
  const char* uuid;
  unsigned temperature, utilization;
  unsigned long long memory_total, memory_used;
  unsigned power_mw, power_limit_mw, sm_mhz, mem_mhz;
  unsigned long long ecc_corrected, ecc_uncorrected, throttle;
  int fan_percent;  // -1: not supported
};

constexpr unsigned long long kMiB = 1024ULL * 1024;
nvmlDevice_st devices[2] = {{0}, {1}};
const Gpu gpus[2] = {
    {"NVIDIA RTX PRO 4500 Blackwell", "GPU-5d2e8c1a-7b3f-4e90-a1c6-2f8d9e0b4a71", 41, 0,
     32623 * kMiB, 512 * kMiB, 18250, 200000, 180, 405, 0, 0, 0x1, 30},
    {"NVIDIA RTX PRO 4500 Blackwell", "GPU-c0a9f3b2-61d4-4a8e-9c7b-e5f4d3c2b1a0", 83, 97,
     32623 * kMiB, 30720 * kMiB, 198400, 200000, 2430, 14001, 3, 1, 0x4 | 0x20, -1},
};
bool initialized = false;

nvmlReturn_t Copy(const char* s, char* buf, unsigned len) {
  if (buf == nullptr) return kInvalidArgument;
  if (std::strlen(s) + 1 > len) return kInsufficientSize;
  std::strcpy(buf, s);
  return kSuccess;
}

// The GPU behind a handle, or null when the handle is not ours.
const Gpu* Of(nvmlDevice_t d) {
  if (!initialized || d == nullptr || (d != &devices[0] && d != &devices[1])) return nullptr;
  return &gpus[d->index];
}

}  // namespace

extern "C" {

nvmlReturn_t nvmlInit_v2() {
  if (const char* r = std::getenv("FAKE_NVML_INIT_RESULT")) {
    if (std::atoi(r) != kSuccess) return static_cast<nvmlReturn_t>(std::atoi(r));
  }
  initialized = true;
  return kSuccess;
}

nvmlReturn_t nvmlShutdown() {
  initialized = false;
  return kSuccess;
}

const char* nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned* count) {
  if (!initialized) return kUninitialized;
  *count = 2;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned index, nvmlDevice_t* device) {
  if (!initialized) return kUninitialized;
  if (index > 1) return kInvalidArgument;
  const char* lost = std::getenv("FAKE_NVML_LOST_GPU");
  if (index == 1 && lost != nullptr && std::strcmp(lost, "1") == 0) return kGpuIsLost;
  *device = &devices[index];
  return kSuccess;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned length) {
  if (!initialized) return kUninitialized;
  return Copy("575.57.08", version, length);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char* name, unsigned length) {
  const Gpu* g = Of(d);
  return g ? Copy(g->name, name, length) : kInvalidArgument;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char* uuid, unsigned length) {
  const Gpu* g = Of(d);
  return g ? Copy(g->uuid, uuid, length) : kInvalidArgument;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, nvmlTemperatureSensors_t sensor,
                                      unsigned* temp) {
  const Gpu* g = Of(d);
  if (g == nullptr || sensor != NVML_TEMPERATURE_GPU) return kInvalidArgument;
  *temp = g->temperature;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t* u) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  u->gpu = g->utilization;
  u->memory = g->utilization / 2;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  m->total = g->memory_total;
  m->used = g->memory_used;
  m->free = g->memory_total - g->memory_used;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned* mw) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  *mw = g->power_mw;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned* mw) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  *mw = g->power_limit_mw;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, nvmlClockType_t type, unsigned* mhz) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  if (type == NVML_CLOCK_SM) {
    *mhz = g->sm_mhz;
  } else if (type == NVML_CLOCK_MEM) {
    *mhz = g->mem_mhz;
  } else {
    return kInvalidArgument;
  }
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, nvmlMemoryErrorType_t error_type,
                                         nvmlEccCounterType_t counter_type,
                                         unsigned long long* count) {
  const Gpu* g = Of(d);
  // Only the volatile counter is asked for.
  if (g == nullptr || counter_type != NVML_VOLATILE_ECC ||
      (error_type != NVML_MEMORY_ERROR_TYPE_CORRECTED &&
       error_type != NVML_MEMORY_ERROR_TYPE_UNCORRECTED)) {
    return kInvalidArgument;
  }
  *count = error_type == NVML_MEMORY_ERROR_TYPE_CORRECTED ? g->ecc_corrected : g->ecc_uncorrected;
  return kSuccess;
}

#ifndef FAKE_NVML_OLD_DRIVER
nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t d,
                                                       unsigned long long* reasons) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  *reasons = g->throttle;
  return kSuccess;
}

nvmlReturn_t nvmlDeviceGetFanSpeed(nvmlDevice_t d, unsigned* percent) {
  const Gpu* g = Of(d);
  if (g == nullptr) return kInvalidArgument;
  if (g->fan_percent < 0) return kNotSupported;
  *percent = static_cast<unsigned>(g->fan_percent);
  return kSuccess;
}
#endif

}  // extern "C"
