// src/grants/store.cc: see store.h. The log is the source of truth: an append comes before the
// in-memory change it records, so what memory holds was always written first.
#include "src/grants/store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "jitgate/check.h"
#include "jitgate/status_macros.h"
#include "src/common/log.h"

namespace jitgate::grants {
namespace {

constexpr absl::string_view kVersion = "v1";
constexpr size_t kCheckHexSize = 16;  // 8 bytes of SHA-256
constexpr size_t kIdRandomBytes = 8;
constexpr absl::string_view kIdPrefix = "g-";
// Replay reads the log in chunks of this size.
constexpr size_t kReadChunkSize = 64 * 1024;

absl::string_view AbslView(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

bool NeedsEscape(unsigned char c) { return c <= 0x20 || c >= 0x7f || c == '%'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;  // lowercase is not canonical
}

// The inverse of EscapeField, refusing any non-canonical form (so one value has one spelling and
// the checksum covers exactly it). Empty fields are refused too: we never write one.
bool UnescapeField(absl::string_view text, std::string* out) {
  out->clear();
  if (text.empty()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c != '%') {
      if (NeedsEscape(c)) {
        return false;
      }
      out->push_back(static_cast<char>(c));
      continue;
    }
    if (i + 2 >= text.size()) {
      return false;
    }
    const int high = HexValue(text[i + 1]);
    const int low = HexValue(text[i + 2]);
    if (high < 0 || low < 0 || !NeedsEscape(static_cast<unsigned char>(high * 16 + low))) {
      return false;
    }
    out->push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return true;
}

std::string Check(absl::string_view payload) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  JG_CHECK(EVP_Digest(payload.data(), payload.size(), digest, &digest_size, EVP_sha256(),
                      nullptr) == 1);
  JG_CHECK(digest_size >= kCheckHexSize / 2);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), kCheckHexSize / 2));
}

bool IsGrantId(absl::string_view id) {
  if (id.size() != kIdPrefix.size() + 2 * kIdRandomBytes || !absl::StartsWith(id, kIdPrefix)) {
    return false;
  }
  return std::all_of(id.begin() + kIdPrefix.size(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Seconds to milliseconds, saturating (a token's exp is attacker-chosen only after signature
// validation, but a huge value must still not overflow).
int64_t SecondsToMs(int64_t seconds) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 1000;
  if (seconds >= kMax) {
    return std::numeric_limits<int64_t>::max();
  }
  if (seconds <= -kMax) {
    return std::numeric_limits<int64_t>::min();
  }
  return seconds * 1000;
}

std::string IssuedPayload(const Grant& grant) {
  return absl::StrCat("issued ", grant.id, " ", grant.issued_at_ms, " ", grant.expires_at_ms, " ",
                      EscapeField(grant.subject), " ", EscapeField(grant.resource), " ",
                      EscapeField(grant.policy));
}

std::string ExpiredPayload(absl::string_view id, int64_t at_ms) {
  return absl::StrCat("expired ", id, " ", at_ms);
}

}  // namespace

std::string EscapeField(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::string FormatRecord(std::string_view payload) {
  return absl::StrCat(kVersion, " ", Check(AbslView(payload)), " ", AbslView(payload), "\n");
}

Store::Store(std::string path, int fd, bool fsync) : path_(std::move(path)), fd_(fd), fsync_(fsync) {}

Store::~Store() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const config::GrantsConfig& config,
                                                   int64_t now_ms) {
  if (config.log_file.empty()) {
    return std::unique_ptr<Store>(new Store("", -1, false));
  }
  const int fd = open(config.log_file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(config.log_file, ": cannot open grant log"));
  }
  std::unique_ptr<Store> store(new Store(config.log_file, fd, config.fsync));
  JG_RETURN_IF_ERROR(store->Replay(now_ms));
  return store;
}

absl::Status Store::ReplayLine(
    std::string_view line_view, size_t line_number,
    absl::flat_hash_map<std::string, std::shared_ptr<const Grant>>& grants) {
  const absl::string_view line = AbslView(line_view);
  const auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(path_, ": line ", line_number, ": ", what,
                                            " (the grant log is corrupt; move it aside to start "
                                            "with no grants)"));
  };
  const size_t header_size = kVersion.size() + 1 + kCheckHexSize + 1;
  if (line.size() <= header_size || line.substr(0, kVersion.size()) != kVersion ||
      line[kVersion.size()] != ' ' || line[header_size - 1] != ' ') {
    return corrupt("not a v1 record");
  }
  const absl::string_view payload = line.substr(header_size);
  if (line.substr(kVersion.size() + 1, kCheckHexSize) != Check(payload)) {
    return corrupt("checksum mismatch");
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(payload, ' ');
  if (fields[0] == "issued" && fields.size() == 7) {
    auto grant = std::make_shared<Grant>();
    grant->id = std::string(fields[1]);
    if (!IsGrantId(fields[1]) || !absl::SimpleAtoi(fields[2], &grant->issued_at_ms) ||
        !absl::SimpleAtoi(fields[3], &grant->expires_at_ms) ||
        grant->issued_at_ms >= grant->expires_at_ms ||
        !UnescapeField(fields[4], &grant->subject) || !UnescapeField(fields[5], &grant->resource) ||
        !UnescapeField(fields[6], &grant->policy)) {
      return corrupt("malformed issued record");
    }
    if (!grants.emplace(grant->id, grant).second) {
      return corrupt(absl::StrCat("grant ", grant->id, " issued twice"));
    }
    return absl::OkStatus();
  }
  int64_t at_ms = 0;
  if (fields[0] == "expired" && fields.size() == 3 && IsGrantId(fields[1]) &&
      absl::SimpleAtoi(fields[2], &at_ms)) {
    if (grants.erase(fields[1]) != 1) {
      return corrupt(absl::StrCat("expired record for unknown grant ", fields[1]));
    }
    return absl::OkStatus();
  }
  return corrupt("unknown record");
}

absl::Status Store::Replay(int64_t now_ms) {
  absl::flat_hash_map<std::string, std::shared_ptr<const Grant>> grants;
  std::string pending;  // bytes after the last newline seen
  std::string chunk(kReadChunkSize, '\0');
  uint64_t offset = 0;
  uint64_t good_size = 0;  // end of the last complete line
  size_t line_number = 0;
  for (;;) {
    const ssize_t n = pread(fd_, chunk.data(), chunk.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat(path_, ": cannot read grant log"));
    }
    if (n == 0) {
      break;
    }
    offset += static_cast<uint64_t>(n);
    absl::string_view data(chunk.data(), static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t newline = data.find('\n');
      const size_t take = newline == absl::string_view::npos ? data.size() : newline;
      pending.append(data.data(), take);
      if (pending.size() > kLineSizeMax) {
        return absl::DataLossError(absl::StrCat(path_, ": line ", line_number + 1,
                                                ": longer than ", kLineSizeMax, " bytes"));
      }
      if (newline == absl::string_view::npos) {
        break;
      }
      ++line_number;
      JG_RETURN_IF_ERROR(ReplayLine(pending, line_number, grants));
      good_size += pending.size() + 1;
      pending.clear();
      data.remove_prefix(newline + 1);
    }
  }
  absl::MutexLock lock(&mutex_);
  log_size_ = good_size;
  if (!pending.empty()) {
    torn_tail_bytes_ = pending.size();
    JG_LOG(kWarn, "event=grant_log_torn_tail file=%s line=%zu bytes=%zu action=truncated",
           path_.c_str(), line_number + 1, pending.size());
    if (ftruncate(fd_, static_cast<off_t>(good_size)) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat(path_, ": cannot truncate the torn last line of the grant log"));
    }
  }
  for (auto& [id, grant] : grants) {
    if (grant->expires_at_ms > now_ms) {
      Insert(std::move(grant));
      continue;
    }
    // It ended while the gateway was down: say so in the log.
    JG_RETURN_IF_ERROR(Append(ExpiredPayload(id, now_ms)));
  }
  if (active_.size() > kActiveGrantsMax) {
    return absl::ResourceExhaustedError(absl::StrCat(path_, ": more than ", kActiveGrantsMax,
                                                     " active grants"));
  }
  return absl::OkStatus();
}

absl::Status Store::Append(std::string_view payload) {
  if (fd_ < 0) {
    return absl::OkStatus();
  }
  if (log_broken_) {
    return absl::FailedPreconditionError(absl::StrCat(
        path_, ": grant log unusable after a failed write; fix the disk and restart"));
  }
  const std::string line = FormatRecord(payload);
  JG_DCHECK(line.size() <= kLineSizeMax + 1);
  ssize_t written = 0;
  do {
    written = write(fd_, line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(line.size())) {
    const int error = written < 0 ? errno : ENOSPC;  // a short append to a file: out of space
    // Take the partial line back out, or the next record would follow garbage mid-file.
    if (written > 0 && ftruncate(fd_, static_cast<off_t>(log_size_)) != 0) {
      log_broken_ = true;
    }
    return absl::ErrnoToStatus(error, absl::StrCat(path_, ": cannot append to grant log"));
  }
  log_size_ += line.size();
  if (fsync_ && fdatasync(fd_) != 0) {
    // What reached the disk is unknown now (the kernel may have dropped the dirty pages).
    log_broken_ = true;
    return absl::ErrnoToStatus(errno, absl::StrCat(path_, ": cannot fdatasync grant log"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Store::NewId() const {
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned char random[kIdRandomBytes];
    if (RAND_bytes(random, sizeof(random)) != 1) {
      return absl::InternalError("RAND_bytes failed: cannot make a grant id");
    }
    std::string id = absl::StrCat(
        kIdPrefix, absl::BytesToHexString(
                       absl::string_view(reinterpret_cast<const char*>(random), sizeof(random))));
    if (!active_.contains(id)) {
      return id;
    }
  }
  return absl::InternalError("RAND_bytes repeats itself: cannot make a unique grant id");
}

void Store::Insert(std::shared_ptr<const Grant> grant) {
  JG_DCHECK(grant->issued_at_ms < grant->expires_at_ms);
  Key key{grant->subject, grant->resource, grant->policy};
  auto [it, inserted] = by_key_.try_emplace(std::move(key), grant);
  if (!inserted && it->second->expires_at_ms < grant->expires_at_ms) {
    it->second = grant;
  }
  const std::string id = grant->id;
  active_.insert_or_assign(id, std::move(grant));
}

absl::StatusOr<std::shared_ptr<const Grant>> Store::IssueAuto(const Identity& who,
                                                              std::string_view resource,
                                                              std::string_view policy,
                                                              uint32_t max_duration_s,
                                                              int64_t now_ms) {
  if (who.subject.empty() || who.subject.size() > kSubjectSizeMax || resource.empty() ||
      resource.size() > kSubjectSizeMax || policy.empty() || policy.size() > kSubjectSizeMax) {
    return absl::InvalidArgumentError(
        "grant: subject, resource and policy must be 1 to 1024 bytes");
  }
  if (max_duration_s == 0) {
    return absl::InvalidArgumentError("grant: max_duration_s must be positive");
  }
  const int64_t duration_end_ms =
      now_ms > std::numeric_limits<int64_t>::max() - int64_t{max_duration_s} * 1000
          ? std::numeric_limits<int64_t>::max()
          : now_ms + int64_t{max_duration_s} * 1000;
  const int64_t expires_at_ms = std::min(duration_end_ms, SecondsToMs(who.expires_at_s));
  if (expires_at_ms <= now_ms) {
    return absl::FailedPreconditionError(
        absl::StrCat("grant: the token expired at ", who.expires_at_s, " s, before now (",
                     now_ms, " ms)"));
  }
  Key key{who.subject, std::string(resource), std::string(policy)};
  absl::MutexLock lock(&mutex_);
  if (auto it = by_key_.find(key); it != by_key_.end() && it->second->expires_at_ms > now_ms) {
    return it->second;
  }
  if (active_.size() >= kActiveGrantsMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("grant: ", kActiveGrantsMax, " grants are active, the most the store holds"));
  }
  JG_ASSIGN_OR_RETURN(std::string id, NewId());
  auto grant = std::make_shared<Grant>();
  grant->id = std::move(id);
  grant->subject = who.subject;
  grant->resource = std::string(resource);
  grant->policy = std::string(policy);
  grant->issued_at_ms = now_ms;
  grant->expires_at_ms = expires_at_ms;
  JG_RETURN_IF_ERROR(Append(IssuedPayload(*grant)));
  std::shared_ptr<const Grant> issued = std::move(grant);
  Insert(issued);
  return issued;
}

std::vector<std::shared_ptr<const Grant>> Store::SweepExpired(int64_t now_ms) {
  absl::MutexLock lock(&mutex_);
  std::vector<std::shared_ptr<const Grant>> ended;
  std::vector<std::shared_ptr<const Grant>> recorded;
  for (const auto& [id, grant] : active_) {
    if (grant->expires_at_ms <= now_ms) {
      ended.push_back(grant);
    }
  }
  for (const std::shared_ptr<const Grant>& grant : ended) {
    const absl::Status status = Append(ExpiredPayload(grant->id, now_ms));
    if (!status.ok()) {
      JG_LOG(kError, "event=grant_sweep_failed grant=%s error=\"%s\"", grant->id.c_str(),
             std::string(status.message()).c_str());
      return recorded;  // the rest stay for the next sweep
    }
    recorded.push_back(grant);
    active_.erase(grant->id);
    auto it = by_key_.find(Key{grant->subject, grant->resource, grant->policy});
    if (it != by_key_.end() && it->second == grant) {
      by_key_.erase(it);
    }
  }
  return recorded;
}

std::vector<std::shared_ptr<const Grant>> Store::Active() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::shared_ptr<const Grant>> grants;
  grants.reserve(active_.size());
  for (const auto& [id, grant] : active_) {
    grants.push_back(grant);
  }
  return grants;
}

size_t Store::active_count() const {
  absl::MutexLock lock(&mutex_);
  return active_.size();
}

}  // namespace jitgate::grants
