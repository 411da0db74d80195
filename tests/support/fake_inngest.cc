#include "tests/support/fake_inngest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <set>

#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace {

constexpr size_t kMaxRequestBytes = 16 << 20;

// Waits up to 100 ms for `fd` to be readable; the short slices let Stop()
// end every wait promptly.
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 100) > 0;
}

void Answer(int fd, int status, const std::string& reason,
            const nlohmann::json& body) {
  const std::string text = body.dump();
  const std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + reason +
      "\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text;
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

FakeInngest::FakeInngest(std::string event_key, int port)
    : key_(std::move(event_key)) {
  listen_fd_ = ListenLoopback(port, &port_);
  if (listen_fd_ < 0) return;
  thread_ = std::thread(&FakeInngest::Serve, this);
}

FakeInngest::~FakeInngest() { Stop(); }

void FakeInngest::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
}

std::string FakeInngest::BaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<nlohmann::json> FakeInngest::Events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

size_t FakeInngest::DistinctIds() const {
  std::set<std::string> ids;
  for (const nlohmann::json& e : Events()) ids.insert(e.value("id", ""));
  return ids.size();
}

void FakeInngest::Serve() {
  while (!stop_) {
    if (!Readable(listen_fd_)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    Handle(fd);
    close(fd);
  }
}

void FakeInngest::Handle(int fd) {
  std::string data;
  size_t header_end = std::string::npos;
  size_t content_length = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    if (header_end != std::string::npos &&
        data.size() >= header_end + 4 + content_length)
      break;
    if (!Readable(fd)) continue;
    char buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxRequestBytes)
      return Answer(fd, 413, "Payload Too Large", {{"error", "too large"}});
    if (header_end == std::string::npos &&
        (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::string head = data.substr(0, header_end);
      for (char& c : head)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t at = head.find("\r\ncontent-length:");
      if (at != std::string::npos)
        content_length = std::stoul(head.substr(at + 17));
    }
  }
  if (header_end == std::string::npos ||
      data.size() < header_end + 4 + content_length)
    return;
  const std::string request_line = data.substr(0, data.find("\r\n"));
  const std::string body = data.substr(header_end + 4, content_length);
  if (request_line.rfind("GET /health ", 0) == 0) {
    // Inngest's health endpoint, which the exporter's `inngest` check asks.
    return Answer(fd, 200, "OK", {{"status", 200}, {"message", "OK"}});
  }
  if (request_line.rfind("POST /e/", 0) != 0) {
    return Answer(fd, 404, "Not Found",
                  {{"error", "not found"}, {"status", 404}});
  }
  const size_t key_start = std::strlen("POST /e/");
  const std::string key = request_line.substr(
      key_start, request_line.find(' ', key_start) - key_start);
  if (key != key_) {
    ++unauthorized_;
    return Answer(fd, 401, "Unauthorized",
                  {{"error", "Event key not found"}, {"status", 401}});
  }
  if (status_ != 200) {
    return Answer(fd, status_, "Error",
                  {{"error", "unavailable"}, {"status", status_.load()}});
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  std::vector<nlohmann::json> batch;
  if (doc.is_object()) batch.push_back(doc);
  if (doc.is_array()) batch.assign(doc.begin(), doc.end());
  for (const nlohmann::json& e : batch) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
        e["name"] == "") {
      return Answer(fd, 400, "Bad Request",
                    {{"error", "event name is required"}, {"status", 400}});
    }
  }
  if (batch.empty()) {
    return Answer(fd, 400, "Bad Request",
                  {{"error", "no events in the body"}, {"status", 400}});
  }
  if (const size_t limit = max_event_bytes_.load(); limit > 0) {
    for (const nlohmann::json& e : batch) {
      if (e.dump().size() > limit) {
        return Answer(fd, 413, "Payload Too Large",
                      {{"error", "event too large"}, {"status", 413}});
      }
    }
  }
  nlohmann::json ids = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const nlohmann::json& e : batch) {
      events_.push_back(e);
      // Inngest answers with its own internal ids (ULIDs), not the events'.
      char id[32];
      std::snprintf(id, sizeof(id), "01JFAKE%019d", next_id_++);
      ids.push_back(id);
    }
  }
  Answer(fd, 200, "OK", {{"ids", ids}, {"status", 200}});
}

}  // namespace joelclaw::testing
