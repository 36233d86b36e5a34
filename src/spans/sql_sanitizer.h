// SQL text as database spans use it: literals replaced by placeholders, the
// leading keyword, and the one table a statement clearly targets. Built on a
// small lexer that knows PostgreSQL's quoting (standard, E'', B'', X'' and
// U&'' strings, dollar quotes, quoted identifiers, nested block comments).
// Nothing here fails: text cut at any byte (a truncated query) is handled.
#pragma once

#include <string>
#include <string_view>

namespace sonde::sql {

// The text with string and numeric literals replaced by '?'. Identifiers,
// keywords, $n parameters, operators, comments and layout are kept; a
// string left open by truncation becomes one '?'.
std::string Sanitize(std::string_view sql);

// The first keyword, upper-cased ("SELECT"); "" when the text starts with
// something else. Leading comments, blanks and parentheses are skipped.
std::string FirstKeyword(std::string_view sql);

// The table of a single-table SELECT ... FROM t, INSERT INTO t,
// UPDATE t or DELETE FROM t, as written (schema-qualified when it is, quotes
// of quoted identifiers removed). "" whenever a statement may involve more
// than one table (joins, several FROM items, subqueries, UPDATE ... FROM,
// DELETE ... USING, INSERT ... SELECT): the conventions ask not to guess.
// `complete` is false for truncated text, where only what cannot change with
// the missing tail is trusted.
std::string TableName(std::string_view sql, bool complete = true);

}  // namespace sonde::sql
