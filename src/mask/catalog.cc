// Implementation of src/mask/catalog.h: the catalog query and the loader of its answer.
#include "src/mask/catalog.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "jitgate/check.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/pg/encode.h"

namespace jitgate::mask {
namespace {

namespace pg = parsers::pg;
namespace sqlpg = parsers::sql::pg;

// Result sets of CatalogQuery, in order.
enum Result : size_t { kColumns = 0, kViews = 1, kViewColumns = 2, kTypes = 3, kOidMax = 4 };
constexpr size_t kResultCount = 5;
// Views nest; more than this is a loop or a design nobody masks through.
constexpr int kViewDepthMax = 16;

// A SQL literal list of folded identifiers ('a', 'b'); "NULL" when empty (IN (NULL) is false).
std::string Literals(const std::vector<std::string>& names) {
  if (names.empty()) {
    return "NULL";
  }
  std::string out;
  for (const std::string& name : names) {
    // Names are validated identifiers ([a-z0-9_$]), so no quote can occur; doubled anyway.
    absl::StrAppend(&out, out.empty() ? "" : ", ", "'");
    for (char c : name) {
      out.push_back(c);
      if (c == '\'') {
        out.push_back('\'');
      }
    }
    out.push_back('\'');
  }
  return out;
}

void AddUnique(std::vector<std::string>* list, const std::string& name) {
  if (!name.empty() && std::find(list->begin(), list->end(), name) == list->end()) {
    list->push_back(name);
  }
}

bool ParseU32(std::string_view text, uint32_t* out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

bool ParseInt(std::string_view text, int* out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

void SortUnique(std::vector<std::string>* list) {
  std::sort(list->begin(), list->end());
  list->erase(std::unique(list->begin(), list->end()), list->end());
}

}  // namespace

std::vector<const SensitiveRelation*> CatalogSnapshot::FindRelations(std::string_view schema,
                                                                     std::string_view name) const {
  std::vector<const SensitiveRelation*> found;
  for (const SensitiveRelation& relation : relations) {
    if (relation.name == name && (schema.empty() || relation.schema == schema)) {
      found.push_back(&relation);
    }
  }
  return found;
}

std::string CatalogQuery(const PolicyMasks& masks) {
  std::vector<std::string> columns, tables, schemas, types;
  for (const Rule& rule : masks.rules()) {
    if (rule.detectors != 0) {
      continue;
    }
    for (const config::ColumnPattern& pattern : rule.columns) {
      if (!pattern.column.empty()) {
        AddUnique(&columns, pattern.column);
      } else if (!pattern.table.empty()) {
        AddUnique(&tables, pattern.table);
      } else {
        AddUnique(&schemas, pattern.schema);
      }
    }
    for (const std::string& type : rule.types) {
      AddUnique(&types, type);
    }
  }
  // Every relation holding a column some rule may name (the loader decides which really match).
  const std::string candidates = absl::StrCat(
      "SELECT attrelid FROM pg_catalog.pg_attribute WHERE attnum > 0 AND NOT attisdropped AND "
      "attname IN (", Literals(columns), ") UNION SELECT oid FROM pg_catalog.pg_class WHERE "
      "relname IN (", Literals(tables), ") UNION SELECT c2.oid FROM pg_catalog.pg_class c2 JOIN "
      "pg_catalog.pg_namespace n2 ON n2.oid = c2.relnamespace WHERE n2.nspname IN (",
      Literals(schemas), ")");
  // Views (and materialized views) computed from those relations, directly or through views.
  const std::string deps = absl::StrCat(
      "WITH RECURSIVE base AS (", candidates, "), deps(view_oid, base_oid, depth) AS ("
      "SELECT r.ev_class, d.refobjid, 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r "
      "ON r.oid = d.objid WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND "
      "d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid IN (SELECT "
      "attrelid FROM base) AND r.ev_class <> d.refobjid UNION SELECT r.ev_class, d.refobjid, "
      "deps.depth + 1 FROM deps JOIN pg_catalog.pg_depend d ON d.refobjid = deps.view_oid AND "
      "d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = "
      "'pg_catalog.pg_class'::pg_catalog.regclass JOIN pg_catalog.pg_rewrite r ON r.oid = "
      "d.objid WHERE r.ev_class <> d.refobjid AND deps.depth < ", kViewDepthMax, ") ");
  std::string sql;
  // 0: every live column of every candidate relation, in attnum order.
  absl::StrAppend(
      &sql,
      "SELECT c.oid, a.attnum, n.nspname, c.relname, a.attname, a.atttypid FROM "
      "pg_catalog.pg_class c JOIN "
      "pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_attribute a ON "
      "a.attrelid = c.oid WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT "
      "a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.oid IN (",
      candidates, ") ORDER BY 1, 2;\n");
  // 1: the dependent views: depth, definition, the relations they read.
  absl::StrAppend(
      &sql, deps,
      "SELECT v.oid, max(deps.depth), pg_catalog.pg_get_viewdef(v.oid), "
      "pg_catalog.string_agg(DISTINCT deps.base_oid::pg_catalog.text, ','), n.nspname, "
      "v.relname FROM deps JOIN pg_catalog.pg_class v ON v.oid = deps.view_oid JOIN "
      "pg_catalog.pg_namespace n ON n.oid = v.relnamespace GROUP BY v.oid, n.nspname, v.relname "
      "ORDER BY 2, 1;\n");
  // 2: their columns.
  absl::StrAppend(
      &sql, deps,
      "SELECT a.attrelid, a.attnum, a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid IN "
      "(SELECT view_oid FROM deps) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2;\n");
  // 3: domains and enums (their base types), and the types rules name.
  absl::StrAppend(&sql,
                  "SELECT t.oid, t.typname, t.typtype, t.typbasetype FROM pg_catalog.pg_type t "
                  "WHERE t.typtype IN ('d', 'e') OR t.typname IN (",
                  Literals(types), ");\n");
  // 4: the newest relation OID.
  absl::StrAppend(&sql, "SELECT pg_catalog.max(oid)::pg_catalog.int8 FROM pg_catalog.pg_class");
  return sql;
}

CatalogLoader::Step CatalogLoader::OnMessage(char type, std::span<const std::byte> payload) {
  if (failed_) {
    return Step::kFailed;
  }
  switch (type) {
    case pg::kMsgRowDescription:
      return Step::kMore;
    case pg::kMsgDataRow: {
      pg::DataRow row;
      if (pg::DecodeDataRow(payload, row) != pg::InvalidReason::kNone || row.column_count > 8) {
        error_ = "the catalog answer has a malformed row";
        failed_ = true;
        return Step::kFailed;
      }
      std::array<std::string_view, 8> values;
      pg::ValueIterator it = row.columns();
      pg::Value value;
      size_t n = 0;
      while (it.Next(value)) {
        values[n++] = value.is_null ? std::string_view() : value.text();
      }
      OnRow(std::span<const std::string_view>(values.data(), n));
      return failed_ ? Step::kFailed : Step::kMore;
    }
    case pg::kMsgCommandComplete:
      ++result_index_;
      return Step::kMore;
    case pg::kMsgBackendErrorResponse: {
      pg::ErrorResponse response;
      error_ = "the database refused the catalog query";
      if (pg::DecodeErrorResponse(payload, response) == pg::InvalidReason::kNone) {
        absl::StrAppend(&error_, ": ", absl::string_view(response.Find(pg::kFieldMessage).data(),
                                                         response.Find(pg::kFieldMessage).size()));
      }
      failed_ = true;
      return Step::kMore;  // ReadyForQuery follows; the caller stops at it
    }
    case pg::kMsgReadyForQuery:
      if (failed_) {
        return Step::kFailed;
      }
      if (result_index_ != kResultCount) {
        error_ = "the catalog answer is incomplete";
        failed_ = true;
        return Step::kFailed;
      }
      return Step::kDone;
    case pg::kMsgNoticeResponse:
    case pg::kMsgParameterStatus:
      return Step::kMore;
    default:
      error_ = absl::StrCat("unexpected message '", std::string(1, type),
                            "' in the catalog answer");
      failed_ = true;
      return Step::kFailed;
  }
}

void CatalogLoader::OnRow(std::span<const std::string_view> values) {
  const auto bad = [&]() {
    error_ = absl::StrCat("the catalog answer's result ", result_index_, " has an unexpected row");
    failed_ = true;
  };
  switch (result_index_) {
    case kColumns: {
      uint32_t oid = 0;
      int attnum = 0;
      uint32_t type = 0;
      if (values.size() != 6 || !ParseU32(values[0], &oid) || !ParseInt(values[1], &attnum) ||
          !ParseU32(values[5], &type)) {
        return bad();
      }
      if (candidates_.empty() || candidates_.back().oid != oid) {
        candidates_.push_back(SensitiveRelation{oid, std::string(values[2]),
                                                std::string(values[3]), {}, {}, {}});
        candidate_rules_.emplace_back();
      }
      SensitiveRelation& relation = candidates_.back();
      relation.columns.emplace_back(values[4]);
      relation.attnums.push_back(static_cast<int16_t>(attnum));
      relation.types.push_back(type);
      candidate_rules_.back().push_back(
          masks_.MatchSource(relation.schema, relation.name, values[4]));
      return;
    }
    case kViews: {
      ViewRow view;
      if (values.size() != 6 || !ParseU32(values[0], &view.oid) ||
          !ParseInt(values[1], &view.depth)) {
        return bad();
      }
      view.definition = std::string(values[2]);
      view.schema = std::string(values[4]);
      view.name = std::string(values[5]);
      for (absl::string_view part : absl::StrSplit(absl::string_view(values[3].data(),
                                                                     values[3].size()),
                                                   ',', absl::SkipEmpty())) {
        uint32_t base = 0;
        if (!ParseU32(std::string_view(part.data(), part.size()), &base)) {
          return bad();
        }
        view.bases.push_back(base);
      }
      views_.push_back(std::move(view));
      return;
    }
    case kViewColumns: {
      uint32_t oid = 0;
      int attnum = 0;
      if (values.size() != 3 || !ParseU32(values[0], &oid) || !ParseInt(values[1], &attnum)) {
        return bad();
      }
      view_columns_.push_back({oid, {static_cast<int16_t>(attnum), std::string(values[2])}});
      return;
    }
    case kTypes: {
      uint32_t oid = 0;
      uint32_t base = 0;
      if (values.size() != 4 || !ParseU32(values[0], &oid) || !ParseU32(values[3], &base)) {
        return bad();
      }
      if (values[2] == "e") {
        snapshot_.base_types[oid] = kOidText;  // an enum's text form is its label
      } else if (values[2] == "d") {
        snapshot_.base_types[oid] = base;
      }
      if (const uint16_t rule = masks_.MatchTypeName(values[1]); rule != kNoRule) {
        snapshot_.type_rules.emplace(oid, rule);
      }
      return;
    }
    case kOidMax: {
      if (values.size() != 1 || !ParseU32(values[0], &snapshot_.relation_oid_max)) {
        return bad();
      }
      return;
    }
    default:
      return bad();
  }
}

void CatalogLoader::ResolveViews() {
  // Views come ordered by depth, so a view's bases that are views are resolved before it.
  absl::flat_hash_map<uint32_t, size_t> relation_index;
  for (size_t i = 0; i < snapshot_.relations.size(); ++i) {
    relation_index[snapshot_.relations[i].oid] = i;
  }
  for (const ViewRow& view : views_) {
    // The sensitive columns of the view's bases, by name.
    std::vector<std::string> names;
    std::vector<std::pair<std::string, SourceMask>> by_name;
    std::vector<std::string> base_relations;
    for (uint32_t base : view.bases) {
      auto it = relation_index.find(base);
      if (it == relation_index.end()) {
        continue;
      }
      const SensitiveRelation& relation = snapshot_.relations[it->second];
      base_relations.push_back(relation.name);
      for (size_t c = 0; c < relation.columns.size(); ++c) {
        if (const SourceMask* mask = snapshot_.FindSource(relation.oid, relation.attnums[c]);
            mask != nullptr && !mask->unmasked) {
          names.push_back(relation.columns[c]);
          by_name.push_back({relation.columns[c], *mask});
        }
      }
    }
    if (names.empty()) {
      continue;  // computed from candidate relations only, none of them sensitive
    }
    SortUnique(&names);
    SortUnique(&base_relations);
    SourceMask any;  // the strictest mask of every sensitive base column, derived
    for (const auto& [name, mask] : by_name) {
      any.spec = any.rule == kNoRule ? DerivedSpec(mask.spec)
                                     : StricterSpec(any.spec, DerivedSpec(mask.spec));
      if (any.rule == kNoRule) {
        any.rule = mask.rule;
      }
    }
    const auto mask_of = [&](const std::string& name) -> const SourceMask* {
      for (const auto& [n, mask] : by_name) {
        if (n == name) {
          return &mask;
        }
      }
      return nullptr;
    };
    // The view's columns.
    SensitiveRelation relation;
    relation.oid = view.oid;
    relation.schema = view.schema;
    relation.name = view.name;
    for (const auto& [oid, column] : view_columns_) {
      if (oid == view.oid) {
        relation.columns.push_back(column.second);
        relation.attnums.push_back(column.first);
      }
    }
    std::string_view definition = view.definition;
    while (!definition.empty() && (definition.back() == ';' || definition.back() == ' ' ||
                                   definition.back() == '\n')) {
      definition.remove_suffix(1);
    }
    const sqlpg::Lineage lineage = sqlpg::AnalyzeLineage(
        definition, sqlpg::LexMode{}, sqlpg::SensitiveNames{names, base_relations});
    const bool exact = lineage.parsed && lineage.exact &&
                       lineage.columns.size() == relation.columns.size();
    bool sensitive = false;
    for (size_t c = 0; c < relation.columns.size(); ++c) {
      SourceMask mask;
      if (!exact) {
        mask = any;  // cannot tell which column is which: all of them (fail closed)
      } else {
        const sqlpg::OutputColumn& out = lineage.columns[c];
        if (out.origin == sqlpg::TargetOrigin::kColumn && !out.names.empty()) {
          if (const SourceMask* source = mask_of(out.names.front())) {
            mask = *source;
          }
        } else if (out.origin != sqlpg::TargetOrigin::kClean) {
          for (const std::string& name : out.names) {
            if (const SourceMask* source = mask_of(name)) {
              mask.spec = mask.rule == kNoRule ? DerivedSpec(source->spec)
                                               : StricterSpec(mask.spec, DerivedSpec(source->spec));
              if (mask.rule == kNoRule) {
                mask.rule = source->rule;
              }
            }
          }
          if (mask.rule == kNoRule) {
            mask = any;  // derived from a whole row or a name it could not attribute
          }
        }
      }
      if (mask.rule != kNoRule) {
        snapshot_.columns[CatalogSnapshot::SourceKey(view.oid, relation.attnums[c])] = mask;
        sensitive = true;
      }
    }
    if (sensitive) {
      // A view may also be one of the candidates (it has a column of a sensitive name).
      if (auto it = relation_index.find(view.oid); it == relation_index.end()) {
        relation_index[view.oid] = snapshot_.relations.size();
        snapshot_.relations.push_back(std::move(relation));
      }
    }
  }
}

std::shared_ptr<const CatalogSnapshot> CatalogLoader::Finish() {
  JG_CHECK(!failed_);
  for (size_t i = 0; i < candidates_.size(); ++i) {
    bool sensitive = false;
    for (size_t c = 0; c < candidates_[i].columns.size(); ++c) {
      const uint16_t rule = candidate_rules_[i][c];
      if (rule == kNoRule && masks_.IsUnmasked(candidates_[i].schema, candidates_[i].name,
                                               candidates_[i].columns[c])) {
        SourceMask unmasked;
        unmasked.unmasked = true;
        snapshot_.columns[CatalogSnapshot::SourceKey(candidates_[i].oid,
                                                     candidates_[i].attnums[c])] = unmasked;
        sensitive = true;  // kept for COPY's column order
      }
      if (rule != kNoRule) {
        snapshot_.columns[CatalogSnapshot::SourceKey(candidates_[i].oid,
                                                     candidates_[i].attnums[c])] =
            SourceMask{masks_.rule(rule).spec, rule};
        sensitive = true;
      }
    }
    if (sensitive) {
      snapshot_.relations.push_back(candidates_[i]);
    }
  }
  ResolveViews();
  for (const SensitiveRelation& relation : snapshot_.relations) {
    for (size_t c = 0; c < relation.columns.size(); ++c) {
      const SourceMask* mask = snapshot_.FindSource(relation.oid, relation.attnums[c]);
      if (mask != nullptr && !mask->unmasked) {
        snapshot_.sensitive_columns.push_back(relation.columns[c]);
      }
    }
    if (!relation.name.empty()) {
      snapshot_.sensitive_relations.push_back(relation.name);
    }
  }
  // Names the rules mention count too: a relation created later may use them.
  for (const Rule& rule : masks_.rules()) {
    if (rule.detectors != 0) {
      continue;
    }
    for (const config::ColumnPattern& pattern : rule.columns) {
      if (!pattern.column.empty()) {
        snapshot_.sensitive_columns.push_back(pattern.column);
      }
      if (!pattern.table.empty()) {
        snapshot_.sensitive_relations.push_back(pattern.table);
      }
    }
  }
  SortUnique(&snapshot_.sensitive_columns);
  SortUnique(&snapshot_.sensitive_relations);
  return std::make_shared<const CatalogSnapshot>(std::move(snapshot_));
}

}  // namespace jitgate::mask
