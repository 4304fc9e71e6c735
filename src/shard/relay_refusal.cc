// src/shard/relay_refusal.cc: how the relay refuses a client it cannot serve (backend down,
// connect timeout, session limit): a protocol error the client's driver prints, sent the way the
// protocol allows. PostgreSQL clients speak first, so the error waits for their StartupMessage
// (SSLRequest / GSSENCRequest are answered 'N'; libpq 15.9+ ignores errors sent in answer to
// SSLRequest); MySQL clients get the ERR packet in place of the handshake. The session then
// half-closes and lingers until the client hangs up (or kRefusalLingerMs), so the client reads the
// error instead of a reset.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "jitgate/check.h"
#include "jitgate/parsers/pg/startup.h"
#include "src/shard/refusal.h"
#include "src/shard/relay.h"

namespace jitgate::shard {
namespace {

// How long a refused client gets to read its error and hang up before we close.
constexpr int64_t kRefusalLingerMs = 2000;
// The answer to SSLRequest / GSSENCRequest meaning "not supported here, go on in plain text".
constexpr char kNoEncryption = 'N';

}  // namespace

void Relay::Refuse(uint32_t slot, CloseReason reason, const char* detail, int64_t now_ms) {
  Session& s = sessions_[slot];
  if (s.backend_fd >= 0) {
    close(s.backend_fd);  // no operation is left on it: the connect has completed
    s.backend_fd = -1;
  }
  s.state = State::kRefusing;
  s.reason = reason;
  s.deadline_ms = now_ms + kRefusalLingerMs;
  s.refusal_length = static_cast<uint16_t>(
      EncodeRefusal(ListenerOf(s).protocol, reason, detail, std::span(s.refusal)));
  JG_CHECK(s.refusal_length > 0);
  if (ListenerOf(s).protocol == config::Protocol::kPostgres) {
    // The client speaks first; the error goes out once its StartupMessage has arrived.
    if (!s.flows[kUp].recv_armed) {
      ArmRecv(slot, kUp);
    }
    return;
  }
  SendRefusal(slot);  // MySQL: the server speaks first; the ERR replaces the handshake
}

void Relay::SendRefusal(uint32_t slot) {
  Session& s = sessions_[slot];
  s.refusal_sent = true;
  ring_->Send(s.client_fd, s.refusal.data(), s.refusal_length, MakeTag(kOpRefuseSend, slot));
  ++s.ops_in_flight;
}

void Relay::FeedStartup(uint32_t slot, const std::byte* data, uint32_t size) {
  namespace pg = parsers::pg;
  Session& s = sessions_[slot];
  while (size > 0 && !s.refusal_sent && s.state == State::kRefusing) {
    const uint32_t take = std::min<uint32_t>(size, pg::kStartupHeaderSize - s.startup_have);
    std::memcpy(s.startup_header.data() + s.startup_have, data, take);
    s.startup_have = static_cast<uint8_t>(s.startup_have + take);
    data += take;
    size -= take;
    if (s.startup_have < pg::kStartupHeaderSize) {
      return;
    }
    s.startup_have = 0;
    switch (pg::DecodeStartupHeader(s.startup_header).kind) {
      case pg::StartupKind::kSslRequest:
      case pg::StartupKind::kGssEncRequest:
        ring_->Send(s.client_fd, &kNoEncryption, 1, MakeTag(kOpRefuseSend, slot, 1));
        ++s.ops_in_flight;
        break;
      case pg::StartupKind::kCancelRequest:
        BeginClose(slot, s.reason);  // nothing to cancel: there is no backend
        return;
      case pg::StartupKind::kNeedMore:
      case pg::StartupKind::kStartupMessage:
      case pg::StartupKind::kInvalid:
        SendRefusal(slot);  // the rest of the packet is read and discarded
        return;
    }
  }
}

void Relay::OnRefuseSent(uint32_t slot, uint8_t side, int32_t res) {
  Session& s = sessions_[slot];
  if (s.state != State::kRefusing) {
    return;
  }
  if (res < 0) {
    BeginClose(slot, s.reason);
    return;
  }
  if (side == 1) {
    return;  // the 'N': now the client sends its StartupMessage
  }
  // Half-close and read until the client hangs up, so it reads the error instead of a reset
  // (closing a socket with unread input sends RST, which can discard our message).
  ring_->Shutdown(s.client_fd, SHUT_WR, MakeTag(kOpShutdown, slot, kDown));
  ++s.ops_in_flight;
  if (!s.flows[kUp].recv_armed) {
    ArmRecv(slot, kUp);
  }
}

}  // namespace jitgate::shard
