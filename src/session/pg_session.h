// src/session/pg_session.h: the PostgreSQL gateway session, as a sans-I/O state machine.
//
// One PgSession is one client connection through a gateway listener: it answers the client's
// start-up packets (SSLRequest -> TLS, GSSENCRequest -> 'N'), asks for a cleartext password and
// validates it as an access token, finds the resource (the StartupMessage's database) and the
// policy, takes a JIT grant, opens the backend connection with the gateway's own credential
// (SCRAM-SHA-256, md5, trust; TLS when the resource says so), replaces BackendKeyData with a key
// of its own, then forwards frames both ways until the grant ends.
//
// It does no I/O. The shard's relay feeds it bytes (On*Bytes), tells it when the backend socket is
// connected, calls OnTimer, and drains what it asks for: bytes in to_client() / to_backend(), a
// backend connection (connect_wanted()), and the end of the session (end()). In the forwarding
// phase with no TLS on either leg, frames are not copied at all: the relay keeps forwarding its
// receive buffers and only lets the session walk them (InspectUp / InspectDown); see owned().
//
// Phases (one enum, one dispatch per event):
//   kClientStartup -> (kClientTls) -> kAwaitPassword -> (kAwaitKeys) -> kBackendConnect
//   -> (kBackendTlsRequest -> kBackendTls) -> kBackendStartup -> kForwarding -> (kCutting) -> kEnded
// Invariant: to_client() holds only whole protocol messages (or TLS records of them), so an
// error can always be appended at a message boundary; client bytes are consumed only in phases
// that expect them.
// Owned by one shard thread; never shared.
#ifndef JITGATE_SRC_SESSION_PG_SESSION_H_
#define JITGATE_SRC_SESSION_PG_SESSION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitgate/config.h"
#include "jitgate/identity.h"
#include "jitgate/parsers/pg/backend.h"
#include "src/session/byte_queue.h"
#include "src/session/cancel_registry.h"
#include "src/session/frame_editor.h"
#include "src/mask/row.h"
#include "src/session/gateway_env.h"

namespace jitgate::audit {
class RecordBuilder;
class ShardSink;
}  // namespace jitgate::audit
namespace jitgate::auth {
class TokenCache;
}  // namespace jitgate::auth
namespace jitgate::grants {
struct Grant;
}  // namespace jitgate::grants
namespace jitgate::tls {
class Stream;
}  // namespace jitgate::tls

namespace jitgate::session {

class BackendAuth;
class ScramKeyCache;
struct GuardScratch;
struct Judgement;
struct MaskState;
struct Expect;
struct AuditState;

// Why a session ended, as the shard logs it.
enum class EndReason : uint8_t {
  kNone,
  kProtocolError,      // the client broke the protocol (bad frame, bytes after SSLRequest, ...)
  kTlsRequired,        // plaintext StartupMessage on a TLS listener
  kTlsFailed,          // the client's TLS handshake or record layer failed
  kAuthRefused,        // the token was rejected (28P01)
  kAccessDenied,       // no policy, approval required, unknown resource (28000 / 3D000)
  kAuthTimeout,        // limits.auth_timeout_ms passed before the session was ready
  kBackendUnavailable, // connect failed, TLS refused, or the backend refused the gateway
  kBackendProtocol,    // the backend broke the protocol
  kGrantExpired,       // the grant ended: the client was told, then cut
  kCancelForwarded,    // a CancelRequest: forwarded (or dropped) and the connection closed
  kClientTerminated,   // the client sent Terminate or hung up
  kMaskFailed,         // a result could not be masked (a row over masking.row_size_max, ...)
};

const char* EndReasonName(EndReason reason);

// Counters a shard sums for its summary line.
struct SessionStats {
  uint64_t tokens_validated = 0;     // signature checks done
  uint64_t token_cache_hits = 0;
  uint64_t auth_refusals = 0;
  uint64_t grants_issued = 0;        // IssueAuto calls that succeeded (new or reused)
  uint64_t grants_expired_cut = 0;   // sessions cut by their grant's end
  uint64_t cancels_forwarded = 0;
  uint64_t statements = 0;           // Query + Parse + FunctionCall frames seen
  uint64_t statements_refused = 0;   // refused by the guardrails (block or review)
  uint64_t guard_cache_hits = 0;     // statements classified from the shard's decision cache
  uint64_t rows_masked = 0;          // DataRows with at least one masked value
  uint64_t cells_masked = 0;         // values masked (DataRow and COPY)
  uint64_t audit_records = 0;        // audit records emitted
  uint64_t audit_waits = 0;          // statements held for the audit log (full queue, durable)
};

class PgSession {
 public:
  // `token_cache`, `scram_cache` and `guard` are the shard's (the caches may be null: no
  // caching; a null `guard` makes the session its own).
  // `audit` is the shard's audit sink (null or disabled: no audit records).
  PgSession(const GatewayEnv& env, auth::TokenCache* token_cache, SessionStats* stats,
            uint32_t shard_index, ScramKeyCache* scram_cache = nullptr,
            GuardScratch* guard = nullptr, audit::ShardSink* audit = nullptr);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Begins a session on `listener_index` (a gateway listener). Clears everything from a
  // previous use of this object.
  void Start(uint32_t listener_index, uint64_t session_id, std::string_view client_text,
             int64_t now_ms);

  // ---- events --------------------------------------------------------------------------------
  // Bytes from the client socket (ciphertext when the client leg is TLS). Only while owned(kUp).
  void OnClientBytes(std::span<const std::byte> bytes, int64_t now_ms);
  // The backend connect finished: `error` 0, or the errno it failed with (`detail` for logs).
  void OnBackendConnected(int error, std::string_view detail, int64_t now_ms);
  // Bytes from the backend socket. Only while owned(kDown).
  void OnBackendBytes(std::span<const std::byte> bytes, int64_t now_ms);
  // Zero-copy forwarding (owned() false): walk a chunk the relay forwards unchanged. Returns the
  // number of leading bytes to forward (all of them, unless the session ends inside the chunk).
  size_t InspectUp(std::span<const std::byte> bytes, int64_t now_ms);
  size_t InspectDown(std::span<const std::byte> bytes, int64_t now_ms);
  // The backend socket reached EOF before the session was forwarding (a cancel connection, or a
  // database that refused the gateway without an ErrorResponse).
  void OnBackendClosed();
  // Periodically (every shard tick): authentication deadline, key refresh retry, grant expiry.
  void OnTimer(int64_t now_ms);
  // The relay is closing the session for its own reasons (peer gone, shutdown): release the
  // cancel key and stop.
  void Abandon();

  // ---- what the relay must do ----------------------------------------------------------------
  // Side 0 = client -> backend, 1 = backend -> client (src/shard/ops.h Side). True when the bytes
  // arriving from that side's source must be given to On*Bytes (handshake, or TLS on a leg of
  // that direction); false in zero-copy forwarding, where Inspect* is used instead.
  bool owned(uint8_t side) const;
  ByteQueue& to_client() { return to_client_; }
  ByteQueue& to_backend() { return to_backend_; }
  // A backend connection is wanted (once): connect to backend_address(), then OnBackendConnected.
  bool TakeConnectRequest();
  const config::Endpoint& backend_address() const;
  // When end() != kNone: send what is in to_client() (and, for a cancel, to_backend()), then
  // half-close and close. Nothing more is accepted from either side.
  EndReason end() const { return end_; }
  bool forwarding() const { return phase_ == Phase::kForwarding || phase_ == Phase::kCutting; }
  // A cancel session: to_backend() holds the real CancelRequest; close once it is sent.
  bool is_cancel() const { return cancel_; }

  // ---- audit (pg_session_audit.cc) ----------------------------------------------------------
  // The relay closes the session: records kSessionClose (once; nothing for a session that never
  // got a grant). `reason` is the relay's close reason when the session itself did not end.
  void AuditClose(std::string_view reason, uint64_t bytes_up, uint64_t bytes_down);
  // True while bytes for the backend wait for their audit records (a full queue under "block",
  // or durable mode before the fsync); the relay then stops reading the client once
  // audit_held_bytes() is large, and calls OnAuditProgress when the audit log moved.
  bool audit_waiting() const;
  size_t audit_held_bytes() const;
  // Releases the held bytes once their records passed (into to_backend()); true when it did.
  bool OnAuditProgress();

  // For logs.
  const Identity* identity() const { return identity_.get(); }
  std::string_view grant_id() const;
  std::string_view resource_name() const;
  std::string_view tls_version() const;

 private:
  enum class Phase : uint8_t {
    kIdle,
    kClientStartup,     // start-up packets (plaintext, or inside TLS after SSLRequest)
    kClientTls,         // TLS handshake with the client
    kAwaitPassword,     // AuthenticationCleartextPassword sent
    kAwaitKeys,         // unknown kid: waiting for the key set to refresh
    kBackendConnect,    // waiting for the backend socket
    kBackendTlsRequest, // SSLRequest sent to the backend, waiting for 'S' / 'N'
    kBackendTls,        // TLS handshake with the backend
    kBackendStartup,    // StartupMessage sent; authentication and parameters
    kForwarding,
    kCutting,           // the grant ended: forwarding up to the next message boundary down
    kEnded,
  };

  // Client side.
  void ProcessClientPlaintext(int64_t now_ms);
  bool HandleStartupPacket(std::span<const std::byte> packet, int64_t now_ms);
  void HandleStartupMessage(std::span<const std::byte> packet, int64_t now_ms);
  void HandleCancelRequest(std::span<const std::byte> packet);
  void HandlePassword(std::span<const std::byte> payload, int64_t now_ms);
  void Authenticate(int64_t now_ms);
  void Authorize(int64_t now_ms);
  void StartClientTls(std::span<const std::byte> early_bytes, int64_t now_ms);
  bool PumpClientTls(int64_t now_ms);  // false when the session ended

  // Backend side.
  void SendBackendStartup();
  void ProcessBackendPlaintext(int64_t now_ms);
  void HandleBackendStartupFrame(char type, std::span<const std::byte> payload, int64_t now_ms);
  void FinishStartup(char status, int64_t now_ms);
  bool PumpBackendTls(int64_t now_ms);

  // Forwarding. Walk* edit a chunk: they return the prefix that goes on unchanged and leave in
  // edit_out_ what goes after it.
  void ForwardUp(std::span<const std::byte> plaintext, int64_t now_ms);
  void ForwardDown(std::span<const std::byte> plaintext, int64_t now_ms);
  size_t WalkUp(std::span<const std::byte> bytes, bool zero_copy);
  size_t WalkDown(std::span<const std::byte> bytes, bool zero_copy);
  void CompleteCut();

  // Guardrails (pg_session_guard.cc).
  FrameAction OnUpFrame(const EditFrame& frame, std::vector<std::byte>* out);
  FrameAction OnDownFrame(const EditFrame& frame, std::vector<std::byte>* out);
  FrameAction JudgeUpFrame(const EditFrame& frame, std::vector<std::byte>* out,
                           Judgement* judged);
  FrameAction GuardDownFrame(const EditFrame& frame, std::vector<std::byte>* out);
  // Follows standard_conforming_strings from a ParameterStatus body (start-up and forwarding).
  void NoteParameterStatus(std::span<const std::byte> payload);
  // Takes the newest policy snapshot when a reload published one.
  void RefreshPolicy();
  // Replaces a refused Query/FunctionCall (parse == false) or Parse by a marker statement.
  void Refuse(const Judgement& judgement, bool parse, std::string_view statement_name,
              std::vector<std::byte>* out);

  // Masking (pg_session_mask.cc).
  void StartMasking();
  void StopMasking();
  bool MaskCatalogWanted() const;
  void SendCatalogQuery();
  // A backend message while the catalog is read; false when no catalog read is in progress.
  bool OnCatalogFrame(char type, std::span<const std::byte> payload, int64_t now_ms);
  mask::Derivation DeriveStatement(std::string_view sql, parsers::sql::pg::CopyInfo* copy,
                                   bool* copy_known);
  void MaskNoteStatement(char type, std::span<const std::byte> payload);
  FrameAction MaskOnUp(const EditFrame& frame, std::vector<std::byte>* out);
  FrameAction MaskOnDown(const EditFrame& frame, FrameAction so_far, std::vector<std::byte>* out);
  void BeginResult(std::span<const std::byte> row_description, std::span<const int16_t> formats,
                   const mask::Derivation* derivation);
  void BeginExecuteResult(const Expect& expect);
  void EndResult();
  void PopToSync();
  void PrepareHead();
  // Ends the session after a result that could not be masked (the walk's output went first).
  void MaskFail();
  bool MaskNotice(char type, std::span<const std::byte> payload, std::vector<std::byte>* out);
  void RedactEchoedValues(std::string* text, bool table_sensitive);
  static void RedactQuoted(std::string* text);
  void BeginCopy(const Expect* head, const parsers::pg::CopyResponse& response);
  void ApplyDerived(const mask::Derivation& derivation, mask::ColumnPlan* column, uint16_t* rule);
  void LogCopyMasked();

  // Audit (pg_session_audit.cc).
  bool auditing() const { return audit_ != nullptr; }
  void StartAudit();
  void AuditRefusal(EndReason reason, std::string_view sqlstate, std::string_view message);
  void AuditGrant();
  void AuditOpen();
  // After a Query/Parse/FunctionCall was judged (`judged`; null: not inspected): records it and
  // holds it (and what follows) when its record has not passed. `out_before`: out's size before
  // the frame was handled.
  void AuditStatement(const EditFrame& frame, const Judgement* judged, size_t out_before,
                      std::vector<std::byte>* out, FrameAction* action);
  void AuditBind(const EditFrame& frame, size_t out_before, std::vector<std::byte>* out,
                 FrameAction* action);
  void AuditDown(const EditFrame& frame, bool refusal);
  // A kStatement record begun (seq, time) in the shard's builder, and its end (policy, emit,
  // hold).
  audit::RecordBuilder& BeginStatementRecord();
  void EmitStatementRecord(const EditFrame& frame, size_t out_before, std::vector<std::byte>* out,
                           FrameAction* action);
  // What masking derived of prepared statement `name` (null: unknown). Masking sessions only.
  const mask::Derivation* PreparedDerivation(std::string_view name) const;
  void AuditSyncSent();
  void AuditMasked(std::string_view column, uint64_t count);
  // Holds the frame (kept or replaced) and the rest of the walk behind the audit gate.
  void AuditHold(const EditFrame& frame, uint64_t seq, size_t out_before,
                 std::vector<std::byte>* out, FrameAction* action);
  // After a walk up: moves what the walk produced from the first held frame on (all of it when
  // `held_before`) from edit_out_ to the held bytes. True when the whole walk was held (the
  // caller forwards nothing of the chunk).
  bool AuditHoldWalk(bool held_before);
  void AuditIdentity();

  // Output helpers: `to_client` goes through TLS when the client leg has it.
  void SendToClient(std::span<const std::byte> plaintext);
  void SendToBackend(std::span<const std::byte> plaintext);
  void FlushClientTls();
  void FlushBackendTls();
  // Ends the session with a FATAL ErrorResponse to the client.
  void Fail(EndReason reason, std::string_view sqlstate, std::string_view message,
            std::string_view detail = {});
  void EndQuietly(EndReason reason);

  const GatewayEnv& env_;
  auth::TokenCache* const token_cache_;
  ScramKeyCache* const scram_cache_;
  SessionStats* const stats_;
  const uint32_t shard_index_;

  Phase phase_ = Phase::kIdle;
  EndReason end_ = EndReason::kNone;
  uint32_t listener_index_ = 0;
  uint64_t session_id_ = 0;
  std::string client_text_;
  int64_t started_ms_ = 0;
  int64_t keys_deadline_ms_ = 0;
  uint64_t keys_generation_ = 0;
  bool keys_retried_ = false;  // the token was re-checked after a key refresh already
  bool connect_wanted_ = false;
  bool cancel_ = false;

  // Client leg.
  std::unique_ptr<tls::Stream> client_tls_;
  std::vector<std::byte> client_in_;  // plaintext not yet processed (start-up phases)
  std::vector<std::byte> scratch_;    // TLS read target and message encoding
  ByteQueue to_client_;
  std::string token_;                 // kept only while waiting for keys; wiped after
  std::vector<std::pair<std::string, std::string>> client_params_;  // forwarded to the backend
  uint32_t resource_index_ = 0;
  bool resource_known_ = false;

  // Identity and grant.
  std::shared_ptr<const Identity> identity_;
  std::shared_ptr<const grants::Grant> grant_;
  std::string policy_name_;
  int64_t grant_expires_ms_ = 0;  // the session's end: min(grant end, token exp), monotonic
  bool token_ends_first_ = false;  // the token's exp comes before the (reused) grant's end

  // Backend leg.
  std::unique_ptr<tls::Stream> backend_tls_;
  std::unique_ptr<BackendAuth> backend_auth_;
  std::vector<std::byte> backend_in_;
  ByteQueue to_backend_;
  std::vector<std::byte> startup_reply_;  // ParameterStatus etc. gathered for the client
  uint32_t backend_pid_ = 0;
  std::array<std::byte, 4> backend_key_{};
  std::array<std::byte, 4> client_key_{};
  bool key_registered_ = false;
  bool backend_key_seen_ = false;

  // Policies: the snapshot this session decides with, and its policy's index in it
  // (kNoPolicyIndex when a reload removed the policy: every statement is refused).
  std::shared_ptr<const PolicySnapshot> snapshot_;
  uint64_t snapshot_generation_ = 0;
  uint32_t rules_policy_ = 0;
  bool inspect_ = true;  // the policy's "statements.inspect"
  std::vector<std::string> schema_candidates_;  // SchemaCandidates of the policy's rules
  bool search_path_unknown_ = false;  // the session may have left the default search_path

  // Forwarding.
  FrameEditor up_editor_;
  FrameEditor down_editor_;
  std::vector<std::byte> edit_out_;  // what a walk adds after the chunk's forwarded prefix
  GuardScratch* guard_ = nullptr;
  std::unique_ptr<GuardScratch> own_guard_;
  // Refusals whose marker error has not come back yet, oldest first.
  struct PendingRefusal {
    uint64_t seq = 0;
    std::vector<std::byte> error;
  };
  std::vector<PendingRefusal> refusals_;
  uint64_t refusal_seq_ = 0;
  bool up_invalid_ = false;        // a Query/Parse/FunctionCall body did not decode
  bool standard_strings_ = true;   // the backend's standard_conforming_strings
  uint64_t sync_points_sent_ = 0;  // Query, Sync, FunctionCall sent (each ends in ReadyForQuery)
  uint64_t ready_seen_ = 0;        // ReadyForQuery received
  char tx_status_ = 'I';
  bool cut_ready_ = false;  // cutting, and the down stream reached a message boundary

  // Masking: null when the session's policy masks nothing.
  std::unique_ptr<MaskState> mask_;
  uint64_t mask_fingerprint_ = 0;      // the PolicyMasks the session started with
  bool masks_changed_ = false;         // a reload changed them: every statement is refused
  bool mask_fail_pending_ = false;     // a walk met a frame it cannot mask: MaskFail after it
  std::vector<uint16_t> copy_rules_;   // the COPY in progress: rule per column (for counts)

  // Audit: null when the gateway has no audit log.
  audit::ShardSink* const audit_sink_;
  std::unique_ptr<AuditState> audit_;
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_PG_SESSION_H_
