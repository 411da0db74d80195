#include "exporter/bridge/bridge_config.h"

#include "exporter/config.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace bridge_config_test {

using testing::TempDir;
using testing::TestData;
using testing::WriteFileOrDie;

// A bridge with only the required keys; its token and event key are the
// files `token` and `key` beside the config.
constexpr char kMinimalBridgeConfig[] =
    "hosts: {panda: {filesystems: [\"/\"]}}\n"
    "bridge: {token_file: token, inngest: {url: \"http://127.0.0.1:8288\", "
    "event_key_file: key}, spool_dir: spool}\n";

TEST(BridgeConfigTest, ReadsEveryKeyAndTheSecrets) {
  auto cfg = LoadConfigFile(TestData("config/valid-bridge.yaml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  ASSERT_TRUE((*cfg)->bridge.has_value());
  const BridgeConfig& b = *(*cfg)->bridge;
  EXPECT_EQ(b.token_file, TestData("config/secrets/bridge-token"));
  EXPECT_EQ(b.token, "test-bridge-token");  // Trailing newline trimmed.
  EXPECT_EQ(b.inngest_url,
            "http://inngest.joelclaw:8288");  // Trailing slash dropped.
  EXPECT_EQ(b.event_key, "test-inngest-event-key");
  EXPECT_EQ(b.timeout, Duration(3000));
  EXPECT_EQ(b.spool_dir, "/var/lib/joelclaw-exporter/spool");
  EXPECT_EQ(b.retry_initial, Duration(2000));
  EXPECT_EQ(b.retry_max, Duration(600000));
}

TEST(BridgeConfigTest, DefaultsAndATokenIsRequired) {
  TempDir dir;
  WriteFileOrDie(dir.File("key"), "k\n");
  WriteFileOrDie(dir.File("token"), "t\n");
  const std::string path = dir.File("c.yaml");
  WriteFileOrDie(path, kMinimalBridgeConfig);
  auto cfg = LoadConfigFile(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  const BridgeConfig& b = *(*cfg)->bridge;
  EXPECT_EQ(b.token, "t");
  EXPECT_EQ(b.timeout, Duration(5000));
  EXPECT_EQ(b.max_notification_bytes, 1 << 20);
  EXPECT_EQ(b.max_event_bytes, 256 << 10);
  EXPECT_EQ(b.spool_max_events, 100000);
  EXPECT_EQ(b.spool_max_bytes, 64 << 20);
  EXPECT_TRUE(b.warnings.empty());
  EXPECT_EQ(b.retry_initial, Duration(1000));
  EXPECT_EQ(b.retry_max, Duration(300000));
  EXPECT_EQ(b.spool_dir, dir.File("spool"));
  EXPECT_FALSE((*LoadConfigFile(TestData("config/valid-minimal.yaml")))
                   ->bridge.has_value());
}

TEST(BridgeConfigTest, AnEmptyOrMultiLineSecretIsAnError) {
  TempDir dir;
  WriteFileOrDie(dir.File("token"), "t\n");
  const std::string path = dir.File("c.yaml");
  WriteFileOrDie(path, kMinimalBridgeConfig);
  WriteFileOrDie(dir.File("key"), " \n\n");
  auto cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), path +
                                        ":2: bridge: inngest: event_key_file " +
                                        dir.File("key") + " is empty");
  WriteFileOrDie(dir.File("key"), "one\ntwo\n");
  cfg = LoadConfigFile(path);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("holds more than one line"),
            std::string::npos);
}

}  // namespace bridge_config_test
}  // namespace joelclaw
