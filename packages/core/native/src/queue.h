/*
 * Completion queues (the library side of dbrxQueue*): see libdbr_ext.h for the contract.
 *
 * A public dbrx_queue_t* is a registry id, never a pointer; struct dbr_queue is the object behind it. Requests
 * bound to a queue hold a reference to it, so a completion may post to a queue that was closed meanwhile (the
 * post then releases the request's tag and result).
 */
#ifndef LIBDBR_QUEUE_H_
#define LIBDBR_QUEUE_H_

#include "libdbr_ext.h"
#include "request.h"

/** The queue behind a public id, with a reference; NULL (and dbrxLastError set) if invalid or closed. */
struct dbr_queue *dbr_queue_get(dbrx_queue_t *id);
void dbr_queue_ref(struct dbr_queue *q);
void dbr_queue_unref(struct dbr_queue *q);
/** 1 if the queue was closed. */
int dbr_queue_closed(struct dbr_queue *q);
/** Appends a completed request (its tag); called once per request by dbr_req_complete. */
void dbr_queue_post(struct dbr_queue *q, dbr_req_t *req);
/** Until the release, completions posted by this thread wake their queues' owners once, at the release: a
 *  thread completing a burst of replies then wakes a consumer once per burst, not once per drain race. */
void dbr_queue_hold_wakes(void);
void dbr_queue_release_wakes(void);
/** If the queue is corked, keeps req (with a reference) to start it at uncork and returns 1; else 0. */
int dbr_queue_hold(struct dbr_queue *q, dbr_req_t *req);
/** Takes req out of its queue's held list (for a cancel): 1 if it was held, 0 if it has been started. */
int dbr_queue_unhold(struct dbr_queue *q, dbr_req_t *req);

#endif /* LIBDBR_QUEUE_H_ */
