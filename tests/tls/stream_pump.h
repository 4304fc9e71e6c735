// tests/tls/stream_pump.h: test helper that connects a client and a server tls::Stream in memory.
//
// Ciphertext taken from one stream (TakeOutput) is queued and fed into the other (Feed), honouring
// Feed's partial acceptance; `feed_chunk_size` limits each Feed call (1 = byte at a time). Usable
// by any test that needs a TLS pair (link tls_test_certs_dep).
#ifndef JITGATE_TESTS_TLS_STREAM_PUMP_H_
#define JITGATE_TESTS_TLS_STREAM_PUMP_H_

#include <algorithm>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "src/tls/stream.h"

namespace jitgate::tls::testing {

struct StreamPair {
  Stream client;
  Stream server;
  std::vector<std::byte> to_server;  // Ciphertext taken from client, not yet fed to server.
  std::vector<std::byte> to_client;
  size_t feed_chunk_size = std::numeric_limits<size_t>::max();
  // With one_feed_per_pump, Pump() makes at most one Feed call per direction.
  bool one_feed_per_pump = false;

  // Moves ciphertext both ways as far as the receivers accept it.
  void Pump() {
    Move(client, to_server, server);
    Move(server, to_client, client);
    client.AssertInvariants();
    server.AssertInvariants();
  }

  bool WireEmpty() const {
    return to_server.empty() && to_client.empty() && client.PendingOutput() == 0 &&
           server.PendingOutput() == 0;
  }

  // Runs both handshakes until both are done or either failed (then pumps once more so the alert
  // reaches the peer). Returns true when both finished.
  bool Handshake(int round_count_max = 100000) {
    for (int round = 0; round < round_count_max; ++round) {
      const Progress client_progress = client.Handshake();
      const Progress server_progress = server.Handshake();
      Pump();
      if (client_progress == Progress::kFailed || server_progress == Progress::kFailed) {
        client.Handshake();
        server.Handshake();
        Pump();
        server.Handshake();
        client.Handshake();
        return false;
      }
      if (client_progress == Progress::kDone && server_progress == Progress::kDone && WireEmpty()) {
        return true;
      }
    }
    return false;
  }

  // Sends `data` from `sender` to `receiver` (either of client/server) and returns what the
  // receiver read. Stops early on a failure or after round_count_max rounds.
  std::vector<std::byte> Transfer(Stream& sender, Stream& receiver, std::span<const std::byte> data,
                                  size_t round_count_max = 10000000) {
    std::vector<std::byte> received;
    size_t sent = 0;
    std::vector<std::byte> buffer(16384);
    for (size_t round = 0; round < round_count_max; ++round) {
      if (sent < data.size()) {
        const WriteResult result = sender.Write(data.subspan(sent));
        if (result.status == IoStatus::kFailed) {
          break;
        }
        sent += result.bytes;
      }
      Pump();
      for (;;) {
        const ReadResult result = receiver.Read(buffer);
        if (result.status != IoStatus::kOk) {
          break;
        }
        received.insert(received.end(), buffer.begin(), buffer.begin() + result.bytes);
      }
      if (sent == data.size() && received.size() >= data.size()) {
        break;
      }
    }
    return received;
  }

 private:
  void Move(Stream& from, std::vector<std::byte>& wire, Stream& to) {
    std::byte chunk[16384];
    for (;;) {
      const size_t taken = from.TakeOutput(chunk);
      if (taken == 0) {
        break;
      }
      wire.insert(wire.end(), chunk, chunk + taken);
    }
    size_t offset = 0;
    while (offset < wire.size()) {
      const size_t size = std::min(feed_chunk_size, wire.size() - offset);
      const size_t accepted = to.Feed(std::span(wire).subspan(offset, size));
      offset += accepted;
      if (accepted < size || one_feed_per_pump) {
        break;
      }
    }
    wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(offset));
  }
};

}  // namespace jitgate::tls::testing

#endif  // JITGATE_TESTS_TLS_STREAM_PUMP_H_
