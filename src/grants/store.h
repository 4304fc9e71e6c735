// src/grants/store.h: the just-in-time grant store, in memory with an append-only log file.
//
// Called by shards at connection time (IssueAuto, under the store's mutex: once per login, not
// per query), by the control thread once a second (SweepExpired) and by the admin API (Active).
// Opened once at start-up on the control thread (Open replays the log).
//
// A grant says: `subject` may use `resource` under `policy` from issued_at_ms until
// expires_at_ms. It is never a secret. Active grants are kept in memory; every change is first
// appended to the log, so a restart loses nothing: a grant exists only once its record is written
// (and, with fsync, on disk).
//
// Log format (GrantsConfig::log_file; O_APPEND | O_CLOEXEC, mode 0600), one record per line,
// written with one write(2) each:
//   v1 <check> issued <id> <issued_at_ms> <expires_at_ms> <subject> <resource> <policy>\n
//   v1 <check> expired <id> <at_ms>\n
// <check> is the first 8 bytes of SHA-256 over the text after "v1 <check> " (up to, excluding,
// the newline), as 16 lowercase hex digits. Fields are separated by one space; text fields are
// percent-escaped (every byte outside 0x21..0x7e, and '%', as %XX uppercase), so no value can
// hold a space or a newline and a subject can never inject a record. Numbers are decimal int64
// milliseconds since the Unix epoch.
// Reload: records are replayed in order; a last line without its newline is a torn write (the
// process died mid-write): it is dropped with a warning and truncated away. Any complete line
// that does not check (bad version, checksum, fields, an unknown or repeated grant id) is
// corruption and Open refuses the log with "<file>: line N: <what>". Grants already past their
// end at Open get an `expired` record and are forgotten.
//
// Invariants: every grant in active_ has issued_at_ms < expires_at_ms; every grant in by_key_ is
// in active_ (by_key_ holds, per key, the one that ends last); log_size_ is the log's length in
// bytes and ends at a newline.
#ifndef JITGATE_SRC_GRANTS_STORE_H_
#define JITGATE_SRC_GRANTS_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "jitgate/config.h"
#include "jitgate/identity.h"

namespace jitgate::grants {

struct Grant {
  std::string id;  // "g-" + 16 lowercase hex digits from RAND_bytes; unique among active grants
  std::string subject;   // Identity::subject
  std::string resource;  // the resource name (config)
  std::string policy;    // the deciding policy's name
  int64_t issued_at_ms = 0;
  int64_t expires_at_ms = 0;  // exclusive: active while now_ms < expires_at_ms
};

class Store {
 public:
  // At most this many grants are active at once; IssueAuto beyond it is ResourceExhaustedError.
  // Bounds memory and the log replay.
  static constexpr size_t kActiveGrantsMax = 1 << 20;
  // Subjects are 36-character object ids; the bound keeps log lines short.
  static constexpr size_t kSubjectSizeMax = 1024;
  // A log line longer than this is corruption (the longest valid one is about 3.5 KiB).
  static constexpr size_t kLineSizeMax = 8192;

  // Opens (creating it 0600 if needed) and replays config.log_file, keeping the grants still
  // active at now_ms; an empty log_file keeps grants in memory only. Errors name the file (and
  // the line, for corruption).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const config::GrantsConfig& config,
                                                     int64_t now_ms);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // An active grant for `who` on `resource` under an auto-access `policy`: the existing one for
  // the same (subject, resource, policy) if it is still active at now_ms, else a new one with
  // expires_at_ms = min(now_ms + max_duration_s * 1000, who.expires_at_s * 1000), logged before
  // it is returned. A reused grant may end after who's token: the session ends at the earlier
  // of the grant's end and its own token's exp. Errors: FailedPrecondition when the bound is not
  // in the future (the token has expired), InvalidArgument for an empty or oversized subject or
  // a zero max_duration_s, ResourceExhausted past kActiveGrantsMax, the write's error when the
  // log cannot be appended (no grant is issued then).
  absl::StatusOr<std::shared_ptr<const Grant>> IssueAuto(const Identity& who,
                                                         std::string_view resource,
                                                         std::string_view policy,
                                                         uint32_t max_duration_s, int64_t now_ms);

  // Appends an `expired` record for each grant with expires_at_ms <= now_ms and forgets it.
  // Called by the control thread once a second. A failed write is logged and the grant kept for
  // the next sweep (it cannot be used past its end anyway: sessions check expires_at_ms).
  // Returns the grants recorded as expired (for the audit log).
  std::vector<std::shared_ptr<const Grant>> SweepExpired(int64_t now_ms);

  // A snapshot of the active grants, in no particular order.
  std::vector<std::shared_ptr<const Grant>> Active() const;
  size_t active_count() const;

  // Bytes of a torn last line Open dropped (0 when the log ended cleanly).
  uint64_t torn_tail_bytes() const { return torn_tail_bytes_; }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // subject, resource, policy

  Store(std::string path, int fd, bool fsync);

  // Replays the log from offset 0 (Open only, before any other thread sees the store).
  absl::Status Replay(int64_t now_ms);
  absl::Status ReplayLine(std::string_view line, size_t line_number,
                          absl::flat_hash_map<std::string, std::shared_ptr<const Grant>>& grants);
  // Appends one record (its payload; the version, check and newline are added) with one write(2)
  // and, if fsync_, fdatasync. On a short or failed write the log is truncated back to
  // log_size_; if that fails too the log is unusable and every later append fails.
  absl::Status Append(std::string_view payload) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::StatusOr<std::string> NewId() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Insert(std::shared_ptr<const Grant> grant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::string path_;  // empty: memory only
  const int fd_;            // -1: memory only
  const bool fsync_;
  uint64_t torn_tail_bytes_ = 0;

  mutable absl::Mutex mutex_;
  uint64_t log_size_ ABSL_GUARDED_BY(mutex_) = 0;
  bool log_broken_ ABSL_GUARDED_BY(mutex_) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<const Grant>> active_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<Key, std::shared_ptr<const Grant>> by_key_ ABSL_GUARDED_BY(mutex_);
};

// The log line for a payload ("issued ..."/"expired ..."), newline included; and the escaping of
// one text field. Exposed for tests.
std::string FormatRecord(std::string_view payload);
std::string EscapeField(std::string_view text);

}  // namespace jitgate::grants

#endif  // JITGATE_SRC_GRANTS_STORE_H_
