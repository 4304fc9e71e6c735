// tests/audit/audit_test_util.h: what the audit unit tests share: a scratch directory removed
// at destruction, and whole-file read and write. Inline (one copy per test binary).
#ifndef JITGATE_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
#define JITGATE_TESTS_AUDIT_AUDIT_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "jitgate/check.h"
#include "src/audit/reader.h"

namespace jitgate::audit::testing {

// A fresh directory under the test temp dir ("<prefix>XXXXXX"), removed with everything in it.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix) {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) /
                           (std::string(prefix) + "XXXXXX"))
                              .string();
    JG_CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A log directory inside it (SegmentWriter creates it).
  std::string log() const { return path_ + "/log"; }

 private:
  std::string path_;
};

// The whole file (ReadFile, src/audit/reader.h); a test bug when it cannot be read.
inline std::string Slurp(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  JG_CHECK(bytes.ok());
  return *bytes;
}

// Replaces the file with `bytes`.
inline void Spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace jitgate::audit::testing

#endif  // JITGATE_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
