// src/config/secrets.cc: ResolveSecrets (jitgate/config.h), the only code that reads the
// gateway's backend passwords. Called once by main on the control thread at start-up, before the
// shards start; never by Parse, so `jitgate policy check` and the fuzzer touch no secret.
//
// A password is read from an environment variable or a file into Resource::password and never
// logged; errors name the resource and the variable or file, never the value.
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

std::string Where(const Resource& resource, absl::string_view key) {
  return absl::StrCat("resources.", resource.name, ": ", key, ": ");
}

absl::Status CheckPassword(const Resource& resource, absl::string_view key,
                           absl::string_view source, absl::string_view password) {
  if (password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Where(resource, key), source, " is empty"));
  }
  if (password.size() > kPasswordSizeMax) {
    return absl::InvalidArgumentError(absl::StrCat(Where(resource, key), source, " holds more than ",
                                                   kPasswordSizeMax, " bytes, too long for a "
                                                   "password"));
  }
  if (password.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(resource, key), source, " holds a NUL byte"));
  }
  return absl::OkStatus();
}

absl::Status ReadEnvPassword(Resource& resource) {
  const std::string source = absl::StrCat("environment variable ", Quote(resource.password_env));
  const char* value = std::getenv(resource.password_env.c_str());
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(resource, "password_env"), source, " is not set"));
  }
  JG_RETURN_IF_ERROR(CheckPassword(resource, "password_env", source, value));
  resource.password = value;
  return absl::OkStatus();
}

absl::Status ReadFilePassword(Resource& resource, std::vector<std::string>* warnings) {
  const std::string where = Where(resource, "password_file");
  const std::string source = absl::StrCat("file ", Quote(resource.password_file));
  const int fd = open(resource.password_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
                     "); chmod 600 it and change the password, it has leaked"));
  }
  if ((info.st_mode & S_IRGRP) != 0 && warnings != nullptr) {
    warnings->push_back(absl::StrCat(where, source, " is readable by its group (mode ",
                                     absl::StrFormat("%04o", info.st_mode & 07777),
                                     "); chmod 600 it unless the group is meant to read it"));
  }
  std::string text(kPasswordSizeMax + 2, '\0');  // room for the newline and one byte too many
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
  JG_RETURN_IF_ERROR(CheckPassword(resource, "password_file", source, text));
  resource.password = std::move(text);
  return absl::OkStatus();
}

}  // namespace

absl::Status ResolveSecrets(Config& config, std::vector<std::string>* warnings) {
  for (Resource& resource : config.resources) {
    resource.password.clear();
    if (!resource.password_env.empty()) {
      JG_RETURN_IF_ERROR(ReadEnvPassword(resource));
    } else if (!resource.password_file.empty()) {
      JG_RETURN_IF_ERROR(ReadFilePassword(resource, warnings));
    }
  }
  return absl::OkStatus();
}

}  // namespace jitgate::config
