// tests/parsers/mysql/golden_test.cc: walks real recorded traffic (tests/data/mysql/, recorded
// by capture.sh through record.py against MariaDB 10.11: a mariadb client session and a sysbench
// run with server-side prepared statements) with the decoders in protocol order, and proves the
// decode paths allocate nothing (tests/common/alloc_counter.cc is linked in).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "jitgate/parsers/mysql/handshake.h"
#include "tests/common/alloc_counter.h"
#include "tests/parsers/mysql/builder.h"
#include "tests/parsers/mysql/conversation.h"

#ifndef JG_TEST_DATA_DIR
#error "JG_TEST_DATA_DIR must name tests/data"
#endif

namespace jitgate::parsers::mysql {
namespace {

std::vector<std::byte> ReadCapture(const std::string& name) {
  std::ifstream in(std::string(JG_TEST_DATA_DIR) + "/mysql/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

struct Capture {
  std::vector<std::byte> c2s;
  std::vector<std::byte> s2c;
};

Capture Load(const std::string& name) {
  return {ReadCapture(name + ".c2s"), ReadCapture(name + ".s2c")};
}

TEST(MysqlGolden, MariadbClientSession) {
  const Capture capture = Load("mariadb_client");
  testing::Conversation conversation(capture.c2s, capture.s2c);
  ASSERT_TRUE(conversation.Walk())
      << conversation.failure() << " (" << InvalidReasonName(conversation.reason())
      << ") at packet " << conversation.failed_packet();
  const auto& stats = conversation.stats();
  EXPECT_GE(stats.commands, 10u);
  EXPECT_GE(stats.text_rows, 10u);  // the types table, SHOW VARIABLES, ...
  EXPECT_GE(stats.column_definitions, 20u);
  EXPECT_EQ(stats.errs, 1u);  // SELECT * FROM no_such_table
  // Greeting details: MariaDB clears CLIENT_LONG_PASSWORD and uses the filler for its caps.
  const Frame greeting = DecodeFrame(capture.s2c, kLogicalPayloadMax);
  const HandshakeV10 hello = DecodeHandshakeV10(greeting.payload);
  ASSERT_EQ(hello.status, DecodeStatus::kOk);
  EXPECT_NE(hello.server_version.find("MariaDB"), std::string_view::npos);
  EXPECT_EQ(hello.capabilities & kClientLongPassword, 0u);
  EXPECT_NE(hello.mariadb_capabilities, 0u);
  EXPECT_EQ(hello.auth_plugin_data_part1.size(), 8u);
  EXPECT_EQ(hello.auth_plugin_name, kMysqlNativePassword);
  const Frame response = DecodeFrame(capture.c2s, kLogicalPayloadMax);
  const HandshakeResponse41 login = DecodeHandshakeResponse41(response.payload);
  ASSERT_EQ(login.status, DecodeStatus::kOk);
  EXPECT_EQ(login.username, "jg");
  EXPECT_EQ(login.database, "sbtest");
  EXPECT_EQ(login.auth_response.size(), 20u);
  auto cursor = login.connect_attrs.cursor();
  std::string_view key;
  std::string_view value;
  bool saw_client_name = false;
  while (cursor.Next(key, value)) {
    saw_client_name = saw_client_name || key == "_client_name";
  }
  EXPECT_TRUE(cursor.ok());
  EXPECT_TRUE(saw_client_name);
}

TEST(MysqlGolden, SysbenchPreparedStatements) {
  const Capture capture = Load("sysbench_ps");
  testing::Conversation conversation(capture.c2s, capture.s2c);
  ASSERT_TRUE(conversation.Walk())
      << conversation.failure() << " (" << InvalidReasonName(conversation.reason())
      << ") at packet " << conversation.failed_packet();
  const auto& stats = conversation.stats();
  EXPECT_GE(stats.prepares, 5u);
  EXPECT_GE(stats.executes, 20u);
  EXPECT_GE(stats.binary_rows, 20u);
  EXPECT_EQ(stats.errs, 0u);
}

TEST(MysqlGolden, EveryFrameOfEveryStreamSplitsCleanly) {
  for (const char* name : {"mariadb_client", "sysbench_ps"}) {
    const Capture capture = Load(name);
    for (const auto* stream : {&capture.c2s, &capture.s2c}) {
      const Bytes all(*stream);
      size_t offset = 0;
      while (offset < all.size()) {
        const Frame frame = DecodeFrame(all.subspan(offset), kLogicalPayloadMax);
        ASSERT_EQ(frame.status, DecodeStatus::kOk) << name << " at " << offset;
        if (frame.payload_size < 512) {
          testing::ExpectFramingAtEveryCut(frame.payload, frame.first_sequence_id);
        }
        offset += frame.frame_size;
      }
    }
  }
}

TEST(MysqlGolden, DecodeAllocatesNothing) {
  const Capture a = Load("mariadb_client");
  const Capture b = Load("sysbench_ps");
  testing::Conversation first(a.c2s, a.s2c);
  testing::Conversation second(b.c2s, b.s2c);
  std::vector<std::byte> storage(1 << 16);
  const jitgate::testing::AllocationScope scope;
  const bool ok = first.Walk() && second.Walk();
  PacketAssembler assembler(storage);
  size_t offset = 0;
  while (offset < b.s2c.size()) {  // the staging path, 7 bytes at a time
    const Bytes chunk = Bytes(b.s2c).subspan(offset, std::min<size_t>(7, b.s2c.size() - offset));
    const auto result = assembler.Feed(chunk);
    offset += result.consumed;
    if (result.status == DecodeStatus::kOk) {
      assembler.Reset();
    }
  }
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace jitgate::parsers::mysql
