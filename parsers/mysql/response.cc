// Implementation of jitgate/parsers/mysql/response.h: OK, ERR, EOF and COM_STMT_PREPARE_OK.
#include "jitgate/parsers/mysql/response.h"

namespace jitgate::parsers::mysql {

OkPacket DecodeOkPacket(Bytes payload, uint32_t capabilities) {
  OkPacket out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  out.header = r.Int1();
  if (out.header != kOkHeader && out.header != kEofHeader) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
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
  return FinishDecode(out, r);
}

ErrPacket DecodeErrPacket(Bytes payload) {
  ErrPacket out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kErrMarker) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
  }
  out.error_code = r.Int2();
  out.progress = r.ok() && out.error_code == kProgressReportCode;
  if (!out.progress && r.ok() && r.Peek() == '#' && r.remaining() >= 1 + kSqlStateSize) {
    r.Int1();
    out.sql_state = r.Fixed(kSqlStateSize);
  }
  out.message = r.Rest();
  return FinishDecode(out, r);
}

EofPacket DecodeEofPacket(Bytes payload) {
  EofPacket out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kEofHeader) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
  }
  if (payload.size() > kEofPayloadSizeMax) {
    return RejectDecode(out, InvalidReason::kTrailingBytes);
  }
  out.warnings = r.Int2();
  out.status_flags = r.Int2();
  r.ExpectEnd();
  return FinishDecode(out, r);
}

StmtPrepareOk DecodeStmtPrepareOk(Bytes payload) {
  StmtPrepareOk out;
  Reader r(payload);
  if (r.AtEnd()) {
    return RejectDecode(out, InvalidReason::kEmptyPayload);
  }
  if (r.Int1() != kOkHeader) {
    return RejectDecode(out, InvalidReason::kWrongHeader);
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
  return FinishDecode(out, r);
}

}  // namespace jitgate::parsers::mysql
