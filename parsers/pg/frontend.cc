// Implementation of jitgate/parsers/pg/frontend.h: one decoder per frontend message (55.7),
// each a straight walk of the body with a Reader.
#include "jitgate/parsers/pg/frontend.h"

namespace jitgate::parsers::pg {
namespace {

// Validates `count` length-prefixed values starting at the reader's position and moves past them.
bool ReadValues(Reader& reader, uint16_t count, std::span<const std::byte>& raw) {
  const std::span<const std::byte> rest = reader.bytes().subspan(reader.offset());
  ValueIterator it(rest, count);
  Value value;
  while (it.Next(value)) {
  }
  if (it.error() != InvalidReason::kNone) {
    return reader.Fail(it.error());
  }
  return reader.Bytes(it.offset(), raw);
}

// 55.7 Bind / FunctionCall: "the number of parameter format codes ... can be zero ..., or one
// ..., or equal to the actual number of parameters".
bool FormatCountFits(uint16_t format_count, uint16_t value_count) {
  return format_count <= 1 || format_count == value_count;
}

InvalidReason DecodeTargetedName(std::span<const std::byte> payload, TargetedName& out) {
  Reader reader(payload);
  uint8_t target = 0;
  if (reader.Byte(target) && target != kTargetStatement && target != kTargetPortal) {
    return InvalidReason::kBadEnumByte;
  }
  out.target = static_cast<char>(target);
  reader.String(out.name);
  return reader.Finish();
}

}  // namespace

InvalidReason DecodeEmpty(std::span<const std::byte> payload) {
  return payload.empty() ? InvalidReason::kNone : InvalidReason::kTrailingBytes;
}

InvalidReason DecodeQuery(std::span<const std::byte> payload, Query& out) {
  Reader reader(payload);
  reader.String(out.query);
  return reader.Finish();
}

InvalidReason DecodeParse(std::span<const std::byte> payload, Parse& out) {
  Reader reader(payload);
  if (reader.String(out.statement) && reader.String(out.query) &&
      reader.Count16(out.param_type_count)) {
    reader.Bytes(size_t{4} * out.param_type_count, out.param_types_raw);
  }
  return reader.Finish();
}

InvalidReason DecodeBind(std::span<const std::byte> payload, Bind& out) {
  Reader reader(payload);
  if (!reader.String(out.portal) || !reader.String(out.statement) ||
      !ReadFormats(reader, out.param_format_count, out.param_formats_raw) ||
      !reader.Count16(out.param_count)) {
    return reader.error();
  }
  if (!FormatCountFits(out.param_format_count, out.param_count)) {
    return InvalidReason::kCountMismatch;
  }
  if (ReadValues(reader, out.param_count, out.params_raw)) {
    ReadFormats(reader, out.result_format_count, out.result_formats_raw);
  }
  return reader.Finish();
}

InvalidReason DecodeDescribe(std::span<const std::byte> payload, Describe& out) {
  return DecodeTargetedName(payload, out);
}

InvalidReason DecodeClose(std::span<const std::byte> payload, Close& out) {
  return DecodeTargetedName(payload, out);
}

InvalidReason DecodeExecute(std::span<const std::byte> payload, Execute& out) {
  Reader reader(payload);
  if (reader.String(out.portal)) {
    reader.Int32(out.max_rows);
  }
  return reader.Finish();
}

InvalidReason DecodeCopyData(std::span<const std::byte> payload, CopyData& out) {
  out.data = payload;
  return InvalidReason::kNone;
}

InvalidReason DecodeCopyFail(std::span<const std::byte> payload, CopyFail& out) {
  Reader reader(payload);
  reader.String(out.message);
  return reader.Finish();
}

InvalidReason DecodeFunctionCall(std::span<const std::byte> payload, FunctionCall& out) {
  Reader reader(payload);
  int32_t oid = 0;
  if (!reader.Int32(oid) || !ReadFormats(reader, out.arg_format_count, out.arg_formats_raw) ||
      !reader.Count16(out.arg_count)) {
    return reader.error();
  }
  out.function_oid = static_cast<uint32_t>(oid);
  if (!FormatCountFits(out.arg_format_count, out.arg_count)) {
    return InvalidReason::kCountMismatch;
  }
  if (ReadValues(reader, out.arg_count, out.args_raw) && reader.Int16(out.result_format) &&
      out.result_format != 0 && out.result_format != 1) {
    return InvalidReason::kBadFormatCode;
  }
  return reader.Finish();
}

InvalidReason DecodePasswordMessage(std::span<const std::byte> payload, PasswordMessage& out) {
  Reader reader(payload);
  reader.String(out.password);
  return reader.Finish();
}

InvalidReason DecodeSaslInitialResponse(std::span<const std::byte> payload,
                                        SaslInitialResponse& out) {
  Reader reader(payload);
  int32_t length = 0;
  if (!reader.String(out.mechanism) || !reader.Int32(length)) {
    return reader.error();
  }
  if (out.mechanism.empty()) {
    return InvalidReason::kEmptyName;
  }
  if (length < -1) {
    return InvalidReason::kNegativeLength;
  }
  out.has_response = length >= 0;
  out.response = {};
  if (out.has_response) {
    reader.Bytes(static_cast<size_t>(length), out.response);
  }
  return reader.Finish();
}

InvalidReason DecodeSaslResponse(std::span<const std::byte> payload, SaslResponse& out) {
  out.data = payload;
  return InvalidReason::kNone;
}

InvalidReason DecodeGssResponse(std::span<const std::byte> payload, GssResponse& out) {
  out.data = payload;
  return InvalidReason::kNone;
}

InvalidReason DecodeFrontendMessage(char type, std::span<const std::byte> payload) {
  switch (type) {
    case kMsgQuery: {
      Query m;
      return DecodeQuery(payload, m);
    }
    case kMsgParse: {
      Parse m;
      return DecodeParse(payload, m);
    }
    case kMsgBind: {
      Bind m;
      return DecodeBind(payload, m);
    }
    case kMsgDescribe:
    case kMsgClose: {
      TargetedName m;
      return DecodeTargetedName(payload, m);
    }
    case kMsgExecute: {
      Execute m;
      return DecodeExecute(payload, m);
    }
    case kMsgSync:
    case kMsgFlush:
    case kMsgTerminate:
    case kMsgCopyDone:
      return DecodeEmpty(payload);
    case kMsgCopyData:
      return InvalidReason::kNone;
    case kMsgCopyFail: {
      CopyFail m;
      return DecodeCopyFail(payload, m);
    }
    case kMsgFunctionCall: {
      FunctionCall m;
      return DecodeFunctionCall(payload, m);
    }
    case kMsgPasswordMessage: {
      PasswordMessage m;
      return DecodePasswordMessage(payload, m);
    }
    default:
      return InvalidReason::kUnknownType;
  }
}

}  // namespace jitgate::parsers::pg
