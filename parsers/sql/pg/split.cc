// parsers/sql/pg/split.cc: statement splitter and fingerprint (jitgate/parsers/sql/pg/split.h).
//
// The hash works a word at a time: each token contributes its kind and length, then its bytes in
// 8-byte chunks (lower-cased with a SWAR trick for words), each folded in with a 64x64->128-bit
// multiply. Literals contribute only their kind.
#include "jitgate/parsers/sql/pg/split.h"

#include <cstring>

namespace jitgate::parsers::sql::pg {
namespace {

constexpr uint64_t kMulA = 0xa0761d6478bd642full;
constexpr uint64_t kMulB = 0xe7037ed1a0b428dbull;
constexpr uint64_t kMulC = 0x8ebc6af09c88c6e3ull;
constexpr uint64_t kHighBits = 0x8080808080808080ull;

inline uint64_t Mix(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

// ASCII A-Z to a-z in eight bytes at once; bytes >= 0x80 are left alone (the server does not fold
// them in UTF8).
inline uint64_t LowerAscii(uint64_t x) {
  const uint64_t heptets = x & ~kHighBits;
  const uint64_t above_z = heptets + 0x2525252525252525ull;  // bit 7 set when byte > 'Z'
  const uint64_t from_a = heptets + 0x3f3f3f3f3f3f3f3full;   // bit 7 set when byte >= 'A'
  const uint64_t upper = ~x & (from_a ^ above_z) & kHighBits;
  return x | (upper >> 2);
}

inline uint64_t Load(const char* p, size_t size) {
  uint64_t word = 0;
  std::memcpy(&word, p, size);
  return word;
}

// The hash class of a token kind: the server's token for it (SCONST covers '', E'' and $$).
inline uint64_t KindCode(TokenKind kind) {
  switch (kind) {
    case TokenKind::kString:
    case TokenKind::kEscapeString:
    case TokenKind::kDollarString:
      return 1;
    default:
      return 2 + static_cast<uint64_t>(kind);
  }
}

// Up to 8 bytes of text at `at` (`left` of them belong to the token), zero-padded.
inline uint64_t Chunk(std::string_view text, size_t at, size_t left, bool fold) {
  uint64_t word = 0;
  if (at + 8 <= text.size()) {
    std::memcpy(&word, text.data() + at, 8);  // one load; mask off the bytes past the token
    if (left < 8) {
      word &= (uint64_t{1} << (8 * left)) - 1;
    }
  } else {
    word = Load(text.data() + at, left < 8 ? left : 8);
  }
  return fold ? LowerAscii(word) : word;
}

class Hasher {
 public:
  Hasher(uint64_t seed, LexMode mode)
      : state_(Mix(seed ^ kMulC, mode.standard_conforming_strings ? kMulA : kMulB)) {}

  // One 64x64->128 multiply per token of up to 8 bytes (most tokens), one more per further 8.
  void Add(std::string_view text, const Token& token) {
    const bool literal = IsLiteral(token.kind);
    const uint64_t head = (KindCode(token.kind) << 32) | (literal ? 0 : token.length);
    if (literal) {
      state_ = Mix(state_ ^ head, kMulA);
      return;
    }
    const bool fold = token.kind == TokenKind::kWord;
    size_t at = token.offset;
    size_t left = token.length;
    uint64_t word = Chunk(text, at, left, fold);
    state_ = Mix(state_ ^ head, word ^ kMulB);
    while (left > 8) {
      at += 8;
      left -= 8;
      word = Chunk(text, at, left, fold);
      state_ = Mix(state_ ^ word, kMulA);
    }
  }

  uint64_t Finish(uint32_t token_count) const {
    return Mix(state_ ^ token_count, kMulC) ^ state_;
  }

 private:
  uint64_t state_;
};

// ASCII case-insensitive comparison of a word token with a lower-case keyword.
bool IsWord(std::string_view text, const Token& token, std::string_view keyword) {
  if (token.kind != TokenKind::kWord || token.length != keyword.size()) {
    return false;
  }
  for (size_t i = 0; i < keyword.size(); ++i) {
    if ((text[token.offset + i] | 0x20) != keyword[i]) {
      return false;
    }
  }
  return true;
}

// SQL-standard function bodies (PG 14+): CREATE FUNCTION ... BEGIN ATOMIC stmt; stmt; END holds
// ';' that do not end the statement. CASE ... END inside the body is counted so its END does not
// close the body. Getting this wrong is safe either way: a piece that is too long still parses as
// all its statements (the classifier folds them); a piece that is too short fails to parse.
struct AtomicBody {
  bool after_begin = false;
  bool inside = false;
  uint32_t case_depth = 0;

  void See(std::string_view text, const Token& token) {
    if (token.kind != TokenKind::kWord) {
      after_begin = false;
      return;
    }
    if (!inside) {
      inside = after_begin && IsWord(text, token, "atomic");
      after_begin = !inside && IsWord(text, token, "begin");
      return;
    }
    if (IsWord(text, token, "case")) {
      ++case_depth;
    } else if (IsWord(text, token, "end")) {
      if (case_depth == 0) {
        inside = false;
      } else {
        --case_depth;
      }
    }
  }
};

}  // namespace

SplitResult SplitStatements(std::string_view text, LexMode mode, uint64_t seed,
                            std::span<StatementSpan> out) {
  SplitResult result;
  Lexer lexer(text, mode);
  Hasher hasher(seed, mode);
  Token token;
  uint32_t depth = 0;
  AtomicBody atomic;
  uint32_t tokens = 0;
  uint32_t first = 0;
  uint32_t end = 0;
  auto flush = [&]() -> bool {
    if (tokens == 0) {
      return true;  // empty statement: skipped
    }
    if (result.count >= out.size()) {
      result.status = SplitStatus::kOverflow;
      return false;
    }
    out[result.count++] = {first, end - first, tokens, hasher.Finish(tokens)};
    return true;
  };
  while (lexer.Next(&token)) {
    if (token.kind == TokenKind::kComment) {
      continue;
    }
    if (token.kind == TokenKind::kOperator && token.length == 1) {
      const char c = text[token.offset];
      if (c == ';' && depth == 0 && !atomic.inside) {
        if (!flush()) {
          return result;
        }
        tokens = 0;
        hasher = Hasher(seed, mode);
        atomic = AtomicBody();
        continue;
      }
      if (c == '(') {
        ++depth;
      } else if (c == ')' && depth > 0) {
        --depth;
      }
    }
    atomic.See(text, token);
    if (tokens == 0) {
      first = token.offset;
    }
    ++tokens;
    end = token.offset + token.length;
    hasher.Add(text, token);
  }
  if (lexer.status() != LexStatus::kOk) {
    result.status = SplitStatus::kLexError;
    result.lex_status = lexer.status();
    result.error_offset = lexer.error_offset();
    if (tokens == 0) {
      first = lexer.error_offset();
    }
    if (result.count >= out.size()) {
      result.status = SplitStatus::kOverflow;  // no room even for the failing statement
      return result;
    }
    out[result.count++] = {first, static_cast<uint32_t>(text.size()) - first, tokens, 0};
    return result;
  }
  flush();
  return result;
}

bool FingerprintStatement(std::string_view statement, LexMode mode, uint64_t seed,
                          uint64_t* fingerprint) {
  Lexer lexer(statement, mode);
  Hasher hasher(seed, mode);
  Token token;
  uint32_t tokens = 0;
  while (lexer.Next(&token)) {
    if (token.kind != TokenKind::kComment) {
      ++tokens;
      hasher.Add(statement, token);
    }
  }
  *fingerprint = lexer.status() == LexStatus::kOk ? hasher.Finish(tokens) : 0;
  return lexer.status() == LexStatus::kOk;
}

}  // namespace jitgate::parsers::sql::pg
