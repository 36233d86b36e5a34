#include "spans/postgres_span.h"

#include <string_view>

#include "spans/sql_sanitizer.h"

namespace sonde {

namespace {

// The command tag without its counts: "INSERT 0 1" -> "INSERT",
// "CREATE TABLE" stays as it is.
std::string TagOperation(std::string_view tag) {
  while (!tag.empty()) {
    size_t sp = tag.rfind(' ');
    std::string_view last = sp == std::string_view::npos ? tag : tag.substr(sp + 1);
    if (last.empty() || last.find_first_not_of("0123456789") != std::string_view::npos) break;
    if (sp == std::string_view::npos) return {};
    tag = tag.substr(0, sp);
  }
  return std::string(tag);
}

// Success (00) and warning (01) classes are not failures; everything from
// class 02 on is.
bool IsFailure(const std::string& sqlstate) {
  return !(sqlstate.size() >= 2 && sqlstate[0] == '0' && (sqlstate[1] == '0' || sqlstate[1] == '1'));
}

// Rows the statement returned to the client, when that is known.
int64_t ReturnedRows(const PgExchange& ex, const std::string& operation) {
  if (ex.portal_suspended) return ex.data_rows;
  if ((operation == "SELECT" || operation == "FETCH") && ex.rows >= 0) return ex.rows;
  // INSERT/UPDATE/DELETE/MERGE ... RETURNING: the tag counts affected rows,
  // the DataRows are what came back.
  if (ex.data_rows > 0) return ex.data_rows;
  return -1;
}

}  // namespace

Span BuildPostgresSpan(const ConnInfo& conn, const PgExchange& ex, const DbSpanOptions& opts, int64_t offset,
                       IdGenerator* ids, std::shared_ptr<const Resource> resource) {
  Span s = StartDbSpan(conn, "postgresql", ex.start_ns, ex.end_ns, offset, ids, std::move(resource));
  if (!ex.database.empty()) SetStr(&s, "db.namespace", ex.database);

  const bool has_text = ex.text_known && !ex.query_text.empty();
  std::string operation = TagOperation(ex.command_tag);
  if (operation.empty() && has_text) operation = sql::FirstKeyword(ex.query_text);
  std::string table = has_text ? sql::TableName(ex.query_text, !ex.query_truncated) : std::string();

  if (!operation.empty()) SetStr(&s, "db.operation.name", operation);
  if (!table.empty()) SetStr(&s, "db.collection.name", table);
  if (has_text) {
    SetStr(&s, "db.query.text", opts.sanitize_query ? sql::Sanitize(ex.query_text) : ex.query_text);
  }
  if (!ex.text_known) s.attributes.push_back({"sonde.db.query_text_unknown", AttrValue(true)});

  if (operation.empty()) {
    s.name = "postgresql";
  } else if (table.empty()) {
    s.name = operation;
  } else {
    s.name = operation + " " + table;
  }

  if (!ex.response_seen) {
    SetStr(&s, "error.type", "response_missing");
    s.status = StatusCode::kError;
    return s;
  }
  if (ex.error) {
    const std::string& state = ex.error->sqlstate;
    if (!state.empty()) SetStr(&s, "db.response.status_code", state);
    if (IsFailure(state)) {
      SetStr(&s, "error.type", state.empty() ? "_OTHER" : state);
      s.status = StatusCode::kError;
      // Error messages quote values from the statement ('invalid input syntax
      // for type integer: "…"'), so they follow the query text's sanitization.
      if (!opts.sanitize_query) s.status_message = ex.error->message;
    }
    return s;
  }
  const int64_t returned = ReturnedRows(ex, operation);
  if (returned >= 0) SetInt(&s, "db.response.returned_rows", returned);
  return s;
}

}  // namespace sonde
