// src/audit/writer.h: the audit hub: one SPSC queue per shard, the writer thread that drains
// them into the segment log (src/audit/segment.h), and each shard's sink.
//
//   shard thread --ShardSink::Emit--> SpscQueue --writer thread--> SegmentWriter (chain, fsync)
//        ^                                                              |
//        +------ ShardChannel::durable / written (atomics) + shard wake +
//
// Sequence numbers here are per shard ("local seq": the n-th record a shard's sink accepted).
// The writer takes a shard's records in order, so `written` (taken from the queue) and
// `durable` (on disk after an fdatasync) are prefixes of what the shard emitted.
// Invariant per shard: durable <= written <= pushed <= emitted (ShardSink::emitted()).
//
// Full queue (config "on_full"): a security record (kFlagSecurity) never waits in the queue's
// place: it goes to the sink's backlog, and the session holding it does not forward its next
// statement until the record is in the queue (ShardSink::Passed). Non-security records are then
// dropped and counted under "drop", or backlogged like the rest under "block". Dropped records
// are written as kDropped records by the writer, so the log itself says how many.
// Durable mode: Passed() means on disk; the writer fsyncs each batch it took (group commit
// across every session of every shard) and wakes the shards that wait.
// The writer failing to write (disk full, EIO) is fail-closed: failed() becomes true and stays,
// sessions refuse statements and new sessions are refused.
#ifndef JITGATE_SRC_AUDIT_WRITER_H_
#define JITGATE_SRC_AUDIT_WRITER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "jitgate/config.h"
#include "src/audit/queue.h"
#include "src/audit/record.h"

namespace jitgate::audit {

class SegmentWriter;
struct RecoveryInfo;

// What one shard and the writer share.
struct ShardChannel {
  explicit ShardChannel(size_t queue_bytes) : queue(queue_bytes) {}
  SpscQueue queue;
  // Written by the writer.
  alignas(64) std::atomic<uint64_t> written{0};  // records taken from the queue
  std::atomic<uint64_t> durable{0};              // records fdatasync'ed
  // Written by the shard.
  alignas(64) std::atomic<bool> wants_wake{false};  // wake the shard when written/durable move
  std::atomic<uint64_t> dropped{0};                 // non-security records dropped (total)
  std::function<void()> wake;                       // signals the shard's ring (set before Start)
};

struct HubStats {
  uint64_t records = 0;
  uint64_t syncs = 0;
  uint64_t dropped = 0;
};

class Hub {
 public:
  // Opens (or creates) the log in config.dir, recovering a torn tail. `version` goes into the
  // log_start record. Errors name the directory and what is wrong.
  static absl::StatusOr<std::unique_ptr<Hub>> Open(const config::AuditConfig& config,
                                                   uint32_t shard_count, std::string version);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Before Start: how to wake shard `shard` (its eventfd).
  void SetShardWake(uint32_t shard, std::function<void()> wake);
  void Start();
  // Drains every queue, writes log_stop, syncs and joins. After the shards stopped.
  void Stop();

  ShardChannel& channel(uint32_t shard) { return *channels_[shard]; }
  uint32_t shard_count() const { return static_cast<uint32_t>(channels_.size()); }
  const config::AuditConfig& config() const { return config_; }
  bool durable_mode() const { return config_.mode == config::AuditMode::kDurable; }
  uint32_t epoch() const { return epoch_; }
  const RecoveryInfo& recovery() const { return *recovery_; }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  HubStats stats() const;

  // A record from a thread without a shard (the control thread: grant expiry). Takes a mutex;
  // for rare events only. The writer stamps it with shard kShardControl.
  void EmitControl(std::span<const std::byte> queued);

  // Shards call this after pushing (once per completion batch): wakes the writer if it sleeps.
  void NotifyWriter();

 private:
  Hub() = default;
  void Run();
  // One pass over the queues; the number of records taken.
  size_t DrainOnce();
  void Publish(bool synced);
  void Fail(const absl::Status& status);

  config::AuditConfig config_;
  std::vector<std::unique_ptr<ShardChannel>> channels_;
  std::unique_ptr<SegmentWriter> log_;
  std::unique_ptr<RecoveryInfo> recovery_;
  uint32_t epoch_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  alignas(64) std::atomic<uint32_t> sleeping_{0};  // futex word: 1 while the writer waits
  std::mutex control_mutex_;
  std::vector<std::vector<std::byte>> control_;  // guarded by control_mutex_
  std::atomic<bool> control_pending_{false};
  // Writer thread only.
  std::vector<uint64_t> taken_;          // per shard: records taken so far
  std::vector<uint64_t> dropped_seen_;   // per shard: dropped count already recorded
  RecordBuilder own_records_{4096};       // the writer's own records (kDropped)
  uint64_t dropped_total_ = 0;
  int64_t last_sync_us_ = 0;
  int64_t last_flush_us_ = 0;
  bool dirty_ = false;  // appended since the last sync
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> syncs_{0};
};

// One shard's producer side. Shard thread only.
class ShardSink {
 public:
  // `hub` null: audit off (enabled() false; nothing else may be called).
  ShardSink(Hub* hub, uint32_t shard);
  ShardSink(const ShardSink&) = delete;
  ShardSink& operator=(const ShardSink&) = delete;

  bool enabled() const { return hub_ != nullptr; }
  const config::AuditConfig& config() const { return hub_->config(); }
  uint32_t epoch() const { return hub_->epoch(); }
  bool failed() const { return hub_->failed(); }

  // The builder every record of this shard is made in (Begin, fields, then Emit).
  RecordBuilder& builder() { return builder_; }
  // Emits the record in builder(). Returns its local seq, or 0 when it was dropped (a
  // non-security record under on_full "drop" while the queue is full or a backlog waits).
  uint64_t Emit();
  // True when record `seq` needs no more waiting: in the queue (normal mode) or on disk
  // (durable mode). Seq 0 always passes.
  bool Passed(uint64_t seq) const {
    if (seq == 0) {
      return true;
    }
    return durable_ ? channel_->durable.load(std::memory_order_acquire) >= seq : pushed_ >= seq;
  }
  // Asks for a shard wake when the writer moves (someone waits on Passed()).
  void WantWake() { channel_->wants_wake.store(true, std::memory_order_release); }
  // Moves backlogged records into the queue and wakes the writer when anything was pushed
  // since the last call. Once per completion batch, and on wakes.
  void Pump();

  uint64_t emitted() const { return emitted_; }
  uint64_t dropped() const { return dropped_; }
  size_t backlog_size() const { return backlog_.size(); }

 private:
  Hub* const hub_;
  ShardChannel* const channel_;
  const bool durable_;
  const bool drop_other_;
  RecordBuilder builder_;
  std::deque<std::vector<std::byte>> backlog_;  // allocated only while the queue is full
  uint64_t emitted_ = 0;
  uint64_t pushed_ = 0;
  uint64_t dropped_ = 0;
  bool pushed_since_notify_ = false;
};

// The builder's capacity for `config`: one statement with its parameters plus identity fields.
size_t RecordCapacity(const config::AuditConfig& config);

}  // namespace jitgate::audit

#endif  // JITGATE_SRC_AUDIT_WRITER_H_
