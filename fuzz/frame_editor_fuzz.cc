// fuzz/frame_editor_fuzz.cc: libFuzzer target for the forwarding path's frame editor
// (src/session/frame_editor.h), differential: a stream edited in fuzzer-chosen chunks must give
// what the whole stream edited at once gives, and both what a frame-by-frame reference gives.
//
// Input: byte 0 picks the editor (bit 0: frontend or backend grammar; bits 1-2: frame_size_max
// 16 / 64 / 4096 / 1 MiB; bits 3-4: hold_max 0 / 8 / 64 / 64 KiB; bit 5: every type is
// interesting, else a fixed set; bit 6: the callback always keeps; bit 7: the whole edit has
// zero_copy=false). Byte 1 seeds the callback's decisions. Bytes 2..8 are chunk sizes, used in
// turn (0 is an empty chunk). Bytes 9 and 10 are masks over steps (step % 8): bit set in byte 9,
// that chunk has zero_copy=false; in byte 10, stop_at_boundary (the rest of the chunk is then
// fed again without it). The rest is the stream.
// The callback's answer is a function of the frame alone (type, body size, oversize, payload and
// the seed): keep, drop, drop with replacement bytes, drop with replacement and DropUntil, or keep
// and DropUntil (Sync for the frontend, ReadyForQuery for the backend).
// Properties, beyond "no crash or sanitizer report":
//  - whole, chunked and reference edits give byte-identical output streams (each chunk's
//    forwarded prefix, then what it appended to `out`), the same callbacks (type, body size,
//    oversize, payload bytes), the same invalid status and reason, the same frame count;
//  - every call: forward <= walked <= chunk size; zero_copy=false forwards nothing; without
//    stop_at_boundary a valid call walks its whole chunk; a stop_at_boundary call stops only at a
//    boundary, and walks nothing when it starts at one;
//  - a callback sees oversize exactly when body_size > hold_max, and then no payload;
//  - when the callback always keeps: the output is a prefix of the input, all of it unless the
//    editor still holds bytes, and the whole zero-copy edit appends nothing to `out`;
//  - an invalid stream stays invalid (walked 0, nothing out, no callback); after Reset() the
//    same editor edits the stream as a fresh one does.
// Seed corpus: fuzz/corpus/frame_editor/.
#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/frame.h"
#include "src/session/frame_editor.h"

namespace pg = jitgate::parsers::pg;
using jitgate::session::EditFrame;
using jitgate::session::EditResult;
using jitgate::session::FrameAction;
using jitgate::session::FrameEditor;

namespace {

using Bytes = std::vector<std::byte>;

constexpr size_t kChunkSizeCount = 7;
constexpr size_t kHeaderSize = 2 + kChunkSizeCount + 2;
constexpr std::array<size_t, 4> kFrameSizeMaxChoices = {16, 64, 4096, size_t{1} << 20};
constexpr std::array<size_t, 4> kHoldMaxChoices = {0, 8, 64, 64 * 1024};

struct Config {
  pg::Direction direction = pg::Direction::kBackend;
  size_t frame_size_max = 0;
  size_t hold_max = 0;
  std::bitset<256> interest;
  bool keep_all = false;
  bool whole_zero_copy = true;
  uint8_t seed = 0;
  char drop_until = 0;
};

Config MakeConfig(uint8_t flags, uint8_t seed) {
  Config config;
  config.direction = (flags & 1) != 0 ? pg::Direction::kFrontend : pg::Direction::kBackend;
  config.frame_size_max = kFrameSizeMaxChoices[(flags >> 1) & 3];
  config.hold_max = kHoldMaxChoices[(flags >> 3) & 3];
  if ((flags & 0x20) != 0) {
    config.interest.set();
  } else if (config.direction == pg::Direction::kFrontend) {
    for (char type : {'Q', 'P', 'B', 'F', 'S', 'H'}) {  // 'S' and 'H' have empty bodies
      config.interest.set(static_cast<uint8_t>(type));
    }
  } else {
    for (char type : {'D', 'T', 'Z', 'n', 'E'}) {  // 'n' (NoData) has an empty body
      config.interest.set(static_cast<uint8_t>(type));
    }
  }
  config.keep_all = (flags & 0x40) != 0;
  config.whole_zero_copy = (flags & 0x80) == 0;
  config.seed = seed;
  // 55.2.3: after an error the server skips to Sync; the client side waits for ReadyForQuery.
  config.drop_until = config.direction == pg::Direction::kFrontend ? 'S' : 'Z';
  return config;
}

FrameEditor MakeEditor(const Config& config) {
  FrameEditor editor(config.direction, config.frame_size_max, config.hold_max);
  for (int type = 0; type < 256; ++type) {
    if (config.interest.test(static_cast<size_t>(type))) {
      editor.SetInterest(static_cast<char>(type));
    }
  }
  return editor;
}

bool Interesting(const Config& config, char type) {
  return config.interest.test(static_cast<uint8_t>(type));
}

// One callback; `payload` is copied (views die with their chunk).
struct Seen {
  char type = 0;
  uint32_t body_size = 0;
  bool oversize = false;
  Bytes payload;
  bool operator==(const Seen&) const = default;
};

// The callback's answer, a function of the frame and the seed alone.
struct Decision {
  FrameAction action = FrameAction::kKeep;
  Bytes replacement;  // with kDrop
  bool drop_until = false;
};

Decision Decide(const Config& config, const Seen& seen) {
  if (config.keep_all) {
    return {};
  }
  // FNV-1a over the seed, the frame's description and its payload.
  uint64_t hash = 0xcbf29ce484222325u;
  const auto mix = [&hash](uint8_t byte) {
    hash ^= byte;
    hash *= 0x100000001b3u;
  };
  mix(config.seed);
  mix(static_cast<uint8_t>(seen.type));
  mix(seen.oversize ? 1 : 0);
  for (int shift = 24; shift >= 0; shift -= 8) {
    mix(static_cast<uint8_t>(seen.body_size >> shift));
  }
  for (std::byte byte : seen.payload) {
    mix(static_cast<uint8_t>(byte));
  }
  Decision decision;
  const uint32_t kind = static_cast<uint32_t>(hash % 8);
  if (kind >= 4 && kind <= 6) {
    decision.action = FrameAction::kDrop;
  }
  if (kind == 5 || kind == 6) {
    const size_t size = 1 + (hash >> 8) % 16;
    for (size_t i = 0; i < size; ++i) {
      decision.replacement.push_back(static_cast<std::byte>((hash >> 16) + i));
    }
  }
  decision.drop_until = kind == 6 || kind == 7;
  return decision;
}

// What an edit of the stream produced.
struct Edited {
  Bytes output;  // every chunk's forwarded prefix, then what it appended to `out`
  std::vector<Seen> seen;
  bool invalid = false;
  pg::InvalidReason reason = pg::InvalidReason::kNone;
  uint64_t frames = 0;
  bool at_boundary = true;
  bool holding = false;
  bool dropping = false;
};

// One Edit call on `chunk`, its output appended to `edited`; checks the per-call properties.
EditResult EditOnce(const Config& config, FrameEditor& editor, std::span<const std::byte> chunk,
                    bool zero_copy, bool stop, Edited* edited) {
  const bool started_at_boundary = editor.at_boundary();
  const size_t seen_before = edited->seen.size();
  // `out` holds earlier bytes: the editor only appends.
  Bytes out = {std::byte{0x5a}};
  const EditResult result =
      editor.Edit(chunk, zero_copy, stop, &out, [&](const EditFrame& frame, Bytes* append) {
        JG_CHECK(Interesting(config, frame.type));
        JG_CHECK(frame.oversize == (frame.body_size > config.hold_max));
        JG_CHECK(frame.payload.size() == (frame.oversize ? 0 : frame.body_size));
        edited->seen.push_back(Seen{frame.type, frame.body_size, frame.oversize,
                                    Bytes(frame.payload.begin(), frame.payload.end())});
        const Decision decision = Decide(config, edited->seen.back());
        if (decision.drop_until) {
          editor.DropUntil(config.drop_until);
        }
        if (decision.action == FrameAction::kDrop) {
          append->insert(append->end(), decision.replacement.begin(), decision.replacement.end());
        }
        return decision.action;
      });
  JG_CHECK(!out.empty() && out[0] == std::byte{0x5a});
  JG_CHECK(result.forward <= result.walked && result.walked <= chunk.size());
  JG_CHECK(zero_copy || result.forward == 0);
  if (result.invalid) {
    JG_CHECK(editor.reason() != pg::InvalidReason::kNone);
  } else {
    JG_CHECK(editor.reason() == pg::InvalidReason::kNone);
    if (!stop) {
      JG_CHECK(result.walked == chunk.size());
    } else if (started_at_boundary) {
      JG_CHECK(result.walked == 0 && out.size() == 1 && edited->seen.size() == seen_before);
    } else if (result.walked < chunk.size()) {
      JG_CHECK(editor.at_boundary());
    }
  }
  edited->output.insert(edited->output.end(), chunk.begin(),
                        chunk.begin() + static_cast<ptrdiff_t>(result.forward));
  edited->output.insert(edited->output.end(), out.begin() + 1, out.end());
  return result;
}

void Finish(const FrameEditor& editor, Edited* edited) {
  edited->reason = editor.reason();
  edited->frames = editor.frames();
  edited->at_boundary = editor.at_boundary();
  edited->holding = editor.holding();
  edited->dropping = editor.dropping();
}

// The whole stream in one call; `*appended` is how many bytes it appended to `out`.
Edited EditWhole(const Config& config, FrameEditor& editor, std::span<const std::byte> stream,
                 size_t* appended) {
  Edited edited;
  const EditResult result =
      EditOnce(config, editor, stream, config.whole_zero_copy, false, &edited);
  edited.invalid = result.invalid;
  *appended = edited.output.size() - result.forward;
  Finish(editor, &edited);
  return edited;
}

Edited EditChunked(const Config& config, FrameEditor& editor,
                   std::span<const uint8_t, kChunkSizeCount> sizes, uint8_t copy_mask,
                   uint8_t stop_mask, std::span<const std::byte> stream) {
  // Sizes of 0 give empty chunks; all of them 0 means one chunk (else no progress).
  const bool all_zero = std::all_of(sizes.begin(), sizes.end(), [](uint8_t s) { return s == 0; });
  Edited edited;
  size_t at = 0;
  for (size_t step = 0; !edited.invalid; ++step) {
    const size_t want = all_zero ? stream.size() : sizes[step % kChunkSizeCount];
    const std::span<const std::byte> chunk = stream.subspan(at, std::min(want, stream.size() - at));
    const bool zero_copy = ((copy_mask >> (step % 8)) & 1) == 0;
    const bool stop = ((stop_mask >> (step % 8)) & 1) != 0;
    EditResult result = EditOnce(config, editor, chunk, zero_copy, stop, &edited);
    at += result.walked;
    edited.invalid = result.invalid;
    if (!result.invalid && result.walked < chunk.size()) {
      // A stop_at_boundary step left the rest of its chunk: feed it again, without the stop.
      result = EditOnce(config, editor, chunk.subspan(result.walked), zero_copy, false, &edited);
      at += result.walked;
      edited.invalid = result.invalid;
    }
    if (at == stream.size()) {
      break;
    }
  }
  Finish(editor, &edited);
  return edited;
}

// The contract applied frame by frame to the whole stream, with DecodeFrame for the headers.
Edited EditReference(const Config& config, std::span<const std::byte> stream) {
  Edited edited;
  bool dropping = false;
  const auto put = [&](std::span<const std::byte> bytes) {
    edited.output.insert(edited.output.end(), bytes.begin(), bytes.end());
  };
  size_t at = 0;
  while (true) {
    const size_t left = stream.size() - at;
    if (left < pg::kTaggedHeaderSize) {
      // A partial header waits, even one whose type byte is already bad.
      edited.at_boundary = left == 0;
      edited.holding = left > 0;
      break;
    }
    const std::span<const std::byte> header = stream.subspan(at, pg::kTaggedHeaderSize);
    const pg::Frame frame = pg::DecodeFrame(header, config.direction, config.frame_size_max);
    if (frame.status == pg::DecodeStatus::kInvalid) {
      edited.invalid = true;
      edited.reason = frame.reason;
      break;
    }
    ++edited.frames;
    const char type = frame.type;
    const uint32_t body_size = pg::internal::LoadUint32(header.data() + 1) - 4;
    const size_t body_have = std::min<size_t>(body_size, left - pg::kTaggedHeaderSize);
    const bool complete = body_have == body_size;
    const std::span<const std::byte> bytes = stream.subspan(at, pg::kTaggedHeaderSize + body_have);
    bool held = false;
    if (dropping && type != config.drop_until) {
      // Dropped as it arrives, no callback.
    } else {
      dropping = false;
      const bool oversize = body_size > config.hold_max;
      if (!Interesting(config, type)) {
        put(bytes);
      } else if (!oversize && !complete) {
        held = true;  // not judged until it is whole
      } else {
        edited.seen.push_back(
            Seen{type, body_size, oversize,
                 oversize ? Bytes() : Bytes(bytes.begin() + pg::kTaggedHeaderSize, bytes.end())});
        const Decision decision = Decide(config, edited.seen.back());
        dropping = dropping || decision.drop_until;
        if (decision.action == FrameAction::kKeep) {
          put(bytes);
        } else {
          put(decision.replacement);
        }
      }
    }
    if (!complete) {
      edited.at_boundary = false;
      edited.holding = held;
      break;
    }
    at += pg::kTaggedHeaderSize + body_size;
  }
  edited.dropping = dropping;
  return edited;
}

void CheckSame(const Edited& a, const Edited& b) {
  JG_CHECK(a.invalid == b.invalid);
  JG_CHECK(a.reason == b.reason);
  JG_CHECK(a.frames == b.frames);
  JG_CHECK(a.seen == b.seen);
  JG_CHECK(a.output == b.output);
  if (!a.invalid) {
    JG_CHECK(a.at_boundary == b.at_boundary);
    JG_CHECK(a.holding == b.holding);
    JG_CHECK(a.dropping == b.dropping);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderSize) {
    return 0;
  }
  const Config config = MakeConfig(data[0], data[1]);
  const std::span<const uint8_t, kChunkSizeCount> sizes(data + 2, kChunkSizeCount);
  const uint8_t copy_mask = data[2 + kChunkSizeCount];
  const uint8_t stop_mask = data[3 + kChunkSizeCount];
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + kHeaderSize),
                                          size - kHeaderSize);

  FrameEditor whole_editor = MakeEditor(config);
  size_t appended = 0;
  const Edited whole = EditWhole(config, whole_editor, stream, &appended);
  FrameEditor chunked_editor = MakeEditor(config);
  const Edited chunked = EditChunked(config, chunked_editor, sizes, copy_mask, stop_mask, stream);
  const Edited reference = EditReference(config, stream);

  CheckSame(whole, reference);
  CheckSame(chunked, reference);

  if (config.keep_all) {
    JG_CHECK(whole.output.size() <= stream.size());
    JG_CHECK(std::equal(whole.output.begin(), whole.output.end(), stream.begin()));
    if (!whole.invalid && !whole.holding) {
      JG_CHECK(whole.output.size() == stream.size());
    }
    JG_CHECK(!config.whole_zero_copy || appended == 0);
  }

  // Sticky: an invalid editor takes nothing more.
  if (chunked.invalid) {
    Edited after;
    const EditResult result = EditOnce(config, chunked_editor, stream, true, false, &after);
    JG_CHECK(result.invalid && result.walked == 0 && result.forward == 0);
    JG_CHECK(after.output.empty() && after.seen.empty());
  }
  // Reset: the chunked editor, whatever state it ended in, edits like a fresh one.
  chunked_editor.Reset();
  size_t appended_again = 0;
  const Edited again = EditWhole(config, chunked_editor, stream, &appended_again);
  CheckSame(again, whole);
  JG_CHECK(appended_again == appended);
  return 0;
}
