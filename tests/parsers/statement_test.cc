// Tests of the Statement result type (jitgate/parsers/sql/statement.h): interning, overflow is
// reported not silent, CopyFrom re-points names into the copy's own storage.
#include "jitgate/parsers/sql/statement.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace jitgate::parsers::sql {
namespace {

TEST(StatementTest, NamesLiveInTheStatementsOwnStorage) {
  auto statement = std::make_unique<Statement>();
  {
    std::string schema = "payments";
    std::string table = "cards";
    statement->AddRelation(schema, table, RelationAccess::kWrite);
    statement->AddFunction("", "pg_read_file");
    schema.assign(8, 'x');  // the source text goes away; the statement keeps its copy
  }
  ASSERT_EQ(statement->relation_count, 1);
  EXPECT_EQ(statement->relations[0].name.schema, "payments");
  EXPECT_EQ(statement->relations[0].name.name, "cards");
  EXPECT_EQ(statement->relations[0].access, RelationAccess::kWrite);
  ASSERT_EQ(statement->function_count, 1);
  EXPECT_TRUE(statement->functions[0].schema.empty());
  EXPECT_EQ(statement->functions[0].name, "pg_read_file");
  EXPECT_EQ(statement->flags & kFlagNamesOverflow, 0u);
}

TEST(StatementTest, OverflowIsReportedNotSilent) {
  auto statement = std::make_unique<Statement>();
  for (size_t i = 0; i < kRelationsMax + 3; ++i) {
    statement->AddRelation("", "t" + std::to_string(i), RelationAccess::kRead);
  }
  EXPECT_EQ(statement->relation_count, kRelationsMax);
  EXPECT_NE(statement->flags & kFlagNamesOverflow, 0u);

  auto small = std::make_unique<Statement>();
  const std::string huge(kNameStorageSize + 1, 'n');
  small->AddFunction("", huge);
  EXPECT_EQ(small->function_count, 0);
  EXPECT_NE(small->flags & kFlagNamesOverflow, 0u);
}

TEST(StatementTest, CopyFromRepointsViews) {
  auto original = std::make_unique<Statement>();
  original->statement_class = StatementClass::kDestructive;
  original->flags = kFlagNoWhere;
  original->command = "DELETE";
  original->AddRelation("public", "orders", RelationAccess::kWrite);
  original->AddFunction("pg_catalog", "now");
  auto copy = std::make_unique<Statement>();
  copy->CopyFrom(*original);
  original->Reset();
  original->AddRelation("zzzzzz", "zzzzzz", RelationAccess::kRead);  // overwrite old storage
  EXPECT_EQ(copy->statement_class, StatementClass::kDestructive);
  EXPECT_EQ(copy->flags, uint32_t{kFlagNoWhere});
  EXPECT_EQ(copy->command, "DELETE");
  ASSERT_EQ(copy->relation_count, 1);
  EXPECT_EQ(copy->relations[0].name.schema, "public");
  EXPECT_EQ(copy->relations[0].name.name, "orders");
  EXPECT_EQ(copy->functions[0].schema, "pg_catalog");
  EXPECT_EQ(copy->functions[0].name, "now");
}

TEST(StatementTest, ClassNames) {
  EXPECT_EQ(StatementClassName(StatementClass::kRead), "read");
  EXPECT_EQ(StatementClassName(StatementClass::kDestructive), "destructive");
  EXPECT_EQ(StatementClassName(StatementClass::kUnknown), "unknown");
}

}  // namespace
}  // namespace jitgate::parsers::sql
