// src/config/secrets.cc: ResolveSecrets (jitgate/config.h), the only code that reads the
// gateway's backend passwords. Called once by main on the control thread at start-up, before the
// shards start; never by Parse, so `jitgate policy check` and the fuzzer touch no secret.
//
// A password is read from an environment variable or a file into Resource::password (and the
// masking hash key into MaskingConfig::hash_key) and never logged; errors name the resource (or
// "masking") and the variable or file, never the value.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "jitgate/config.h"
#include "jitgate/status_macros.h"
#include "src/config/config_internal.h"

namespace jitgate::config {
namespace {

using internal::Quote;

// A database password is a few dozen bytes; the bound keeps a wrong path (a log file) out.
constexpr size_t kPasswordSizeMax = 1024;

// A secret read from an environment variable or a file: `where` prefixes every message
// ("resources.orders: password_env: "), `what` names the secret ("a password").
struct SecretSource {
  std::string where;
  absl::string_view what;
  size_t size_min = 1;
  size_t size_max = kPasswordSizeMax;
};

absl::Status CheckSecret(const SecretSource& secret, absl::string_view source,
                         absl::string_view value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(secret.where, source, " is empty"));
  }
  if (value.size() < secret.size_min) {
    return absl::InvalidArgumentError(absl::StrCat(secret.where, source, " holds ", value.size(),
                                                   " bytes; ", secret.what, " needs at least ",
                                                   secret.size_min));
  }
  if (value.size() > secret.size_max) {
    return absl::InvalidArgumentError(absl::StrCat(secret.where, source, " holds more than ",
                                                   secret.size_max, " bytes, too long for ",
                                                   secret.what));
  }
  if (value.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(secret.where, source, " holds a NUL byte"));
  }
  return absl::OkStatus();
}

absl::Status ReadEnvSecret(const SecretSource& secret, const std::string& variable,
                           std::string& out) {
  const std::string source = absl::StrCat("environment variable ", Quote(variable));
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(secret.where, source, " is not set"));
  }
  JG_RETURN_IF_ERROR(CheckSecret(secret, source, value));
  out = value;
  return absl::OkStatus();
}

absl::Status ReadFileSecret(const SecretSource& secret, const std::string& path,
                            std::vector<std::string>* warnings, std::string& out) {
  const std::string& where = secret.where;
  const std::string source = absl::StrCat("file ", Quote(path));
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(where, "cannot open ", source));
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const int error = errno;
    close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat(where, "cannot stat ", source));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(where, source, " is not a regular file"));
  }
  if ((info.st_mode & S_IROTH) != 0) {
    close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat(where, source,
                     " is readable by every user (mode ", absl::StrFormat("%04o", info.st_mode & 07777),
                     "); chmod 600 it and change the secret, it has leaked"));
  }
  if ((info.st_mode & S_IRGRP) != 0 && warnings != nullptr) {
    warnings->push_back(absl::StrCat(where, source, " is readable by its group (mode ",
                                     absl::StrFormat("%04o", info.st_mode & 07777),
                                     "); chmod 600 it unless the group is meant to read it"));
  }
  std::string text(secret.size_max + 2, '\0');  // room for the newline and one byte too many
  size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::ErrnoToStatus(error, absl::StrCat(where, "cannot read ", source));
    }
    if (n == 0) {
      break;
    }
    size += static_cast<size_t>(n);
  }
  close(fd);
  text.resize(size);
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r') {
      text.pop_back();
    }
  }
  JG_RETURN_IF_ERROR(CheckSecret(secret, source, text));
  out = std::move(text);
  return absl::OkStatus();
}

// The HMAC key of the "hash" masking strategy: SHA-256's block is 64 bytes; fewer than 32 would
// be weaker than the MAC.
constexpr size_t kMaskKeySizeMin = 32;

}  // namespace

absl::Status ResolveSecrets(Config& config, std::vector<std::string>* warnings) {
  for (Resource& resource : config.resources) {
    resource.password.clear();
    if (!resource.password_env.empty()) {
      const SecretSource secret{absl::StrCat("resources.", resource.name, ": password_env: "),
                                "a password"};
      JG_RETURN_IF_ERROR(ReadEnvSecret(secret, resource.password_env, resource.password));
    } else if (!resource.password_file.empty()) {
      const SecretSource secret{absl::StrCat("resources.", resource.name, ": password_file: "),
                                "a password"};
      JG_RETURN_IF_ERROR(
          ReadFileSecret(secret, resource.password_file, warnings, resource.password));
    }
  }
  MaskingConfig& masking = config.masking;
  masking.hash_key.clear();
  if (!masking.hash_key_env.empty()) {
    const SecretSource secret{"masking: hash_key_env: ", "a hash key", kMaskKeySizeMin};
    JG_RETURN_IF_ERROR(ReadEnvSecret(secret, masking.hash_key_env, masking.hash_key));
  } else if (!masking.hash_key_file.empty()) {
    const SecretSource secret{"masking: hash_key_file: ", "a hash key", kMaskKeySizeMin};
    JG_RETURN_IF_ERROR(ReadFileSecret(secret, masking.hash_key_file, warnings, masking.hash_key));
  }
  AuditConfig& audit = config.audit;
  audit.chain_key.clear();
  if (!audit.chain_key_env.empty()) {
    const SecretSource secret{"audit: chain_key_env: ", "a chain key", kMaskKeySizeMin};
    JG_RETURN_IF_ERROR(ReadEnvSecret(secret, audit.chain_key_env, audit.chain_key));
  } else if (!audit.chain_key_file.empty()) {
    const SecretSource secret{"audit: chain_key_file: ", "a chain key", kMaskKeySizeMin};
    JG_RETURN_IF_ERROR(ReadFileSecret(secret, audit.chain_key_file, warnings, audit.chain_key));
  }
  return absl::OkStatus();
}

}  // namespace jitgate::config
