// src/tls/stream.cc: one TLS connection over a BIO pair (see stream.h).
#include "src/tls/stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jitgate/check.h"
#include "src/tls/openssl_errors.h"

namespace jitgate::tls {
namespace {

// Plaintext per record (RFC 8446 5.1, RFC 5246 6.2.1).
constexpr size_t kRecordPlaintextMax = 16384;
// Most a record adds to its plaintext; Write() only starts a record when this much more than the
// plaintext is free in the outbound buffer, so OpenSSL's write normally completes in one go.
constexpr size_t kRecordExpansionMax = kRecordSizeMax - kRecordPlaintextMax;
static_assert(kRecordExpansionMax >= 5 + 256);
// Longest DNS name (RFC 1035 2.3.4); IP literals are shorter.
constexpr size_t kServerNameSizeMax = 253;

bool IsIpAddress(const std::string& name) {
  unsigned char address[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

int ClampToInt(size_t size) { return static_cast<int>(std::min<size_t>(size, INT_MAX)); }

}  // namespace

Stream::~Stream() { Reset(); }

Stream::Stream(Stream&& other) noexcept { *this = std::move(other); }

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    Reset();
    ssl_ = std::exchange(other.ssl_, nullptr);
    network_bio_ = std::exchange(other.network_bio_, nullptr);
    write_pending_size_ = std::exchange(other.write_pending_size_, 0);
    bio_buffer_size_ = std::exchange(other.bio_buffer_size_, 0);
    shutdown_sent_ = std::exchange(other.shutdown_sent_, false);
    role_ = other.role_;
    failed_ = std::exchange(other.failed_, false);
    error_ = std::move(other.error_);
    other.error_.clear();
  }
  return *this;
}

void Stream::Reset() {
  internal::ErrorQueueGuard guard;
  SSL_free(ssl_);  // Frees the internal half of the pair too (nullptr is a no-op).
  BIO_free(network_bio_);
  ssl_ = nullptr;
  network_bio_ = nullptr;
  write_pending_size_ = 0;
  bio_buffer_size_ = 0;
  shutdown_sent_ = false;
  failed_ = false;
  error_.clear();
}

absl::Status Stream::Init(const Context& ctx, Role role, std::string_view server_name,
                          size_t bio_buffer_size) {
  internal::ErrorQueueGuard guard;
  JG_CHECK(ssl_ == nullptr);  // Init once.
  if (role != ctx.role()) {
    return absl::InvalidArgumentError("tls: stream role does not match its context");
  }
  if (bio_buffer_size <= kRecordSizeMax || bio_buffer_size > INT_MAX) {
    return absl::InvalidArgumentError("tls: bio_buffer_size must hold a whole record");
  }
  if (server_name.size() > kServerNameSizeMax) {
    return absl::InvalidArgumentError("tls: server name longer than 253 bytes");
  }
  SSL* ssl = SSL_new(ctx.ssl_ctx());
  if (ssl == nullptr) {
    return absl::ResourceExhaustedError("tls: SSL_new failed: " +
                                        internal::DrainErrors("out of memory"));
  }
  BIO* internal_bio = nullptr;
  BIO* network_bio = nullptr;
  if (BIO_new_bio_pair(&internal_bio, bio_buffer_size, &network_bio, bio_buffer_size) != 1) {
    SSL_free(ssl);
    return absl::ResourceExhaustedError("tls: BIO_new_bio_pair failed: " +
                                        internal::DrainErrors("out of memory"));
  }
  SSL_set_bio(ssl, internal_bio, internal_bio);  // One reference, owned by ssl from here.
  ssl_ = ssl;
  network_bio_ = network_bio;
  bio_buffer_size_ = bio_buffer_size;
  role_ = role;

  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
    return absl::OkStatus();
  }
  SSL_set_connect_state(ssl_);
  absl::Status status = ConfigureClient(ctx, std::string(server_name));
  if (!status.ok()) {
    Reset();  // Leaves the stream as before Init, so it can be discarded or initialised again.
  }
  return status;
}

absl::Status Stream::ConfigureClient(const Context& ctx, const std::string& name) {
  const bool is_ip = !name.empty() && IsIpAddress(name);
  // RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
  if (!name.empty() && !is_ip && SSL_set_tlsext_host_name(ssl_, name.c_str()) != 1) {
    return absl::InvalidArgumentError("tls: invalid server name " + name + ": " +
                                      internal::DrainErrors("rejected"));
  }
  if (ctx.verify() == ClientOptions::Verify::kVerifyFull) {
    if (name.empty()) {
      return absl::InvalidArgumentError("tls: verify-full needs a host name or IP address");
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    // "*.example.com" matches one label only, never "foo*.example.com"-style partials.
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                         : SSL_set1_host(ssl_, name.c_str());
    if (ok != 1) {
      return absl::InvalidArgumentError("tls: cannot check host name " + name + ": " +
                                        internal::DrainErrors("rejected"));
    }
  }
  return absl::OkStatus();
}

size_t Stream::Feed(std::span<const std::byte> ciphertext) {
  internal::ErrorQueueGuard guard;
  JG_CHECK(network_bio_ != nullptr);
  const size_t space = BIO_ctrl_get_write_guarantee(network_bio_);
  const size_t size = std::min(space, ciphertext.size());
  if (size == 0) {
    return 0;
  }
  const int written = BIO_write(network_bio_, ciphertext.data(), ClampToInt(size));
  return written > 0 ? static_cast<size_t>(written) : 0;  // <= 0 after FeedEof().
}

void Stream::FeedEof() {
  internal::ErrorQueueGuard guard;
  JG_CHECK(network_bio_ != nullptr);
  BIO_shutdown_wr(network_bio_);
}

Progress Stream::Handshake() {
  internal::ErrorQueueGuard guard;
  JG_CHECK(ssl_ != nullptr);
  if (failed_) {
    return Progress::kFailed;
  }
  if (SSL_is_init_finished(ssl_)) {
    return Progress::kDone;
  }
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    return Progress::kDone;
  }
  switch (Classify(result, "handshake")) {
    case IoStatus::kWantIo:
      return Progress::kWantIo;
    case IoStatus::kClosed:
      Fail("handshake", "peer sent close_notify");
      return Progress::kFailed;
    case IoStatus::kOk:
    case IoStatus::kFailed:
      break;
  }
  return Progress::kFailed;
}

ReadResult Stream::Read(std::span<std::byte> out) {
  internal::ErrorQueueGuard guard;
  JG_CHECK(ssl_ != nullptr);
  if (failed_) {
    return {0, IoStatus::kFailed};
  }
  if (out.empty()) {
    return {0, IoStatus::kOk};
  }
  size_t read_size = 0;
  const int result = SSL_read_ex(ssl_, out.data(), out.size(), &read_size);
  if (result == 1) {
    return {read_size, IoStatus::kOk};
  }
  return {0, Classify(result, "read")};
}

WriteResult Stream::Write(std::span<const std::byte> plaintext) {
  internal::ErrorQueueGuard guard;
  JG_CHECK(ssl_ != nullptr);
  if (failed_) {
    return {0, IoStatus::kFailed};
  }
  if (!SSL_is_init_finished(ssl_)) {
    // Finish the handshake first, so that WANT_WRITE below always means "record held".
    const int result = SSL_do_handshake(ssl_);
    if (result != 1) {
      const IoStatus status = Classify(result, "handshake");
      return {0, status == IoStatus::kWantIo ? IoStatus::kWantIo : IoStatus::kFailed};
    }
  }
  BIO* wbio = SSL_get_wbio(ssl_);
  size_t written_total = 0;
  while (written_total < plaintext.size()) {
    const size_t remaining = plaintext.size() - written_total;
    size_t chunk = 0;
    if (write_pending_size_ > 0) {
      // OpenSSL holds one encrypted record of these bytes; it must be retried with them.
      JG_CHECK(remaining >= write_pending_size_);  // Caller contract, see stream.h.
      chunk = write_pending_size_;
    } else {
      const size_t space = BIO_ctrl_get_write_guarantee(wbio);
      if (space <= kRecordExpansionMax) {
        break;  // Full: the caller takes output first.
      }
      chunk = std::min({remaining, space - kRecordExpansionMax, kRecordPlaintextMax});
    }
    size_t written = 0;
    // With SSL_MODE_ENABLE_PARTIAL_WRITE and chunk <= one record, success writes all of chunk.
    const int result = SSL_write_ex(ssl_, plaintext.data() + written_total, chunk, &written);
    if (result == 1) {
      write_pending_size_ = 0;
      written_total += written;
      continue;
    }
    const IoStatus status = Classify(result, "write");
    if (status == IoStatus::kWantIo) {
      write_pending_size_ = chunk;
      break;
    }
    return {written_total, IoStatus::kFailed};
  }
  if (plaintext.empty()) {
    return {0, IoStatus::kOk};
  }
  return {written_total, written_total > 0 ? IoStatus::kOk : IoStatus::kWantIo};
}

size_t Stream::PendingOutput() const {
  JG_CHECK(network_bio_ != nullptr);
  return BIO_ctrl_pending(network_bio_);
}

size_t Stream::TakeOutput(std::span<std::byte> out) {
  internal::ErrorQueueGuard guard;
  JG_CHECK(network_bio_ != nullptr);
  if (out.empty()) {
    return 0;
  }
  const int read_size = BIO_read(network_bio_, out.data(), ClampToInt(out.size()));
  return read_size > 0 ? static_cast<size_t>(read_size) : 0;  // -1: empty, retry later.
}

Progress Stream::Shutdown() {
  internal::ErrorQueueGuard guard;
  JG_CHECK(ssl_ != nullptr);
  if (failed_) {
    return Progress::kFailed;  // OpenSSL forbids SSL_shutdown after a fatal error.
  }
  if (shutdown_sent_ || !SSL_is_init_finished(ssl_)) {
    return Progress::kDone;
  }
  // Call SSL_shutdown only when its alert surely fits: a second call would try to read the peer's
  // close_notify and discard application data.
  if (write_pending_size_ > 0 ||
      BIO_ctrl_get_write_guarantee(SSL_get_wbio(ssl_)) <= kRecordExpansionMax) {
    return Progress::kWantIo;
  }
  const int result = SSL_shutdown(ssl_);  // 0: sent, peer's not seen yet; 1: both done.
  if (result >= 0) {
    shutdown_sent_ = true;
    return Progress::kDone;
  }
  if (Classify(result, "shutdown") == IoStatus::kWantIo) {
    shutdown_sent_ = true;  // Queued inside OpenSSL; nothing more we can do.
    return Progress::kDone;
  }
  return Progress::kFailed;
}

std::string_view Stream::version() const {
  JG_CHECK(ssl_ != nullptr);
  return SSL_get_version(ssl_);
}

std::string_view Stream::cipher() const {
  JG_CHECK(ssl_ != nullptr);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  return cipher == nullptr ? std::string_view() : std::string_view(SSL_CIPHER_get_name(cipher));
}

std::string_view Stream::alpn() const {
  JG_CHECK(ssl_ != nullptr);
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &data, &size);
  return data == nullptr ? std::string_view()
                         : std::string_view(reinterpret_cast<const char*>(data), size);
}

bool Stream::handshake_done() const { return ssl_ != nullptr && SSL_is_init_finished(ssl_); }

absl::StatusOr<EndPoint> Stream::tls_server_end_point() const {
  internal::ErrorQueueGuard guard;
  JG_CHECK(ssl_ != nullptr);
  X509* cert = role_ == Role::kClient ? SSL_get0_peer_certificate(ssl_) : SSL_get_certificate(ssl_);
  if (cert == nullptr) {
    return absl::FailedPreconditionError("tls: no server certificate (handshake not done?)");
  }
  int md_nid = NID_undef;
  int pk_nid = NID_undef;
  int security_bits = 0;
  uint32_t flags = 0;
  if (X509_get_signature_info(cert, &md_nid, &pk_nid, &security_bits, &flags) != 1) {
    return absl::FailedPreconditionError(
        "tls: cannot determine the server certificate's signature algorithm");
  }
  // RFC 5929 section 4.1: MD5 and SHA-1 are replaced by SHA-256.
  if (md_nid == NID_md5 || md_nid == NID_sha1) {
    md_nid = NID_sha256;
  }
  const EVP_MD* md = md_nid == NID_undef ? nullptr : EVP_get_digestbynid(md_nid);
  if (md == nullptr) {
    return absl::UnimplementedError(
        "tls: tls-server-end-point is undefined for the server certificate's signature "
        "algorithm");
  }
  EndPoint end_point;
  static_assert(sizeof(end_point.digest) >= EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (X509_digest(cert, md, reinterpret_cast<unsigned char*>(end_point.digest.data()), &size) !=
      1) {
    return absl::InternalError("tls: X509_digest failed: " +
                               internal::DrainErrors("unknown OpenSSL error"));
  }
  end_point.size = size;
  return end_point;
}

void Stream::AssertInvariants() const {
  JG_CHECK(failed_ == !error_.empty());
  JG_CHECK(write_pending_size_ <= kRecordPlaintextMax);
  if (ssl_ == nullptr) {
    JG_CHECK(network_bio_ == nullptr);
    return;
  }
  JG_CHECK(network_bio_ != nullptr);
  // Outbound: what waits for TakeOutput plus what OpenSSL may still write fills the half.
  BIO* internal_bio = SSL_get_wbio(ssl_);
  JG_CHECK(BIO_ctrl_pending(network_bio_) + BIO_ctrl_get_write_guarantee(internal_bio) ==
           bio_buffer_size_);
  // Inbound: what OpenSSL has yet to read plus what Feed may still accept fills the other half.
  JG_CHECK(BIO_ctrl_pending(internal_bio) + BIO_ctrl_get_write_guarantee(network_bio_) ==
           bio_buffer_size_);
}

IoStatus Stream::Classify(int ssl_result, const char* action) {
  // SSL_get_error reads the error queue, so it comes before any draining.
  switch (SSL_get_error(ssl_, ssl_result)) {
    case SSL_ERROR_NONE:
      return IoStatus::kOk;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return IoStatus::kWantIo;
    case SSL_ERROR_ZERO_RETURN:
      return IoStatus::kClosed;
    case SSL_ERROR_SYSCALL:
      Fail(action, internal::DrainErrors("connection closed without close_notify"));
      return IoStatus::kFailed;
    default: {
      std::string reason = internal::DrainErrors("protocol error");
      const long verify_result = SSL_get_verify_result(ssl_);
      if (verify_result != X509_V_OK && reason.find("certificate verify failed") != reason.npos) {
        reason += " (";
        reason += X509_verify_cert_error_string(verify_result);
        reason += ")";
      }
      Fail(action, reason);
      return IoStatus::kFailed;
    }
  }
}

void Stream::Fail(const char* action, const std::string& reason) {
  failed_ = true;
  if (error_.empty()) {
    error_ = std::string("tls: ") + action + " failed: " + reason;
  }
}

}  // namespace jitgate::tls
