// src/audit/writer.cc: see writer.h.
#include "src/audit/writer.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "jitgate/check.h"
#include "src/audit/segment.h"
#include "src/common/log.h"

namespace jitgate::audit {
namespace {

// At most this many records of one shard per pass, so one busy shard cannot starve the others
// (nor delay a durable batch's fsync).
constexpr size_t kTakePerShardMax = 8192;
// Longest sleep of an idle writer (it also wakes for the fsync interval and on NotifyWriter).
// Normal mode: shards do not wake the writer for every batch (a futex wake costs more than the
// record), only when a queue is a quarter full, so it polls this often.
constexpr int64_t kIdleSleepUsMax = 50000;
constexpr int64_t kNormalPollUs = 5000;
// Normal mode: buffered frames are written out at least this often (a crash of the process
// then loses at most this much that the page cache had not got yet, plus the fsync interval
// on a power loss).
constexpr int64_t kFlushIntervalUs = 10000;

int64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, int64_t timeout_us) {
  timespec timeout{static_cast<time_t>(timeout_us / 1000000),
                   static_cast<long>((timeout_us % 1000000) * 1000)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, &timeout,
          nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

}  // namespace

size_t RecordCapacity(const config::AuditConfig& config) {
  return size_t{config.statement_bytes_max} + config.params_bytes_max + (64u << 10);
}

absl::StatusOr<std::unique_ptr<Hub>> Hub::Open(const config::AuditConfig& config,
                                               uint32_t shard_count, std::string version) {
  JG_CHECK(config.enabled && shard_count >= 1);
  std::unique_ptr<Hub> hub(new Hub());
  hub->config_ = config;
  hub->recovery_ = std::make_unique<RecoveryInfo>();
  LogOptions options;
  options.dir = config.dir;
  options.segment_size_max = config.segment_size_max;
  options.chain_key = config.chain_key;
  options.version = std::move(version);
  absl::StatusOr<std::unique_ptr<SegmentWriter>> log =
      SegmentWriter::Open(options, hub->recovery_.get());
  if (!log.ok()) {
    return absl::Status(log.status().code(),
                        absl::StrCat("audit log ", config.dir, ": ", log.status().message()));
  }
  hub->log_ = std::move(*log);
  hub->epoch_ = hub->log_->epoch();
  if (absl::Status status = hub->log_->Sync(); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("audit log ", config.dir, ": ", status.message()));
  }
  for (uint32_t i = 0; i < shard_count; ++i) {
    hub->channels_.push_back(std::make_unique<ShardChannel>(config.queue_bytes));
  }
  hub->taken_.assign(shard_count, 0);
  hub->dropped_seen_.assign(shard_count, 0);
  hub->control_.reserve(64);
  return hub;
}

Hub::~Hub() {
  if (thread_.joinable()) {
    Stop();
  }
}

void Hub::SetShardWake(uint32_t shard, std::function<void()> wake) {
  JG_CHECK(shard < channels_.size() && !thread_.joinable());
  channels_[shard]->wake = std::move(wake);
}

void Hub::Start() {
  JG_CHECK(!thread_.joinable());
  last_sync_us_ = MonotonicUs();
  thread_ = std::thread([this] { Run(); });
}

void Hub::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  stop_.store(true, std::memory_order_release);
  sleeping_.store(0, std::memory_order_seq_cst);
  FutexWake(&sleeping_);
  thread_.join();
  // The shards are gone: what is left in the queues is taken here, on this thread.
  while (!failed() && DrainOnce() > 0) {
  }
  if (!failed()) {
    if (absl::Status status = log_->Close(dropped_total_); !status.ok()) {
      Fail(status);
    }
  }
  Publish(true);
}

HubStats Hub::stats() const {
  return HubStats{records_.load(std::memory_order_relaxed), syncs_.load(std::memory_order_relaxed),
                  dropped_total_};
}

void Hub::EmitControl(std::span<const std::byte> queued) {
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    control_.emplace_back(queued.begin(), queued.end());
  }
  control_pending_.store(true, std::memory_order_release);
  NotifyWriter();
}

void Hub::NotifyWriter() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed) != 0 &&
      sleeping_.exchange(0, std::memory_order_seq_cst) != 0) {
    FutexWake(&sleeping_);
  }
}

void Hub::Fail(const absl::Status& status) {
  if (!failed_.exchange(true, std::memory_order_acq_rel)) {
    JG_LOG(kError,
           "event=audit_failed dir=%s error=\"%s\" action=\"statements are refused until "
           "restart\"",
           config_.dir.c_str(), std::string(status.message()).c_str());
  }
}

size_t Hub::DrainOnce() {
  size_t taken_total = 0;
  for (uint32_t shard = 0; shard < channels_.size(); ++shard) {
    ShardChannel& channel = *channels_[shard];
    size_t taken = 0;
    while (taken < kTakePerShardMax) {
      const std::span<const std::byte> record = channel.queue.Front();
      if (record.data() == nullptr) {
        break;
      }
      if (record.size() >= kQueuedHeaderSize &&
          record.size() - kQueuedHeaderSize + kRecordHeaderSize <= kBodySizeMax) {
        log_->AppendQueued(record, shard);
      }
      channel.queue.Pop(record.size());
      ++taken;
    }
    if (taken > 0) {
      channel.queue.Release();
      taken_[shard] += taken;
      taken_total += taken;
    }
    const uint64_t dropped = channel.dropped.load(std::memory_order_acquire);
    if (dropped != dropped_seen_[shard]) {
      own_records_.Begin(RecordType::kDropped, kFlagSecurity, WallTimeUs(), 0);
      own_records_.Integer(Field::kShard, shard);
      own_records_.Integer(Field::kDropped, dropped - dropped_seen_[shard]);
      log_->AppendQueued(own_records_.Finish(), shard);
      dropped_total_ += dropped - dropped_seen_[shard];
      dropped_seen_[shard] = dropped;
      ++taken_total;
    }
  }
  if (control_pending_.load(std::memory_order_acquire)) {
    std::vector<std::vector<std::byte>> records;
    {
      std::lock_guard<std::mutex> lock(control_mutex_);
      records.swap(control_);
      control_pending_.store(false, std::memory_order_release);
    }
    for (const std::vector<std::byte>& record : records) {
      if (record.size() >= kQueuedHeaderSize) {
        log_->AppendQueued(record, kShardControl);
        ++taken_total;
      }
    }
  }
  if (taken_total > 0) {
    dirty_ = true;
    records_.fetch_add(taken_total, std::memory_order_relaxed);
  }
  return taken_total;
}

void Hub::Publish(bool synced) {
  for (uint32_t shard = 0; shard < channels_.size(); ++shard) {
    ShardChannel& channel = *channels_[shard];
    const uint64_t taken = taken_[shard];
    bool moved = false;
    if (channel.written.load(std::memory_order_relaxed) != taken) {
      // Only when it moved: the line is the shards' to read, every pass would bounce it.
      channel.written.store(taken, std::memory_order_release);
      moved = true;
    }
    if (synced && channel.durable.load(std::memory_order_relaxed) != taken) {
      channel.durable.store(taken, std::memory_order_release);
      moved = true;
    }
    if (moved && channel.wants_wake.load(std::memory_order_acquire) &&
        channel.wants_wake.exchange(false, std::memory_order_acq_rel) && channel.wake) {
      channel.wake();
    }
  }
}

void Hub::Run() {
  const int64_t interval_us = int64_t{config_.fsync_interval_ms} * 1000;
  while (!stop_.load(std::memory_order_acquire)) {
    if (failed()) {
      // Nothing reaches the disk any more: keep the queues moving so no shard blocks forever on
      // a full queue; sessions see failed() and refuse statements.
      for (auto& channel : channels_) {
        while (true) {
          const std::span<const std::byte> record = channel->queue.Front();
          if (record.data() == nullptr) {
            break;
          }
          channel->queue.Pop(record.size());
        }
        channel->queue.Release();
        if (channel->wants_wake.exchange(false) && channel->wake) {
          channel->wake();
        }
      }
      sleeping_.store(1, std::memory_order_seq_cst);
      FutexWait(&sleeping_, 1, kIdleSleepUsMax);
      continue;
    }
    const size_t taken = DrainOnce();
    if (!log_->status().ok()) {
      Fail(log_->status());
      continue;
    }
    const int64_t now_us = MonotonicUs();
    bool synced = false;
    if (dirty_ && (durable_mode() || now_us - last_sync_us_ >= interval_us)) {
      // Durable: every batch is fsync'ed before anyone is told (group commit: whatever the
      // shards pushed while the previous fsync ran is one batch now).
      if (absl::Status status = log_->Sync(); !status.ok()) {
        Fail(status);
        continue;
      }
      syncs_.fetch_add(1, std::memory_order_relaxed);
      last_sync_us_ = now_us;
      dirty_ = false;
      synced = true;
    } else if (dirty_ && now_us - last_flush_us_ >= kFlushIntervalUs) {
      if (absl::Status status = log_->Flush(); !status.ok()) {
        Fail(status);
        continue;
      }
      last_flush_us_ = now_us;
    }
    if (synced) {
      last_flush_us_ = now_us;
    }
    Publish(synced);
    if (taken > 0) {
      continue;
    }
    // Idle: sleep until a shard pushes (NotifyWriter), the next fsync is due, or a while.
    int64_t sleep_us = durable_mode() ? kIdleSleepUsMax : kNormalPollUs;
    if (dirty_ && !durable_mode()) {
      sleep_us = std::min(sleep_us, std::max<int64_t>(100, last_sync_us_ + interval_us - now_us));
    }
    sleeping_.store(1, std::memory_order_seq_cst);
    bool any = control_pending_.load(std::memory_order_acquire);
    for (size_t i = 0; i < channels_.size() && !any; ++i) {
      any = channels_[i]->queue.used_bytes() > 0 ||
            channels_[i]->dropped.load(std::memory_order_acquire) != dropped_seen_[i];
    }
    if (!any && !stop_.load(std::memory_order_acquire)) {
      FutexWait(&sleeping_, 1, std::min(sleep_us, kIdleSleepUsMax));
    }
    sleeping_.store(0, std::memory_order_relaxed);
  }
}

// ---- ShardSink -------------------------------------------------------------------------------

ShardSink::ShardSink(Hub* hub, uint32_t shard)
    : hub_(hub),
      channel_(hub != nullptr ? &hub->channel(shard) : nullptr),
      durable_(hub != nullptr && hub->durable_mode()),
      drop_other_(hub != nullptr && hub->config().on_full == config::AuditOnFull::kDrop),
      builder_(hub != nullptr ? RecordCapacity(hub->config()) : 4096) {}

uint64_t ShardSink::Emit() {
  JG_DCHECK(enabled());
  const std::span<const std::byte> record = builder_.Finish();
  const bool security = (LoadU16(record.data() + 2) & kFlagSecurity) != 0;
  if (backlog_.empty() && channel_->queue.TryPush(record)) {
    ++pushed_;
    pushed_since_notify_ = true;
    return ++emitted_;
  }
  if (!security && drop_other_) {
    ++dropped_;
    channel_->dropped.store(dropped_, std::memory_order_release);
    return 0;
  }
  backlog_.emplace_back(record.begin(), record.end());
  WantWake();
  return ++emitted_;
}

void ShardSink::Pump() {
  while (!backlog_.empty()) {
    if (!channel_->queue.TryPush(backlog_.front())) {
      WantWake();
      break;
    }
    backlog_.pop_front();
    ++pushed_;
    pushed_since_notify_ = true;
  }
  // Durable mode: someone may wait for these records to reach the disk. Normal mode: the
  // writer polls; it is woken only when a queue fills up.
  if (pushed_since_notify_ &&
      (durable_ || !backlog_.empty() ||
       channel_->queue.used_bytes() > channel_->queue.capacity() / 4)) {
    pushed_since_notify_ = false;
    hub_->NotifyWriter();
  }
}

}  // namespace jitgate::audit
