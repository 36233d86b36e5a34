// What a PostgreSQL connection's messages mean: its startup parameters, the
// statements and portals it prepared, and the pairing of every statement with
// its result.
//
// Pairing rests on two rules of the protocol. Every Query and every Sync is
// answered by exactly one ReadyForQuery, in order; these are the "units"
// queued here. Within a unit, every statement of a Query and every Execute of
// an extended-protocol batch gets exactly one result (CommandComplete,
// EmptyQueryResponse, PortalSuspended or ErrorResponse), in order, until an
// error makes the server skip the rest of the unit.
//
// A simple Query holding several statements gives one exchange per statement
// (the text is split at top-level semicolons): the server reports each
// statement's own command tag and row count, which one exchange per Query
// would have to merge. Statements after a failed one never ran and give no
// exchange.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "decoders/postgres/pg_message.h"
#include "decoders/postgres/pg_parser.h"
#include "decoders/postgres/pg_stream.h"
#include "decoders/stream_decoder.h"

namespace sonde::pg {

class Session {
 public:
  Session(const DecoderLimits& limits, DecodeCounters* counters);

  void OnFrontend(const Frame& f);
  void OnBackend(const Frame& f);
  // Messages of one side were lost: see the .cc for what is given up.
  void OnLostSync(Side side);
  // The connection ended: statements still waiting are reported unanswered.
  void OnClose();
  // Moves finished exchanges out (appends to *out).
  void TakeExchanges(std::vector<PgExchange>* out);

  const StartupParams& params() const { return params_; }
  size_t pending_statements() const { return pending_execs_; }
  size_t prepared_statements() const { return statements_.size(); }
  // Approximate heap held by queued statements and prepared statement texts.
  size_t footprint() const { return pending_bytes_ + prepared_bytes_; }

 private:
  struct Text {
    std::string text;
    bool truncated = false;
  };
  using TextRef = std::shared_ptr<const Text>;

  // One statement waiting for its result.
  struct Exec {
    TextRef text;           // null: prepared before sonde saw the connection
    std::string statement;  // prepared statement name ("" = unnamed)
    bool extended = false;
    uint64_t start_ns = 0;
    uint64_t req_end_ns = 0;
    uint32_t tid = 0;
    uint64_t pos = 0;        // of the message that began it
    uint32_t pos_part = 0;   // its statement's index within a multi-statement Query
    size_t footprint = 0;
  };

  // Requests answered by one ReadyForQuery.
  struct Unit {
    enum class Kind : uint8_t { kStartup, kQuery, kBatch, kOther };
    Kind kind = Kind::kOther;
    std::deque<Exec> execs;
    bool synced = false;        // batch: its Sync was sent
    bool implicit_end = false;  // batch ended by a Query: no ReadyForQuery of its own
    bool failed = false;        // an error made the server skip the rest
    bool text_lost = false;     // results beyond the known statements have unknown text
    TextRef last_parse;         // batch: for a Parse that fails with no Execute to blame
    std::string last_parse_name;
    uint64_t start_ns = 0;
    uint32_t tid = 0;
    uint64_t pos = 0;
    uint64_t segment_start_ns = 0;  // batch: first message after the previous Execute
    uint32_t segment_tid = 0;
    uint64_t segment_pos = 0;
    bool segment_open = false;
    uint64_t last_result_ns = 0;
    uint32_t results_past_known = 0;
  };

  struct Portal {
    TextRef text;
    std::string statement;
    bool known = false;
  };

  struct Prepared {
    TextRef text;
    std::list<std::string>::iterator age;
  };

  struct Result {
    std::string tag;
    int64_t rows = -1;
    std::optional<PgError> error;
    bool suspended = false;
  };

  Unit& NewUnit(Unit::Kind kind, const Frame& f);
  Unit& OpenBatch(const Frame& f);
  void OnQuery(const Frame& f);
  void OnParse(const Frame& f);
  void OnBind(const Frame& f);
  void OnExecute(const Frame& f);
  void OnCloseTarget(const Frame& f);
  void OnResult(const Frame& f, Result&& r);
  void OnReady(const Frame& f);
  void Remember(const std::string& name, TextRef text);
  void Forget(const std::string& name);
  void PushExec(Unit& u, Exec&& e);
  void DropExecs(Unit& u, bool emit);
  void EnforceLimits();
  void Emit(const Exec& e, const Result* r, uint64_t end_ns);

  DecoderLimits limits_;
  DecodeCounters* counters_;
  StartupParams params_;
  std::deque<Unit> units_;  // oldest first
  size_t pending_execs_ = 0;
  size_t pending_bytes_ = 0;
  uint64_t data_rows_ = 0;  // DataRows since the last result

  TextRef unnamed_statement_;
  bool unnamed_statement_known_ = false;
  std::unordered_map<std::string, Prepared> statements_;
  std::list<std::string> statement_age_;  // oldest first, for eviction
  size_t prepared_bytes_ = 0;
  Portal unnamed_portal_;
  std::unordered_map<std::string, Portal> portals_;

  std::vector<PgExchange> out_;
};

}  // namespace sonde::pg
