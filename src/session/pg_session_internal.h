// src/session/pg_session_internal.h: what the two files of PgSession share (constants, small
// encoders the parsers library does not have because only the gateway sends these messages),
// and seams for tests. Private to src/session.
#ifndef JITGATE_SRC_SESSION_PG_SESSION_INTERNAL_H_
#define JITGATE_SRC_SESSION_PG_SESSION_INTERNAL_H_

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jitgate::session::internal {

// Largest frame either side may send: PostgreSQL's own message limit is 1 GiB (MaxAllocSize);
// frames are walked by length, never held, so this bounds nothing but the length field.
inline constexpr size_t kFrameSizeMax = (size_t{1} << 30) + 64;
// Start-up bytes held before the session is authenticated (packets, password, early queries):
// the StartupMessage is at most 10000 bytes, a password message 65535.
inline constexpr size_t kClientStartupBytesMax = 128 * 1024;
// The largest Query / Parse / FunctionCall body the guardrails hold to judge before it goes on:
// the classifier's statement limit (1 MiB) plus a Parse's name and parameter types. A longer one
// is judged unseen, by the policy's unknown rule (and streamed only if that rule allows it).
inline constexpr size_t kStatementHoldMax = (size_t{1} << 20) + (256 << 10) + 1024;
// The largest ReadyForQuery / ParameterStatus / ErrorResponse held on the way to the client (a
// longer ErrorResponse is not a refusal's and goes on unread).
inline constexpr size_t kReplyHoldMax = 64 * 1024;
// Plaintext read out of a TLS stream per call.
inline constexpr size_t kTlsReadChunk = 16 * 1024;
// Largest ErrorResponse the gateway builds.
inline constexpr size_t kErrorMessageSizeMax = 2048;
// Startup parameters passed on to the backend; more is not a real client.
inline constexpr size_t kClientParamsMax = 64;
// Backend start-up messages (ParameterStatus etc.) gathered before ReadyForQuery.
inline constexpr size_t kBackendStartupBytesMax = 64 * 1024;
// A zero-copy prefix at most this long is copied in front of the session's own bytes rather
// than sent on its own (one send, not two, for a short answer the masker changed).
inline constexpr size_t kCoalesceMax = 16 * 1024;
// The largest message of the masker's catalog answer (a view definition).
inline constexpr size_t kCatalogFrameMax = 8 * 1024 * 1024;
// After a grant ends, a message in flight to the client gets this long to finish before the
// session is cut without a goodbye. Keeps the cut inside the 100 ms promise.
inline constexpr int64_t kCutGraceMs = 50;

inline std::span<const std::byte> AsBytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

inline void StoreUint32(std::byte* p, uint32_t v) {
  p[0] = std::byte(v >> 24);
  p[1] = std::byte(v >> 16);
  p[2] = std::byte(v >> 8);
  p[3] = std::byte(v);
}

// ASCII case-insensitive equality (GUC names compare this way).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Whether `haystack` holds `needle`, ASCII case-insensitively.
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

// Startup parameters the gateway never passes on (identity is the gateway's to choose,
// PROTOCOLS.md 3.2): user, database, replication, role, session_authorization, is_superuser and
// every _pq_.* option.
bool IsDroppedParam(std::string_view name);

// `text` with non-printable bytes replaced, cut at `size_max` characters ("..." marks a cut).
std::string Clip(std::string_view text, size_t size_max);

// The kept `-c name=value` settings of a client's `options`; names of what was dropped appended
// to `dropped` (space separated).
std::string FilterOptions(std::string_view options, std::string* dropped);

// NegotiateProtocolVersion 'v' (55.7): Int32 newest minor supported, Int32 count, option names.
std::vector<std::byte> EncodeNegotiateProtocolVersion(uint32_t minor,
                                                      std::span<const std::string_view> options);

// StartupMessage (protocol 3.0) with the given parameters.
std::vector<std::byte> EncodeStartupMessage(
    std::span<const std::pair<std::string, std::string>> params);

inline int64_t WallMilliseconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}
inline int64_t WallSeconds() { return WallMilliseconds() / 1000; }

}  // namespace jitgate::session::internal

#endif  // JITGATE_SRC_SESSION_PG_SESSION_INTERNAL_H_
