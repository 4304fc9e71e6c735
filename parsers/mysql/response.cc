// Implementation of jitgate/parsers/mysql/response.h: OK, ERR, EOF and COM_STMT_PREPARE_OK.
#include "jitgate/parsers/mysql/response.h"

namespace jitgate::parsers::mysql {
namespace {

template <typename T>
T Finish(T out, const Reader& reader) {
  out.reason = reader.reason();
  out.status = reader.ok() ? DecodeStatus::kOk : DecodeStatus::kInvalid;
  return out;
}

template <typename T>
T Reject(T out, InvalidReason reason) {
  out.reason = reason;
  out.status = DecodeStatus::kInvalid;
  return out;
}

}  // namespace

OkPacket DecodeOkPacket(Bytes payload, uint32_t capabilities) {
  OkPacket out;
  Reader r(payload);
  if (r.AtEnd()) {
    return Reject(out, InvalidReason::kEmptyPayload);
  }
  out.header = r.Int1();
  if (out.header != kOkHeader && out.header != kEofHeader) {
    return Reject(out, InvalidReason::kWrongHeader);
  }
  out.affected_rows = r.Lenenc();
  out.last_insert_id = r.Lenenc();
  out.status_flags = r.Int2();
  out.warnings = r.Int2();
  if ((capabilities & kClientSessionTrack) != 0) {
    if (!r.AtEnd()) {
      out.info = r.LenencString();
    }
    if ((out.status_flags & kServerSessionStateChanged) != 0 && !r.AtEnd()) {
      out.session_state_changes = r.LenencString();
    }
    r.ExpectEnd();
  } else {
    out.info = r.Rest();
  }
  return Finish(out, r);
}

ErrPacket DecodeErrPacket(Bytes payload) {
  ErrPacket out;
  Reader r(payload);
  if (r.AtEnd()) {
    return Reject(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kErrMarker) {
    return Reject(out, InvalidReason::kWrongHeader);
  }
  out.error_code = r.Int2();
  out.progress = r.ok() && out.error_code == kProgressReportCode;
  if (!out.progress && r.ok() && r.Peek() == '#' && r.remaining() >= 1 + kSqlStateSize) {
    r.Int1();
    out.sql_state = r.Fixed(kSqlStateSize);
  }
  out.message = r.Rest();
  return Finish(out, r);
}

EofPacket DecodeEofPacket(Bytes payload) {
  EofPacket out;
  Reader r(payload);
  if (r.AtEnd()) {
    return Reject(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kEofHeader) {
    return Reject(out, InvalidReason::kWrongHeader);
  }
  if (payload.size() > kEofPayloadSizeMax) {
    return Reject(out, InvalidReason::kTrailingBytes);
  }
  out.warnings = r.Int2();
  out.status_flags = r.Int2();
  r.ExpectEnd();
  return Finish(out, r);
}

StmtPrepareOk DecodeStmtPrepareOk(Bytes payload) {
  StmtPrepareOk out;
  Reader r(payload);
  if (r.AtEnd()) {
    return Reject(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kOkHeader) {
    return Reject(out, InvalidReason::kWrongHeader);
  }
  out.statement_id = r.Int4();
  out.column_count = r.Int2();
  out.param_count = r.Int2();
  r.Int1();  // reserved filler
  out.warnings = r.Int2();
  if (r.ok() && r.remaining() == 1) {
    out.metadata_follows = r.Int1();
  }
  r.ExpectEnd();
  return Finish(out, r);
}

}  // namespace jitgate::parsers::mysql
