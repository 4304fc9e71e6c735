// src/session/pg_backend_auth.h: the gateway's side of PostgreSQL authentication towards a
// backend (PROTOCOLS.md 3.3), sans-I/O. The session state machine feeds it the body of every
// Authentication ('R') message and sends whatever frontend message it returns.
//
// Methods: cleartext (code 3), MD5 (code 5), SASL SCRAM-SHA-256 and SCRAM-SHA-256-PLUS with
// tls-server-end-point channel binding (codes 10/11/12; RFC 5802, RFC 7677, RFC 5929 4.1).
// Kerberos, GSSAPI and SSPI are refused with a clear message.
//
// Owner: one backend connection of one session; no threads, no globals, no I/O. The only
// randomness is the SCRAM client nonce (RAND_bytes). Secrets (the password, SaltedPassword,
// ClientKey, the expected ServerSignature) are wiped with OPENSSL_cleanse in the destructor.
//
// Invariants:
//   - state_ only moves forward; kFailed and kDone are terminal (every later message fails);
//   - kOk is returned only if no SCRAM exchange was started, or the server's signature was
//     verified (a server that skips SASLFinal is not trusted), and, with
//     require_channel_binding, only after a verified SCRAM-SHA-256-PLUS exchange.
//
// Limitation: SASLprep (RFC 4013) is applied only trivially: the password bytes are used as
// they are. That equals SASLprep for every printable-ASCII password and for any password that
// SASLprep maps to itself (already NFKC, no mapped or prohibited characters); a password that
// SASLprep would change fails SCRAM authentication (cleartext and MD5 are unaffected).
//
// Cost: SCRAM runs PBKDF2 with the server's iteration count inside OnAuthentication (about 1 ms
// for the default 4096 on this class of machine; the bound kScramIterationsMax makes the worst
// case a few seconds), so callers on a latency-sensitive thread should account for it.
#ifndef JITGATE_SRC_SESSION_PG_BACKEND_AUTH_H_
#define JITGATE_SRC_SESSION_PG_BACKEND_AUTH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace jitgate::session {

// What the gateway authenticates with. The views are copied by the constructor.
// SaltedPassword (RFC 5802 section 3) by (password, salt, iteration count), for one shard.
// PostgreSQL keeps one salt per role, so a gateway signing in again and again as the same role
// derives it once instead of paying PBKDF2 (4096 iterations: about a millisecond of CPU) on every
// new backend connection. The entries are as secret as the password itself; they are wiped on
// destruction. Fixed size, no allocation, not thread-safe (one per shard).
class ScramKeyCache {
 public:
  using Digest = std::array<unsigned char, 32>;
  static constexpr size_t kEntryCount = 16;

  ScramKeyCache() = default;
  ~ScramKeyCache();
  ScramKeyCache(const ScramKeyCache&) = delete;
  ScramKeyCache& operator=(const ScramKeyCache&) = delete;

  bool Find(const Digest& id, Digest* salted_password) const;
  void Insert(const Digest& id, const Digest& salted_password);
  uint64_t hits() const { return hits_; }

 private:
  struct Entry {
    Digest id{};
    Digest salted{};
    bool used = false;
  };
  std::array<Entry, kEntryCount> entries_{};
  size_t next_ = 0;  // round-robin replacement
  mutable uint64_t hits_ = 0;
};

struct BackendAuthParams {
  std::string_view user;      // the startup packet's `user` (MD5 salts with it)
  std::string_view password;  // the gateway's credential for that role
  // The tls-server-end-point hash of the backend's certificate (RFC 5929 4.1), empty when the
  // backend connection has no TLS.
  std::span<const std::byte> channel_binding;
  // channel_binding=require semantics (libpq): authenticate only by SCRAM-SHA-256-PLUS.
  bool require_channel_binding = false;
  // Optional per-shard cache of derived SCRAM keys (null: derive every time).
  ScramKeyCache* key_cache = nullptr;
};

class BackendAuth {
 public:
  // The answer to one Authentication message.
  struct Step {
    enum class Kind : uint8_t {
      kSend,    // send `message` (a complete frontend message: 'p', Int32 length, body)
      kOk,      // authentication finished (AuthenticationOk accepted)
      kWait,    // nothing to send; wait for the next message (after a verified SASLFinal)
      kFailed,  // close the backend connection; `error` says why
    };
    Kind kind = Kind::kFailed;
    std::string message;
    std::string error;
  };

  // Protocol limits (PROTOCOLS.md 3.3). Each is far above what PostgreSQL sends.
  // An 'R' body larger than this is refused: PostgreSQL's SASL messages are < 200 bytes.
  static constexpr size_t kBodySizeMax = 8192;
  // The SASL mechanism list: PostgreSQL 15 offers at most two.
  static constexpr size_t kMechanismCountMax = 16;
  // Iteration bounds: RFC 7677 recommends >= 4096 (PostgreSQL's default); the upper bound
  // stops a hostile backend from pinning a core in PBKDF2 (10M is several seconds).
  static constexpr uint32_t kScramIterationsMin = 4096;
  static constexpr uint32_t kScramIterationsMax = 10'000'000;
  // The channel-binding hash: tls-server-end-point uses the certificate's signature hash,
  // at most SHA-512 (64 bytes).
  static constexpr size_t kChannelBindingSizeMax = 64;
  // PostgreSQL reads a password packet of at most 65535 bytes (PG_MAX_AUTH_TOKEN_LENGTH); a
  // gateway credential longer than this is a configuration mistake, and PBKDF2 takes an int.
  static constexpr size_t kPasswordSizeMax = 1024;
  // Our nonce: 18 random bytes, base64 -> 24 printable characters (as libpq).
  static constexpr size_t kClientNonceRawSize = 18;

  explicit BackendAuth(const BackendAuthParams& params);
  ~BackendAuth();
  BackendAuth(const BackendAuth&) = delete;
  BackendAuth& operator=(const BackendAuth&) = delete;

  // `body` is the 'R' message after its length word: Int32 code, then the code's data.
  // Malformed, unexpected or unsupported messages yield kFailed; nothing here asserts on them.
  Step OnAuthentication(std::span<const std::byte> body);

  // True once a SCRAM exchange has been completed and the server signature verified.
  bool scram_verified() const { return scram_verified_; }
  // The SASL mechanism chosen ("" before code 10).
  std::string_view mechanism() const { return mechanism_; }

  // Test seams. The nonce must be printable ASCII without ','; the user name is sent in the
  // client-first-message instead of "" (PostgreSQL ignores it; RFC 7677's example uses one).
  void SetClientNonceForTest(std::string_view nonce) { client_nonce_.assign(nonce); }
  void SetScramUserNameForTest(std::string_view user) { scram_user_.assign(user); }

 private:
  enum class State : uint8_t {
    kStart,           // nothing received yet
    kPasswordSent,    // cleartext/MD5 answer sent; waiting for AuthenticationOk
    kScramFirstSent,  // SASLInitialResponse sent; waiting for SASLContinue
    kScramFinalSent,  // client-final sent; waiting for SASLFinal
    kScramVerified,   // server signature verified; waiting for AuthenticationOk
    kDone,            // AuthenticationOk accepted
    kFailed,
  };

  Step Fail(std::string error);
  // Empty if the password can be used; else why not.
  std::string PasswordProblem() const;
  Step OnOk(std::span<const std::byte> data);
  Step OnCleartext(std::span<const std::byte> data);
  Step OnMd5(std::span<const std::byte> data);
  Step OnSasl(std::span<const std::byte> data);
  Step OnSaslContinue(std::span<const std::byte> data);
  Step OnSaslFinal(std::span<const std::byte> data);

  std::string user_;
  std::string password_;
  std::string channel_binding_;
  bool require_channel_binding_;
  ScramKeyCache* const key_cache_;
  State state_ = State::kStart;
  bool scram_verified_ = false;
  bool channel_bound_ = false;  // the SCRAM exchange used -PLUS
  std::string mechanism_;
  std::string gs2_header_;         // "n,,", "y,," or "p=tls-server-end-point,,"
  std::string client_nonce_;       // set by the test seam, else drawn at code 10
  std::string scram_user_;         // "" unless set by the test seam
  std::string client_first_bare_;  // "n=<user>,r=<nonce>"
  std::array<unsigned char, 32> server_signature_{};  // expected v= (secret until verified)
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_PG_BACKEND_AUTH_H_
