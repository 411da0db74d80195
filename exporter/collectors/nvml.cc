#include "exporter/collectors/nvml.h"

#include <dlfcn.h>

#include <cstring>
#include <map>

#include "exporter/collectors/nvml_api.h"

namespace joelclaw {
namespace {

// NVML_DEVICE_NAME_V2_BUFFER_SIZE and NVML_DEVICE_UUID_V2_BUFFER_SIZE are 96,
// NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80: one size covers all three.
constexpr unsigned kStringBuffer = 96;

}  // namespace

// Entry points; any but the required three may be null (an older driver
// that lacks it), which skips its field.
struct NvmlLibrary::Api {
  decltype(&nvmlInit_v2) init = nullptr;
  decltype(&nvmlShutdown) shutdown = nullptr;
  decltype(&nvmlErrorString) error_string = nullptr;
  decltype(&nvmlDeviceGetCount_v2) device_count = nullptr;
  decltype(&nvmlDeviceGetHandleByIndex_v2) handle_by_index = nullptr;
  decltype(&nvmlSystemGetDriverVersion) driver_version = nullptr;
  decltype(&nvmlDeviceGetName) name = nullptr;
  decltype(&nvmlDeviceGetUUID) uuid = nullptr;
  decltype(&nvmlDeviceGetTemperature) temperature = nullptr;
  decltype(&nvmlDeviceGetUtilizationRates) utilization = nullptr;
  decltype(&nvmlDeviceGetMemoryInfo) memory = nullptr;
  decltype(&nvmlDeviceGetPowerUsage) power_usage = nullptr;      // mW
  decltype(&nvmlDeviceGetEnforcedPowerLimit) power_limit = nullptr;  // mW
  decltype(&nvmlDeviceGetClockInfo) clock = nullptr;             // MHz
  decltype(&nvmlDeviceGetTotalEccErrors) ecc_total = nullptr;
  decltype(&nvmlDeviceGetCurrentClocksThrottleReasons) throttle_reasons = nullptr;
  decltype(&nvmlDeviceGetFanSpeed) fan_speed = nullptr;          // percent
};

namespace {

template <typename Fn>
void Resolve(void* handle, const char* symbol, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(handle, symbol));
}

std::string CString(const char* buf) { return std::string(buf, strnlen(buf, kStringBuffer)); }

}  // namespace

Result<std::shared_ptr<NvmlLibrary>> NvmlLibrary::Open(const std::string& path) {
  // Leaked on purpose: NVML stays initialized until the process exits, and
  // no static destructor may unload it under a worker still reading.
  static std::mutex* mu = new std::mutex;
  static auto* cache = new std::map<std::string, std::shared_ptr<NvmlLibrary>>;
  std::lock_guard<std::mutex> lock(*mu);
  auto it = cache->find(path);
  if (it != cache->end()) return it->second;

  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return Status::Error("cannot load " + path + ": " + (err ? err : "unknown dlopen error"));
  }
  auto api = std::make_unique<Api>();
  Resolve(handle, "nvmlInit_v2", &api->init);
  Resolve(handle, "nvmlShutdown", &api->shutdown);
  Resolve(handle, "nvmlErrorString", &api->error_string);
  Resolve(handle, "nvmlDeviceGetCount_v2", &api->device_count);
  Resolve(handle, "nvmlDeviceGetHandleByIndex_v2", &api->handle_by_index);
  Resolve(handle, "nvmlSystemGetDriverVersion", &api->driver_version);
  Resolve(handle, "nvmlDeviceGetName", &api->name);
  Resolve(handle, "nvmlDeviceGetUUID", &api->uuid);
  Resolve(handle, "nvmlDeviceGetTemperature", &api->temperature);
  Resolve(handle, "nvmlDeviceGetUtilizationRates", &api->utilization);
  Resolve(handle, "nvmlDeviceGetMemoryInfo", &api->memory);
  Resolve(handle, "nvmlDeviceGetPowerUsage", &api->power_usage);
  Resolve(handle, "nvmlDeviceGetEnforcedPowerLimit", &api->power_limit);
  Resolve(handle, "nvmlDeviceGetClockInfo", &api->clock);
  Resolve(handle, "nvmlDeviceGetTotalEccErrors", &api->ecc_total);
  Resolve(handle, "nvmlDeviceGetCurrentClocksThrottleReasons", &api->throttle_reasons);
  Resolve(handle, "nvmlDeviceGetFanSpeed", &api->fan_speed);
  for (const auto& [fn, symbol] :
       {std::pair<bool, const char*>{api->init != nullptr, "nvmlInit_v2"},
        {api->device_count != nullptr, "nvmlDeviceGetCount_v2"},
        {api->handle_by_index != nullptr, "nvmlDeviceGetHandleByIndex_v2"}}) {
    if (!fn) {
      dlclose(handle);
      return Status::Error(path + " has no " + symbol + "; it is not NVML or predates driver 319");
    }
  }
  std::shared_ptr<NvmlLibrary> lib(new NvmlLibrary(handle, std::move(api)));
  cache->emplace(path, lib);
  return lib;
}

NvmlLibrary::NvmlLibrary(void* handle, std::unique_ptr<Api> api)
    : handle_(handle), api_(std::move(api)) {}

NvmlLibrary::~NvmlLibrary() {
  if (initialized_ && api_->shutdown != nullptr) api_->shutdown();
  dlclose(handle_);
}

std::string NvmlLibrary::ErrorText(int code) const {
  const char* s = api_->error_string != nullptr ? api_->error_string(static_cast<nvmlReturn_t>(code)) : nullptr;
  return s != nullptr ? std::string(s) : "NVML error " + std::to_string(code);
}

Result<NvmlSnapshot> NvmlLibrary::Read() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!initialized_) {
      const nvmlReturn_t rc = api_->init();
      if (rc != NVML_SUCCESS) return Status::Error("nvmlInit_v2: " + ErrorText(rc));
      initialized_ = true;
    }
  }
  unsigned count = 0;
  if (nvmlReturn_t rc = api_->device_count(&count); rc != NVML_SUCCESS) {
    return Status::Error("nvmlDeviceGetCount_v2: " + ErrorText(rc));
  }
  NvmlSnapshot snap;
  std::string driver;
  if (api_->driver_version != nullptr) {
    char buf[kStringBuffer] = {0};
    if (nvmlReturn_t rc = api_->driver_version(buf, sizeof(buf)); rc == NVML_SUCCESS) {
      driver = CString(buf);
    } else if (rc != NVML_ERROR_NOT_SUPPORTED) {
      snap.errors.push_back("nvmlSystemGetDriverVersion: " + ErrorText(rc));
    }
  }
  for (unsigned i = 0; i < count; ++i) {
    const std::string gpu = "GPU " + std::to_string(i) + ": ";
    nvmlDevice_t dev = nullptr;
    if (nvmlReturn_t rc = api_->handle_by_index(i, &dev); rc != NVML_SUCCESS) {
      // Typically "GPU is lost": the GPU is left out, so the count drops.
      snap.errors.push_back(gpu + "nvmlDeviceGetHandleByIndex_v2: " + ErrorText(rc));
      continue;
    }
    // True when the call succeeded. "Not supported" (by this card) and
    // "function not found" (in this driver) skip the field quietly; any
    // other error skips it and is reported.
    auto ok = [&](const char* fn, nvmlReturn_t rc) {
      if (rc == NVML_SUCCESS) return true;
      if (rc != NVML_ERROR_NOT_SUPPORTED && rc != NVML_ERROR_FUNCTION_NOT_FOUND) {
        snap.errors.push_back(gpu + fn + ": " + ErrorText(rc));
      }
      return false;
    };
    GpuReading g;
    g.index = static_cast<int>(i);
    g.driver_version = driver;
    char buf[kStringBuffer] = {0};
    if (api_->name != nullptr && ok("nvmlDeviceGetName", api_->name(dev, buf, sizeof(buf)))) {
      g.name = CString(buf);
    }
    char uuid[kStringBuffer] = {0};
    if (api_->uuid != nullptr && ok("nvmlDeviceGetUUID", api_->uuid(dev, uuid, sizeof(uuid)))) {
      g.uuid = CString(uuid);
    }
    unsigned v = 0;
    if (api_->temperature != nullptr &&
        ok("nvmlDeviceGetTemperature", api_->temperature(dev, NVML_TEMPERATURE_GPU, &v))) {
      g.temperature_celsius = v;
    }
    nvmlUtilization_t util{};
    if (api_->utilization != nullptr &&
        ok("nvmlDeviceGetUtilizationRates", api_->utilization(dev, &util))) {
      g.utilization_ratio = util.gpu / 100.0;
    }
    nvmlMemory_t mem{};
    if (api_->memory != nullptr && ok("nvmlDeviceGetMemoryInfo", api_->memory(dev, &mem))) {
      g.memory_used_bytes = static_cast<double>(mem.used);
      g.memory_total_bytes = static_cast<double>(mem.total);
    }
    if (api_->power_usage != nullptr &&
        ok("nvmlDeviceGetPowerUsage", api_->power_usage(dev, &v))) {
      g.power_watts = v / 1000.0;
    }
    if (api_->power_limit != nullptr &&
        ok("nvmlDeviceGetEnforcedPowerLimit", api_->power_limit(dev, &v))) {
      g.power_limit_watts = v / 1000.0;
    }
    if (api_->clock != nullptr && ok("nvmlDeviceGetClockInfo", api_->clock(dev, NVML_CLOCK_SM, &v))) {
      g.sm_clock_hertz = v * 1e6;
    }
    if (api_->clock != nullptr &&
        ok("nvmlDeviceGetClockInfo", api_->clock(dev, NVML_CLOCK_MEM, &v))) {
      g.memory_clock_hertz = v * 1e6;
    }
    unsigned long long n = 0;
    if (api_->ecc_total != nullptr &&
        ok("nvmlDeviceGetTotalEccErrors",
           api_->ecc_total(dev, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &n))) {
      g.ecc_corrected = static_cast<double>(n);
    }
    if (api_->ecc_total != nullptr &&
        ok("nvmlDeviceGetTotalEccErrors",
           api_->ecc_total(dev, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &n))) {
      g.ecc_uncorrected = static_cast<double>(n);
    }
    if (api_->throttle_reasons != nullptr &&
        ok("nvmlDeviceGetCurrentClocksThrottleReasons", api_->throttle_reasons(dev, &n))) {
      g.throttle_reasons = n;
    }
    if (api_->fan_speed != nullptr && ok("nvmlDeviceGetFanSpeed", api_->fan_speed(dev, &v))) {
      g.fan_ratio = v / 100.0;
    }
    snap.gpus.push_back(std::move(g));
  }
  return snap;
}

}  // namespace joelclaw
