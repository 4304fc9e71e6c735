// parsers/sql/mysql/functions.cc: function names for the MySQL classifier (classify_internal.h).
//
// kKnown lists MySQL 8 / MariaDB built-in functions, type names and syntax words that are
// followed by '(' (sorted, upper case; binary search with ASCII case folding). A call of any other
// name is a stored function or UDF, whose body we cannot see: the classifier treats it as a write
// with dynamic SQL. kRisky names the built-ins and well-known UDFs that reach outside the database.
#include <algorithm>
#include <string_view>

#include "parsers/sql/mysql/classify_internal.h"

namespace jitgate::parsers::sql::mysql::internal {
namespace {

constexpr std::string_view kKnown[] = {
    "ABS", "ACOS", "ADDDATE", "ADDTIME", "AES_DECRYPT", "AES_ENCRYPT", "AGAINST", "ALL", "AND",
    "ANY", "ANY_VALUE", "AS", "ASCII", "ASIN", "ATAN", "ATAN2", "AVG", "BENCHMARK", "BETWEEN",
    "BIGINT", "BIN", "BINARY", "BIN_TO_UUID", "BIT", "BIT_AND", "BIT_COUNT", "BIT_LENGTH",
    "BIT_OR", "BIT_XOR", "BLOB", "CASE", "CAST", "CEIL", "CEILING", "CHAR", "CHARACTER_LENGTH",
    "CHARSET", "CHAR_LENGTH", "CHECK", "COALESCE", "COERCIBILITY", "COLLATION", "COLUMN_CHECK",
    "COLUMN_CREATE", "COLUMN_EXISTS", "COLUMN_GET", "COLUMN_JSON", "COLUMN_LIST", "COMPRESS",
    "CONCAT", "CONCAT_WS", "CONNECTION_ID", "CONV", "CONVERT", "CONVERT_TZ", "COS", "COT",
    "COUNT", "CRC32", "CUME_DIST", "CURDATE", "CURRENT_DATE", "CURRENT_ROLE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_USER", "CURTIME", "DATABASE", "DATE", "DATEDIFF", "DATETIME",
    "DATE_ADD", "DATE_FORMAT", "DATE_SUB", "DAY", "DAYNAME", "DAYOFMONTH", "DAYOFWEEK",
    "DAYOFYEAR", "DEC", "DECIMAL", "DECODE", "DEFAULT", "DEGREES", "DENSE_RANK", "DISTINCT", "DIV",
    "DOUBLE", "ELSE", "ELT", "ENCODE", "ENUM", "EXISTS", "EXP", "EXPORT_SET", "EXTRACT",
    "EXTRACTVALUE", "FIELD", "FIND_IN_SET", "FIRST_VALUE", "FLOAT", "FLOOR", "FOREIGN", "FORMAT",
    "FORMAT_BYTES", "FORMAT_PICO_TIME", "FOUND_ROWS", "FROM", "FROM_BASE64", "FROM_DAYS",
    "FROM_UNIXTIME", "GEOMETRY", "GET_FORMAT", "GET_LOCK", "GREATEST", "GROUPING",
    "GROUP_CONCAT", "GTID_SUBSET", "GTID_SUBTRACT", "HAVING", "HEX", "HOUR", "ICU_VERSION", "IF",
    "IFNULL", "IN", "INDEX", "INET6_ATON", "INET6_NTOA", "INET_ATON", "INET_NTOA", "INSERT",
    "INSTR", "INT", "INTEGER", "INTERVAL", "IS", "ISNULL", "IS_FREE_LOCK", "IS_IPV4",
    "IS_IPV4_COMPAT", "IS_IPV4_MAPPED", "IS_IPV6", "IS_USED_LOCK", "IS_UUID", "JOIN", "JSON",
    "KEY", "LAG", "LAST_DAY", "LAST_INSERT_ID", "LAST_VALUE", "LATERAL", "LCASE", "LEAD",
    "LEAST", "LEFT", "LENGTH", "LIKE", "LIMIT", "LN", "LOCALTIME", "LOCALTIMESTAMP", "LOCATE",
    "LOG", "LOG10", "LOG2", "LONGBLOB", "LONGTEXT", "LOWER", "LPAD", "LTRIM", "MAKEDATE",
    "MAKETIME", "MAKE_SET", "MATCH", "MAX", "MD5", "MEDIUMBLOB", "MEDIUMINT", "MEDIUMTEXT",
    "MEMBER", "MICROSECOND", "MID", "MIN", "MINUTE", "MOD", "MONTH", "MONTHNAME", "NAME_CONST",
    "NATIONAL", "NCHAR", "NOT", "NOW", "NTH_VALUE", "NTILE", "NULLIF", "NUMERIC", "NVARCHAR",
    "OCT", "OCTET_LENGTH", "OF", "ON", "OR", "ORD", "OVER", "PARTITION", "PASSWORD",
    "PERCENT_RANK", "PERIOD_ADD", "PERIOD_DIFF", "PI", "POINT", "POSITION", "POW", "POWER",
    "PRIMARY", "PS_CURRENT_THREAD_ID", "PS_THREAD_ID", "QUARTER", "QUOTE", "RADIANS", "RAND",
    "RANDOM_BYTES", "RANK", "REAL", "REFERENCES", "REGEXP", "REGEXP_INSTR", "REGEXP_LIKE",
    "REGEXP_REPLACE", "REGEXP_SUBSTR", "RELEASE_ALL_LOCKS", "RELEASE_LOCK", "REPEAT", "REPLACE",
    "RETURN", "RETURNS", "REVERSE", "RIGHT", "RLIKE", "ROUND", "ROW", "ROW_COUNT",
    "ROW_NUMBER", "RPAD", "RTRIM", "SCHEMA", "SECOND", "SEC_TO_TIME", "SELECT", "SESSION_USER",
    "SET", "SHA", "SHA1", "SHA2", "SIGN", "SIGNED", "SIN", "SLEEP", "SMALLINT", "SOME",
    "SOUNDEX", "SPACE", "SQRT", "STATEMENT_DIGEST", "STATEMENT_DIGEST_TEXT", "STD", "STDDEV",
    "STDDEV_POP", "STDDEV_SAMP", "STRCMP", "STR_TO_DATE", "SUBDATE", "SUBSTR", "SUBSTRING",
    "SUBSTRING_INDEX", "SUBTIME", "SUM", "SYSDATE", "SYSTEM_USER", "TAN", "TEXT", "THEN", "TIME",
    "TIMEDIFF", "TIMESTAMP", "TIMESTAMPADD", "TIMESTAMPDIFF", "TIME_FORMAT", "TIME_TO_SEC",
    "TINYBLOB", "TINYINT", "TINYTEXT", "TO_BASE64", "TO_DAYS", "TO_SECONDS", "TRIM", "TRUNCATE",
    "UCASE", "UNCOMPRESS", "UNCOMPRESSED_LENGTH", "UNHEX", "UNION", "UNIQUE", "UNIX_TIMESTAMP",
    "UNSIGNED", "UPDATEXML", "UPPER", "USER", "USING", "UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP",
    "UUID", "UUID_SHORT", "UUID_TO_BIN", "VALIDATE_PASSWORD_STRENGTH", "VALUE", "VALUES",
    "VARBINARY", "VARCHAR", "VARIANCE", "VAR_POP", "VAR_SAMP", "VERSION", "WEEK", "WEEKDAY",
    "WEEKOFYEAR", "WEIGHT_STRING", "WHEN", "WHERE", "WINDOW", "WITH", "XOR", "YEAR", "YEARWEEK",
};

// Prefixes of built-in families (spatial, JSON).
constexpr std::string_view kKnownPrefixes[] = {"JSON_", "ST_", "MBR"};

struct Risky {
  std::string_view name;
  FunctionRisk risk;
};
constexpr Risky kRisky[] = {
    {"LASTVAL", FunctionRisk::kWrite},      // MariaDB sequences: NEXTVAL/SETVAL advance them
    {"LOAD_FILE", FunctionRisk::kServerFile},
    {"NEXTVAL", FunctionRisk::kWrite},
    {"SETVAL", FunctionRisk::kWrite},
    {"SYS_EVAL", FunctionRisk::kAdmin},     // lib_mysqludf_sys: runs shell commands
    {"SYS_EXEC", FunctionRisk::kAdmin},
    {"SYS_GET", FunctionRisk::kAdmin},
    {"SYS_SET", FunctionRisk::kAdmin},
};

int CompareFolded(std::string_view a, std::string_view upper) {
  const size_t n = std::min(a.size(), upper.size());
  for (size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
    if (c != upper[i]) {
      return static_cast<unsigned char>(c) < static_cast<unsigned char>(upper[i]) ? -1 : 1;
    }
  }
  return a.size() == upper.size() ? 0 : (a.size() < upper.size() ? -1 : 1);
}

constexpr bool Sorted() {
  for (size_t i = 1; i < std::size(kKnown); ++i) {
    if (!(kKnown[i - 1] < kKnown[i])) {
      return false;
    }
  }
  for (size_t i = 1; i < std::size(kRisky); ++i) {
    if (!(kRisky[i - 1].name < kRisky[i].name)) {
      return false;
    }
  }
  return true;
}
static_assert(Sorted(), "kKnown and kRisky must be sorted for binary search");

}  // namespace

bool IsKnownFunction(std::string_view name) {
  size_t low = 0;
  size_t high = std::size(kKnown);
  while (low < high) {
    const size_t mid = (low + high) / 2;
    const int order = CompareFolded(name, kKnown[mid]);
    if (order == 0) {
      return true;
    }
    if (order < 0) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  for (std::string_view prefix : kKnownPrefixes) {
    if (name.size() > prefix.size() && CompareFolded(name.substr(0, prefix.size()), prefix) == 0) {
      return true;
    }
  }
  return false;
}

FunctionRisk FunctionRiskOf(std::string_view name) {
  for (const Risky& risky : kRisky) {
    if (CompareFolded(name, risky.name) == 0) {
      return risky.risk;
    }
  }
  return FunctionRisk::kNone;
}

}  // namespace jitgate::parsers::sql::mysql::internal
