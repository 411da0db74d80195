// deploy/: the one description of the network (network.yaml) and each
// machine's exporter config. Every config the network runs passes the real
// binary's --config.check, describes every host and check in a line, and the
// machines of network.yaml are the hosts the configs watch.

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw::testing {
namespace deploy_test {

YAML::Node Network() { return YAML::LoadFile(SourceDir() + "/deploy/network.yaml"); }

// network.yaml's machines that run an exporter, and its config path.
std::vector<std::pair<std::string, std::string>> ExporterConfigs() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : Network()["machines"]) {
    const YAML::Node exporter = kv.second["exporter"];
    if (!exporter || exporter.IsNull()) continue;
    out.emplace_back(kv.first.as<std::string>(), exporter["config"].as<std::string>());
  }
  return out;
}

TEST(DeployTest, EveryMachineConfigPassesConfigCheck) {
  const auto configs = ExporterConfigs();
  ASSERT_EQ(configs.size(), 3u) << "panda, clanker-001 and the GPU box run an exporter";
  for (const auto& [machine, path] : configs) {
    SCOPED_TRACE(path);
    TempDir dir;
    // The config reads its secret files when it loads (the bridge's token
    // and event key under /etc/joelclaw/); here each is a placeholder in a
    // scratch directory standing in for that directory.
    std::string text = ReadFileOrDie(SourceDir() + "/" + path);
    const std::regex secret("/etc/joelclaw/([A-Za-z0-9._-]+)");
    std::set<std::string> names;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), secret);
         it != std::sregex_iterator(); ++it) {
      names.insert((*it)[1]);
    }
    for (const std::string& name : names) WriteFileOrDie(dir.File(name), "placeholder\n", 0600);
    text = std::regex_replace(text, secret, dir.path() + "/$1");
    WriteFileOrDie(dir.File("exporter.yaml"), text);
    CommandOutput out = RunCommand(
        {JOELCLAW_BINARY, "--config.check", "--config.file=" + dir.File("exporter.yaml")}, 60);
    EXPECT_EQ(out.exit_code, 0) << out.out;
  }
}

TEST(DeployTest, EveryHostAndCheckHasADescription) {
  for (const auto& [machine, path] : ExporterConfigs()) {
    SCOPED_TRACE(path);
    const YAML::Node config = YAML::LoadFile(SourceDir() + "/" + path);
    // The machine it runs on is one of its hosts.
    EXPECT_TRUE(config["hosts"][machine]) << machine << " does not watch itself";
    for (const auto& host : config["hosts"]) {
      const std::string name = host.first.as<std::string>();
      EXPECT_TRUE(Network()["machines"][name]) << name << " is not a machine of network.yaml";
      for (const YAML::Node& check : host.second["checks"]) {
        EXPECT_FALSE(check["description"].as<std::string>("").empty())
            << name << "/" << check["name"].as<std::string>("?") << " has no description";
      }
      // The machine's own description, where its own exporter describes it.
      if (name == machine) {
        EXPECT_EQ(host.second["description"].as<std::string>(""),
                  Network()["machines"][name]["description"].as<std::string>())
            << "the description of " << name << " differs from network.yaml's";
      }
    }
  }
}

// Every machine is reachable-checked from another machine's exporter, so
// JoelclawHostDown tells a dead machine from a crashed exporter.
TEST(DeployTest, EveryMachineHasAReachabilityCheckFromAnother) {
  std::set<std::string> checked;
  for (const auto& [machine, path] : ExporterConfigs()) {
    const YAML::Node config = YAML::LoadFile(SourceDir() + "/" + path);
    for (const auto& host : config["hosts"]) {
      const std::string name = host.first.as<std::string>();
      if (name == machine) continue;
      for (const YAML::Node& check : host.second["checks"]) {
        const bool ssh = static_cast<bool>(check["ssh"]);
        if (ssh || check["reachability"].as<bool>(false)) checked.insert(name);
      }
    }
  }
  for (const auto& kv : Network()["machines"]) {
    EXPECT_EQ(checked.count(kv.first.as<std::string>()), 1u)
        << kv.first << " has no reachability check from another machine";
  }
}

}  // namespace deploy_test
}  // namespace joelclaw::testing
