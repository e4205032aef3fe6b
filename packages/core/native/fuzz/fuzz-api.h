/*
 * What the fuzzer's two files share: fuzz-api.c runs each input as a little program of API calls, fuzz-state.c
 * keeps what the calls made (handles, tags, iterators, queues, namespace names) and releases all of it when
 * the input ends.
 */
#ifndef FUZZ_API_H_
#define FUZZ_API_H_

#include "libdbr_ext.h"

enum { MAXH = 8, MAXT = 64, MAXI = 8, MAXQ = 4, MAXNS = 16 };

extern DBR_Handle_t handles[MAXH];
extern int handle_live[MAXH];
extern DBR_Tag_t tags[MAXT];
extern int ntags;
extern DBR_Iterator_t iters[MAXI];
extern dbrx_queue_t *queues[MAXQ];

/** Remembers a namespace name, to delete the namespace when the input ends. */
void remember_ns(const char *name);
/** Keeps a handle in a free slot, or detaches it if there is none. */
void put_handle(DBR_Handle_t h);
/** Keeps a tag (not DB_TAG_ERROR); with every slot taken, the oldest is collected first. */
void add_tag(DBR_Tag_t t);
/** Releases everything the input made: tags, queues, iterators, handles, then namespaces. */
void cleanup(void);

#endif /* FUZZ_API_H_ */
