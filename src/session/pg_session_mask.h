// src/session/pg_session_mask.h: the masking state of one PostgreSQL gateway session (private
// to src/session; pg_session_mask.cc has the design).
#ifndef JITGATE_SRC_SESSION_PG_SESSION_MASK_H_
#define JITGATE_SRC_SESSION_PG_SESSION_MASK_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "jitgate/parsers/sql/pg/lineage.h"
#include "src/mask/catalog.h"
#include "src/mask/copy.h"
#include "src/mask/plan.h"
#include "src/mask/row.h"
#include "src/mask/value.h"

namespace jitgate::session {

// What the session knows of a prepared statement or a portal.
struct MaskedStatement {
  std::vector<std::byte> row_description;  // a RowDescription body; empty: not described
  bool no_data = false;                    // described: returns no rows
  bool describe_pending = false;           // the client's Describe of it is on its way
  mask::Derivation derivation;
  parsers::sql::pg::CopyInfo copy;         // a COPY ... TO STDOUT statement's options
  bool copy_known = false;
};

struct MaskedPortal {
  bool describe_pending = false;           // the client's Describe of it is on its way
  std::string statement;
  std::vector<int16_t> formats;            // the Bind's result format codes
  std::vector<std::byte> row_description;  // from a Describe of the portal (final formats)
  bool described = false;
  bool no_data = false;
};

// One message the backend will answer, in order (the FIFO that attributes responses).
struct Expect {
  enum class Kind : uint8_t {
    kQuery, kParse, kBind, kDescribeStatement, kDescribePortal, kExecute, kClose, kSync,
    kFunctionCall,
  };
  Kind kind = Kind::kQuery;
  std::string name;       // statement or portal
  bool injected = false;  // a Describe the gateway added: its answer is not the client's
  mask::Derivation derivation;          // kQuery: what its statements derive from
  parsers::sql::pg::CopyInfo copy;      // kQuery / kExecute of a COPY
  bool copy_known = false;
};

struct MaskState {
  std::shared_ptr<const mask::PolicyMasks> masks;
  std::shared_ptr<const mask::CatalogSnapshot> catalog;  // null until read (or not needed)
  std::unique_ptr<mask::CatalogLoader> loader;           // while the catalog is being read
  std::unique_ptr<mask::Hasher> hasher;                  // when a rule hashes
  absl::flat_hash_map<std::string, MaskedStatement> statements;
  absl::flat_hash_map<std::string, MaskedPortal> portals;
  // SQL-level cursors and prepared statements whose statements read masked data.
  absl::flat_hash_map<std::string, mask::Derivation> sql_names;
  std::deque<Expect> expects;
  // The result being answered.
  mask::ResultPlan plan;
  bool plan_ready = false;
  std::vector<uint64_t> counts;  // masked cells per column of the current result
  uint64_t rows = 0;
  uint64_t rows_masked = 0;
  mask::CopyMasker copy;
  bool copy_active = false;
  // Lineage per statement shape (fingerprint, seeded per process, and token count): a repeated
  // statement is not parsed again. Per session (the analysis depends on its catalog).
  struct CachedLineage {
    uint32_t token_count = 0;
    parsers::sql::pg::Lineage lineage;
  };
  absl::flat_hash_map<uint64_t, CachedLineage> lineage_cache;
  std::vector<std::byte> scratch;
  std::string lowered;  // DeriveStatement's lower-cased copy of a statement (reused)
  // The statement just analysed writes these masked columns' values somewhere (lineage.h
  // `written`): it is refused.
  std::vector<std::string> written;
  bool fatal = false;  // a row too large to mask: the session must end
  std::string fatal_message;
  size_t fatal_out_size = 0;  // the walk's output before the frame that could not be masked
};

}  // namespace jitgate::session

#endif  // JITGATE_SRC_SESSION_PG_SESSION_MASK_H_
