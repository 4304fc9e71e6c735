// Implementation of jitgate/parsers/mysql/command.h: command names and typed command decoders.
#include "jitgate/parsers/mysql/command.h"

namespace jitgate::parsers::mysql {
namespace {

// Reads the command byte; fails with kEmptyPayload / kWrongHeader unless it is `command`.
void ExpectCommand(Reader& r, uint8_t command) {
  if (r.AtEnd()) {
    r.Fail(InvalidReason::kEmptyPayload);
  } else if (r.Int1() != command) {
    r.Fail(InvalidReason::kWrongHeader);
  }
}

// NULL bitmap (offset 0), bind flag and, with the flag, the type (and name) area. `names` is set
// for query attributes, where each type is followed by a string<lenenc> name.
void ReadParamHeader(Reader& r, Bytes payload, size_t count, bool names, BinaryParams& out) {
  out.count = count;
  out.types_with_names = names;
  const size_t bitmap_at = r.offset();
  r.Fixed(NullBitmapSize(count, kExecuteNullBitmapOffset));
  if (!r.ok()) {
    return;
  }
  out.null_bitmap = payload.subspan(bitmap_at, NullBitmapSize(count, kExecuteNullBitmapOffset));
  if (!NullBitmapPaddingClear(out.null_bitmap, count, kExecuteNullBitmapOffset)) {
    r.Fail(InvalidReason::kNullBitmapPadding);
    return;
  }
  out.new_params_bind_flag = r.Int1();
  if (r.ok() && out.new_params_bind_flag > 1) {
    r.Fail(InvalidReason::kBadBindFlag);
  }
  if (!r.ok() || out.new_params_bind_flag == 0) {
    return;
  }
  const size_t types_at = r.offset();
  for (size_t i = 0; i < count && r.ok(); ++i) {
    r.Int2();
    if (names) {
      r.LenencString();
    }
  }
  if (r.ok()) {
    out.types = payload.subspan(types_at, r.offset() - types_at);
  }
}

// Walks the values to their end (query attributes: the query follows them).
size_t ValuesSize(const BinaryParams& params, Reader& r) {
  ParamCursor cursor(params, {});
  Field field;
  size_t end = 0;
  while (cursor.Next(field)) {
    end = field.offset + field.size;
  }
  if (cursor.reason() != InvalidReason::kNone) {
    r.Fail(cursor.reason());
  }
  return end;
}

}  // namespace

std::string_view CommandName(uint8_t command) {
  static constexpr std::string_view kNames[] = {
      "COM_SLEEP",
      "COM_QUIT",
      "COM_INIT_DB",
      "COM_QUERY",
      "COM_FIELD_LIST",
      "COM_CREATE_DB",
      "COM_DROP_DB",
      "COM_REFRESH",
      "COM_SHUTDOWN",
      "COM_STATISTICS",
      "COM_PROCESS_INFO",
      "COM_CONNECT",
      "COM_PROCESS_KILL",
      "COM_DEBUG",
      "COM_PING",
      "COM_TIME",
      "COM_DELAYED_INSERT",
      "COM_CHANGE_USER",
      "COM_BINLOG_DUMP",
      "COM_TABLE_DUMP",
      "COM_CONNECT_OUT",
      "COM_REGISTER_SLAVE",
      "COM_STMT_PREPARE",
      "COM_STMT_EXECUTE",
      "COM_STMT_SEND_LONG_DATA",
      "COM_STMT_CLOSE",
      "COM_STMT_RESET",
      "COM_SET_OPTION",
      "COM_STMT_FETCH",
      "COM_DAEMON",
      "COM_BINLOG_DUMP_GTID",
      "COM_RESET_CONNECTION",
      "COM_CLONE",
  };
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == kComClone + 1);
  if (command <= kComClone) {
    return kNames[command];
  }
  return command == kComStmtBulkExecute ? "COM_STMT_BULK_EXECUTE" : std::string_view{};
}

ParamCursor::ParamCursor(const BinaryParams& params, Bytes remembered_types)
    : values_(params.values),
      types_(params.new_params_bind_flag == 1 ? params.types : remembered_types),
      values_bytes_(params.values),
      null_bitmap_(params.null_bitmap),
      with_names_(params.new_params_bind_flag == 1 && params.types_with_names),
      count_(params.count) {
  if (count_ > 0 && null_bitmap_.size() < NullBitmapSize(count_, kExecuteNullBitmapOffset)) {
    values_.Fail(InvalidReason::kTruncated);
  }
}

bool ParamCursor::Next(Field& field) {
  if (!values_.ok() || index_ >= count_) {
    return false;
  }
  type_ = types_.Int2();
  name_ = with_names_ ? types_.LenencString() : std::string_view{};
  if (!types_.ok()) {
    // No types in the packet and none (or too few) remembered for the statement.
    values_.Fail(InvalidReason::kBadBindFlag);
    return false;
  }
  field.offset = values_.offset();
  field.is_null = NullBit(null_bitmap_, index_, kExecuteNullBitmapOffset);
  field.size = 0;
  field.value = {};
  if (!field.is_null) {
    const auto type = static_cast<uint8_t>(type_ & 0xff);
    InvalidReason why;
    const size_t size = BinaryValueSize(type, values_bytes_.subspan(field.offset), &why);
    if (why != InvalidReason::kNone) {
      values_.Fail(why);
      return false;
    }
    field.size = size;
    const std::string_view encoded = values_.Fixed(size);
    field.value = IsLenencType(type) ? Reader(AsBytes(encoded)).LenencString() : encoded;
  }
  ++index_;
  return true;
}

DecodeStatus ParamCursor::status() const {
  if (!values_.ok()) {
    return DecodeStatus::kInvalid;
  }
  return index_ == count_ ? DecodeStatus::kOk : DecodeStatus::kNeedMore;
}

ComQuery DecodeComQuery(Bytes payload, uint32_t capabilities) {
  ComQuery out;
  Reader r(payload);
  ExpectCommand(r, kComQuery);
  if (r.ok() && (capabilities & kClientQueryAttributes) != 0) {
    out.has_attributes = true;
    const uint64_t count = r.Lenenc();
    r.Lenenc();  // parameter_set_count, always 1
    if (r.ok() && count > kParamCountMax) {
      r.Fail(InvalidReason::kParamCountAboveMax);
    }
    if (r.ok() && count > 0) {
      ReadParamHeader(r, payload, count, /*names=*/true, out.attributes);
      if (r.ok() && out.attributes.new_params_bind_flag != 1) {
        r.Fail(InvalidReason::kBadBindFlag);  // attributes always carry their types
      }
      if (r.ok()) {
        const size_t values_at = r.offset();
        out.attributes.values = payload.subspan(values_at);
        const size_t size = ValuesSize(out.attributes, r);
        out.attributes.values = payload.subspan(values_at, size);
        r.Fixed(size);
      }
    }
  }
  out.query = r.Rest();
  return FinishDecode(out, r);
}

ComSchema DecodeComInitDb(Bytes payload) {
  ComSchema out;
  Reader r(payload);
  if (r.AtEnd()) {
    r.Fail(InvalidReason::kEmptyPayload);
  }
  out.command = r.Int1();
  if (r.ok() && out.command != kComInitDb && out.command != kComCreateDb &&
      out.command != kComDropDb) {
    r.Fail(InvalidReason::kWrongHeader);
  }
  out.schema = r.Rest();
  return FinishDecode(out, r);
}

ComFieldList DecodeComFieldList(Bytes payload) {
  ComFieldList out;
  Reader r(payload);
  ExpectCommand(r, kComFieldList);
  out.table = r.NulString();
  out.wildcard = r.Rest();
  return FinishDecode(out, r);
}

ComChangeUser DecodeComChangeUser(Bytes payload, uint32_t capabilities) {
  ComChangeUser out;
  Reader r(payload);
  ExpectCommand(r, kComChangeUser);
  out.username = r.NulString();
  if ((capabilities & kClientSecureConnection) != 0) {
    out.auth_response = r.Fixed(r.Int1());
  } else {
    out.auth_response = r.NulString();
  }
  out.database = r.NulString();
  if (r.ok() && !r.AtEnd()) {
    out.charset = r.Int2();
  }
  if ((capabilities & kClientPluginAuth) != 0 && r.ok() && !r.AtEnd()) {
    out.auth_plugin_name = r.NulString();
  }
  if ((capabilities & kClientConnectAttrs) != 0 && r.ok() && !r.AtEnd()) {
    const std::string_view block = r.LenencString();
    ConnectAttrs::Cursor cursor(block);
    std::string_view key;
    std::string_view value;
    while (cursor.Next(key, value)) {
    }
    if (!cursor.ok()) {
      r.Fail(cursor.reason());
    }
    out.connect_attrs = ConnectAttrs(block);
  }
  r.ExpectEnd();
  return FinishDecode(out, r);
}

ComStmtPrepare DecodeComStmtPrepare(Bytes payload) {
  ComStmtPrepare out;
  Reader r(payload);
  ExpectCommand(r, kComStmtPrepare);
  out.query = r.Rest();
  return FinishDecode(out, r);
}

bool PeekStatementId(Bytes payload, uint32_t& statement_id) {
  Reader r(payload);
  r.Int1();
  statement_id = r.Int4();
  return r.ok();
}

ComStmtExecute DecodeComStmtExecute(Bytes payload, uint32_t capabilities, size_t param_count) {
  ComStmtExecute out;
  Reader r(payload);
  ExpectCommand(r, kComStmtExecute);
  out.statement_id = r.Int4();
  out.flags = r.Int1();
  out.iteration_count = r.Int4();
  const bool attributes = (capabilities & kClientQueryAttributes) != 0;
  uint64_t count = param_count;
  if (r.ok() && attributes && (out.flags & kParameterCountAvailable) != 0) {
    count = r.Lenenc();
  }
  if (r.ok() && count > kParamCountMax) {
    r.Fail(InvalidReason::kParamCountAboveMax);
  }
  if (r.ok() && count > 0) {
    ReadParamHeader(r, payload, count, attributes, out.params);
    out.params.values = r.ok() ? payload.subspan(r.offset()) : Bytes{};
    r.Rest();
  }
  r.ExpectEnd();
  return FinishDecode(out, r);
}

ComStmtSendLongData DecodeComStmtSendLongData(Bytes payload) {
  ComStmtSendLongData out;
  Reader r(payload);
  ExpectCommand(r, kComStmtSendLongData);
  out.statement_id = r.Int4();
  out.param_id = r.Int2();
  out.data = r.Rest();
  return FinishDecode(out, r);
}

ComFixed DecodeComFixed(Bytes payload) {
  ComFixed out;
  Reader r(payload);
  if (r.AtEnd()) {
    r.Fail(InvalidReason::kEmptyPayload);
  }
  out.command = r.Int1();
  switch (out.command) {
    case kComStmtClose:
    case kComStmtReset:
    case kComProcessKill:
      out.statement_id = r.Int4();
      break;
    case kComStmtFetch:
      out.statement_id = r.Int4();
      out.row_count = r.Int4();
      break;
    case kComSetOption:
      out.option = r.Int2();
      break;
    case kComQuit:
    case kComStatistics:
    case kComProcessInfo:
    case kComDebug:
    case kComPing:
    case kComResetConnection:
    case kComSleep:
    case kComTime:
    case kComConnect:
    case kComDelayedInsert:
    case kComDaemon:
      break;
    default:
      r.Fail(InvalidReason::kWrongHeader);
      break;
  }
  r.ExpectEnd();
  return FinishDecode(out, r);
}

ComBinlogDump DecodeComBinlogDump(Bytes payload) {
  ComBinlogDump out;
  Reader r(payload);
  ExpectCommand(r, kComBinlogDump);
  out.binlog_position = r.Int4();
  out.flags = r.Int2();
  out.server_id = r.Int4();
  out.binlog_filename = r.Rest();
  return FinishDecode(out, r);
}

namespace {

// Typed check of an execute: header, parameters and every value.
InvalidReason ValidateExecute(Bytes payload, uint32_t capabilities, size_t param_count) {
  const ComStmtExecute execute = DecodeComStmtExecute(payload, capabilities, param_count);
  if (execute.status != DecodeStatus::kOk || execute.params.count == 0 ||
      execute.params.new_params_bind_flag == 0) {
    return execute.reason;
  }
  ParamCursor cursor(execute.params, {});
  Field field;
  size_t end = 0;
  while (cursor.Next(field)) {
    end = field.offset + field.size;
  }
  if (cursor.status() != DecodeStatus::kOk) {
    return cursor.reason() != InvalidReason::kNone ? cursor.reason() : InvalidReason::kTruncated;
  }
  return end == execute.params.values.size() ? InvalidReason::kNone : InvalidReason::kTrailingBytes;
}

}  // namespace

DecodeStatus ValidateCommand(Bytes payload, uint32_t capabilities, size_t execute_param_count,
                             InvalidReason* reason) {
  InvalidReason why = InvalidReason::kNone;
  const uint8_t command = payload.empty() ? 0 : static_cast<uint8_t>(payload[0]);
  if (payload.empty()) {
    why = InvalidReason::kEmptyPayload;
  } else if (command == kComQuery) {
    why = DecodeComQuery(payload, capabilities).reason;
  } else if (command == kComInitDb || command == kComCreateDb || command == kComDropDb) {
    why = DecodeComInitDb(payload).reason;
  } else if (command == kComFieldList) {
    why = DecodeComFieldList(payload).reason;
  } else if (command == kComChangeUser) {
    why = DecodeComChangeUser(payload, capabilities).reason;
  } else if (command == kComStmtPrepare) {
    why = DecodeComStmtPrepare(payload).reason;
  } else if (command == kComStmtExecute) {
    why = ValidateExecute(payload, capabilities, execute_param_count);
  } else if (command == kComStmtSendLongData) {
    why = DecodeComStmtSendLongData(payload).reason;
  } else if (command == kComBinlogDump) {
    why = DecodeComBinlogDump(payload).reason;
  } else if (!CommandName(command).empty() && command != kComStmtBulkExecute &&
             command != kComRefresh && command != kComShutdown && command != kComTableDump &&
             command != kComConnectOut && command != kComRegisterSlave &&
             command != kComBinlogDumpGtid && command != kComClone) {
    why = DecodeComFixed(payload).reason;
  } else if (CommandName(command).empty()) {
    why = InvalidReason::kWrongHeader;
  }
  if (reason != nullptr) {
    *reason = why;
  }
  return why == InvalidReason::kNone ? DecodeStatus::kOk : DecodeStatus::kInvalid;
}

}  // namespace jitgate::parsers::mysql
