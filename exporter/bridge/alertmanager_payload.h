#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"
#include "nlohmann/json.hpp"

namespace joelclaw {

/// One alert of an Alertmanager webhook notification.
struct AlertmanagerAlert {
  std::string status;  ///< "firing" or "resolved".
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string starts_at;  ///< RFC 3339, as sent.
  std::string
      ends_at;  ///< RFC 3339, as sent ("0001-01-01T00:00:00Z" while firing).
  std::string generator_url;
  std::string fingerprint;
};

/// An Alertmanager webhook notification, payload version "4"
/// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
struct AlertmanagerPayload {
  std::string status;  ///< Of the group: "firing" or "resolved".
  std::string receiver;
  std::string group_key;  ///< Optional in the payload; "" when absent.
  std::map<std::string, std::string> group_labels;
  std::map<std::string, std::string> common_labels;
  std::vector<AlertmanagerAlert> alerts;
};

/// Parses and validates a webhook body. Requires `version: "4"`, `status`,
/// `receiver`, `groupLabels`, `commonLabels` and `alerts`, every alert with
/// status firing|resolved, labels, annotations, RFC 3339 startsAt/endsAt,
/// generatorURL and a non-empty fingerprint. Unknown fields are ignored
/// (Alertmanager adds fields within a version). Errors are sentences naming
/// the field ("alerts[2].fingerprint is missing"). Pure; never throws.
Result<AlertmanagerPayload> ParseAlertmanagerPayload(std::string_view body);

/// The Inngest event names the bridge sends.
inline constexpr std::string_view kEventDegraded = "system/health.degraded";
inline constexpr std::string_view kEventRecovered = "system/health.recovered";

/// The event id of an alert: "joelclaw-" + hex SHA-256 of
/// "fingerprint|startsAt|status". Alertmanager re-sends of one alert state
/// map to the same id, so Inngest runs its functions once. Pure.
std::string InngestEventId(const AlertmanagerAlert& alert);

/// One Inngest event per alert, in payload order: name (degraded for firing,
/// recovered for resolved), id (InngestEventId), ts (`now_ms`, when the
/// bridge received the notification) and data (labels, annotations, status,
/// startsAt, endsAt, generatorURL, fingerprint, receiver). Pure.
std::vector<nlohmann::json> BuildInngestEvents(
    const AlertmanagerPayload& payload, int64_t now_ms);

}  // namespace joelclaw
