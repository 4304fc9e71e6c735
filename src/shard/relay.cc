// Implementation of src/shard/relay.h: session slots, the connect / relay / close lifecycle, and
// the per-direction byte pump. Refusals: relay_refusal.cc; gateway sessions: relay_gateway.cc.
#include "src/audit/writer.h"
#include "src/shard/relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "jitgate/check.h"
#include "ringio/result.h"
#include "src/auth/token_cache.h"
#include "src/common/log.h"
#include "src/session/guard.h"
#include "src/session/pg_backend_auth.h"
#include "src/shard/refusal.h"

namespace jitgate::shard {
namespace {

using ringio::ClassifyResult;
using ringio::IoError;
using ringio::Tag;

// Slots beyond sessions_per_shard_max, used only to tell refused clients why (a refused client
// costs a slot for the few milliseconds its error takes). When these are gone too, the client
// is closed without a message.
constexpr uint32_t kRefusalReserve = 64;

void FormatPeer(int fd, std::array<char, 64>* out) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  (*out)[0] = '\0';
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::snprintf(out->data(), out->size(), "unknown");
    return;
  }
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
    std::snprintf(out->data(), out->size(), "%s:%u", host, port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    port = ntohs(v6->sin6_port);
    std::snprintf(out->data(), out->size(), "[%s]:%u", host, port);
  } else {
    std::snprintf(out->data(), out->size(), "local");
  }
}

void SetNoDelay(int fd) {
  // Database protocols are request/response with small frames: Nagle would add up to 40 ms.
  const int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

Relay::Relay(uint32_t shard_index, const config::Config& config, ringio::Ring* ring,
             ringio::BufRing* buffers, ShardStats* stats, const session::GatewayEnv* env)
    : shard_index_(shard_index),
      config_(config),
      ring_(ring),
      buffers_(buffers),
      stats_(stats),
      env_(env) {}

Relay::~Relay() = default;

absl::Status Relay::Init() {
  const config::Limits& limits = config_.limits;
  pause_threshold_ = limits.buffers_in_flight_per_direction_max;
  JG_CHECK(buffers_->count() < kNoBuffer);
  send_zc_min_bytes_ = limits.send_zc_min_bytes;
  idle_timeout_ms_ = int64_t{limits.idle_timeout_s} * 1000;
  connect_timeout_.tv_sec = limits.connect_timeout_ms / 1000;
  connect_timeout_.tv_nsec = int64_t{limits.connect_timeout_ms % 1000} * 1000000;

  const uint32_t slot_count = limits.sessions_per_shard_max + kRefusalReserve;
  sessions_.resize(slot_count);
  buffer_meta_.resize(buffers_->count());
  free_slots_.reserve(slot_count);
  active_slots_.reserve(slot_count);
  parked_.reserve(size_t{slot_count} * 2);
  for (uint32_t slot = slot_count; slot-- > 0;) {
    free_slots_.push_back(slot);
  }
  if (env_ != nullptr) {
    gateways_.resize(slot_count);
    scram_cache_ = std::make_unique<session::ScramKeyCache>();
    uint64_t seed = 0;  // statement fingerprints a client cannot predict
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof(seed)) != 1) {
      return absl::InternalError("RAND_bytes failed to seed the statement decision cache");
    }
    guard_ = std::make_unique<session::GuardScratch>(seed);
    if (limits.token_cache_entries > 0 && config_.identity.has_value()) {
      token_cache_ = std::make_unique<auth::TokenCache>(limits.token_cache_entries,
                                                        config_.identity->clock_skew_s);
    }
    if (env_->audit != nullptr) {
      audit_ = std::make_unique<audit::ShardSink>(env_->audit, shard_index_);
      audit_waiting_.reserve(slot_count);
    }
  }
  return absl::OkStatus();
}

Tag Relay::MakeTag(uint8_t op, uint32_t slot, uint8_t side) const {
  return Tag{op, side, sessions_[slot].generation, slot};
}

int Relay::SourceFd(const Session& s, uint8_t side) const {
  return side == kUp ? s.client_fd : s.backend_fd;
}

int Relay::DestinationFd(const Session& s, uint8_t side) const {
  return side == kUp ? s.backend_fd : s.client_fd;
}

const config::Listener& Relay::ListenerOf(const Session& s) const {
  return config_.listeners[s.listener_index];
}

void Relay::OnAccepted(int fd, uint32_t listener_index, int64_t now_ms) {
  now_ms_ = now_ms;
  if (free_slots_.empty()) {
    JG_LOG(kWarn, "event=refused shard=%u reason=sessions_per_shard_max listener=%s detail=no_slot",
           shard_index_, config_.listeners[listener_index].name.c_str());
    ++stats_->sessions_refused;
    close(fd);
    return;
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  Session& s = sessions_[slot];
  JG_CHECK(s.state == State::kFree && s.ops_in_flight == 0);
  ++s.generation;
  s.state = State::kConnecting;
  s.reason = CloseReason::kNone;
  s.listener_index = listener_index;
  s.client_fd = fd;
  s.backend_fd = -1;
  s.id = next_session_id_++;
  s.opened_ms = now_ms;
  s.last_activity_ms = now_ms;
  s.refusal_length = 0;
  s.counted = false;
  s.gateway = false;
  s.backend_connected = false;
  s.refusal_sent = false;
  s.startup_have = 0;
  s.flows = {};
  s.active_index = static_cast<uint32_t>(active_slots_.size());
  active_slots_.push_back(slot);
  SetNoDelay(fd);
  FormatPeer(fd, &s.client_text);
  if (open_count_ >= config_.limits.sessions_per_shard_max) {
    JG_LOG(kWarn,
           "event=refused shard=%u session=%lu listener=%s client=%s "
           "reason=sessions_per_shard_max limit=%u",
           shard_index_, s.id, ListenerOf(s).name.c_str(), s.client_text.data(),
           config_.limits.sessions_per_shard_max);
    Refuse(slot, CloseReason::kSessionsMax, "", now_ms);
    return;
  }
  ++open_count_;
  s.counted = true;
  ++stats_->sessions_opened;
  JG_LOG(kInfo, "event=session_open shard=%u session=%lu listener=%s client=%s", shard_index_, s.id,
         ListenerOf(s).name.c_str(), s.client_text.data());
  if (ListenerOf(s).mode != config::ListenerMode::kRelay) {
    StartGateway(slot, now_ms);
    return;
  }
  StartConnect(slot, now_ms);
}

void Relay::StartConnect(uint32_t slot, int64_t now_ms) {
  Session& s = sessions_[slot];
  const config::Endpoint& endpoint =
      s.gateway ? GatewayOf(slot)->backend_address()
                : config_.resources[ListenerOf(s).resource_index].address;
  const sockaddr_storage& address = endpoint.addr;
  s.backend_fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.backend_fd < 0) {
    const int error = errno;
    JG_LOG(kWarn, "event=backend_socket_failed shard=%u session=%lu error=%s", shard_index_, s.id,
           std::strerror(error));
    if (s.gateway) {
      GatewayOf(slot)->OnBackendConnected(error, std::strerror(error), now_ms);
      PumpGateway(slot);
      return;
    }
    Refuse(slot,
           ClassifyResult(-error) == IoError::kOutOfFiles ? CloseReason::kOutOfFiles
                                                          : CloseReason::kInternal,
           std::strerror(error), now_ms);
    return;
  }
  SetNoDelay(s.backend_fd);
  ring_->ConnectWithTimeout(s.backend_fd, reinterpret_cast<const sockaddr*>(&address),
                            endpoint.addr_length, &connect_timeout_,
                            MakeTag(kOpConnect, slot), MakeTag(kOpConnectTimeout, slot));
  s.ops_in_flight += 2;
}

void Relay::OnConnect(uint32_t slot, int32_t res) {
  Session& s = sessions_[slot];
  if (s.gateway) {
    OnGatewayConnect(slot, res);
    return;
  }
  if (s.state != State::kConnecting) {
    return;  // closing already (shutdown, idle)
  }
  if (res >= 0) {
    s.state = State::kRelaying;
    ArmRecv(slot, kUp);
    ArmRecv(slot, kDown);
    return;
  }
  const config::Resource& resource = config_.resources[ListenerOf(s).resource_index];
  const IoError error = ClassifyResult(res);
  const bool timed_out = error == IoError::kCanceled || error == IoError::kTimedOut;
  char detail[256];
  if (timed_out) {
    std::snprintf(detail, sizeof(detail), "resource \"%s\" at %s: connect timed out after %u ms",
                  resource.name.c_str(), resource.address.text.c_str(),
                  config_.limits.connect_timeout_ms);
  } else {
    std::snprintf(detail, sizeof(detail), "resource \"%s\" at %s: %s", resource.name.c_str(),
                  resource.address.text.c_str(), std::strerror(-res));
  }
  JG_LOG(kWarn,
         "event=backend_connect_failed shard=%u session=%lu resource=%s address=%s "
         "error=%s",
         shard_index_, s.id, resource.name.c_str(), resource.address.text.c_str(),
         timed_out ? "ETIMEDOUT" : ringio::ErrnoName(-res));
  Refuse(slot, timed_out ? CloseReason::kBackendConnectTimeout : CloseReason::kBackendConnectFailed,
         detail, now_ms_);
}

void Relay::ArmRecv(uint32_t slot, uint8_t side) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  JG_DCHECK(!flow.recv_armed);
  flow.recv_armed = true;
  flow.recv_pausing = false;
  ring_->RecvMultishot(SourceFd(s, side), buffers_->group_id(), MakeTag(kOpRecv, slot, side));
  ++s.ops_in_flight;
}

void Relay::OnRecv(uint32_t slot, uint8_t side, const io_uring_cqe& cqe, int64_t now_ms) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const auto buffer_id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    buffers_->Take(buffer_id);
    if (s.state == State::kRelaying && cqe.res > 0) {
      s.last_activity_ms = now_ms;
      if (s.gateway) {
        OnGatewayRecv(slot, side, buffer_id, static_cast<uint32_t>(cqe.res), now_ms);
      } else {
        Enqueue(slot, side, buffer_id, static_cast<uint32_t>(cqe.res));
      }
    } else {
      if (s.state == State::kRefusing && !s.refusal_sent && cqe.res > 0) {
        FeedStartup(slot, buffers_->Data(buffer_id), static_cast<uint32_t>(cqe.res));
      }
      buffers_->Release(buffer_id);  // refusing or closing: input is discarded
    }
  }
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    flow.recv_armed = false;
    OnRecvEnded(slot, side, cqe.res);
    OpDone(slot);
  }
}

void Relay::OnRecvEnded(uint32_t slot, uint8_t side, int32_t res) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (s.state == State::kRefusing) {
    if (side == kDown) {
      return;  // a drained gateway session's backend: only the client's hang-up matters now
    }
    if (ClassifyResult(res) == IoError::kCanceled) {
      ArmRecv(slot, kUp);  // the drain stopped this read; lingering reads until the hang-up
      return;
    }
    if (res > 0 || ClassifyResult(res) == IoError::kNoBuffers) {
      return;  // the linger deadline closes it if the client never hangs up
    }
    BeginClose(slot, s.reason);
    return;
  }
  if (s.state != State::kRelaying) {
    return;
  }
  if (res == 0) {
    if (s.gateway && !GatewayOf(slot)->forwarding()) {
      if (side == kDown && GatewayOf(slot)->end() == session::EndReason::kNone) {
        // The database hung up during start-up: the client is told, then the session drains.
        GatewayOf(slot)->OnBackendClosed();
        PumpGateway(slot);
        return;
      }
      // The client hung up during start-up: there is nothing to pass on.
      GatewayOf(slot)->Abandon();
      BeginClose(slot, side == kUp ? CloseReason::kClientEof : CloseReason::kBackendEof);
      return;
    }
    flow.source_eof = true;
    MaybeFinish(slot, side);
    return;
  }
  switch (ClassifyResult(res)) {
    case IoError::kNone:  // ended after data (e.g. raced with a pause): resume if wanted
    case IoError::kCanceled:
    case IoError::kRetry:
      MaybeResume(slot, side);
      return;
    case IoError::kNoBuffers:
      // Flow control, not an error: park until buffers come back (AfterBatch). A parked flow
      // holds the session open like an operation in flight.
      ++stats_->recv_enobufs;
      flow.parked = true;
      ++s.ops_in_flight;
      parked_.push_back(Parked{slot, s.generation, side});
      return;
    case IoError::kBug:
    case IoError::kOutOfFiles:
      JG_LOG(kError, "event=recv_failed shard=%u session=%lu side=%s error=%s", shard_index_, s.id,
             side == kUp ? "client" : "backend", ringio::ErrnoName(-res));
      BeginClose(slot, CloseReason::kInternal);
      return;
    default:
      BeginClose(slot, side == kUp ? CloseReason::kClientReset : CloseReason::kBackendReset);
      return;
  }
}

void Relay::Enqueue(uint32_t slot, uint8_t side, uint16_t buffer_id, uint32_t length) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  buffer_meta_[buffer_id] = BufferMeta{length, kNoBuffer};
  if (flow.tail == kNoBuffer) {
    flow.head = buffer_id;
  } else {
    buffer_meta_[flow.tail].next = buffer_id;
  }
  flow.tail = buffer_id;
  ++flow.queued;
  flow.bytes += length;
  if (flow.queued >= pause_threshold_) {
    PauseSource(slot, side);
  }
  if (!flow.send_in_flight) {
    StartSend(slot, side);
  }
}

void Relay::PauseSource(uint32_t slot, uint8_t side) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (!flow.recv_armed || flow.recv_pausing) {
    return;
  }
  // The destination is not keeping up: stop reading the source until it drains.
  flow.recv_pausing = true;
  ++stats_->backpressure_pauses;
  ring_->Cancel(MakeTag(kOpRecv, slot, side), MakeTag(kOpCancel, slot, side));
  ++s.ops_in_flight;
  WatchSource(slot, side);
}

void Relay::WatchSource(uint32_t slot, uint8_t side) {
  // While a source is not read, nothing would notice it reset: a client that vanishes while
  // its backend is stuck would hold both sockets until the idle timeout. A poll reports the
  // error (POLLERR/POLLHUP are always reported) without consuming any data.
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (flow.watch_armed) {
    return;  // one watch per direction; it stays armed across pauses until it fires
  }
  flow.watch_armed = true;
  ring_->PollAdd(SourceFd(s, side), POLLERR | POLLHUP, MakeTag(kOpWatch, slot, side));
  ++s.ops_in_flight;
}

void Relay::OnWatch(uint32_t slot, uint8_t side, int32_t res) {
  Session& s = sessions_[slot];
  s.flows[side].watch_armed = false;
  if (s.state != State::kRelaying || res <= 0) {
    return;  // canceled at teardown
  }
  int error = 0;
  socklen_t length = sizeof(error);
  (void)getsockopt(SourceFd(s, side), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0 || (res & POLLERR)) {
    JG_LOG(kInfo, "event=source_reset_while_paused shard=%u session=%lu side=%s error=%s",
           shard_index_, s.id, side == kUp ? "client" : "backend", ringio::ErrnoName(error));
    BeginClose(slot, side == kUp ? CloseReason::kClientReset : CloseReason::kBackendReset);
  }
  // A hang-up without an error (both directions shut down) leaves data to read: the recv,
  // once resumed, delivers it and the EOF.
}

void Relay::PopHead(Flow* flow) {
  JG_DCHECK(flow->queued > 0 && flow->head != kNoBuffer);
  const uint16_t bid = flow->head;
  flow->head = buffer_meta_[bid].next;
  if (flow->head == kNoBuffer) {
    flow->tail = kNoBuffer;
  }
  flow->head_offset = 0;
  --flow->queued;
  buffers_->Release(bid);
}

void Relay::MaybeResume(uint32_t slot, uint8_t side) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (s.state == State::kRelaying && !flow.recv_armed && !flow.source_eof && !flow.parked &&
      flow.queued <= pause_threshold_ / 2 && SourceFd(s, side) >= 0 &&
      !(s.gateway && (OwnedQueueFull(slot, side) || (side == kDown && !s.backend_connected) ||
                      (side == kUp && GatewayOf(slot)->audit_held_bytes() > kAuditHoldPauseBytes)))) {
    ArmRecv(slot, side);
  }
}

void Relay::StartSend(uint32_t slot, uint8_t side) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (s.gateway) {
    // Owned bytes queued before any buffer go first; buffers then owned bytes otherwise.
    session::ByteQueue* owned = OwnedQueue(slot, side);
    if (!owned->empty() && (flow.owned_older || flow.queued == 0)) {
      StartOwnedSend(slot, side);
      return;
    }
    flow.owned_older = false;
  }
  JG_DCHECK(!flow.send_in_flight && flow.queued > 0);
  uint32_t count = 0;
  size_t bytes = 0;
  for (uint16_t bid = flow.head; bid != kNoBuffer && count < kIovMax;
       bid = buffer_meta_[bid].next, ++count) {
    const uint32_t skip = count == 0 ? flow.head_offset : 0;
    flow.iov[count].iov_base = buffers_->Data(bid) + skip;
    flow.iov[count].iov_len = buffer_meta_[bid].length - skip;
    bytes += buffer_meta_[bid].length - skip;
  }
  flow.message = msghdr{};
  flow.message.msg_iov = flow.iov.data();
  flow.message.msg_iovlen = count;
  flow.send_in_flight = true;
  const Tag tag = MakeTag(kOpSend, slot, side);
  if (send_zc_min_bytes_ != 0 && bytes >= send_zc_min_bytes_) {
    ++stats_->zc_sends;
    ring_->SendMsgZc(DestinationFd(s, side), &flow.message, tag);
  } else if (count == 1) {
    ring_->Send(DestinationFd(s, side), flow.iov[0].iov_base,
                static_cast<uint32_t>(flow.iov[0].iov_len), tag);
  } else {
    ring_->SendMsg(DestinationFd(s, side), &flow.message, tag);
  }
  ++s.ops_in_flight;
}

void Relay::OnSend(uint32_t slot, uint8_t side, const io_uring_cqe& cqe) {
  Flow& flow = sessions_[slot].flows[side];
  if (cqe.flags & IORING_CQE_F_NOTIF) {
    // Zero-copy: the kernel no longer references the buffers; act on the result seen earlier.
    flow.zc_waiting = false;
    OnSendResult(slot, side, flow.zc_result);
    OpDone(slot);
    return;
  }
  if (cqe.flags & IORING_CQE_F_MORE) {
    flow.zc_waiting = true;  // a notification follows; buffers stay untouched until then
    flow.zc_result = cqe.res;
    return;
  }
  OnSendResult(slot, side, cqe.res);
  OpDone(slot);
}

void Relay::OnSendResult(uint32_t slot, uint8_t side, int32_t res) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  flow.send_in_flight = false;
  const bool owned_send = std::exchange(flow.owned_send, false);
  if (s.state != State::kRelaying && s.state != State::kDraining) {
    return;
  }
  if (res < 0) {
    if (ClassifyResult(res) == IoError::kRetry) {
      StartSend(slot, side);
      return;
    }
    BeginClose(slot, side == kUp ? CloseReason::kBackendReset : CloseReason::kClientReset);
    return;
  }
  uint32_t sent = static_cast<uint32_t>(res);
  if (owned_send) {
    OwnedQueue(slot, side)->Consume(sent);
    if (OwnedQueue(slot, side)->empty()) {
      flow.owned_older = false;
    }
    sent = 0;
  }
  while (sent > 0) {
    JG_CHECK(flow.queued > 0);
    const uint32_t remaining = buffer_meta_[flow.head].length - flow.head_offset;
    if (sent < remaining) {
      flow.head_offset += sent;  // a short send: the rest goes next
      break;
    }
    sent -= remaining;
    PopHead(&flow);
  }
  if (flow.queued > 0 || (s.gateway && !OwnedQueue(slot, side)->empty())) {
    StartSend(slot, side);
  } else {
    MaybeFinish(slot, side);
  }
  if (s.state == State::kDraining) {
    MaybeFinishDrain(slot);
    return;
  }
  if (!flow.recv_armed) {
    MaybeResume(slot, side);
  }
}

void Relay::MaybeFinish(uint32_t slot, uint8_t side) {
  Session& s = sessions_[slot];
  Flow& flow = s.flows[side];
  if (!flow.source_eof || flow.queued > 0 || flow.send_in_flight || flow.destination_shut ||
      (s.gateway && !OwnedQueue(slot, side)->empty())) {
    return;
  }
  // Half-close: pass the EOF on, keep relaying the other direction.
  flow.destination_shut = true;
  ring_->Shutdown(DestinationFd(s, side), SHUT_WR, MakeTag(kOpShutdown, slot, side));
  ++s.ops_in_flight;
  const Flow& other = s.flows[side ^ 1];
  if (other.destination_shut) {
    // Both directions ended; whoever hung up first names the reason.
    BeginClose(slot, s.reason != CloseReason::kNone ? s.reason
                     : side == kUp                  ? CloseReason::kBackendEof
                                                    : CloseReason::kClientEof);
  } else {
    s.reason = side == kUp ? CloseReason::kClientEof : CloseReason::kBackendEof;
  }
}

void Relay::OnCompletion(Tag tag, const io_uring_cqe& cqe, int64_t now_ms) {
  now_ms_ = now_ms;
  const uint32_t slot = tag.slot;
  if (slot >= sessions_.size() || sessions_[slot].generation != tag.generation ||
      sessions_[slot].state == State::kFree) [[unlikely]] {
    // A completion for an earlier occupant of the slot: our accounting is wrong somewhere.
    ++stats_->stale_completions;
    JG_LOG(kError, "event=stale_completion shard=%u op=%u slot=%u generation=%u", shard_index_,
           tag.op, slot, tag.generation);
    return;
  }
  const uint8_t side = tag.side & 1;
  switch (tag.op) {
    case kOpConnect:
      OnConnect(slot, cqe.res);
      OpDone(slot);
      break;
    case kOpRecv:
      OnRecv(slot, side, cqe, now_ms);
      break;
    case kOpSend:
      OnSend(slot, side, cqe);
      break;
    case kOpRefuseSend:
      OnRefuseSent(slot, tag.side, cqe.res);
      OpDone(slot);
      break;
    case kOpWatch:
      OnWatch(slot, side, cqe.res);
      OpDone(slot);
      break;
    case kOpConnectTimeout:  // -ETIME fired (the connect gets -ECANCELED) or -ECANCELED
    case kOpShutdown:        // errors: the peer is already gone; its recv reports it
    case kOpCancel:          // -ENOENT / -EALREADY: the target had already completed
      OpDone(slot);
      break;
    default:
      JG_CHECK(false && "unknown session op");
  }
#ifndef NDEBUG
  AssertInvariants(sessions_[slot]);
#endif
}

void Relay::BeginClose(uint32_t slot, CloseReason reason) {
  Session& s = sessions_[slot];
  if (s.state == State::kClosing || s.state == State::kFree) {
    return;
  }
  s.state = State::kClosing;
  s.reason = reason;
  if (s.gateway) {
    GatewayOf(slot)->Abandon();  // its cancel key stops working now
  }
  uint32_t unparked = 0;
  for (Flow& flow : s.flows) {
    if (flow.parked) {
      flow.parked = false;  // AfterBatch skips entries whose flow is no longer parked
      ++unparked;
    }
  }
  if (s.ops_in_flight > unparked) {
    for (int fd : {s.client_fd, s.backend_fd}) {
      if (fd >= 0) {
        ring_->CancelFd(fd, MakeTag(kOpCancel, slot));
        ++s.ops_in_flight;
      }
    }
  }
  for (; unparked > 0; --unparked) {
    OpDone(slot);
  }
}

void Relay::OpDone(uint32_t slot) {
  Session& s = sessions_[slot];
  JG_CHECK(s.ops_in_flight > 0);
  --s.ops_in_flight;
  if (s.ops_in_flight == 0) {
    if (s.state != State::kClosing) {
      // Nothing is pending and nothing will wake this session again: it is finished.
      s.state = State::kClosing;
      if (s.reason == CloseReason::kNone) {
        s.reason = CloseReason::kInternal;
      }
    }
    FreeSlot(slot);
  }
}

void Relay::FreeSlot(uint32_t slot) {
  Session& s = sessions_[slot];
  JG_CHECK(s.state == State::kClosing && s.ops_in_flight == 0);
  for (Flow& flow : s.flows) {
    while (flow.queued > 0) {
      PopHead(&flow);
    }
  }
  if (!s.counted) {
    ++stats_->sessions_refused;
  } else {
    --open_count_;
    ++stats_->sessions_closed;
    stats_->bytes_up += s.flows[kUp].bytes;
    stats_->bytes_down += s.flows[kDown].bytes;
    const LogLevel level = s.reason == CloseReason::kInternal ? LogLevel::kError : LogLevel::kInfo;
    if (LogEnabled(level)) {
      if (s.gateway && gateways_[slot] != nullptr) {
        gateways_[slot]->AuditClose(CloseReasonName(s.reason), s.flows[kUp].bytes,
                                    s.flows[kDown].bytes);
      }
      LogLine(level,
              "event=session_close shard=%u session=%lu listener=%s client=%s reason=%s "
              "bytes_up=%lu bytes_down=%lu duration_ms=%ld",
              shard_index_, s.id, ListenerOf(s).name.c_str(), s.client_text.data(),
              CloseReasonName(s.reason), s.flows[kUp].bytes, s.flows[kDown].bytes,
              now_ms_ - s.opened_ms);
    }
  }
  if (s.client_fd >= 0) {
    close(s.client_fd);
  }
  if (s.backend_fd >= 0) {
    close(s.backend_fd);
  }
  s.client_fd = -1;
  s.backend_fd = -1;
  s.state = State::kFree;
  // Swap-remove from the dense list of live slots.
  const uint32_t moved = active_slots_.back();
  active_slots_[s.active_index] = moved;
  sessions_[moved].active_index = s.active_index;
  active_slots_.pop_back();
  free_slots_.push_back(slot);
}

void Relay::AfterBatch() {
  if (audit_ != nullptr) {
    audit_->Pump();
  }
  buffers_->Publish();
  if (parked_.empty() || buffers_->in_kernel() == 0) {
    return;
  }
  // Buffers are back: resume the flows that ran dry, oldest first.
  for (const Parked& parked : parked_) {
    Session& s = sessions_[parked.slot];
    if (s.generation != parked.generation || !s.flows[parked.side].parked) {
      continue;  // closed meanwhile (BeginClose already unparked it)
    }
    s.flows[parked.side].parked = false;
    MaybeResume(parked.slot, parked.side);
    OpDone(parked.slot);
  }
  parked_.clear();
}

void Relay::OnAuditProgress() {
  if (audit_ == nullptr) {
    return;
  }
  audit_->Pump();
  // Backwards with swap-remove: a released session leaves the list.
  for (size_t i = audit_waiting_.size(); i-- > 0;) {
    const uint32_t slot = audit_waiting_[i];
    Session& s = sessions_[slot];
    session::PgSession* gateway = s.gateway ? gateways_[slot].get() : nullptr;
    if (gateway == nullptr || s.state != State::kRelaying || !gateway->audit_waiting() ||
        gateway->OnAuditProgress()) {
      audit_waiting_[i] = audit_waiting_.back();
      audit_waiting_.pop_back();
      if (gateway != nullptr && (s.state == State::kRelaying || s.state == State::kDraining)) {
        PumpGateway(slot);
        MaybeResume(slot, kUp);
      }
    }
  }
}

void Relay::FlushAudit(int64_t wait_ms) {
  if (audit_ == nullptr) {
    return;
  }
  for (int64_t waited = 0; audit_->backlog_size() > 0 && waited < wait_ms; ++waited) {
    audit_->Pump();
    if (audit_->backlog_size() > 0) {
      usleep(1000);
    }
  }
  if (audit_->backlog_size() > 0) {
    JG_LOG(kError, "event=audit_backlog_lost shard=%u records=%zu", shard_index_,
           audit_->backlog_size());
  }
  audit_->Pump();
}

void Relay::CheckTimers(int64_t now_ms) {
  now_ms_ = now_ms;
  OnAuditProgress();
  // Backwards: closing a session may swap-remove it, moving an already visited one into its place.
  for (size_t i = active_slots_.size(); i-- > 0;) {
    const uint32_t slot = active_slots_[i];
    Session& s = sessions_[slot];
    switch (s.state) {
      case State::kRelaying:
      case State::kConnecting:
        if (s.gateway) {
          GatewayOf(slot)->OnTimer(now_ms);
          PumpGateway(slot);
          if (s.state != State::kRelaying) {
            break;
          }
        }
        if (idle_timeout_ms_ > 0 && now_ms - s.last_activity_ms >= idle_timeout_ms_) {
          JG_LOG(kInfo, "event=idle_timeout shard=%u session=%lu idle_ms=%ld", shard_index_, s.id,
                 now_ms - s.last_activity_ms);
          BeginClose(slot, CloseReason::kIdleTimeout);
        }
        break;
      case State::kRefusing:
      case State::kDraining:
        if (now_ms >= s.deadline_ms) {
          BeginClose(slot, s.reason);
        }
        break;
      case State::kFree:
      case State::kClosing:
        break;
    }
  }
}

void Relay::CloseAll(CloseReason reason) {
  for (size_t i = active_slots_.size(); i-- > 0;) {
    BeginClose(active_slots_[i], reason);
  }
}

void Relay::AssertInvariants(const Session& s) const {
  for (const Flow& flow : s.flows) {
    JG_CHECK(flow.queued <= buffers_->count());
    JG_CHECK((flow.queued == 0) == (flow.head == kNoBuffer));
    JG_CHECK(!flow.send_in_flight || flow.queued > 0 || flow.owned_send);
  }
}

}  // namespace jitgate::shard
