// src/tls/context.cc: builds the server and client SSL_CTX (see context.h).
#include "src/tls/context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jitgate/status_macros.h"
#include "src/tls/openssl_errors.h"

namespace jitgate::tls {
namespace {

// TLS 1.2 suites: ECDHE/DHE key exchange (forward secrecy) with AEAD ciphers only, the set of
// Mozilla's "intermediate" profile. TLS 1.3 suites keep OpenSSL's default (all three are AEAD).
constexpr char kServerCipherList[] =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!DSS";
// Towards databases we are more lenient (older servers): any strong suite, still no anonymous,
// export, MD5, RC4, 3DES, PSK or SRP suites.
constexpr char kClientCipherList[] = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!PSK:!SRP";

// Identifies our server sessions inside tickets, so a ticket minted by another program that
// happens to share the ticket key is not resumed here.
constexpr unsigned char kSessionIdContext[] = "jitgate";

int ProtocolVersion(Version version) {
  switch (version) {
    case Version::kTls1_2:
      return TLS1_2_VERSION;
    case Version::kTls1_3:
      return TLS1_3_VERSION;
  }
  return TLS1_3_VERSION;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Names the file and the system's reason when `path` cannot be read, so that a typo in the config
// reads "No such file or directory" rather than OpenSSL's "system lib".
absl::Status CheckReadable(std::string_view what, const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(std::string("tls: ") + std::string(what) + " path is empty");
  }
  if (access(path.c_str(), R_OK) != 0) {
    const int error_number = errno;
    return absl::NotFoundError(std::string("tls: cannot read ") + std::string(what) + " " + path +
                               ": " + std::strerror(error_number));
  }
  return absl::OkStatus();
}

absl::Status OpenSslError(std::string_view action, const std::string& path) {
  return absl::InvalidArgumentError(std::string("tls: ") + std::string(action) + " " + path + ": " +
                                    internal::DrainErrors("unknown OpenSSL error"));
}

// An encrypted key must never make OpenSSL prompt on the terminal of a daemon: refuse instead.
int RefusePassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return 0; }

absl::Status SetVersions(SSL_CTX* ctx, Version version_min, Version version_max) {
  if (ProtocolVersion(version_min) > ProtocolVersion(version_max)) {
    return absl::InvalidArgumentError("tls: version_min is above version_max");
  }
  if (SSL_CTX_set_min_proto_version(ctx, ProtocolVersion(version_min)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, ProtocolVersion(version_max)) != 1) {
    return absl::InternalError("tls: cannot set protocol versions: " +
                               internal::DrainErrors("unknown OpenSSL error"));
  }
  return absl::OkStatus();
}

// Loads a PEM chain and its key; OpenSSL checks that the key matches the leaf.
absl::Status LoadCertificateAndKey(SSL_CTX* ctx, const std::string& cert_path,
                                   const std::string& key_path) {
  JG_RETURN_IF_ERROR(CheckReadable("certificate chain", cert_path));
  JG_RETURN_IF_ERROR(CheckReadable("private key", key_path));
  SSL_CTX_set_default_passwd_cb(ctx, RefusePassphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    return OpenSslError("cannot load certificate chain", cert_path);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError("tls: cannot use private key " + key_path +
                                      " with certificate " + cert_path + ": " +
                                      internal::DrainErrors("unknown OpenSSL error"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError("tls: private key " + key_path +
                                      " does not match certificate " + cert_path + ": " +
                                      internal::DrainErrors("key values mismatch"));
  }
  return absl::OkStatus();
}

// Loads `path` as a CA bundle file, or as a hashed directory when it is one.
absl::Status LoadTrustStore(SSL_CTX* ctx, const std::string& path) {
  JG_RETURN_IF_ERROR(CheckReadable("CA bundle", path));
  struct stat info {};
  const bool is_directory = stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
  const int ok = is_directory ? SSL_CTX_load_verify_dir(ctx, path.c_str())
                              : SSL_CTX_load_verify_file(ctx, path.c_str());
  if (ok != 1) {
    return OpenSslError("cannot load CA bundle", path);
  }
  return absl::OkStatus();
}

// ALPN (RFC 7301) on the server: select "postgresql" when offered; otherwise answer without ALPN
// (SSL_TLSEXT_ERR_NOACK), since libpq before 17 and other drivers offer none or something else.
int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_size,
               const unsigned char* in, unsigned int in_size, void* /*arg*/) {
  unsigned int offset = 0;
  while (offset < in_size) {
    const unsigned int name_size = in[offset];
    if (name_size == 0 || offset + 1 + name_size > in_size) {
      break;  // Malformed list (OpenSSL validates it first; stay bounded anyway).
    }
    const std::string_view name(reinterpret_cast<const char*>(in + offset + 1), name_size);
    if (name == kAlpnPostgresql) {
      *out = in + offset + 1;
      *out_size = static_cast<unsigned char>(name_size);
      return SSL_TLSEXT_ERR_OK;
    }
    offset += 1 + name_size;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// Options common to both sides.
void SetCommonOptions(SSL_CTX* ctx) {
  // Renegotiation is a DoS lever and a source of confusion for a proxy; TLS 1.3 has none.
  // Compression is off because of CRIME.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Stream::Write hands OpenSSL one record at a time and may retry from a different address.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

}  // namespace

Context::~Context() { SSL_CTX_free(ssl_ctx_); }

absl::StatusOr<std::unique_ptr<Context>> Context::Server(const ServerOptions& options) {
  internal::ErrorQueueGuard guard;
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    return absl::InternalError("tls: SSL_CTX_new failed: " +
                               internal::DrainErrors("out of memory?"));
  }
  SetCommonOptions(ctx.get());
  JG_RETURN_IF_ERROR(SetVersions(ctx.get(), options.version_min, options.version_max));
  if (SSL_CTX_set_cipher_list(ctx.get(), kServerCipherList) != 1) {
    return absl::InternalError("tls: cannot set cipher list: " +
                               internal::DrainErrors("unknown OpenSSL error"));
  }
  // DHE suites use built-in RFC 7919 groups sized to the certificate's strength.
  SSL_CTX_set_dh_auto(ctx.get(), 1);
  JG_RETURN_IF_ERROR(LoadCertificateAndKey(ctx.get(), options.cert_path, options.key_path));

  // Session tickets (RFC 5077 / TLS 1.3 PSK) are on by default: stateless resumption makes
  // reconnects cheap. The ticket key lives in this SSL_CTX, shared by all shards. The stateful
  // server cache is off: tickets make it redundant, and it would be a locked structure shared by
  // every shard that grows with connections.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_session_id_context(ctx.get(), kSessionIdContext, sizeof(kSessionIdContext) - 1) !=
      1) {
    return absl::InternalError("tls: cannot set session id context");
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectAlpn, nullptr);

  if (!options.ca_path.empty()) {
    JG_RETURN_IF_ERROR(LoadTrustStore(ctx.get(), options.ca_path));
    // Request a client certificate and verify it when sent; do not require one.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca_path.c_str());
    if (names != nullptr) {
      SSL_CTX_set_client_CA_list(ctx.get(), names);  // Takes ownership.
    }
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return std::unique_ptr<Context>(
      new Context(ctx.release(), Role::kServer, ClientOptions::Verify::kNone));
}

absl::StatusOr<std::unique_ptr<Context>> Context::Client(const ClientOptions& options) {
  internal::ErrorQueueGuard guard;
  if (options.cert_path.empty() != options.key_path.empty()) {
    return absl::InvalidArgumentError("tls: client certificate needs both cert_path and key_path");
  }
  if (options.alpn.size() > 255) {
    return absl::InvalidArgumentError("tls: ALPN protocol name longer than 255 bytes");
  }
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return absl::InternalError("tls: SSL_CTX_new failed: " +
                               internal::DrainErrors("out of memory?"));
  }
  SetCommonOptions(ctx.get());
  JG_RETURN_IF_ERROR(SetVersions(ctx.get(), options.version_min, options.version_max));
  if (SSL_CTX_set_cipher_list(ctx.get(), kClientCipherList) != 1) {
    return absl::InternalError("tls: cannot set cipher list: " +
                               internal::DrainErrors("unknown OpenSSL error"));
  }
  switch (options.verify) {
    case ClientOptions::Verify::kNone:
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
      break;
    case ClientOptions::Verify::kVerifyCa:
    case ClientOptions::Verify::kVerifyFull:
      if (options.ca_path.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
          return absl::InternalError("tls: cannot load the system CA store: " +
                                     internal::DrainErrors("unknown OpenSSL error"));
        }
      } else {
        JG_RETURN_IF_ERROR(LoadTrustStore(ctx.get(), options.ca_path));
      }
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      break;
  }
  if (!options.cert_path.empty()) {
    JG_RETURN_IF_ERROR(LoadCertificateAndKey(ctx.get(), options.cert_path, options.key_path));
  }
  if (!options.alpn.empty()) {
    // Wire format: one length byte, then the name (RFC 7301 section 3.1).
    std::string wire(1, static_cast<char>(options.alpn.size()));
    wire += options.alpn;
    // Returns 0 on success (unlike most of OpenSSL).
    if (SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned int>(wire.size())) != 0) {
      return absl::InternalError("tls: cannot set ALPN protocols");
    }
  }
  return std::unique_ptr<Context>(new Context(ctx.release(), Role::kClient, options.verify));
}

}  // namespace jitgate::tls
