// tests/mask/row_test.cc: the compiled rules of one policy (PolicyMasks, src/mask/plan.h), the
// per-result plan built from a RowDescription (BuildPlan, src/mask/row.h) and the DataRow masker
// (MaskDataRow), on byte buffers built by hand: RowDescription bodies, a CatalogSnapshot filled by
// hand, Derivations as the lineage analysis would give them, and DataRow bodies whose masked
// frames are decoded again and compared byte for byte.
#include "src/mask/row.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jitgate/config.h"
#include "jitgate/parsers/pg/backend.h"
#include "jitgate/parsers/sql/pg/lineage.h"
#include "src/mask/catalog.h"
#include "src/mask/plan.h"
#include "src/mask/value.h"

namespace jitgate::mask {
namespace {

namespace pg = parsers::pg;
namespace sqlpg = parsers::sql::pg;

using Bytes = std::vector<std::byte>;
using Cell = std::optional<std::string>;  // nullopt: NULL

// ---- Byte builders -------------------------------------------------------------------------

void PutU16(Bytes* out, uint16_t v) {
  out->push_back(std::byte(v >> 8));
  out->push_back(std::byte(v));
}

void PutU32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(std::byte(v >> shift));
  }
}

void PutText(Bytes* out, std::string_view text) {
  for (char c : text) {
    out->push_back(std::byte(static_cast<uint8_t>(c)));
  }
}

uint32_t LoadU32(const Bytes& in, size_t at) {
  return (uint32_t(in[at]) << 24) | (uint32_t(in[at + 1]) << 16) | (uint32_t(in[at + 2]) << 8) |
         uint32_t(in[at + 3]);
}

struct Field {
  std::string name;
  uint32_t table_oid = 0;
  int16_t attnum = 0;
  uint32_t type_oid = kOidText;
  int16_t typlen = -1;
  int32_t typmod = -1;
  int16_t format = 0;
};

// A RowDescription body: Int16 count, then per field name\0, Int32 table OID, Int16 attnum,
// Int32 type OID, Int16 typlen, Int32 typmod, Int16 format.
Bytes Description(const std::vector<Field>& fields) {
  Bytes body;
  PutU16(&body, static_cast<uint16_t>(fields.size()));
  for (const Field& f : fields) {
    PutText(&body, f.name);
    body.push_back(std::byte{0});
    PutU32(&body, f.table_oid);
    PutU16(&body, static_cast<uint16_t>(f.attnum));
    PutU32(&body, f.type_oid);
    PutU16(&body, static_cast<uint16_t>(f.typlen));
    PutU32(&body, static_cast<uint32_t>(f.typmod));
    PutU16(&body, static_cast<uint16_t>(f.format));
  }
  return body;
}

// A DataRow body: Int16 count, then per value Int32 length (-1: NULL) and its bytes.
Bytes Row(const std::vector<Cell>& cells) {
  Bytes body;
  PutU16(&body, static_cast<uint16_t>(cells.size()));
  for (const Cell& cell : cells) {
    if (!cell.has_value()) {
      PutU32(&body, 0xffffffffu);
    } else {
      PutU32(&body, static_cast<uint32_t>(cell->size()));
      PutText(&body, *cell);
    }
  }
  return body;
}

// The whole DataRow frame of `body`.
Bytes Frame(const Bytes& body) {
  Bytes frame = {std::byte{'D'}};
  PutU32(&frame, static_cast<uint32_t>(4 + body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

// Decodes the one DataRow frame `out` holds from `at` on (it must fill the rest of `out`).
std::vector<Cell> DecodeFrame(const Bytes& out, size_t at) {
  std::vector<Cell> cells;
  EXPECT_GE(out.size(), at + 5);
  if (out.size() < at + 5) {
    return cells;
  }
  EXPECT_EQ(out[at], std::byte{'D'});
  EXPECT_EQ(LoadU32(out, at + 1), out.size() - at - 1) << "frame length = 4 + body";
  pg::DataRow row;
  const std::span<const std::byte> body(out.data() + at + 5, out.size() - at - 5);
  EXPECT_EQ(pg::DecodeDataRow(body, row), pg::InvalidReason::kNone);
  pg::ValueIterator it = row.columns();
  pg::Value value;
  while (it.Next(value)) {
    cells.push_back(value.is_null ? Cell() : Cell(std::string(value.text())));
  }
  EXPECT_EQ(it.error(), pg::InvalidReason::kNone);
  return cells;
}

std::string Bin(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) {
    s.push_back(static_cast<char>(b));
  }
  return s;
}

// ---- Config builders -----------------------------------------------------------------------

// "column", "table.column" or "schema.table.column"; "*" is any.
config::ColumnPattern Pattern(std::string_view text) {
  config::ColumnPattern pattern;
  pattern.text = std::string(text);
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    parts.emplace_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  const auto part = [](const std::string& p) { return p == "*" ? std::string() : p; };
  pattern.column = part(parts.back());
  if (parts.size() >= 2) {
    pattern.table = part(parts[parts.size() - 2]);
  }
  if (parts.size() == 3) {
    pattern.schema = part(parts[0]);
  }
  return pattern;
}

config::MaskRule ColumnRule(std::string name, std::vector<std::string_view> columns,
                            config::MaskStrategy strategy, std::string text = "****",
                            uint32_t keep = 4) {
  config::MaskRule rule;
  rule.name = std::move(name);
  for (std::string_view c : columns) {
    rule.columns.push_back(Pattern(c));
  }
  rule.strategy = strategy;
  rule.text = std::move(text);
  rule.keep = keep;
  return rule;
}

config::MaskRule TypeRule(std::string name, std::vector<std::string> types,
                          config::MaskStrategy strategy, std::string text = "****") {
  config::MaskRule rule;
  rule.name = std::move(name);
  rule.types = std::move(types);
  rule.strategy = strategy;
  rule.text = std::move(text);
  return rule;
}

config::MaskRule DetectorRule(std::string name, DetectorSet detectors,
                              config::MaskStrategy strategy, std::vector<std::string_view> columns = {},
                              std::string text = "****") {
  config::MaskRule rule;
  rule.name = std::move(name);
  rule.detectors = detectors;
  rule.strategy = strategy;
  rule.text = std::move(text);
  for (std::string_view c : columns) {
    rule.columns.push_back(Pattern(c));
  }
  return rule;
}

const DetectorSet kEmailCard = DetectorBit(Detector::kEmail) | DetectorBit(Detector::kCard);
const DetectorSet kSsnOnly = DetectorBit(Detector::kSsn);

// Rule indexes of StandardConfig().
constexpr uint16_t kRuleEmails = 0;   // *.email partial keep 4
constexpr uint16_t kRuleSsn = 1;      // customers.ssn redact "[ssn]"
constexpr uint16_t kRuleCards = 2;    // payments.card hash
constexpr uint16_t kRuleSecret = 3;   // *.secret null
constexpr uint16_t kRuleDomain = 4;   // types email_domain redact "[dom]"
constexpr uint16_t kRuleUuids = 5;    // types uuid hash
constexpr uint16_t kRuleDetect = 6;   // detectors email|card redact "[pii]"
constexpr uint16_t kRuleNotes = 7;    // detectors ssn, columns notes, null

config::MaskingConfig StandardConfig() {
  config::MaskingConfig masking;
  masking.rules.push_back(ColumnRule("emails", {"*.email"}, config::MaskStrategy::kPartial));
  masking.rules.push_back(
      ColumnRule("ssn", {"customers.ssn"}, config::MaskStrategy::kRedact, "[ssn]"));
  masking.rules.push_back(ColumnRule("cards", {"payments.card"}, config::MaskStrategy::kHash));
  masking.rules.push_back(ColumnRule("secret", {"*.secret"}, config::MaskStrategy::kNull));
  masking.rules.push_back(
      TypeRule("domain", {"email_domain"}, config::MaskStrategy::kRedact, "[dom]"));
  masking.rules.push_back(TypeRule("uuids", {"uuid"}, config::MaskStrategy::kHash));
  masking.rules.push_back(
      DetectorRule("detect", kEmailCard, config::MaskStrategy::kRedact, {}, "[pii]"));
  masking.rules.push_back(
      DetectorRule("notes", kSsnOnly, config::MaskStrategy::kNull, {"notes"}));
  masking.hash_key = std::string(32, 'k');
  return masking;
}

// ---- PolicyMasks::Compile ------------------------------------------------------------------

TEST(PolicyMasksTest, CompilesEveryKindOfRule) {
  const auto masks = PolicyMasks::Compile(StandardConfig(), config::Policy{});
  ASSERT_EQ(masks->rules().size(), 8u);
  EXPECT_TRUE(masks->active());
  EXPECT_TRUE(masks->needs_catalog());
  EXPECT_EQ(masks->rule(kRuleSsn).spec.strategy, Strategy::kRedact);
  EXPECT_EQ(masks->rule(kRuleSsn).spec.redact_text, "[ssn]");
  EXPECT_EQ(masks->rule(kRuleEmails).spec.strategy, Strategy::kPartial);
  EXPECT_EQ(masks->rule(kRuleEmails).spec.keep, 4u);
  // The spec views the rule's own text, not the config's.
  EXPECT_EQ(masks->rule(kRuleSsn).spec.redact_text.data(), masks->rule(kRuleSsn).text.data());
  EXPECT_EQ(masks->hash_key().size(), 32u);

  // Detectors: rules without "columns" scan everything; the strictest detector spec wins.
  EXPECT_EQ(masks->detectors(), kEmailCard);
  EXPECT_EQ(masks->scan_rule(), kRuleNotes);
  EXPECT_EQ(masks->scan_spec().strategy, Strategy::kNull);
  EXPECT_EQ(masks->DetectorsFor("", "", "notes"), kEmailCard | kSsnOnly);
  EXPECT_EQ(masks->DetectorsFor("", "", "comment"), kEmailCard);
  EXPECT_EQ(masks->DetectorsFor("public", "t", "notes"), kEmailCard | kSsnOnly);

  EXPECT_EQ(masks->MatchSource("public", "users", "email"), kRuleEmails);
  EXPECT_EQ(masks->MatchSource("public", "customers", "ssn"), kRuleSsn);
  EXPECT_EQ(masks->MatchSource("public", "orders", "ssn"), kNoRule);
  EXPECT_EQ(masks->MatchSource("public", "payments", "card"), kRuleCards);
  EXPECT_EQ(masks->MatchSource("public", "t", "notes"), kNoRule) << "detector rules are not column rules";
  EXPECT_FALSE(masks->IsUnmasked("public", "users", "email"));

  EXPECT_EQ(masks->MatchName("email"), kRuleEmails);
  EXPECT_EQ(masks->MatchName("ssn"), kRuleSsn);
  EXPECT_EQ(masks->MatchName("secret"), kRuleSecret);
  EXPECT_EQ(masks->MatchName("notes"), kNoRule);
  EXPECT_EQ(masks->MatchName("name"), kNoRule);

  EXPECT_EQ(masks->MatchTypeName("email_domain"), kRuleDomain);
  EXPECT_EQ(masks->MatchTypeName("uuid"), kRuleUuids);
  EXPECT_EQ(masks->MatchTypeName("text"), kNoRule);
}

TEST(PolicyMasksTest, EmptyConfigIsInactive) {
  const auto masks = PolicyMasks::Compile(config::MaskingConfig{}, config::Policy{});
  EXPECT_FALSE(masks->active());
  EXPECT_FALSE(masks->needs_catalog());
  EXPECT_EQ(masks->detectors(), 0);
  EXPECT_EQ(masks->scan_rule(), kNoRule);
  EXPECT_EQ(masks->MatchName("email"), kNoRule);
}

TEST(PolicyMasksTest, UnmaskColumns) {
  config::Policy policy;
  policy.unmask.columns.push_back(Pattern("users.email"));
  const auto masks = PolicyMasks::Compile(StandardConfig(), policy);
  EXPECT_EQ(masks->MatchSource("public", "users", "email"), kNoRule);
  EXPECT_TRUE(masks->IsUnmasked("public", "users", "email"));
  EXPECT_EQ(masks->MatchSource("public", "admins", "email"), kRuleEmails);
  EXPECT_FALSE(masks->IsUnmasked("public", "admins", "email"));
  // Only one table's email is unmasked: an expression named email is still masked.
  EXPECT_EQ(masks->MatchName("email"), kRuleEmails);

  config::Policy every;
  every.unmask.columns.push_back(Pattern("email"));
  const auto all = PolicyMasks::Compile(StandardConfig(), every);
  EXPECT_EQ(all->MatchName("email"), kNoRule);
  EXPECT_EQ(all->MatchSource("crm", "users", "email"), kNoRule);
  EXPECT_EQ(all->MatchName("ssn"), kRuleSsn);
}

TEST(PolicyMasksTest, UnmaskRules) {
  config::Policy policy;
  policy.unmask.rules.push_back("ssn");
  const auto masks = PolicyMasks::Compile(StandardConfig(), policy);
  ASSERT_EQ(masks->rules().size(), 7u);
  EXPECT_EQ(masks->MatchName("ssn"), kNoRule);
  EXPECT_EQ(masks->MatchSource("public", "customers", "ssn"), kNoRule);
  // The skipped rule's columns are unmasked, so the detectors leave them alone too.
  EXPECT_TRUE(masks->IsUnmasked("public", "customers", "ssn"));
  EXPECT_EQ(masks->MatchName("email"), 0);
  EXPECT_EQ(masks->MatchName("card"), 1) << "indexes shift down";
  EXPECT_EQ(masks->MatchSource("public", "payments", "card"), 1);

  config::Policy detect;
  detect.unmask.rules.push_back("detect");
  const auto no_detect = PolicyMasks::Compile(StandardConfig(), detect);
  EXPECT_EQ(no_detect->detectors(), 0);
  EXPECT_EQ(no_detect->DetectorsFor("", "", "notes"), kSsnOnly);
  EXPECT_FALSE(no_detect->IsUnmasked("", "", "notes"));
}

TEST(PolicyMasksTest, UnmaskDetectors) {
  config::Policy policy;
  policy.unmask.detectors = DetectorBit(Detector::kEmail);
  const auto masks = PolicyMasks::Compile(StandardConfig(), policy);
  EXPECT_EQ(masks->detectors(), DetectorBit(Detector::kCard));
  EXPECT_EQ(masks->rules().size(), 8u);

  policy.unmask.detectors = kEmailCard | kSsnOnly;
  const auto none = PolicyMasks::Compile(StandardConfig(), policy);
  EXPECT_EQ(none->rules().size(), 6u) << "rules with every detector unmasked are dropped";
  EXPECT_EQ(none->detectors(), 0);
  EXPECT_EQ(none->scan_rule(), kNoRule);
  EXPECT_EQ(none->DetectorsFor("", "", "notes"), 0);
}

TEST(PolicyMasksTest, FingerprintFollowsTheRules) {
  const config::Policy policy;
  const uint64_t base = PolicyMasks::Compile(StandardConfig(), policy)->fingerprint();
  EXPECT_EQ(PolicyMasks::Compile(StandardConfig(), policy)->fingerprint(), base);

  // Things masking does not depend on.
  config::Policy renamed;
  renamed.name = "other";
  EXPECT_EQ(PolicyMasks::Compile(StandardConfig(), renamed)->fingerprint(), base);
  config::MaskingConfig env = StandardConfig();
  env.hash_key_env = "SOME_ENV";
  EXPECT_EQ(PolicyMasks::Compile(env, policy)->fingerprint(), base);

  // Things it does.
  std::vector<config::MaskingConfig> changed;
  changed.push_back(StandardConfig());
  changed.back().rules[0].strategy = config::MaskStrategy::kRedact;
  changed.push_back(StandardConfig());
  changed.back().rules[1].text = "[SSN]";
  changed.push_back(StandardConfig());
  changed.back().rules[0].keep = 2;
  changed.push_back(StandardConfig());
  changed.back().rules[0].columns[0] = Pattern("*.mail");
  changed.push_back(StandardConfig());
  changed.back().rules[4].types[0] = "email_dom";
  changed.push_back(StandardConfig());
  changed.back().rules[6].detectors = DetectorBit(Detector::kEmail);
  changed.push_back(StandardConfig());
  changed.back().rules.pop_back();
  changed.push_back(StandardConfig());
  changed.back().rules[2].name = "cc";
  changed.push_back(StandardConfig());
  changed.back().hash_key = std::string(32, 'j');
  changed.push_back(StandardConfig());
  changed.back().row_size_max = 1u << 16;
  for (size_t i = 0; i < changed.size(); ++i) {
    EXPECT_NE(PolicyMasks::Compile(changed[i], policy)->fingerprint(), base) << "change " << i;
  }

  config::Policy unmask;
  unmask.unmask.columns.push_back(Pattern("users.email"));
  EXPECT_NE(PolicyMasks::Compile(StandardConfig(), unmask)->fingerprint(), base);
  config::Policy unmask_rule;
  unmask_rule.unmask.rules.push_back("secret");
  EXPECT_NE(PolicyMasks::Compile(StandardConfig(), unmask_rule)->fingerprint(), base);
  config::Policy unmask_detector;
  unmask_detector.unmask.detectors = DetectorBit(Detector::kCard);
  EXPECT_NE(PolicyMasks::Compile(StandardConfig(), unmask_detector)->fingerprint(), base);
}

TEST(PolicyMasksTest, DerivedAndStricterSpecs) {
  const MaskSpec partial{Strategy::kPartial, 2, "x"};
  EXPECT_EQ(DerivedSpec(partial).strategy, Strategy::kRedact);
  EXPECT_EQ(DerivedSpec(partial).redact_text, "****");
  const MaskSpec hash{Strategy::kHash};
  EXPECT_EQ(DerivedSpec(hash).strategy, Strategy::kHash);
  const MaskSpec null{Strategy::kNull};
  const MaskSpec redact{Strategy::kRedact};
  EXPECT_EQ(StricterSpec(hash, redact).strategy, Strategy::kRedact);
  EXPECT_EQ(StricterSpec(redact, hash).strategy, Strategy::kRedact);
  EXPECT_EQ(StricterSpec(redact, null).strategy, Strategy::kNull);
  EXPECT_EQ(StricterSpec(partial, hash).strategy, Strategy::kHash);
}

// ---- BuildPlan -----------------------------------------------------------------------------

constexpr uint32_t kUsersOid = 16384;      // users(id int4, email text, email_ok text)
constexpr uint32_t kCustomersOid = 16390;  // customers(ssn text)
constexpr uint32_t kRelationOidMax = 20000;
constexpr uint32_t kNewRelationOid = 20001;  // created after the snapshot
constexpr uint32_t kEmailDomainOid = 50000;  // domain over text, with a type rule of its own
constexpr uint32_t kTokenOid = 50001;        // domain over uuid (the uuid rule applies)
constexpr uint32_t kMoodOid = 50002;         // enum (text)

class BuildPlanTest : public ::testing::Test {
 protected:
  BuildPlanTest() : masks_(PolicyMasks::Compile(StandardConfig(), config::Policy{})) {
    catalog_.relation_oid_max = kRelationOidMax;
    catalog_.columns[CatalogSnapshot::SourceKey(kUsersOid, 2)] =
        SourceMask{masks_->rule(kRuleEmails).spec, kRuleEmails, false};
    catalog_.columns[CatalogSnapshot::SourceKey(kUsersOid, 3)] =
        SourceMask{MaskSpec{}, kNoRule, true};
    catalog_.columns[CatalogSnapshot::SourceKey(kCustomersOid, 1)] =
        SourceMask{masks_->rule(kRuleSsn).spec, kRuleSsn, false};
    catalog_.base_types[kEmailDomainOid] = kOidText;
    catalog_.base_types[kTokenOid] = kOidUuid;
    catalog_.base_types[kMoodOid] = kOidText;
    catalog_.type_rules[kEmailDomainOid] = kRuleDomain;
    catalog_.type_rules[kOidUuid] = kRuleUuids;
  }

  ResultPlan Build(const std::vector<Field>& fields, const Derivation* derivation = nullptr,
                   std::vector<int16_t> formats = {}, bool with_catalog = true) {
    ResultPlan plan;
    const Bytes body = Description(fields);
    EXPECT_TRUE(BuildPlan(*masks_, with_catalog ? &catalog_ : nullptr, body, formats, derivation,
                          &plan));
    EXPECT_EQ(plan.columns.size(), fields.size());
    EXPECT_EQ(plan.rules.size(), fields.size());
    EXPECT_EQ(plan.names.size(), fields.size());
    return plan;
  }

  void ExpectScan(const ResultPlan& plan, size_t i) {
    EXPECT_EQ(plan.columns[i].action, ColumnAction::kScan) << "column " << i;
    EXPECT_EQ(plan.columns[i].detectors, kEmailCard) << "column " << i;
    EXPECT_EQ(plan.columns[i].spec.strategy, masks_->scan_spec().strategy) << "column " << i;
    EXPECT_EQ(plan.rules[i], masks_->scan_rule()) << "column " << i;
  }

  std::shared_ptr<const PolicyMasks> masks_;
  CatalogSnapshot catalog_;
};

TEST_F(BuildPlanTest, SourceColumnMaskedByTheCatalog) {
  const ResultPlan plan = Build({{"mail", kUsersOid, 2}, {"ssn", kCustomersOid, 1}});
  EXPECT_TRUE(plan.any);
  EXPECT_EQ(plan.names[0], "mail");
  EXPECT_EQ(plan.columns[0].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[0].spec.strategy, Strategy::kPartial) << "a source column keeps partial";
  EXPECT_EQ(plan.rules[0], kRuleEmails);
  EXPECT_EQ(plan.columns[1].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[1].spec.redact_text, "[ssn]");
  EXPECT_EQ(plan.rules[1], kRuleSsn);
  EXPECT_EQ(plan.columns[1].kind, ValueKind::kText);

  // The newest relation of the snapshot is still a known source.
  catalog_.columns[CatalogSnapshot::SourceKey(kRelationOidMax, 1)] =
      SourceMask{masks_->rule(kRuleSsn).spec, kRuleSsn, false};
  const ResultPlan newest = Build({{"nickname", kRelationOidMax, 1}});
  EXPECT_EQ(newest.columns[0].action, ColumnAction::kMask);
  EXPECT_EQ(newest.rules[0], kRuleSsn);
}

TEST_F(BuildPlanTest, SourceColumnWithoutMaskIsScannedNotMatchedByName) {
  // users.id has no catalog entry: a known source, so its name is not looked at ("secret" would
  // match *.secret by name); it is scanned by the detectors.
  const ResultPlan plan = Build({{"secret", kUsersOid, 1, kOidInt4, 4}});
  ExpectScan(plan, 0);
  EXPECT_EQ(plan.columns[0].kind, ValueKind::kInt4);
}

TEST_F(BuildPlanTest, UnmaskedSourceColumnIsNeitherMaskedNorScanned) {
  // Named "email" (a name rule would match) and text (detectors would scan): neither applies.
  const ResultPlan plan = Build({{"email", kUsersOid, 3}});
  EXPECT_EQ(plan.columns[0].action, ColumnAction::kKeep);
  EXPECT_EQ(plan.columns[0].detectors, 0);
  EXPECT_EQ(plan.rules[0], kNoRule);
  EXPECT_FALSE(plan.any);
}

TEST_F(BuildPlanTest, ExpressionColumnMaskedByNameWithPartialDegraded) {
  const ResultPlan plan = Build({{"email"},
                                 {"EMAIL"},
                                 {"ssn", kNewRelationOid, 1},
                                 {"secret"},
                                 {"nickname"}});
  for (size_t i : {0, 1}) {
    EXPECT_EQ(plan.columns[i].action, ColumnAction::kMask) << i;
    EXPECT_EQ(plan.columns[i].spec.strategy, Strategy::kRedact) << "partial degrades to redact";
    EXPECT_EQ(plan.columns[i].spec.redact_text, "****");
    EXPECT_EQ(plan.rules[i], kRuleEmails);
  }
  EXPECT_EQ(plan.names[1], "EMAIL") << "names are kept as the server sent them";
  // A relation newer than the snapshot is treated as an expression.
  EXPECT_EQ(plan.columns[2].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[2].spec.redact_text, "[ssn]");
  EXPECT_EQ(plan.rules[2], kRuleSsn);
  EXPECT_EQ(plan.columns[3].spec.strategy, Strategy::kNull);
  ExpectScan(plan, 4);
}

TEST_F(BuildPlanTest, ExactDerivation) {
  Derivation derivation;
  derivation.known = true;
  derivation.exact = true;
  derivation.columns.resize(5);
  derivation.columns[0].origin = sqlpg::TargetOrigin::kDerived;  // substr(ssn, 1, 4)
  derivation.columns[0].names = {"ssn"};
  derivation.columns[1].origin = sqlpg::TargetOrigin::kColumn;  // a subquery's email as e
  derivation.columns[1].names = {"email"};
  derivation.columns[1].column = "email";
  derivation.columns[2].origin = sqlpg::TargetOrigin::kDerived;  // card || secret
  derivation.columns[2].names = {"card", "secret"};
  derivation.columns[3].origin = sqlpg::TargetOrigin::kDerived;  // reached by customers.*
  derivation.columns[3].names = {"salary"};
  derivation.columns[4].origin = sqlpg::TargetOrigin::kClean;
  derivation.referenced = {"card", "email", "secret", "ssn"};
  const ResultPlan plan = Build({{"s"}, {"e"}, {"cs"}, {"c"}, {"n"}}, &derivation);
  EXPECT_EQ(plan.columns[0].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[0].spec.strategy, Strategy::kRedact);
  EXPECT_EQ(plan.columns[0].spec.redact_text, "[ssn]");
  EXPECT_EQ(plan.rules[0], kRuleSsn);
  EXPECT_EQ(plan.columns[1].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[1].spec.strategy, Strategy::kRedact) << "partial degrades for kColumn too";
  EXPECT_EQ(plan.rules[1], kRuleEmails);
  // payments.card (hash) and *.secret (null): the stricter one.
  EXPECT_EQ(plan.columns[2].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[2].spec.strategy, Strategy::kNull);
  EXPECT_EQ(plan.rules[2], kRuleCards) << "the first rule found is the one named";
  // "salary" matches no rule by name: every column rule applies, null wins.
  EXPECT_EQ(plan.columns[3].action, ColumnAction::kMask);
  EXPECT_EQ(plan.columns[3].spec.strategy, Strategy::kNull);

  // A single hashed source stays hashed.
  derivation.columns[2].names = {"card"};
  const ResultPlan hashed = Build({{"s"}, {"e"}, {"cs"}, {"c"}, {"n"}}, &derivation);
  EXPECT_EQ(hashed.columns[2].spec.strategy, Strategy::kHash);
  // A clean column of an exact derivation is not tainted by the statement's references.
  ExpectScan(plan, 4);
}

TEST_F(BuildPlanTest, ExactDerivationWithNameRuleFirst) {
  // The output name is matched before the derivation.
  Derivation derivation;
  derivation.known = true;
  derivation.exact = true;
  derivation.columns.resize(1);
  derivation.columns[0].origin = sqlpg::TargetOrigin::kDerived;
  derivation.columns[0].names = {"secret"};
  const ResultPlan plan = Build({{"ssn"}}, &derivation);
  EXPECT_EQ(plan.columns[0].spec.redact_text, "[ssn]");
  EXPECT_EQ(plan.rules[0], kRuleSsn);
}

TEST_F(BuildPlanTest, TaintedDerivationMasksEveryExpressionColumnWithTheStrictestSpec) {
  Derivation derivation;
  derivation.known = true;
  derivation.exact = false;
  derivation.referenced = {"email", "ssn"};
  const ResultPlan plan = Build({{"a"}, {"b"}, {"id", kUsersOid, 1, kOidInt4, 4}}, &derivation);
  for (size_t i : {0, 1}) {
    EXPECT_EQ(plan.columns[i].action, ColumnAction::kMask) << i;
    EXPECT_EQ(plan.columns[i].spec.strategy, Strategy::kRedact) << i;
    EXPECT_EQ(plan.rules[i], kRuleEmails) << "the first rule found is the one named";
  }
  ExpectScan(plan, 2);  // a source column is decided by the catalog, not the statement

  derivation.referenced = {"email", "secret"};
  const ResultPlan null_plan = Build({{"a"}}, &derivation);
  EXPECT_EQ(null_plan.columns[0].spec.strategy, Strategy::kNull);

  // An exact derivation of the wrong width is not trusted: the references taint every column.
  Derivation wrong_width;
  wrong_width.known = true;
  wrong_width.exact = true;
  wrong_width.columns.resize(1);
  wrong_width.referenced = {"ssn"};
  const ResultPlan wide = Build({{"a"}, {"b"}}, &wrong_width);
  EXPECT_EQ(wide.columns[0].action, ColumnAction::kMask);
  EXPECT_EQ(wide.columns[1].spec.redact_text, "[ssn]");

  // A whole row: every column rule.
  Derivation whole;
  whole.known = true;
  whole.whole_row = true;
  const ResultPlan whole_plan = Build({{"row_to_json"}}, &whole);
  EXPECT_EQ(whole_plan.columns[0].spec.strategy, Strategy::kNull);

  // Known with nothing referenced, or unknown: no taint.
  Derivation clean;
  clean.known = true;
  ExpectScan(Build({{"a"}}, &clean), 0);
  Derivation unknown;
  unknown.referenced = {"ssn"};
  ExpectScan(Build({{"a"}}, &unknown), 0);
}

TEST_F(BuildPlanTest, TypeRulesThroughBaseTypes) {
  const ResultPlan plan = Build({{"d", 0, 0, kEmailDomainOid},
                                 {"t", 0, 0, kTokenOid, 16},
                                 {"u", kUsersOid, 1, kOidUuid, 16},
                                 {"m", 0, 0, kMoodOid},
                                 {"email", 0, 0, kOidUuid, 16}});
  EXPECT_EQ(plan.columns[0].action, ColumnAction::kMask);
  EXPECT_EQ(plan.rules[0], kRuleDomain) << "the domain's own type rule";
  EXPECT_EQ(plan.columns[0].spec.redact_text, "[dom]");
  EXPECT_EQ(plan.columns[0].kind, ValueKind::kText) << "kind of the base type";
  EXPECT_EQ(plan.columns[1].action, ColumnAction::kMask);
  EXPECT_EQ(plan.rules[1], kRuleUuids) << "the base type's rule";
  EXPECT_EQ(plan.columns[1].spec.strategy, Strategy::kHash);
  EXPECT_EQ(plan.columns[1].kind, ValueKind::kUuid);
  EXPECT_EQ(plan.rules[2], kRuleUuids) << "type rules apply to source columns too";
  EXPECT_EQ(plan.columns[3].kind, ValueKind::kText) << "an enum reads as text";
  ExpectScan(plan, 3);
  EXPECT_EQ(plan.rules[4], kRuleEmails) << "a name rule comes before a type rule";

  // Without a catalog there are no type rules and domains stay unknown kinds.
  const ResultPlan bare = Build({{"d", 0, 0, kEmailDomainOid}, {"u", 0, 0, kOidUuid, 16}},
                                nullptr, {}, false);
  ExpectScan(bare, 0);
  EXPECT_EQ(bare.columns[0].kind, ValueKind::kOther);
  ExpectScan(bare, 1);
}

TEST_F(BuildPlanTest, DetectorsScanTextColumns) {
  const ResultPlan plan = Build({{"comment"}, {"notes"}, {"n", 0, 0, kOidInt8, 8}});
  ExpectScan(plan, 0);
  EXPECT_EQ(plan.columns[1].action, ColumnAction::kScan);
  EXPECT_EQ(plan.columns[1].detectors, kEmailCard | kSsnOnly) << "narrowed rule by name";
  EXPECT_EQ(plan.columns[2].action, ColumnAction::kScan);
  EXPECT_EQ(plan.columns[2].kind, ValueKind::kInt8);
  EXPECT_EQ(plan.columns[2].typmod, -1);

  // Without detector rules a clean result is all kKeep and any is false.
  config::MaskingConfig masking = StandardConfig();
  masking.rules.resize(6);
  const auto masks = PolicyMasks::Compile(masking, config::Policy{});
  ResultPlan keep;
  ASSERT_TRUE(BuildPlan(*masks, &catalog_, Description({{"comment"}, {"id", kUsersOid, 1}}), {},
                        nullptr, &keep));
  EXPECT_FALSE(keep.any);
  EXPECT_EQ(keep.columns[0].action, ColumnAction::kKeep);
  EXPECT_EQ(keep.columns[1].action, ColumnAction::kKeep);
}

TEST_F(BuildPlanTest, ResultFormats) {
  Field binary{"b"};
  binary.format = 1;
  Field varchar{"v", 0, 0, kOidVarchar};
  varchar.typmod = 14;
  const std::vector<Field> fields = {{"a"}, binary, varchar};
  const ResultPlan own = Build(fields);
  EXPECT_EQ(own.columns[0].format, 0);
  EXPECT_EQ(own.columns[1].format, 1);
  EXPECT_EQ(own.columns[2].format, 0);
  EXPECT_EQ(own.columns[2].typmod, 14);
  const ResultPlan one = Build(fields, nullptr, {1});
  for (const ColumnPlan& c : one.columns) {
    EXPECT_EQ(c.format, 1);
  }
  const ResultPlan each = Build(fields, nullptr, {1, 0, 1});
  EXPECT_EQ(each.columns[0].format, 1);
  EXPECT_EQ(each.columns[1].format, 0);
  EXPECT_EQ(each.columns[2].format, 1);

  ResultPlan plan;
  EXPECT_FALSE(BuildPlan(*masks_, &catalog_, Description(fields), std::vector<int16_t>{1, 0},
                         nullptr, &plan))
      << "two codes for three columns";
}

TEST_F(BuildPlanTest, BadDescriptionReturnsFalse) {
  ResultPlan plan;
  plan.any = true;
  plan.columns.resize(3);
  EXPECT_FALSE(BuildPlan(*masks_, &catalog_, Bytes{}, {}, nullptr, &plan));
  EXPECT_TRUE(plan.columns.empty()) << "the old plan is cleared";
  EXPECT_FALSE(BuildPlan(*masks_, &catalog_, Bytes{std::byte{0}}, {}, nullptr, &plan));

  Bytes two = Description({{"a"}, {"b"}});
  Bytes truncated(two.begin(), two.end() - 3);
  EXPECT_FALSE(BuildPlan(*masks_, &catalog_, truncated, {}, nullptr, &plan));

  Bytes claims_more = Description({{"a"}});
  claims_more[1] = std::byte{2};  // two fields announced, one present
  EXPECT_FALSE(BuildPlan(*masks_, &catalog_, claims_more, {}, nullptr, &plan));

  Bytes unterminated = {std::byte{0}, std::byte{1}, std::byte{'a'}, std::byte{'b'}};
  EXPECT_FALSE(BuildPlan(*masks_, &catalog_, unterminated, {}, nullptr, &plan));

  // An empty description is a valid plan of no columns.
  ASSERT_TRUE(BuildPlan(*masks_, &catalog_, Description({}), {}, nullptr, &plan));
  EXPECT_TRUE(plan.columns.empty());
  EXPECT_FALSE(plan.any);
}

TEST(BuildNullPlanTest, NullsEveryColumn) {
  ResultPlan plan;
  BuildNullPlan(3, &plan);
  ASSERT_EQ(plan.columns.size(), 3u);
  EXPECT_TRUE(plan.any);
  for (const ColumnPlan& c : plan.columns) {
    EXPECT_EQ(c.action, ColumnAction::kMask);
    EXPECT_EQ(c.spec.strategy, Strategy::kNull);
  }
  BuildNullPlan(0, &plan);
  EXPECT_FALSE(plan.any);
}

// ---- MaskDataRow ---------------------------------------------------------------------------

ColumnPlan Keep(ValueKind kind = ValueKind::kText, int16_t format = 0) {
  ColumnPlan c;
  c.kind = kind;
  c.format = format;
  return c;
}

ColumnPlan Mask(Strategy strategy, ValueKind kind = ValueKind::kText, int16_t format = 0,
                std::string_view text = "****") {
  ColumnPlan c;
  c.action = ColumnAction::kMask;
  c.spec.strategy = strategy;
  c.spec.redact_text = text;
  c.kind = kind;
  c.format = format;
  return c;
}

ColumnPlan Scan(DetectorSet detectors = kAllDetectors, std::string_view text = "[pii]") {
  ColumnPlan c;
  c.action = ColumnAction::kScan;
  c.detectors = detectors;
  c.spec.strategy = Strategy::kRedact;
  c.spec.redact_text = text;
  return c;
}

ResultPlan PlanOf(std::vector<ColumnPlan> columns) {
  ResultPlan plan;
  plan.columns = std::move(columns);
  plan.rules.assign(plan.columns.size(), kNoRule);
  plan.names.assign(plan.columns.size(), "c");
  for (const ColumnPlan& c : plan.columns) {
    plan.any = plan.any || c.action != ColumnAction::kKeep;
  }
  return plan;
}

class MaskDataRowTest : public ::testing::Test {
 protected:
  // Masks `row`; `out` starts with a sentinel byte that must survive. Returns the new values
  // (empty when unchanged) and, in *frame, the frame bytes appended.
  std::vector<Cell> Run(const ResultPlan& plan, const std::vector<Cell>& row, bool expect_changed,
                        Bytes* frame = nullptr) {
    return RunBody(plan, Row(row), expect_changed, frame);
  }
  std::vector<Cell> RunBody(const ResultPlan& plan, const Bytes& body, bool expect_changed,
                            Bytes* frame = nullptr) {
    Bytes out = {std::byte{0x5a}};
    counts_.assign(plan.columns.size(), 0);
    const bool changed = MaskDataRow(plan, body, &hasher_, &out, counts_);
    EXPECT_EQ(changed, expect_changed);
    EXPECT_EQ(out[0], std::byte{0x5a});
    if (!changed) {
      EXPECT_EQ(out.size(), 1u) << "an unchanged row appends nothing";
      return {};
    }
    if (frame != nullptr) {
      frame->assign(out.begin() + 1, out.end());
    }
    return DecodeFrame(out, 1);
  }

  Bytes key_ = Bytes(32, std::byte{'k'});
  Hasher hasher_{key_};
  std::vector<uint64_t> counts_;
};

TEST_F(MaskDataRowTest, UnchangedRowsAppendNothing) {
  const ResultPlan plan = PlanOf({Keep(), Scan(), Keep(ValueKind::kInt4)});
  Run(plan, {"alice", "nothing to see here, order 12 of 2024-01-02", "42"}, false);
  Run(plan, {Cell(), Cell(), Cell()}, false);
  Run(plan, {"", "", ""}, false);
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 0, 0}));
  // Scan on a kind that cannot hold a match.
  ColumnPlan uuid_scan = Scan();
  uuid_scan.kind = ValueKind::kUuid;
  Run(PlanOf({uuid_scan}), {"123e4567-e89b-12d3-a456-426614174000"}, false);
}

TEST_F(MaskDataRowTest, MaskedRowIsAValidFrameWithUntouchedValuesIdentical) {
  const ResultPlan plan =
      PlanOf({Keep(), Mask(Strategy::kRedact), Keep(ValueKind::kInt4), Keep(), Scan()});
  Bytes frame;
  const std::vector<Cell> got =
      Run(plan, {"alice", "alice@example.com", "42", Cell(), "no match"}, true, &frame);
  EXPECT_EQ(got, (std::vector<Cell>{"alice", "****", "42", Cell(), "no match"}));
  EXPECT_EQ(frame, Frame(Row({"alice", "****", "42", Cell(), "no match"})))
      << "byte-identical to the frame built by hand";
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 1, 0, 0, 0}));
}

TEST_F(MaskDataRowTest, FirstChangeByAScan) {
  const ResultPlan plan = PlanOf({Keep(), Keep(), Scan(), Keep(), Scan()});
  Bytes frame;
  const std::vector<Cell> got =
      Run(plan, {"a", Cell(), "mail bob@example.com now", "z", "card 4111 1111 1111 1111."},
          true, &frame);
  EXPECT_EQ(frame,
            Frame(Row({"a", Cell(), "mail [pii] now", "z", "card [pii]."})));
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 0, 1, 0, 1}));

  // The scan finds nothing in the first scanned column, then a match in the second.
  Run(plan, {"a", "b", "clean", "z", "x@example.org"}, true, &frame);
  EXPECT_EQ(frame, Frame(Row({"a", "b", "clean", "z", "[pii]"})));
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 0, 0, 0, 1}));

  // Only the first column, of one.
  Run(PlanOf({Scan()}), {"x@example.org"}, true, &frame);
  EXPECT_EQ(frame, Frame(Row({"[pii]"})));
}

TEST_F(MaskDataRowTest, PartialAndLengthChanges) {
  ColumnPlan partial = Mask(Strategy::kPartial);
  partial.spec.keep = 4;
  const ResultPlan plan = PlanOf({partial, Keep(), Mask(Strategy::kRedact, ValueKind::kText, 0,
                                                        "a much longer replacement text")});
  Bytes frame;
  Run(plan, {"4111-1111-1111-1234", "mid", "x"}, true, &frame);
  EXPECT_EQ(frame, Frame(Row({"****-****-****-1234", "mid", "a much longer replacement text"})));
}

TEST_F(MaskDataRowTest, NullInputsStayNull) {
  const ResultPlan plan = PlanOf({Mask(Strategy::kRedact), Mask(Strategy::kHash), Scan(), Keep()});
  Run(plan, {Cell(), Cell(), Cell(), "k"}, false);
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 0, 0, 0}));
  const std::vector<Cell> got = Run(plan, {Cell(), "v", Cell(), Cell()}, true);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_FALSE(got[0].has_value());
  ASSERT_TRUE(got[1].has_value());
  EXPECT_EQ(got[1]->size(), 16u);
  EXPECT_EQ((*got[1])[0], 'h');
  EXPECT_FALSE(got[2].has_value());
  EXPECT_FALSE(got[3].has_value());
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 1, 0, 0}));
}

TEST_F(MaskDataRowTest, NullStrategyGivesLengthMinusOne) {
  const ResultPlan plan = PlanOf({Keep(), Mask(Strategy::kNull), Keep()});
  Bytes frame;
  Run(plan, {"a", "secret", "c"}, true, &frame);
  Bytes expected = {std::byte{'D'}};
  PutU32(&expected, 4 + 2 + (4 + 1) + 4 + (4 + 1));
  PutU16(&expected, 3);
  PutU32(&expected, 1);
  PutText(&expected, "a");
  PutU32(&expected, 0xffffffffu);
  PutU32(&expected, 1);
  PutText(&expected, "c");
  EXPECT_EQ(frame, expected);
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 1, 0}));

  // A scan whose spec nulls gives -1 as well.
  ColumnPlan scan = Scan();
  scan.spec.strategy = Strategy::kNull;
  const std::vector<Cell> got = Run(PlanOf({scan, Keep()}), {"ssn 123-45-6789", "b"}, true);
  EXPECT_EQ(got, (std::vector<Cell>{Cell(), "b"}));
}

TEST_F(MaskDataRowTest, ColumnCountMismatchNullsEverything) {
  const ResultPlan plan = PlanOf({Keep(), Keep()});
  EXPECT_EQ(Run(plan, {"a", "b", "c"}, true), (std::vector<Cell>{Cell(), Cell(), Cell()}));
  EXPECT_EQ(counts_, (std::vector<uint64_t>{1, 2})) << "beyond the plan: the last index";
  EXPECT_EQ(Run(plan, {"a"}, true), (std::vector<Cell>{Cell()}));
  EXPECT_EQ(counts_, (std::vector<uint64_t>{1, 0}));
  EXPECT_EQ(Run(plan, {"a", Cell(), "c"}, true), (std::vector<Cell>{Cell(), Cell(), Cell()}));
  // Already all NULL: nothing to change.
  Run(plan, {Cell(), Cell(), Cell()}, false);
}

TEST_F(MaskDataRowTest, CountsPerColumnAcrossRows) {
  const ResultPlan plan = PlanOf({Mask(Strategy::kRedact), Scan(), Keep()});
  Bytes out;
  std::vector<uint64_t> counts(3, 0);
  const std::vector<std::vector<Cell>> rows = {{"a", "x@example.com", "k"},
                                               {"b", "clean", "k"},
                                               {Cell(), "y@example.com", "k"},
                                               {Cell(), "clean", "k"}};
  size_t changed = 0;
  for (const auto& row : rows) {
    changed += MaskDataRow(plan, Row(row), &hasher_, &out, counts) ? 1 : 0;
  }
  EXPECT_EQ(changed, 3u);
  EXPECT_EQ(counts, (std::vector<uint64_t>{2, 2, 0}));
  // The three frames follow each other in `out`.
  size_t at = 0;
  std::vector<std::vector<Cell>> frames;
  while (at + 5 <= out.size()) {
    const size_t next = at + 1 + LoadU32(out, at + 1);
    ASSERT_LE(next, out.size());
    frames.push_back(DecodeFrame(Bytes(out.begin() + static_cast<ptrdiff_t>(at),
                                       out.begin() + static_cast<ptrdiff_t>(next)),
                                 0));
    at = next;
  }
  EXPECT_EQ(at, out.size());
  EXPECT_EQ(frames, (std::vector<std::vector<Cell>>{{"****", "[pii]", "k"},
                                                    {"****", "clean", "k"},
                                                    {Cell(), "[pii]", "k"}}));
}

TEST_F(MaskDataRowTest, BinaryInt4AndUuidKeepTheirWidths) {
  const ResultPlan plan = PlanOf({Mask(Strategy::kHash, ValueKind::kInt4, 1),
                                  Mask(Strategy::kRedact, ValueKind::kInt4, 1),
                                  Mask(Strategy::kHash, ValueKind::kUuid, 1),
                                  Mask(Strategy::kRedact, ValueKind::kUuid, 1),
                                  Keep(ValueKind::kInt4, 1)});
  const std::string int4 = Bin({0x00, 0x01, 0xe2, 0x40});  // 123456
  const std::string uuid = Bin({0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42,
                                0x66, 0x14, 0x17, 0x40, 0x00});
  const std::vector<Cell> got = Run(plan, {int4, int4, uuid, uuid, int4}, true);
  ASSERT_EQ(got.size(), 5u);
  for (const Cell& cell : got) {
    ASSERT_TRUE(cell.has_value());
  }
  EXPECT_EQ(got[0]->size(), 4u);
  EXPECT_NE(*got[0], int4);
  EXPECT_EQ(static_cast<uint8_t>((*got[0])[0]) & 0x80, 0) << "non-negative";
  EXPECT_EQ(*got[1], std::string(4, '\0'));
  EXPECT_EQ(got[2]->size(), 16u);
  EXPECT_NE(*got[2], uuid);
  EXPECT_EQ(static_cast<uint8_t>((*got[2])[6]) >> 4, 4) << "version 4";
  EXPECT_EQ(static_cast<uint8_t>((*got[2])[8]) >> 6, 2) << "RFC 4122 variant";
  EXPECT_EQ(*got[3], std::string(16, '\0'));
  EXPECT_EQ(*got[4], int4);
  // Stable: the same key hashes the same value the same way.
  EXPECT_EQ(Run(plan, {int4, int4, uuid, uuid, int4}, true), got);
}

TEST_F(MaskDataRowTest, PlanFromBuildPlanEndToEnd) {
  const auto masks = PolicyMasks::Compile(StandardConfig(), config::Policy{});
  CatalogSnapshot catalog;
  catalog.relation_oid_max = kRelationOidMax;
  catalog.columns[CatalogSnapshot::SourceKey(kUsersOid, 2)] =
      SourceMask{masks->rule(kRuleEmails).spec, kRuleEmails, false};
  catalog.columns[CatalogSnapshot::SourceKey(kUsersOid, 3)] = SourceMask{MaskSpec{}, kNoRule, true};
  ResultPlan plan;
  ASSERT_TRUE(BuildPlan(*masks, &catalog,
                        Description({{"id", kUsersOid, 1, kOidInt4, 4},
                                     {"email", kUsersOid, 2},
                                     {"email_ok", kUsersOid, 3},
                                     {"bio"},
                                     {"secret"}}),
                        {}, nullptr, &plan));
  Bytes frame;
  const std::vector<Cell> got =
      Run(plan, {"7", "jane.doe@corp.io", "jane.doe@corp.io", "write to jo@x.io", "s3cr3t"}, true,
          &frame);
  // The source column keeps partial; the detectors' match takes the strictest detector spec
  // (the notes rule's null).
  EXPECT_EQ(got, (std::vector<Cell>{"7", "****.***@**rp.io", "jane.doe@corp.io", Cell(),
                                    Cell()}));
  EXPECT_EQ(counts_, (std::vector<uint64_t>{0, 1, 0, 1, 1}));
}

TEST_F(MaskDataRowTest, UndecodableRowIsLeftToTheCaller) {
  const ResultPlan plan = PlanOf({Mask(Strategy::kRedact)});
  Bytes body = Row({"abc"});
  body.pop_back();  // the value is one byte short
  RunBody(plan, body, false);
  RunBody(plan, Bytes{std::byte{0}}, false);
  Bytes negative = Row({Cell()});
  negative[5] = std::byte{0xfe};  // length -2
  RunBody(plan, negative, false);
}

}  // namespace
}  // namespace jitgate::mask
