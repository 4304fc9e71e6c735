// src/shard/relay.h: the session table of one shard and the byte pump of each session.
//
// A session is one accepted client connection plus one backend connection, relayed both ways.
// Bytes arrive by multishot recv into the shard's provided buffers and are forwarded by sendmsg
// straight from those buffers (no copy); a buffer returns to the ring once its send completed.
//
// Per direction (a Flow), with `queued` = buffers received but not yet fully sent, kept in
// arrival order as a list linked through per-buffer metadata (so the bound on queued data is the
// shard's buffer pool, whatever the kernel delivers after a pause was requested):
//   - one send in flight at most, so bytes keep their order;
//   - queued >= buffers_in_flight_per_direction_max pauses the source (its multishot recv is
//     canceled) and queued <= half of it resumes it, so a slow reader bounds memory;
//   - ENOBUFS (the shard's buffers ran dry) parks the flow until buffers are published.
// Invariant per flow: queued <= buffer_count, and send_in_flight implies queued > 0 or an
// owned send (a gateway session sending from its own queue).
// Invariant per session: the slot is reused only when ops_in_flight == 0, so a completion never
// outlives its session; tags carry the generation to prove it.
//
// Owned and called by exactly one Shard, on its thread. No locks, no allocation after Init.
#ifndef JITGATE_SRC_SHARD_RELAY_H_
#define JITGATE_SRC_SHARD_RELAY_H_

#include <liburing.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "jitgate/config.h"
#include "ringio/buf_ring.h"
#include "ringio/ring.h"
#include "ringio/tag.h"
#include "src/session/gateway_env.h"
#include "src/session/pg_session.h"
#include "src/shard/ops.h"

namespace jitgate::audit {
class ShardSink;
}  // namespace jitgate::audit

namespace jitgate::shard {

// Counters of one shard; read by the main thread only after the shard's thread has joined.
struct ShardStats {
  uint64_t sessions_opened = 0;
  uint64_t sessions_closed = 0;
  uint64_t sessions_refused = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t recv_enobufs = 0;
  uint64_t backpressure_pauses = 0;
  uint64_t stale_completions = 0;
  uint64_t zc_sends = 0;
  uint64_t handed_off = 0;  // accepted here, handed to a less-loaded shard (shard/balancer.h)
  uint64_t adopted = 0;     // handed here by another shard
  session::SessionStats gateway;  // gateway listeners only
};

class Relay {
 public:
  // `env` is null when no listener is a gateway (relay-only configs, relay tests).
  Relay(uint32_t shard_index, const config::Config& config, ringio::Ring* ring,
        ringio::BufRing* buffers, ShardStats* stats, const session::GatewayEnv* env = nullptr);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Sizes every table from config; the only allocation of the relay's life.
  absl::Status Init();

  // A client connection accepted on `listener_index`; the relay owns `fd` from here on.
  void OnAccepted(int fd, uint32_t listener_index, int64_t now_ms);

  // A completion whose tag.op is one of the session ops (kOpConnect .. kOpRefuseSend).
  void OnCompletion(ringio::Tag tag, const io_uring_cqe& cqe, int64_t now_ms);

  // Once per completion batch: returns released buffers to the kernel and resumes flows that
  // were parked on ENOBUFS.
  void AfterBatch();

  // Once per tick: idle timeouts and refusal deadlines.
  void CheckTimers(int64_t now_ms);

  // The audit log moved (shard wake, tick): releases sessions waiting for their records.
  void OnAuditProgress();
  // At the shard's end: pushes what waits in the audit backlog (waits up to `wait_ms` for room).
  void FlushAudit(int64_t wait_ms);

  // Starts closing every open session with `reason`.
  void CloseAll(CloseReason reason);

  uint32_t active() const { return static_cast<uint32_t>(active_slots_.size()); }

 private:
  // kDraining: a gateway session that is ending: nothing more is read, what is queued is sent,
  // then it lingers as kRefusing does so the client reads its error rather than a reset.
  enum class State : uint8_t { kFree, kConnecting, kRelaying, kRefusing, kDraining, kClosing };

  static constexpr uint16_t kNoBuffer = UINT16_MAX;  // end of a flow's buffer list
  // A gateway session holding more than this for the audit log stops reading its client.
  static constexpr size_t kAuditHoldPauseBytes = 256 << 10;

  // Per provided buffer, while a flow holds it: bytes received into it and the next buffer of
  // the same flow.
  struct BufferMeta {
    uint32_t length = 0;
    uint16_t next = kNoBuffer;
  };

  static constexpr uint32_t kIovMax = 8;  // buffers gathered into one sendmsg

  struct Flow {
    uint16_t head = kNoBuffer;  // oldest queued buffer
    uint16_t tail = kNoBuffer;  // newest queued buffer
    uint32_t queued = 0;
    uint32_t head_offset = 0;  // bytes of the head buffer already sent
    bool recv_armed = false;
    bool recv_pausing = false;  // a cancel for the recv is in flight
    bool parked = false;        // waiting for buffers after ENOBUFS
    bool source_eof = false;
    bool destination_shut = false;
    bool send_in_flight = false;
    bool zc_waiting = false;   // zero-copy send: result seen, notification pending
    bool watch_armed = false;  // a poll watches the source for a reset while it is not read
    bool owned_send = false;   // gateway: the send in flight is from the session's own queue
    bool owned_older = false;  // gateway: the owned bytes were queued before any buffer
    int32_t zc_result = 0;
    uint64_t bytes = 0;
    msghdr message{};
    std::array<iovec, kIovMax> iov{};
  };

  struct Session {
    State state = State::kFree;
    CloseReason reason = CloseReason::kNone;
    uint16_t generation = 0;
    uint16_t ops_in_flight = 0;  // submitted and not finally completed, plus parked flows
    bool counted = false;        // counts against sessions_per_shard_max
    bool gateway = false;        // a gateway listener's session: gateways_[slot] drives it
    bool backend_connected = false;
    uint32_t listener_index = 0;
    uint32_t active_index = 0;  // position in active_slots_ while not free
    int client_fd = -1;
    int backend_fd = -1;
    uint64_t id = 0;
    int64_t opened_ms = 0;
    int64_t last_activity_ms = 0;
    int64_t deadline_ms = 0;  // refusals: when to stop waiting for the client to hang up
    std::array<Flow, 2> flows{};
    uint16_t refusal_length = 0;
    bool refusal_sent = false;
    // PostgreSQL refusals wait for the client's StartupMessage (libpq ignores errors sent in
    // answer to SSLRequest): the start-up packet header read so far.
    uint8_t startup_have = 0;
    std::array<std::byte, 8> startup_header{};
    std::array<std::byte, 512> refusal{};
    std::array<char, 64> client_text{};
  };

  struct Parked {
    uint32_t slot;
    uint16_t generation;
    uint8_t side;
  };

  ringio::Tag MakeTag(uint8_t op, uint32_t slot, uint8_t side = 0) const;
  int SourceFd(const Session& s, uint8_t side) const;
  int DestinationFd(const Session& s, uint8_t side) const;
  const config::Listener& ListenerOf(const Session& s) const;

  void StartConnect(uint32_t slot, int64_t now_ms);
  void OnConnect(uint32_t slot, int32_t res);
  void Refuse(uint32_t slot, CloseReason reason, const char* detail, int64_t now_ms);
  void SendRefusal(uint32_t slot);
  void OnRefuseSent(uint32_t slot, uint8_t side, int32_t res);
  // Reads a refused PostgreSQL client's start-up packets: answers SSLRequest/GSSENCRequest with
  // 'N' and sends the refusal once the StartupMessage header is in.
  void FeedStartup(uint32_t slot, const std::byte* data, uint32_t size);
  void WatchSource(uint32_t slot, uint8_t side);
  void OnWatch(uint32_t slot, uint8_t side, int32_t res);

  void ArmRecv(uint32_t slot, uint8_t side);
  void OnRecv(uint32_t slot, uint8_t side, const io_uring_cqe& cqe, int64_t now_ms);
  void OnRecvEnded(uint32_t slot, uint8_t side, int32_t res);
  void Enqueue(uint32_t slot, uint8_t side, uint16_t buffer_id, uint32_t length);
  // Drops the head buffer of a flow and gives it back to the ring.
  void PopHead(Flow* flow);
  void MaybeResume(uint32_t slot, uint8_t side);
  void StartSend(uint32_t slot, uint8_t side);
  void OnSend(uint32_t slot, uint8_t side, const io_uring_cqe& cqe);
  void OnSendResult(uint32_t slot, uint8_t side, int32_t res);
  void MaybeFinish(uint32_t slot, uint8_t side);

  // Gateway sessions (relay_gateway.cc).
  session::PgSession* GatewayOf(uint32_t slot);
  void StartGateway(uint32_t slot, int64_t now_ms);
  void OnGatewayRecv(uint32_t slot, uint8_t side, uint16_t buffer_id, uint32_t length,
                     int64_t now_ms);
  void OnGatewayConnect(uint32_t slot, int32_t res);
  void PumpGateway(uint32_t slot);
  void BeginDrain(uint32_t slot);
  void MaybeFinishDrain(uint32_t slot);
  session::ByteQueue* OwnedQueue(uint32_t slot, uint8_t side);
  bool OwnedQueueFull(uint32_t slot, uint8_t side);
  void StartOwnedSend(uint32_t slot, uint8_t side);
  void PauseSource(uint32_t slot, uint8_t side);

  void BeginClose(uint32_t slot, CloseReason reason);
  void OpDone(uint32_t slot);
  void FreeSlot(uint32_t slot);
  void AssertInvariants(const Session& s) const;

  const uint32_t shard_index_;
  const config::Config& config_;
  ringio::Ring* const ring_;
  ringio::BufRing* const buffers_;
  ShardStats* const stats_;

  uint32_t pause_threshold_ = 0;  // limits.buffers_in_flight_per_direction_max
  uint32_t send_zc_min_bytes_ = 0;
  int64_t idle_timeout_ms_ = 0;
  __kernel_timespec connect_timeout_{};

  std::vector<Session> sessions_;
  std::vector<BufferMeta> buffer_meta_;  // by buffer id
  std::vector<uint32_t> free_slots_;     // a stack
  // Slots in use, dense, so timers and CloseAll visit only live sessions (a full walk of
  // sessions_ is megabytes of memory per tick). Session::active_index is each one's position.
  std::vector<uint32_t> active_slots_;
  std::vector<Parked> parked_;
  // Gateway sessions: one sans-I/O session object per slot, made on the slot's first gateway
  // use and reused after (its buffers keep their capacity).
  const session::GatewayEnv* const env_;
  std::unique_ptr<auth::TokenCache> token_cache_;
  std::unique_ptr<session::ScramKeyCache> scram_cache_;
  std::unique_ptr<session::GuardScratch> guard_;  // statement classification (one per shard)
  std::vector<std::unique_ptr<session::PgSession>> gateways_;
  std::unique_ptr<audit::ShardSink> audit_;    // null when the gateway has no audit log
  std::vector<uint32_t> audit_waiting_;         // slots holding bytes for the audit log
  uint32_t open_count_ = 0;  // sessions counted against sessions_per_shard_max
  uint64_t next_session_id_ = 1;
  int64_t now_ms_ = 0;
};

}  // namespace jitgate::shard

#endif  // JITGATE_SRC_SHARD_RELAY_H_
