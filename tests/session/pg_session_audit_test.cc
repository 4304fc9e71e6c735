// tests/session/pg_session_audit_test.cc: the audit hooks of PgSession (pg_session_audit.cc),
// driven sans-I/O by playing both peers with byte vectors.
//
// Each test opens a real audit Hub (src/audit/writer.h) on a temporary directory with one shard
// and never starts its writer thread: the records a session emits through its ShardSink stay in
// hub->channel(0).queue, and the test takes them itself (Front / Pop / Release) and decodes them
// with jitgate/audit.h (DecodeQueuedHeader, FieldReader), as the writer would. Durability is
// simulated by storing channel.durable; a full queue by pushing filler records before the
// statement. The environment is pg_session_test's, cut down to one insecure listener, two
// resources (one no policy grants) and one policy; the backend is a trust server, and for the
// masking case it also answers the session's catalog query (src/mask/catalog.cc).
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/audit.h"
#include "jitgate/check.h"
#include "jitgate/config.h"
#include "jitgate/parsers/pg/encode.h"
#include "src/audit/writer.h"
#include "src/auth/mint.h"
#include "src/session/pg_session.h"
#include "tests/session/pg_session_fixture.h"

namespace jitgate::session {
namespace {

namespace fs = std::filesystem;
namespace pg = parsers::pg;
using namespace ::jitgate::session::testing;
using audit::Field;
using audit::RecordType;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Value = std::optional<std::string>;  // a Bind parameter; nullopt: SQL NULL

constexpr char kGroup[] = "0c1d2e3f-0000-4000-8000-0000000000aa";
constexpr char kClient[] = "10.0.0.9:50000";
// The smallest queue the config accepts ("queue_bytes": 256 KiB..1 GiB).
constexpr uint32_t kQueueBytes = 256u << 10;
constexpr uint32_t kCustomersOid = 16384;

// A column rule on customers.email.
constexpr char kEmailMasking[] = R"({"rules": [
    {"name": "pii", "columns": ["customers.email"], "strategy": "redact"}]})";

// ---------------------------------------------------------------------------------------------
// Client messages pg_session_fixture.h does not have.

Bytes Bind(std::string_view portal, std::string_view statement, const std::vector<Value>& params) {
  Bytes body;
  PutCString(body, portal);
  PutCString(body, statement);
  Put16(body, 0);  // parameter formats: all text
  Put16(body, static_cast<uint16_t>(params.size()));
  for (const Value& param : params) {
    if (!param.has_value()) {
      Put32(body, 0xffffffffu);  // -1: NULL
      continue;
    }
    Put32(body, static_cast<uint32_t>(param->size()));
    Append(body, AsBytes(*param));
  }
  Put16(body, 0);  // result formats
  return Tagged('B', body);
}
Bytes Execute(std::string_view portal) {
  Bytes body;
  PutCString(body, portal);
  Put32(body, 0);
  return Tagged('E', body);
}

// ---- backend messages --------------------------------------------------------------------------

// A RowDescription of text columns `names` (no table).
Bytes TextRowDescription(const std::vector<std::string>& names, uint32_t table_oid = 0) {
  Bytes body;
  Put16(body, static_cast<uint16_t>(names.size()));
  int16_t attnum = 0;
  for (const std::string& name : names) {
    PutCString(body, name);
    Put32(body, table_oid);
    Put16(body, static_cast<uint16_t>(table_oid != 0 ? ++attnum : 0));
    Put32(body, 25);  // text
    Put16(body, 0xffff);
    Put32(body, 0xffffffffu);
    Put16(body, 0);
  }
  return Tagged('T', body);
}
Bytes DataRow(const std::vector<std::string>& values) {
  Bytes body;
  Put16(body, static_cast<uint16_t>(values.size()));
  for (const std::string& value : values) {
    Put32(body, static_cast<uint32_t>(value.size()));
    Append(body, AsBytes(value));
  }
  return Tagged('D', body);
}
Bytes BackendError(std::string_view sqlstate, std::string_view message) {
  return Encoded([&](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.sqlstate = sqlstate;
    fields.message = message;
    return pg::EncodeErrorResponse(fields, out);
  });
}
// What the server answers a refusal's marker statement: a syntax error naming it.
Bytes SyntaxErrorAt(std::string_view marker) {
  return BackendError("42601", absl::StrCat("syntax error at or near \"", std::string(marker), "\""));
}
// One simple Query's whole answer: a one-column result of `rows` rows.
Bytes SelectAnswer(size_t rows) {
  Bytes out = TextRowDescription({"?column?"});
  for (size_t i = 0; i < rows; ++i) {
    Append(out, DataRow({std::to_string(i + 1)}));
  }
  return Concat({out, CommandComplete(absl::StrCat("SELECT ", rows)), Ready('I')});
}

// The session's catalog query answered: public.customers (id, email, name), five result sets
// (columns, views, view columns, types, the newest relation oid), then ReadyForQuery.
Bytes CustomersCatalogAnswer() {
  const std::string oid = std::to_string(kCustomersOid);
  const std::vector<std::vector<std::string>> columns = {
      {"oid", "attnum", "nspname", "relname", "attname", "atttypid"},
      {"oid", "max", "pg_get_viewdef", "string_agg", "nspname", "relname"},
      {"attrelid", "attnum", "attname"},
      {"oid", "typname", "typtype", "typbasetype"},
      {"max"}};
  const std::vector<std::vector<std::vector<std::string>>> rows = {
      {{oid, "1", "public", "customers", "id", "23"},
       {oid, "2", "public", "customers", "email", "25"},
       {oid, "3", "public", "customers", "name", "25"}},
      {},
      {},
      {},
      {{"16390"}}};
  Bytes out;
  for (size_t r = 0; r < columns.size(); ++r) {
    Append(out, TextRowDescription(columns[r]));
    for (const std::vector<std::string>& row : rows[r]) {
      Append(out, DataRow(row));
    }
    Append(out, CommandComplete(absl::StrCat("SELECT ", rows[r].size())));
  }
  Append(out, Ready('I'));
  return out;
}

// The text of a Query.
std::string QueryText(const Msg& msg) {
  EXPECT_EQ(msg.type, 'Q');
  const std::string_view body = AsText(msg.body);
  return std::string(body.substr(0, body.find('\0')));
}

// ---------------------------------------------------------------------------------------------
// Tokens: the fixture's Mint() carries roles only; this one adds a group.

std::string MintWithGroup() {
  const int64_t now = WallSeconds();
  const std::string header = absl::StrCat(R"({"alg":"ES256","typ":"JWT","kid":")", kKid, R"("})");
  const std::string payload = absl::StrCat(
      R"({"ver":"2.0","iss":")", kIssuer, R"(","aud":")", kAudience,
      R"(","tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","oid":")", kSubject, R"(","sub":")",
      kSubject, R"(","azp":"11112222-3333-4444-5555-666677778888","idtyp":"app",)",
      R"("roles":["db.read"],"groups":[")", kGroup, R"("],"uti":"AuditUti1","iat":)", now - 60,
      R"(,"nbf":)", now - 60, R"(,"exp":)", now + 3600, "}");
  absl::StatusOr<std::string> token = auth::SignJwsJson(header, payload, SigningKey());
  EXPECT_TRUE(token.ok()) << token.status();
  return token.ok() ? *token : std::string();
}

// ---------------------------------------------------------------------------------------------
// Records, decoded from the queue.

struct Record {
  audit::QueuedHeader header{};
  std::vector<std::pair<Field, std::string>> fields;  // in record order

  RecordType type() const { return header.type; }
  bool flag(uint16_t flag) const { return (header.flags & flag) != 0; }
  size_t Count(Field field) const {
    size_t count = 0;
    for (const auto& [tag, value] : fields) {
      count += tag == field ? 1 : 0;
    }
    return count;
  }
  bool Has(Field field) const { return Count(field) > 0; }
  // The first value of `field` ("<absent>" when there is none).
  std::string Text(Field field) const {
    for (const auto& [tag, value] : fields) {
      if (tag == field) {
        return value;
      }
    }
    return "<absent>";
  }
  std::vector<std::string> Texts(Field field) const {
    std::vector<std::string> out;
    for (const auto& [tag, value] : fields) {
      if (tag == field) {
        out.push_back(value);
      }
    }
    return out;
  }
  // The first integer value of `field`; nullopt when absent or not 8 bytes.
  std::optional<uint64_t> Int(Field field) const {
    for (const auto& [tag, value] : fields) {
      if (tag == field && value.size() == 8) {
        uint64_t v = 0;
        std::memcpy(&v, value.data(), 8);
        return v;
      }
    }
    return std::nullopt;
  }
};

Record DecodeRecord(std::span<const std::byte> queued) {
  Record record;
  EXPECT_GE(queued.size(), audit::kQueuedHeaderSize);
  if (queued.size() < audit::kQueuedHeaderSize) {
    return record;
  }
  record.header = audit::DecodeQueuedHeader(queued.data());
  audit::FieldReader reader(queued.subspan(audit::kQueuedHeaderSize));
  audit::FieldView field;
  while (reader.Next(&field)) {
    record.fields.emplace_back(field.tag, std::string(field.text()));
  }
  EXPECT_TRUE(reader.valid()) << audit::RecordTypeName(record.type());
  return record;
}

// "grant_issued session_open ...", for failure messages.
std::string Names(const std::vector<Record>& records) {
  std::vector<std::string> names;
  for (const Record& record : records) {
    names.emplace_back(audit::RecordTypeName(record.type()));
  }
  return absl::StrJoin(names, " ");
}

// The param fields of a kind "bind" record, in order: the value, "<null>" or "<hidden>".
std::vector<std::string> Params(const Record& record) {
  std::vector<std::string> out;
  for (const auto& [tag, value] : record.fields) {
    if (tag == Field::kParam) {
      out.push_back(value);
    } else if (tag == Field::kParamNull) {
      out.emplace_back("<null>");
    } else if (tag == Field::kParamHidden) {
      out.emplace_back("<hidden>");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The environment.

// `masking`: the config's "masking" object, or empty for none.
std::string ConfigJson(std::string_view masking) {
  return absl::StrCat(R"({
    "listeners": [
      {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:6433", "insecure": true}
    ],
    "resources": {
      "orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "database": "orders_db",
                 "user": "jitgate"},
      "hidden": {"protocol": "postgres", "address": "127.0.0.1:5436", "user": "jitgate"}
    },
    "identity": {"issuer": ")", kIssuer, R"(", "audience": ")", kAudience, R"(",
                 "jwks_file": "/nonexistent/jwks.json"},
    "policies": [
      {"name": "agents", "match": {"roles": ["db.read"]}, "resources": ["orders"],
       "access": {"mode": "auto", "max_duration_s": 900}}
    ],)",
                      masking.empty() ? std::string() : absl::StrCat(R"("masking": )", std::string(masking), ","),
                      R"(
    "limits": {"auth_timeout_ms": 10000, "cancel_keys_max": 64}
  })");
}

class PgSessionAuditTest : public PgSessionFixture {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "jg_session_audit_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    sink_.reset();
    hub_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // The audit section every test starts from: normal mode, on_full "block", the smallest queue.
  config::AuditConfig AuditDefaults() const {
    config::AuditConfig audit;
    audit.enabled = true;
    audit.dir = (fs::path(dir_) / "log").string();
    audit.queue_bytes = kQueueBytes;
    audit.statement_bytes_max = 4096;
    audit.params_bytes_max = 4096;
    return audit;
  }

  // The environment, and the hub (writer not started) and shard 0's sink for `audit`.
  void Open(const config::AuditConfig& audit, std::string_view masking = {}) {
    ASSERT_NO_FATAL_FAILURE(ParseConfig(ConfigJson(masking), "pg_session_audit_test.json"));
    config_->audit = audit;
    ASSERT_NO_FATAL_FAILURE(BuildEnvironment());
    absl::StatusOr<std::unique_ptr<audit::Hub>> hub = audit::Hub::Open(audit, 1, "audit-test");
    ASSERT_TRUE(hub.ok()) << hub.status();
    hub_ = *std::move(hub);
    sink_ = std::make_unique<audit::ShardSink>(hub_.get(), 0);
    ASSERT_TRUE(sink_->enabled());
  }

  audit::ShardChannel& channel() { return hub_->channel(0); }

  // A started session that audits into sink_.
  std::unique_ptr<PgSession> NewAuditSession() {
    auto session =
        std::make_unique<PgSession>(env_, nullptr, &stats_, 0, nullptr, nullptr, sink_.get());
    session->Start(0, ++session_count_, kClient, kStartMs);
    return session;
  }

  // StartupMessage for `database`, then `token` as the password.
  void Login(PgSession& session, std::string_view database, const std::string& token) {
    session.OnClientBytes(Startup(database), kStartMs);
    ASSERT_EQ(Types(Drain(session.to_client())), "R");
    session.OnClientBytes(Password(token), kStartMs);
  }

  // The backend connection and its trust start-up; the StartupMessage it got is discarded.
  void ConnectTrust(PgSession& session) {
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
    ASSERT_TRUE(session.TakeConnectRequest());
    session.OnBackendConnected(0, "", kStartMs);
    (void)Drain(session.to_backend());
    session.OnBackendBytes(TrustStartup(), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
  }

  // Login + ConnectTrust, to zero-copy forwarding; the open records are taken.
  void ReachForwarding(PgSession& session, const std::string& token = Mint()) {
    ASSERT_NO_FATAL_FAILURE(Login(session, "orders", token));
    ASSERT_NO_FATAL_FAILURE(ConnectTrust(session));
    ASSERT_EQ(Types(Drain(session.to_client())), "RSSKZ");
    ASSERT_TRUE(session.forwarding());
    ASSERT_FALSE(session.owned(0));
    ASSERT_EQ(Names(TakeRecords()), "grant_issued session_open");
  }

  // As ReachForwarding, for a masking policy with column rules: the catalog query is answered
  // with CustomersCatalogAnswer() before the client is ready.
  void ReachForwardingWithCatalog(PgSession& session) {
    ASSERT_NO_FATAL_FAILURE(Login(session, "orders", Mint()));
    ASSERT_NO_FATAL_FAILURE(ConnectTrust(session));
    ASSERT_EQ(Types(Drain(session.to_backend())), "Q");  // the catalog query
    session.OnBackendBytes(CustomersCatalogAnswer(), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
    ASSERT_EQ(Types(Drain(session.to_client())), "RSSKZ");
    ASSERT_TRUE(session.forwarding());
    // The catalog's own ReadyForQuery answers no statement of the client's: no kResponse.
    ASSERT_EQ(Names(TakeRecords()), "grant_issued session_open");
  }

  // What the backend receives for a client chunk: the forwarded prefix, then the session's own.
  Bytes Up(PgSession& session, const Bytes& chunk) {
    const size_t forward = session.InspectUp(chunk, kStartMs);
    EXPECT_LE(forward, chunk.size());
    Bytes out(chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(forward));
    Append(out, Drain(session.to_backend()));
    return out;
  }
  // What the client receives for a backend chunk.
  Bytes Down(PgSession& session, const Bytes& chunk) {
    const size_t forward = session.InspectDown(chunk, kStartMs);
    EXPECT_LE(forward, chunk.size());
    Bytes out(chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(forward));
    Append(out, Drain(session.to_client()));
    return out;
  }

  // The writer's part: takes every record in the queue, gives the space back and publishes
  // `written` (and `durable` when `sync`). Filler records (type 0) are taken but not returned.
  std::vector<Record> TakeRecords(bool sync = false) {
    std::vector<Record> out;
    audit::SpscQueue& queue = channel().queue;
    uint64_t taken = 0;
    for (;;) {
      const std::span<const std::byte> front = queue.Front();
      if (front.data() == nullptr) {
        break;  // empty (a zero-size filler record has a non-null data pointer)
      }
      if (front.size() >= audit::kQueuedHeaderSize && front[0] != std::byte{0}) {
        out.push_back(DecodeRecord(front));
      }
      queue.Pop(front.size());
      ++taken;
    }
    queue.Release();
    written_ += taken;
    channel().written.store(written_);
    if (sync) {
      channel().durable.store(written_);
    }
    return out;
  }

  // Fills the queue with filler records (all zeros, so type 0) until not even an empty record
  // fits. Returns how many were pushed.
  size_t FillQueue() {
    audit::SpscQueue& queue = channel().queue;
    const std::vector<std::byte> filler(1024);
    size_t pushed = 0;
    while (queue.TryPush(filler)) {
      ++pushed;
    }
    while (queue.TryPush({})) {
      ++pushed;
    }
    EXPECT_EQ(queue.used_bytes(), queue.capacity());
    return pushed;
  }

  std::string dir_;
  std::unique_ptr<audit::Hub> hub_;
  std::unique_ptr<audit::ShardSink> sink_;
  uint64_t written_ = 0;  // records TakeRecords took, fillers included
};

// ---------------------------------------------------------------------------------------------
// 1. A session's life.

TEST_F(PgSessionAuditTest, SessionLifeIsRecordedInOrder) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", MintWithGroup()));
  ASSERT_NO_FATAL_FAILURE(ConnectTrust(*session));
  ASSERT_EQ(Types(Drain(session->to_client())), "RSSKZ");
  const std::string grant(session->grant_id());
  ASSERT_THAT(grant, StartsWith("g-"));

  std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "grant_issued session_open");
  const Record& issued = records[0];
  EXPECT_TRUE(issued.flag(audit::kFlagSecurity));
  EXPECT_EQ(issued.header.session, session_count_);
  EXPECT_GT(issued.header.time_us, 0);
  EXPECT_EQ(issued.Text(Field::kGrant), grant);
  EXPECT_EQ(issued.Text(Field::kSubject), kSubject);
  EXPECT_EQ(issued.Text(Field::kResource), "orders");
  EXPECT_EQ(issued.Text(Field::kPolicy), "agents");
  EXPECT_EQ(issued.Text(Field::kDetail), "issued");
  ASSERT_TRUE(issued.Int(Field::kExpiresMs).has_value());
  EXPECT_GT(static_cast<int64_t>(*issued.Int(Field::kExpiresMs)), WallMs());

  const Record& open = records[1];
  EXPECT_TRUE(open.flag(audit::kFlagSecurity));
  EXPECT_EQ(open.header.session, session_count_);
  EXPECT_GE(open.header.time_us, issued.header.time_us);
  EXPECT_EQ(open.Text(Field::kSessionId), absl::StrCat(hub_->epoch(), ".0.", session_count_));
  EXPECT_EQ(open.Text(Field::kSubject), kSubject);
  EXPECT_EQ(open.Texts(Field::kGroup), std::vector<std::string>{kGroup});
  EXPECT_EQ(open.Texts(Field::kRole), std::vector<std::string>{"db.read"});
  EXPECT_EQ(open.Text(Field::kTenant), "72f988bf-86f1-41af-91ab-2d7cd011db47");
  EXPECT_EQ(open.Text(Field::kApp), "11112222-3333-4444-5555-666677778888");
  EXPECT_EQ(open.Text(Field::kTokenId), "AuditUti1");
  EXPECT_EQ(open.Text(Field::kClient), kClient);
  EXPECT_EQ(open.Text(Field::kListener), "dev");
  EXPECT_EQ(open.Text(Field::kResource), "orders");
  EXPECT_EQ(open.Text(Field::kPolicy), "agents");
  EXPECT_EQ(open.Text(Field::kGrant), grant);
  EXPECT_EQ(open.Text(Field::kTlsVersion), "none");
  EXPECT_EQ(open.Int(Field::kBackendPid), kBackendPid);

  // A simple Query, forwarded zero-copy, and its record.
  const Bytes query = Query("SELECT 1");
  EXPECT_EQ(session->InspectUp(query, kStartMs), query.size());
  EXPECT_TRUE(session->to_backend().empty());
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  const Record& statement = records[0];
  EXPECT_TRUE(statement.flag(audit::kFlagSecurity));
  EXPECT_FALSE(statement.flag(audit::kFlagTruncated));
  EXPECT_FALSE(statement.flag(audit::kFlagTextNormalized));
  EXPECT_EQ(statement.header.session, session_count_);
  EXPECT_EQ(statement.Int(Field::kStatementSeq), 1u);
  EXPECT_EQ(statement.Text(Field::kKind), "query");
  EXPECT_EQ(statement.Text(Field::kText), "SELECT 1");
  EXPECT_EQ(statement.Text(Field::kDecision), "allow");
  EXPECT_FALSE(statement.Has(Field::kRule));
  EXPECT_EQ(statement.Text(Field::kClass), "read");
  EXPECT_EQ(statement.Text(Field::kCommand), "SELECT");
  EXPECT_EQ(statement.Text(Field::kPolicy), "agents");

  // The answer, forwarded unchanged, and its summary at ReadyForQuery.
  const Bytes answer = SelectAnswer(1);
  EXPECT_EQ(session->InspectDown(answer, kStartMs), answer.size());
  EXPECT_TRUE(session->to_client().empty());
  records = TakeRecords();
  ASSERT_EQ(Names(records), "response");
  const Record& response = records[0];
  EXPECT_FALSE(response.flag(audit::kFlagSecurity));
  EXPECT_EQ(response.header.session, session_count_);
  EXPECT_EQ(response.Int(Field::kStatementSeq), 1u);
  EXPECT_EQ(response.Int(Field::kStatements), 1u);
  EXPECT_EQ(response.Int(Field::kRows), 1u);
  EXPECT_EQ(response.Int(Field::kCommands), 1u);
  EXPECT_EQ(response.Int(Field::kBytesDown), answer.size());
  EXPECT_TRUE(response.Int(Field::kDurationUs).has_value());
  EXPECT_FALSE(response.Has(Field::kSqlstate));
  EXPECT_FALSE(response.Has(Field::kMasked));

  // The relay closes it; a second close records nothing.
  session->AuditClose("client_closed", 1234, 5678);
  session->AuditClose("client_closed", 1234, 5678);
  records = TakeRecords();
  ASSERT_EQ(Names(records), "session_close");
  const Record& close = records[0];
  EXPECT_TRUE(close.flag(audit::kFlagSecurity));
  EXPECT_EQ(close.header.session, session_count_);
  EXPECT_EQ(close.Text(Field::kReason), "client_closed");
  EXPECT_EQ(close.Text(Field::kGrant), grant);
  EXPECT_EQ(close.Int(Field::kStatements), 1u);
  EXPECT_EQ(close.Int(Field::kRows), 1u);
  EXPECT_EQ(close.Int(Field::kBytesUp), 1234u);
  EXPECT_EQ(close.Int(Field::kBytesDown), 5678u);
  EXPECT_TRUE(close.Int(Field::kDurationUs).has_value());
  EXPECT_EQ(stats_.audit_records, 5u);
  EXPECT_EQ(stats_.audit_waits, 0u);
  EXPECT_EQ(sink_->emitted(), 5u);
}

TEST_F(PgSessionAuditTest, EveryReadyForQueryClosesOneResponse) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  // Two Queries pipelined; their answers come in separate chunks.
  (void)Up(*session, Concat({Query("SELECT 1"), Query("SELECT a FROM t")}));
  ASSERT_EQ(Names(TakeRecords()), "statement statement");
  const Bytes first = SelectAnswer(1);
  const Bytes second = SelectAnswer(3);
  EXPECT_EQ(session->InspectDown(first, kStartMs), first.size());
  EXPECT_EQ(session->InspectDown(second, kStartMs), second.size());
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "response response");
  EXPECT_EQ(records[0].Int(Field::kStatementSeq), 1u);
  EXPECT_EQ(records[0].Int(Field::kRows), 1u);
  EXPECT_EQ(records[0].Int(Field::kBytesDown), first.size());
  EXPECT_EQ(records[1].Int(Field::kStatementSeq), 2u);
  EXPECT_EQ(records[1].Int(Field::kStatements), 1u);
  EXPECT_EQ(records[1].Int(Field::kRows), 3u);
  EXPECT_EQ(records[1].Int(Field::kBytesDown), second.size());
  session->AuditClose("client_closed", 0, 0);
  const std::vector<Record> close = TakeRecords();
  ASSERT_EQ(Names(close), "session_close");
  EXPECT_EQ(close[0].Int(Field::kStatements), 2u);
  EXPECT_EQ(close[0].Int(Field::kRows), 4u);
}

// BUG: kBytesDown is counted per chunk the backend sent (WalkDown adds the whole chunk before
// walking it), not per response: when one chunk carries two answers, the first kResponse gets
// every byte and the second 0. Enable once pg_session_audit.cc counts bytes up to each
// ReadyForQuery (see the report: the editor's position at the frame's end).
TEST_F(PgSessionAuditTest, DISABLED_TwoAnswersInOneChunkHaveTheirOwnBytesDown) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  (void)Up(*session, Concat({Query("SELECT 1"), Query("SELECT a FROM t")}));
  ASSERT_EQ(Names(TakeRecords()), "statement statement");
  const Bytes first = SelectAnswer(1);
  const Bytes second = SelectAnswer(3);
  const Bytes both = Concat({first, second});
  EXPECT_EQ(session->InspectDown(both, kStartMs), both.size());
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "response response");
  EXPECT_EQ(records[0].Int(Field::kBytesDown), first.size());
  EXPECT_EQ(records[1].Int(Field::kBytesDown), second.size());
}

// ---------------------------------------------------------------------------------------------
// 2. A refused statement.

TEST_F(PgSessionAuditTest, RefusedStatementIsRecordedAsBlockedWith42501) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  const std::vector<Msg> sent = Frames(Up(*session, Query("DROP TABLE t")));
  ASSERT_EQ(Types(sent), "Q");
  const std::string marker = QueryText(sent[0]);
  ASSERT_THAT(marker, StartsWith("jitgate_blocked_"));
  std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  const Record& statement = records[0];
  EXPECT_TRUE(statement.flag(audit::kFlagSecurity));
  EXPECT_EQ(statement.Int(Field::kStatementSeq), 1u);
  EXPECT_EQ(statement.Text(Field::kText), "DROP TABLE t");  // what the client sent
  EXPECT_EQ(statement.Text(Field::kDecision), "block");
  EXPECT_EQ(statement.Text(Field::kRule), "statements.default[destructive]");
  EXPECT_THAT(statement.Text(Field::kMessage), HasSubstr("destructive"));
  EXPECT_EQ(statement.Text(Field::kClass), "destructive");
  EXPECT_EQ(statement.Text(Field::kCommand), "DROP");
  EXPECT_EQ(stats_.statements_refused, 1u);

  // The server fails the marker; the client gets the refusal; the summary says 42501.
  const std::vector<Msg> back =
      Frames(Down(*session, Concat({SyntaxErrorAt(marker), Ready('I')})));
  ASSERT_EQ(Types(back), "EZ");
  EXPECT_EQ(DecodeError(back[0]).code, "42501");
  records = TakeRecords();
  ASSERT_EQ(Names(records), "response");
  EXPECT_EQ(records[0].Text(Field::kSqlstate), "42501");
  EXPECT_EQ(records[0].Int(Field::kStatementSeq), 1u);
  EXPECT_EQ(records[0].Int(Field::kRows), 0u);

  // The next answer starts clean: no error carried over.
  (void)Up(*session, Query("SELECT 1"));
  (void)Down(*session, SelectAnswer(1));
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement response");
  EXPECT_FALSE(records[1].Has(Field::kSqlstate));
  EXPECT_EQ(records[1].Int(Field::kStatementSeq), 2u);
}

TEST_F(PgSessionAuditTest, ServerErrorIsTheResponsesSqlstate) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  (void)Up(*session, Query("SELECT 1/0"));
  // The first error of the answer is kept, not a later one.
  (void)Down(*session, Concat({BackendError("22012", "division by zero"),
                               BackendError("XX000", "second"), Ready('I')}));
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement response");
  EXPECT_EQ(records[1].Text(Field::kSqlstate), "22012");
}

// Regression: the SQLSTATE buffer was copied over, never cleared, so an ErrorResponse without a
// 'C' field was reported with an earlier error's code.
TEST_F(PgSessionAuditTest, ErrorWithoutACodeDoesNotReuseAnEarlierSqlstate) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  (void)Up(*session, Query("SELECT 1/0"));
  (void)Down(*session, Concat({BackendError("22012", "division by zero"), Ready('I')}));
  (void)Up(*session, Query("SELECT 2"));
  Bytes body;
  body.push_back(std::byte{'S'});
  PutCString(body, "ERROR");
  body.push_back(std::byte{'M'});
  PutCString(body, "no code");
  body.push_back(std::byte{0});
  (void)Down(*session, Concat({Tagged('E', body), Ready('I')}));
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement response statement response");
  EXPECT_EQ(records[1].Text(Field::kSqlstate), "22012");
  EXPECT_NE(records[3].Text(Field::kSqlstate), "22012");
}

// ---------------------------------------------------------------------------------------------
// 3. The extended protocol.

TEST_F(PgSessionAuditTest, ParseAndBindAreRecordedAndAnsweredByOneResponse) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  const Bytes batch =
      Concat({Parse("find", "SELECT a FROM t WHERE b = $1 AND c = $2"),
              Bind("", "find", {std::string("forty-two"), std::nullopt}), Execute(""), Sync()});
  // Bind is of interest to the audit now, yet the batch still goes on zero-copy.
  EXPECT_EQ(session->InspectUp(batch, kStartMs), batch.size());
  EXPECT_TRUE(session->to_backend().empty());
  std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement statement");
  const Record& parse = records[0];
  EXPECT_TRUE(parse.flag(audit::kFlagSecurity));
  EXPECT_EQ(parse.Int(Field::kStatementSeq), 1u);
  EXPECT_EQ(parse.Text(Field::kKind), "parse");
  EXPECT_EQ(parse.Text(Field::kStatementName), "find");
  EXPECT_EQ(parse.Text(Field::kText), "SELECT a FROM t WHERE b = $1 AND c = $2");
  EXPECT_EQ(parse.Text(Field::kDecision), "allow");
  EXPECT_EQ(parse.Text(Field::kCommand), "SELECT");
  const Record& bind = records[1];
  EXPECT_TRUE(bind.flag(audit::kFlagSecurity));
  EXPECT_FALSE(bind.flag(audit::kFlagTruncated));
  EXPECT_FALSE(bind.flag(audit::kFlagParamsHidden));
  EXPECT_EQ(bind.Int(Field::kStatementSeq), 2u);
  EXPECT_EQ(bind.Text(Field::kKind), "bind");
  EXPECT_EQ(bind.Text(Field::kStatementName), "find");
  EXPECT_EQ(bind.Text(Field::kPortal), "");
  EXPECT_EQ(Params(bind), (std::vector<std::string>{"forty-two", "<null>"}));
  EXPECT_EQ(bind.Text(Field::kParamNull), "");  // a marker: no value
  EXPECT_EQ(bind.Text(Field::kDecision), "allow");

  // ParseComplete, BindComplete, the rows, CommandComplete, then one ReadyForQuery for the Sync.
  const Bytes answer = Concat({Tagged('1', std::string_view()), Tagged('2', std::string_view()),
                               DataRow({"x"}), DataRow({"y"}), CommandComplete("SELECT 2"),
                               Ready('I')});
  EXPECT_EQ(session->InspectDown(answer, kStartMs), answer.size());
  records = TakeRecords();
  ASSERT_EQ(Names(records), "response");
  EXPECT_EQ(records[0].Int(Field::kStatements), 2u);
  EXPECT_EQ(records[0].Int(Field::kStatementSeq), 2u);
  EXPECT_EQ(records[0].Int(Field::kRows), 2u);
  EXPECT_EQ(records[0].Int(Field::kCommands), 1u);
}

// ---------------------------------------------------------------------------------------------
// 4. Limits.

TEST_F(PgSessionAuditTest, LongTextAndParamsAreCutAtTheirLimits) {
  config::AuditConfig audit = AuditDefaults();
  audit.statement_bytes_max = 1024;
  audit.params_bytes_max = 16;
  ASSERT_NO_FATAL_FAILURE(Open(audit));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));

  std::string text = "SELECT '";
  text.append(10 * 1024 - text.size() - 1, 'x');
  text.push_back('\'');
  ASSERT_EQ(text.size(), 10u * 1024);
  const Bytes query = Query(text);
  EXPECT_EQ(session->InspectUp(query, kStartMs), query.size());  // the statement is not cut
  std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  const std::string recorded = records[0].Text(Field::kText);
  EXPECT_LE(recorded.size(), 1024u);
  EXPECT_GT(recorded.size(), 0u);
  EXPECT_EQ(recorded, text.substr(0, recorded.size()));
  EXPECT_TRUE(records[0].flag(audit::kFlagTruncated));
  EXPECT_EQ(records[0].Int(Field::kTextSize), text.size());

  // 16 bytes of values in all: 10, then 6 of the next, then nothing; NULLs cost nothing.
  const Bytes batch = Concat({Parse("p", "SELECT $1, $2, $3, $4"),
                              Bind("", "p", {std::string("0123456789"), std::string("abcdefghij"),
                                             std::nullopt, std::string("XYZ")}),
                              Execute(""), Sync()});
  EXPECT_EQ(session->InspectUp(batch, kStartMs), batch.size());
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement statement");
  EXPECT_FALSE(records[0].flag(audit::kFlagTruncated));
  EXPECT_FALSE(records[0].Has(Field::kTextSize));
  const Record& bind = records[1];
  EXPECT_TRUE(bind.flag(audit::kFlagTruncated));
  EXPECT_EQ(Params(bind), (std::vector<std::string>{"0123456789", "abcdef", "<null>", ""}));

  // Values within the limit are whole and unflagged.
  (void)Up(*session, Concat({Bind("", "p", {std::string("short")}), Execute(""), Sync()}));
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  EXPECT_FALSE(records[0].flag(audit::kFlagTruncated));
  EXPECT_EQ(Params(records[0]), std::vector<std::string>{"short"});
}

// ---------------------------------------------------------------------------------------------
// 5. Masking.

TEST_F(PgSessionAuditTest, StatementsOnMaskedRelationsKeepNoValues) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults(), kEmailMasking));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));

  // A simple Query naming customers: literals become '?'.
  (void)Up(*session, Query("SELECT * FROM customers WHERE email = 'a@b.c' AND id = 7"));
  std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  EXPECT_EQ(records[0].Text(Field::kText), "SELECT * FROM customers WHERE email = ? AND id = ?");
  EXPECT_TRUE(records[0].flag(audit::kFlagTextNormalized));
  EXPECT_EQ(records[0].Text(Field::kDecision), "allow");

  // A prepared statement naming customers: its Bind values are withheld, NULLs still shown.
  (void)Up(*session, Concat({Parse("by_email", "SELECT id FROM customers WHERE email = $1 "
                                               "AND name <> 'x'"),
                             Bind("", "by_email", {std::string("a@b.c"), std::nullopt}),
                             Execute(""), Sync()}));
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement statement");
  EXPECT_EQ(records[0].Text(Field::kKind), "parse");
  EXPECT_EQ(records[0].Text(Field::kText), "SELECT id FROM customers WHERE email = $1 AND name <> ?");
  EXPECT_TRUE(records[0].flag(audit::kFlagTextNormalized));
  const Record& hidden = records[1];
  EXPECT_EQ(hidden.Text(Field::kKind), "bind");
  EXPECT_TRUE(hidden.flag(audit::kFlagParamsHidden));
  EXPECT_FALSE(hidden.Has(Field::kParam));
  EXPECT_EQ(Params(hidden), (std::vector<std::string>{"<hidden>", "<null>"}));
  for (const auto& [tag, value] : hidden.fields) {
    EXPECT_EQ(value.find("a@b.c"), std::string::npos) << audit::FieldName(tag);
  }

  // A Bind to a statement the session never saw prepared: withheld too (fail closed).
  (void)Up(*session, Concat({Bind("", "unknown", {std::string("a@b.c")}), Execute(""), Sync()}));
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  EXPECT_TRUE(records[0].flag(audit::kFlagParamsHidden));
  EXPECT_EQ(Params(records[0]), std::vector<std::string>{"<hidden>"});

  // Statements on an unrelated table keep their text and values.
  (void)Up(*session, Query("SELECT * FROM orders WHERE id = 5"));
  (void)Up(*session, Concat({Parse("by_id", "SELECT total FROM orders WHERE id = $1"),
                             Bind("", "by_id", {std::string("5")}), Execute(""), Sync()}));
  records = TakeRecords();
  ASSERT_EQ(Names(records), "statement statement statement");
  EXPECT_EQ(records[0].Text(Field::kText), "SELECT * FROM orders WHERE id = 5");
  EXPECT_FALSE(records[0].flag(audit::kFlagTextNormalized));
  EXPECT_EQ(records[1].Text(Field::kText), "SELECT total FROM orders WHERE id = $1");
  EXPECT_FALSE(records[1].flag(audit::kFlagTextNormalized));
  EXPECT_FALSE(records[2].flag(audit::kFlagParamsHidden));
  EXPECT_EQ(Params(records[2]), std::vector<std::string>{"5"});
}

TEST_F(PgSessionAuditTest, MaskedCellsAreCountedPerColumnInTheResponse) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults(), kEmailMasking));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select id, email from customers"));
  const Bytes got =
      Down(*session, Concat({TextRowDescription({"id", "email"}, kCustomersOid),
                             DataRow({"1", "alice@example.com"}), DataRow({"2", "bob@example.org"}),
                             CommandComplete("SELECT 2"), Ready('I')}));
  EXPECT_FALSE(Contains(got, "alice@example.com"));
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement response");
  EXPECT_EQ(records[1].Texts(Field::kMasked), std::vector<std::string>{"email=2"});
  EXPECT_EQ(records[1].Int(Field::kRows), 2u);
}

// ---------------------------------------------------------------------------------------------
// 6. The gate: a full queue under on_full "block".

TEST_F(PgSessionAuditTest, FullQueueHoldsTheStatementAndWhatFollowsUntilItsRecordIsQueued) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  const uint64_t emitted = sink_->emitted();
  ASSERT_GT(FillQueue(), 0u);

  // Nothing of the Query goes on: neither the chunk's prefix nor a copy.
  const Bytes first = Query("SELECT 1");
  EXPECT_EQ(session->InspectUp(first, kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());
  EXPECT_EQ(session->audit_held_bytes(), first.size());
  EXPECT_EQ(sink_->backlog_size(), 1u);
  EXPECT_EQ(sink_->emitted(), emitted + 1);
  EXPECT_TRUE(channel().wants_wake.load());
  EXPECT_EQ(stats_.audit_waits, 1u);

  // More client bytes wait behind it, even a statement whose record could be queued.
  const Bytes second = Query("SELECT 2");
  EXPECT_EQ(session->InspectUp(second, kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_EQ(session->audit_held_bytes(), first.size() + second.size());
  EXPECT_EQ(sink_->backlog_size(), 2u);

  // The shard's batch end and a tick while the queue is still full release nothing.
  sink_->Pump();
  EXPECT_FALSE(session->OnAuditProgress());
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());

  // The writer drains; the shard pumps the backlog in and wakes the session.
  EXPECT_TRUE(TakeRecords().empty());  // only fillers
  sink_->Pump();
  EXPECT_EQ(sink_->backlog_size(), 0u);
  EXPECT_TRUE(session->OnAuditProgress());
  EXPECT_FALSE(session->audit_waiting());
  EXPECT_EQ(session->audit_held_bytes(), 0u);
  EXPECT_EQ(Drain(session->to_backend()), Concat({first, second}));
  EXPECT_FALSE(session->OnAuditProgress());  // nothing more to release

  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement statement");
  EXPECT_EQ(records[0].Text(Field::kText), "SELECT 1");
  EXPECT_EQ(records[1].Text(Field::kText), "SELECT 2");

  // With room again, the next Query is back to zero-copy.
  const Bytes third = Query("SELECT 3");
  EXPECT_EQ(session->InspectUp(third, kStartMs), third.size());
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_FALSE(session->audit_waiting());
}

TEST_F(PgSessionAuditTest, FullQueueHoldsAStatementSplitAcrossChunksAndTheRestOfItsBatch) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  ASSERT_GT(FillQueue(), 0u);
  const Bytes batch = Concat({Parse("", "SELECT $1"), Bind("", "", {std::string("v")}),
                              Execute(""), Sync(), Query("SELECT 9")});
  // The Parse is cut in the middle: its first part waits in the editor, the rest completes it.
  const size_t cut = 7;
  EXPECT_EQ(session->InspectUp(std::span(batch).first(cut), kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_EQ(session->InspectUp(std::span(batch).subspan(cut), kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());
  EXPECT_EQ(session->audit_held_bytes(), batch.size());
  EXPECT_EQ(sink_->backlog_size(), 3u);  // parse, bind, query

  (void)TakeRecords();
  sink_->Pump();
  EXPECT_TRUE(session->OnAuditProgress());
  EXPECT_EQ(Drain(session->to_backend()), batch);
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement statement statement");
  EXPECT_EQ(records[0].Text(Field::kKind), "parse");
  EXPECT_EQ(records[1].Text(Field::kKind), "bind");
  EXPECT_EQ(records[2].Text(Field::kKind), "query");
}

TEST_F(PgSessionAuditTest, FullQueueHoldsTheRefusalMarkerToo) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  ASSERT_GT(FillQueue(), 0u);
  EXPECT_EQ(session->InspectUp(Query("DROP TABLE t"), kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());
  (void)TakeRecords();
  sink_->Pump();
  EXPECT_TRUE(session->OnAuditProgress());
  const std::vector<Msg> sent = Frames(Drain(session->to_backend()));
  ASSERT_EQ(Types(sent), "Q");
  EXPECT_THAT(QueryText(sent[0]), StartsWith("jitgate_blocked_"));
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  EXPECT_EQ(records[0].Text(Field::kDecision), "block");
}

// The owned path (ForwardUp): a Query pipelined behind the password goes on after start-up,
// through the gate like any other.
TEST_F(PgSessionAuditTest, QueryPipelinedBehindThePasswordWaitsForItsRecord) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  session->OnClientBytes(Startup("orders"), kStartMs);
  ASSERT_EQ(Types(Drain(session->to_client())), "R");
  const Bytes early = Query("SELECT 1");
  session->OnClientBytes(Concat({Password(Mint()), early}), kStartMs);
  ASSERT_GT(FillQueue(), 0u);  // grant_issued is in; session_open will not fit
  ASSERT_NO_FATAL_FAILURE(ConnectTrust(*session));
  EXPECT_EQ(Types(Drain(session->to_client())), "RSSKZ");
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());
  EXPECT_EQ(session->audit_held_bytes(), early.size());
  EXPECT_EQ(sink_->backlog_size(), 2u);  // session_open, statement
  EXPECT_EQ(Names(TakeRecords()), "grant_issued");
  sink_->Pump();
  EXPECT_TRUE(session->OnAuditProgress());
  EXPECT_EQ(Drain(session->to_backend()), early);
  EXPECT_EQ(Names(TakeRecords()), "session_open statement");
}

// ---------------------------------------------------------------------------------------------
// 7. on_full "drop".

TEST_F(PgSessionAuditTest, FullQueueUnderDropDropsResponsesButNotStatements) {
  config::AuditConfig audit = AuditDefaults();
  audit.on_full = config::AuditOnFull::kDrop;
  ASSERT_NO_FATAL_FAILURE(Open(audit));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  const Bytes first = Query("SELECT 1");
  EXPECT_EQ(session->InspectUp(first, kStartMs), first.size());
  ASSERT_EQ(Names(TakeRecords()), "statement");

  ASSERT_GT(FillQueue(), 0u);
  const uint64_t emitted = sink_->emitted();
  // The answer's summary is not a security record: dropped and counted, the answer goes on.
  const Bytes answer = SelectAnswer(1);
  EXPECT_EQ(session->InspectDown(answer, kStartMs), answer.size());
  EXPECT_EQ(sink_->dropped(), 1u);
  EXPECT_EQ(channel().dropped.load(), 1u);
  EXPECT_EQ(sink_->emitted(), emitted);
  EXPECT_EQ(sink_->backlog_size(), 0u);

  // A statement is backlogged, not dropped, and held.
  const Bytes second = Query("SELECT 2");
  EXPECT_EQ(session->InspectUp(second, kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());
  EXPECT_EQ(sink_->backlog_size(), 1u);
  EXPECT_EQ(sink_->dropped(), 1u);
  EXPECT_EQ(sink_->emitted(), emitted + 1);

  (void)TakeRecords();
  sink_->Pump();
  EXPECT_TRUE(session->OnAuditProgress());
  EXPECT_EQ(Drain(session->to_backend()), second);
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "statement");
  EXPECT_EQ(records[0].Int(Field::kStatementSeq), 2u);
  EXPECT_EQ(records[0].Text(Field::kText), "SELECT 2");
}

// The same under "block": the summary waits in the backlog, nothing is dropped, and the session
// is not held for it (responses gate nothing).
TEST_F(PgSessionAuditTest, FullQueueUnderBlockBacklogsResponses) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  (void)Up(*session, Query("SELECT 1"));
  ASSERT_EQ(Names(TakeRecords()), "statement");
  ASSERT_GT(FillQueue(), 0u);
  const Bytes answer = SelectAnswer(1);
  EXPECT_EQ(session->InspectDown(answer, kStartMs), answer.size());
  EXPECT_EQ(sink_->dropped(), 0u);
  EXPECT_EQ(sink_->backlog_size(), 1u);
  EXPECT_FALSE(session->audit_waiting());
  (void)TakeRecords();
  sink_->Pump();
  EXPECT_EQ(Names(TakeRecords()), "response");
}

// ---------------------------------------------------------------------------------------------
// 8. Durable mode.

TEST_F(PgSessionAuditTest, DurableModeHoldsAStatementUntilItsRecordIsOnDisk) {
  config::AuditConfig audit = AuditDefaults();
  audit.mode = config::AuditMode::kDurable;
  ASSERT_NO_FATAL_FAILURE(Open(audit));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));  // takes the open records, not synced

  const Bytes query = Query("SELECT 1");
  EXPECT_EQ(session->InspectUp(query, kStartMs), 0u);
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_TRUE(session->audit_waiting());
  EXPECT_EQ(sink_->backlog_size(), 0u);  // queued, not yet on disk
  EXPECT_TRUE(channel().wants_wake.load());
  // Taken by the writer but not fsync'ed yet: still held.
  ASSERT_EQ(Names(TakeRecords()), "statement");
  EXPECT_FALSE(session->OnAuditProgress());
  EXPECT_TRUE(session->to_backend().empty());
  // One record short of it: still held.
  channel().durable.store(sink_->emitted() - 1);
  EXPECT_FALSE(session->OnAuditProgress());
  // On disk: released, byte for byte.
  channel().durable.store(sink_->emitted());
  EXPECT_TRUE(session->OnAuditProgress());
  EXPECT_FALSE(session->audit_waiting());
  EXPECT_EQ(Drain(session->to_backend()), query);
}

TEST_F(PgSessionAuditTest, DurableModeForwardsThePrefixWhoseRecordsAreOnDisk) {
  config::AuditConfig audit = AuditDefaults();
  audit.mode = config::AuditMode::kDurable;
  ASSERT_NO_FATAL_FAILURE(Open(audit));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  // As if the writer had synced one record ahead: the first Query's.
  channel().durable.store(sink_->emitted() + 1);
  const Bytes first = Query("SELECT 1");
  const Bytes second = Query("SELECT 2");
  const Bytes sync = Sync();
  const Bytes chunk = Concat({first, second, sync});
  // The first goes on zero-copy from the chunk; the second and everything after it waits.
  EXPECT_EQ(session->InspectUp(chunk, kStartMs), first.size());
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_EQ(session->audit_held_bytes(), second.size() + sync.size());
  channel().durable.store(sink_->emitted());
  EXPECT_TRUE(session->OnAuditProgress());
  EXPECT_EQ(Drain(session->to_backend()), Concat({second, sync}));
}

// ---------------------------------------------------------------------------------------------
// 9. Refusals before a session.

TEST_F(PgSessionAuditTest, RejectedTokensAreRecordedAsAuthRefused) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  TokenSpec expired;
  expired.lifetime_s = -3600;
  for (const std::string& token : {Mint(expired), std::string("not-a-token")}) {
    std::unique_ptr<PgSession> session = NewAuditSession();
    ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", token));
    EXPECT_EQ(session->end(), EndReason::kAuthRefused);
    const std::vector<Msg> back = Frames(Drain(session->to_client()));
    ASSERT_EQ(Types(back), "E");
    const ErrorInfo error = DecodeError(back[0]);
    std::vector<Record> records = TakeRecords();
    ASSERT_EQ(Names(records), "auth_refused");
    const Record& refused = records[0];
    EXPECT_TRUE(refused.flag(audit::kFlagSecurity));
    EXPECT_EQ(refused.header.session, session_count_);
    EXPECT_EQ(refused.Text(Field::kReason), "auth_refused");
    EXPECT_EQ(refused.Text(Field::kSqlstate), "28P01");
    EXPECT_EQ(refused.Text(Field::kMessage), error.message);
    EXPECT_THAT(refused.Text(Field::kMessage), HasSubstr("access token rejected"));
    EXPECT_EQ(refused.Text(Field::kClient), kClient);
    EXPECT_EQ(refused.Text(Field::kListener), "dev");
    EXPECT_EQ(refused.Text(Field::kResource), "orders");
    EXPECT_FALSE(refused.Has(Field::kSubject));  // no identity was established
    // Nothing was granted: the relay's close records nothing.
    session->AuditClose("client_closed", 10, 20);
    EXPECT_TRUE(TakeRecords().empty());
  }
}

TEST_F(PgSessionAuditTest, IdentityWithoutAPolicyIsRecordedWith28000) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  // A role no policy matches, on the resource that has a policy; then the resource none grants.
  TokenSpec stranger;
  stranger.role = "db.none";
  const std::vector<std::pair<std::string, std::string>> cases = {{"orders", Mint(stranger)},
                                                                   {"hidden", Mint()}};
  for (const auto& [database, token] : cases) {
    std::unique_ptr<PgSession> session = NewAuditSession();
    ASSERT_NO_FATAL_FAILURE(Login(*session, database, token));
    EXPECT_EQ(session->end(), EndReason::kAccessDenied) << database;
    std::vector<Record> records = TakeRecords();
    ASSERT_EQ(Names(records), "auth_refused") << database;
    const Record& refused = records[0];
    EXPECT_EQ(refused.Text(Field::kReason), "access_denied");
    EXPECT_EQ(refused.Text(Field::kSqlstate), "28000");
    EXPECT_THAT(refused.Text(Field::kMessage), HasSubstr("no policy"));
    EXPECT_EQ(refused.Text(Field::kResource), database);
    EXPECT_EQ(refused.Text(Field::kSubject), kSubject);  // the token was good
    EXPECT_FALSE(refused.Has(Field::kGrant));
  }
  EXPECT_EQ(grants_->active_count(), 0u);
}

TEST_F(PgSessionAuditTest, UnknownDatabaseIsRecordedWithoutAResource) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  session->OnClientBytes(Startup("nowhere"), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kAccessDenied);
  const std::vector<Record> records = TakeRecords();
  ASSERT_EQ(Names(records), "auth_refused");
  EXPECT_EQ(records[0].Text(Field::kSqlstate), "3D000");
  EXPECT_FALSE(records[0].Has(Field::kResource));
  EXPECT_FALSE(records[0].Has(Field::kSubject));
}

// ---------------------------------------------------------------------------------------------
// 10. Zero-copy is kept when nothing waits.

TEST_F(PgSessionAuditTest, NothingWaitingKeepsForwardingZeroCopy) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  std::unique_ptr<PgSession> session = NewAuditSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwarding(*session));
  const Bytes up = Concat({Query("SELECT 1"), Query("SELECT 2"), Parse("", "SELECT $1"),
                           Bind("", "", {std::string("1")}), Execute(""), Sync()});
  EXPECT_EQ(session->InspectUp(up, kStartMs), up.size());
  EXPECT_TRUE(session->to_backend().empty());
  EXPECT_FALSE(session->audit_waiting());
  const Bytes down = Concat({SelectAnswer(1), SelectAnswer(2)});
  EXPECT_EQ(session->InspectDown(down, kStartMs), down.size());
  EXPECT_TRUE(session->to_client().empty());
  EXPECT_EQ(stats_.audit_waits, 0u);
  EXPECT_EQ(Names(TakeRecords()), "statement statement statement statement response response");
}

// Without a sink, or with a disabled one, a session records nothing and behaves as before.
TEST_F(PgSessionAuditTest, DisabledSinkRecordsNothing) {
  ASSERT_NO_FATAL_FAILURE(Open(AuditDefaults()));
  audit::ShardSink off(nullptr, 0);
  auto session = std::make_unique<PgSession>(env_, nullptr, &stats_, 0, nullptr, nullptr, &off);
  session->Start(0, ++session_count_, kClient, kStartMs);
  ASSERT_NO_FATAL_FAILURE(Login(*session, "orders", Mint()));
  ASSERT_NO_FATAL_FAILURE(ConnectTrust(*session));
  (void)Drain(session->to_client());
  const Bytes query = Query("SELECT 1");
  EXPECT_EQ(session->InspectUp(query, kStartMs), query.size());
  EXPECT_FALSE(session->audit_waiting());
  EXPECT_FALSE(session->OnAuditProgress());
  session->AuditClose("client_closed", 0, 0);
  EXPECT_TRUE(TakeRecords().empty());
  EXPECT_EQ(stats_.audit_records, 0u);
}

}  // namespace
}  // namespace jitgate::session
