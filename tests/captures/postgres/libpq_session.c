/* A real libpq client for the PostgreSQL captures (see record.sh).
 *   main:   prepared statements, parameters, pipeline mode (one batch that
 *           succeeds, one aborted by an error), empty queries, COPY in
 *           through PQputCopyData and a failed COPY (CopyFail).
 *   cancel: a long query cancelled through PQcancel, which opens a second
 *           connection carrying a CancelRequest.
 * Connection parameters come from the PG* environment variables. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void drain(PGconn* c) {
  PGresult* r;
  while ((r = PQgetResult(c)) != NULL) PQclear(r);
}

static void exec(PGconn* c, const char* sql) { PQclear(PQexec(c, sql)); }

/* Reads results until the pipeline's sync point. */
static void drain_pipeline(PGconn* c) {
  for (;;) {
    PGresult* r = PQgetResult(c);
    if (r == NULL) continue; /* end of one query's results */
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st == PGRES_PIPELINE_SYNC) return;
  }
}

static int run_main(PGconn* c) {
  exec(c, "CREATE TABLE lp (id int PRIMARY KEY, name text)");
  PQclear(PQprepare(c, "ins", "INSERT INTO lp VALUES ($1, $2)", 2, NULL));
  const char* p1[] = {"1", "one"};
  const char* p2[] = {"2", "two"};
  PQclear(PQexecPrepared(c, "ins", 2, p1, NULL, NULL, 0));
  PQclear(PQexecPrepared(c, "ins", 2, p2, NULL, NULL, 0));
  PQclear(PQdescribePrepared(c, "ins"));
  const char* q[] = {"1"};
  PQclear(PQexecParams(c, "SELECT name FROM lp WHERE id >= $1", 1, NULL, q, NULL, NULL, 0));
  PQclear(PQprepare(c, "bad", "SELEC broken", 0, NULL));

  /* Pipeline: three statements, one sync. */
  if (PQenterPipelineMode(c) != 1) return 1;
  const char* p3[] = {"3", "three"};
  const char* p4[] = {"4", "four"};
  PQsendQueryPrepared(c, "ins", 2, p3, NULL, NULL, 0);
  PQsendQueryParams(c, "INSERT INTO lp VALUES ($1, $2)", 2, NULL, p4, NULL, NULL, 0);
  PQsendQueryParams(c, "SELECT count(*) FROM lp", 0, NULL, NULL, NULL, NULL, 0);
  PQpipelineSync(c);
  /* A second batch whose first statement fails: the rest is skipped. */
  PQsendQueryPrepared(c, "ins", 2, p1, NULL, NULL, 0);
  PQsendQueryParams(c, "UPDATE lp SET name = 'never' WHERE id = 1", 0, NULL, NULL, NULL, NULL, 0);
  PQpipelineSync(c);
  /* A third batch that runs normally again. */
  PQsendQueryParams(c, "DELETE FROM lp WHERE id = 4", 0, NULL, NULL, NULL, NULL, 0);
  PQpipelineSync(c);
  drain_pipeline(c);
  drain_pipeline(c);
  drain_pipeline(c);
  if (PQexitPipelineMode(c) != 1) return 1;

  exec(c, "");
  exec(c, "-- only a comment");
  /* COPY FROM STDIN with data, then one aborted by the client. */
  PQclear(PQexec(c, "COPY lp FROM STDIN"));
  const char rows[] = "10\tten\n11\televen\n";
  PQputCopyData(c, rows, (int)strlen(rows));
  PQputCopyEnd(c, NULL);
  drain(c);
  PQclear(PQexec(c, "COPY lp FROM STDIN"));
  PQputCopyData(c, "12\ttwelve\n", 10);
  PQputCopyEnd(c, "client gave up");
  drain(c);
  exec(c, "DROP TABLE lp");
  return 0;
}

static int run_cancel(PGconn* c) {
  if (!PQsendQuery(c, "SELECT pg_sleep(10)")) return 1;
  usleep(300 * 1000);
  PGcancel* cancel = PQgetCancel(c);
  char err[256];
  if (!PQcancel(cancel, err, sizeof err)) return 1;
  PQfreeCancel(cancel);
  drain(c);
  exec(c, "SELECT 'after cancel'");
  return 0;
}

int main(int argc, char** argv) {
  PGconn* c = PQconnectdb("application_name=sonde-libpq");
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(c));
    return 1;
  }
  int rc = argc > 1 && strcmp(argv[1], "cancel") == 0 ? run_cancel(c) : run_main(c);
  PQfinish(c);
  return rc;
}
