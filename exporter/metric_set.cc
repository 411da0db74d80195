#include "exporter/metric_set.h"

#include <sstream>

#include "prometheus/text_serializer.h"

namespace joelclaw {

void MetricSet::Gauge(const std::string& name, const std::string& help,
                      const Labels& labels, double value) {
  Add(name, help, prometheus::MetricType::Gauge, labels, value);
}

void MetricSet::Counter(const std::string& name, const std::string& help,
                        const Labels& labels, double value) {
  Add(name, help, prometheus::MetricType::Counter, labels, value);
}

void MetricSet::Add(const std::string& name, const std::string& help,
                    prometheus::MetricType type, const Labels& labels,
                    double value) {
  auto [it, inserted] = families_.try_emplace(name);
  prometheus::MetricFamily& family = it->second;
  if (inserted) {
    family.name = name;
    family.help = help;
    family.type = type;
  }
  prometheus::ClientMetric metric;
  for (const auto& [k, v] : labels) {
    if (!v.empty()) metric.label.push_back({k, v});
  }
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

void MetricSet::Merge(const MetricSet& other) {
  for (const auto& [name, family] : other.families_) {
    auto [it, inserted] = families_.try_emplace(name, family);
    if (!inserted) {
      it->second.metric.insert(it->second.metric.end(), family.metric.begin(),
                               family.metric.end());
    }
  }
}

size_t MetricSet::SampleCount() const {
  size_t n = 0;
  for (const auto& [name, family] : families_) n += family.metric.size();
  return n;
}

std::vector<prometheus::MetricFamily> MetricSet::Families() const {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(families_.size());
  for (const auto& [name, family] : families_) out.push_back(family);
  return out;
}

bool MetricSet::Find(const std::string& name, const Labels& labels,
                     double* value) const {
  auto it = families_.find(name);
  if (it == families_.end()) return false;
  Labels wanted;
  for (const auto& [k, v] : labels) {
    if (!v.empty()) wanted.emplace_back(k, v);
  }
  for (const auto& m : it->second.metric) {
    if (m.label.size() != wanted.size()) continue;
    bool same = true;
    for (size_t i = 0; i < wanted.size() && same; ++i) {
      same = m.label[i].name == wanted[i].first && m.label[i].value == wanted[i].second;
    }
    if (!same) continue;
    *value = it->second.type == prometheus::MetricType::Counter ? m.counter.value
                                                                : m.gauge.value;
    return true;
  }
  return false;
}

std::string RenderText(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace joelclaw
