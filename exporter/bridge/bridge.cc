#include "exporter/bridge/bridge.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <strings.h>

#include <algorithm>

#include "exporter/bridge/alertmanager_payload.h"
#include "exporter/bridge/inngest_client.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

// Events per POST: Inngest takes arrays; a bounded batch keeps one request
// small and its failure cheap to repeat.
constexpr size_t kBatch = 50;

enum StatusIndex : size_t {
  kAccepted = 0,
  kBadRequest,
  kUnauthorized,
  kSpoolError
};

// Constant-time equality: both sides are hashed first so that neither the
// content nor the length of the configured token leaks through timing.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char ha[SHA256_DIGEST_LENGTH], hb[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), ha);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), hb);
  return CRYPTO_memcmp(ha, hb, sizeof(ha)) == 0;
}

// "" when the request carries the right token, else the reason for the 401.
std::string CheckBearer(const std::string& header, const std::string& token) {
  if (header.empty())
    return "this endpoint needs an Authorization: Bearer header";
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      strncasecmp(header.c_str(), kScheme.data(), kScheme.size()) != 0) {
    return "the Authorization header is not a bearer token";
  }
  std::string_view given(header);
  given.remove_prefix(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  if (!SameSecret(given, token)) return "the bearer token is wrong";
  return "";
}

HttpResponse JsonAnswer(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump() + "\n";
  return r;
}

}  // namespace

Result<std::unique_ptr<Bridge>> Bridge::Open(const BridgeConfig& config,
                                             Options options) {
  Result<std::unique_ptr<Spool>> spool =
      Spool::Open(config.spool_dir, options.spool);
  if (!spool.ok()) return spool.status().WithPrefix("bridge");
  for (const std::string& w : (*spool)->TakeWarnings())
    spdlog::warn("bridge spool: {}", w);
  if ((*spool)->size() > 0) {
    spdlog::info("bridge: {} undelivered events in the spool {} will be sent",
                 (*spool)->size(), config.spool_dir);
  }
  return std::unique_ptr<Bridge>(
      new Bridge(config, std::move(options), std::move(spool).value()));
}

Bridge::Bridge(const BridgeConfig& config, Options options,
               std::unique_ptr<Spool> spool)
    : options_(std::move(options)), spool_(std::move(spool)), config_(config) {
  env_ = options_.env != nullptr ? options_.env : Env::Default();
}

Bridge::~Bridge() { Stop(); }

void Bridge::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (sender_.joinable() || stopping_) return;
  sender_ = std::thread(&Bridge::SenderLoop, this);
}

void Bridge::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  cancel_ = true;
  if (sender_.joinable()) sender_.join();
}

void Bridge::Update(const BridgeConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = config;
  wake_ = true;
  retry_now_ = true;
  cv_.notify_all();
}

void Bridge::Changed() const {
  if (options_.on_change) options_.on_change();
}

void Bridge::Count(size_t status_index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.notifications[status_index] += 1;
  }
  Changed();
}

HttpResponse Bridge::HandleNotification(const HttpRequest& request) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = config_.token;
  }
  if (!token.empty()) {
    std::string why = CheckBearer(request.Header("authorization"), token);
    if (!why.empty()) {
      Count(kUnauthorized);
      HttpResponse r = HttpResponse::Text(401, "Unauthorized: " + why + "\n");
      r.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"joelclaw_exporter\"");
      return r;
    }
  }
  Result<AlertmanagerPayload> payload = ParseAlertmanagerPayload(request.body);
  if (!payload.ok()) {
    Count(kBadRequest);
    spdlog::warn("bridge: rejected a notification from {}: {}",
                 request.remote_addr, payload.status().message());
    return HttpResponse::Text(
        400, "Bad request: not an Alertmanager webhook v4 payload: " +
                 payload.status().message() + "\n");
  }
  const double now = env_->NowSeconds();
  std::vector<nlohmann::json> events =
      BuildInngestEvents(*payload, static_cast<int64_t>(now * 1000));
  std::vector<std::string> texts;
  nlohmann::json ids = nlohmann::json::array();
  for (const nlohmann::json& e : events) {
    texts.push_back(
        e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    ids.push_back(e["id"]);
  }
  Status s = spool_->Append(texts, now);
  if (!s.ok()) {
    Count(kSpoolError);
    spdlog::error("bridge: cannot spool {} events: {}", texts.size(),
                  s.message());
    // 5xx: Alertmanager retries, and nothing was promised.
    return HttpResponse::Text(
        503, "Service unavailable: the events could not be spooled: " +
                 s.message() + "\n");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.notifications[kAccepted] += 1;
    wake_ = true;
    cv_.notify_all();
  }
  Changed();
  return JsonAnswer(
      200, {{"status", "accepted"}, {"events", texts.size()}, {"ids", ids}});
}

BridgeStats Bridge::Stats(double now) const {
  BridgeStats out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = stats_;
  }
  out.spool_events = static_cast<double>(spool_->size());
  const double oldest = spool_->OldestSpooledAt();
  out.spool_oldest_age_seconds = oldest > 0 ? std::max(0.0, now - oldest) : 0;
  return out;
}

void Bridge::SenderLoop() {
  Duration backoff{0};
  while (true) {
    BridgeConfig cfg;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (backoff.count() > 0) {
        // A reload (Update) ends the wait: the new settings may fix it.
        cv_.wait_for(lock, backoff, [&] { return stopping_ || retry_now_; });
      }
      retry_now_ = false;
      if (stopping_) return;
      if (spool_->size() == 0) {
        cv_.wait(lock, [&] { return stopping_ || wake_; });
        if (stopping_) return;
      }
      wake_ = false;
      cfg = config_;
    }
    std::vector<Spool::Entry> batch = spool_->Pending(kBatch);
    if (batch.empty()) continue;
    std::string body = "[";
    for (const Spool::Entry& e : batch)
      body += (body.size() > 1 ? "," : "") + e.event;
    body += "]";
    Status s = PostInngestEvents(cfg.inngest_url, cfg.event_key, body,
                                 cfg.timeout, &cancel_);
    if (s.ok()) s = spool_->Ack(batch.back().seq);
    if (s.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.events_sent += static_cast<double>(batch.size());
      }
      backoff = Duration{0};
      spdlog::debug("bridge: delivered {} events to Inngest", batch.size());
      Changed();
      continue;
    }
    if (cancel_) return;  // Stopping: the events stay spooled.
    backoff = backoff.count() == 0 ? cfg.retry_initial
                                   : std::min(backoff * 2, cfg.retry_max);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.send_failures += 1;
    }
    spdlog::warn("bridge: delivering {} events failed, retrying in {}: {}",
                 batch.size(), FormatDuration(backoff), s.message());
    Changed();
  }
}

}  // namespace joelclaw
