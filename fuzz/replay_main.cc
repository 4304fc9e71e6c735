// fuzz/replay_main.cc: main() of the fuzz targets in ordinary builds (-Dfuzz=false, g++).
//
// Feeds every regular file named on the command line, and every regular file under every
// directory named (recursively, in sorted order, hidden files skipped), to LLVMFuzzerTestOneInput
// once, so the seed corpora in fuzz/corpus/<x>/ run as ordinary meson tests (suite fuzz-corpus).
// Each input is copied into a heap block of exactly its size, as libFuzzer does, so a sanitizer
// build catches reads past the end. Prints how many inputs ran; exits 0, or 2 when a path named
// is neither a file nor a directory (a typo must not pass as an empty corpus).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "fuzz/fuzz_target.h"

namespace {

namespace fs = std::filesystem;

// Reads `path` and runs it; false if it cannot be read.
bool RunFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return false;
  }
  auto copy = std::make_unique<uint8_t[]>(bytes.size() == 0 ? 1 : bytes.size());
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  return true;
}

// Regular files under `dir`, sorted, skipping names that start with '.'.
bool ListFiles(const fs::path& dir, std::vector<fs::path>& files) {
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::error_code type_error;
    if (!name.empty() && name[0] != '.' && it->is_regular_file(type_error)) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return !error;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize != nullptr) {
    LLVMFuzzerInitialize(&argc, &argv);
  }
  size_t input_count = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path path(argv[i]);
    std::error_code error;
    std::vector<fs::path> files;
    if (fs::is_directory(path, error)) {
      if (!ListFiles(path, files)) {
        std::fprintf(stderr, "replay: %s: cannot list the directory\n", argv[i]);
        return 2;
      }
    } else if (fs::is_regular_file(path, error)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "replay: %s: not a file or directory\n", argv[i]);
      return 2;
    }
    for (const fs::path& file : files) {
      if (!RunFile(file)) {
        std::fprintf(stderr, "replay: %s: cannot read\n", file.c_str());
        return 2;
      }
      ++input_count;
    }
  }
  std::printf("replay: ran %zu inputs\n", input_count);
  return 0;
}
