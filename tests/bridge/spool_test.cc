#include "exporter/bridge/spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/fault_injection_env.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace spool_test {

using testing::FaultInjectionEnv;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

std::string Event(int n) {
  return "{\"id\":\"e" + std::to_string(n) + "\",\"name\":\"x\"}";
}

std::unique_ptr<Spool> OpenOrDie(const std::string& dir) {
  auto s = Spool::Open(dir);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::vector<Spool::Entry> PendingOrDie(Spool& s, size_t max) {
  Result<std::vector<Spool::Entry>> p = s.Pending(max);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : std::vector<Spool::Entry>{};
}

std::vector<std::string> PendingIds(Spool& s) {
  std::vector<std::string> ids;
  for (const Spool::Entry& e : PendingOrDie(s, 1000)) {
    ids.push_back(nlohmann::json::parse(e.event)["id"].get<std::string>());
  }
  return ids;
}

TEST(SpoolTest, AppendsAndReplaysInOrder) {
  TempDir dir;
  const std::string d = dir.File("spool");
  {
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->Append({Event(1), Event(2)}, 100).ok());
    ASSERT_TRUE(s->Append({Event(3)}, 130).ok());
    EXPECT_EQ(s->size(), 3u);
    EXPECT_EQ(s->OldestSpooledAt(), 100);
    EXPECT_EQ(PendingOrDie(*s, 2).size(), 2u);
  }
  auto s = OpenOrDie(d);  // As after a restart.
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->TakeWarnings().empty());
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1", "e2", "e3"}));
  EXPECT_EQ(s->OldestSpooledAt(), 100);
  std::vector<Spool::Entry> p = PendingOrDie(*s, 10);
  EXPECT_LT(p[0].seq, p[1].seq);
  EXPECT_LT(p[1].seq, p[2].seq);
}

TEST(SpoolTest, AcksSurviveARestart) {
  TempDir dir;
  const std::string d = dir.File("spool");
  uint64_t second = 0;
  {
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s->Append({Event(1), Event(2), Event(3)}, 100).ok());
    second = PendingOrDie(*s, 2)[1].seq;
    ASSERT_TRUE(s->Ack(second).ok());
    EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e3"}));
  }
  auto s = OpenOrDie(d);
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e3"}));
  // New events get sequence numbers after every one seen, acked or not.
  ASSERT_TRUE(s->Append({Event(4)}, 200).ok());
  EXPECT_GT(PendingOrDie(*s, 10)[1].seq, PendingOrDie(*s, 10)[0].seq);
  EXPECT_GT(PendingOrDie(*s, 10)[0].seq, second);
}

TEST(SpoolTest, CompactsWhenEverythingIsAcked) {
  TempDir dir;
  const std::string d = dir.File("spool");
  auto s = OpenOrDie(d);
  ASSERT_TRUE(s->Append({Event(1), Event(2)}, 100).ok());
  EXPECT_GT(s->LogBytes(), 0u);
  ASSERT_TRUE(s->Ack(PendingOrDie(*s, 10)[0].seq).ok());
  EXPECT_GT(s->LogBytes(), 0u);  // e2 is still pending.
  ASSERT_TRUE(s->Ack(PendingOrDie(*s, 10)[0].seq).ok());
  EXPECT_EQ(s->size(), 0u);
  EXPECT_EQ(s->LogBytes(), 0u);
  EXPECT_EQ(ReadFileOrDie(d + "/spool.log"), "");
  EXPECT_FALSE(std::ifstream(d + "/spool.log.tmp").good());
  // The log keeps working after the rewrite.
  ASSERT_TRUE(s->Append({Event(3)}, 300).ok());
  s.reset();
  s = OpenOrDie(d);
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e3"}));
}

TEST(SpoolTest, CompactsALargeMostlyAckedLog) {
  TempDir dir;
  const std::string d = dir.File("spool");
  auto s = OpenOrDie(d);
  const std::string big =
      "{\"id\":\"big\",\"pad\":\"" + std::string(20000, 'x') + "\"}";
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(s->Append({big}, 100).ok());
  ASSERT_TRUE(s->Append({Event(1)}, 200).ok());
  const uint64_t before = s->LogBytes();
  ASSERT_GT(before, 1u << 20);
  ASSERT_TRUE(s->Ack(PendingOrDie(*s, 80)[79].seq).ok());
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1"}));
  EXPECT_LT(s->LogBytes(), 1000u);
  s.reset();
  s = OpenOrDie(d);
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1"}));
}

TEST(SpoolTest, ATornTailIsCutOffAndTheRecordsBeforeItKept) {
  TempDir dir;
  const std::string d = dir.File("spool");
  {
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s->Append({Event(1), Event(2)}, 100).ok());
  }
  const std::string log = d + "/spool.log";
  const std::string good = ReadFileOrDie(log);
  // A crash in the middle of writing the third record.
  const std::string third = EncodeSpoolRecord(
      "{\"seq\":3,\"spooled_at\":100,\"event\":" + Event(3) + "}");
  for (size_t cut : {size_t{3}, size_t{8}, third.size() - 1}) {
    SCOPED_TRACE(cut);
    WriteFileOrDie(log, good + third.substr(0, cut), 0600);
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s);
    EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1", "e2"}));
    std::vector<std::string> warnings = s->TakeWarnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("torn"), std::string::npos) << warnings[0];
    EXPECT_EQ(ReadFileOrDie(log), good);  // Cut back to the valid records.
    ASSERT_TRUE(s->Append({Event(4)}, 200).ok());
    s.reset();
    s = OpenOrDie(d);
    EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1", "e2", "e4"}));
    EXPECT_TRUE(s->TakeWarnings().empty());
    s.reset();
  }
}

TEST(SpoolTest, ACorruptRecordIsCaughtByItsChecksum) {
  TempDir dir;
  const std::string d = dir.File("spool");
  {
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s->Append({Event(1), Event(2)}, 100).ok());
  }
  const std::string log = d + "/spool.log";
  std::string bytes = ReadFileOrDie(log);
  bytes[bytes.size() - 5] ^= 0x20;  // A flipped bit in the last record.
  WriteFileOrDie(log, bytes, 0600);
  auto s = OpenOrDie(d);
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1"}));
  EXPECT_EQ(s->corrupt_records(), 1u);  // Damage, not a torn write: counted.
  std::vector<std::string> warnings = s->TakeWarnings();
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("checksum"), std::string::npos) << warnings[0];
}

TEST(SpoolTest, ASecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto first = OpenOrDie(dir.File("spool"));
  auto second = Spool::Open(dir.File("spool"));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another process"),
            std::string::npos)
      << second.status().message();
}

TEST(SpoolTest, AFullSpoolDropsTheOldestToTakeNewEvents) {
  TempDir dir;
  Spool::Options o;
  o.max_events = 2;
  auto s = Spool::Open(dir.File("spool"), o);
  ASSERT_TRUE(s.ok());
  size_t dropped = 99;
  ASSERT_TRUE((*s)->Append({Event(1)}, 100, &dropped).ok());
  EXPECT_EQ(dropped, 0u);
  ASSERT_TRUE((*s)->Append({Event(2), Event(3)}, 100, &dropped).ok());
  EXPECT_EQ(dropped, 1u);
  EXPECT_EQ(PendingIds(**s), (std::vector<std::string>{"e2", "e3"}));
  // More events than the spool holds at all: refused, nothing dropped.
  Status too_many = (*s)->Append({Event(4), Event(5), Event(6)}, 100, &dropped);
  EXPECT_FALSE(too_many.ok());
  EXPECT_NE(too_many.message().find("do not fit the spool"), std::string::npos);
  EXPECT_EQ((*s)->size(), 2u);
  // The drop is durable: a restart does not bring e1 back.
  s->reset();
  auto again = OpenOrDie(dir.File("spool"));
  EXPECT_EQ(PendingIds(*again), (std::vector<std::string>{"e2", "e3"}));
}

TEST(SpoolTest, TheByteLimitDropsTheOldestToo) {
  TempDir dir;
  Spool::Options o;
  const std::string big = "{\"id\":\"big\",\"pad\":\"" + std::string(4000, 'x') + "\"}";
  o.max_bytes = 3 * (big.size() + 100);
  auto s = Spool::Open(dir.File("spool"), o);
  ASSERT_TRUE(s.ok());
  size_t dropped = 0, total = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*s)->Append({big}, 100, &dropped).ok());
    total += dropped;
  }
  EXPECT_EQ((*s)->size(), 3u);
  EXPECT_EQ(total, 7u);
  EXPECT_LE((*s)->bytes(), o.max_bytes);
}

TEST(SpoolTest, ADamagedRecordInTheMiddleIsSkippedAndTheRestKept) {
  TempDir dir;
  const std::string d = dir.File("spool");
  {
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s->Append({Event(1)}, 100).ok());
    ASSERT_TRUE(s->Append({Event(2)}, 100).ok());
    ASSERT_TRUE(s->Append({Event(3), Event(4)}, 100).ok());
  }
  const std::string log = d + "/spool.log";
  for (int where : {0, 1}) {  // A flipped bit in the payload, then in the length field.
    SCOPED_TRACE(where);
    std::string bytes = ReadFileOrDie(log);
    const size_t e2 = bytes.find("\"e2\"");
    ASSERT_NE(e2, std::string::npos);
    // The start of the record holding e2.
    size_t record = 0;
    for (size_t off = 0; off < e2;) {
      const uint32_t len = static_cast<unsigned char>(bytes[off]) |
                           static_cast<unsigned char>(bytes[off + 1]) << 8 |
                           static_cast<unsigned char>(bytes[off + 2]) << 16 |
                           static_cast<unsigned char>(bytes[off + 3]) << 24;
      if (off + 8 + len > e2) {
        record = off;
        break;
      }
      off += 8 + len;
    }
    if (where == 0) {
      bytes[e2 + 1] ^= 0x01;
    } else {
      bytes[record + 2] ^= 0x40;  // The length field now points far away.
    }
    WriteFileOrDie(log, bytes, 0600);
    auto s = OpenOrDie(d);
    ASSERT_TRUE(s);
    EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1", "e3", "e4"}));
    EXPECT_EQ(s->corrupt_records(), 1u);
    std::vector<std::string> warnings = s->TakeWarnings();
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings[0].find("skipped"), std::string::npos) << warnings[0];
    s.reset();
    // Rewritten without the damage: the next start finds nothing to skip.
    s = OpenOrDie(d);
    EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1", "e3", "e4"}));
    EXPECT_EQ(s->corrupt_records(), 0u);
    EXPECT_TRUE(s->TakeWarnings().empty());
    // Put e2 back for the next round.
    s.reset();
    TempDir fresh;
    auto rebuilt = OpenOrDie(fresh.File("spool"));
    ASSERT_TRUE(rebuilt->Append({Event(1)}, 100).ok());
    ASSERT_TRUE(rebuilt->Append({Event(2)}, 100).ok());
    ASSERT_TRUE(rebuilt->Append({Event(3), Event(4)}, 100).ok());
    rebuilt.reset();
    WriteFileOrDie(log, ReadFileOrDie(fresh.File("spool") + "/spool.log"), 0600);
  }
}

// A spool on a disk whose faults the test switches on, holding e1.
struct FaultySpool {
  FaultySpool() {
    options.env = &env;
    auto opened = Spool::Open(dir.File("spool"), options);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    if (opened.ok()) spool = std::move(opened).value();
    EXPECT_TRUE(spool && spool->Append({Event(1)}, 100).ok());
  }
  Result<std::unique_ptr<Spool>> Reopen() {
    spool.reset();
    return Spool::Open(dir.File("spool"), options);
  }
  TempDir dir;
  FaultInjectionEnv env;
  Spool::Options options;
  std::unique_ptr<Spool> spool;
};

TEST(SpoolTest, WriteErrorsAreStickyUntilTheSpoolIsReopened) {
  FaultySpool f;
  FaultInjectionEnv& env = f.env;
  std::unique_ptr<Spool>* s = &f.spool;
  ASSERT_TRUE(*s);
  env.Set(FaultInjectionEnv::Fault::kSync, true);
  Status failed = (*s)->Append({Event(2)}, 100);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("Input/output error"), std::string::npos);
  env.Set(FaultInjectionEnv::Fault::kSync, false);
  // The disk works again, but what it holds is unknown: still refused.
  Status later = (*s)->Append({Event(3)}, 100);
  EXPECT_EQ(later.message(), failed.message());
  EXPECT_FALSE((*s)->Ack(1).ok());
  EXPECT_FALSE((*s)->error().ok());
  EXPECT_EQ((*s)->size(), 1u);
  auto reopened = f.Reopen();
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_TRUE((*reopened)->error().ok());
  ASSERT_TRUE((*reopened)->Append({Event(4)}, 100).ok());
  // e2 was cut back off the log when its sync failed.
  EXPECT_EQ(PendingIds(**reopened), (std::vector<std::string>{"e1", "e4"}));
}

TEST(SpoolTest, AFailedCutBackLeavesATornRecordThatReplayDrops) {
  FaultySpool f;
  FaultInjectionEnv& env = f.env;
  std::unique_ptr<Spool>* s = &f.spool;
  ASSERT_TRUE(*s);
  env.Set(FaultInjectionEnv::Fault::kTornAppend, true);
  env.Set(FaultInjectionEnv::Fault::kTruncate, true);
  Status failed = (*s)->Append({Event(2)}, 100);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("cutting the log back failed"), std::string::npos)
      << failed.message();
  env.ClearAll();
  EXPECT_FALSE((*s)->Append({Event(3)}, 100).ok());  // Sticky.
  auto reopened = f.Reopen();
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(PendingIds(**reopened), (std::vector<std::string>{"e1"}));
  EXPECT_EQ((*reopened)->corrupt_records(), 0u);  // Torn, never acknowledged.
}

TEST(SpoolTest, CreatingTheSpoolSyncsItsDirectories) {
  TempDir dir;
  FaultInjectionEnv env;
  Spool::Options o;
  o.env = &env;
  auto s = Spool::Open(dir.File("spool"), o);
  ASSERT_TRUE(s.ok());
  EXPECT_GE(env.SyncDirCalls(dir.path()), 1);           // The new directory's entry.
  EXPECT_GE(env.SyncDirCalls(dir.File("spool")), 1);    // spool.log's entry.
  s->reset();
  env.Set(FaultInjectionEnv::Fault::kSyncDir, true);
  auto failed = Spool::Open(dir.File("spool"), o);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("cannot sync directory"), std::string::npos);
}

TEST(SpoolTest, AReadOnlyFilesystemIsAClearError) {
  TempDir dir;
  FaultInjectionEnv env;
  env.Set(FaultInjectionEnv::Fault::kCreate, true);
  Spool::Options o;
  o.env = &env;
  auto s = Spool::Open(dir.File("spool"), o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("Read-only file system"), std::string::npos)
      << s.status().message();
}

TEST(SpoolTest, AnUncreatableDirectoryIsAClearError) {
  TempDir dir;
  WriteFileOrDie(dir.File("file"), "x");
  auto s = Spool::Open(dir.File("file") + "/spool");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("cannot create the spool directory"), std::string::npos)
      << s.status().message();
}

}  // namespace spool_test
}  // namespace joelclaw
