// parsers/sql/mysql/keywords.cc: the keyword lookup of jitgate/parsers/sql/mysql/keywords.h.
//
// A constexpr open-addressing table (FNV-1a over ASCII-upper-cased bytes, linear probing) built at
// compile time from the X-macro list; a lookup is one hash, one or two probes and one compare.
// Invariant: kKeywordCount < kSlotCount / 2, so probing always finds an empty slot.
#include "jitgate/parsers/sql/mysql/keywords.h"

#include <array>
#include <cstddef>

namespace jitgate::parsers::sql::mysql {
namespace {

constexpr std::string_view kKeywordTexts[] = {
    "",
#define JG_MYSQL_KEYWORD_TEXT(id, text) text,
    JG_MYSQL_KEYWORDS(JG_MYSQL_KEYWORD_TEXT)
#undef JG_MYSQL_KEYWORD_TEXT
};
constexpr size_t kKeywordCount = sizeof(kKeywordTexts) / sizeof(kKeywordTexts[0]);
constexpr size_t kSlotCount = 1024;
constexpr size_t kKeywordLengthMax = 16;  // longer words are never keywords (fast reject)
static_assert(kKeywordCount < kSlotCount / 2, "keep the table at most half full");

constexpr char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

constexpr uint32_t Hash(std::string_view word) {
  uint32_t hash = 2166136261u;
  for (char c : word) {
    hash = (hash ^ static_cast<uint8_t>(Upper(c))) * 16777619u;
  }
  return hash;
}

constexpr std::array<uint16_t, kSlotCount> BuildTable() {
  std::array<uint16_t, kSlotCount> slots{};
  for (size_t i = 1; i < kKeywordCount; ++i) {
    size_t slot = Hash(kKeywordTexts[i]) & (kSlotCount - 1);
    while (slots[slot] != 0) {
      slot = (slot + 1) & (kSlotCount - 1);
    }
    slots[slot] = static_cast<uint16_t>(i);
  }
  return slots;
}

constexpr bool LengthsFit() {
  for (std::string_view text : kKeywordTexts) {
    if (text.size() > kKeywordLengthMax) {
      return false;
    }
  }
  return true;
}
static_assert(LengthsFit(), "raise kKeywordLengthMax");

constexpr bool LettersOnly() {
  for (std::string_view text : kKeywordTexts) {
    for (char c : text) {
      if (!((c >= 'A' && c <= 'Z') || c == '_')) {
        return false;
      }
    }
  }
  return true;
}
static_assert(LettersOnly(), "LookupKeyword rejects words with other characters early");

constexpr std::array<uint16_t, kSlotCount> kSlots = BuildTable();

bool EqualsUpper(std::string_view word, std::string_view upper) {
  if (word.size() != upper.size()) {
    return false;
  }
  for (size_t i = 0; i < word.size(); ++i) {
    if (Upper(word[i]) != upper[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

Keyword LookupKeyword(std::string_view word) {
  if (word.size() < 2 || word.size() > kKeywordLengthMax) {
    return Keyword::kNone;
  }
  uint32_t hash = 2166136261u;
  for (char c : word) {
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!letter) {
      return Keyword::kNone;  // every keyword is letters and '_' only
    }
    hash = (hash ^ static_cast<uint8_t>(Upper(c))) * 16777619u;
  }
  size_t slot = hash & (kSlotCount - 1);
  while (kSlots[slot] != 0) {
    const uint16_t index = kSlots[slot];
    if (EqualsUpper(word, kKeywordTexts[index])) {
      return static_cast<Keyword>(index);
    }
    slot = (slot + 1) & (kSlotCount - 1);
  }
  return Keyword::kNone;
}

std::string_view KeywordText(Keyword keyword) {
  const size_t index = static_cast<size_t>(keyword);
  return index < kKeywordCount ? kKeywordTexts[index] : std::string_view();
}

}  // namespace jitgate::parsers::sql::mysql
