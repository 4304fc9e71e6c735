// src/session/pg_session_audit.h: the audit state of one PostgreSQL gateway session (private to
// src/session; pg_session_audit.cc has the design).
#ifndef JITGATE_SRC_SESSION_PG_SESSION_AUDIT_H_
#define JITGATE_SRC_SESSION_PG_SESSION_AUDIT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace jitgate::session {

struct AuditState {
  static constexpr size_t kPendingMax = 64;  // sync points whose start time is remembered
  static constexpr size_t kMaskedMax = 32;   // columns listed per response

  bool opened = false;         // kSessionOpen emitted
  bool grant_emitted = false;  // kGrantIssued emitted
  bool closed = false;
  int64_t opened_us = 0;
  uint64_t statement_seq = 0;  // statements recorded so far
  uint64_t rows_total = 0;

  // The response being summed up (from the previous ReadyForQuery to the next).
  uint64_t rows = 0;
  uint64_t commands = 0;
  uint64_t bytes_down = 0;
  std::array<char, 5> sqlstate{};
  size_t sqlstate_size = 0;  // 0: the error had no code
  bool error = false;
  std::vector<std::string> masked;  // "column=count" (reserved once)
  // Per sync point sent (Query, Sync, FunctionCall), oldest first: when it was sent and the last
  // statement it carries.
  struct Pending {
    int64_t sent_us = 0;
    uint64_t statement_seq = 0;
    uint64_t statements = 0;
  };
  std::array<Pending, kPendingMax> pending{};
  size_t pending_head = 0;
  size_t pending_count = 0;
  uint64_t statements_since_sync = 0;
  int64_t first_since_sync_us = 0;

  // The audit gate: bytes for the backend held until their records passed.
  std::vector<std::byte> gated;
  uint64_t gate_seq = 0;                 // the newest record the held bytes wait for
  size_t gate_from = SIZE_MAX;           // during a walk: where the held part of edit_out_ starts
  std::string scratch;                   // normalized statement text
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_PG_SESSION_AUDIT_H_
