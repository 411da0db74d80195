#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace joelclaw {

/// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted
/// attribute values. Pure.
std::string HtmlEscape(std::string_view text);

/// The exporter's `GET /` page: the board (from BuildBoard) rendered as one
/// self-contained HTML document (inline CSS and script, no external assets,
/// readable on a phone). Every string from the board is escaped. The script
/// re-fetches the page every 5 seconds and swaps the board in place; without
/// scripts a meta refresh reloads it every 10 seconds. Links to the
/// exporter's metrics at `metrics_path` (its --web.telemetry-path) and to
/// /api/v1/status. Pure; thread-safe.
std::string RenderStatusPage(const nlohmann::json& board,
                             std::string_view metrics_path = "/metrics");

/// The page for the status document of this exporter (its
/// /api/v1/status JSON text); a document that cannot be read gives a page
/// saying so. Pure; thread-safe.
std::string RenderStatusPageForDocument(const std::string& status_json,
                                        std::string_view metrics_path = "/metrics");

/// Headers that go with the page: a Content-Security-Policy that allows only
/// the inline style and script and requests to this origin, and no caching.
std::vector<std::pair<std::string, std::string>> StatusPageHeaders();

}  // namespace joelclaw
