/* A small hiredis client for the recorded captures: values larger than the
 * capture cap, a large aggregate reply, and pipelining with
 * redisAppendCommand. Built and run by record.py. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(redisReply *r) {
  if (r == NULL) {
    fprintf(stderr, "hiredis: no reply\n");
    exit(1);
  }
  freeReplyObject(r);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  redisContext *c = redisConnect("127.0.0.1", atoi(argv[1]));
  if (c == NULL || c->err) return 1;

  /* Values of 20000 and 70000 bytes: larger than one capped syscall. */
  size_t sizes[2] = {20000, 70000};
  for (int i = 0; i < 2; ++i) {
    char *v = malloc(sizes[i]);
    for (size_t k = 0; k < sizes[i]; ++k) v[k] = (char)('a' + k % 26);
    must(redisCommand(c, "SET big:%d %b", i, v, sizes[i]));
    must(redisCommand(c, "GET big:%d", i));
    free(v);
  }
  must(redisCommand(c, "STRLEN big:1"));

  /* A list whose LRANGE reply is one large array of small elements. */
  must(redisCommand(c, "DEL biglist"));
  for (int i = 0; i < 2000; i += 100) {
    /* RPUSH biglist and 100 elements, all in one command. */
    const char *args[102];
    size_t lens[102];
    char bufs[100][16];
    args[0] = "RPUSH";
    lens[0] = 5;
    args[1] = "biglist";
    lens[1] = 7;
    for (int k = 0; k < 100; ++k) {
      snprintf(bufs[k], sizeof bufs[k], "item-%04d", i + k);
      args[k + 2] = bufs[k];
      lens[k + 2] = strlen(bufs[k]);
    }
    must(redisCommandArgv(c, 102, args, lens));
  }
  must(redisCommand(c, "LRANGE biglist 0 -1"));

  /* Pipelining: three commands written before any reply is read. */
  redisAppendCommand(c, "INCR hits");
  redisAppendCommand(c, "INCR hits");
  redisAppendCommand(c, "GET hits");
  for (int i = 0; i < 3; ++i) {
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK) return 1;
    freeReplyObject(r);
  }
  redisFree(c);
  return 0;
}
