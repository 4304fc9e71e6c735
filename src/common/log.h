// src/common/log.h: leveled, line-at-a-time logging to stderr.
//
// Each line is formatted into a stack buffer and written with one write(2), so lines from shard
// threads never interleave and logging never allocates. Format:
//   2026-12-01T18:40:00.123Z info  shard=0 session=12 event=open client=127.0.0.1:5555
// Log only on events (session open/close, errors, start-up), never per frame.
#ifndef JITGATE_SRC_COMMON_LOG_H_
#define JITGATE_SRC_COMMON_LOG_H_

#include <atomic>

namespace jitgate {

// kNotice is for lifecycle lines (ready, stopping, summary) that scripts and operators rely on:
// they are printed at every --log-level.
enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kNotice = 4 };

namespace internal {
extern std::atomic<int> log_level_min;
}  // namespace internal

// Lines below `level` are dropped before formatting.
void SetLogLevel(LogLevel level);

// Parses "debug", "info", "warn", "error"; returns false on anything else.
bool ParseLogLevel(const char* text, LogLevel* level);

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= internal::log_level_min.load(std::memory_order_relaxed);
}

// Formats and writes one line (printf format; a trailing newline is added). Lines longer than
// 1 KiB are cut and end in "...".
void LogLine(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace jitgate

#define JG_LOG(level, ...)                                         \
  do {                                                             \
    if (::jitgate::LogEnabled(::jitgate::LogLevel::level)) {       \
      ::jitgate::LogLine(::jitgate::LogLevel::level, __VA_ARGS__); \
    }                                                              \
  } while (false)

#endif  // JITGATE_SRC_COMMON_LOG_H_
