#include "decoders/postgres/pg_session.h"

#include <algorithm>
#include <utility>

namespace sonde::pg {

namespace {

// Prepared statement texts kept per connection, whatever their number: with
// thousands of connections tracked, a per-connection cap in bytes matters
// more than the count.
constexpr size_t kMaxPreparedBytes = 256 * 1024;

std::string CutName(std::string_view name) { return std::string(name.substr(0, kMaxName)); }

}  // namespace

Session::Session(const DecoderLimits& limits, DecodeCounters* counters)
    : limits_(limits), counters_(counters) {}

void Session::TakeExchanges(std::vector<PgExchange>* out) {
  std::move(out_.begin(), out_.end(), std::back_inserter(*out));
  out_.clear();
}

Session::Unit& Session::NewUnit(Unit::Kind kind, const Frame& f) {
  Unit& u = units_.emplace_back();
  u.kind = kind;
  u.synced = kind != Unit::Kind::kBatch;
  u.start_ns = f.start_ns;
  u.tid = f.tid;
  u.pos = f.pos;
  EnforceLimits();
  return units_.back();
}

Session::Unit& Session::OpenBatch(const Frame& f) {
  if (units_.empty() || units_.back().kind != Unit::Kind::kBatch || units_.back().synced ||
      units_.back().implicit_end) {
    NewUnit(Unit::Kind::kBatch, f);
  }
  Unit& u = units_.back();
  if (!u.segment_open) {
    u.segment_open = true;
    u.segment_start_ns = f.start_ns;
    u.segment_tid = f.tid;
    u.segment_pos = f.pos;
  }
  return u;
}

void Session::OnFrontend(const Frame& f) {
  if (f.kind == Frame::Kind::kStartup) {
    // SSL, GSS and cancel requests concern the decoder, not the session.
    if ((f.code >> 16) != 3) return;
    StartupParams p;
    if (f.body_complete && ParseStartupParams(f.body, &p)) {
      if (p.database.empty()) p.database = p.user;  // the server's default
      params_ = std::move(p);
    }
    NewUnit(Unit::Kind::kStartup, f);
    return;
  }
  switch (f.type) {
    case 'Q': OnQuery(f); break;
    case 'P': OnParse(f); break;
    case 'B': OnBind(f); break;
    case 'E': OnExecute(f); break;
    case 'C': OnCloseTarget(f); break;
    case 'D':
    case 'H': OpenBatch(f); break;
    case 'S': OpenBatch(f).synced = true; break;
    case 'F': NewUnit(Unit::Kind::kOther, f); break;
    default: break;  // copy data/done/fail, terminate, and password messages (never read)
  }
}

void Session::OnQuery(const Frame& f) {
  // A Query after unsynced extended messages: the server answers both with
  // one ReadyForQuery, at the end of the Query.
  if (!units_.empty() && units_.back().kind == Unit::Kind::kBatch && !units_.back().synced) {
    units_.back().implicit_end = true;
  }
  std::string_view text = f.body;
  size_t nul = text.find('\0');
  bool truncated = !f.body_complete || nul == std::string_view::npos;
  if (nul != std::string_view::npos) text = text.substr(0, nul);
  if (text.size() > kMaxQueryText) {
    text = text.substr(0, kMaxQueryText);
    truncated = true;
  }
  bool more = false;
  std::vector<std::string_view> parts = SplitStatements(text, kMaxStatementsPerQuery, &more);
  Unit& u = NewUnit(Unit::Kind::kQuery, f);
  u.text_lost = truncated || more;
  if (parts.empty()) parts.push_back(text);  // empty or comment-only: EmptyQueryResponse
  for (size_t i = 0; i < parts.size(); ++i) {
    Exec e;
    const bool last = i + 1 == parts.size();
    e.text = std::make_shared<const Text>(Text{std::string(parts[i]), truncated && last && !more});
    e.start_ns = f.start_ns;
    e.req_end_ns = f.end_ns;
    e.tid = f.tid;
    e.pos = f.pos;
    e.pos_part = static_cast<uint32_t>(i);
    PushExec(units_.back(), std::move(e));
  }
  EnforceLimits();
}

void Session::OnParse(const Frame& f) {
  Unit& u = OpenBatch(f);
  std::string_view name, query;
  if (!ParseParse(f.body, f.body_complete, &name, &query)) return;
  // Names longer than kept cannot be told apart; they stay unknown.
  const bool name_cut = name.size() > kMaxName;
  bool truncated = !f.body_complete && query.size() == f.body.size() - name.size() - 1;
  if (query.size() > kMaxQueryText) {
    query = query.substr(0, kMaxQueryText);
    truncated = true;
  }
  auto text = std::make_shared<const Text>(Text{std::string(query), truncated});
  u.last_parse = text;
  u.last_parse_name = CutName(name);
  if (name.empty()) {
    unnamed_statement_ = std::move(text);
    unnamed_statement_known_ = true;
  } else if (!name_cut) {
    Remember(std::string(name), std::move(text));
  }
}

void Session::Remember(const std::string& name, TextRef text) {
  Forget(name);
  prepared_bytes_ += text->text.size() + name.size();
  statement_age_.push_back(name);
  statements_[name] = Prepared{std::move(text), std::prev(statement_age_.end())};
  while (statements_.size() > kMaxPreparedStatements || prepared_bytes_ > kMaxPreparedBytes) {
    const std::string oldest = statement_age_.front();  // later Binds to it give unknown text
    Forget(oldest);
  }
}

void Session::Forget(const std::string& name) {
  auto it = statements_.find(name);
  if (it == statements_.end()) return;
  prepared_bytes_ -= it->second.text->text.size() + name.size();
  statement_age_.erase(it->second.age);
  statements_.erase(it);
}

void Session::OnBind(const Frame& f) {
  OpenBatch(f);
  std::string_view portal, statement;
  if (!ParseBind(f.body, &portal, &statement)) return;
  Portal p;
  p.statement = CutName(statement);
  if (statement.empty()) {
    p.text = unnamed_statement_;
    p.known = unnamed_statement_known_;
  } else if (auto it = statements_.find(std::string(statement)); it != statements_.end()) {
    p.text = it->second.text;
    p.known = true;
  }
  if (portal.empty()) {
    unnamed_portal_ = std::move(p);
    return;
  }
  if (portals_.size() >= kMaxPortals && portals_.find(std::string(portal)) == portals_.end()) {
    portals_.erase(portals_.begin());  // a cursor left open forever: its Executes go unknown
  }
  portals_[CutName(portal)] = std::move(p);
}

void Session::OnExecute(const Frame& f) {
  Unit& u = OpenBatch(f);
  u.segment_open = false;  // the next message starts the next statement's request
  // After an error the server discards everything up to the Sync.
  if (u.failed) return;
  std::string_view name;
  const Portal* portal = nullptr;
  if (ParseExecute(f.body, &name)) {
    if (name.empty()) {
      portal = &unnamed_portal_;
    } else if (auto it = portals_.find(std::string(name)); it != portals_.end()) {
      portal = &it->second;
    }
  }
  Exec e;
  e.extended = true;
  if (portal != nullptr) {
    // The statement's name is known from the Bind even when its text is not.
    e.statement = portal->statement;
    if (portal->known) e.text = portal->text;
  }
  e.start_ns = u.segment_start_ns;
  e.tid = u.segment_tid;
  e.pos = u.segment_pos;
  e.req_end_ns = f.end_ns;
  PushExec(u, std::move(e));
  EnforceLimits();
}

void Session::OnCloseTarget(const Frame& f) {
  OpenBatch(f);
  char kind = 0;
  std::string_view name;
  if (!ParseTarget(f.body, &kind, &name)) return;
  if (kind == 'S') {
    if (name.empty()) {
      unnamed_statement_.reset();
      unnamed_statement_known_ = false;
    } else {
      Forget(std::string(name));
    }
  } else if (name.empty()) {
    unnamed_portal_ = Portal{};
  } else {
    portals_.erase(std::string(name));
  }
}

void Session::PushExec(Unit& u, Exec&& e) {
  e.footprint = sizeof(Exec) + e.statement.size() + (e.text ? e.text->text.size() : 0);
  pending_bytes_ += e.footprint;
  ++pending_execs_;
  u.execs.push_back(std::move(e));
}

void Session::EnforceLimits() {
  // More waiting than any real pipeline holds means results are being lost:
  // report the oldest as unanswered rather than hold them forever.
  while (pending_execs_ > 1 &&
         (pending_execs_ > limits_.max_pending || pending_bytes_ > limits_.max_pending_bytes)) {
    for (Unit& u : units_) {
      if (u.execs.empty()) continue;
      Exec e = std::move(u.execs.front());
      u.execs.pop_front();
      --pending_execs_;
      pending_bytes_ -= e.footprint;
      ++counters_->pending_overflows;
      Emit(e, nullptr, e.req_end_ns);
      break;
    }
  }
  while (units_.size() > std::max<size_t>(limits_.max_pending, 1) + 1) {
    DropExecs(units_.front(), true);
    units_.pop_front();
    ++counters_->pending_overflows;
  }
}

void Session::DropExecs(Unit& u, bool emit) {
  for (Exec& e : u.execs) {
    --pending_execs_;
    pending_bytes_ -= e.footprint;
    if (emit) Emit(e, nullptr, e.req_end_ns);
  }
  u.execs.clear();
}

void Session::OnBackend(const Frame& f) {
  switch (f.type) {
    case 'C': {
      Result r;
      if (!ParseCommandTag(f.body, &r.tag, &r.rows)) r = Result{};
      OnResult(f, std::move(r));
      break;
    }
    case 'I': OnResult(f, Result{}); break;
    case 's': {
      Result r;
      r.suspended = true;
      OnResult(f, std::move(r));
      break;
    }
    case 'E': {
      Result r;
      r.error.emplace();
      ParseErrorFields(f.body, &*r.error);
      OnResult(f, std::move(r));
      break;
    }
    case 'D': ++data_rows_; break;
    case 'Z': OnReady(f); break;
    // Row descriptions, parse/bind/close completion, notices, parameter
    // status, authentication and copy traffic do not affect pairing.
    default: break;
  }
}

void Session::OnResult(const Frame& f, Result&& r) {
  // A batch that a Query ended takes no more results once its Executes are answered.
  while (!units_.empty() && units_.front().implicit_end && units_.front().execs.empty()) {
    units_.pop_front();
  }
  if (units_.empty()) {
    ++counters_->orphan_responses;
    data_rows_ = 0;
    return;
  }
  Unit& u = units_.front();
  if (u.kind == Unit::Kind::kStartup || u.kind == Unit::Kind::kOther) {
    // Authentication failures and function calls give no exchange.
    if (r.error) u.failed = true;
    data_rows_ = 0;
    return;
  }
  Exec e;
  if (!u.execs.empty()) {
    // Bytes cannot answer a request sent after them: this result belongs to
    // a request that was not seen (lost event, or sent before sonde started).
    if (f.start_ns != 0 && u.execs.front().start_ns != 0 && f.start_ns < u.execs.front().start_ns) {
      ++counters_->orphan_responses;
      data_rows_ = 0;
      return;
    }
    e = std::move(u.execs.front());
    u.execs.pop_front();
    --pending_execs_;
    pending_bytes_ -= e.footprint;
  } else if (r.error && u.kind == Unit::Kind::kBatch && u.last_parse) {
    // A Parse that failed (PQprepare) with no Execute behind it.
    e.text = u.last_parse;
    e.statement = u.last_parse_name;
    e.extended = true;
    e.start_ns = u.start_ns;
    e.tid = u.tid;
    e.pos = u.pos;
  } else if (u.text_lost) {
    e.extended = u.kind == Unit::Kind::kBatch;
    e.start_ns = u.last_result_ns != 0 ? u.last_result_ns : u.start_ns;
    e.tid = u.tid;
    e.pos = u.pos;
    // Results past the known statements share their Query's position:
    // numbered after them so each has a key of its own.
    e.pos_part = static_cast<uint32_t>(kMaxStatementsPerQuery) + ++u.results_past_known;
  } else {
    ++counters_->orphan_responses;
    data_rows_ = 0;
    return;
  }
  // Statements of one Query run one after the other: each starts when the
  // previous one finished. Pipelined Executes keep the time they were sent.
  if (u.kind == Unit::Kind::kQuery) e.start_ns = std::max(e.start_ns, u.last_result_ns);
  u.last_result_ns = f.end_ns;
  Emit(e, &r, f.end_ns);
  data_rows_ = 0;
  if (r.error) {
    u.failed = true;
    DropExecs(u, false);  // skipped by the server: they never ran
  }
}

void Session::OnReady(const Frame& f) {
  data_rows_ = 0;
  while (!units_.empty()) {
    Unit& u = units_.front();
    if (!u.implicit_end) {
      // An answer to a unit sent later cannot be: its request was not seen.
      if (f.start_ns != 0 && u.start_ns != 0 && f.start_ns < u.start_ns) return;
    }
    const bool last = !u.implicit_end;
    // Statements still waiting never ran (skipped after an error).
    DropExecs(u, false);
    units_.pop_front();
    if (last) return;
  }
}

void Session::OnLostSync(Side side) {
  if (side == Side::kFrontend) return;  // results of the lost requests become orphans
  // Results were lost: which statements they answered is unknown, so report
  // everything waiting as unanswered and start pairing afresh.
  for (Unit& u : units_) DropExecs(u, true);
  units_.clear();
  data_rows_ = 0;
}

void Session::OnClose() {
  for (Unit& u : units_) DropExecs(u, true);
  units_.clear();
}

void Session::Emit(const Exec& e, const Result* r, uint64_t end_ns) {
  PgExchange& x = out_.emplace_back();
  if (e.text) {
    x.query_text = e.text->text;
    x.query_truncated = e.text->truncated;
  } else {
    x.text_known = false;
  }
  x.statement_name = e.statement;
  x.extended = e.extended;
  x.database = params_.database;
  x.user = params_.user;
  x.application_name = params_.application_name;
  x.start_ns = e.start_ns;
  x.end_ns = std::max(end_ns, e.start_ns);
  x.tid = e.tid;
  x.pos = e.pos;
  x.pos_part = e.pos_part;
  if (r != nullptr) {
    x.response_seen = true;
    x.command_tag = r->tag;
    x.rows = r->rows;
    x.error = r->error;
    x.portal_suspended = r->suspended;
    x.data_rows = static_cast<int64_t>(data_rows_);
  }
}

}  // namespace sonde::pg
