// tests/audit/cli_test.cc: the offline tools (src/audit/cli.h) on a log the SegmentWriter wrote:
// every export line parses as JSON with the expected keys, replay shows a session's statements
// in order, sessions lists them, verify's output and exit codes, tail follows new records.
#include "src/audit/cli.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "jitgate/check.h"
#include "picojson.h"
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

std::string ReadBack(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0) {
    text.append(chunk, n);
  }
  return text;
}

struct ToolRun {
  int status;
  std::string out;
  std::string err;
};

ToolRun RunTool(std::vector<std::string> args, const std::atomic<bool>* stop = nullptr) {
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  FILE* out = std::tmpfile();
  FILE* err = std::tmpfile();
  JG_CHECK(out != nullptr && err != nullptr);
  ToolRun run;
  run.status = RunAuditCommandTo(static_cast<int>(args.size()), argv.data(), out, err, stop);
  run.out = ReadBack(out);
  run.err = ReadBack(err);
  std::fclose(out);
  std::fclose(err);
  return run;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

constexpr int64_t kT0 = 1796196001123456;  // 2026-12-02T07:20:01.123456Z

// Writes the records of one session of shard `shard`, session id `session`, epoch 1.
void WriteSession(SegmentWriter& log, uint32_t shard, uint64_t session, std::string_view subject) {
  RecordBuilder b(8192);
  b.Begin(RecordType::kSessionOpen, kFlagSecurity, kT0, session);
  b.Text(Field::kSubject, subject);
  b.Text(Field::kApp, "psql");
  b.Text(Field::kGroup, "dba");
  b.Text(Field::kGroup, "ops");
  b.Text(Field::kRole, "reader");
  b.Text(Field::kTenant, "acme");
  b.Text(Field::kClient, "127.0.0.1:5555");
  b.Text(Field::kListener, "pg");
  b.Text(Field::kTlsVersion, "TLSv1.3");
  b.Text(Field::kTlsCipher, "TLS_AES_256_GCM_SHA384");
  b.Text(Field::kResource, "orders");
  b.Text(Field::kPolicy, "analysts");
  b.Text(Field::kGrant, "g-42");
  b.Integer(Field::kExpiresMs, static_cast<uint64_t>(kT0 / 1000 + 3600000));
  b.Text(Field::kSessionId, absl::StrCat("1.", shard, ".", session));
  log.AppendQueued(b.Finish(), shard);

  b.Begin(RecordType::kStatement, kFlagSecurity, kT0 + 1000, session);
  b.Integer(Field::kStatementSeq, 1);
  b.Text(Field::kKind, "query");
  b.Text(Field::kText, "SELECT 'it''s \"quoted\"'\nFROM t \x01 \xff end");
  b.Text(Field::kDecision, "allow");
  b.Text(Field::kRule, "r-read");
  b.Text(Field::kClass, "read");
  b.Text(Field::kCommand, "SELECT");
  log.AppendQueued(b.Finish(), shard);

  b.Begin(RecordType::kResponse, 0, kT0 + 2000, session);
  b.Integer(Field::kStatementSeq, 1);
  b.Integer(Field::kRows, 3);
  b.Integer(Field::kCommands, 1);
  b.Integer(Field::kBytesDown, 120);
  b.Integer(Field::kDurationUs, 1500);
  b.Text(Field::kMasked, "ssn=3");
  log.AppendQueued(b.Finish(), shard);

  b.Begin(RecordType::kStatement, kFlagSecurity | kFlagParamsHidden, kT0 + 3000, session);
  b.Integer(Field::kStatementSeq, 2);
  b.Text(Field::kKind, "bind");
  b.Text(Field::kStatementName, "s1");
  b.Text(Field::kPortal, "");
  b.Text(Field::kParam, "abc");
  b.Marker(Field::kParamNull);
  b.Marker(Field::kParamHidden);
  b.Text(Field::kDecision, "block");
  b.Text(Field::kMessage, "DELETE is not allowed by policy analysts");
  log.AppendQueued(b.Finish(), shard);

  b.Begin(RecordType::kSessionClose, kFlagSecurity, kT0 + 9000000, session);
  b.Text(Field::kReason, "client_exit");
  b.Integer(Field::kStatements, 2);
  b.Integer(Field::kRows, 3);
  b.Integer(Field::kBytesUp, 300);
  b.Integer(Field::kBytesDown, 120);
  b.Integer(Field::kDurationUs, 9000000);
  log.AppendQueued(b.Finish(), shard);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/log";
    LogOptions options;
    options.dir = dir_;
    absl::StatusOr<std::unique_ptr<SegmentWriter>> log = SegmentWriter::Open(options, nullptr);
    JG_CHECK(log.ok());
    WriteSession(**log, 0, 17, "alice");
    WriteSession(**log, 1, 4, "bob");
    JG_CHECK((*log)->Close(0).ok());
  }

  TempDir tmp_{"audit_cli_"};
  std::string dir_;
};

TEST_F(CliTest, VerifyPrintsASummary) {
  const ToolRun run = RunTool({"audit", "verify", dir_});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "ok: 13 records in 1 segments, seq 1..13, 1 epochs; last epoch closed\n");
}

TEST_F(CliTest, VerifyReportsTheFirstProblem) {
  const std::string path = dir_ + "/" + SegmentFileName(1);
  std::string bytes = *ReadFile(path);
  bytes[200] ^= 1;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const ToolRun run = RunTool({"audit", "verify", dir_});
  EXPECT_EQ(run.status, 1);
  EXPECT_TRUE(run.err.starts_with("audit verify: broken: audit-00000000000000000001.seg offset "))
      << run.err;
  // replay refuses a log that does not verify.
  const ToolRun replay = RunTool({"audit", "replay", dir_, "--session", "1.0.17"});
  EXPECT_EQ(replay.status, 1);
  EXPECT_NE(replay.err.find("refusing to replay"), std::string::npos) << replay.err;
  EXPECT_TRUE(replay.out.empty());
}

TEST_F(CliTest, UsageErrors) {
  EXPECT_EQ(RunTool({"audit"}).status, 2);
  EXPECT_EQ(RunTool({"audit", "verify"}).status, 2);
  EXPECT_EQ(RunTool({"audit", "frobnicate", dir_}).status, 2);
  EXPECT_EQ(RunTool({"audit", "verify", dir_, "--bogus"}).status, 2);
  EXPECT_EQ(RunTool({"audit", "replay", dir_}).status, 2);
  EXPECT_EQ(RunTool({"audit", "replay", dir_, "--session", "17"}).status, 2);
  EXPECT_EQ(RunTool({"audit", "export", dir_, "--from", "x"}).status, 2);
  const ToolRun run = RunTool({"audit", "verify", dir_, "--key-file", tmp_.path() + "/none"});
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find(tmp_.path() + "/none"), std::string::npos) << run.err;
}

TEST_F(CliTest, ExportLinesAreJson) {
  const ToolRun run = RunTool({"audit", "export", dir_});
  ASSERT_EQ(run.status, 0) << run.err;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 13u);
  for (size_t i = 0; i < lines.size(); ++i) {
    picojson::value v;
    std::string error;
    picojson::parse(v, lines[i].begin(), lines[i].end(), &error);
    ASSERT_TRUE(error.empty()) << error << " in " << lines[i];
    ASSERT_TRUE(v.is<picojson::object>());
    const picojson::object& o = v.get<picojson::object>();
    for (const char* key : {"seq", "epoch", "time", "type", "shard", "flags", "link"}) {
      EXPECT_EQ(o.count(key), 1u) << key << " in " << lines[i];
    }
    ASSERT_TRUE(o.at("seq").is<int64_t>());
    EXPECT_EQ(o.at("seq").get<int64_t>(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(o.at("link").get<std::string>().size(), 64u);
    const std::string type = o.at("type").get<std::string>();
    EXPECT_EQ(o.count("session"),
              type == "segment_start" || type == "log_start" || type == "log_stop" ? 0u : 1u)
        << lines[i];
  }
  // The first session's records: lines 3..7.
  picojson::value open;
  picojson::parse(open, lines[2].begin(), lines[2].end(), nullptr);
  const picojson::object& o = open.get<picojson::object>();
  EXPECT_EQ(o.at("type").get<std::string>(), "session_open");
  EXPECT_EQ(o.at("session").get<std::string>(), "1.0.17");
  EXPECT_EQ(o.at("time").get<std::string>(), "2026-12-02T07:20:01.123456Z");
  EXPECT_EQ(o.at("subject").get<std::string>(), "alice");
  ASSERT_TRUE(o.at("groups").is<picojson::array>());
  EXPECT_EQ(o.at("groups").get<picojson::array>().size(), 2u);
  ASSERT_TRUE(o.at("roles").is<picojson::array>());
  EXPECT_EQ(o.at("expires_ms").get<int64_t>(), kT0 / 1000 + 3600000);
  EXPECT_EQ(o.at("flags").serialize(), "[\"security\"]");

  picojson::value statement;
  picojson::parse(statement, lines[3].begin(), lines[3].end(), nullptr);
  EXPECT_EQ(statement.get("text").get<std::string>(),
            "SELECT 'it''s \"quoted\"'\nFROM t \x01 \\xff end");
  EXPECT_NE(lines[3].find("\\u0001 \\\\xff end"), std::string::npos) << lines[3];
  EXPECT_EQ(statement.get("statement_seq").get<int64_t>(), 1);

  picojson::value bind;
  picojson::parse(bind, lines[5].begin(), lines[5].end(), nullptr);
  EXPECT_EQ(bind.get("params").serialize(), "[\"abc\",null,{\"hidden\":true}]");
  EXPECT_EQ(bind.get("flags").serialize(), "[\"security\",\"params_hidden\"]");
  EXPECT_EQ(bind.get("portal").get<std::string>(), "");

  const ToolRun from = RunTool({"audit", "export", dir_, "--from", "12"});
  ASSERT_EQ(from.status, 0) << from.err;
  ASSERT_EQ(Lines(from.out).size(), 2u);
  EXPECT_TRUE(from.out.starts_with("{\"seq\":12,")) << from.out;
}

TEST_F(CliTest, ReplayShowsTheSessionInOrder) {
  const ToolRun run = RunTool({"audit", "replay", dir_, "--session", "1.0.17"});
  ASSERT_EQ(run.status, 0) << run.err;
  const std::string& out = run.out;
  const std::vector<std::string> expected_in_order = {
      "session 1.0.17 opened 2026-12-02T07:20:01.123456Z",
      "subject=alice",
      "groups=dba, ops",
      "client=127.0.0.1:5555",
      "tls=TLSv1.3",
      "resource=orders",
      "id=g-42 expires=2026-12-02T08:20:01.123000Z",
      "statement 1 at 2026-12-02T07:20:01.124456Z",
      "decision=allow rule=r-read class=read command=SELECT",
      "    | SELECT 'it''s \"quoted\"'\n    | FROM t \\x01 \\xff end",
      "-> 3 rows, 1 commands, 120 bytes, 1.5 ms, masked ssn=3",
      "statement 2 at",
      "kind=bind decision=block",
      "params: $1='abc' $2=NULL $3=<hidden>",
      "refused: DELETE is not allowed by policy analysts",
      "closed 2026-12-02T07:20:10.123456Z",
      "reason=client_exit",
      "2 statements, 3 rows, 300 bytes up, 120 bytes down, lasted 9.0 s",
  };
  size_t at = 0;
  for (const std::string& piece : expected_in_order) {
    const size_t found = out.find(piece, at);
    ASSERT_NE(found, std::string::npos) << "missing (in order) \"" << piece << "\" in\n" << out;
    at = found + piece.size();
  }
  EXPECT_EQ(out.find("bob"), std::string::npos);  // only this session

  const ToolRun unknown = RunTool({"audit", "replay", dir_, "--session", "1.0.99"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("jitgate audit sessions"), std::string::npos) << unknown.err;
}

TEST_F(CliTest, SessionsListsEachSession) {
  const ToolRun run = RunTool({"audit", "sessions", dir_});
  ASSERT_EQ(run.status, 0) << run.err;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_EQ(lines[1], "1.0.17\t2026-12-02T07:20:01.123456Z\talice\torders\t2\tclient_exit");
  EXPECT_EQ(lines[2], "1.1.4\t2026-12-02T07:20:01.123456Z\tbob\torders\t2\tclient_exit");
}

TEST_F(CliTest, KeyFile) {
  const std::string keyed = tmp_.path() + "/keyed";
  LogOptions options;
  options.dir = keyed;
  options.chain_key = std::string(32, 's');
  {
    absl::StatusOr<std::unique_ptr<SegmentWriter>> log = SegmentWriter::Open(options, nullptr);
    ASSERT_TRUE(log.ok());
    WriteSession(**log, 0, 1, "carol");
    ASSERT_TRUE((*log)->Close(0).ok());
  }
  const std::string key_file = tmp_.path() + "/key";
  std::ofstream(key_file) << options.chain_key << "\n";
  EXPECT_EQ(RunTool({"audit", "verify", keyed, "--key-file", key_file}).status, 0);
  const ToolRun without = RunTool({"audit", "verify", keyed});
  EXPECT_EQ(without.status, 1);
  EXPECT_NE(without.err.find("without its key"), std::string::npos);
  EXPECT_EQ(
      RunTool({"audit", "replay", keyed, "--session", "1.0.1", "--key-file", key_file}).status, 0);
  EXPECT_EQ(RunTool({"audit", "export", keyed}).status, 0);  // the chain, not the links
}

TEST_F(CliTest, TailFollowsNewRecords) {
  const std::string out_path = tmp_.path() + "/tail.out";
  std::atomic<bool> stop{false};
  std::atomic<int> status{-1};
  // Reopen the log for writing; tail starts at its end.
  LogOptions options;
  options.dir = dir_;
  options.segment_size_max = 4096;
  absl::StatusOr<std::unique_ptr<SegmentWriter>> log = SegmentWriter::Open(options, nullptr);
  ASSERT_TRUE(log.ok());
  std::thread tail([&] {
    std::vector<std::string> args = {"audit", "tail", dir_, "--json"};
    std::vector<char*> argv;
    for (std::string& arg : args) {
      argv.push_back(arg.data());
    }
    FILE* out = std::fopen(out_path.c_str(), "w");
    FILE* err = std::tmpfile();
    status = RunAuditCommandTo(static_cast<int>(args.size()), argv.data(), out, err, &stop);
    std::fclose(out);
    std::fclose(err);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const uint64_t first_new = (*log)->last_seq() + 1;
  for (uint32_t s = 0; s < 5; ++s) {
    WriteSession(**log, 2, 100 + s, "dave");  // several rotations at 4 KiB
  }
  ASSERT_TRUE((*log)->Flush().ok());
  const uint64_t last = (*log)->last_seq();
  std::string text;
  for (int i = 0; i < 100 && Lines(text).size() < last - first_new + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    text = *ReadFile(out_path);
  }
  stop = true;
  tail.join();
  EXPECT_EQ(status.load(), 0);
  text = *ReadFile(out_path);
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), last - first_new + 1) << text;
  EXPECT_TRUE(lines[0].starts_with(absl::StrCat("{\"seq\":", first_new, ","))) << lines[0];
  for (const std::string& line : lines) {
    picojson::value v;
    std::string error;
    picojson::parse(v, line.begin(), line.end(), &error);
    EXPECT_TRUE(error.empty()) << line;
  }
  ASSERT_TRUE((*log)->Close(0).ok());

  // Human lines from the start.
  std::atomic<bool> stopped{true};
  const ToolRun human = RunTool({"audit", "tail", dir_, "--from-start"}, &stopped);
  ASSERT_EQ(human.status, 0) << human.err;
  EXPECT_NE(human.out.find(" seq 3 session_open session=1.0.17 subject=\"alice\""),
            std::string::npos)
      << human.out.substr(0, 600);
}

}  // namespace
}  // namespace jitgate::audit
