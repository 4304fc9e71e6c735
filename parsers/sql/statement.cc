// Implementation of jitgate/parsers/sql/statement.h.
#include "jitgate/parsers/sql/statement.h"

#include <cstring>

namespace jitgate::parsers::sql {

std::string_view StatementClassName(StatementClass statement_class) {
  switch (statement_class) {
    case StatementClass::kRead:
      return "read";
    case StatementClass::kWrite:
      return "write";
    case StatementClass::kDdl:
      return "ddl";
    case StatementClass::kDcl:
      return "dcl";
    case StatementClass::kDestructive:
      return "destructive";
    case StatementClass::kAdmin:
      return "admin";
    case StatementClass::kTransaction:
      return "transaction";
    case StatementClass::kSession:
      return "session";
    case StatementClass::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view Statement::Intern(std::string_view text) {
  if (text.empty()) {
    return {};
  }
  if (kNameStorageSize - storage_used_ < text.size()) {
    flags |= kFlagNamesOverflow;
    return {};
  }
  char* copy = storage_.data() + storage_used_;
  std::memcpy(copy, text.data(), text.size());
  storage_used_ = static_cast<uint16_t>(storage_used_ + text.size());
  return std::string_view(copy, text.size());
}

void Statement::AddRelation(std::string_view schema, std::string_view name, RelationAccess access) {
  if (relation_count >= kRelationsMax) {
    flags |= kFlagNamesOverflow;
    return;
  }
  const uint32_t flags_before = flags;
  RelationRef ref{{Intern(schema), Intern(name)}, access};
  if ((flags & kFlagNamesOverflow) && !(flags_before & kFlagNamesOverflow)) {
    return;  // the name did not fit: the list is marked incomplete instead
  }
  relations[relation_count++] = ref;
}

void Statement::AddFunction(std::string_view schema, std::string_view name) {
  if (function_count >= kFunctionsMax) {
    flags |= kFlagNamesOverflow;
    return;
  }
  const uint32_t flags_before = flags;
  Name ref{Intern(schema), Intern(name)};
  if ((flags & kFlagNamesOverflow) && !(flags_before & kFlagNamesOverflow)) {
    return;
  }
  functions[function_count++] = ref;
}

void Statement::Reset() {
  statement_class = StatementClass::kUnknown;
  flags = 0;
  command = {};
  offset = 0;
  length = 0;
  relation_count = 0;
  function_count = 0;
  storage_used_ = 0;
}

void Statement::CopyFrom(const Statement& other) {
  statement_class = other.statement_class;
  flags = other.flags;
  command = other.command;
  offset = other.offset;
  length = other.length;
  relation_count = other.relation_count;
  function_count = other.function_count;
  storage_used_ = other.storage_used_;
  std::memcpy(storage_.data(), other.storage_.data(), other.storage_used_);
  // Re-point every view from the other's storage into ours.
  auto repoint = [&](std::string_view view) -> std::string_view {
    if (view.empty()) {
      return {};
    }
    return std::string_view(storage_.data() + (view.data() - other.storage_.data()), view.size());
  };
  for (uint8_t i = 0; i < relation_count; ++i) {
    relations[i] = {
        {repoint(other.relations[i].name.schema), repoint(other.relations[i].name.name)},
        other.relations[i].access};
  }
  for (uint8_t i = 0; i < function_count; ++i) {
    functions[i] = {repoint(other.functions[i].schema), repoint(other.functions[i].name)};
  }
}

}  // namespace jitgate::parsers::sql
