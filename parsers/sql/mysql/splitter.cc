// parsers/sql/mysql/splitter.cc: statement splitting and fingerprints of
// jitgate/parsers/sql/mysql/splitter.h.
//
// The splitter runs one lexer over the whole text (so a ';' inside /*! ... */ splits, as the
// server's parser does) and tracks BEGIN ... END nesting only inside stored-program bodies and
// compound statements. Miscounting is fail-closed: a depth too high merges later statements into
// one piece, which the classifier then scans as a whole (classify.cc, VerbScan).
#include "jitgate/parsers/sql/mysql/splitter.h"

namespace jitgate::parsers::sql::mysql {
namespace {

// BEGIN ... END tracking for one piece.
class CompoundTracker {
 public:
  explicit CompoundTracker(bool mariadb) : mariadb_(mariadb) {}

  bool InBody() const { return depth_ > 0; }

  void Observe(const Token& token, char first_char) {
    const Keyword kw = token.kind == TokenKind::kWord ? token.keyword : Keyword::kNone;
    if (if_pending_) {
      if_pending_ = false;
      const bool condition = kw != Keyword::kExists && kw != Keyword::kNot;
      if (condition && (if_at_statement_start_ || token.kind != TokenKind::kLParen)) {
        ++depth_;
      }
    }
    if (begin_pending_) {
      begin_pending_ = false;
      if (kw == Keyword::kNot) {  // MariaDB BEGIN NOT ATOMIC ... END
        active_ = true;
        depth_ = 1;
      }
    }
    if (index_ == 0) {
      StartPiece(token, kw);
    } else if (index_ == 1 && label_candidate_ && first_char == ':') {
      active_ = true;  // `label: BEGIN|LOOP|WHILE|REPEAT ...`
    } else if (first_ == Keyword::kCreate &&
               (kw == Keyword::kProcedure || kw == Keyword::kFunction ||
                kw == Keyword::kTrigger || kw == Keyword::kEvent)) {
      active_ = true;
    } else if (active_) {
      Nest(token, kw);
    }
    prev_kind_ = token.kind;
    prev_keyword_ = kw;
    ++index_;
  }

 private:
  void StartPiece(const Token& token, Keyword kw) {
    first_ = kw;
    label_candidate_ = token.kind == TokenKind::kWord && kw == Keyword::kNone;
    if (kw == Keyword::kBegin) {
      begin_pending_ = true;
    } else if (mariadb_ && (kw == Keyword::kIf || kw == Keyword::kWhile ||
                            kw == Keyword::kLoop || kw == Keyword::kRepeat ||
                            kw == Keyword::kCase)) {
      active_ = true;  // MariaDB runs compound statements outside stored programs
      Nest(token, kw);
    }
  }

  bool AtStatementStart() const {
    if (index_ == 0 || prev_kind_ == TokenKind::kSemicolon) {
      return true;
    }
    switch (prev_keyword_) {
      case Keyword::kBegin:
      case Keyword::kThen:
      case Keyword::kElse:
      case Keyword::kDo:
      case Keyword::kLoop:
      case Keyword::kRepeat:
      case Keyword::kRow:
        return true;
      default:
        return prev_kind_ == TokenKind::kOperator;  // after `label:`
    }
  }

  void Nest(const Token& token, Keyword kw) {
    (void)token;
    const bool after_end = prev_keyword_ == Keyword::kEnd;
    switch (kw) {
      case Keyword::kBegin:
      case Keyword::kCase:
        if (!after_end) {
          ++depth_;
        }
        break;
      case Keyword::kLoop:
      case Keyword::kWhile:
      case Keyword::kRepeat:
        if (!after_end) {
          ++depth_;
        }
        break;
      case Keyword::kIf:
        if (!after_end) {
          if_pending_ = true;
          if_at_statement_start_ = AtStatementStart();
        }
        break;
      case Keyword::kEnd:
        if (depth_ > 0) {
          --depth_;
        }
        break;
      default:
        break;
    }
  }

  bool mariadb_;
  uint32_t index_ = 0;
  uint32_t depth_ = 0;
  Keyword first_ = Keyword::kNone;
  Keyword prev_keyword_ = Keyword::kNone;
  TokenKind prev_kind_ = TokenKind::kEnd;
  bool active_ = false;
  bool label_candidate_ = false;
  bool begin_pending_ = false;
  bool if_pending_ = false;
  bool if_at_statement_start_ = false;
};

Piece MakePiece(size_t begin, size_t end, uint8_t flags) {
  Piece piece;
  piece.offset = static_cast<uint32_t>(begin);
  piece.length = static_cast<uint32_t>(end - begin);
  piece.flags = flags;
  return piece;
}

}  // namespace

SplitResult Split(std::string_view text, LexMode mode, std::span<Piece> out) {
  SplitResult result;
  if (out.empty()) {
    result.overflow = true;
    return result;
  }
  Lexer lexer(text, mode);
  CompoundTracker compound(mode.mariadb);
  size_t piece_begin = 0;
  uint8_t flags = 0;
  bool any_token = false;
  LexError error = LexError::kNone;
  for (;;) {
    const Token token = lexer.Next();
    if (token.kind == TokenKind::kEnd) {
      break;
    }
    if (token.kind == TokenKind::kError) {
      flags |= kPieceLexError;
      error = lexer.error();
      break;
    }
    if (token.kind == TokenKind::kExecOpen || token.kind == TokenKind::kExecClose) {
      continue;
    }
    if (token.kind != TokenKind::kSemicolon || compound.InBody()) {
      any_token = true;
      compound.Observe(token, text[token.offset]);
      continue;
    }
    if (result.count + 1 == out.size()) {
      result.overflow = true;  // the last slot takes the rest of the text
      any_token = true;
      continue;
    }
    const size_t end = token.offset + 1;
    const uint8_t ends = lexer.in_exec() ? kPieceEndsInExec : 0;
    out[result.count++] = MakePiece(piece_begin, end, flags | ends | (any_token ? 0 : kPieceEmpty));
    piece_begin = end;
    flags = lexer.in_exec() ? kPieceStartsInExec : 0;
    any_token = false;
    compound = CompoundTracker(mode.mariadb);
  }
  if (!any_token && result.count > 0 && (flags & kPieceLexError) == 0) {
    Piece& last = out[result.count - 1];  // trailing blanks, comments or `*/` join the last one
    last.length = static_cast<uint32_t>(text.size() - last.offset);
    last.flags = static_cast<uint8_t>(last.flags & ~kPieceEndsInExec);
    return result;
  }
  Piece piece = MakePiece(piece_begin, text.size(), flags | (any_token ? 0 : kPieceEmpty));
  piece.error = error;
  out[result.count++] = piece;
  return result;
}

Lexer PieceLexer(std::string_view text, const Piece& piece, LexMode mode) {
  return Lexer(text, mode, piece.offset, static_cast<size_t>(piece.offset) + piece.length,
               (piece.flags & kPieceStartsInExec) != 0, (piece.flags & kPieceEndsInExec) != 0);
}

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

inline uint64_t MixByte(uint64_t hash, uint8_t byte) { return (hash ^ byte) * kFnvPrime; }

inline uint8_t Fold(char c) {
  return static_cast<uint8_t>((c >= 'a' && c <= 'z') ? c - 32 : c);
}

uint64_t MixText(uint64_t hash, std::string_view bytes, bool fold) {
  for (char c : bytes) {
    hash = MixByte(hash, fold ? Fold(c) : static_cast<uint8_t>(c));
  }
  return hash;
}

// A quoted identifier hashes as its decoded name, so `t` and t share a shape.
uint64_t MixQuotedIdent(uint64_t hash, std::string_view quoted, bool fold) {
  if (quoted.size() < 2) {
    return hash;
  }
  const char quote = quoted.front();
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    const char c = quoted[i];
    if (c == quote) {
      ++i;  // a doubled quote stands for one
    }
    hash = MixByte(hash, fold ? Fold(c) : static_cast<uint8_t>(c));
  }
  return hash;
}

uint64_t MixToken(uint64_t hash, const Lexer& lexer, const Token& token, bool fold_identifiers) {
  const std::string_view bytes = lexer.TokenText(token);
  switch (token.kind) {
    case TokenKind::kWord:
      if (token.keyword != Keyword::kNone) {
        return MixText(MixByte(hash, 'K'), bytes, true);
      }
      return MixText(MixByte(hash, 'I'), bytes, fold_identifiers);
    case TokenKind::kQuotedIdent:
      return MixQuotedIdent(MixByte(hash, 'I'), bytes, fold_identifiers);
    case TokenKind::kUserVar:
    case TokenKind::kSysVar:
    case TokenKind::kExecOpen:
      return MixText(MixByte(hash, static_cast<uint8_t>(token.kind)), bytes, true);
    case TokenKind::kOperator:
      return MixText(MixByte(hash, 'O'), bytes, false);
    case TokenKind::kError:
      return MixByte(MixByte(hash, 0xff), static_cast<uint8_t>(lexer.error()));
    case TokenKind::kString:
    case TokenKind::kHexString:
    case TokenKind::kBitString:
    case TokenKind::kNumber:
    case TokenKind::kParam:
      return MixByte(hash, 'L');  // every literal (and ?) is the same placeholder
    default:  // punctuation: the kind alone
      return MixByte(hash, static_cast<uint8_t>(token.kind));
  }
}

}  // namespace

uint64_t Fingerprint(std::string_view text, const Piece& piece, LexMode mode) {
  Lexer lexer = PieceLexer(text, piece, mode);
  uint64_t hash = kFnvOffset;
  for (;;) {
    const Token token = lexer.Next();
    if (token.kind == TokenKind::kEnd) {
      break;
    }
    hash = MixToken(MixByte(hash, 0x1f), lexer, token, mode.fold_identifiers);
    if (token.kind == TokenKind::kError) {
      break;
    }
  }
  return hash;
}

uint64_t Fingerprint(std::string_view text, LexMode mode) {
  Piece whole;
  whole.length = static_cast<uint32_t>(text.size());
  return Fingerprint(text, whole, mode);
}

}  // namespace jitgate::parsers::sql::mysql
