// src/mask/catalog.h: what the masker learns from the database's catalog, once per backend
// connection: which source columns (table OID, attribute number) are sensitive and how they are
// masked, the columns of the relations holding them (for COPY), the views computed from them,
// the base types of domains and enums, and the newest relation OID (anything newer was created
// after the snapshot and is treated as an expression).
//
// The session sends CatalogQuery() as a simple Query on the fresh backend connection, before the
// client's first message, and feeds every backend message of the answer to a CatalogLoader until
// ReadyForQuery. The query reads pg_class, pg_attribute, pg_namespace, pg_depend, pg_rewrite and
// pg_type (every role may), restricted to the names the rules mention, so its cost does not
// grow with the size of the database.
// Views: a view depending (directly or through other views) on a sensitive relation has its
// definition (pg_get_viewdef) analysed with the SQL lineage analysis: a view column that is a
// sensitive column takes that column's mask, one computed from sensitive columns takes the
// derived (stricter) mask, and when the definition cannot be analysed every column of the view
// is masked (fail closed).
#ifndef JITGATE_SRC_MASK_CATALOG_H_
#define JITGATE_SRC_MASK_CATALOG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "jitgate/parsers/sql/pg/lineage.h"
#include "src/mask/plan.h"

namespace jitgate::mask {

// The mask of one source column.
struct SourceMask {
  MaskSpec spec;
  uint16_t rule = kNoRule;  // for counts and logs; kNoRule with `unmasked`
  bool unmasked = false;    // the policy unmasks the column: no mask, no detector scan
};

// A relation with at least one sensitive column.
struct SensitiveRelation {
  uint32_t oid = 0;
  std::string schema;
  std::string name;
  std::vector<std::string> columns;  // live columns in attnum order (dropped ones skipped)
  std::vector<int16_t> attnums;      // beside `columns`
  std::vector<uint32_t> types;       // beside `columns`: type OIDs
};

struct CatalogSnapshot {
  absl::flat_hash_map<uint64_t, SourceMask> columns;  // key SourceKey(oid, attnum)
  std::vector<SensitiveRelation> relations;
  absl::flat_hash_map<uint32_t, uint32_t> base_types;  // domain/enum OID -> base type OID
                                                       // (enums -> text)
  absl::flat_hash_map<uint32_t, uint16_t> type_rules;  // type OID -> type rule
  uint32_t relation_oid_max = 0;  // newest relation OID when the snapshot was taken
  // For the lineage analysis of statements: sorted, unique, folded.
  std::vector<std::string> sensitive_columns;
  std::vector<std::string> sensitive_relations;

  static uint64_t SourceKey(uint32_t oid, int16_t attnum) {
    return (uint64_t{oid} << 16) | static_cast<uint16_t>(attnum);
  }
  const SourceMask* FindSource(uint32_t oid, int16_t attnum) const {
    auto it = columns.find(SourceKey(oid, attnum));
    return it == columns.end() ? nullptr : &it->second;
  }
  // Relations named `name` (and in `schema` when not empty).
  std::vector<const SensitiveRelation*> FindRelations(std::string_view schema,
                                                      std::string_view name) const;
  uint32_t BaseType(uint32_t type_oid) const {
    auto it = base_types.find(type_oid);
    return it == base_types.end() ? type_oid : it->second;
  }
  parsers::sql::pg::SensitiveNames names() const {
    return {sensitive_columns, sensitive_relations};
  }
};

// The catalog query for `masks` (several statements; answered as several result sets).
std::string CatalogQuery(const PolicyMasks& masks);

class CatalogLoader {
 public:
  explicit CatalogLoader(const PolicyMasks& masks) : masks_(masks) {}

  enum class Step : uint8_t { kMore, kDone, kFailed };
  // One backend message of the answer (type byte and body). kFailed: the database refused the
  // query (error() says why) or answered something the loader does not expect.
  Step OnMessage(char type, std::span<const std::byte> payload);
  const std::string& error() const { return error_; }
  // After kDone: the snapshot (views resolved).
  std::shared_ptr<const CatalogSnapshot> Finish();

 private:
  struct ViewRow {
    uint32_t oid = 0;
    int depth = 0;
    std::string definition;
    std::vector<uint32_t> bases;
    std::string schema;
    std::string name;
  };
  void OnRow(std::span<const std::string_view> values);
  void ResolveViews();

  const PolicyMasks& masks_;
  size_t result_index_ = 0;  // which statement's rows arrive
  bool failed_ = false;
  std::string error_;
  std::vector<SensitiveRelation> candidates_;   // result 0, every candidate relation
  std::vector<std::vector<uint16_t>> candidate_rules_;  // beside candidates_ columns
  std::vector<ViewRow> views_;                  // result 1
  std::vector<std::pair<uint32_t, std::pair<int16_t, std::string>>> view_columns_;  // result 2
  std::vector<std::pair<uint32_t, std::pair<std::string, uint32_t>>> types_;  // result 3
  CatalogSnapshot snapshot_;
};

}  // namespace jitgate::mask

#endif  // JITGATE_SRC_MASK_CATALOG_H_
