// src/tls/context.h: TLS configuration shared by every connection of one side (OpenSSL 3.0).
//
// Owns one SSL_CTX: certificates, trust store, protocol versions, ciphers, ALPN and ticket keys.
// Built once on the control plane (start-up or config reload) by main/config code, then shared
// read-only by all shards: after construction nothing mutates it, and OpenSSL allows SSL_new() on
// one SSL_CTX from many threads. Each tls::Stream takes its own reference on the SSL_CTX, so a
// Context may be destroyed (after a reload) while streams made from it are still open.
//
// Errors are absl::Status with the file and OpenSSL's reason; the OpenSSL error queue is empty
// when any function here returns.
#ifndef JITGATE_SRC_TLS_CONTEXT_H_
#define JITGATE_SRC_TLS_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace jitgate::tls {

// Which end of the handshake a Context (and a Stream made from it) plays.
enum class Role : uint8_t { kServer, kClient };

// Protocol versions we speak. Nothing below TLS 1.2 (RFC 8996 deprecates 1.0 and 1.1).
enum class Version : uint8_t { kTls1_2, kTls1_3 };

// The ALPN protocol id of PostgreSQL 17 direct TLS (sslnegotiation=direct).
inline constexpr std::string_view kAlpnPostgresql = "postgresql";

// Server side: terminating TLS from database clients.
struct ServerOptions {
  // PEM certificate chain (leaf first, then intermediates) and its PEM private key.
  std::string cert_path;
  std::string key_path;
  // Optional PEM bundle of CAs for client certificates. When set, a client certificate is
  // requested and, if presented, must verify; clients without one are still accepted.
  std::string ca_path;
  Version version_min = Version::kTls1_2;
  Version version_max = Version::kTls1_3;
};

// Client side: the gateway speaking TLS to the database.
struct ClientOptions {
  // kNone: encrypt only, accept any certificate (sslmode=require). kVerifyCa: the chain must
  // verify against the trust store (sslmode=verify-ca). kVerifyFull: also the host name or IP
  // address given to Stream::Init must match the certificate (sslmode=verify-full).
  enum class Verify : uint8_t { kNone, kVerifyCa, kVerifyFull };
  Verify verify = Verify::kVerifyFull;
  // PEM CA bundle (file) or hashed CA directory for kVerifyCa/kVerifyFull; empty means the
  // system default store.
  std::string ca_path;
  // Optional client certificate chain and key (both or neither).
  std::string cert_path;
  std::string key_path;
  // ALPN protocol to offer (e.g. kAlpnPostgresql for direct TLS); empty offers none.
  std::string alpn;
  Version version_min = Version::kTls1_2;
  Version version_max = Version::kTls1_3;
};

class Context {
 public:
  // Loads the chain and key (a key that does not match the leaf is an error), TLS 1.2 minimum,
  // AEAD cipher suites with forward secrecy, session tickets on, no renegotiation, ALPN
  // "postgresql" selected when the client offers it (otherwise the handshake proceeds without
  // ALPN).
  static absl::StatusOr<std::unique_ptr<Context>> Server(const ServerOptions& options);

  // Sets up the trust store and verification mode, and the optional client certificate.
  static absl::StatusOr<std::unique_ptr<Context>> Client(const ClientOptions& options);

  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Role role() const { return role_; }
  // Client contexts only; kNone for servers.
  ClientOptions::Verify verify() const { return verify_; }
  // The underlying SSL_CTX, for tls::Stream. Not to be reconfigured by callers.
  SSL_CTX* ssl_ctx() const { return ssl_ctx_; }

 private:
  Context(SSL_CTX* ssl_ctx, Role role, ClientOptions::Verify verify)
      : ssl_ctx_(ssl_ctx), role_(role), verify_(verify) {}

  SSL_CTX* ssl_ctx_;  // Owned; one reference.
  Role role_;
  ClientOptions::Verify verify_;
};

}  // namespace jitgate::tls

#endif  // JITGATE_SRC_TLS_CONTEXT_H_
