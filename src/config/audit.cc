// src/config/audit.cc: see audit.h. Every failure names the JSON path and what was expected.
#include "src/config/audit.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "jitgate/status_macros.h"

namespace jitgate::config {

std::string_view AuditModeName(AuditMode mode) {
  return mode == AuditMode::kDurable ? "durable" : "normal";
}

namespace internal {
namespace {

constexpr absl::string_view kAuditKeys[] = {
    "dir",         "mode",          "fsync_interval_ms",   "segment_size_max",
    "queue_bytes", "on_full",       "statement_bytes_max", "params_bytes_max",
    "chain_key_env", "chain_key_file"};
constexpr int64_t kSegmentSizeMin = int64_t{1} << 20;
constexpr int64_t kSegmentSizeMax = int64_t{4} << 30;
constexpr uint32_t kQueueBytesMin = 256u << 10;
constexpr uint32_t kQueueBytesMax = 1u << 30;

absl::StatusOr<std::string> ReadChoice(const Ctx& ctx, absl::string_view path,
                                       const picojson::value& value,
                                       absl::string_view expected) {
  if (!value.is<std::string>()) {
    return TypeError(ctx, path, expected, value);
  }
  return value.get<std::string>();
}

}  // namespace

absl::Status ReadAudit(const Ctx& ctx, const picojson::value* value, AuditConfig& audit) {
  constexpr absl::string_view kPath = "$.audit";
  if (value == nullptr) {
    return absl::OkStatus();
  }
  JG_ASSIGN_OR_RETURN(const picojson::object* object,
                      AsObject(ctx, kPath, *value, "an object with at least \"dir\""));
  JG_RETURN_IF_ERROR(CheckKeys(ctx, kPath, *object, kAuditKeys));
  audit.enabled = true;
  JG_ASSIGN_OR_RETURN(const picojson::value* dir, Require(ctx, kPath, *object, "dir"));
  JG_ASSIGN_OR_RETURN(audit.dir, ReadPath(ctx, "$.audit.dir", *dir));
  if (const picojson::value* mode = Find(*object, "mode"); mode != nullptr) {
    constexpr absl::string_view kExpected = "\"normal\" or \"durable\"";
    JG_ASSIGN_OR_RETURN(const std::string text, ReadChoice(ctx, "$.audit.mode", *mode, kExpected));
    if (text == "normal") {
      audit.mode = AuditMode::kNormal;
    } else if (text == "durable") {
      audit.mode = AuditMode::kDurable;
    } else {
      return RangeError(ctx, "$.audit.mode", kExpected, *mode);
    }
  }
  if (const picojson::value* on_full = Find(*object, "on_full"); on_full != nullptr) {
    constexpr absl::string_view kExpected = "\"block\" or \"drop\"";
    JG_ASSIGN_OR_RETURN(const std::string text,
                        ReadChoice(ctx, "$.audit.on_full", *on_full, kExpected));
    if (text == "block") {
      audit.on_full = AuditOnFull::kBlock;
    } else if (text == "drop") {
      audit.on_full = AuditOnFull::kDrop;
    } else {
      return RangeError(ctx, "$.audit.on_full", kExpected, *on_full);
    }
  }
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, "$.audit.fsync_interval_ms",
                                     Find(*object, "fsync_interval_ms"), 1, 60000,
                                     audit.fsync_interval_ms));
  if (const picojson::value* size = Find(*object, "segment_size_max"); size != nullptr) {
    JG_ASSIGN_OR_RETURN(const int64_t bytes,
                        ReadInteger(ctx, "$.audit.segment_size_max", *size, kSegmentSizeMin,
                                    kSegmentSizeMax, "a size in bytes between 1 MiB and 4 GiB"));
    audit.segment_size_max = static_cast<uint64_t>(bytes);
  }
  if (const picojson::value* queue = Find(*object, "queue_bytes"); queue != nullptr) {
    constexpr absl::string_view kExpected =
        "a power of two between 262144 (256 KiB) and 1073741824 (1 GiB)";
    JG_ASSIGN_OR_RETURN(const int64_t bytes, ReadInteger(ctx, "$.audit.queue_bytes", *queue,
                                                         kQueueBytesMin, kQueueBytesMax,
                                                         kExpected));
    if ((bytes & (bytes - 1)) != 0) {
      return RangeError(ctx, "$.audit.queue_bytes", kExpected, *queue);
    }
    audit.queue_bytes = static_cast<uint32_t>(bytes);
  }
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, "$.audit.statement_bytes_max",
                                     Find(*object, "statement_bytes_max"), 64, 1u << 20,
                                     audit.statement_bytes_max));
  JG_RETURN_IF_ERROR(ReadOptionalU32(ctx, "$.audit.params_bytes_max",
                                     Find(*object, "params_bytes_max"), 0, 1u << 20,
                                     audit.params_bytes_max));
  const picojson::value* key_env = Find(*object, "chain_key_env");
  const picojson::value* key_file = Find(*object, "chain_key_file");
  if (key_env != nullptr && key_file != nullptr) {
    return Invalid(ctx, kPath, "give at most one of \"chain_key_env\" and \"chain_key_file\"");
  }
  if (key_env != nullptr) {
    JG_ASSIGN_OR_RETURN(audit.chain_key_env, ReadText(ctx, "$.audit.chain_key_env", *key_env,
                                                      256, "an environment variable name"));
  }
  if (key_file != nullptr) {
    JG_ASSIGN_OR_RETURN(audit.chain_key_file, ReadPath(ctx, "$.audit.chain_key_file", *key_file));
  }
  // One queued record holds a statement's text and its parameters, plus identity and fields.
  const uint64_t record_max = uint64_t{audit.statement_bytes_max} + audit.params_bytes_max +
                              (64u << 10);
  if (record_max * 4 > audit.queue_bytes) {
    return Invalid(ctx, "$.audit.queue_bytes",
                   absl::StrCat("expected at least 4 records of the largest size (",
                                record_max, " bytes: statement_bytes_max + params_bytes_max + "
                                "64 KiB), so at least ", record_max * 4, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace jitgate::config
