// tests/parsers/pg/capture_test.cc: golden captures of real traffic (tests/data/pg/*.c2s/.s2c,
// recorded from psql and pgbench against PostgreSQL 15 by tests/data/pg/record.sh) walked frame
// by frame with the typed decoders: no invalid frame, no leftover bytes, the same result for
// every chunking, and no heap allocation on the decode path.
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"
#include "tests/common/alloc_counter.h"
#include "tests/parsers/pg/test_util.h"

namespace jitgate::parsers::pg {
namespace {

using testing::AsBytes;

struct Capture {
  std::string name;
  std::string c2s;
  std::string s2c;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<Capture> LoadCaptures() {
  std::vector<Capture> captures;
  for (const auto& entry : std::filesystem::directory_iterator(JG_PG_CAPTURE_DIR)) {
    if (entry.path().extension() != ".c2s") {
      continue;
    }
    std::filesystem::path s2c = entry.path();
    s2c.replace_extension(".s2c");
    captures.push_back({entry.path().stem().string(), ReadFile(entry.path()), ReadFile(s2c)});
  }
  std::sort(captures.begin(), captures.end(),
            [](const Capture& a, const Capture& b) { return a.name < b.name; });
  return captures;
}

// What a walk saw: per-type counts, a digest of every frame, and the first problem.
struct WalkResult {
  std::array<uint32_t, 256> type_counts{};
  uint64_t digest = 14695981039346656037ull;  // FNV-1a over types and payloads
  uint32_t frame_count = 0;
  uint32_t column_count = 0;  // DataRow columns visited
  InvalidReason error = InvalidReason::kNone;
  char error_type = 0;
  bool leftover = false;  // a partial frame at the end of the stream
  // Authentication request codes seen, in order (for the 'p' messages); at most 8.
  std::array<uint32_t, 8> auth_codes{};
  uint32_t auth_code_count = 0;
  uint32_t protocol_version = kProtocolVersion30;

  void Mix(char type, std::span<const std::byte> payload) {
    digest = (digest ^ static_cast<uint8_t>(type)) * 1099511628211ull;
    for (std::byte b : payload) {
      digest = (digest ^ static_cast<uint8_t>(b)) * 1099511628211ull;
    }
  }
  void Fail(char type, InvalidReason reason) {
    if (error == InvalidReason::kNone) {
      error = reason;
      error_type = type;
    }
  }
};

void DecodeBackendFrame(const Frame& frame, WalkResult& result) {
  InvalidReason reason = InvalidReason::kNone;
  switch (frame.type) {
    case kMsgAuthentication: {
      Authentication auth;
      reason = DecodeAuthentication(frame.payload, auth);
      if (reason == InvalidReason::kNone && auth.code != kAuthOk && auth.code != kAuthSaslFinal &&
          result.auth_code_count < result.auth_codes.size()) {
        result.auth_codes[result.auth_code_count++] = auth.code;
      }
      break;
    }
    case kMsgBackendKeyData: {
      BackendKeyData key;
      reason = DecodeBackendKeyData(frame.payload, result.protocol_version, key);
      break;
    }
    case kMsgDataRow: {
      DataRow row;
      reason = DecodeDataRow(frame.payload, row);
      ValueIterator it = row.columns();
      Value value;
      while (reason == InvalidReason::kNone && it.Next(value)) {
        ++result.column_count;
      }
      break;
    }
    case kMsgRowDescription: {
      RowDescription description;
      reason = DecodeRowDescription(frame.payload, description);
      FieldIterator it = description.fields();
      FieldDescription field;
      while (reason == InvalidReason::kNone && it.Next(field)) {
      }
      break;
    }
    default:
      reason = DecodeBackendMessage(frame.type, frame.payload);
  }
  if (reason != InvalidReason::kNone) {
    result.Fail(frame.type, reason);
  }
}

// The 'p' message after the index-th authentication request.
InvalidReason DecodePasswordFamily(std::span<const std::byte> payload, uint32_t code) {
  switch (code) {
    case kAuthSasl: {
      SaslInitialResponse m;
      return DecodeSaslInitialResponse(payload, m);
    }
    case kAuthSaslContinue: {
      SaslResponse m;
      return DecodeSaslResponse(payload, m);
    }
    case kAuthGss:
    case kAuthGssContinue:
    case kAuthSspi: {
      GssResponse m;
      return DecodeGssResponse(payload, m);
    }
    default: {
      PasswordMessage m;
      return DecodePasswordMessage(payload, m);
    }
  }
}

// Decodes one start-up packet; returns true when the tagged protocol starts after it.
bool DecodeStartupFrame(const Frame& frame, WalkResult& result) {
  StartupMessage startup;
  const InvalidReason reason = DecodeStartupPayload(frame.payload, startup);
  if (reason == InvalidReason::kNone) {
    result.protocol_version = startup.protocol_version;
    return true;
  }
  if (reason != InvalidReason::kNotStartupMessage) {
    result.Fail(0, reason);
  }
  return false;  // SSLRequest / GSSENCRequest (answered 'N'): another start-up packet follows
}

// Walks one stream in chunks of `chunk` bytes through a stager over `storage`. For the client
// stream, `auth` is the server walk's result (to decode 'p' by context). Allocates nothing.
void Walk(std::span<const std::byte> stream, Direction direction, size_t chunk,
          std::span<std::byte> storage, const WalkResult* auth, WalkResult& result) {
  FrameStager stager(storage, direction);
  uint32_t password_index = 0;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    std::span<const std::byte> input = stream.subspan(at, std::min(chunk, stream.size() - at));
    for (;;) {
      const Frame frame = stager.Next(input);
      if (frame.status == DecodeStatus::kInvalid) {
        result.Fail(frame.type, frame.reason);
        return;
      }
      if (frame.status == DecodeStatus::kNeedMore) {
        break;
      }
      ++result.frame_count;
      ++result.type_counts[static_cast<uint8_t>(frame.type)];
      result.Mix(frame.type, frame.payload);
      if (stager.direction() == Direction::kStartup) {
        if (DecodeStartupFrame(frame, result)) {
          stager.SetDirection(Direction::kFrontend);
        }
      } else if (stager.direction() == Direction::kBackend) {
        DecodeBackendFrame(frame, result);
      } else if (frame.type == kMsgPasswordMessage && auth != nullptr) {
        const uint32_t code = password_index < auth->auth_code_count
                                  ? auth->auth_codes[password_index]
                                  : kAuthCleartextPassword;
        ++password_index;
        const InvalidReason reason = DecodePasswordFamily(frame.payload, code);
        if (reason != InvalidReason::kNone) {
          result.Fail(frame.type, reason);
        }
      } else {
        const InvalidReason reason = DecodeFrontendMessage(frame.type, frame.payload);
        if (reason != InvalidReason::kNone) {
          result.Fail(frame.type, reason);
        }
      }
    }
  }
  // Every kOk was followed by another Next, so staged bytes now are a partial frame.
  result.leftover = stager.staged_size() != 0;
}

constexpr size_t kStorageSize = 1 << 16;

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    captures_ = LoadCaptures();
    storage_.resize(kStorageSize);
  }
  std::vector<Capture> captures_;
  std::vector<std::byte> storage_;
};

TEST_F(CaptureTest, EveryFrameDecodes) {
  ASSERT_GE(captures_.size(), 6u) << "captures missing in " << JG_PG_CAPTURE_DIR;
  std::array<uint32_t, 256> backend_types{};
  std::array<uint32_t, 256> frontend_types{};
  for (const Capture& capture : captures_) {
    WalkResult server;
    Walk(AsBytes(capture.s2c), Direction::kBackend, capture.s2c.size() + 1, storage_, nullptr,
         server);
    EXPECT_EQ(server.error, InvalidReason::kNone)
        << capture.name << " s2c: " << InvalidReasonName(server.error) << " on '"
        << server.error_type << "'";
    EXPECT_FALSE(server.leftover) << capture.name;
    WalkResult client;
    Walk(AsBytes(capture.c2s), Direction::kStartup, capture.c2s.size() + 1, storage_, &server,
         client);
    EXPECT_EQ(client.error, InvalidReason::kNone)
        << capture.name << " c2s: " << InvalidReasonName(client.error) << " on '"
        << client.error_type << "'";
    EXPECT_FALSE(client.leftover) << capture.name;
    EXPECT_GT(client.frame_count, 1u) << capture.name;
    for (size_t i = 0; i < 256; ++i) {
      backend_types[i] += server.type_counts[i];
      frontend_types[i] += client.type_counts[i];
    }
  }
  // The captures cover what they were recorded for (no client recorded sends Describe of a
  // statement, so ParameterDescription 't' is covered by backend_test.cc only).
  for (char type :
       {'R', 'S', 'K', 'Z', 'T', 'D', 'C', 'E', 'N', '1', '2', 'n', 'G', 'H', 'd', 'c', 'A'}) {
    EXPECT_GT(backend_types[static_cast<uint8_t>(type)], 0u) << "backend " << type;
  }
  for (char type : {'Q', 'P', 'B', 'D', 'E', 'S', 'X', 'p', 'd', 'c'}) {
    EXPECT_GT(frontend_types[static_cast<uint8_t>(type)], 0u) << "frontend " << type;
  }
}

TEST_F(CaptureTest, EveryChunkingMatchesOneShot) {
  for (const Capture& capture : captures_) {
    WalkResult server;
    Walk(AsBytes(capture.s2c), Direction::kBackend, capture.s2c.size() + 1, storage_, nullptr,
         server);
    WalkResult client;
    Walk(AsBytes(capture.c2s), Direction::kStartup, capture.c2s.size() + 1, storage_, &server,
         client);
    for (size_t chunk : {1, 2, 3, 5, 7, 13, 64, 100, 1500}) {
      WalkResult s;
      Walk(AsBytes(capture.s2c), Direction::kBackend, chunk, storage_, nullptr, s);
      EXPECT_EQ(s.digest, server.digest) << capture.name << " chunk " << chunk;
      EXPECT_EQ(s.frame_count, server.frame_count) << capture.name << " chunk " << chunk;
      EXPECT_EQ(s.column_count, server.column_count) << capture.name << " chunk " << chunk;
      WalkResult c;
      Walk(AsBytes(capture.c2s), Direction::kStartup, chunk, storage_, &server, c);
      EXPECT_EQ(c.digest, client.digest) << capture.name << " chunk " << chunk;
      EXPECT_EQ(c.error, InvalidReason::kNone) << capture.name << " chunk " << chunk;
    }
  }
}

TEST_F(CaptureTest, DecodingAllocatesNothing) {
  ASSERT_FALSE(captures_.empty());
  uint64_t allocations = 0;
  uint32_t frames = 0;
  for (const Capture& capture : captures_) {
    WalkResult server;
    WalkResult client;
    WalkResult chunked;
    {
      jitgate::testing::AllocationScope scope;
      Walk(AsBytes(capture.s2c), Direction::kBackend, capture.s2c.size(), storage_, nullptr,
           server);
      Walk(AsBytes(capture.c2s), Direction::kStartup, capture.c2s.size(), storage_, &server,
           client);
      Walk(AsBytes(capture.s2c), Direction::kBackend, 7, storage_, nullptr, chunked);
      allocations += scope.count();
    }
    frames += server.frame_count + client.frame_count;
  }
  EXPECT_GT(frames, 100u);
  EXPECT_EQ(allocations, 0u);
}

}  // namespace
}  // namespace jitgate::parsers::pg
