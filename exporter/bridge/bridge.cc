#include "exporter/bridge/bridge.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <strings.h>

#include <algorithm>

#include "exporter/bridge/alertmanager_payload.h"
#include "exporter/bridge/inngest_client.h"
#include "exporter/text_parse.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

// Events per POST: Inngest takes arrays; a bounded batch keeps one request
// small and its failure cheap to repeat.
constexpr size_t kBatch = 50;
// An annotation is first cut to this many bytes when an event is too big.
constexpr size_t kTrimmedAnnotationBytes = 1024;

enum StatusIndex : size_t {
  kAccepted = 0,
  kBadRequest,
  kUnauthorized,
  kUnsupportedMediaType,
  kTooLarge,
  kSpoolError
};
enum DropIndex : size_t { kDropRejected = 0, kDropSpoolFull, kDropCorrupt };

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
  if (header.empty()) return "this endpoint needs an Authorization: Bearer header";
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      strncasecmp(header.c_str(), kScheme.data(), kScheme.size()) != 0) {
    return "the Authorization header is not a bearer token";
  }
  std::string_view given(header);
  given.remove_prefix(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  if (token.empty() || !SameSecret(given, token)) return "the bearer token is wrong";
  return "";
}

// True for "application/json", with parameters or not, in any case.
bool IsJson(const std::string& content_type) {
  std::string_view media = TrimBlanks(std::string_view(content_type).substr(
      0, std::min(content_type.find(';'), content_type.size())));
  return AsciiLower(std::string(media)) == "application/json";
}

HttpResponse JsonAnswer(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump() + "\n";
  return r;
}

Duration NextBackoff(Duration backoff, const BridgeConfig& cfg) {
  return backoff.count() == 0 ? cfg.retry_initial : std::min(backoff * 2, cfg.retry_max);
}

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

size_t JsonBytes(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

}  // namespace

bool TrimInngestEvent(nlohmann::json* event, size_t max_bytes) {
  const size_t original = JsonBytes(*event);
  if (original <= max_bytes) return true;
  nlohmann::json& data = (*event)["data"];
  if (!data.is_object() || !data.contains("annotations") || !data["annotations"].is_object()) {
    return false;
  }
  nlohmann::json& annotations = data["annotations"];
  for (auto& [key, value] : annotations.items()) {
    if (value.is_string() && value.get<std::string>().size() > kTrimmedAnnotationBytes) {
      value = CutUtf8(value.get<std::string>(), kTrimmedAnnotationBytes) + " [trimmed]";
    }
  }
  data["trimmed"] = {{"original_bytes", original}, {"what", "annotations shortened"}};
  if (JsonBytes(*event) <= max_bytes) return true;
  annotations = nlohmann::json::object();
  data["trimmed"]["what"] = "annotations removed";
  return JsonBytes(*event) <= max_bytes;
}

void AddBridgeMetrics(const BridgeStats& b, MetricSet* m) {
  for (size_t i = 0; i < kBridgeNotificationStatuses.size(); ++i) {
    m->Counter("joelclaw_bridge_notifications_total",
               "Alertmanager notifications received on /alertmanager, by outcome.",
               {{"status", std::string(kBridgeNotificationStatuses[i])}}, b.notifications[i]);
  }
  for (size_t i = 0; i < kBridgeDropReasons.size(); ++i) {
    m->Counter("joelclaw_bridge_events_dropped_total",
               "Events the bridge gave up on without delivering them, by reason.",
               {{"reason", std::string(kBridgeDropReasons[i])}}, b.events_dropped[i]);
  }
  m->Counter("joelclaw_bridge_events_sent_total", "Events Inngest accepted from the bridge.", {},
             b.events_sent);
  m->Counter("joelclaw_bridge_events_trimmed_total",
             "Events whose annotations were shortened or removed to fit the event size limit.",
             {}, b.events_trimmed);
  m->Counter("joelclaw_bridge_send_failures_total",
             "Failed attempts to deliver spooled events to Inngest.", {}, b.send_failures);
  m->Gauge("joelclaw_bridge_spool_events", "Events spooled and not yet delivered to Inngest.", {},
           b.spool_events);
  m->Gauge("joelclaw_bridge_spool_bytes", "Bytes of the spooled, undelivered events' records.",
           {}, b.spool_bytes);
  m->Gauge("joelclaw_bridge_spool_oldest_age_seconds",
           "Age of the oldest undelivered event in the spool, 0 when it is empty.", {},
           b.spool_oldest_age_seconds);
  m->Gauge("joelclaw_bridge_spool_writable",
           "1 while the bridge's spool is open and writable, 0 while /alertmanager answers 503.",
           {}, b.spool_writable);
}

std::unique_ptr<Bridge> Bridge::Open(const BridgeConfig& config, Options options) {
  std::unique_ptr<Bridge> bridge(new Bridge(config, std::move(options)));
  Status s = bridge->OpenSpool(config);
  if (!s.ok()) {
    spdlog::error(
        "bridge: the spool cannot be opened; /alertmanager answers 503 until it can "
        "(retrying): {}",
        EscapeLogField(s.message()));
  }
  return bridge;
}

Bridge::Bridge(const BridgeConfig& config, Options options)
    : options_(std::move(options)), spool_dir_(config.spool_dir), config_(config) {
  env_ = options_.env != nullptr ? options_.env : Env::Default();
  options_.spool.env = env_;
}

Bridge::~Bridge() { Stop(); }

void Bridge::LogSpoolWarnings(Spool& spool) {
  for (const std::string& w : spool.TakeWarnings()) {
    spdlog::warn("bridge spool: {}", EscapeLogField(w));
  }
  const uint64_t corrupt = spool.corrupt_records();
  uint64_t fresh = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (corrupt > corrupt_counted_) {
      fresh = corrupt - corrupt_counted_;
      corrupt_counted_ = corrupt;
      stats_.events_dropped[kDropCorrupt] += static_cast<double>(fresh);
    }
  }
  if (fresh > 0) Changed();
}

Status Bridge::OpenSpool(const BridgeConfig& config) {
  Spool::Options so = options_.spool;
  so.max_events = static_cast<size_t>(config.spool_max_events);
  so.max_bytes = static_cast<uint64_t>(config.spool_max_bytes);
  Result<std::unique_ptr<Spool>> opened = Spool::Open(spool_dir_, so);
  if (!opened.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    spool_problem_ = opened.status().message();
    return opened.status();
  }
  std::shared_ptr<Spool> spool = std::move(opened).value();
  {
    std::lock_guard<std::mutex> lock(mu_);
    spool_ = spool;
    spool_problem_.clear();
    corrupt_counted_ = 0;
  }
  LogSpoolWarnings(*spool);
  if (spool->size() > 0) {
    spdlog::info("bridge: {} undelivered events in the spool {} will be sent", spool->size(),
                 EscapeLogField(spool_dir_));
  }
  Changed();
  return Status::Ok();
}

std::shared_ptr<Spool> Bridge::CurrentSpool() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spool_;
}

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
  std::shared_ptr<Spool> spool;
  {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = config;
    wake_ = true;
    retry_now_ = true;
    cv_.notify_all();
    spool = spool_;
  }
  if (spool) {
    spool->SetLimits(static_cast<size_t>(config.spool_max_events),
                     static_cast<uint64_t>(config.spool_max_bytes));
  }
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

std::optional<HttpResponse> Bridge::CheckHeaders(const HttpRequest& request) {
  std::string token;
  int64_t max_bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = config_.token;
    max_bytes = config_.max_notification_bytes;
  }
  std::string why = CheckBearer(request.Header("authorization"), token);
  if (!why.empty()) {
    Count(kUnauthorized);
    HttpResponse r = HttpResponse::Text(401, "Unauthorized: " + why + "\n");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"joelclaw_exporter\"");
    return r;
  }
  // Browsers send cross-site form posts as text/plain or form encodings
  // without asking first; application/json from another site needs a CORS
  // preflight, which this server never grants.
  if (!IsJson(request.Header("content-type"))) {
    Count(kUnsupportedMediaType);
    spdlog::warn("bridge: rejected a notification from {} with Content-Type \"{}\"",
                 EscapeLogField(request.remote_addr),
                 EscapeLogField(request.Header("content-type"), 100));
    return HttpResponse::Text(
        415, "Unsupported Media Type: the Alertmanager webhook sends application/json\n");
  }
  const std::string length = request.Header("content-length");
  if (!length.empty() && length.size() < 19 &&
      length.find_first_not_of("0123456789") == std::string::npos &&
      std::stoll(length) > max_bytes) {
    Count(kTooLarge);
    spdlog::warn("bridge: rejected a notification of {} bytes from {}: over the limit of {}",
                 length, EscapeLogField(request.remote_addr), max_bytes);
    return HttpResponse::Text(413, "Payload Too Large: notifications are limited to " +
                                       std::to_string(max_bytes) +
                                       " bytes (bridge: max_notification_bytes)\n");
  }
  return std::nullopt;
}

HttpResponse Bridge::HandleNotification(const HttpRequest& request) {
  if (std::optional<HttpResponse> early = CheckHeaders(request)) return *early;
  int64_t max_event_bytes;
  std::shared_ptr<Spool> spool;
  std::string problem;
  {
    std::lock_guard<std::mutex> lock(mu_);
    max_event_bytes = config_.max_event_bytes;
    spool = spool_;
    problem = spool_problem_;
  }
  if (!spool) {
    Count(kSpoolError);
    HttpResponse r = HttpResponse::Text(
        503, "Service unavailable: the bridge's spool cannot be opened (" + problem +
                 "); retrying\n");
    r.headers.emplace_back("Retry-After", "10");
    return r;
  }
  Result<AlertmanagerPayload> payload = ParseAlertmanagerPayload(request.body);
  if (!payload.ok()) {
    Count(kBadRequest);
    spdlog::warn("bridge: rejected a notification from {}: {}",
                 EscapeLogField(request.remote_addr), EscapeLogField(payload.status().message()));
    return HttpResponse::Text(400, "Bad request: not an Alertmanager webhook v4 payload: " +
                                       payload.status().message() + "\n");
  }
  const double now = env_->NowSeconds();
  std::vector<nlohmann::json> events = BuildInngestEvents(*payload, static_cast<int64_t>(now * 1000));
  std::vector<std::string> texts;
  nlohmann::json ids = nlohmann::json::array();
  size_t trimmed = 0;
  for (nlohmann::json& e : events) {
    std::string text = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > static_cast<size_t>(max_event_bytes)) {
      const size_t before = text.size();
      if (!TrimInngestEvent(&e, static_cast<size_t>(max_event_bytes))) {
        // Too big without its annotations: its labels are. 413, not 5xx:
        // Alertmanager would only send it again.
        Count(kTooLarge);
        spdlog::warn(
            "bridge: rejected a notification from {}: event {} is {} bytes even without "
            "annotations, over the limit of {}",
            EscapeLogField(request.remote_addr), EscapeLogField(e["id"].get<std::string>()),
            before, max_event_bytes);
        return HttpResponse::Text(
            413, "Payload Too Large: an alert's event is over the limit of " +
                     std::to_string(max_event_bytes) +
                     " bytes even without its annotations (bridge: max_event_bytes)\n");
      }
      text = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      ++trimmed;
      spdlog::warn("bridge: event {} was {} bytes, over the limit of {}: sending it with {}",
                   EscapeLogField(e["id"].get<std::string>()), before, max_event_bytes,
                   e["data"]["trimmed"]["what"].get<std::string>());
    }
    texts.push_back(std::move(text));
    ids.push_back(e["id"]);
  }
  size_t dropped = 0;
  Status s = spool->Append(texts, now, &dropped);
  if (!s.ok()) {
    Count(kSpoolError);
    spdlog::error("bridge: cannot spool {} events: {}", texts.size(),
                  EscapeLogField(s.message()));
    {
      // A sticky error: the sender reopens the spool.
      std::lock_guard<std::mutex> lock(mu_);
      wake_ = true;
      cv_.notify_all();
    }
    // 5xx: Alertmanager retries, and nothing was promised.
    return HttpResponse::Text(
        503, "Service unavailable: the events could not be spooled: " + s.message() + "\n");
  }
  if (dropped > 0) {
    spdlog::warn(
        "bridge: the spool is full (bridge: spool_max_events / spool_max_bytes): dropped the "
        "{} oldest undelivered events to take {} new ones",
        dropped, texts.size());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.notifications[kAccepted] += 1;
    stats_.events_trimmed += static_cast<double>(trimmed);
    stats_.events_dropped[kDropSpoolFull] += static_cast<double>(dropped);
    wake_ = true;
    cv_.notify_all();
  }
  Changed();
  return JsonAnswer(200, {{"status", "accepted"}, {"events", texts.size()}, {"ids", ids}});
}

BridgeStats Bridge::Stats(double now) const {
  BridgeStats out;
  std::shared_ptr<Spool> spool;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = stats_;
    spool = spool_;
  }
  if (!spool) return out;
  out.spool_events = static_cast<double>(spool->size());
  out.spool_bytes = static_cast<double>(spool->bytes());
  out.spool_writable = spool->error().ok() ? 1 : 0;
  const double oldest = spool->OldestSpooledAt();
  out.spool_oldest_age_seconds = oldest > 0 ? std::max(0.0, now - oldest) : 0;
  return out;
}

void Bridge::SenderLoop() {
  Duration backoff{0};
  // After Inngest rejected a whole batch for good, this many events go one
  // at a time, so only the bad ones are dropped.
  size_t one_by_one = 0;
  while (true) {
    BridgeConfig cfg;
    std::shared_ptr<Spool> spool;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (backoff.count() > 0) {
        // A reload (Update) ends the wait: the new settings may fix it.
        cv_.wait_for(lock, backoff, [&] { return stopping_ || retry_now_; });
      }
      retry_now_ = false;
      if (stopping_) return;
      if (spool_ && spool_->size() == 0 && spool_->error().ok()) {
        cv_.wait(lock, [&] { return stopping_ || wake_; });
        if (stopping_) return;
      }
      wake_ = false;
      cfg = config_;
      spool = spool_;
    }
    if (!spool || !spool->error().ok()) {
      if (spool) {
        // Close it (the lock goes with the last reference) and replay what
        // the disk holds: the only way to know.
        spdlog::error("bridge: the spool failed ({}); reopening it",
                      EscapeLogField(spool->error().message()));
        std::lock_guard<std::mutex> lock(mu_);
        spool_problem_ = spool->error().message();
        spool_.reset();
      }
      spool.reset();
      Changed();
      Status s = OpenSpool(cfg);
      if (s.ok()) {
        spdlog::info("bridge: the spool {} is open again", EscapeLogField(spool_dir_));
        backoff = Duration{0};
        continue;
      }
      backoff = NextBackoff(backoff, cfg);
      spdlog::warn("bridge: cannot open the spool, retrying in {}: {}", FormatDuration(backoff),
                   EscapeLogField(s.message()));
      continue;
    }
    Result<std::vector<Spool::Entry>> batch = spool->Pending(one_by_one > 0 ? 1 : kBatch);
    LogSpoolWarnings(*spool);
    if (!batch.ok() || batch->empty()) continue;
    std::string body = "[";
    for (const Spool::Entry& e : *batch) body += (body.size() > 1 ? "," : "") + e.event;
    body += "]";
    long http_status = 0;
    Status s = PostInngestEvents(cfg.inngest_url, cfg.event_key, body, cfg.timeout, &cancel_,
                                 &http_status);
    if (s.ok()) {
      Status acked = spool->Ack(batch->back().seq);
      if (!acked.ok()) {
        // Sent but not recorded: the events go again after the reopen, and
        // Inngest drops the duplicates by id.
        spdlog::error("bridge: delivered {} events but cannot record it: {}", batch->size(),
                      EscapeLogField(acked.message()));
        backoff = NextBackoff(backoff, cfg);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.events_sent += static_cast<double>(batch->size());
      }
      one_by_one -= std::min(one_by_one, batch->size());
      backoff = Duration{0};
      spdlog::debug("bridge: delivered {} events to Inngest", batch->size());
      Changed();
      continue;
    }
    if (cancel_) return;  // Stopping: the events stay spooled.
    if (ClassifyDeliveryFailure(http_status) == DeliveryFailure::kPermanent) {
      if (batch->size() > 1) {
        spdlog::warn(
            "bridge: Inngest rejected a batch of {} events for good ({}); sending them one at "
            "a time to find the ones it will not take",
            batch->size(), EscapeLogField(s.message()));
        one_by_one = batch->size();
        continue;
      }
      const Spool::Entry& e = batch->front();
      Status acked = spool->Ack(e.seq);
      if (acked.ok()) {
        std::string id = "?";
        nlohmann::json parsed = nlohmann::json::parse(e.event, nullptr, false);
        if (parsed.is_object() && parsed.contains("id") && parsed["id"].is_string()) {
          id = parsed["id"].get<std::string>();
        }
        spdlog::warn("bridge: dropped event {} (spooled {:.0f}s ago): Inngest will not take it: {}",
                     EscapeLogField(id), env_->NowSeconds() - e.spooled_at,
                     EscapeLogField(s.message()));
        {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.events_dropped[kDropRejected] += 1;
        }
        one_by_one -= std::min<size_t>(one_by_one, 1);
        backoff = Duration{0};
        Changed();
        continue;
      }
      s = acked;
    }
    backoff = NextBackoff(backoff, cfg);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.send_failures += 1;
    }
    spdlog::warn("bridge: delivering {} events failed, retrying in {}: {}", batch->size(),
                 FormatDuration(backoff), EscapeLogField(s.message()));
    Changed();
  }
}

}  // namespace joelclaw
