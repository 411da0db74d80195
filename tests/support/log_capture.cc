#include "tests/support/log_capture.h"

#include <sstream>

#include "exporter/logging.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace joelclaw::testing {
namespace {

// spdlog creates its registry (and default logger) on first use, inside the
// uninstrumented libspdlog: when that first use is a scheduler worker, TSan
// cannot see the guard that orders it before other workers' reads and
// reports a race. The exporter sets up logging in main before any thread;
// the test binary does the same here, before main.
[[maybe_unused]] const bool kSpdlogRegistryCreated = spdlog::default_logger_raw() != nullptr;

}  // namespace

// Keeps the formatted lines in memory, under the sink's own mutex.
class LogCapture::Sink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    text_.append(buf.data(), buf.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

LogCapture::LogCapture() : sink_(std::make_shared<Sink>()) {
  previous_ = spdlog::default_logger();
  sink_->set_formatter(MakeLogFormatter(LogFormat::kJson));
  logger_ = std::make_shared<spdlog::logger>("capture", sink_);
  logger_->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger_);
}

LogCapture::~LogCapture() { spdlog::set_default_logger(previous_); }

std::vector<nlohmann::json> LogCapture::Lines() const {
  std::vector<nlohmann::json> lines;
  std::istringstream in(sink_->Text());
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

std::vector<nlohmann::json> LogCapture::Lines(const std::string& level,
                                              const std::string& msg) const {
  std::vector<nlohmann::json> out;
  for (nlohmann::json& j : Lines()) {
    if (j.value("level", "") == level && j.value("msg", "") == msg) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace joelclaw::testing
