// Implementation of src/shard/shard.h: the shard thread, its loop and its one dispatch switch.
#include "src/shard/shard.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "jitgate/check.h"
#include "ringio/result.h"
#include "src/common/log.h"

namespace jitgate::shard {
namespace {

using ringio::Tag;

// The tick drives idle timeouts, refusal deadlines, the shutdown grace period and grant expiry:
// a grant's sessions are cut within 100 ms of its end (two ticks), and a tick visits only live
// sessions, so 20 ticks a second cost nothing measurable.
constexpr int64_t kTickMs = 50;
// The kernel caps the backlog at net.core.somaxconn; ask for plenty so bursts of connects
// (pgbench -C, a fleet reconnecting) queue instead of failing.
constexpr int kListenBacklog = 4096;
// Each shard's buffer ring uses group 0 of its own ring.
constexpr uint16_t kBufferGroup = 0;

int64_t MonotonicMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

}  // namespace

Shard::Shard(uint32_t index, int cpu, const config::Config& config, const session::GatewayEnv* env,
             Balancer* balancer)
    : index_(index), cpu_(cpu), config_(config), env_(env), balancer_(balancer) {
  tick_.tv_sec = 0;
  tick_.tv_nsec = kTickMs * 1000000;
}

Shard::~Shard() {
  if (thread_.joinable()) {
    RequestStop(true);
    thread_.join();
  }
  for (int fd : listen_fds_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

void Shard::Start() {
  thread_ = std::thread([this] { ThreadMain(); });
}

absl::Status Shard::WaitReady() {
  ready_.acquire();
  return setup_status_;
}

void Shard::RequestStop(bool immediate) {
  int level = immediate ? 2 : 1;
  int current = stop_level_.load(std::memory_order_relaxed);
  while (current < level &&
         !stop_level_.compare_exchange_weak(current, level, std::memory_order_release)) {
  }
  if (wake_.has_value()) {
    wake_->Signal();
  }
}

void Shard::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Shard::ThreadMain() {
  setup_status_ = SetUp();
  const bool ok = setup_status_.ok();
  ready_.release();
  if (ok) {
    if (balancer_ != nullptr) {
      balancer_->Open(index_);  // it can be woken now
    }
    Loop();
  }
  if (balancer_ != nullptr) {
    balancer_->Close(index_);  // nothing more can be handed to this shard
  }
  // The ring and everything registered with it go away with this thread.
  relay_.reset();
  buffers_.reset();
  ring_.reset();
  finished_.store(true, std::memory_order_release);
}

absl::Status Shard::SetUp() {
  if (cpu_ >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu_, &set);
    const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc != 0) {
      JG_LOG(kWarn, "event=pin_failed shard=%u cpu=%d error=%s", index_, cpu_, std::strerror(rc));
    }
  }
  char name[16];
  std::snprintf(name, sizeof(name), "jitgate-shard%u", index_);
  pthread_setname_np(pthread_self(), name);

  const config::Limits& limits = config_.limits;
  ringio::RingOptions options;
  options.sq_entries = limits.ring_entries;
  options.cq_entries = limits.ring_entries * 4;
  auto ring = ringio::Ring::Create(options);
  if (!ring.ok()) {
    return ring.status();
  }
  ring_ = std::move(*ring);
  auto buffers =
      ringio::BufRing::Create(ring_.get(), kBufferGroup, limits.buffer_count, limits.buffer_size);
  if (!buffers.ok()) {
    return buffers.status();
  }
  buffers_ = std::move(*buffers);
  auto wake = ringio::Wake::Create();
  if (!wake.ok()) {
    return wake.status();
  }
  wake_.emplace(std::move(*wake));
  relay_ = std::make_unique<Relay>(index_, config_, ring_.get(), buffers_.get(), &stats_, env_);
  if (absl::Status status = relay_->Init(); !status.ok()) {
    return status;
  }
  if (absl::Status status = OpenListeners(); !status.ok()) {
    return status;
  }
  for (uint32_t i = 0; i < listen_fds_.size(); ++i) {
    ring_->MultishotAccept(listen_fds_[i], Tag{kOpAccept, 0, 0, i});
    accept_armed_[i] = true;
  }
  wake_->Arm(ring_.get(), Tag{kOpWake, 0, 0, 0});
  ArmTick();
  if (const int rc = ring_->Submit(); rc < 0) {
    return absl::InternalError(
        absl::StrFormat("shard %u: first submit: %s", index_, std::strerror(-rc)));
  }
  return absl::OkStatus();
}

absl::Status Shard::OpenListeners() {
  listen_fds_.assign(config_.listeners.size(), -1);
  accept_armed_.assign(config_.listeners.size(), false);
  for (uint32_t i = 0; i < config_.listeners.size(); ++i) {
    const config::Listener& listener = config_.listeners[i];
    const sockaddr_storage& address = listener.address.addr;
    const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrFormat("listener %s: socket: %s", listener.name, std::strerror(errno)));
    }
    listen_fds_[i] = fd;
    const int one = 1;
    // SO_REUSEPORT: every shard binds its own socket to the same address and the kernel spreads
    // incoming connections across them, so shards never share an accept queue.
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      return absl::InternalError(
          absl::StrFormat("listener %s: setsockopt: %s", listener.name, std::strerror(errno)));
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&address), listener.address.addr_length) != 0) {
      const int error = errno;
      return absl::FailedPreconditionError(absl::StrFormat(
          "listener %s: cannot bind %s: %s%s", listener.name, listener.address.text,
          std::strerror(error),
          error == EADDRINUSE ? " (another process listens there; pick another address)" : ""));
    }
    if (listen(fd, kListenBacklog) != 0) {
      return absl::InternalError(
          absl::StrFormat("listener %s: listen: %s", listener.name, std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

void Shard::ArmTick() { ring_->Timeout(&tick_, Tag{kOpTick, 0, 0, 0}); }

void Shard::Loop() {
  now_ms_ = MonotonicMs();
  while (!done_) {
    const int rc = ring_->SubmitAndWait(1);
    if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EAGAIN && rc != -EBUSY) {
      JG_LOG(kError, "event=ring_wait_failed shard=%u error=%s", index_, std::strerror(-rc));
      break;
    }
    now_ms_ = MonotonicMs();
    ring_->Drain([this](const io_uring_cqe& cqe) { Dispatch(cqe); });
    relay_->AfterBatch();
    if (balancer_ != nullptr) {
      balancer_->Publish(index_, relay_->active());
    }
    if (stopping_ && relay_->active() == 0) {
      done_ = true;
    }
  }
  relay_->FlushAudit(5000);
}

void Shard::Dispatch(const io_uring_cqe& cqe) {
  const Tag tag = ringio::UnpackTag(cqe.user_data);
  switch (tag.op) {
    case kOpAccept:
      OnAccept(tag.slot, cqe);
      break;
    case kOpWake:
      OnWake();
      break;
    case kOpTick:
      OnTick();
      break;
    case kOpListenerCancel:
      break;  // the accept's own completion (-ECANCELED) closes the listener
    case kOpConnect:
    case kOpConnectTimeout:
    case kOpRecv:
    case kOpSend:
    case kOpShutdown:
    case kOpCancel:
    case kOpRefuseSend:
    case kOpWatch:
      relay_->OnCompletion(tag, cqe, now_ms_);
      break;
    default:
      JG_LOG(kError, "event=unknown_completion shard=%u user_data=%llu res=%d", index_,
             static_cast<unsigned long long>(cqe.user_data), cqe.res);
      break;
  }
}

void Shard::OnAccept(uint32_t listener_index, const io_uring_cqe& cqe) {
  JG_CHECK(listener_index < listen_fds_.size());
  const bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) {
    accept_armed_[listener_index] = false;
  }
  if (cqe.res >= 0) {
    if (stopping_) {
      close(cqe.res);
    } else if (balancer_ != nullptr && balancer_->Route(index_, cqe.res, listener_index)) {
      ++stats_.handed_off;  // the other shard owns the descriptor now
    } else {
      relay_->OnAccepted(cqe.res, listener_index, now_ms_);
      if (balancer_ != nullptr) {
        balancer_->Publish(index_, relay_->active());  // before the next accept is routed
      }
    }
  } else if (ringio::ClassifyResult(cqe.res) != ringio::IoError::kCanceled) {
    JG_LOG(kWarn, "event=accept_failed shard=%u listener=%s error=%s", index_,
           config_.listeners[listener_index].name.c_str(), ringio::ErrnoName(-cqe.res));
  }
  if (more) {
    return;
  }
  if (stopping_) {
    close(listen_fds_[listener_index]);
    listen_fds_[listener_index] = -1;
  } else if (cqe.res >= 0) {
    ring_->MultishotAccept(listen_fds_[listener_index], Tag{kOpAccept, 0, 0, listener_index});
    accept_armed_[listener_index] = true;
  } else {
    ++accept_rearm_pending_;  // e.g. EMFILE: retry at the next tick instead of spinning
  }
}

void Shard::OnWake() {
  AdoptHandoffs();
  relay_->OnAuditProgress();
  const int level = stop_level_.load(std::memory_order_acquire);
  if (level > stop_level_seen_) {
    stop_level_seen_ = level;
    BeginStop(level >= 2);
  }
  if (!done_) {
    wake_->Arm(ring_.get(), Tag{kOpWake, 0, 0, 0});
  }
}

void Shard::AdoptHandoffs() {
  if (balancer_ == nullptr) {
    return;
  }
  handoffs_.clear();
  balancer_->Take(index_, &handoffs_);
  if (handoffs_.empty()) {
    return;
  }
  // Never while stopping: BeginStop closed the inbox (and closed what was in it).
  for (const Handoff& handoff : handoffs_) {
    relay_->OnAccepted(handoff.fd, handoff.listener, now_ms_);
  }
  stats_.adopted += handoffs_.size();
  balancer_->Publish(index_, relay_->active());
  balancer_->Adopted(index_, static_cast<uint32_t>(handoffs_.size()));
}

void Shard::BeginStop(bool immediate) {
  if (!stopping_) {
    stopping_ = true;
    if (balancer_ != nullptr) {
      balancer_->Close(index_);
    }
    stop_deadline_ms_ = now_ms_ + int64_t{config_.limits.shutdown_grace_s} * 1000;
    for (uint32_t i = 0; i < listen_fds_.size(); ++i) {
      if (accept_armed_[i]) {
        ring_->Cancel(Tag{kOpAccept, 0, 0, i}, Tag{kOpListenerCancel, 0, 0, i});
      } else if (listen_fds_[i] >= 0) {
        close(listen_fds_[i]);
        listen_fds_[i] = -1;
      }
    }
    JG_LOG(kInfo, "event=shard_stopping shard=%u sessions=%u grace_s=%u", index_, relay_->active(),
           immediate ? 0 : config_.limits.shutdown_grace_s);
  }
  if (immediate) {
    stop_deadline_ms_ = now_ms_;
    relay_->CloseAll(CloseReason::kShutdown);
  }
}

void Shard::OnTick() {
  relay_->CheckTimers(now_ms_);
  if (accept_rearm_pending_ > 0 && !stopping_) {
    accept_rearm_pending_ = 0;
    for (uint32_t i = 0; i < listen_fds_.size(); ++i) {
      if (!accept_armed_[i] && listen_fds_[i] >= 0) {
        ring_->MultishotAccept(listen_fds_[i], Tag{kOpAccept, 0, 0, i});
        accept_armed_[i] = true;
      }
    }
  }
  if (stopping_ && now_ms_ >= stop_deadline_ms_ && relay_->active() > 0) {
    relay_->CloseAll(CloseReason::kShutdown);
  }
  ArmTick();
}

}  // namespace jitgate::shard
