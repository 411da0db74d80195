#include "tests/support/probe_runner.h"

#include "exporter/config_node.h"
#include "exporter/registry.h"

namespace joelclaw::testing {

Result<std::unique_ptr<Probe>> ParseProbe(std::string_view kind, const std::string& yaml) {
  ConfigContext ctx("test.yaml");
  for (const ProbeKind& k : ProbeKinds()) {
    if (k.name != kind) continue;
    try {
      return k.parse(YAML::Load(yaml), ctx);
    } catch (const YAML::Exception& e) {
      return Result<std::unique_ptr<Probe>>::Error(std::string("bad test YAML: ") + e.what());
    }
  }
  return Result<std::unique_ptr<Probe>>::Error("no probe kind " + std::string(kind));
}

}  // namespace joelclaw::testing
