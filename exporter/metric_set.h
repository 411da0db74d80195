#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace joelclaw {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// A bag of metric families being built for one snapshot. Samples of the same
/// family are grouped; families come out sorted by name. Not thread-safe: one
/// builder per collector run.
class MetricSet {
 public:
  /// Adds a gauge sample. The family's help is taken from its first sample.
  /// A label whose value is empty is left out (Prometheus reads an empty
  /// label as an absent one, and an absent `host` lets the scrape's target
  /// label fill it in under honor_labels).
  void Gauge(const std::string& name, const std::string& help,
             const Labels& labels, double value);
  /// Adds a counter sample; `name` must end in _total.
  void Counter(const std::string& name, const std::string& help,
               const Labels& labels, double value);
  /// Appends every sample of `other`.
  void Merge(const MetricSet& other);
  bool empty() const { return families_.empty(); }
  /// Number of samples in total.
  size_t SampleCount() const;

  std::vector<prometheus::MetricFamily> Families() const;
  /// Looks up one sample's value; for tests. Returns false when absent.
  /// Labels with empty values in `labels` are ignored, as in Gauge().
  bool Find(const std::string& name, const Labels& labels, double* value) const;

 private:
  void Add(const std::string& name, const std::string& help,
           prometheus::MetricType type, const Labels& labels, double value);
  std::map<std::string, prometheus::MetricFamily> families_;
};

/// Renders families in the Prometheus text format 0.0.4.
std::string RenderText(const std::vector<prometheus::MetricFamily>& families);

}  // namespace joelclaw
