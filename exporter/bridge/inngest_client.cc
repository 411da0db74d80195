#include "exporter/bridge/inngest_client.h"

#include <curl/curl.h>

#include "exporter/env.h"
#include "exporter/probe.h"
#include "exporter/probes/net.h"

namespace joelclaw {
namespace {

constexpr size_t kMaxAnswerBytes = 64 << 10;

size_t KeepAnswer(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* out = static_cast<std::string*>(userdata);
  const size_t n = size * nmemb;
  out->append(ptr, std::min(n, kMaxAnswerBytes -
                                   std::min(kMaxAnswerBytes, out->size())));
  return n;
}

}  // namespace

Status PostInngestEvents(const std::string& base_url,
                         const std::string& event_key,
                         const std::string& events_json, Duration timeout,
                         const std::atomic<bool>* cancel, long* http_status) {
  CURL* c = curl_easy_init();
  if (c == nullptr) return Status::Error("curl_easy_init failed");
  std::string answer;
  char* escaped =
      curl_easy_escape(c, event_key.data(), static_cast<int>(event_key.size()));
  const std::string url = base_url + "/e/" + (escaped ? escaped : "");
  curl_free(escaped);
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  ProbeContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + timeout;
  ctx.cancel = cancel;
  ApplyProbeDeadline(c, ctx);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(c, CURLOPT_USERAGENT, "joelclaw_exporter");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, events_json.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(events_json.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepAnswer);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  CURLcode rc = PerformWithDeadline(c, ctx);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  if (http_status != nullptr) *http_status = rc == CURLE_OK ? status : 0;
  // The URL holds the event key: errors name only the base URL.
  if (rc != CURLE_OK) {
    return Status::Error("POST " + base_url +
                         "/e/<key> failed: " + curl_easy_strerror(rc));
  }
  if (status < 200 || status > 299) {
    return Status::Error("POST " + base_url + "/e/<key> answered HTTP " +
                         std::to_string(status) + ": " + FirstLineOf(answer));
  }
  return Status::Ok();
}

DeliveryFailure ClassifyDeliveryFailure(long http_status) {
  if (http_status == 401 || http_status == 403 || http_status == 404) {
    return DeliveryFailure::kConfig;
  }
  if (http_status >= 400 && http_status <= 499 && http_status != 408 && http_status != 429) {
    return DeliveryFailure::kPermanent;
  }
  return DeliveryFailure::kRetry;
}

}  // namespace joelclaw
