// ringio/tag.h: the 64-bit user_data carried by every submission and its completions.
//
// A tag packs {op, side, generation, slot}. `slot` names the owner (a session slot, a listener
// index); `generation` is bumped each time the slot is reused, so a completion that arrives for
// an older occupant of the slot is detected, not followed. `op` and `side` mean whatever the
// owner says; ringio only packs and unpacks them. Op 0xff is reserved (liburing uses
// user_data ~0 internally on kernels without EXT_ARG).
#ifndef JITGATE_RINGIO_TAG_H_
#define JITGATE_RINGIO_TAG_H_

#include <cstdint>

namespace jitgate::ringio {

struct Tag {
  uint8_t op = 0;
  uint8_t side = 0;
  uint16_t generation = 0;
  uint32_t slot = 0;

  friend constexpr bool operator==(const Tag&, const Tag&) = default;
};

inline constexpr uint8_t kOpReserved = 0xff;

// Layout, most significant first: op:8 | side:8 | generation:16 | slot:32.
constexpr uint64_t PackTag(Tag tag) {
  return (uint64_t{tag.op} << 56) | (uint64_t{tag.side} << 48) | (uint64_t{tag.generation} << 32) |
         uint64_t{tag.slot};
}

constexpr Tag UnpackTag(uint64_t user_data) {
  return Tag{static_cast<uint8_t>(user_data >> 56), static_cast<uint8_t>(user_data >> 48),
             static_cast<uint16_t>(user_data >> 32), static_cast<uint32_t>(user_data)};
}

static_assert(UnpackTag(PackTag(Tag{7, 1, 0xbeef, 0xdeadbeef})) == Tag{7, 1, 0xbeef, 0xdeadbeef});

}  // namespace jitgate::ringio

#endif  // JITGATE_RINGIO_TAG_H_
