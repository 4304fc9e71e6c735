// tests/audit/hub_test.cc: the audit hub (src/audit/writer.h) end to end: shard sinks on their
// own threads emit records, the writer thread drains them into a real segment log in a temporary
// directory, and the test reads the log back.
//
// The log is read twice: by VerifyLog (src/audit/reader.h, the code `jitgate audit verify` runs)
// and by a small independent parser here (magic, u32 size | body | SHA-256 link, seq and prev
// chain), so a writer and a reader that agree on a mistake are still caught. Queue-full cases
// fill a shard's queue before Start(), while no writer runs, so what is dropped or backlogged is
// deterministic.
#include "src/audit/writer.h"

#include <openssl/sha.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/audit.h"
#include "jitgate/check.h"
#include "src/audit/reader.h"
#include "tests/audit/audit_test_util.h"
#include "src/audit/record.h"
#include "src/audit/segment.h"

namespace jitgate::audit {
namespace {

using testing::Slurp;
using testing::Spit;
using testing::TempDir;

namespace fs = std::filesystem;

constexpr uint32_t kQueueBytes = 256u << 10;
constexpr auto kWaitMax = std::chrono::seconds(20);

config::AuditConfig MakeConfig(const std::string& dir, config::AuditMode mode,
                               config::AuditOnFull on_full) {
  config::AuditConfig config;
  config.enabled = true;
  config.dir = dir;
  config.mode = mode;
  config.on_full = on_full;
  config.fsync_interval_ms = 5;
  config.queue_bytes = kQueueBytes;
  config.statement_bytes_max = 4096;
  config.params_bytes_max = 4096;
  return config;
}

std::unique_ptr<Hub> OpenHub(const config::AuditConfig& config, uint32_t shards) {
  absl::StatusOr<std::unique_ptr<Hub>> hub = Hub::Open(config, shards, "hub-test");
  EXPECT_TRUE(hub.ok()) << hub.status();
  return hub.ok() ? *std::move(hub) : nullptr;
}

// Polls `done` until it holds or kWaitMax passes.
template <typename Done>
bool WaitFor(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitMax;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// A statement record with its number (kStatementSeq) and `text_size` bytes of text.
void BuildStatement(RecordBuilder& builder, uint64_t session, uint64_t number, uint16_t flags,
                    size_t text_size = 40) {
  builder.Begin(RecordType::kStatement, flags, WallTimeUs(), session);
  builder.Integer(Field::kStatementSeq, number);
  builder.Text(Field::kKind, "query");
  std::string text = "SELECT " + std::to_string(number) + " -- ";
  text.resize(std::max(text.size(), text_size), 'x');
  builder.TextLimited(Field::kText, text, 4096);
  builder.Text(Field::kDecision, "allow");
}

// ---- reading the log back ----------------------------------------------------------------------

struct Record {
  RecordHeader header;
  std::string fields;  // the field bytes

  // The first field `tag` as an integer or text; `found` false when absent.
  bool Integer(Field tag, uint64_t* out) const {
    FieldView field;
    FieldReader reader(Bytes());
    while (reader.Next(&field)) {
      if (field.tag == tag) {
        return field.integer(out);
      }
    }
    return false;
  }
  std::string Text(Field tag) const {
    FieldView field;
    FieldReader reader(Bytes());
    while (reader.Next(&field)) {
      if (field.tag == tag) {
        return std::string(field.text());
      }
    }
    return "<absent>";
  }
  uint64_t StatementNumber() const {
    uint64_t n = 0;
    EXPECT_TRUE(Integer(Field::kStatementSeq, &n));
    return n;
  }
  std::span<const std::byte> Bytes() const {
    return std::as_bytes(std::span<const char>(fields.data(), fields.size()));
  }
};

std::string ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Parses every segment of `dir` in name order, checking frames, SHA-256 links, the gapless seq
// and the prev chain as it goes (the test's own reading of jitgate/audit.h, not reader.cc's).
std::vector<Record> ReadLog(const std::string& dir) {
  std::vector<fs::path> segments;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kSegmentPrefix) && name.ends_with(kSegmentSuffix)) {
      segments.push_back(entry.path());
    }
  }
  std::sort(segments.begin(), segments.end());
  EXPECT_FALSE(segments.empty()) << dir;
  std::vector<Record> records;
  unsigned char prev[kLinkSize] = {};
  for (const fs::path& path : segments) {
    SCOPED_TRACE(path.string());
    const std::string bytes = ReadWholeFile(path);
    EXPECT_GE(bytes.size(), kSegmentMagicSize);
    EXPECT_EQ(bytes.compare(0, kSegmentMagicSize, kSegmentMagic, kSegmentMagicSize), 0);
    size_t at = kSegmentMagicSize;
    while (at < bytes.size()) {
      if (bytes.size() - at < kFramePrefixSize) {
        ADD_FAILURE() << "frame prefix cut at " << at;
        return records;
      }
      const uint32_t body_size = LoadU32(reinterpret_cast<const std::byte*>(bytes.data() + at));
      if (body_size < kRecordHeaderSize || body_size > kBodySizeMax ||
          bytes.size() - at - kFramePrefixSize < size_t{body_size} + kLinkSize) {
        ADD_FAILURE() << "bad frame at " << at << " (body_size " << body_size << ")";
        return records;
      }
      const auto* body = reinterpret_cast<const unsigned char*>(bytes.data() + at + 4);
      unsigned char link[kLinkSize];
      SHA256(body, body_size, link);
      EXPECT_EQ(std::memcmp(link, body + body_size, kLinkSize), 0) << "link at " << at;
      Record record;
      record.header = DecodeRecordHeader(reinterpret_cast<const std::byte*>(body));
      record.fields.assign(reinterpret_cast<const char*>(body) + kRecordHeaderSize,
                           body_size - kRecordHeaderSize);
      EXPECT_EQ(record.header.version, kFormatVersion);
      EXPECT_EQ(record.header.seq, records.size() + 1) << "at " << at;
      EXPECT_EQ(std::memcmp(record.header.prev, prev, kLinkSize), 0) << "prev at " << at;
      FieldReader reader(record.Bytes());
      FieldView field;
      while (reader.Next(&field)) {
      }
      EXPECT_TRUE(reader.valid()) << "fields at " << at;
      std::memcpy(prev, link, kLinkSize);
      records.push_back(std::move(record));
      at += kFramePrefixSize + body_size + kLinkSize;
    }
  }
  return records;
}

// Reads the log both ways and checks they agree.
std::vector<Record> ReadVerified(const std::string& dir) {
  const VerifyReport report = VerifyLog(dir, "");
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_TRUE(report.last_epoch_closed);
  std::vector<Record> records = ReadLog(dir);
  EXPECT_EQ(report.records, records.size());
  EXPECT_EQ(report.last_seq, records.size());
  if (!records.empty()) {
    EXPECT_EQ(records.back().header.type, RecordType::kLogStop);
  }
  return records;
}

std::vector<const Record*> OfType(const std::vector<Record>& records, RecordType type,
                                  uint32_t shard) {
  std::vector<const Record*> out;
  for (const Record& record : records) {
    if (record.header.type == type && record.header.shard == shard) {
      out.push_back(&record);
    }
  }
  return out;
}

// ---- normal mode -------------------------------------------------------------------------------

TEST(Hub, DisabledSinkIsOff) {
  ShardSink sink(nullptr, 0);
  EXPECT_FALSE(sink.enabled());
}

TEST(Hub, OpenCreatesTheLogAndStopClosesIt) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kBlock), 1);
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->epoch(), 1u);
  EXPECT_EQ(hub->shard_count(), 1u);
  EXPECT_FALSE(hub->durable_mode());
  EXPECT_FALSE(hub->failed());
  EXPECT_EQ(hub->channel(0).queue.capacity(), kQueueBytes);
  hub->Start();
  hub->Stop();
  hub->Stop();  // a second Stop does nothing
  const std::vector<Record> records = ReadVerified(tmp.log());
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].header.type, RecordType::kSegmentStart);
  EXPECT_EQ(records[1].header.type, RecordType::kLogStart);
  EXPECT_EQ(records[1].Text(Field::kVersion), "hub-test");
  uint64_t dropped = 1;
  EXPECT_TRUE(records[2].Integer(Field::kDropped, &dropped));
  EXPECT_EQ(dropped, 0u);

  // A second hub on the same directory starts epoch 2 after a clean stop.
  hub.reset();  // the first one holds the directory's lock
  hub = OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kBlock), 1);
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->epoch(), 2u);
  EXPECT_TRUE(hub->recovery().clean);
  hub->Start();
  hub->Stop();
  EXPECT_EQ(ReadVerified(tmp.log()).size(), 5u);
}

TEST(Hub, NormalModeTwoShardsOnTwoThreads) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kBlock), 2);
  ASSERT_NE(hub, nullptr);
  hub->Start();
  constexpr uint64_t kPerShard = 20000;
  std::atomic<uint64_t> not_passed{0};
  const auto shard_main = [&](uint32_t shard) {
    ShardSink sink(hub.get(), shard);
    ASSERT_TRUE(sink.enabled());
    for (uint64_t i = 1; i <= kPerShard; ++i) {
      BuildStatement(sink.builder(), /*session=*/shard * 1000 + i % 7, i, 0, 20 + i % 300);
      const uint64_t seq = sink.Emit();
      ASSERT_EQ(seq, i);  // block mode: nothing dropped, local seqs from 1
      // Normal mode: Passed once the queue took the record (no backlog: it did).
      if (sink.backlog_size() == 0) {
        EXPECT_TRUE(sink.Passed(seq));
      } else {
        not_passed.fetch_add(1);
        EXPECT_FALSE(sink.Passed(seq));
        ASSERT_TRUE(WaitFor([&] {
          sink.Pump();
          return sink.Passed(seq);
        }));
      }
      if (i % 32 == 0) {
        sink.Pump();
      }
    }
    sink.Pump();
    EXPECT_EQ(sink.emitted(), kPerShard);
    EXPECT_EQ(sink.dropped(), 0u);
    // The writer takes everything: written (then durable, at the fsync interval) reach the end.
    ShardChannel& channel = hub->channel(shard);
    EXPECT_TRUE(WaitFor([&] { return channel.written.load() == kPerShard; }));
    EXPECT_TRUE(WaitFor([&] { return channel.durable.load() == kPerShard; }));
    EXPECT_LE(channel.durable.load(), channel.written.load());
  };
  std::thread first(shard_main, 0);
  std::thread second(shard_main, 1);
  first.join();
  second.join();
  hub->Stop();
  const HubStats stats = hub->stats();
  EXPECT_EQ(stats.records, 2 * kPerShard);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_GE(stats.syncs, 1u);

  const std::vector<Record> records = ReadVerified(tmp.log());
  EXPECT_EQ(records.size(), 2 * kPerShard + 3);  // + segment_start, log_start, log_stop
  for (uint32_t shard = 0; shard < 2; ++shard) {
    SCOPED_TRACE(shard);
    const std::vector<const Record*> mine = OfType(records, RecordType::kStatement, shard);
    ASSERT_EQ(mine.size(), kPerShard);
    for (uint64_t i = 1; i <= kPerShard; ++i) {
      const Record& record = *mine[i - 1];
      ASSERT_EQ(record.StatementNumber(), i);
      EXPECT_EQ(record.header.session, shard * 1000 + i % 7);
      EXPECT_EQ(record.header.epoch, hub->epoch());
      EXPECT_EQ(record.header.flags, 0u);
      EXPECT_EQ(record.Text(Field::kKind), "query");
      EXPECT_EQ(record.Text(Field::kText).size(), 20 + i % 300);
    }
  }
  EXPECT_TRUE(OfType(records, RecordType::kDropped, 0).empty());
  EXPECT_TRUE(OfType(records, RecordType::kDropped, 1).empty());
}

TEST(Hub, NormalModePassedOnceQueued) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kBlock), 1);
  ASSERT_NE(hub, nullptr);
  ShardSink sink(hub.get(), 0);
  // Before Start no writer runs: the record is only in the queue, and that is enough.
  BuildStatement(sink.builder(), 1, 1, kFlagSecurity);
  const uint64_t seq = sink.Emit();
  EXPECT_EQ(seq, 1u);
  EXPECT_TRUE(sink.Passed(seq));
  EXPECT_TRUE(sink.Passed(0));
  EXPECT_EQ(hub->channel(0).written.load(), 0u);
  hub->Start();
  sink.Pump();
  EXPECT_TRUE(WaitFor([&] { return hub->channel(0).written.load() == 1; }));
  hub->Stop();
  const std::vector<Record> records = ReadVerified(tmp.log());
  ASSERT_EQ(OfType(records, RecordType::kStatement, 0).size(), 1u);
  EXPECT_EQ(OfType(records, RecordType::kStatement, 0)[0]->header.flags, kFlagSecurity);
}

// ---- durable mode ------------------------------------------------------------------------------

// A shard's wake (its eventfd in the gateway): counts and signals.
struct Wake {
  std::mutex mutex;
  std::condition_variable cv;
  uint64_t count = 0;
  void operator()() {
    std::lock_guard<std::mutex> lock(mutex);
    ++count;
    cv.notify_all();
  }
  uint64_t Count() {
    std::lock_guard<std::mutex> lock(mutex);
    return count;
  }
};

TEST(Hub, DurableModePassedOnlyOnceOnDisk) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kDurable, config::AuditOnFull::kBlock), 1);
  ASSERT_NE(hub, nullptr);
  EXPECT_TRUE(hub->durable_mode());
  Wake wake;
  hub->SetShardWake(0, [&wake] { wake(); });
  ShardSink sink(hub.get(), 0);
  ShardChannel& channel = hub->channel(0);

  // Before Start: queued, not on disk, so not passed.
  BuildStatement(sink.builder(), 5, 1, 0);
  const uint64_t seq = sink.Emit();
  ASSERT_EQ(seq, 1u);
  EXPECT_FALSE(sink.Passed(seq));
  EXPECT_EQ(channel.durable.load(), 0u);
  sink.WantWake();
  hub->Start();
  sink.Pump();  // durable mode: wakes the writer
  {
    std::unique_lock<std::mutex> lock(wake.mutex);
    EXPECT_TRUE(wake.cv.wait_for(lock, kWaitMax, [&] { return wake.count >= 1; }));
  }
  EXPECT_GE(channel.durable.load(), seq);
  EXPECT_TRUE(sink.Passed(seq));
  EXPECT_GE(hub->stats().syncs, 1u);

  // A session thread waiting on each batch: Passed(seq) never runs ahead of durable.
  constexpr uint64_t kBatches = 100;
  constexpr uint64_t kPerBatch = 10;
  std::thread shard([&] {
    ShardSink& s = sink;  // the sink moves to this thread; the test thread no longer uses it
    uint64_t last = seq;
    for (uint64_t b = 0; b < kBatches; ++b) {
      for (uint64_t i = 0; i < kPerBatch; ++i) {
        BuildStatement(s.builder(), 5, last + 1, i == 0 ? kFlagSecurity : 0);
        last = s.Emit();
        ASSERT_NE(last, 0u);
      }
      s.WantWake();
      s.Pump();
      while (!s.Passed(last)) {
        std::unique_lock<std::mutex> lock(wake.mutex);
        const uint64_t seen = wake.count;
        if (s.Passed(last)) {
          break;  // durable moved (and maybe woke us) before `seen` was read
        }
        // Woken by the writer; the timeout only bounds a test that would otherwise hang.
        wake.cv.wait_for(lock, std::chrono::milliseconds(100),
                         [&] { return wake.count != seen; });
        lock.unlock();
        s.WantWake();
      }
      EXPECT_GE(channel.durable.load(), last);
      EXPECT_GE(channel.written.load(), channel.durable.load());
    }
  });
  shard.join();
  EXPECT_GT(wake.Count(), 1u);
  const uint64_t syncs = hub->stats().syncs;
  hub->Stop();
  EXPECT_GE(syncs, kBatches);  // each batch waited for its own fsync

  const std::vector<Record> records = ReadVerified(tmp.log());
  const std::vector<const Record*> statements = OfType(records, RecordType::kStatement, 0);
  ASSERT_EQ(statements.size(), 1 + kBatches * kPerBatch);
  for (size_t i = 0; i < statements.size(); ++i) {
    ASSERT_EQ(statements[i]->StatementNumber(), i + 1);
  }
}

// ---- queue full --------------------------------------------------------------------------------

// Emits ~1 KiB non-security records before Start until the queue refuses one; the count pushed.
uint64_t FillQueue(ShardSink& sink, uint64_t* number) {
  uint64_t pushed = 0;
  while (true) {
    BuildStatement(sink.builder(), 1, ++*number, 0, 1000);
    const size_t backlog_before = sink.backlog_size();
    const uint64_t seq = sink.Emit();
    if (seq == 0 || sink.backlog_size() > backlog_before) {
      return pushed;
    }
    ++pushed;
    JG_CHECK(pushed < kQueueBytes / 1000);
  }
}

TEST(Hub, DropModeDropsOnlyNonSecurityRecords) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kDrop), 1);
  ASSERT_NE(hub, nullptr);
  ShardSink sink(hub.get(), 0);
  uint64_t number = 0;
  const uint64_t pushed = FillQueue(sink, &number);  // the refused one was dropped
  ASSERT_GT(pushed, 100u);
  EXPECT_EQ(sink.dropped(), 1u);
  EXPECT_EQ(sink.backlog_size(), 0u);
  EXPECT_EQ(sink.emitted(), pushed);

  // More non-security records: dropped and counted.
  for (int i = 0; i < 9; ++i) {
    BuildStatement(sink.builder(), 1, ++number, 0, 1000);
    EXPECT_EQ(sink.Emit(), 0u);
  }
  EXPECT_EQ(sink.dropped(), 10u);
  EXPECT_EQ(hub->channel(0).dropped.load(), 10u);
  // A security record is never dropped: it waits in the backlog, and is not passed yet.
  BuildStatement(sink.builder(), 1, ++number, kFlagSecurity, 1000);
  const uint64_t security_first = sink.Emit();
  EXPECT_EQ(security_first, pushed + 1);
  EXPECT_EQ(sink.backlog_size(), 1u);
  EXPECT_FALSE(sink.Passed(security_first));
  // While a backlog waits, a non-security record is dropped even though it might fit.
  BuildStatement(sink.builder(), 1, ++number, 0, 8);
  EXPECT_EQ(sink.Emit(), 0u);
  EXPECT_EQ(sink.dropped(), 11u);
  BuildStatement(sink.builder(), 1, ++number, kFlagSecurity, 1000);
  const uint64_t security_second = sink.Emit();
  EXPECT_EQ(security_second, pushed + 2);
  EXPECT_EQ(sink.backlog_size(), 2u);
  const uint64_t security_numbers[] = {number - 2, number};

  hub->Start();
  // Pump moves the backlog once the writer made room.
  ASSERT_TRUE(WaitFor([&] {
    sink.Pump();
    return sink.backlog_size() == 0;
  }));
  EXPECT_TRUE(sink.Passed(security_second));
  // With the backlog gone, a non-security record is queued again.
  BuildStatement(sink.builder(), 1, ++number, 0);
  EXPECT_EQ(sink.Emit(), pushed + 3);
  sink.Pump();
  EXPECT_TRUE(WaitFor([&] { return hub->channel(0).written.load() == pushed + 3; }));
  hub->Stop();
  EXPECT_EQ(hub->stats().dropped, 11u);

  const std::vector<Record> records = ReadVerified(tmp.log());
  const std::vector<const Record*> statements = OfType(records, RecordType::kStatement, 0);
  ASSERT_EQ(statements.size(), pushed + 3);
  for (uint64_t i = 0; i < pushed; ++i) {
    ASSERT_EQ(statements[i]->StatementNumber(), i + 1);
    EXPECT_EQ(statements[i]->header.flags, 0u);
  }
  EXPECT_EQ(statements[pushed]->StatementNumber(), security_numbers[0]);
  EXPECT_EQ(statements[pushed]->header.flags, kFlagSecurity);
  EXPECT_EQ(statements[pushed + 1]->StatementNumber(), security_numbers[1]);
  EXPECT_EQ(statements[pushed + 2]->StatementNumber(), number);

  // The log says how many were dropped: kDropped records for shard 0 adding up to 11, each
  // after the records queued before the drops, and marked security (never dropped themselves).
  const std::vector<const Record*> drops = OfType(records, RecordType::kDropped, 0);
  ASSERT_FALSE(drops.empty());
  uint64_t dropped_total = 0;
  for (const Record* drop : drops) {
    uint64_t count = 0;
    uint64_t shard = 99;
    EXPECT_TRUE(drop->Integer(Field::kDropped, &count));
    EXPECT_TRUE(drop->Integer(Field::kShard, &shard));
    EXPECT_EQ(shard, 0u);
    EXPECT_EQ(drop->header.flags & kFlagSecurity, kFlagSecurity);
    EXPECT_GT(drop->header.seq, statements[pushed - 1]->header.seq);
    dropped_total += count;
  }
  EXPECT_EQ(dropped_total, 11u);
  uint64_t stop_dropped = 0;
  EXPECT_TRUE(records.back().Integer(Field::kDropped, &stop_dropped));
  EXPECT_EQ(stop_dropped, 11u);
}

TEST(Hub, BlockModeBacklogDrainsInOrder) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kBlock), 1);
  ASSERT_NE(hub, nullptr);
  ShardSink sink(hub.get(), 0);
  uint64_t number = 0;
  const uint64_t pushed = FillQueue(sink, &number);  // the refused one went to the backlog
  ASSERT_GT(pushed, 100u);
  EXPECT_EQ(sink.backlog_size(), 1u);
  constexpr uint64_t kTotal = 1000;
  const uint64_t filled = number;  // the records FillQueue made have no flags
  while (number < kTotal) {
    ++number;
    BuildStatement(sink.builder(), 1, number, number % 5 == 0 ? kFlagSecurity : 0, 1000);
    EXPECT_EQ(sink.Emit(), number);  // never dropped
  }
  EXPECT_EQ(sink.dropped(), 0u);
  EXPECT_EQ(sink.backlog_size(), kTotal - pushed);
  EXPECT_TRUE(sink.Passed(pushed));
  EXPECT_FALSE(sink.Passed(pushed + 1));
  EXPECT_FALSE(sink.Passed(kTotal));
  sink.Pump();  // no writer yet: nothing moves
  EXPECT_EQ(sink.backlog_size(), kTotal - pushed);

  hub->Start();
  ASSERT_TRUE(WaitFor([&] {
    sink.Pump();
    return sink.Passed(kTotal);
  }));
  EXPECT_EQ(sink.backlog_size(), 0u);
  EXPECT_TRUE(WaitFor([&] { return hub->channel(0).written.load() == kTotal; }));
  hub->Stop();
  EXPECT_EQ(hub->stats().dropped, 0u);

  const std::vector<Record> records = ReadVerified(tmp.log());
  const std::vector<const Record*> statements = OfType(records, RecordType::kStatement, 0);
  ASSERT_EQ(statements.size(), kTotal);
  for (uint64_t i = 0; i < kTotal; ++i) {
    ASSERT_EQ(statements[i]->StatementNumber(), i + 1);
    const uint64_t n = i + 1;
    EXPECT_EQ(statements[i]->header.flags, n > filled && n % 5 == 0 ? kFlagSecurity : 0u);
  }
  EXPECT_TRUE(OfType(records, RecordType::kDropped, 0).empty());
}

// ---- control records ---------------------------------------------------------------------------

TEST(Hub, EmitControlRecordsLandWithTheControlShard) {
  TempDir tmp("jg_audit_hub_");
  std::unique_ptr<Hub> hub =
      OpenHub(MakeConfig(tmp.log(), config::AuditMode::kNormal, config::AuditOnFull::kBlock), 2);
  ASSERT_NE(hub, nullptr);
  RecordBuilder builder(4096);
  // One before Start, two after: all land.
  builder.Begin(RecordType::kGrantExpired, kFlagSecurity, 1'700'000'000'000'001, 0);
  builder.Text(Field::kGrant, "g-1");
  builder.Text(Field::kReason, "expired");
  hub->EmitControl(builder.Finish());
  hub->Start();
  for (int i = 2; i <= 3; ++i) {
    builder.Begin(RecordType::kGrantRevoked, kFlagSecurity, 1'700'000'000'000'000 + i, 0);
    builder.Text(Field::kGrant, "g-" + std::to_string(i));
    hub->EmitControl(builder.Finish());
  }
  // A shard's record beside them keeps its own shard number.
  ShardSink sink(hub.get(), 1);
  BuildStatement(sink.builder(), 3, 1, 0);
  EXPECT_EQ(sink.Emit(), 1u);
  sink.Pump();
  EXPECT_TRUE(WaitFor([&] { return hub->stats().records >= 4; }));
  hub->Stop();

  const std::vector<Record> records = ReadVerified(tmp.log());
  const std::vector<const Record*> expired =
      OfType(records, RecordType::kGrantExpired, kShardControl);
  const std::vector<const Record*> revoked =
      OfType(records, RecordType::kGrantRevoked, kShardControl);
  ASSERT_EQ(expired.size(), 1u);
  ASSERT_EQ(revoked.size(), 2u);
  EXPECT_EQ(expired[0]->header.time_us, 1'700'000'000'000'001);
  EXPECT_EQ(expired[0]->header.flags, kFlagSecurity);
  EXPECT_EQ(expired[0]->header.session, 0u);
  EXPECT_EQ(expired[0]->Text(Field::kGrant), "g-1");
  EXPECT_EQ(expired[0]->Text(Field::kReason), "expired");
  EXPECT_EQ(revoked[0]->Text(Field::kGrant), "g-2");
  EXPECT_EQ(revoked[1]->Text(Field::kGrant), "g-3");
  EXPECT_LT(revoked[0]->header.seq, revoked[1]->header.seq);
  EXPECT_EQ(OfType(records, RecordType::kStatement, 1).size(), 1u);
  for (const Record& record : records) {
    if (record.header.type == RecordType::kGrantExpired ||
        record.header.type == RecordType::kGrantRevoked) {
      EXPECT_EQ(record.header.shard, kShardControl);
    }
  }
}

}  // namespace
}  // namespace jitgate::audit
