#include "spans/sql_sanitizer.h"

#include <cctype>
#include <vector>

namespace sonde::sql {

namespace {

enum class Tok : uint8_t { kSpace, kComment, kWord, kQuotedIdent, kString, kNumber, kParam, kPunct };

struct Token {
  Tok kind;
  std::string_view text;
};

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentByte(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  bool Next(Token* t) {
    if (i_ >= s_.size()) return false;
    const size_t start = i_;
    t->kind = Scan();
    t->text = s_.substr(start, i_ - start);
    return true;
  }

 private:
  char At(size_t i) const { return i < s_.size() ? s_[i] : '\0'; }

  Tok Scan() {
    const char c = s_[i_];
    if (IsSpace(c)) {
      while (i_ < s_.size() && IsSpace(s_[i_])) ++i_;
      return Tok::kSpace;
    }
    if (c == '-' && At(i_ + 1) == '-') {
      size_t nl = s_.find('\n', i_);
      i_ = nl == std::string_view::npos ? s_.size() : nl + 1;
      return Tok::kComment;
    }
    if (c == '/' && At(i_ + 1) == '*') {
      // Block comments nest in PostgreSQL.
      int depth = 0;
      while (i_ < s_.size()) {
        if (s_[i_] == '/' && At(i_ + 1) == '*') {
          ++depth;
          i_ += 2;
        } else if (s_[i_] == '*' && At(i_ + 1) == '/') {
          i_ += 2;
          if (--depth == 0) break;
        } else {
          ++i_;
        }
      }
      return Tok::kComment;
    }
    if (c == '\'') return Quoted('\'', false, Tok::kString);
    if (c == '"') return Quoted('"', false, Tok::kQuotedIdent);
    if (c == '$') {
      if (IsDigit(At(i_ + 1))) {
        ++i_;
        while (IsDigit(At(i_))) ++i_;
        return Tok::kParam;
      }
      return DollarQuoted();
    }
    if (IsDigit(c) || (c == '.' && IsDigit(At(i_ + 1)))) return Number();
    if (IsIdentStart(c)) {
      // Prefixed strings: E'..' (backslash escapes), B'..', X'..', N'..', U&'..'.
      const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if ((u == 'E' || u == 'B' || u == 'X' || u == 'N') && At(i_ + 1) == '\'') {
        ++i_;
        return Quoted('\'', u == 'E', Tok::kString);
      }
      if (u == 'U' && At(i_ + 1) == '&' && (At(i_ + 2) == '\'' || At(i_ + 2) == '"')) {
        i_ += 2;
        return At(i_) == '\'' ? Quoted('\'', false, Tok::kString)
                              : Quoted('"', false, Tok::kQuotedIdent);
      }
      while (i_ < s_.size() && IsIdentByte(s_[i_])) ++i_;
      return Tok::kWord;
    }
    ++i_;
    return Tok::kPunct;
  }

  // s_[i_] is the opening quote; a doubled quote stands for itself. Text cut
  // before the closing quote ends the token.
  Tok Quoted(char q, bool backslash, Tok kind) {
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (backslash && c == '\\') {
        i_ += 2;
        continue;
      }
      ++i_;
      if (c == q) {
        if (At(i_) != q) break;
        ++i_;
      }
    }
    if (i_ > s_.size()) i_ = s_.size();
    return kind;
  }

  Tok DollarQuoted() {
    size_t j = i_ + 1;
    if (j < s_.size() && IsDigit(s_[j])) {
      ++i_;
      return Tok::kPunct;
    }
    while (j < s_.size() && IsIdentByte(s_[j]) && s_[j] != '$') ++j;
    if (j >= s_.size() || s_[j] != '$') {
      ++i_;
      return Tok::kPunct;  // a lone '$'
    }
    std::string_view tag = s_.substr(i_, j + 1 - i_);
    size_t close = s_.find(tag, j + 1);
    i_ = close == std::string_view::npos ? s_.size() : close + tag.size();
    return Tok::kString;
  }

  Tok Number() {
    if (s_[i_] == '0' && std::isalpha(static_cast<unsigned char>(At(i_ + 1))) &&
        std::string_view("xXoObB").find(At(i_ + 1)) != std::string_view::npos) {
      i_ += 2;  // 0x1F, 0o17, 0b101
      while (std::isalnum(static_cast<unsigned char>(At(i_))) || At(i_) == '_') ++i_;
      return Tok::kNumber;
    }
    while (IsDigit(At(i_)) || At(i_) == '_') ++i_;
    if (At(i_) == '.' && At(i_ + 1) != '.') {
      ++i_;
      while (IsDigit(At(i_)) || At(i_) == '_') ++i_;
    }
    if ((At(i_) == 'e' || At(i_) == 'E') &&
        (IsDigit(At(i_ + 1)) || ((At(i_ + 1) == '+' || At(i_ + 1) == '-') && IsDigit(At(i_ + 2))))) {
      i_ += 2;
      while (IsDigit(At(i_))) ++i_;
    }
    return Tok::kNumber;
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool Significant(const Token& t) { return t.kind != Tok::kSpace && t.kind != Tok::kComment; }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool IsWord(const Token& t, std::string_view upper) {
  if (t.kind != Tok::kWord || t.text.size() != upper.size()) return false;
  for (size_t i = 0; i < upper.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != upper[i]) return false;
  }
  return true;
}

bool IsPunct(const Token& t, char c) { return t.kind == Tok::kPunct && t.text[0] == c; }

// Words after which a SELECT's single FROM item has ended.
bool EndsFromItem(const Token& t) {
  static constexpr std::string_view kWords[] = {"WHERE",  "GROUP", "ORDER",  "LIMIT", "OFFSET",
                                                "FOR",    "HAVING", "WINDOW", "FETCH", "RETURNING"};
  for (std::string_view w : kWords) {
    if (IsWord(t, w)) return true;
  }
  return false;
}

// Keywords that cannot be a table name where one is expected (the statement
// is malformed, like "SELECT FROM WHERE").
bool IsReserved(const Token& t) {
  static constexpr std::string_view kWords[] = {"SELECT", "FROM",   "WHERE", "SET",   "VALUES",
                                                "JOIN",   "ON",     "USING", "AS",    "UNION",
                                                "DEFAULT", "LATERAL"};
  for (std::string_view w : kWords) {
    if (IsWord(t, w)) return true;
  }
  return EndsFromItem(t);
}

// Statements longer than this in tokens are not worth analysing.
constexpr size_t kMaxTokens = 2048;

class Analyzer {
 public:
  Analyzer(std::string_view sql, bool complete) : complete_(complete) {
    Lexer lex(sql);
    Token t;
    while (toks_.size() < kMaxTokens && lex.Next(&t)) {
      if (Significant(t)) toks_.push_back(t);
    }
    if (toks_.size() == kMaxTokens) complete_ = false;
    // A trailing semicolon is not part of the statement.
    if (!toks_.empty() && IsPunct(toks_.back(), ';')) toks_.pop_back();
  }

  std::string Table() {
    if (toks_.empty()) return {};
    const Token& first = toks_[0];
    if (IsWord(first, "SELECT")) return SelectTable();
    if (IsWord(first, "INSERT")) return InsertTable();
    if (IsWord(first, "UPDATE")) return UpdateTable();
    if (IsWord(first, "DELETE")) return DeleteTable();
    return {};
  }

 private:
  size_t Count(std::string_view word) const {
    size_t n = 0;
    for (const Token& t : toks_) n += IsWord(t, word) ? 1 : 0;
    return n;
  }
  size_t Find(std::string_view word) const {
    for (size_t i = 0; i < toks_.size(); ++i) {
      if (IsWord(toks_[i], word)) return i;
    }
    return toks_.size();
  }
  bool Has(size_t i) const { return i < toks_.size(); }

  // [schema.]table at toks_[*i]; advances past it. "" when not a plain name.
  // After INSERT INTO a '(' opens the column list; elsewhere it makes the
  // name a function call.
  std::string Name(size_t* i, bool paren_is_call = true) {
    if (Has(*i) && IsWord(toks_[*i], "ONLY")) ++*i;
    std::string out;
    for (int part = 0; part < 3; ++part) {
      if (!Has(*i)) return {};
      const Token& t = toks_[*i];
      if (t.kind == Tok::kWord && IsReserved(t)) return {};
      if (t.kind == Tok::kWord) {
        out += t.text;
      } else if (t.kind == Tok::kQuotedIdent && t.text.size() >= 2 && t.text.back() == '"') {
        std::string_view inner = t.text.substr(1, t.text.size() - 2);
        for (size_t k = 0; k < inner.size(); ++k) {
          out += inner[k];
          if (inner[k] == '"' && k + 1 < inner.size() && inner[k + 1] == '"') ++k;
        }
      } else {
        return {};
      }
      ++*i;
      if (!Has(*i) || !IsPunct(toks_[*i], '.')) break;
      out += '.';
      ++*i;
    }
    // A name followed by '(' is a function call; a name that ends the text
    // may itself be cut.
    if (paren_is_call && Has(*i) && IsPunct(toks_[*i], '(')) return {};
    if (!Has(*i) && !complete_) return {};
    return out;
  }

  std::string SelectTable() {
    if (!complete_ || Count("SELECT") != 1 || Count("FROM") != 1 || Count("JOIN") != 0 ||
        Count("UNION") != 0 || Count("INTERSECT") != 0 || Count("EXCEPT") != 0) {
      return {};
    }
    size_t i = Find("FROM") + 1;
    std::string name = Name(&i);
    if (name.empty()) return {};
    // An optional alias, then the end of the only FROM item.
    if (Has(i) && IsWord(toks_[i], "AS")) ++i;
    if (Has(i) && (toks_[i].kind == Tok::kWord || toks_[i].kind == Tok::kQuotedIdent) &&
        !EndsFromItem(toks_[i])) {
      ++i;
    }
    if (Has(i) && !EndsFromItem(toks_[i])) return {};
    return name;
  }

  std::string InsertTable() {
    if (!Has(1) || !IsWord(toks_[1], "INTO") || Count("FROM") != 0) return {};
    size_t i = 2;
    std::string name = Name(&i, false);
    // Cut text: only a column list or VALUES right after the name is safe;
    // what follows could still be INSERT ... SELECT ... FROM.
    if (!complete_ && !(Has(i) && (IsPunct(toks_[i], '(') || IsWord(toks_[i], "VALUES")))) {
      return {};
    }
    return name;
  }

  std::string UpdateTable() {
    if (!complete_ || Count("FROM") != 0 || Count("SELECT") != 0) return {};
    size_t i = 1;
    return Name(&i);
  }

  std::string DeleteTable() {
    if (!complete_ || !Has(1) || !IsWord(toks_[1], "FROM") || Count("FROM") != 1 ||
        Count("SELECT") != 0 || Count("USING") != 0) {
      return {};
    }
    size_t i = 2;
    return Name(&i);
  }

  std::vector<Token> toks_;
  bool complete_;
};

}  // namespace

std::string Sanitize(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  Lexer lex(sql);
  Token t;
  while (lex.Next(&t)) {
    if (t.kind == Tok::kString || t.kind == Tok::kNumber) {
      out += '?';
    } else {
      out += t.text;
    }
  }
  return out;
}

std::string FirstKeyword(std::string_view sql) {
  Lexer lex(sql);
  Token t;
  while (lex.Next(&t)) {
    if (!Significant(t) || IsPunct(t, '(')) continue;
    if (t.kind != Tok::kWord || t.text.size() > 32) return {};
    return Upper(t.text);
  }
  return {};
}

std::string TableName(std::string_view sql, bool complete) {
  return Analyzer(sql, complete).Table();
}

}  // namespace sonde::sql
