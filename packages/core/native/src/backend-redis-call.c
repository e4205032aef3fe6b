/*
 * The Redis backend's synchronous calls: a caller's thread posts commands to the I/O thread and waits on a
 * condition variable for their replies (rb_call, rb_call_many), or has a function run in the loop
 * (rb_loop_call_run); and the checks of replies and sizes those callers share. Routing and the loop itself:
 * backend-redis.c, redis-io.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "redis-backend.h"
#include "util.h"

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int left;
  DBR_Errorcode_t first_err;
  char msg[512];
} rsync_t;

typedef struct {
  rsync_t *s;
  redisReply **reply;
  DBR_Errorcode_t *err;
} rslot_t;

static void sync_done(rcmd_t *cmd, redisReply *r, DBR_Errorcode_t err)
{
  rslot_t *slot = cmd->priv;
  rsync_t *s = slot->s;
  pthread_mutex_lock(&s->mu);
  *slot->reply = r;
  *slot->err = err;
  if (err != DBR_SUCCESS && s->first_err == DBR_SUCCESS) {
    s->first_err = err;
    snprintf(s->msg, sizeof s->msg, "%s", cmd->errmsg);
  }
  if (--s->left == 0) pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void exec_task(rio_task_t *t)
{
  rcmd_t *cmd = (rcmd_t *)((char *)t - offsetof(rcmd_t, task));
  rb_exec(cmd->be, cmd);
}

DBR_Errorcode_t rb_call_many(rbe_t *be, rcmd_t **cmds, int n, redisReply **replies, DBR_Errorcode_t *errs)
{
  rsync_t s;
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  s.left = n;
  s.first_err = DBR_SUCCESS;
  s.msg[0] = '\0';
  rslot_t *slots = malloc((size_t)(n > 0 ? n : 1) * sizeof *slots);
  if (!slots) {
    for (int i = 0; i < n; i++) {
      rcmd_free(cmds[i]);
      replies[i] = NULL;
      errs[i] = DBR_ERR_NOMEMORY;
    }
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
  }
  int64_t deadline = rio_now_ns() + be->op_timeout_ns;
  for (int i = 0; i < n; i++) {
    replies[i] = NULL;
    errs[i] = DBR_SUCCESS;
    slots[i] = (rslot_t){&s, &replies[i], &errs[i]};
    cmds[i]->priv = &slots[i];
    cmds[i]->done = sync_done;
    cmds[i]->deadline = deadline;
    cmds[i]->task.fn = exec_task;
    rio_post(be->io, &cmds[i]->task);
  }
  pthread_mutex_lock(&s.mu);
  while (s.left > 0) pthread_cond_wait(&s.cv, &s.mu);
  pthread_mutex_unlock(&s.mu);
  pthread_mutex_destroy(&s.mu);
  pthread_cond_destroy(&s.cv);
  free(slots);
  if (s.first_err != DBR_SUCCESS) return dbr_err(s.first_err, "%s", s.msg);
  return DBR_SUCCESS;
}

redisReply *rb_call(rbe_t *be, rcmd_t *cmd, DBR_Errorcode_t *err)
{
  redisReply *r = NULL;
  rb_call_many(be, &cmd, 1, &r, err);
  return r;
}

redisReply *rb_call_master(rbe_t *be, int i, rcmd_t *cmd, DBR_Errorcode_t *err)
{
  cmd->master = i;
  return rb_call(be, cmd, err);
}

DBR_Errorcode_t rb_check_size(rbe_t *be, int64_t size)
{
  if (size <= be->max_value) return DBR_SUCCESS;
  return dbr_err(DBR_ERR_NOMEMORY,
                 "a value of %lld bytes is larger than this Redis server accepts (proto-max-bulk-len = %lld)",
                 (long long)size, (long long)be->max_value);
}

DBR_Errorcode_t rb_reply_error(const redisReply *r, const char *what)
{
  char txt[300];
  reply_text(r, txt, sizeof txt);
  DBR_Errorcode_t code = reply_error_code(r);
  if (reply_error_is(r, "WRONGTYPE")) code = DBR_ERR_INVALIDOP;
  return dbr_err(code, "redis %s failed: %s", what, txt);
}

void rb_loop_call_done(rb_loop_call_t *lc)
{
  pthread_mutex_lock(&lc->mu);
  lc->done = 1;
  pthread_cond_signal(&lc->cv);
  pthread_mutex_unlock(&lc->mu);
}

void rb_loop_call_run(rbe_t *be, rb_loop_call_t *lc, void (*fn)(rio_task_t *))
{
  lc->be = be;
  lc->task.fn = fn;
  lc->done = 0;
  pthread_mutex_init(&lc->mu, NULL);
  pthread_cond_init(&lc->cv, NULL);
  rio_post(be->io, &lc->task);
  pthread_mutex_lock(&lc->mu);
  while (!lc->done) pthread_cond_wait(&lc->cv, &lc->mu);
  pthread_mutex_unlock(&lc->mu);
  pthread_mutex_destroy(&lc->mu);
  pthread_cond_destroy(&lc->cv);
}
