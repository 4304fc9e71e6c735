// tests/session/pg_session_mask_test.cc: result masking of PgSession (pg_session_mask.cc), driven
// sans-I/O by playing both peers with byte vectors.
//
// The environment is pg_session_test's, cut down to one insecure listener, one resource and one
// policy, with the "masking" object given per test. Column rules make the session read the
// catalog after backend authentication; the fake backend answers that query with the rows a test
// chooses (CatalogRows: the five result sets of src/mask/catalog.cc). Forwarding goes through
// InspectUp / InspectDown (no TLS on either leg, so the session is zero-copy); Up() and Down()
// return what the backend and the client receive: the forwarded prefix, then the session's own
// bytes.
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jitgate/check.h"
#include "jitgate/config.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"
#include "jitgate/parsers/pg/startup.h"
#include "src/auth/keys.h"
#include "src/auth/mint.h"
#include "src/auth/validator.h"
#include "src/grants/store.h"
#include "src/policy/rules.h"
#include "src/policy/table.h"
#include "src/session/cancel_registry.h"
#include "src/session/gateway_env.h"
#include "src/session/pg_session.h"
#include "tests/session/pg_session_fixture.h"

namespace jitgate::session {
namespace {

namespace pg = parsers::pg;
using namespace ::jitgate::session::testing;
using Value = std::optional<std::string>;  // nullopt: SQL NULL
using ::testing::HasSubstr;

// Type OIDs (pg_type.dat).
constexpr uint32_t kInt4 = 23;
constexpr uint32_t kText = 25;

// The table the catalog knows: public.customers (oid 16384): id int4, email text, name text,
// salary int4. The newest relation OID is 16390.
constexpr uint32_t kCustomersOid = 16384;

// A column rule on customers.email and customers.salary (redact), and the smallest row limit.
constexpr char kColumnMasking[] = R"({"row_size_max": 65536, "rules": [
    {"name": "pii", "columns": ["customers.email", "customers.salary"], "strategy": "redact"}]})";
// A detector rule only: no catalog.
constexpr char kDetectorMasking[] = R"({"rules": [
    {"name": "emails", "detectors": ["email"], "strategy": "redact"}]})";

// ---------------------------------------------------------------------------------------------
// Bytes, and the messages pg_session_fixture.h does not have.

// An int4 in binary format.
std::string Int4Binary(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  }
  return out;
}

// ---- client messages ---------------------------------------------------------------------------

Bytes Bind(std::string_view portal, std::string_view statement,
           const std::vector<int16_t>& result_formats = {}) {
  Bytes body;
  PutCString(body, portal);
  PutCString(body, statement);
  Put16(body, 0);  // parameter formats
  Put16(body, 0);  // parameters
  Put16(body, static_cast<uint16_t>(result_formats.size()));
  for (int16_t format : result_formats) {
    Put16(body, static_cast<uint16_t>(format));
  }
  return Tagged('B', body);
}
Bytes Describe(char target, std::string_view name) {
  Bytes body;
  body.push_back(std::byte(target));
  PutCString(body, name);
  return Tagged('D', body);
}
Bytes Close(char target, std::string_view name) {
  Bytes body;
  body.push_back(std::byte(target));
  PutCString(body, name);
  return Tagged('C', body);
}
Bytes Execute(std::string_view portal) {
  Bytes body;
  PutCString(body, portal);
  Put32(body, 0);
  return Tagged('E', body);
}

// ---- backend messages --------------------------------------------------------------------------

Bytes BackendError(std::string_view sqlstate, std::string_view message,
                   std::string_view detail = {}) {
  return Encoded([&](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.severity = "ERROR";
    fields.sqlstate = sqlstate;
    fields.message = message;
    fields.detail = detail;
    return pg::EncodeErrorResponse(fields, out);
  });
}
Bytes Notice(std::string_view message) {
  return Encoded([&](std::span<std::byte> out) {
    pg::ErrorFields fields;
    fields.severity = "NOTICE";
    fields.sqlstate = "00000";
    fields.message = message;
    return pg::EncodeNoticeResponse(fields, out);
  });
}
Bytes Notification(uint32_t pid, std::string_view channel, std::string_view payload) {
  Bytes body;
  Put32(body, pid);
  PutCString(body, channel);
  PutCString(body, payload);
  return Tagged('A', body);
}
Bytes ParseComplete() { return Tagged('1', std::string_view()); }
Bytes BindComplete() { return Tagged('2', std::string_view()); }
Bytes CloseComplete() { return Tagged('3', std::string_view()); }
Bytes NoParameters() {
  Bytes body;
  Put16(body, 0);
  return Tagged('t', body);
}

struct Field {
  std::string name;
  uint32_t table_oid = 0;
  int16_t attnum = 0;
  uint32_t type_oid = kText;
  int16_t type_size = -1;
  int16_t format = 0;
};
// The columns of public.customers, and an expression column.
const Field kId{"id", kCustomersOid, 1, kInt4, 4};
const Field kEmail{"email", kCustomersOid, 2, kText, -1};
const Field kName{"name", kCustomersOid, 3, kText, -1};
const Field kSalary{"salary", kCustomersOid, 4, kInt4, 4};

Bytes RowDescription(const std::vector<Field>& fields) {
  Bytes body;
  Put16(body, static_cast<uint16_t>(fields.size()));
  for (const Field& field : fields) {
    PutCString(body, field.name);
    Put32(body, field.table_oid);
    Put16(body, static_cast<uint16_t>(field.attnum));
    Put32(body, field.type_oid);
    Put16(body, static_cast<uint16_t>(field.type_size));
    Put32(body, 0xffffffffu);  // typmod -1
    Put16(body, static_cast<uint16_t>(field.format));
  }
  return Tagged('T', body);
}
Bytes DataRow(const std::vector<Value>& values) {
  Bytes body;
  Put16(body, static_cast<uint16_t>(values.size()));
  for (const Value& value : values) {
    if (!value.has_value()) {
      Put32(body, 0xffffffffu);
      continue;
    }
    Put32(body, static_cast<uint32_t>(value->size()));
    Append(body, AsBytes(*value));
  }
  return Tagged('D', body);
}
Bytes CopyOutResponse(size_t columns) {
  Bytes body;
  body.push_back(std::byte{0});  // text
  Put16(body, static_cast<uint16_t>(columns));
  for (size_t i = 0; i < columns; ++i) {
    Put16(body, 0);
  }
  return Tagged('H', body);
}
Bytes CopyData(std::string_view data) { return Tagged('d', data); }
Bytes CopyDone() { return Tagged('c', std::string_view()); }

// The rows of the five result sets of the catalog query (src/mask/catalog.cc CatalogQuery):
//   0 columns:      oid, attnum, nspname, relname, attname, atttypid
//   1 views:        oid, depth, viewdef, base oids ("1,2"), nspname, relname
//   2 view columns: oid, attnum, attname
//   3 types:        oid, typname, typtype, typbasetype
//   4 one row:      the newest relation oid
struct CatalogRows {
  std::array<std::vector<std::vector<std::string>>, 5> results;
};

CatalogRows CustomersCatalog() {
  CatalogRows rows;
  const std::string oid = std::to_string(kCustomersOid);
  rows.results[0] = {{oid, "1", "public", "customers", "id", "23"},
                     {oid, "2", "public", "customers", "email", "25"},
                     {oid, "3", "public", "customers", "name", "25"},
                     {oid, "4", "public", "customers", "salary", "23"}};
  rows.results[4] = {{"16390"}};
  return rows;
}

// The backend's answer to the catalog query: T, D rows, C for each result set, then Z.
Bytes CatalogAnswer(const CatalogRows& rows) {
  static const std::array<std::vector<std::string>, 5> kColumns = {{
      {"oid", "attnum", "nspname", "relname", "attname", "atttypid"},
      {"oid", "max", "pg_get_viewdef", "string_agg", "nspname", "relname"},
      {"attrelid", "attnum", "attname"},
      {"oid", "typname", "typtype", "typbasetype"},
      {"max"},
  }};
  Bytes out;
  for (size_t r = 0; r < rows.results.size(); ++r) {
    std::vector<Field> fields;
    for (const std::string& name : kColumns[r]) {
      fields.push_back(Field{name, 0, 0, kText, -1});
    }
    Append(out, RowDescription(fields));
    for (const std::vector<std::string>& row : rows.results[r]) {
      Append(out, DataRow(std::vector<Value>(row.begin(), row.end())));
    }
    Append(out, CommandComplete(absl::StrCat("SELECT ", rows.results[r].size())));
  }
  Append(out, Ready('I'));
  return out;
}

// ---- reading what the session sent -------------------------------------------------------------

// Readable byte strings in failure messages.
std::string Printable(std::span<const std::byte> bytes) {
  std::string out;
  for (std::byte b : bytes) {
    const unsigned char c = std::to_integer<unsigned char>(b);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}
#define EXPECT_BYTES_EQ(got, want) EXPECT_EQ(Printable(got), Printable(want))

// ---------------------------------------------------------------------------------------------
// The environment.

// `unmask`: the policy's "unmask" value, or empty for none.
std::string ConfigJson(std::string_view masking, std::string_view unmask) {
  return absl::StrCat(R"({
    "listeners": [
      {"name": "dev", "protocol": "postgres", "address": "127.0.0.1:6433", "insecure": true}
    ],
    "resources": {
      "orders": {"protocol": "postgres", "address": "127.0.0.1:5432", "database": "orders_db",
                 "user": "jitgate"}
    },
    "identity": {"issuer": ")", kIssuer, R"(", "audience": ")", kAudience, R"(",
                 "jwks_file": "/nonexistent/jwks.json"},
    "policies": [
      {"name": "agents", "match": {"roles": ["db.read"]}, "resources": ["orders"],
       "access": {"mode": "auto", "max_duration_s": 900})",
      unmask.empty() ? std::string() : absl::StrCat(R"(, "unmask": )", std::string(unmask)),
      R"(}
    ],
    "masking": )", std::string(masking), R"(,
    "limits": {"auth_timeout_ms": 10000, "cancel_keys_max": 64}
  })");
}

class PgSessionMaskTest : public testing::PgSessionFixture {
 protected:
  // Builds the environment with `masking` as the config's "masking" object.
  void Configure(std::string_view masking, std::string_view unmask = {}) {
    ASSERT_NO_FATAL_FAILURE(
        ParseConfig(ConfigJson(masking, unmask), "pg_session_mask_test.json"));
    ASSERT_NO_FATAL_FAILURE(BuildEnvironment());
  }

  // StartupMessage and password, then the backend connection and its trust start-up. Leaves in
  // *backend what the session sent the backend after the start-up answer.
  void LoginAndAuthenticate(PgSession& session, Bytes* backend) {
    session.OnClientBytes(Startup("orders"), kStartMs);
    ASSERT_EQ(Types(Drain(session.to_client())), "R");
    session.OnClientBytes(Password(Mint()), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
    ASSERT_TRUE(session.TakeConnectRequest());
    session.OnBackendConnected(0, "", kStartMs);
    (void)Drain(session.to_backend());  // the StartupMessage
    session.OnBackendBytes(TrustStartup(), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
    *backend = Drain(session.to_backend());
  }

  // To forwarding with a catalog read (column rules): the catalog query is answered with
  // `catalog`.
  void ReachForwardingWithCatalog(PgSession& session,
                                  const CatalogRows& catalog = CustomersCatalog()) {
    Bytes backend;
    ASSERT_NO_FATAL_FAILURE(LoginAndAuthenticate(session, &backend));
    ASSERT_EQ(Types(backend), "Q");
    ASSERT_TRUE(Drain(session.to_client()).empty());
    session.OnBackendBytes(CatalogAnswer(catalog), kStartMs);
    ASSERT_EQ(session.end(), EndReason::kNone) << EndReasonName(session.end());
    ASSERT_EQ(Types(Drain(session.to_client())), "RSSKZ");
    ASSERT_TRUE(session.forwarding());
    ASSERT_FALSE(session.owned(0));
    ASSERT_FALSE(session.owned(1));
  }

  // To forwarding without a catalog (detector rules only).
  void ReachForwardingWithoutCatalog(PgSession& session) {
    Bytes backend;
    ASSERT_NO_FATAL_FAILURE(LoginAndAuthenticate(session, &backend));
    ASSERT_TRUE(backend.empty()) << Types(backend);
    ASSERT_EQ(Types(Drain(session.to_client())), "RSSKZ");
    ASSERT_TRUE(session.forwarding());
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

};

// ---------------------------------------------------------------------------------------------
// 1. The catalog.

TEST_F(PgSessionMaskTest, ColumnRuleReadsTheCatalogBeforeTheClientIsReady) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  Bytes backend;
  ASSERT_NO_FATAL_FAILURE(LoginAndAuthenticate(*session, &backend));
  // Exactly one Query, the catalog's; the client hears nothing yet.
  const std::vector<Msg> sent = Frames(backend);
  ASSERT_EQ(Types(sent), "Q");
  EXPECT_TRUE(Contains(sent[0].body, "pg_catalog.pg_attribute"));
  EXPECT_TRUE(Contains(sent[0].body, "'email'"));
  EXPECT_TRUE(Contains(sent[0].body, "'salary'"));
  EXPECT_EQ(sent[0].body.back(), std::byte{0});
  EXPECT_TRUE(Drain(session->to_client()).empty());
  EXPECT_FALSE(session->forwarding());

  // The answer in two pieces: the first ends inside result 2; nothing reaches the client yet.
  const Bytes answer = CatalogAnswer(CustomersCatalog());
  const size_t half = answer.size() / 2;
  session->OnBackendBytes(std::span(answer).first(half), kStartMs);
  EXPECT_TRUE(Drain(session->to_client()).empty());
  EXPECT_FALSE(session->forwarding());
  session->OnBackendBytes(std::span(answer).subspan(half), kStartMs);
  ASSERT_EQ(session->end(), EndReason::kNone) << EndReasonName(session->end());
  const std::vector<Msg> client = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(client), "RSSKZ");
  EXPECT_EQ(Load32(client[0].body), pg::kAuthOk);
  EXPECT_EQ(client[4].body, Bytes{std::byte{'I'}});
  EXPECT_TRUE(session->forwarding());
  // No second catalog query, and nothing of the catalog's answer went to the client.
  EXPECT_TRUE(Drain(session->to_backend()).empty());
  for (const Msg& msg : client) {
    EXPECT_FALSE(Contains(msg.body, "customers"));
  }
}

TEST_F(PgSessionMaskTest, DetectorOnlyPolicyReadsNoCatalog) {
  ASSERT_NO_FATAL_FAILURE(Configure(kDetectorMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithoutCatalog(*session));
}

TEST_F(PgSessionMaskTest, CatalogErrorEndsTheSessionWith08006) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  Bytes backend;
  ASSERT_NO_FATAL_FAILURE(LoginAndAuthenticate(*session, &backend));
  ASSERT_EQ(Types(backend), "Q");
  session->OnBackendBytes(
      Concat({BackendError("42501", "permission denied for table pg_attribute"), Ready('I')}),
      kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const std::vector<Msg> client = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(client), "E");  // no AuthenticationOk
  const ErrorInfo error = DecodeError(client[0]);
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "08006");
  EXPECT_THAT(error.message, HasSubstr("catalog"));
  EXPECT_FALSE(session->forwarding());
}

TEST_F(PgSessionMaskTest, IncompleteCatalogAnswerEndsTheSession) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  Bytes backend;
  ASSERT_NO_FATAL_FAILURE(LoginAndAuthenticate(*session, &backend));
  // Only the first result set, then ReadyForQuery.
  const std::vector<Field> fields = {{"oid"}, {"attnum"}, {"nspname"},
                                     {"relname"}, {"attname"}, {"atttypid"}};
  session->OnBackendBytes(
      Concat({RowDescription(fields), CommandComplete("SELECT 0"), Ready('I')}), kStartMs);
  EXPECT_EQ(session->end(), EndReason::kBackendUnavailable);
  const std::vector<Msg> client = Frames(Drain(session->to_client()));
  ASSERT_EQ(Types(client), "E");
  EXPECT_EQ(DecodeError(client[0]).code, "08006");
}

// ---------------------------------------------------------------------------------------------
// 2. Simple Query.

TEST_F(PgSessionMaskTest, SimpleQueryMasksSourceColumnsTheCatalogNamed) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes query = Query("select id, email, name, salary from customers");
  EXPECT_BYTES_EQ(Up(*session, query), query);

  const Bytes description = RowDescription({kId, kEmail, kName, kSalary});
  const Bytes row_null_email = DataRow({"3", std::nullopt, "Carol", std::nullopt});
  const Bytes done = Concat({CommandComplete("SELECT 3"), Ready('I')});
  const Bytes got = Down(*session, Concat({description,
                                          DataRow({"1", "alice@example.com", "Alice", "5000"}),
                                          row_null_email,
                                          DataRow({"2", "bob@example.org", "Bob", "72000"}),
                                          done}));
  // email and salary are masked (text "****", int4 0); id and name byte for byte; the row whose
  // masked values are NULL goes on unchanged.
  EXPECT_BYTES_EQ(got, Concat({description, DataRow({"1", "****", "Alice", "0"}), row_null_email,
                               DataRow({"2", "****", "Bob", "0"}), done}));
  EXPECT_EQ(stats_.rows_masked, 2u);
  EXPECT_EQ(stats_.cells_masked, 4u);
  EXPECT_EQ(session->end(), EndReason::kNone);
}

TEST_F(PgSessionMaskTest, ColumnThePolicyUnmasksIsSentInClear) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking, R"(["customers.salary"])"));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select email, salary from customers"));
  const Bytes description = RowDescription({kEmail, kSalary});
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, Concat({description, DataRow({"a@b.example", "5000"}), done})),
                  Concat({description, DataRow({"****", "5000"}), done}));
}

TEST_F(PgSessionMaskTest, ExpressionColumnNamedLikeAMaskedColumnIsMasked) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select upper(name) as email, 'x' as note from customers"));
  // No source (table OID 0): masked by its output name, not by lineage (upper(name) is clean).
  const Field email{"email", 0, 0, kText, -1};
  const Field note{"note", 0, 0, kText, -1};
  const Bytes description = RowDescription({email, note});
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, Concat({description, DataRow({"ALICE", "x"}), done})),
                  Concat({description, DataRow({"****", "x"}), done}));
}

TEST_F(PgSessionMaskTest, TwoResultSetsOfOneQueryHaveTheirOwnPlans) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select id, email from customers; select name, id from customers"));
  const Bytes first = RowDescription({kId, kEmail});
  const Bytes second = RowDescription({kName, kId});
  const Bytes got = Down(*session, Concat({first, DataRow({"1", "alice@example.com"}),
                                          CommandComplete("SELECT 1"), second,
                                          DataRow({"Alice", "1"}), CommandComplete("SELECT 1"),
                                          Ready('I')}));
  // The second result's column 1 is name (kept): the first plan must not carry over.
  EXPECT_BYTES_EQ(got, Concat({first, DataRow({"1", "****"}), CommandComplete("SELECT 1"),
                               second, DataRow({"Alice", "1"}), CommandComplete("SELECT 1"),
                               Ready('I')}));
  // And the other way round: an unmasked result, then one that masks.
  (void)Up(*session, Query("select name from customers; select email from customers"));
  const Bytes names = RowDescription({kName});
  const Bytes emails = RowDescription({kEmail});
  EXPECT_BYTES_EQ(
      Down(*session, Concat({names, DataRow({"Alice"}), CommandComplete("SELECT 1"), emails,
                             DataRow({"alice@example.com"}), CommandComplete("SELECT 1"),
                             Ready('I')})),
      Concat({names, DataRow({"Alice"}), CommandComplete("SELECT 1"), emails,
              DataRow({"****"}), CommandComplete("SELECT 1"), Ready('I')}));
}

// ---------------------------------------------------------------------------------------------
// 3. The extended protocol and the FIFO.

TEST_F(PgSessionMaskTest, ExtendedDescribePortalMasksWithThePortalsDescription) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes batch = Concat({Parse("", "select id, email from customers where id = 1"),
                              Bind("", ""), Describe('P', ""), Execute(""), Sync()});
  const std::vector<Msg> sent = Frames(Up(*session, batch));
  // The backend answers every Describe it gets (the session may add one: see
  // ClientDescribeOfThePortalIsNotDuplicated); the client sees the answer to its own only.
  const size_t describes = static_cast<size_t>(std::count_if(
      sent.begin(), sent.end(), [](const Msg& msg) { return msg.type == 'D'; }));
  ASSERT_GE(describes, 1u);
  Bytes answer = Concat({ParseComplete(), BindComplete()});
  for (size_t i = 0; i < describes; ++i) {
    Append(answer, RowDescription({kId, kEmail}));
  }
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, Concat({answer, DataRow({"1", "alice@example.com"}), done})),
                  Concat({ParseComplete(), BindComplete(), RowDescription({kId, kEmail}),
                          DataRow({"1", "****"}), done}));
}

TEST_F(PgSessionMaskTest, ClientDescribeOfThePortalIsNotDuplicated) {
  // The Execute is checked before the client's Describe of the same portal is answered: that
  // Describe, already in the FIFO, counts (no second one is inserted for libpq's PQexecParams).
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes portal = Concat({Parse("", "select id, email from customers where id = 1"),
                               Bind("", ""), Describe('P', ""), Execute(""), Sync()});
  EXPECT_BYTES_EQ(Up(*session, portal), portal);
  // The same with a Describe of the statement in the batch.
  const Bytes statement = Concat({Parse("s2", "select id, email from customers"),
                                  Describe('S', "s2"), Bind("", "s2"), Execute(""), Sync()});
  EXPECT_BYTES_EQ(Up(*session, statement), statement);
}

TEST_F(PgSessionMaskTest, DescribedStatementThenBinaryBindMasksInBinary) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes prepare = Concat({Parse("s1", "select id, email, name, salary from customers"),
                                Describe('S', "s1"), Sync()});
  EXPECT_BYTES_EQ(Up(*session, prepare), prepare);
  // A statement's description has format 0 everywhere; the Bind decides.
  const Bytes described = Concat({ParseComplete(), NoParameters(),
                                  RowDescription({kId, kEmail, kName, kSalary}), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, described), described);

  const Bytes run = Concat({Bind("p1", "s1", {1}), Execute("p1"), Sync()});
  EXPECT_BYTES_EQ(Up(*session, run), run);  // described already: no Describe added
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  const Bytes got =
      Down(*session, Concat({BindComplete(),
                             DataRow({Int4Binary(1), "alice@example.com", "Alice",
                                      Int4Binary(5000)}),
                             done}));
  // salary in binary: four zero bytes (text would be "0").
  EXPECT_BYTES_EQ(got, Concat({BindComplete(),
                               DataRow({Int4Binary(1), "****", "Alice", Int4Binary(0)}), done}));
}

TEST_F(PgSessionMaskTest, ExecuteWithoutDescribeGetsOneInjectedAndItsAnswerIsHidden) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes parse_bind = Concat({Parse("", "select salary, name from customers"), Bind("", "")});
  const Bytes batch = Concat({parse_bind, Execute(""), Sync()});
  // The backend gets Describe('P', "") right before the Execute.
  EXPECT_BYTES_EQ(Up(*session, batch),
                  Concat({parse_bind, Describe('P', ""), Execute(""), Sync()}));
  const Bytes done = Concat({CommandComplete("SELECT 2"), Ready('I')});
  const Bytes got = Down(*session, Concat({ParseComplete(), BindComplete(),
                                          RowDescription({kSalary, kName}),
                                          DataRow({"5000", "Alice"}), DataRow({"72000", "Bob"}),
                                          done}));
  // The RowDescription the injected Describe brought is not the client's.
  EXPECT_BYTES_EQ(got, Concat({ParseComplete(), BindComplete(), DataRow({"0", "Alice"}),
                               DataRow({"0", "Bob"}), done}));
}

TEST_F(PgSessionMaskTest, InjectedDescribeOfANamedPortalAnsweredInPieces) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes parse_bind =
      Concat({Parse("q", "select email from customers"), Bind("cur", "q")});
  EXPECT_BYTES_EQ(Up(*session, Concat({parse_bind, Execute("cur"), Sync()})),
                  Concat({parse_bind, Describe('P', "cur"), Execute("cur"), Sync()}));
  // The answer one byte at a time.
  const Bytes answer = Concat({ParseComplete(), BindComplete(), RowDescription({kEmail}),
                               DataRow({"alice@example.com"}), CommandComplete("SELECT 1"),
                               Ready('I')});
  Bytes got;
  for (size_t i = 0; i < answer.size(); ++i) {
    Append(got, Down(*session, Bytes{answer[i]}));
  }
  EXPECT_BYTES_EQ(got, Concat({ParseComplete(), BindComplete(), DataRow({"****"}),
                               CommandComplete("SELECT 1"), Ready('I')}));
}

TEST_F(PgSessionMaskTest, ErrorInAPipelinedBatchRealignsTheFifo) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  // Batch 1 fails at its Parse (the server skips Bind, Describe, Execute to the Sync); batch 2
  // fails in its Execute after one row; batch 3 runs. All pipelined; each Execute gets a
  // Describe from the session.
  const Bytes pb1 = Concat({Parse("", "select emial from customers"), Bind("", "")});
  const Bytes pb2 = Concat({Parse("", "select id, email from customers"), Bind("", "")});
  const Bytes pb3 = Concat({Parse("", "select email, id from customers"), Bind("", "")});
  const Bytes tail = Concat({Execute(""), Sync()});
  EXPECT_BYTES_EQ(Up(*session, Concat({pb1, tail, pb2, tail, pb3, tail})),
                  Concat({pb1, Describe('P', ""), tail, pb2, Describe('P', ""), tail, pb3,
                          Describe('P', ""), tail}));
  const Bytes error1 = BackendError("42703", "column \"emial\" does not exist");
  const Bytes error2 = BackendError("22012", "division by zero");
  const Bytes got = Down(
      *session,
      Concat({error1, Ready('I'),
              ParseComplete(), BindComplete(), RowDescription({kId, kEmail}),
              DataRow({"1", "alice@example.com"}), error2, Ready('I'),
              ParseComplete(), BindComplete(), RowDescription({kEmail, kId}),
              DataRow({"bob@example.org", "2"}), CommandComplete("SELECT 1"), Ready('I')}));
  EXPECT_BYTES_EQ(got, Concat({error1, Ready('I'),
                               ParseComplete(), BindComplete(),
                               DataRow({"1", "****"}), error2, Ready('I'),
                               ParseComplete(), BindComplete(),
                               DataRow({"****", "2"}), CommandComplete("SELECT 1"),
                               Ready('I')}));
  // And the FIFO is empty: a simple Query is answered as its own.
  (void)Up(*session, Query("select name, email from customers"));
  const Bytes description = RowDescription({kName, kEmail});
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, Concat({description, DataRow({"Bob", "bob@example.org"}), done})),
                  Concat({description, DataRow({"Bob", "****"}), done}));
}

TEST_F(PgSessionMaskTest, CloseOfAStatementForgetsItsDescription) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Concat({Parse("s1", "select id, email from customers"), Describe('S', "s1"),
                             Sync()}));
  (void)Down(*session, Concat({ParseComplete(), NoParameters(), RowDescription({kId, kEmail}),
                               Ready('I')}));
  // Described: Bind/Execute go as they are.
  const Bytes run = Concat({Bind("", "s1"), Execute(""), Sync()});
  EXPECT_BYTES_EQ(Up(*session, run), run);
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, Concat({BindComplete(), DataRow({"1", "a@b.example"}), done})),
                  Concat({BindComplete(), DataRow({"1", "****"}), done}));

  const Bytes close = Concat({Close('S', "s1"), Sync()});
  EXPECT_BYTES_EQ(Up(*session, close), close);
  EXPECT_BYTES_EQ(Down(*session, Concat({CloseComplete(), Ready('I')})),
                  Concat({CloseComplete(), Ready('I')}));
  // Forgotten: the same Bind/Execute now gets a Describe of the portal.
  EXPECT_BYTES_EQ(Up(*session, run), Concat({Bind("", "s1"), Describe('P', ""), Execute(""),
                                             Sync()}));
  const Bytes missing = BackendError("26000", "prepared statement \"s1\" does not exist");
  EXPECT_BYTES_EQ(Down(*session, Concat({missing, Ready('I')})), Concat({missing, Ready('I')}));
}

// ---------------------------------------------------------------------------------------------
// 4. Fail closed.

TEST_F(PgSessionMaskTest, DataRowWithAnotherColumnCountIsAllNull) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select id, email, name from customers"));
  const Bytes description = RowDescription({kId, kEmail, kName});
  const Bytes done = Concat({CommandComplete("SELECT 3"), Ready('I')});
  const Bytes got = Down(*session, Concat({description, DataRow({"1", "alice@example.com"}),
                                          DataRow({"2", "bob@example.org", "Bob", "extra"}),
                                          DataRow({"3", "carol@example.net", "Carol"}), done}));
  EXPECT_BYTES_EQ(got, Concat({description, DataRow({std::nullopt, std::nullopt}),
                               DataRow({std::nullopt, std::nullopt, std::nullopt, std::nullopt}),
                               DataRow({"3", "****", "Carol"}), done}));
}

TEST_F(PgSessionMaskTest, RowsNoDescriptionAnnouncedAreAllNull) {
  // Rows that no description announced have every value NULLed: DataRow stays in the down
  // editor's interest set whenever no plan is ready.
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select 1"));
  const Bytes done = Concat({CommandComplete("SELECT 1"), Ready('I')});
  EXPECT_BYTES_EQ(Down(*session, Concat({DataRow({"1", "x"}), done})),
                  Concat({DataRow({std::nullopt, std::nullopt}), done}));
}

// ---------------------------------------------------------------------------------------------
// 5. Detectors (no catalog).

TEST_F(PgSessionMaskTest, DetectorMasksAnEmailInsideAText) {
  ASSERT_NO_FATAL_FAILURE(Configure(kDetectorMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithoutCatalog(*session));
  (void)Up(*session, Query("select id, note from tickets"));
  const Bytes description =
      RowDescription({{"id", 17000, 1, kInt4, 4}, {"note", 17000, 2, kText, -1}});
  const Bytes clean = DataRow({"2", "call back tomorrow"});
  const Bytes done = Concat({CommandComplete("SELECT 2"), Ready('I')});
  EXPECT_BYTES_EQ(
      Down(*session, Concat({description, DataRow({"1", "write to alice@example.com today"}),
                             clean, done})),
      Concat({description, DataRow({"1", "write to **** today"}), clean, done}));
}

TEST_F(PgSessionMaskTest, DetectorRewritesAnErrorDetailThatEchoesAValue) {
  ASSERT_NO_FATAL_FAILURE(Configure(kDetectorMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithoutCatalog(*session));
  (void)Up(*session, Query("insert into users (email) values ('alice@example.com')"));
  const std::string message = "duplicate key value violates unique constraint \"users_email\"";
  const Bytes got = Down(
      *session, Concat({BackendError("23505", message,
                                     "Key (email)=(alice@example.com) already exists."),
                        Ready('I')}));
  const std::vector<Msg> msgs = Frames(got);
  ASSERT_EQ(Types(msgs), "EZ");
  const ErrorInfo error = DecodeError(msgs[0]);
  EXPECT_EQ(error.severity, "ERROR");
  EXPECT_EQ(error.code, "23505");
  EXPECT_EQ(error.message, message);
  EXPECT_EQ(error.detail, "Key (email)=(****) already exists.");
  EXPECT_FALSE(Contains(got, "alice@"));
}

TEST_F(PgSessionMaskTest, DetectorScansNoticesAndNotifications) {
  ASSERT_NO_FATAL_FAILURE(Configure(kDetectorMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithoutCatalog(*session));
  (void)Up(*session, Query("listen signups"));
  const Bytes got = Down(*session, Concat({Notice("mail queued for bob@example.org"),
                                          CommandComplete("LISTEN"), Ready('I'),
                                          Notification(77, "signups", "new user carol@example.net"),
                                          Notification(78, "signups", "no address here")}));
  const std::vector<Msg> msgs = Frames(got);
  ASSERT_EQ(Types(msgs), "NCZAA");
  pg::NoticeMessage notice;
  ASSERT_EQ(pg::DecodeErrorResponse(msgs[0].body, notice), pg::InvalidReason::kNone);
  EXPECT_EQ(notice.Find(pg::kFieldMessage), "mail queued for ****");
  EXPECT_EQ(notice.Find(pg::kFieldSeverity), "NOTICE");
  EXPECT_BYTES_EQ(Tagged('A', msgs[3].body), Notification(77, "signups", "new user ****"));
  EXPECT_BYTES_EQ(Tagged('A', msgs[4].body), Notification(78, "signups", "no address here"));
  EXPECT_FALSE(Contains(got, "@example"));
}

// ---------------------------------------------------------------------------------------------
// 6. COPY.

TEST_F(PgSessionMaskTest, CopyToStdoutRowsAreMaskedAndReframed) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes query = Query("COPY customers TO STDOUT");
  EXPECT_BYTES_EQ(Up(*session, query), query);
  // Two rows in one CopyData, the third split over two.
  const Bytes got = Down(
      *session,
      Concat({CopyOutResponse(4),
              CopyData("1\talice@example.com\tAlice\t5000\n2\tbob@example.org\tBob\t72000\n"),
              CopyData("3\tcarol@exa"), CopyData("mple.net\tCarol\t\\N\n"), CopyDone(),
              CommandComplete("COPY 3"), Ready('I')}));
  EXPECT_BYTES_EQ(got, Concat({CopyOutResponse(4), CopyData("1\t****\tAlice\t0\n"),
                               CopyData("2\t****\tBob\t0\n"), CopyData("3\t****\tCarol\t\\N\n"),
                               CopyDone(), CommandComplete("COPY 3"), Ready('I')}));
  EXPECT_EQ(session->end(), EndReason::kNone);
}

TEST_F(PgSessionMaskTest, CopyOptionsAreNotTakenFromAnEarlierStatementOfTheSameShape) {
  // Lineage is cached by statement shape, and a DELIMITER is a literal: two COPYs that differ
  // only in it must each be cut by their own delimiter.
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const auto copy = [&](const std::string& sql, const std::string& row,
                        const std::string& want) {
    (void)Up(*session, Query(sql));
    const Bytes got = Down(*session, Concat({CopyOutResponse(4), CopyData(row), CopyDone(),
                                            CommandComplete("COPY 1"), Ready('I')}));
    EXPECT_BYTES_EQ(got, Concat({CopyOutResponse(4), CopyData(want), CopyDone(),
                                 CommandComplete("COPY 1"), Ready('I')}))
        << sql;
  };
  copy("COPY customers TO STDOUT (DELIMITER '|')", "1|alice@example.com|Alice|5000\n",
       "1|****|Alice|0\n");
  copy("COPY customers TO STDOUT (DELIMITER ';')", "1;alice@example.com;Alice;5000\n",
       "1;****;Alice;0\n");
  copy("COPY customers TO STDOUT (DELIMITER '|')", "1|bob@example.org|Bob|7\n",
       "1|****|Bob|0\n");
}

// ---------------------------------------------------------------------------------------------
// 7. A row too large to hold.

TEST_F(PgSessionMaskTest, RowOverRowSizeMaxWithAMaskedColumnEndsTheSession) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select id, email from customers"));
  const Bytes description = RowDescription({kId, kEmail});
  EXPECT_BYTES_EQ(Down(*session, description), description);
  const std::string big = std::string(100 * 1024, 'x') + "@example.com";
  const Bytes row = DataRow({"1", big});
  const Bytes got = Down(*session, Concat({row, CommandComplete("SELECT 1"), Ready('I')}));
  EXPECT_EQ(session->end(), EndReason::kMaskFailed);
  const std::vector<Msg> msgs = Frames(got);
  ASSERT_EQ(Types(msgs), "E");  // nothing of the row
  const ErrorInfo error = DecodeError(msgs[0]);
  EXPECT_EQ(error.severity, "FATAL");
  EXPECT_EQ(error.code, "54000");
  EXPECT_THAT(error.message, HasSubstr("row_size_max"));
  EXPECT_FALSE(Contains(got, "xxxx"));
}

TEST_F(PgSessionMaskTest, RowOverRowSizeMaxSplitAcrossChunksEndsTheSession) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select id, email from customers"));
  const Bytes description = RowDescription({kId, kEmail});
  const Bytes row = DataRow({"1", std::string(100 * 1024, 'y')});
  // The first chunk ends 40 bytes into the row: the row's header is in it, so the session
  // ends there: the RowDescription before it goes on, then the error, and nothing more.
  const size_t cut = 40;
  const Bytes first = Down(*session, Concat({description, Bytes(row.begin(), row.begin() + cut)}));
  EXPECT_EQ(session->end(), EndReason::kMaskFailed);
  const std::vector<Msg> msgs = Frames(first);
  ASSERT_EQ(Types(msgs), "TE");
  EXPECT_EQ(DecodeError(msgs[1]).code, "54000");
  EXPECT_EQ(session->InspectDown(Bytes(row.begin() + cut, row.end()), kStartMs), 0u);
  EXPECT_TRUE(session->to_client().empty());
}

TEST_F(PgSessionMaskTest, RowOverRowSizeMaxWhoseHeaderWasSplitStillTellsTheClient) {
  // The first chunk ends inside the row's 5-byte header: the editor holds those bytes (nothing
  // of the row went on), so the client stands at a message boundary and gets the 54000 error.
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  (void)Up(*session, Query("select id, email from customers"));
  const Bytes description = RowDescription({kId, kEmail});
  const Bytes row = DataRow({"1", std::string(100 * 1024, 'y')});
  Bytes got = Down(*session, Concat({description, Bytes(row.begin(), row.begin() + 3)}));
  EXPECT_BYTES_EQ(got, description);
  Append(got, Down(*session, Bytes(row.begin() + 3, row.end())));
  EXPECT_EQ(session->end(), EndReason::kMaskFailed);
  EXPECT_FALSE(Contains(got, "yyyy"));
  const std::vector<Msg> msgs = Frames(got);
  ASSERT_EQ(Types(msgs), "TE");
  EXPECT_EQ(DecodeError(msgs[1]).code, "54000");
}

TEST_F(PgSessionMaskTest, BindOverTheHoldLimitDoesNotReuseTheOldPortalDescription) {
  // A Bind longer than the up editor's hold limit (kStatementHoldMax, ~1.25 MiB: a large
  // parameter) is not seen: the session forgets every portal, so the Execute that follows gets
  // a Describe inserted, and its rows are masked with the new statement's plan, not the old.
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  // Round 1: libpq style, the unnamed portal described as (id, name).
  (void)Up(*session, Concat({Parse("", "select id, name from customers"), Bind("", ""),
                             Describe('P', ""), Execute(""), Sync()}));
  (void)Down(*session, Concat({ParseComplete(), BindComplete(), RowDescription({kId, kName}),
                               RowDescription({kId, kName}), DataRow({"1", "Alice"}),
                               CommandComplete("SELECT 1"), Ready('I')}));
  // Round 2: a Bind with a 1.4 MB parameter, no Describe.
  Bytes bind_body;
  PutCString(bind_body, "");
  PutCString(bind_body, "");
  Put16(bind_body, 0);
  Put16(bind_body, 1);
  const std::string parameter(1400 * 1000, 'p');
  Put32(bind_body, static_cast<uint32_t>(parameter.size()));
  Append(bind_body, AsBytes(parameter));
  Put16(bind_body, 0);
  const Bytes big_bind = Tagged('B', bind_body);
  const Bytes parse = Parse("", "select email, salary from customers where note = $1");
  const Bytes sent = Up(*session, Concat({parse, big_bind, Execute(""), Sync()}));
  const std::vector<Msg> frames = Frames(sent);
  const size_t describes = static_cast<size_t>(std::count_if(
      frames.begin(), frames.end(), [](const Msg& msg) { return msg.type == 'D'; }));
  Bytes answer = Concat({ParseComplete(), BindComplete()});
  for (size_t i = 0; i < describes; ++i) {
    Append(answer, RowDescription({kEmail, kSalary}));
  }
  const Bytes got = Down(*session, Concat({answer, DataRow({"alice@example.com", "5000"}),
                                          CommandComplete("SELECT 1"), Ready('I')}));
  EXPECT_FALSE(Contains(got, "alice@")) << "backend got " << Types(frames) << "; client got "
                                        << Types(got);
  EXPECT_FALSE(Contains(got, "5000")) << Printable(got);
}

// ---------------------------------------------------------------------------------------------
// 8. Zero copy.

TEST_F(PgSessionMaskTest, ResultWithNothingToMaskIsForwardedFromTheChunk) {
  ASSERT_NO_FATAL_FAILURE(Configure(kColumnMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithCatalog(*session));
  const Bytes query = Query("select id, name from customers");
  EXPECT_EQ(session->InspectUp(query, kStartMs), query.size());
  EXPECT_TRUE(session->to_backend().empty());
  const Bytes clean = Concat({RowDescription({kId, kName}), DataRow({"1", "Alice"}),
                              DataRow({"2", "Bob"}), CommandComplete("SELECT 2"), Ready('I')});
  EXPECT_EQ(session->InspectDown(clean, kStartMs), clean.size());
  EXPECT_TRUE(session->to_client().empty());

  // A result that masks: the chunk goes on up to the first changed row, the rest is copied;
  // a prefix that short (under kCoalesceMax) is copied too, so the client gets one send.
  (void)Up(*session, Query("select id, email from customers"));
  const Bytes head = Concat({RowDescription({kId, kEmail}), DataRow({"1", std::nullopt})});
  const Bytes tail = Concat({CommandComplete("SELECT 2"), Ready('I')});
  const Bytes masked = Concat({head, DataRow({"2", "bob@example.org"}), tail});
  EXPECT_EQ(session->InspectDown(masked, kStartMs), 0u);
  EXPECT_BYTES_EQ(Drain(session->to_client()),
                  Concat({head, DataRow({"2", "****"}), tail}));
  // A long unchanged prefix still goes on from the chunk.
  (void)Up(*session, Query("select id, email from customers"));
  Bytes long_head = RowDescription({kId, kEmail});
  for (int i = 0; i < 1200; ++i) {
    const Bytes row = DataRow({std::to_string(i), std::nullopt});
    long_head.insert(long_head.end(), row.begin(), row.end());
  }
  ASSERT_GT(long_head.size(), 16u * 1024);
  const Bytes long_masked = Concat({long_head, DataRow({"2", "bob@example.org"}), tail});
  EXPECT_EQ(session->InspectDown(long_masked, kStartMs), long_head.size());
  EXPECT_BYTES_EQ(Drain(session->to_client()), Concat({DataRow({"2", "****"}), tail}));

  // Back to zero copy for the next clean result.
  (void)Up(*session, Query("select name from customers"));
  const Bytes again =
      Concat({RowDescription({kName}), DataRow({"Carol"}), CommandComplete("SELECT 1"),
              Ready('I')});
  EXPECT_EQ(session->InspectDown(again, kStartMs), again.size());
  EXPECT_TRUE(session->to_client().empty());
}

TEST_F(PgSessionMaskTest, DetectorScannedRowsThatDoNotChangeAreForwardedFromTheChunk) {
  ASSERT_NO_FATAL_FAILURE(Configure(kDetectorMasking));
  std::unique_ptr<PgSession> session = NewSession();
  ASSERT_NO_FATAL_FAILURE(ReachForwardingWithoutCatalog(*session));
  (void)Up(*session, Query("select note from tickets"));
  const Bytes clean = Concat({RowDescription({{"note", 17000, 1, kText, -1}}),
                              DataRow({"nothing here"}), DataRow({"nor here"}),
                              CommandComplete("SELECT 2"), Ready('I')});
  EXPECT_EQ(session->InspectDown(clean, kStartMs), clean.size());
  EXPECT_TRUE(session->to_client().empty());
}

}  // namespace
}  // namespace jitgate::session
