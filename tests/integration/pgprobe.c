// tests/integration/pgprobe.c: a libpq client with precise, scriptable behaviour for the
// integration tests of the gateway (tests/integration/*.sh), for what psql cannot script:
// extended-protocol queries, cancel timing, holding a session across a grant's expiry, waiting
// idle for the server to close, reading ParameterStatus values. Documented in pgprobe.md.
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
        "       pgprobe params CONNINFO\n",
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
  return Usage();
}
