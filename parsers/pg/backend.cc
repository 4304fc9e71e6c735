// Implementation of jitgate/parsers/pg/backend.h: one decoder per backend message (55.7), each a
// straight walk of the body with a Reader.
#include "jitgate/parsers/pg/backend.h"

#include "jitgate/parsers/pg/frontend.h"
#include "jitgate/parsers/pg/startup.h"

namespace jitgate::parsers::pg {
namespace {

// kAuthSasl: names until an empty one, which must be the last byte.
InvalidReason DecodeSaslMechanisms(Reader& reader, Authentication& out) {
  const size_t begin = reader.offset();
  for (;;) {
    std::string_view name;
    if (!reader.String(name)) {
      return reader.error();
    }
    if (name.empty()) {
      break;
    }
    ++out.mechanism_count;
  }
  out.mechanisms_raw = reader.bytes().subspan(begin, reader.offset() - begin - 1);
  return reader.Finish();
}

}  // namespace

InvalidReason DecodeAuthentication(std::span<const std::byte> payload, Authentication& out) {
  Reader reader(payload);
  int32_t code = 0;
  if (!reader.Int32(code)) {
    return reader.error();
  }
  out = Authentication{};
  out.code = static_cast<uint32_t>(code);
  switch (out.code) {
    case kAuthOk:
    case kAuthKerberosV5:
    case kAuthCleartextPassword:
    case kAuthScmCredential:
    case kAuthGss:
    case kAuthSspi:
      return reader.Finish();
    case kAuthMd5Password:
      reader.Bytes(kMd5SaltSize, out.data);
      return reader.Finish();
    case kAuthGssContinue:
    case kAuthSaslContinue:
    case kAuthSaslFinal:
      out.data = reader.Rest();
      return InvalidReason::kNone;
    case kAuthSasl:
      return DecodeSaslMechanisms(reader, out);
    default:
      return InvalidReason::kUnknownAuthCode;
  }
}

InvalidReason DecodeBackendKeyData(std::span<const std::byte> payload, uint32_t protocol_version,
                                   BackendKeyData& out) {
  Reader reader(payload);
  int32_t pid = 0;
  if (!reader.Int32(pid)) {
    return reader.error();
  }
  out.process_id = static_cast<uint32_t>(pid);
  out.secret_key = reader.Rest();
  const size_t size = out.secret_key.size();
  const bool fits = protocol_version == kProtocolVersion30
                        ? size == kCancelKeySize30
                        : size >= kCancelKeySizeMin && size <= kCancelKeySizeMax;
  return fits ? InvalidReason::kNone : InvalidReason::kBadKeyLength;
}

InvalidReason DecodeParameterStatus(std::span<const std::byte> payload, ParameterStatus& out) {
  Reader reader(payload);
  if (reader.String(out.name) && reader.String(out.value) && out.name.empty()) {
    return InvalidReason::kEmptyName;
  }
  return reader.Finish();
}

InvalidReason DecodeReadyForQuery(std::span<const std::byte> payload, ReadyForQuery& out) {
  Reader reader(payload);
  uint8_t status = 0;
  if (reader.Byte(status) && status != kTxIdle && status != kTxInBlock && status != kTxFailed) {
    return InvalidReason::kBadEnumByte;
  }
  out.status = static_cast<char>(status);
  return reader.Finish();
}

bool FieldIterator::Next(FieldDescription& out) {
  if (index_ == count_) {
    return false;
  }
  int32_t table_oid = 0;
  int32_t type_oid = 0;
  if (!reader_.String(out.name) || !reader_.Int32(table_oid) || !reader_.Int16(out.column_attnum) ||
      !reader_.Int32(type_oid) || !reader_.Int16(out.type_size) ||
      !reader_.Int32(out.type_modifier) || !reader_.Int16(out.format)) {
    return false;
  }
  if (out.format != 0 && out.format != 1) {
    return reader_.Fail(InvalidReason::kBadFormatCode);
  }
  out.table_oid = static_cast<uint32_t>(table_oid);
  out.type_oid = static_cast<uint32_t>(type_oid);
  ++index_;
  return true;
}

InvalidReason DecodeRowDescription(std::span<const std::byte> payload, RowDescription& out) {
  Reader reader(payload);
  if (!reader.Count16(out.field_count)) {
    return reader.error();
  }
  out.fields_raw = reader.Rest();
  FieldIterator it = out.fields();
  FieldDescription field;
  while (it.Next(field)) {
  }
  if (it.error() != InvalidReason::kNone) {
    return it.error();
  }
  return it.offset() == out.fields_raw.size() ? InvalidReason::kNone
                                              : InvalidReason::kTrailingBytes;
}

InvalidReason DecodeCommandComplete(std::span<const std::byte> payload, CommandComplete& out) {
  Reader reader(payload);
  reader.String(out.tag);
  return reader.Finish();
}

bool NoticeFieldIterator::Next(NoticeField& out) {
  uint8_t code = 0;
  if (reader_.remaining() == 0 || !reader_.Byte(code) || code == 0) {
    return false;
  }
  out.code = static_cast<char>(code);
  return reader_.String(out.value);
}

std::string_view NoticeMessage::Find(char code, std::string_view fallback) const {
  NoticeFieldIterator it = fields();
  NoticeField field;
  while (it.Next(field)) {
    if (field.code == code) {
      return field.value;
    }
  }
  return fallback;
}

InvalidReason DecodeErrorResponse(std::span<const std::byte> payload, ErrorResponse& out) {
  Reader reader(payload);
  for (;;) {
    uint8_t code = 0;
    std::string_view value;
    if (!reader.Byte(code)) {
      return InvalidReason::kMissingTerminator;  // no terminating zero byte
    }
    if (code == 0) {
      break;
    }
    if (!reader.String(value)) {
      return reader.error();
    }
  }
  out.fields_raw = payload.first(reader.offset() - 1);
  return reader.Finish();
}

InvalidReason DecodeNoticeResponse(std::span<const std::byte> payload, NoticeResponse& out) {
  return DecodeErrorResponse(payload, out);
}

InvalidReason DecodeParameterDescription(std::span<const std::byte> payload,
                                         ParameterDescription& out) {
  Reader reader(payload);
  if (reader.Count16(out.param_count)) {
    reader.Bytes(size_t{4} * out.param_count, out.type_oids_raw);
  }
  return reader.Finish();
}

InvalidReason DecodeCopyResponse(std::span<const std::byte> payload, CopyResponse& out) {
  Reader reader(payload);
  if (!reader.Byte(out.overall_format) ||
      !ReadFormats(reader, out.column_count, out.column_formats_raw)) {
    return reader.error();
  }
  if (out.overall_format > 1) {
    return InvalidReason::kBadFormatCode;
  }
  // 55.7: with overall text format, every column format must be zero.
  for (size_t i = 0; out.overall_format == 0 && i < out.column_count; ++i) {
    if (out.ColumnFormat(i) != 0) {
      return InvalidReason::kBadFormatCode;
    }
  }
  return reader.Finish();
}

InvalidReason DecodeNotificationResponse(std::span<const std::byte> payload,
                                         NotificationResponse& out) {
  Reader reader(payload);
  int32_t pid = 0;
  if (reader.Int32(pid) && reader.String(out.channel)) {
    reader.String(out.payload);
  }
  out.process_id = static_cast<uint32_t>(pid);
  return reader.Finish();
}

InvalidReason DecodeNegotiateProtocolVersion(std::span<const std::byte> payload,
                                             NegotiateProtocolVersion& out) {
  Reader reader(payload);
  int32_t minor = 0;
  int32_t count = 0;
  if (!reader.Int32(minor) || !reader.Int32(count)) {
    return reader.error();
  }
  if (count < 0) {
    return InvalidReason::kNegativeCount;
  }
  out.newest_minor_version = static_cast<uint32_t>(minor);
  out.option_count = static_cast<uint32_t>(count);
  const size_t begin = reader.offset();
  for (int32_t i = 0; i < count; ++i) {
    std::string_view name;
    if (!reader.String(name)) {
      return reader.error();
    }
  }
  out.options_raw = payload.subspan(begin, reader.offset() - begin);
  return reader.Finish();
}

InvalidReason DecodeFunctionCallResponse(std::span<const std::byte> payload,
                                         FunctionCallResponse& out) {
  ValueIterator it(payload, 1);
  if (!it.Next(out.result)) {
    return it.error();
  }
  return it.offset() == payload.size() ? InvalidReason::kNone : InvalidReason::kTrailingBytes;
}

InvalidReason DecodeBackendMessage(char type, std::span<const std::byte> payload) {
  switch (type) {
    case kMsgAuthentication: {
      Authentication m;
      return DecodeAuthentication(payload, m);
    }
    case kMsgBackendKeyData: {
      BackendKeyData m;
      return DecodeBackendKeyData(payload, kProtocolVersion32, m);
    }
    case kMsgParameterStatus: {
      ParameterStatus m;
      return DecodeParameterStatus(payload, m);
    }
    case kMsgReadyForQuery: {
      ReadyForQuery m;
      return DecodeReadyForQuery(payload, m);
    }
    case kMsgRowDescription: {
      RowDescription m;
      return DecodeRowDescription(payload, m);
    }
    case kMsgDataRow: {
      DataRow m;
      return DecodeDataRow(payload, m);
    }
    case kMsgCommandComplete: {
      CommandComplete m;
      return DecodeCommandComplete(payload, m);
    }
    case kMsgBackendErrorResponse:
    case kMsgNoticeResponse: {
      NoticeMessage m;
      return DecodeErrorResponse(payload, m);
    }
    case kMsgEmptyQueryResponse:
    case kMsgParseComplete:
    case kMsgBindComplete:
    case kMsgCloseComplete:
    case kMsgNoData:
    case kMsgPortalSuspended:
    case kMsgCopyDone:
      return DecodeEmpty(payload);
    case kMsgParameterDescription: {
      ParameterDescription m;
      return DecodeParameterDescription(payload, m);
    }
    case kMsgCopyInResponse:
    case kMsgCopyOutResponse:
    case kMsgCopyBothResponse: {
      CopyResponse m;
      return DecodeCopyResponse(payload, m);
    }
    case kMsgCopyData:
      return InvalidReason::kNone;
    case kMsgNotificationResponse: {
      NotificationResponse m;
      return DecodeNotificationResponse(payload, m);
    }
    case kMsgNegotiateProtocolVersion: {
      NegotiateProtocolVersion m;
      return DecodeNegotiateProtocolVersion(payload, m);
    }
    case kMsgFunctionCallResponse: {
      FunctionCallResponse m;
      return DecodeFunctionCallResponse(payload, m);
    }
    default:
      return InvalidReason::kUnknownType;
  }
}

}  // namespace jitgate::parsers::pg
