/*
 * The data plane object shared by the N-API glue (plane.c), the table operations (table.c) and
 * the worker threads (worker.c).
 */
#ifndef CLOUDPROXY_DATAPLANE_PLANE_H
#define CLOUDPROXY_DATAPLANE_PLANE_H

#include <node_api.h>

#include "sendq.h"
#include "table.h"

#define DP_MAX_WORKERS 64
#define DP_UP_RECORD 36
/* A Data indication's length field is 16 bits: larger peer datagrams go up (and are dropped). */
#define DP_MAX_DATA_INDICATION (0xFFFF - 4 - 20 - 4 - 3)

enum { DP_TAG_WAKE = 0, DP_TAG_LISTENER = 1, DP_TAG_RELAY = 2 };

struct dp_plane {
  napi_threadsafe_function tsfn;
  uint64_t seed;
  uint16_t min_port, max_port;
  int nworkers, nlisteners, stopping, closed;
  /* Both the JavaScript object and the thread-safe function hold the plane: the last frees it. */
  int external_gone, tsfn_gone;
  struct dp_worker *workers;
  struct dp_sendq *sendq; /* JavaScript's queued relay sends (sendq.h) */
};

int64_t dp_now_ms(void);
int dp_same_ip(const dp_addr *a, const dp_addr *b);
int dp_same_addr(const dp_addr *a, const dp_addr *b);
uint16_t dp_port(const dp_addr *a);
socklen_t dp_addr_len(const dp_addr *a);
uint32_t dp_hash(const struct dp_plane *plane, int listener, const dp_addr *a);
struct dp_alloc *dp_find_alloc(struct dp_worker *w, int listener, const dp_addr *client);
void dp_flush_up(struct dp_worker *w);
void *dp_worker_main(void *arg);

/* table.c: called on the JavaScript thread; they take the worker's mutex themselves. */
int32_t dp_relay_open(struct dp_worker *w, const dp_addr *bind_to, double js_id, int *err);
int32_t dp_relay_adopt(struct dp_worker *w, int fd, int family, double js_id, int *err);
int dp_relay_release(struct dp_worker *w, int32_t slot, uint32_t gen, int keep_open);
/*
 * The live relay in `slot` of generation `gen`, or NULL (a stale or unknown handle). No lock:
 * only the JavaScript thread opens, moves and closes relays.
 */
struct dp_relay *dp_relay_at(struct dp_worker *w, int32_t slot, uint32_t gen);
struct dp_alloc_spec {
  int listener;
  dp_addr client;
  int32_t relay[2];
  int64_t expires_ms;
  struct dp_permission *perms;
  struct dp_channel *chans;
  uint16_t nperms, nchans;
};
int32_t dp_alloc_program(struct dp_worker *w, int32_t slot, uint32_t gen, struct dp_alloc_spec *s);
int dp_alloc_remove(struct dp_worker *w, int32_t slot, uint32_t gen, uint64_t counts[4]);
int dp_alloc_take(struct dp_worker *w, int32_t slot, uint32_t gen, uint64_t counts[4]);
void dp_worker_free_tables(struct dp_worker *w);

#endif
