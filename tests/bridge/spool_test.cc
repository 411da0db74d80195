#include "exporter/bridge/spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace spool_test {

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

std::vector<std::string> PendingIds(const Spool& s) {
  std::vector<std::string> ids;
  for (const Spool::Entry& e : s.Pending(1000)) {
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
    EXPECT_EQ(s->Pending(2).size(), 2u);
  }
  auto s = OpenOrDie(d);  // As after a restart.
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->TakeWarnings().empty());
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e1", "e2", "e3"}));
  EXPECT_EQ(s->OldestSpooledAt(), 100);
  std::vector<Spool::Entry> p = s->Pending(10);
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
    second = s->Pending(2)[1].seq;
    ASSERT_TRUE(s->Ack(second).ok());
    EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e3"}));
  }
  auto s = OpenOrDie(d);
  EXPECT_EQ(PendingIds(*s), (std::vector<std::string>{"e3"}));
  // New events get sequence numbers after every one seen, acked or not.
  ASSERT_TRUE(s->Append({Event(4)}, 200).ok());
  EXPECT_GT(s->Pending(10)[1].seq, s->Pending(10)[0].seq);
  EXPECT_GT(s->Pending(10)[0].seq, second);
}

TEST(SpoolTest, CompactsWhenEverythingIsAcked) {
  TempDir dir;
  const std::string d = dir.File("spool");
  auto s = OpenOrDie(d);
  ASSERT_TRUE(s->Append({Event(1), Event(2)}, 100).ok());
  EXPECT_GT(s->LogBytes(), 0u);
  ASSERT_TRUE(s->Ack(s->Pending(10)[0].seq).ok());
  EXPECT_GT(s->LogBytes(), 0u);  // e2 is still pending.
  ASSERT_TRUE(s->Ack(s->Pending(10)[0].seq).ok());
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
  ASSERT_TRUE(s->Ack(s->Pending(80)[79].seq).ok());
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
  std::vector<std::string> warnings = s->TakeWarnings();
  ASSERT_EQ(warnings.size(), 1u);
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

TEST(SpoolTest, AFullSpoolRefusesTheWholeAppend) {
  TempDir dir;
  Spool::Options o;
  o.max_events = 2;
  auto s = Spool::Open(dir.File("spool"), o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Append({Event(1)}, 100).ok());
  Status full = (*s)->Append({Event(2), Event(3)}, 100);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.message().find("is full"), std::string::npos)
      << full.message();
  EXPECT_EQ((*s)->size(), 1u);
}

TEST(SpoolTest, AnUncreatableDirectoryIsAClearError) {
  TempDir dir;
  WriteFileOrDie(dir.File("file"), "x");
  auto s = Spool::Open(dir.File("file") + "/spool");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("cannot create spool directory"),
            std::string::npos)
      << s.status().message();
}

}  // namespace spool_test
}  // namespace joelclaw
