// Table-driven tests of the SQL helpers used by database spans.
#include "spans/sql_sanitizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sonde::sql {
namespace {

struct Case {
  std::string in;
  std::string out;
};

TEST(SqlSanitize, ReplacesLiterals) {
  const std::vector<Case> cases = {
      {"SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"},
      {"SELECT * FROM t WHERE name = 'bob' AND age > 30", "SELECT * FROM t WHERE name = ? AND age > ?"},
      {"INSERT INTO t VALUES (1, 'it''s', 2.5, -3, 1e10, .5)", "INSERT INTO t VALUES (?, ?, ?, -?, ?, ?)"},
      {"SELECT E'a\\'b' , 'x'", "SELECT ? , ?"},
      {"SELECT e'\\\\', B'1010', X'1F', N'nat', U&'d\\0061t'", "SELECT ?, ?, ?, ?, ?"},
      {"SELECT $$it's a body$$, $tag$ $$ nested $tag$", "SELECT ?, ?"},
      {"SELECT * FROM t WHERE id = $1 AND n > $2", "SELECT * FROM t WHERE id = $1 AND n > $2"},
      {"SELECT \"Weird 'col'\" FROM \"T1\" t1", "SELECT \"Weird 'col'\" FROM \"T1\" t1"},
      {"SELECT a1, b_2, c$3 FROM t2", "SELECT a1, b_2, c$3 FROM t2"},
      {"SELECT 1 -- it's a comment 42\n", "SELECT ? -- it's a comment 42\n"},
      {"/* 'x' */ SELECT /* nested /* 1 */ 2 */ 3", "/* 'x' */ SELECT /* nested /* 1 */ 2 */ ?"},
      {"SELECT 0x1F, 0o17, 0b101, 1_000_000", "SELECT ?, ?, ?, ?"},
      {"SELECT '2024-01-01'::date, interval '1 day'", "SELECT ?::date, interval ?"},
      {"SELECT x FROM t WHERE y IN (1, 2, 3)", "SELECT x FROM t WHERE y IN (?, ?, ?)"},
      {"SELECT a.b FROM s.t a", "SELECT a.b FROM s.t a"},
      {"SELECT arr[1:2] FROM t", "SELECT arr[?:?] FROM t"},
      // Text cut by the capture: an open string becomes one placeholder.
      {"INSERT INTO t VALUES ('secret-tok", "INSERT INTO t VALUES (?"},
      {"SELECT $$never closed", "SELECT ?"},
      {"SELECT 'a' 'b'", "SELECT ? ?"},
      {"", ""},
      {"$", "$"},
      {"SELECT 'a\xc3\xa9'", "SELECT ?"},
  };
  for (const Case& c : cases) EXPECT_EQ(Sanitize(c.in), c.out) << c.in;
}

TEST(SqlSanitize, NeverFailsOnAnyPrefix) {
  const std::string sql =
      "SELECT E'x\\'y', $t$ z $t$, \"q\"\"i\", 1.5e-3 /* c /* d */ */ FROM t -- e\n WHERE a = $1";
  for (size_t n = 0; n <= sql.size(); ++n) {
    std::string s = Sanitize(sql.substr(0, n));
    EXPECT_LE(s.size(), n + 1);
  }
}

TEST(SqlFirstKeyword, Table) {
  const std::vector<Case> cases = {
      {"select 1", "SELECT"},
      {"  /* hint */ -- c\n INSERT INTO t VALUES (1)", "INSERT"},
      {"(SELECT 1) UNION (SELECT 2)", "SELECT"},
      {"WITH x AS (SELECT 1) SELECT * FROM x", "WITH"},
      {"", ""},
      {"-- only a comment", ""},
      {"'literal'", ""},
      {"123", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(FirstKeyword(c.in), c.out) << c.in;
}

TEST(SqlTableName, OnlyWhenClear) {
  const std::vector<Case> cases = {
      {"SELECT * FROM users", "users"},
      {"SELECT id, name FROM users WHERE id = $1", "users"},
      {"select * from public.users u where u.id = 1", "public.users"},
      {"SELECT * FROM users AS u ORDER BY id LIMIT 5", "users"},
      {"SELECT * FROM \"Order Items\" WHERE a = 1;", "Order Items"},
      {"SELECT * FROM ONLY parent_table", "parent_table"},
      {"SELECT count(*) FROM lp", "lp"},
      {"SELECT * FROM a, b", ""},
      {"SELECT * FROM a JOIN b ON a.id = b.id", ""},
      {"SELECT * FROM a NATURAL JOIN b", ""},
      {"SELECT * FROM (SELECT 1) s", ""},
      {"SELECT * FROM a WHERE id IN (SELECT id FROM b)", ""},
      {"SELECT * FROM a UNION SELECT * FROM b", ""},
      {"SELECT * FROM generate_series(1, 3)", ""},
      {"SELECT extract(year FROM ts) FROM t", ""},
      {"SELECT 1", ""},
      {"SELECT FROM WHERE", ""},
      {"DELETE FROM WHERE id = 1", ""},
      {"INSERT INTO items VALUES (1, 'a')", "items"},
      {"INSERT INTO s.items (id) VALUES ($1) RETURNING id", "s.items"},
      {"INSERT INTO items SELECT * FROM other", ""},
      {"UPDATE items SET price = price * 2 WHERE id = 1", "items"},
      {"UPDATE ONLY items SET a = 1", "items"},
      {"UPDATE items SET a = b.a FROM b WHERE items.id = b.id", ""},
      {"UPDATE items SET a = (SELECT max(a) FROM b)", ""},
      {"DELETE FROM items WHERE id = 2", "items"},
      {"DELETE FROM items USING other WHERE items.id = other.id", ""},
      {"DELETE FROM items WHERE id IN (SELECT id FROM other)", ""},
      {"WITH x AS (SELECT 1) SELECT * FROM x", ""},
      {"CREATE TABLE t (id int)", ""},
      {"COPY items FROM STDIN", ""},
      {"", ""},
  };
  for (const Case& c : cases) EXPECT_EQ(TableName(c.in), c.out) << c.in;
}

TEST(SqlTableName, TruncatedTextTrustsOnlyWhatCannotChange) {
  // The name itself may be cut.
  EXPECT_EQ(TableName("SELECT * FROM use", false), "");
  // The rest of a SELECT may add a JOIN.
  EXPECT_EQ(TableName("SELECT * FROM users WHERE a = 1 AND b IN (1, 2", false), "");
  EXPECT_EQ(TableName("INSERT INTO py_users (email, note) VALUES ('b@example.com', 'xxx", false),
            "py_users");
  EXPECT_EQ(TableName("INSERT INTO items VALUES (1, 'abc", false), "items");
  EXPECT_EQ(TableName("INSERT INTO items", false), "");
  EXPECT_EQ(TableName("UPDATE items SET a = 'x", false), "");
}

}  // namespace
}  // namespace sonde::sql
