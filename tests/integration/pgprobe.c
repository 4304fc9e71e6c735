// tests/integration/pgprobe.c: a libpq client with precise, scriptable behaviour for the
// integration tests of the gateway (tests/integration/*.sh), for what psql cannot script:
// extended-protocol queries, cancel timing, holding a session across a grant's expiry, waiting
// idle for the server to close, reading ParameterStatus values; for the guardrail tests, several
// commands on one session with the transaction status and the error's DETAIL after each
// (`script`), libpq pipeline mode (`pipeline`), fast-path FunctionCall (`script`'s `\fn`) and
// simple Queries written back to back without waiting (`burst`). Documented in pgprobe.md.
//
// Output contract: every result is one machine-readable line on stdout (idle prints the
// server's error line, if one arrived, before its `closed` line). Errors read
// `error sqlstate=<SQLSTATE> message=<primary message>[ <key>=<value>]`; the message is
// flattened to one line. Exit status: 0 success, 1 a libpq/server error (or, for `cancel`, a
// query that was not canceled), 2 usage.
//
// Limits: connecting gives up after kConnectTimeoutMs; a printed message is cut at
// kMessageSizeMax bytes; numeric arguments are range-checked. No global state except the
// notice capture used by `idle`.
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

enum { kExitOk = 0, kExitError = 1, kExitUsage = 2 };

// Why: a gateway that never answers the startup must fail the probe, not hang the test.
static const int64_t kConnectTimeoutMs = 30000;
// Why: a hold query that outlives MAX_S by this much means the session is stuck, not held.
static const int64_t kHoldQueryGraceMs = 5000;
#define kMessageSizeMax 1024

// SQLSTATEs for errors that libpq raises itself (no server SQLSTATE to report):
// 08001 sqlclient_unable_to_establish_sqlconnection, 08006 connection_failure,
// HYT00 timeout expired (SQL/CLI).
static const char kStateConnectFailed[] = "08001";
static const char kStateConnectionLost[] = "08006";
static const char kStateTimeout[] = "HYT00";
static const char kStateCanceled[] = "57014";

typedef struct {
  char sqlstate[6];
  char message[kMessageSizeMax];
} ProbeError;

static int64_t NowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void SleepMs(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Copies `text` into `out` (cut to out_size) as one line: control
// characters become spaces, runs of spaces collapse, edges are trimmed.
static void FlattenInto(const char* text, char* out, size_t out_size) {
  size_t n = 0;
  bool space = false;
  for (const char* p = text ? text : ""; *p != '\0' && n + 1 < out_size; ++p) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f || c == ' ') {
      space = n > 0;
      continue;
    }
    if (space && n + 2 < out_size) {
      out[n++] = ' ';
    }
    space = false;
    out[n++] = (char)c;
  }
  out[n] = '\0';
}

static void SetError(ProbeError* err, const char* sqlstate, const char* message) {
  snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
  FlattenInto(message, err->message, sizeof(err->message));
}

// The server's SQLSTATE and primary message, or libpq's own message for local errors.
static void ErrorFromResult(PGconn* conn, const PGresult* res, ProbeError* err) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (state == NULL || strlen(state) != 5) {
    state = PQstatus(conn) == CONNECTION_BAD ? kStateConnectionLost : "XX000";
  }
  SetError(err, state, primary != NULL ? primary : PQresultErrorMessage(res));
}

// A connection failure: libpq keeps no PGresult, but with PQERRORS_VERBOSE the server's error
// appears in the text as "FATAL:  28P01: message"; take the first such SQLSTATE and message.
static void ErrorFromConnText(const char* text, const char* fallback_state, ProbeError* err) {
  for (const char* p = text ? strstr(text, ":  ") : NULL; p != NULL; p = strstr(p + 1, ":  ")) {
    const char* s = p + 3;
    bool is_state = true;
    for (int i = 0; i < 5 && is_state; ++i) {
      is_state = isdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]);
    }
    if (is_state && s[5] == ':' && s[6] == ' ') {
      char state[6];
      memcpy(state, s, 5);
      state[5] = '\0';
      char line[kMessageSizeMax];
      size_t len = strcspn(s + 7, "\n");
      if (len >= sizeof(line)) {
        len = sizeof(line) - 1;
      }
      memcpy(line, s + 7, len);
      line[len] = '\0';
      SetError(err, state, line);
      return;
    }
  }
  SetError(err, fallback_state, text);
}

// Prints the error line, with `suffix` (e.g. " after_ms=12") after the message.
static void PrintError(const ProbeError* err, const char* suffix) {
  printf("error sqlstate=%s message=%s%s\n", err->sqlstate, err->message, suffix ? suffix : "");
}

// Waits until the socket is ready for `events` or `deadline_ms` passes (-1: no deadline).
// Returns > 0 ready, 0 timeout, < 0 poll failure.
static int WaitSocket(PGconn* conn, short events, int64_t deadline_ms) {
  struct pollfd pfd = {.fd = PQsocket(conn), .events = events, .revents = 0};
  if (pfd.fd < 0) {
    return -1;
  }
  for (;;) {
    int timeout_ms = -1;
    if (deadline_ms >= 0) {
      int64_t left = deadline_ms - NowMs();
      if (left <= 0) {
        return 0;
      }
      timeout_ms = left > 60000 ? 60000 : (int)left;
    }
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc != 0 || deadline_ms < 0) {
      if (rc < 0 && errno == EINTR) {
        continue;
      }
      return rc;
    }
  }
}

// Connects without blocking past kConnectTimeoutMs. NULL on failure (err is set).
static PGconn* Connect(const char* conninfo, ProbeError* err) {
  PGconn* conn = PQconnectStart(conninfo);
  if (conn == NULL) {
    SetError(err, kStateConnectFailed, "out of memory");
    return NULL;
  }
  // Verbose, so a server error during startup carries its SQLSTATE in the message text.
  PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
  const int64_t deadline_ms = NowMs() + kConnectTimeoutMs;
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
         st != PGRES_POLLING_FAILED) {
    short events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    int rc = WaitSocket(conn, events, deadline_ms);
    if (rc == 0) {
      SetError(err, kStateTimeout, "pgprobe: connection not established within 30 s");
      PQfinish(conn);
      return NULL;
    }
    st = PQconnectPoll(conn);
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    ErrorFromConnText(PQerrorMessage(conn), kStateConnectFailed, err);
    PQfinish(conn);
    return NULL;
  }
  PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
  return conn;
}

static void PrintRows(const PGresult* res) {
  const int rows = PQntuples(res);
  const int cols = PQnfields(res);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      fputs(c > 0 ? "\t" : "", stdout);
      fputs(PQgetisnull(res, r, c) ? "\\N" : PQgetvalue(res, r, c), stdout);
    }
    fputc('\n', stdout);
  }
}

// Reads every result of the query in flight until libpq reports the end, or until
// deadline_ms (-1: none). Counts rows (printing them if print_rows). Returns true if no error;
// else err holds the first error.
static bool ReadResults(PGconn* conn, int64_t deadline_ms, bool print_rows, long* rows,
                        ProbeError* err) {
  bool ok = true;
  *rows = 0;
  for (;;) {
    while (PQisBusy(conn)) {
      int rc = WaitSocket(conn, POLLIN, deadline_ms);
      if (rc == 0) {
        SetError(err, kStateTimeout, "pgprobe: no result before the deadline");
        return false;
      }
      if (!PQconsumeInput(conn)) {
        break;  // PQgetResult now reports the connection error
      }
    }
    PGresult* res = PQgetResult(conn);
    if (res == NULL) {
      return ok;
    }
    switch (PQresultStatus(res)) {
      case PGRES_TUPLES_OK:
      case PGRES_SINGLE_TUPLE:
        if (print_rows) {
          PrintRows(res);
        }
        *rows += PQntuples(res);
        break;
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        break;
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        SetError(err, "0A000", "pgprobe does not handle COPY");
        PQclear(res);
        return false;  // the connection is mid-COPY; the caller exits
      default:
        if (ok) {
          ErrorFromResult(conn, res, err);
        }
        ok = false;
        break;
    }
    PQclear(res);
  }
}

static bool ParseLong(const char* text, long min, long max, long* out) {
  char* end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
    return false;
  }
  *out = v;
  return true;
}

static int Usage(void) {
  fputs("usage: pgprobe query [-x] CONNINFO SQL\n"
        "       pgprobe cancel CONNINFO SQL DELAY_MS\n"
        "       pgprobe hold CONNINFO INTERVAL_MS MAX_S\n"
        "       pgprobe idle CONNINFO MAX_S\n"
        "       pgprobe params CONNINFO\n"
        "       pgprobe script CONNINFO            (commands on stdin, one a line: SQL,\n"
        "                                           \\x SQL, \\prepare NAME SQL, \\execp NAME,\n"
        "                                           \\fn OID [INT4...], \\sleep MS)\n"
        "       pgprobe pipeline CONNINFO ITEM...  (SQL | prepare:NAME:SQL | exec:NAME | --sync)\n"
        "       pgprobe burst CONNINFO SQL...      (simple Queries in one send; no TLS)\n",
        stderr);
  return kExitUsage;
}

static int CmdQuery(const char* conninfo, const char* sql, bool extended) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  // -x: Parse/Bind/Describe/Execute/Sync with no parameters, text results.
  int sent = extended ? PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0)
                      : PQsendQuery(conn, sql);
  long rows = 0;
  bool ok = false;
  if (!sent) {
    ErrorFromConnText(PQerrorMessage(conn), kStateConnectionLost, &err);
  } else {
    ok = ReadResults(conn, -1, true, &rows, &err);
  }
  if (ok) {
    printf("ok rows=%ld\n", rows);
  } else {
    PrintError(&err, NULL);
  }
  PQfinish(conn);
  return ok ? kExitOk : kExitError;
}

static int CmdCancel(const char* conninfo, const char* sql, long delay_ms) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  const int64_t start_ms = NowMs();
  if (!PQsendQuery(conn, sql)) {
    ErrorFromConnText(PQerrorMessage(conn), kStateConnectionLost, &err);
    PrintError(&err, NULL);
    PQfinish(conn);
    return kExitError;
  }
  SleepMs(delay_ms);
  PGcancel* cancel = PQgetCancel(conn);
  char errbuf[256] = "";
  int cancel_sent = cancel != NULL && PQcancel(cancel, errbuf, (int)sizeof(errbuf));
  PQfreeCancel(cancel);
  long rows = 0;
  bool ok = ReadResults(conn, -1, false, &rows, &err);
  char suffix[64];
  snprintf(suffix, sizeof(suffix), " elapsed_ms=%lld", (long long)(NowMs() - start_ms));
  PQfinish(conn);
  if (!cancel_sent) {
    char message[kMessageSizeMax];
    snprintf(message, sizeof(message), "pgprobe: cancel request failed: %s", errbuf);
    SetError(&err, kStateConnectionLost, message);
    PrintError(&err, suffix);
    return kExitError;
  }
  if (ok) {
    printf("ok rows=%ld%s\n", rows, suffix);  // finished before the cancel took effect
    return kExitError;
  }
  PrintError(&err, suffix);
  return strcmp(err.sqlstate, kStateCanceled) == 0 ? kExitOk : kExitError;
}

static int CmdHold(const char* conninfo, long interval_ms, long max_s) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  const int64_t end_ms = NowMs() + (int64_t)max_s * 1000;
  int64_t last_ok_ms = NowMs();
  for (;;) {
    long rows = 0;
    bool ok = PQsendQuery(conn, "SELECT 1") != 0;
    if (!ok) {
      ErrorFromConnText(PQerrorMessage(conn), kStateConnectionLost, &err);
    } else {
      ok = ReadResults(conn, end_ms + kHoldQueryGraceMs, false, &rows, &err);
    }
    const int64_t now_ms = NowMs();
    if (!ok) {
      char suffix[64];
      snprintf(suffix, sizeof(suffix), " after_ms=%lld", (long long)(now_ms - last_ok_ms));
      PrintError(&err, suffix);
      PQfinish(conn);
      return kExitError;
    }
    last_ok_ms = now_ms;
    if (now_ms >= end_ms) {
      break;
    }
    SleepMs(end_ms - now_ms < interval_ms ? end_ms - now_ms : interval_ms);
    if (NowMs() >= end_ms) {
      break;
    }
  }
  printf("ok held_s=%ld\n", max_s);
  PQfinish(conn);
  return kExitOk;
}

// The first error-level message the server sent while the connection was idle (libpq hands an
// unsolicited ErrorResponse to the notice receiver).
static bool g_idle_error_seen = false;
static ProbeError g_idle_error;

static void CaptureIdleError(void* arg, const PGresult* res) {
  (void)arg;
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity == NULL) {
    severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
  }
  const bool is_error = severity != NULL && (strcmp(severity, "ERROR") == 0 ||
                                             strcmp(severity, "FATAL") == 0 ||
                                             strcmp(severity, "PANIC") == 0);
  if (is_error && !g_idle_error_seen) {
    g_idle_error_seen = true;
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    SetError(&g_idle_error, state != NULL ? state : "XX000",
             primary != NULL ? primary : PQresultErrorMessage(res));
  }
}

static int CmdIdle(const char* conninfo, long max_s) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  PQsetNoticeReceiver(conn, CaptureIdleError, NULL);
  const int64_t start_ms = NowMs();
  const int64_t end_ms = start_ms + (int64_t)max_s * 1000;
  bool closed = false;
  while (!closed) {
    int rc = WaitSocket(conn, POLLIN, end_ms);
    if (rc == 0) {
      break;
    }
    closed = rc < 0 || !PQconsumeInput(conn) || PQstatus(conn) == CONNECTION_BAD;
    for (PGnotify* n = PQnotifies(conn); n != NULL; n = PQnotifies(conn)) {
      PQfreemem(n);
    }
  }
  const int64_t elapsed_ms = NowMs() - start_ms;
  PQfinish(conn);
  if (!closed) {
    printf("ok still_open\n");
    return kExitOk;
  }
  if (g_idle_error_seen) {
    PrintError(&g_idle_error, NULL);
  }
  printf("closed after_ms=%lld\n", (long long)elapsed_ms);
  return kExitOk;
}

// A ParameterStatus value as one token: whitespace becomes '_' ("ISO, MDY" -> "ISO,_MDY").
static void PrintParam(const char* name, const char* value) {
  printf("%s=", name);
  if (value == NULL || *value == '\0') {
    fputs("none", stdout);
  }
  for (const char* p = value ? value : ""; *p != '\0'; ++p) {
    fputc(isspace((unsigned char)*p) ? '_' : *p, stdout);
  }
  fputc(' ', stdout);
}

static int CmdParams(const char* conninfo) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  PrintParam("server_version", PQparameterStatus(conn, "server_version"));
  PrintParam("application_name", PQparameterStatus(conn, "application_name"));
  PrintParam("DateStyle", PQparameterStatus(conn, "DateStyle"));
  printf("backend_pid=%d ", PQbackendPID(conn));
  const bool ssl = PQsslInUse(conn) != 0;
  printf("ssl=%s ", ssl ? "on" : "off");
  const char* version = ssl ? PQsslAttribute(conn, "protocol") : NULL;
  printf("ssl_version=%s\n", version != NULL ? version : "none");
  PQfinish(conn);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// script, pipeline, burst: one session, several commands, one line per command
// (tests/integration/guardrails_pg.sh). Each error line carries the fields a gateway's refusal
// is judged by: the transaction status after it, how many errors the command produced, the
// severity and the DETAIL.

// Why: a script line or a burst reply longer than this is not a test's; bounds the reads.
#define kBurstReplySizeMax (16 * 1024 * 1024)
// Why: a burst whose replies have not all arrived by then means the gateway or server hangs.
static const int64_t kBurstTimeoutMs = 30000;

// PQtransactionStatus as one letter: I idle, T in a block, E failed block, A busy, U unknown.
static char TxChar(PGconn* conn) {
  switch (PQtransactionStatus(conn)) {
    case PQTRANS_IDLE:
      return 'I';
    case PQTRANS_INTRANS:
      return 'T';
    case PQTRANS_INERROR:
      return 'E';
    case PQTRANS_ACTIVE:
      return 'A';
    default:
      return 'U';
  }
}

// What the results of one command added up to.
typedef struct {
  int results_ok;  // results that were not errors
  int errors;      // error results (a refusal must produce exactly one)
  long rows;
  char cmd[64];                 // the last command tag, spaces as '_' ("INSERT_0_1")
  char value[kMessageSizeMax];  // first column of the first row, flattened; "\N" for NULL
  bool have_value;
  ProbeError err;  // the first error
  char severity[16];
  char detail[kMessageSizeMax];
} Outcome;

static void OutcomeInit(Outcome* out) {
  memset(out, 0, sizeof(*out));
  snprintf(out->cmd, sizeof(out->cmd), "none");
}

static void SetCmd(Outcome* out, const char* tag) {
  snprintf(out->cmd, sizeof(out->cmd), "%s", tag != NULL && *tag != '\0' ? tag : "none");
  for (char* p = out->cmd; *p != '\0'; ++p) {
    *p = *p == ' ' ? '_' : *p;
  }
}

static void SetValue(Outcome* out, const char* value, bool is_null) {
  if (!out->have_value) {
    out->have_value = true;
    FlattenInto(is_null ? "\\N" : value, out->value, sizeof(out->value));
  }
}

static void SetErrorFields(Outcome* out, const char* state, const char* severity,
                           const char* primary, const char* detail) {
  if (out->errors++ > 0) {
    return;
  }
  SetError(&out->err, state != NULL && strlen(state) == 5 ? state : "XX000",
           primary != NULL ? primary : "");
  snprintf(out->severity, sizeof(out->severity), "%s", severity != NULL ? severity : "none");
  FlattenInto(detail, out->detail, sizeof(out->detail));
}

// Folds one PGresult into `out`. A COPY FROM STDIN is ended at once (no rows sent); a COPY TO
// STDOUT is drained, its lines counted as rows.
static void AddResult(PGconn* conn, PGresult* res, Outcome* out) {
  switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
    case PGRES_SINGLE_TUPLE:
      if (PQntuples(res) > 0 && PQnfields(res) > 0) {
        SetValue(out, PQgetvalue(res, 0, 0), PQgetisnull(res, 0, 0));
      }
      out->rows += PQntuples(res);
      out->results_ok++;
      SetCmd(out, PQcmdStatus(res));
      break;
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
      out->results_ok++;
      SetCmd(out, PQcmdStatus(res));
      break;
    case PGRES_COPY_IN:
      PQputCopyEnd(conn, NULL);
      break;
    case PGRES_COPY_OUT: {
      char* line = NULL;
      while (PQgetCopyData(conn, &line, 0) > 0) {
        out->rows++;
        PQfreemem(line);
      }
      break;
    }
    case PGRES_PIPELINE_ABORTED:
      break;  // the caller reports it
    default: {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      if (state == NULL) {
        state = PQstatus(conn) == CONNECTION_BAD ? kStateConnectionLost : "XX000";
      }
      const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
      SetErrorFields(out, state, PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED),
                     primary != NULL ? primary : PQresultErrorMessage(res),
                     PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
      break;
    }
  }
}

// Reads results until PQgetResult says the command is done.
static void CollectResults(PGconn* conn, Outcome* out) {
  for (PGresult* res = PQgetResult(conn); res != NULL; res = PQgetResult(conn)) {
    AddResult(conn, res, out);
    PQclear(res);
    if (PQstatus(conn) == CONNECTION_BAD) {
      break;
    }
  }
}

// `<prefix>ok tx=I results=1 rows=1 cmd=SELECT_1 value=42` or
// `<prefix>error tx=E errors=1 results_ok=0 sqlstate=42501 severity=ERROR message=... detail=...`
static void PrintOutcome(const char* prefix, char tx, const Outcome* out) {
  if (out->errors == 0) {
    printf("%sok tx=%c results=%d rows=%ld cmd=%s value=%s\n", prefix, tx, out->results_ok,
           out->rows, out->cmd, out->have_value ? out->value : "");
  } else {
    printf("%serror tx=%c errors=%d results_ok=%d sqlstate=%s severity=%s message=%s detail=%s\n",
           prefix, tx, out->errors, out->results_ok, out->err.sqlstate, out->severity,
           out->err.message, out->detail);
  }
}

// `\fn OID [INT4...]`: a fast-path FunctionCall with int4 arguments and an int4 result.
static void ScriptFunctionCall(PGconn* conn, char* args, Outcome* out) {
  PQArgBlock argv[8];
  int nargs = 0;
  char* save = NULL;
  char* word = strtok_r(args, " ", &save);
  long fnid = 0;
  if (word == NULL || !ParseLong(word, 1, 0xFFFFFFFFL, &fnid)) {
    SetErrorFields(out, "22023", "ERROR", "pgprobe: \\fn needs a function OID", NULL);
    return;
  }
  for (word = strtok_r(NULL, " ", &save); word != NULL; word = strtok_r(NULL, " ", &save)) {
    long v = 0;
    if (nargs == 8 || !ParseLong(word, INT32_MIN, INT32_MAX, &v)) {
      SetErrorFields(out, "22023", "ERROR", "pgprobe: \\fn takes at most 8 int4 arguments", NULL);
      return;
    }
    argv[nargs].len = 4;
    argv[nargs].isint = 1;
    argv[nargs].u.integer = (int)v;
    ++nargs;
  }
  int result = 0;
  int result_len = 0;
  PGresult* res = PQfn(conn, (int)fnid, &result, &result_len, 1, argv, nargs);
  if (res == NULL) {
    SetErrorFields(out, kStateConnectionLost, "ERROR", PQerrorMessage(conn), NULL);
    return;
  }
  AddResult(conn, res, out);
  if (PQresultStatus(res) == PGRES_COMMAND_OK) {
    char text[32];
    snprintf(text, sizeof(text), "%d", result);
    SetValue(out, text, result_len == -1);
    SetCmd(out, "FUNCTION_CALL");
  }
  PQclear(res);
}

static int CmdScript(const char* conninfo) {
  setvbuf(stdout, NULL, _IOLBF, 0);  // one line per command, as it completes, even into a pipe
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  printf("ok connected backend_pid=%d ssl=%s\n", PQbackendPID(conn),
         PQsslInUse(conn) ? "on" : "off");
  char* line = NULL;
  size_t line_cap = 0;
  ssize_t len = 0;
  int rc = kExitOk;
  while ((len = getline(&line, &line_cap, stdin)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
      line[--len] = '\0';
    }
    if (len == 0) {
      continue;
    }
    Outcome out;
    OutcomeInit(&out);
    if (strncmp(line, "\\sleep ", 7) == 0) {
      long ms = 0;
      if (ParseLong(line + 7, 0, 3600 * 1000L, &ms)) {
        SleepMs(ms);
      }
      printf("ok slept\n");
      continue;
    }
    const char* space = strncmp(line, "\\prepare ", 9) == 0 ? strchr(line + 9, ' ') : NULL;
    if (strncmp(line, "\\fn ", 4) == 0) {
      ScriptFunctionCall(conn, line + 4, &out);
    } else if (space != NULL || strncmp(line, "\\execp ", 7) == 0) {
      char name[64] = "";
      if (space != NULL) {
        snprintf(name, sizeof(name), "%.*s", (int)(space - (line + 9)), line + 9);
      }
      int sent = space != NULL ? PQsendPrepare(conn, name, space + 1, 0, NULL)
                               : PQsendQueryPrepared(conn, line + 7, 0, NULL, NULL, NULL, 0);
      if (!sent) {
        SetErrorFields(&out, kStateConnectionLost, "ERROR", PQerrorMessage(conn), NULL);
      } else {
        CollectResults(conn, &out);
      }
    } else {
      const bool extended = strncmp(line, "\\x ", 3) == 0;
      const char* sql = extended ? line + 3 : line;
      int sent = extended ? PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0)
                          : PQsendQuery(conn, sql);
      if (!sent) {
        SetErrorFields(&out, kStateConnectionLost, "ERROR", PQerrorMessage(conn), NULL);
      } else {
        CollectResults(conn, &out);
      }
    }
    PrintOutcome("", TxChar(conn), &out);
    if (PQstatus(conn) == CONNECTION_BAD) {
      printf("closed\n");
      rc = kExitError;
      break;
    }
  }
  free(line);
  PQfinish(conn);
  return rc;
}

// Queues every pipeline ITEM (see Usage) and the final sync. False if libpq refused one.
static bool PipelineSend(PGconn* conn, int nitems, char** items, bool final_sync) {
  bool sent = true;
  for (int i = 0; i < nitems && sent; ++i) {
    const char* item = items[i];
    const char* colon = strncmp(item, "prepare:", 8) == 0 ? strchr(item + 8, ':') : NULL;
    if (strcmp(item, "--sync") == 0) {
      sent = PQpipelineSync(conn) != 0;
    } else if (colon != NULL) {
      char name[64];
      snprintf(name, sizeof(name), "%.*s", (int)(colon - (item + 8)), item + 8);
      sent = PQsendPrepare(conn, name, colon + 1, 0, NULL) != 0;
    } else if (strncmp(item, "exec:", 5) == 0) {
      sent = PQsendQueryPrepared(conn, item + 5, 0, NULL, NULL, NULL, 0) != 0;
    } else {
      sent = PQsendQueryParams(conn, item, 0, NULL, NULL, NULL, NULL, 0) != 0;
    }
  }
  return sent && (!final_sync || PQpipelineSync(conn) != 0);
}

// Reads one query item's results and prints its line. False if the connection was lost.
static bool PipelineReadQuery(PGconn* conn, int query_index) {
  char prefix[32];
  snprintf(prefix, sizeof(prefix), "q=%d ", query_index);
  Outcome out;
  OutcomeInit(&out);
  bool aborted = false;
  for (PGresult* res = PQgetResult(conn); res != NULL; res = PQgetResult(conn)) {
    aborted = aborted || PQresultStatus(res) == PGRES_PIPELINE_ABORTED;
    AddResult(conn, res, &out);
    PQclear(res);
    if (PQstatus(conn) == CONNECTION_BAD) {
      return false;
    }
  }
  if (aborted && out.errors == 0) {
    printf("%saborted\n", prefix);
  } else {
    PrintOutcome(prefix, '-', &out);
  }
  return true;
}

static int CmdPipeline(const char* conninfo, int nitems, char** items) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  const bool final_sync = strcmp(items[nitems - 1], "--sync") != 0;
  if (!PQenterPipelineMode(conn) || !PipelineSend(conn, nitems, items, final_sync)) {
    ErrorFromConnText(PQerrorMessage(conn), kStateConnectionLost, &err);
    PrintError(&err, NULL);
    PQfinish(conn);
    return kExitError;
  }
  int query_index = 0;
  int sync_index = 0;
  bool alive = true;
  const int steps = nitems + (final_sync ? 1 : 0);
  for (int i = 0; i < steps && alive; ++i) {
    if (i < nitems && strcmp(items[i], "--sync") != 0) {
      alive = PipelineReadQuery(conn, ++query_index);
      continue;
    }
    PGresult* res = PQgetResult(conn);
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    printf("sync=%d %s\n", ++sync_index, st == PGRES_PIPELINE_SYNC ? "ok" : PQresStatus(st));
    alive = res != NULL && PQstatus(conn) != CONNECTION_BAD;
    PQclear(res);
  }
  if (!alive) {
    printf("closed\n");
    PQfinish(conn);
    return kExitError;
  }
  PQexitPipelineMode(conn);
  printf("ok tx=%c\n", TxChar(conn));
  PQfinish(conn);
  return kExitOk;
}

// A big-endian Int32 / Int16 of the wire protocol.
static uint32_t ReadU32(const unsigned char* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

// An ErrorResponse body (55.8: field code byte + cstring, ended by a zero byte) into `out`.
static void BurstError(const unsigned char* body, size_t size, Outcome* out) {
  const char* fields[256] = {NULL};
  size_t i = 0;
  while (i < size && body[i] != 0) {
    const unsigned char code = body[i++];
    const char* text = (const char*)body + i;
    const size_t n = strnlen(text, size - i);
    if (i + n >= size) {
      break;
    }
    fields[code] = text;
    i += n + 1;
  }
  SetErrorFields(out, fields['C'], fields['V'] != NULL ? fields['V'] : fields['S'], fields['M'],
                 fields['D']);
}

// Writes all of `data` to the non-blocking socket libpq left us.
static bool SendAll(int fd, const unsigned char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      struct pollfd pfd = {.fd = fd, .events = POLLOUT, .revents = 0};
      poll(&pfd, 1, 1000);
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= (size_t)n;
  }
  return true;
}

// One Query message (55.7: 'Q', Int32 length, the SQL as a C string) per SQL, back to back.
// The caller frees the buffer.
static unsigned char* QueryFrames(int nsql, char** sqls, size_t* size) {
  size_t total = 0;
  for (int i = 0; i < nsql; ++i) {
    total += 1 + 4 + strlen(sqls[i]) + 1;
  }
  unsigned char* frames = malloc(total);
  if (frames == NULL) {
    return NULL;
  }
  size_t at = 0;
  for (int i = 0; i < nsql; ++i) {
    const size_t n = strlen(sqls[i]);
    const uint32_t len = (uint32_t)(4 + n + 1);
    frames[at++] = 'Q';
    frames[at++] = (unsigned char)(len >> 24);
    frames[at++] = (unsigned char)(len >> 16);
    frames[at++] = (unsigned char)(len >> 8);
    frames[at++] = (unsigned char)len;
    memcpy(frames + at, sqls[i], n + 1);
    at += n + 1;
  }
  *size = total;
  return frames;
}

// Folds one backend message into the current Query's outcome; at ReadyForQuery prints its line,
// counts it in *query_index and starts the next.
static void BurstMessage(unsigned char type, const unsigned char* body, size_t body_size,
                        int* query_index, char* tx, Outcome* out) {
  switch (type) {
    case 'C': {  // CommandComplete: the tag
      char tag[64];
      snprintf(tag, sizeof(tag), "%.*s", (int)strnlen((const char*)body, body_size), body);
      SetCmd(out, tag);
      out->results_ok++;
      return;
    }
    case 'D':  // DataRow: Int16 columns, then Int32 length + bytes each
      if (body_size >= 6 && !out->have_value) {
        const int32_t vlen = (int32_t)ReadU32(body + 2);
        const size_t n = vlen < 0 ? 0 : (size_t)vlen;
        char value[kMessageSizeMax];
        snprintf(value, sizeof(value), "%.*s", (int)(n < body_size - 6 ? n : body_size - 6),
                 (const char*)body + 6);
        SetValue(out, value, vlen < 0);
      }
      out->rows++;
      return;
    case 'E':
      BurstError(body, body_size, out);
      return;
    case 'S': {  // ParameterStatus: name, value
      const char* name = (const char*)body;
      const size_t n = strnlen(name, body_size);
      if (n + 1 < body_size) {
        printf("param %s=%.*s\n", name, (int)strnlen(name + n + 1, body_size - n - 1),
               name + n + 1);
      }
      return;
    }
    case 'Z': {  // ReadyForQuery: the end of one Query's replies
      *tx = body_size >= 1 ? (char)body[0] : 'U';
      char prefix[32];
      snprintf(prefix, sizeof(prefix), "q=%d ", ++*query_index);
      PrintOutcome(prefix, *tx, out);
      OutcomeInit(out);
      return;
    }
    default:  // RowDescription, NoticeResponse, EmptyQueryResponse, ...
      return;
  }
}

// Reads replies off `fd` until `nsql` ReadyForQuery messages or kBurstTimeoutMs. Sets *tx to the
// last status. Returns kExitOk or kExitError (the reason printed).
static int BurstRead(PGconn* conn, int fd, int nsql, char* tx) {
  unsigned char* reply = malloc(kBurstReplySizeMax);
  if (reply == NULL) {
    return kExitError;
  }
  const int64_t deadline_ms = NowMs() + kBurstTimeoutMs;
  size_t have = 0;
  int done = 0;
  Outcome out;
  OutcomeInit(&out);
  int rc = kExitOk;
  while (rc == kExitOk && done < nsql) {
    size_t pos = 0;  // every whole message in the buffer
    while (have - pos >= 5 && done < nsql) {
      const uint32_t len = ReadU32(reply + pos + 1);
      if (len < 4 || len > kBurstReplySizeMax - 1) {
        rc = kExitError;
        break;
      }
      if (have - pos < 1 + (size_t)len) {
        break;
      }
      BurstMessage(reply[pos], reply + pos + 5, len - 4, &done, tx, &out);
      pos += 1 + (size_t)len;
    }
    memmove(reply, reply + pos, have - pos);
    have -= pos;
    if (rc != kExitOk || done == nsql) {
      break;
    }
    ProbeError err;
    if (have == kBurstReplySizeMax || WaitSocket(conn, POLLIN, deadline_ms) == 0) {
      SetError(&err, kStateTimeout, "pgprobe: burst replies incomplete before the deadline");
      PrintError(&err, NULL);
      rc = kExitError;
      break;
    }
    const ssize_t n = recv(fd, reply + have, kBurstReplySizeMax - have, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      continue;
    }
    if (n <= 0) {
      printf("closed\n");
      rc = kExitError;
      break;
    }
    have += (size_t)n;
  }
  free(reply);
  return rc;
}

// `burst`: connects with libpq, then writes every SQL as a simple Query in ONE send, without
// waiting for any reply, and reads the replies off the socket itself (libpq cannot pipeline
// simple queries). Needs a connection without TLS.
static int CmdBurst(const char* conninfo, int nsql, char** sqls) {
  ProbeError err;
  PGconn* conn = Connect(conninfo, &err);
  if (conn == NULL) {
    PrintError(&err, NULL);
    return kExitError;
  }
  if (PQsslInUse(conn)) {
    fputs("pgprobe burst: needs a connection without TLS (sslmode=disable)\n", stderr);
    PQfinish(conn);
    return kExitUsage;
  }
  size_t size = 0;
  unsigned char* frames = QueryFrames(nsql, sqls, &size);
  const int fd = PQsocket(conn);
  int rc = frames != NULL && SendAll(fd, frames, size) ? kExitOk : kExitError;
  free(frames);
  char tx = 'U';
  if (rc == kExitOk) {
    rc = BurstRead(conn, fd, nsql, &tx);
  }
  if (rc == kExitOk) {
    printf("ok tx=%c\n", tx);
  }
  PQfinish(conn);
  return rc;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    return Usage();
  }
  const char* cmd = argv[1];
  char** args = argv + 2;
  int nargs = argc - 2;
  long a = 0;
  long b = 0;
  if (strcmp(cmd, "query") == 0) {
    bool extended = nargs > 0 && strcmp(args[0], "-x") == 0;
    if (extended) {
      ++args;
      --nargs;
    }
    return nargs == 2 ? CmdQuery(args[0], args[1], extended) : Usage();
  }
  if (strcmp(cmd, "cancel") == 0) {
    if (nargs != 3 || !ParseLong(args[2], 0, 3600 * 1000L, &a)) {
      return Usage();
    }
    return CmdCancel(args[0], args[1], a);
  }
  if (strcmp(cmd, "hold") == 0) {
    if (nargs != 3 || !ParseLong(args[1], 1, 3600 * 1000L, &a) ||
        !ParseLong(args[2], 0, 24 * 3600L, &b)) {
      return Usage();
    }
    return CmdHold(args[0], a, b);
  }
  if (strcmp(cmd, "idle") == 0) {
    if (nargs != 2 || !ParseLong(args[1], 0, 24 * 3600L, &a)) {
      return Usage();
    }
    return CmdIdle(args[0], a);
  }
  if (strcmp(cmd, "params") == 0) {
    return nargs == 1 ? CmdParams(args[0]) : Usage();
  }
  if (strcmp(cmd, "script") == 0) {
    return nargs == 1 ? CmdScript(args[0]) : Usage();
  }
  if (strcmp(cmd, "pipeline") == 0) {
    return nargs >= 2 ? CmdPipeline(args[0], nargs - 1, args + 1) : Usage();
  }
  if (strcmp(cmd, "burst") == 0) {
    return nargs >= 2 ? CmdBurst(args[0], nargs - 1, args + 1) : Usage();
  }
  return Usage();
}
