#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "spdlog/logger.h"

namespace joelclaw::testing {

/// While it lives, spdlog's default logger writes JSON lines (the
/// exporter's own formatter, exporter/logging.h) at debug level into memory
/// instead of stderr; the previous logger comes back on destruction.
/// Lines() may be called while other threads log.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Every line so far, parsed (a line that is not JSON fails the test).
  std::vector<nlohmann::json> Lines() const;
  /// The lines with this level and msg.
  std::vector<nlohmann::json> Lines(const std::string& level, const std::string& msg) const;

 private:
  class Sink;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace joelclaw::testing
