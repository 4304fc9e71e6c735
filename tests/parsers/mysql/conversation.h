// tests/parsers/mysql/conversation.h (test-only): walks a recorded client/server conversation
// (the two byte streams of one connection) packet by packet, running the decoder each packet
// needs in protocol order: greeting, response, auth exchange, then each command and its response
// (OK/ERR, text result sets, COM_STMT_PREPARE_OK with its definitions, binary result sets).
// Used by the golden test, the fuzz target's seed check and the benchmark. Allocates nothing:
// statement metadata lives in fixed arrays.
#ifndef JITGATE_TESTS_PARSERS_MYSQL_CONVERSATION_H_
#define JITGATE_TESTS_PARSERS_MYSQL_CONVERSATION_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "jitgate/parsers/mysql/command.h"
#include "jitgate/parsers/mysql/handshake.h"
#include "jitgate/parsers/mysql/packet.h"
#include "jitgate/parsers/mysql/response.h"
#include "jitgate/parsers/mysql/resultset.h"

namespace jitgate::parsers::mysql::testing {

struct ConversationStats {
  size_t packets = 0, commands = 0, column_definitions = 0, text_rows = 0, binary_rows = 0;
  size_t oks = 0, errs = 0, eofs = 0, prepares = 0, executes = 0, auth_packets = 0;
};

class Conversation {
 public:
  static constexpr size_t kStatementsMax = 64;
  static constexpr size_t kColumnsMax = 256;

  Conversation(Bytes c2s, Bytes s2c) : c2s_(c2s), s2c_(s2c) {}

  // True when both streams were consumed with every packet valid; else failure() says where.
  bool Walk() { return Handshake() && Commands(); }
  const char* failure() const { return failure_; }
  InvalidReason reason() const { return reason_; }
  size_t failed_packet() const { return stats_.packets; }
  const ConversationStats& stats() const { return stats_; }
  uint32_t capabilities() const { return capabilities_; }
  uint32_t mariadb_capabilities() const { return mariadb_capabilities_; }

 private:
  struct Statement {
    uint32_t id = 0;
    uint16_t param_count = 0;
    std::array<std::byte, 2 * kColumnsMax> param_types{};  // from the first execute that binds
    bool types_known = false;
    uint16_t column_count = 0;
    std::array<uint8_t, kColumnsMax> column_types{};  // from the prepare response
  };

  bool Fail(const char* what, InvalidReason reason = InvalidReason::kNone) {
    failure_ = what;
    reason_ = reason;
    return false;
  }
  // Next logical payload from one direction; checks its sequence id.
  bool Next(Bytes& stream, size_t& offset, Bytes& payload) {
    const Frame frame = DecodeFrame(stream.subspan(offset), kLogicalPayloadMax);
    if (frame.status != DecodeStatus::kOk || frame.split()) {
      return Fail("frame", frame.reason);
    }
    if (!sequence_.Check(frame.first_sequence_id)) {
      return Fail("sequence id");
    }
    payload = frame.payload;
    offset += frame.frame_size;
    ++stats_.packets;
    return true;
  }
  bool Server(Bytes& payload) { return Next(s2c_, s2c_offset_, payload); }
  bool Client(Bytes& payload) { return Next(c2s_, c2s_offset_, payload); }
  static uint8_t First(Bytes p) { return p.empty() ? 0 : static_cast<uint8_t>(p[0]); }
  template <typename T>
  bool Ok(const T& decoded, const char* what) {
    return decoded.status == DecodeStatus::kOk || Fail(what, decoded.reason);
  }

  bool Handshake() {
    Bytes p;
    if (!Server(p) || !Ok(DecodeHandshakeV10(p), "HandshakeV10")) {
      return false;
    }
    const uint32_t server_caps = DecodeHandshakeV10(p).capabilities;
    const uint32_t server_mariadb_caps = DecodeHandshakeV10(p).mariadb_capabilities;
    if (!Client(p) || IsSslRequest(p)) {
      return Fail("client response");
    }
    const HandshakeResponse41 response = DecodeHandshakeResponse41(p);
    if (!Ok(response, "HandshakeResponse41")) {
      return false;
    }
    capabilities_ = server_caps & response.capabilities;
    mariadb_capabilities_ = server_mariadb_caps & response.mariadb_capabilities;
    return Auth();
  }

  bool Auth() {
    Bytes p;
    while (true) {
      if (!Server(p)) {
        return false;
      }
      ++stats_.auth_packets;
      switch (First(p)) {
        case kOkHeader:
          ++stats_.oks;
          return Ok(DecodeOkPacket(p, capabilities_), "auth OK");
        case kErrMarker:
          return Fail("auth ERR");
        case kAuthSwitchRequestHeader:
          if (!Ok(DecodeAuthSwitchRequest(p), "AuthSwitchRequest") || !Client(p)) {
            return false;
          }
          DecodeAuthSwitchResponse(p);
          break;
        case kAuthMoreDataHeader: {
          const AuthMoreData more = DecodeAuthMoreData(p);
          if (!Ok(more, "AuthMoreData")) {
            return false;
          }
          if (!more.fast_auth_success() && !Client(p)) {
            return false;
          }
          break;
        }
        default:
          return Fail("auth packet");
      }
    }
  }

  bool Commands() {
    while (c2s_offset_ < c2s_.size()) {
      sequence_.Reset();
      Bytes p;
      if (!Client(p) || !Command(p)) {
        return false;
      }
    }
    return s2c_offset_ == s2c_.size() || Fail("server bytes after the last response");
  }

  Statement* Find(uint32_t id) {
    for (size_t i = 0; i < statement_count_; ++i) {
      if (statements_[i].id == id) {
        return &statements_[i];
      }
    }
    return nullptr;
  }

  bool Command(Bytes p) {
    ++stats_.commands;
    const uint8_t command = First(p);
    size_t param_count = 0;
    uint32_t id = 0;
    Statement* statement = nullptr;
    if (command == kComStmtExecute && PeekStatementId(p, id)) {
      statement = Find(id);
      param_count = statement == nullptr ? 0 : statement->param_count;
    }
    InvalidReason why;
    if (ValidateCommand(p, capabilities_, param_count, &why) != DecodeStatus::kOk) {
      return Fail("command", why);
    }
    switch (command) {
      case kComQuit:
      case kComStmtClose:
      case kComStmtSendLongData:
        return true;  // no response
      case kComStmtPrepare:
        return PrepareResponse();
      case kComStmtExecute:
        ++stats_.executes;
        return Execute(p, statement);
      default:
        return QueryResponse(nullptr);
    }
  }

  bool Execute(Bytes p, Statement* statement) {
    if (statement == nullptr) {
      return Fail("execute of an unknown statement");
    }
    const ComStmtExecute execute = DecodeComStmtExecute(p, capabilities_, statement->param_count);
    if (execute.params.new_params_bind_flag == 1 && !execute.params.types_with_names &&
        execute.params.types.size() <= statement->param_types.size()) {
      std::copy(execute.params.types.begin(), execute.params.types.end(),
                statement->param_types.begin());
      statement->types_known = true;
    }
    if (execute.params.count > 0) {
      const Bytes remembered(statement->param_types.data(), 2 * statement->param_count);
      ParamCursor cursor(execute.params, statement->types_known ? remembered : Bytes{});
      Field field;
      while (cursor.Next(field)) {
      }
      if (cursor.status() != DecodeStatus::kOk) {
        return Fail("execute parameters", cursor.reason());
      }
    }
    return QueryResponse(statement);
  }

  bool PrepareResponse() {
    Bytes p;
    if (!Server(p)) {
      return false;
    }
    if (First(p) == kErrMarker) {
      ++stats_.errs;
      return Ok(DecodeErrPacket(p), "ERR");
    }
    const StmtPrepareOk ok = DecodeStmtPrepareOk(p);
    if (!Ok(ok, "COM_STMT_PREPARE_OK") || statement_count_ == kStatementsMax ||
        ok.param_count > kColumnsMax || ok.column_count > kColumnsMax) {
      return Fail("COM_STMT_PREPARE_OK");
    }
    ++stats_.prepares;
    Statement& statement = statements_[statement_count_++];
    statement = Statement{};
    statement.id = ok.statement_id;
    statement.param_count = ok.param_count;
    statement.column_count = ok.column_count;
    return Definitions(ok.param_count, nullptr) &&
           Definitions(ok.column_count, statement.column_types.data());
  }

  // `count` ColumnDefinition41 packets, then EOF unless CLIENT_DEPRECATE_EOF (none when 0).
  bool Definitions(size_t count, uint8_t* types) {
    Bytes p;
    for (size_t i = 0; i < count; ++i) {
      if (!Server(p)) {
        return false;
      }
      const ColumnDefinition41 def = DecodeColumnDefinition41(p, mariadb_capabilities_);
      if (!Ok(def, "ColumnDefinition41")) {
        return false;
      }
      ++stats_.column_definitions;
      if (types != nullptr) {
        types[i] = def.type;
      }
    }
    if (count == 0 || (capabilities_ & kClientDeprecateEof) != 0) {
      return true;
    }
    ++stats_.eofs;
    return Server(p) && Ok(DecodeEofPacket(p), "EOF after definitions");
  }

  // `statement` is set for COM_STMT_EXECUTE responses (binary rows).
  bool QueryResponse(const Statement* statement) {
    while (true) {
      Bytes p;
      if (!Server(p)) {
        return false;
      }
      uint16_t status_flags = 0;
      if (First(p) == kOkHeader) {
        const OkPacket ok = DecodeOkPacket(p, capabilities_);
        ++stats_.oks;
        status_flags = ok.status_flags;
        if (!Ok(ok, "OK")) {
          return false;
        }
      } else if (First(p) == kErrMarker) {
        ++stats_.errs;
        return Ok(DecodeErrPacket(p), "ERR");
      } else if (First(p) == kLocalInfileHeader) {
        return Fail("LOCAL INFILE request");
      } else if (!ResultSet(p, statement, status_flags)) {
        return false;
      }
      if ((status_flags & kServerMoreResultsExists) == 0) {
        return true;
      }
    }
  }

  bool ResultSet(Bytes p, const Statement* statement, uint16_t& status_flags) {
    const bool binary = statement != nullptr;
    const ColumnCount count = DecodeColumnCount(p, capabilities_, mariadb_capabilities_);
    if (!Ok(count, "column count") || count.column_count > kColumnsMax) {
      return Fail("column count", count.reason);
    }
    std::array<uint8_t, kColumnsMax> types{};
    if (count.metadata_follows == 0) {
      // Cached metadata (MariaDB): the definitions from the prepare response apply.
      if (!binary || statement->column_count != count.column_count) {
        return Fail("metadata omitted without a prepared statement");
      }
      types = statement->column_types;
      // The EOF that ends the (omitted) definitions is still sent.
      if ((capabilities_ & kClientDeprecateEof) == 0) {
        ++stats_.eofs;
        if (!Server(p) || !Ok(DecodeEofPacket(p), "EOF after cached definitions")) {
          return false;
        }
      }
    } else if (!Definitions(count.column_count, types.data())) {
      return false;
    }
    const std::span<const uint8_t> row_types(types.data(), count.column_count);
    while (true) {
      if (!Server(p)) {
        return false;
      }
      if (IsResultSetEnd(p, capabilities_)) {
        ++stats_.eofs;
        if ((capabilities_ & kClientDeprecateEof) != 0) {
          const OkPacket ok = DecodeOkPacket(p, capabilities_);
          status_flags = ok.status_flags;
          return Ok(ok, "OK ending rows");
        }
        const EofPacket eof = DecodeEofPacket(p);
        status_flags = eof.status_flags;
        return Ok(eof, "EOF ending rows");
      }
      if (IsErrPacket(p)) {
        ++stats_.errs;
        return Ok(DecodeErrPacket(p), "ERR in rows");
      }
      InvalidReason why;
      if (binary) {
        ++stats_.binary_rows;
        if (ValidateBinaryRow(p, row_types, &why) != DecodeStatus::kOk) {
          return Fail("binary row", why);
        }
      } else {
        ++stats_.text_rows;
        if (ValidateTextRow(p, count.column_count, &why) != DecodeStatus::kOk) {
          return Fail("text row", why);
        }
      }
    }
  }

  Bytes c2s_;
  Bytes s2c_;
  size_t c2s_offset_ = 0;
  size_t s2c_offset_ = 0;
  SequenceTracker sequence_;
  uint32_t capabilities_ = 0;
  uint32_t mariadb_capabilities_ = 0;
  std::array<Statement, kStatementsMax> statements_{};
  size_t statement_count_ = 0;
  ConversationStats stats_;
  const char* failure_ = "";
  InvalidReason reason_ = InvalidReason::kNone;
};

}  // namespace jitgate::parsers::mysql::testing

#endif  // JITGATE_TESTS_PARSERS_MYSQL_CONVERSATION_H_
