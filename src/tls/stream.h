// src/tls/stream.h: one TLS connection as a sans-I/O byte pump (OpenSSL 3.0 over a BIO pair).
//
// Owned by one session on one shard thread; never shared. OpenSSL never sees a socket: the shard
// hands ciphertext it received (io_uring provided buffers) to Feed(), and copies ciphertext to send
// out with TakeOutput() into its own send buffers. Plaintext moves with Read() and Write().
// kTLS cannot be used this way (PROTOCOLS.md 7.8); see ktls.h for the run-time probe.
//
// Buffering: a BIO pair (BIO_new_bio_pair) with a fixed buffer each way, `bio_buffer_size` bytes
// (64 KiB by default). We chose a pair over two memory BIOs because a pair is bounded by
// construction: Feed() accepts only what fits in the inbound half, and OpenSSL's writes stop (the
// SSL call returns WANT_WRITE) when the outbound half is full, so neither direction can grow
// without bound however far the peer or the caller falls behind. Memory per stream is therefore
// 2 * bio_buffer_size plus OpenSSL's own record buffers (about 2 * 17 KiB) and the SSL object.
//
// Invariant: PendingOutput() + free outbound space == bio_buffer_size, and the same inbound (the
// ciphertext Feed() accepted but OpenSSL has not consumed, plus free space == bio_buffer_size).
// Since a record is at most kRecordSizeMax < bio_buffer_size, a whole record always fits, so
// feeding and reading in turn always makes progress.
//
// Driving a stream (the caller's loop, after every call below):
//   - send PendingOutput() bytes (TakeOutput) to the peer: handshake records, data, alerts;
//   - when Feed() accepted less than offered, Read() plaintext out, then feed the rest again.
// Every call leaves OpenSSL's thread-local error queue empty.
#ifndef JITGATE_SRC_TLS_STREAM_H_
#define JITGATE_SRC_TLS_STREAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/tls/context.h"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace jitgate::tls {

// Largest TLS record on the wire: 5-byte header + 2^14 plaintext + 2048 expansion (RFC 8446
// 5.2 allows 256, TLS 1.2 allows 2048). A BIO half must hold at least one.
inline constexpr size_t kRecordSizeMax = 5 + 16384 + 2048;
// Default size of each half of the BIO pair; why 64 KiB: four full records in flight per
// direction, enough to keep a 10 GbE send busy between completions, and bounded.
inline constexpr size_t kBioBufferSizeDefault = 64 * 1024;
static_assert(kBioBufferSizeDefault > kRecordSizeMax);

// Result of Handshake() and Shutdown().
enum class Progress : uint8_t {
  kDone,    // Finished.
  kWantIo,  // Feed more ciphertext and/or send PendingOutput(), then call again.
  kFailed,  // Fatal; error() says why. Send PendingOutput() (it may hold an alert), then close.
};

enum class IoStatus : uint8_t {
  kOk,      // `bytes` > 0 were moved.
  kWantIo,  // Nothing to move now: feed more ciphertext or send PendingOutput(), then retry.
  kClosed,  // The peer sent close_notify (Read only): no more plaintext will come.
  kFailed,  // Fatal; error() says why.
};

struct ReadResult {
  size_t bytes = 0;
  IoStatus status = IoStatus::kWantIo;
};

struct WriteResult {
  size_t bytes = 0;
  IoStatus status = IoStatus::kWantIo;
};

// The RFC 5929 tls-server-end-point channel binding value (a digest, at most 64 bytes).
struct EndPoint {
  std::array<std::byte, 64> digest{};
  size_t size = 0;
  std::span<const std::byte> view() const { return std::span(digest).first(size); }
};

class Stream {
 public:
  Stream() = default;
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Creates the SSL object and the BIO pair. `role` must equal ctx.role(). Client role:
  // `server_name` is sent as SNI (unless it is an IP address, RFC 6066 section 3) and, for
  // kVerifyFull, must match the certificate (DNS name via SSL_set1_host, IP address literal via
  // X509_VERIFY_PARAM_set1_ip_asc); kVerifyFull with an empty name is an error. Server role:
  // `server_name` is ignored. Call once (again only after an error, which leaves the stream
  // uninitialised); `bio_buffer_size` must be above kRecordSizeMax.
  absl::Status Init(const Context& ctx, Role role, std::string_view server_name,
                    size_t bio_buffer_size = kBioBufferSizeDefault);

  // Ciphertext from the peer. Returns how many leading bytes were accepted (possibly 0 when the
  // inbound buffer is full); the caller feeds the rest again after Read() made room.
  size_t Feed(std::span<const std::byte> ciphertext);

  // The peer closed TCP: no more ciphertext. A later Read() without close_notify fails
  // ("unexpected eof while reading"), which is how truncation attacks are told from a clean close.
  void FeedEof();

  // Advances the handshake. Read() and Write() also complete it implicitly, but sessions call
  // this until kDone to learn version(), alpn() and the peer certificate before any data.
  Progress Handshake();

  // Plaintext from the peer into `out`.
  ReadResult Read(std::span<std::byte> out);

  // Encrypts up to plaintext.size() bytes. Accepts fewer (possibly 0, status kWantIo) when the
  // outbound buffer is full: take output, then call again with the bytes not accepted. The
  // next call must start with exactly those bytes (OpenSSL may hold one encrypted record of
  // them); it may come from a different address.
  WriteResult Write(std::span<const std::byte> plaintext);

  // Ciphertext waiting to be sent to the peer.
  size_t PendingOutput() const;

  // Moves up to out.size() bytes of pending ciphertext into `out`; returns how many.
  size_t TakeOutput(std::span<std::byte> out);

  // Queues close_notify (RFC 8446 6.1). kWantIo when the outbound buffer is full (take output and
  // call again); kDone once queued, or when there is nothing to close (handshake not finished).
  Progress Shutdown();

  // After the handshake: "TLSv1.2"/"TLSv1.3", OpenSSL's cipher name ("TLS_AES_256_GCM_SHA384",
  // "ECDHE-RSA-AES256-GCM-SHA384"), the ALPN protocol ("" when none was selected). The views
  // stay valid while the stream lives.
  std::string_view version() const;
  std::string_view cipher() const;
  std::string_view alpn() const ABSL_ATTRIBUTE_LIFETIME_BOUND;

  // RFC 5929 tls-server-end-point for SCRAM-SHA-256-PLUS: the digest of the server's certificate
  // (the peer's in the client role, our own in the server role) with the certificate's signature
  // hash, SHA-256 when that is MD5 or SHA-1. Fails when the hash is undefined (e.g. Ed25519) or
  // there is no certificate yet.
  absl::StatusOr<EndPoint> tls_server_end_point() const;

  // Text of the first fatal error, e.g. "tls: handshake failed: certificate verify failed
  // (hostname mismatch)"; empty while none.
  const std::string& error() const { return error_; }

  bool handshake_done() const;
  Role role() const { return role_; }

  // JG_CHECKs the invariant in the file comment plus write_pending_size_ <= one record and
  // failed_ == !error().empty(). For tests and debug builds.
  void AssertInvariants() const;

 private:
  // Maps an SSL_* call's result; records error_ on a fatal one. `action` names the operation in
  // the error text ("handshake", "read", "write", "shutdown").
  IoStatus Classify(int ssl_result, const char* action);
  void Fail(const char* action, const std::string& reason);
  // Client role: SNI and host name checks for `name` (see Init).
  absl::Status ConfigureClient(const Context& ctx, const std::string& name);
  // Frees the SSL object and the pair; the stream is then as if default-constructed.
  void Reset();

  SSL* ssl_ = nullptr;             // Owns the internal BIO half.
  BIO* network_bio_ = nullptr;     // Owned; our end of the pair.
  size_t write_pending_size_ = 0;  // Bytes of a Write() OpenSSL holds encrypted, 0 when none.
  size_t bio_buffer_size_ = 0;     // Each half of the pair.
  Role role_ = Role::kServer;
  bool shutdown_sent_ = false;  // close_notify handed to OpenSSL.
  bool failed_ = false;
  std::string error_;
};

}  // namespace jitgate::tls

#endif  // JITGATE_SRC_TLS_STREAM_H_
