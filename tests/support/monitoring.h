#pragma once

#include <set>
#include <string>
#include <vector>

namespace joelclaw::testing {

/// Absolute paths of the files directly in SourceDir()/`dir` whose names end
/// in `suffix`, sorted.
std::vector<std::string> SourceFiles(const std::string& dir, const std::string& suffix);

/// The series names a PromQL expression refers to: identifiers outside
/// quotes that start with "joelclaw_" (exported metrics) or contain ':'
/// (recording rules). Label names and functions are not returned.
std::set<std::string> SeriesNames(const std::string& expr);

/// Metric names documented in docs/metrics.md (the first `code` cell of each
/// table row).
std::set<std::string> DocumentedMetrics();

}  // namespace joelclaw::testing
