// src/shard/relay_gateway.cc: the relay's side of gateway sessions (listeners with "tls" or
// "insecure"), the I/O a sans-I/O session::PgSession asks for.
//
// The relay owns the sockets and buffers; the PgSession owns the protocol. After every event the
// relay gives the session (bytes, a connect result, a tick) it calls PumpGateway, which does what
// the session now wants: connect the backend, send its queued bytes, or drain and close.
// Two ways bytes flow:
//   - owned: the session copies what arrives (start-up, TLS on a leg) and queues what goes out
//     in its ByteQueues; the relay sends from them, one send in flight per direction;
//   - zero-copy (forwarding, no TLS): receive buffers are forwarded as in the plain relay, after
//     the session walked them (InspectUp/InspectDown).
// Order: owned bytes queued while no buffer was queued go first (the start-up reply before the
// first result); owned bytes queued behind buffers go after them (the goodbye after the rows).
// Backpressure for owned queues: a queue above kOwnedPauseBytes pauses its source, as a flow with
// too many buffers does, and below kOwnedResumeBytes lets it resume.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "jitgate/check.h"
#include "ringio/result.h"
#include "src/common/log.h"
#include "src/shard/relay.h"

namespace jitgate::shard {
namespace {

constexpr size_t kOwnedPauseBytes = 1 << 20;
constexpr size_t kOwnedResumeBytes = 256 << 10;
// One send from an owned queue carries at most this much (the rest goes next).
constexpr size_t kOwnedSendMax = 1 << 20;
// How long an ending gateway session gets to flush its last bytes and for the client to hang up.
constexpr int64_t kDrainLingerMs = 2000;

}  // namespace

session::PgSession* Relay::GatewayOf(uint32_t slot) {
  JG_CHECK(env_ != nullptr);
  std::unique_ptr<session::PgSession>& gateway = gateways_[slot];
  if (gateway == nullptr) {
    gateway = std::make_unique<session::PgSession>(*env_, token_cache_.get(), &stats_->gateway,
                                                   shard_index_, scram_cache_.get(),
                                                   guard_.get(), audit_.get());
  }
  return gateway.get();
}

session::ByteQueue* Relay::OwnedQueue(uint32_t slot, uint8_t side) {
  session::PgSession* gateway = GatewayOf(slot);
  return side == kUp ? &gateway->to_backend() : &gateway->to_client();
}

bool Relay::OwnedQueueFull(uint32_t slot, uint8_t side) {
  return OwnedQueue(slot, side)->size() > kOwnedResumeBytes;
}

void Relay::StartGateway(uint32_t slot, int64_t now_ms) {
  Session& s = sessions_[slot];
  JG_CHECK(env_ != nullptr);
  s.gateway = true;
  s.state = State::kRelaying;
  GatewayOf(slot)->Start(s.listener_index, s.id, s.client_text.data(), now_ms);
  ArmRecv(slot, kUp);
}

void Relay::OnGatewayRecv(uint32_t slot, uint8_t side, uint16_t buffer_id, uint32_t length,
                          int64_t now_ms) {
  session::PgSession* gateway = GatewayOf(slot);
  const std::span<const std::byte> bytes(buffers_->Data(buffer_id), length);
  if (gateway->owned(side)) {
    if (side == kUp) {
      gateway->OnClientBytes(bytes, now_ms);
    } else {
      gateway->OnBackendBytes(bytes, now_ms);
    }
    buffers_->Release(buffer_id);
    Flow& flow = sessions_[slot].flows[side];
    flow.bytes += length;
  } else {
    // The session forwards a prefix of the chunk from this buffer and may queue bytes of its own
    // (a refusal's replacement, the copied rest) behind it.
    const bool owned_was_empty = OwnedQueue(slot, side)->empty();
    const size_t forward =
        side == kUp ? gateway->InspectUp(bytes, now_ms) : gateway->InspectDown(bytes, now_ms);
    if (forward > 0) {
      if (owned_was_empty) {
        sessions_[slot].flows[side].owned_older = false;  // the prefix goes first
      }
      Enqueue(slot, side, buffer_id, static_cast<uint32_t>(forward));
    } else {
      buffers_->Release(buffer_id);
    }
  }
  PumpGateway(slot);
}

void Relay::OnGatewayConnect(uint32_t slot, int32_t res) {
  Session& s = sessions_[slot];
  if (s.state != State::kRelaying) {
    return;  // closing already
  }
  session::PgSession* gateway = GatewayOf(slot);
  if (res >= 0) {
    s.backend_connected = true;
    gateway->OnBackendConnected(0, {}, now_ms_);
    ArmRecv(slot, kDown);
  } else {
    const ringio::IoError error = ringio::ClassifyResult(res);
    const bool timed_out =
        error == ringio::IoError::kCanceled || error == ringio::IoError::kTimedOut;
    char detail[128];
    if (timed_out) {
      std::snprintf(detail, sizeof(detail), "connect timed out after %u ms",
                    config_.limits.connect_timeout_ms);
    } else {
      std::snprintf(detail, sizeof(detail), "%s", std::strerror(-res));
    }
    gateway->OnBackendConnected(timed_out ? ETIMEDOUT : -res, detail, now_ms_);
  }
  PumpGateway(slot);
}

void Relay::PumpGateway(uint32_t slot) {
  Session& s = sessions_[slot];
  if (s.state != State::kRelaying && s.state != State::kDraining) {
    return;
  }
  session::PgSession* gateway = GatewayOf(slot);
  if (s.state == State::kRelaying && gateway->TakeConnectRequest()) {
    StartConnect(slot, now_ms_);
    if (s.state != State::kRelaying) {
      return;
    }
  }
  for (const uint8_t side : {kUp, kDown}) {
    Flow& flow = s.flows[side];
    session::ByteQueue* owned = OwnedQueue(slot, side);
    if (owned->empty()) {
      continue;
    }
    if (flow.queued == 0) {
      flow.owned_older = true;
    }
    if (side == kUp && !s.backend_connected) {
      continue;  // held until the backend socket is up
    }
    if (!flow.send_in_flight) {
      StartSend(slot, side);
    }
    // This flow's source fills this queue (client bytes become to_backend, backend bytes
    // to_client): a queue the destination does not drain stops its source being read.
    if (owned->size() > kOwnedPauseBytes) {
      PauseSource(slot, side);
    }
  }
  if (gateway->audit_waiting() && s.state == State::kRelaying) {
    // Bytes wait for their audit records: released by OnAuditProgress (wake or tick); the client
    // is not read while much waits.
    if (std::find(audit_waiting_.begin(), audit_waiting_.end(), slot) == audit_waiting_.end()) {
      audit_waiting_.push_back(slot);
    }
    if (gateway->audit_held_bytes() > kAuditHoldPauseBytes) {
      PauseSource(slot, kUp);
    }
  }
  if (gateway->end() != session::EndReason::kNone && s.state == State::kRelaying) {
    BeginDrain(slot);
  }
}

void Relay::StartOwnedSend(uint32_t slot, uint8_t side) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  JG_DCHECK(!flow.send_in_flight);
  const std::span<const std::byte> front = OwnedQueue(slot, side)->Front();
  JG_CHECK(!front.empty());
  flow.send_in_flight = true;
  flow.owned_send = true;
  ring_->Send(DestinationFd(s, side), front.data(),
              static_cast<uint32_t>(std::min(front.size(), kOwnedSendMax)),
              MakeTag(kOpSend, slot, side));
  ++s.ops_in_flight;
}

void Relay::BeginDrain(uint32_t slot) {
  Session& s = sessions_[slot];
  JG_CHECK(s.state == State::kRelaying);
  s.state = State::kDraining;
  s.deadline_ms = now_ms_ + kDrainLingerMs;
  s.reason = CloseReason::kGatewayEnded;
  // Nothing more is read from either side; what is queued still goes out.
  for (const uint8_t side : {kUp, kDown}) {
    Flow& flow = s.flows[side];
    if (flow.recv_armed && !flow.recv_pausing) {
      flow.recv_pausing = true;
      ring_->Cancel(MakeTag(kOpRecv, slot, side), MakeTag(kOpCancel, slot, side));
      ++s.ops_in_flight;
    }
  }
  // Client bytes waiting for the backend are dropped: the session is over.
  Flow& up = s.flows[kUp];
  if (!up.send_in_flight) {
    while (up.queued > 0) {
      PopHead(&up);
    }
  }
  for (const uint8_t side : {kUp, kDown}) {
    Flow& flow = s.flows[side];
    const bool can_send = side == kDown || s.backend_connected;
    if (!flow.send_in_flight && can_send && (flow.queued > 0 || !OwnedQueue(slot, side)->empty())) {
      StartSend(slot, side);
    }
  }
  MaybeFinishDrain(slot);
}

void Relay::MaybeFinishDrain(uint32_t slot) {
  Session& s = sessions_[slot];
  if (s.state != State::kDraining) {
    return;
  }
  for (const uint8_t side : {kUp, kDown}) {
    const Flow& flow = s.flows[side];
    if (flow.send_in_flight) {
      return;
    }
    const bool can_send = side == kDown || s.backend_connected;
    if (can_send && (flow.queued > 0 || !OwnedQueue(slot, side)->empty())) {
      return;
    }
  }
  const session::PgSession* gateway = GatewayOf(slot);
  JG_LOG(kInfo, "event=gateway_end shard=%u session=%lu client=%s reason=%s resource=%s grant=%s",
         shard_index_, s.id, s.client_text.data(), session::EndReasonName(gateway->end()),
         std::string(gateway->resource_name()).c_str(), std::string(gateway->grant_id()).c_str());
  // Everything is out: half-close towards the client and wait for its hang-up (as a refusal
  // does), so it reads the error instead of a reset.
  s.state = State::kRefusing;
  s.refusal_sent = true;
  s.deadline_ms = now_ms_ + kDrainLingerMs;
  ring_->Shutdown(s.client_fd, SHUT_WR, MakeTag(kOpShutdown, slot, kDown));
  ++s.ops_in_flight;
  if (s.backend_fd >= 0 && s.backend_connected) {
    ring_->Shutdown(s.backend_fd, SHUT_WR, MakeTag(kOpShutdown, slot, kUp));
    ++s.ops_in_flight;
  }
  if (!s.flows[kUp].recv_armed) {
    ArmRecv(slot, kUp);
  }
}

}  // namespace jitgate::shard
