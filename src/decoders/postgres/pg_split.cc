// SplitStatements (declared in pg_parser.h): cuts a simple Query's text into
// its statements the way the server's lexer would, without parsing SQL.
#include <string_view>
#include <vector>

#include "decoders/postgres/pg_parser.h"

namespace sonde::pg {

namespace {

bool IsIdentByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Where a dollar-quote tag starting at text[i] ('$') ends, or npos when this
// '$' does not open one ($1 parameters, identifiers like a$b).
size_t DollarTagEnd(std::string_view text, size_t i) {
  if (i > 0 && (IsIdentByte(text[i - 1]) || text[i - 1] == '$')) return std::string_view::npos;
  size_t j = i + 1;
  if (j < text.size() && text[j] >= '0' && text[j] <= '9') return std::string_view::npos;
  while (j < text.size()) {
    char c = text[j];
    if (c == '$') return j + 1;
    if (!IsIdentByte(c)) return std::string_view::npos;
    ++j;
  }
  return std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// True when the statement holds something other than comments and blanks.
bool HasCode(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      ++i;
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      size_t nl = s.find('\n', i);
      i = nl == std::string_view::npos ? s.size() : nl + 1;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      size_t end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
    } else {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string_view> SplitStatements(std::string_view text, size_t max, bool* more) {
  std::vector<std::string_view> out;
  *more = false;
  size_t start = 0;
  size_t i = 0;
  int comment_depth = 0;
  auto flush = [&](size_t end) {
    std::string_view s = Trim(text.substr(start, end - start));
    if (!s.empty() && HasCode(s)) {
      if (out.size() == max) {
        *more = true;
      } else {
        out.push_back(s);
      }
    }
    start = end + 1;
  };
  while (i < text.size()) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (comment_depth > 0) {
      // Block comments nest in PostgreSQL.
      if (c == '*' && next == '/') {
        --comment_depth;
        i += 2;
      } else if (c == '/' && next == '*') {
        ++comment_depth;
        i += 2;
      } else {
        ++i;
      }
      continue;
    }
    if (c == '/' && next == '*') {
      comment_depth = 1;
      i += 2;
    } else if (c == '-' && next == '-') {
      size_t nl = text.find('\n', i);
      i = nl == std::string_view::npos ? text.size() : nl + 1;
    } else if (c == '\'' || c == '"') {
      // E'...' strings also end at a quote that a backslash does not escape.
      const bool backslash = c == '\'' && i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e');
      size_t j = i + 1;
      while (j < text.size()) {
        if (backslash && text[j] == '\\') {
          j += 2;
          continue;
        }
        if (text[j] == c) {
          if (j + 1 < text.size() && text[j + 1] == c) {
            j += 2;  // doubled quote
            continue;
          }
          break;
        }
        ++j;
      }
      i = j + 1;
    } else if (c == '$') {
      size_t tag_end = DollarTagEnd(text, i);
      if (tag_end == std::string_view::npos) {
        ++i;
      } else {
        std::string_view tag = text.substr(i, tag_end - i);
        size_t close = text.find(tag, tag_end);
        i = close == std::string_view::npos ? text.size() : close + tag.size();
      }
    } else if (c == ';') {
      flush(i);
      ++i;
    } else {
      ++i;
    }
  }
  if (start < text.size()) flush(text.size());
  return out;
}

}  // namespace sonde::pg
