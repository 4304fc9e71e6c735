// Implementation of src/common/log.h.
#include "src/common/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace jitgate {
namespace internal {
std::atomic<int> log_level_min{static_cast<int>(LogLevel::kInfo)};
}  // namespace internal

namespace {
constexpr const char* kLevelNames[] = {"debug", "info ", "warn ", "error", "note "};
constexpr int kLineSizeMax = 1024;
}  // namespace

void SetLogLevel(LogLevel level) {
  internal::log_level_min.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool ParseLogLevel(const char* text, LogLevel* level) {
  static constexpr struct {
    const char* name;
    LogLevel level;
  } kNames[] = {{"debug", LogLevel::kDebug},
                {"info", LogLevel::kInfo},
                {"warn", LogLevel::kWarn},
                {"error", LogLevel::kError}};
  for (const auto& entry : kNames) {
    if (std::strcmp(text, entry.name) == 0) {
      *level = entry.level;
      return true;
    }
  }
  return false;
}

void LogLine(LogLevel level, const char* format, ...) {
  char line[kLineSizeMax + 2];
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  int length = static_cast<int>(strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &utc));
  length += std::snprintf(line + length, sizeof(line) - length, ".%03ldZ %s ",
                          now.tv_nsec / 1000000, kLevelNames[static_cast<int>(level)]);
  va_list args;
  va_start(args, format);
  const int body = std::vsnprintf(line + length, kLineSizeMax - length, format, args);
  va_end(args);
  if (body < 0) {
    return;
  }
  length += body;
  if (length >= kLineSizeMax) {
    length = kLineSizeMax - 1;
    std::memcpy(line + length - 3, "...", 3);
  }
  line[length++] = '\n';
  // One write: lines from different threads never interleave. A failed or short write to stderr
  // has nowhere better to be reported.
  [[maybe_unused]] ssize_t written = write(STDERR_FILENO, line, static_cast<size_t>(length));
}

}  // namespace jitgate
