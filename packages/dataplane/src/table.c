/*
 * Changes to a worker's forwarding table, made on the JavaScript thread. Slots live in arrays
 * that grow by doubling (so a slot index stays valid; pointers are taken only with the mutex
 * held) and are reused through free lists; each slot has a generation, bumped when it is freed,
 * so that a stale handle from JavaScript or a stale epoll event never reaches a reused slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "plane.h"

/*
 * SO_RCVBUF of a relay socket (the kernel caps it at net.core.rmem_max): room for bursts that
 * arrive while the worker is not scheduled. A limit, not an allocation: idle relays cost nothing.
 */
#define RELAY_RECEIVE_BUFFER_BYTES (1024 * 1024)
#define GEN_MASK 0xFFFFFu /* generation bits carried in handles (20: handles stay below 2^53) */

int dp_grow(void **array, int32_t *cap, size_t size) {
  int32_t next = *cap ? *cap * 2 : 64;
  void *p = realloc(*array, (size_t)next * size);
  if (!p) return -1;
  *array = p;
  *cap = next;
  return 0;
}

int32_t dp_relay_open(struct dp_worker *w, const dp_addr *bind_to, double js_id, int *err) {
  int fd = socket(bind_to->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  int one = 1, size = RELAY_RECEIVE_BUFFER_BYTES;
  if (bind_to->sa.sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (bind(fd, &bind_to->sa, dp_addr_len(bind_to)) < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  return dp_relay_adopt(w, fd, bind_to->sa.sa_family == AF_INET6 ? 6 : 4, js_id, err);
}

/* Puts a bound socket into worker `w`'s table and epoll set; closes it on failure. */
int32_t dp_relay_adopt(struct dp_worker *w, int fd, int family, double js_id, int *err) {
  pthread_mutex_lock(&w->mu);
  int32_t slot = w->free_relay;
  if (slot >= 0) {
    w->free_relay = w->relays[slot].next_free;
  } else if (w->nrelays < w->caprelays ||
             dp_grow((void **)&w->relays, &w->caprelays, sizeof *w->relays) == 0) {
    slot = w->nrelays++;
    w->relays[slot].gen = 0;
  } else {
    pthread_mutex_unlock(&w->mu);
    close(fd);
    *err = ENOMEM;
    return -1;
  }
  struct dp_relay *r = &w->relays[slot];
  r->fd = fd;
  r->alloc = -1;
  r->js_id = js_id;
  r->family = (uint8_t)family;
  r->used = 1;
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = ((uint64_t)DP_TAG_RELAY << 56) | ((uint64_t)r->gen << 24) | (uint64_t)slot;
  if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    *err = errno;
    r->used = 0;
    r->gen++;
    r->next_free = w->free_relay;
    w->free_relay = slot;
    pthread_mutex_unlock(&w->mu);
    close(fd);
    return -1;
  }
  pthread_mutex_unlock(&w->mu);
  return slot;
}

struct dp_relay *dp_relay_at(struct dp_worker *w, int32_t slot, uint32_t gen) {
  if (slot < 0 || slot >= w->nrelays) return NULL;
  struct dp_relay *r = &w->relays[slot];
  return r->used && (r->gen & GEN_MASK) == gen ? r : NULL;
}

static struct dp_alloc *alloc_at(struct dp_worker *w, int32_t slot, uint32_t gen) {
  if (slot < 0 || slot >= w->nallocs) return NULL;
  struct dp_alloc *a = &w->allocs[slot];
  return a->used && (a->gen & GEN_MASK) == gen ? a : NULL;
}

/*
 * Takes relay `slot` out of the worker (its allocation loses it) and returns its socket, open
 * (keep_open) or closed; -1 for a stale handle.
 */
int dp_relay_release(struct dp_worker *w, int32_t slot, uint32_t gen, int keep_open) {
  pthread_mutex_lock(&w->mu);
  struct dp_relay *r = dp_relay_at(w, slot, gen);
  if (!r) {
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  int fd = r->fd;
  epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
  if (!keep_open) close(fd);
  if (r->alloc >= 0) {
    struct dp_alloc *a = &w->allocs[r->alloc];
    for (int f = 0; f < 2; f++)
      if (a->relay[f] == slot) a->relay[f] = -1;
  }
  r->used = 0;
  r->gen++;
  r->next_free = w->free_relay;
  w->free_relay = slot;
  pthread_mutex_unlock(&w->mu);
  return fd;
}

static void hash_unlink(struct dp_worker *w, int32_t slot) {
  struct dp_alloc *a = &w->allocs[slot];
  int32_t *link = &w->buckets[dp_hash(w->plane, a->listener, &a->client) & (w->nbuckets - 1)];
  while (*link >= 0 && *link != slot) link = &w->allocs[*link].next;
  if (*link == slot) *link = a->next;
  w->count--;
}

static int hash_link(struct dp_worker *w, int32_t slot) {
  if (w->count + 1 > w->nbuckets) {
    /* Keep chains short: double the buckets and re-link every allocation. */
    uint32_t n = w->nbuckets ? w->nbuckets * 2 : 1024;
    int32_t *b = malloc(n * sizeof *b);
    if (!b) return -1;
    for (uint32_t i = 0; i < n; i++) b[i] = -1;
    for (int32_t i = 0; i < w->nallocs; i++) {
      struct dp_alloc *a = &w->allocs[i];
      if (!a->used || i == slot) continue;
      uint32_t h = dp_hash(w->plane, a->listener, &a->client) & (n - 1);
      a->next = b[h];
      b[h] = i;
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
  }
  struct dp_alloc *a = &w->allocs[slot];
  uint32_t h = dp_hash(w->plane, a->listener, &a->client) & (w->nbuckets - 1);
  a->next = w->buckets[h];
  w->buckets[h] = slot;
  w->count++;
  return 0;
}

static void detach_relays(struct dp_worker *w, struct dp_alloc *a, int32_t slot) {
  for (int f = 0; f < 2; f++) {
    int32_t r = a->relay[f];
    if (r >= 0 && r < w->nrelays && w->relays[r].alloc == slot) w->relays[r].alloc = -1;
    a->relay[f] = -1;
  }
}

static void free_alloc(struct dp_worker *w, struct dp_alloc *a, int32_t slot, uint64_t counts[4]) {
  if (counts) {
    counts[0] = a->from_client_bytes;
    counts[1] = a->from_client_packets;
    counts[2] = a->to_client_bytes;
    counts[3] = a->to_client_packets;
  }
  hash_unlink(w, slot);
  detach_relays(w, a, slot);
  if (a->stream >= 0 && w->streams[a->stream].alloc == slot) w->streams[a->stream].alloc = -1;
  free(a->perms);
  free(a->chans);
  a->perms = NULL;
  a->chans = NULL;
  a->used = 0;
  a->gen++;
  a->next = w->free_alloc;
  w->free_alloc = slot;
}

/*
 * Creates (slot < 0) or replaces allocation `slot`: client, relays, expiry, and the whole set
 * of permissions and channels (ownership of s->perms and s->chans passes to the table; the
 * replaced arrays come back in s->perms and s->chans for the caller to free). Returns the slot,
 * or -1 (stale handle, a relay not in this worker, or out of memory).
 */
int32_t dp_alloc_program(struct dp_worker *w, int32_t slot, uint32_t gen, struct dp_alloc_spec *s) {
  pthread_mutex_lock(&w->mu);
  for (int f = 0; f < 2; f++) {
    int32_t r = s->relay[f];
    if (r >= 0 && (r >= w->nrelays || !w->relays[r].used)) goto fail;
  }
  if (s->stream >= 0 && (s->stream >= w->nstreams || !w->streams[s->stream].used)) goto fail;
  struct dp_alloc *a;
  if (slot >= 0) {
    a = alloc_at(w, slot, gen);
    if (!a || a->listener != s->listener || !dp_same_addr(&a->client, &s->client)) goto fail;
  } else {
    struct dp_alloc *old = dp_find_alloc(w, s->listener, &s->client);
    if (old) free_alloc(w, old, (int32_t)(old - w->allocs), NULL); /* superseded 5-tuple */
    slot = w->free_alloc;
    if (slot >= 0) {
      w->free_alloc = w->allocs[slot].next;
    } else if (w->nallocs < w->capallocs ||
               dp_grow((void **)&w->allocs, &w->capallocs, sizeof *w->allocs) == 0) {
      slot = w->nallocs++;
      w->allocs[slot].gen = 0;
    } else {
      goto fail;
    }
    a = &w->allocs[slot];
    uint32_t g = a->gen;
    memset(a, 0, sizeof *a);
    a->gen = g;
    a->relay[0] = a->relay[1] = -1;
    a->stream = s->stream;
    a->listener = (uint8_t)s->listener;
    a->client = s->client;
    a->used = 1;
    if (hash_link(w, slot) < 0) {
      a->used = 0;
      a->next = w->free_alloc;
      w->free_alloc = slot;
      goto fail;
    }
  }
  detach_relays(w, a, slot);
  for (int f = 0; f < 2; f++) {
    a->relay[f] = s->relay[f];
    if (s->relay[f] >= 0) w->relays[s->relay[f]].alloc = slot;
  }
  if (a->stream >= 0) w->streams[a->stream].alloc = slot;
  a->expires_ms = s->expires_ms;
  struct dp_permission *old_perms = a->perms;
  struct dp_channel *old_chans = a->chans;
  a->perms = s->perms;
  a->nperms = s->nperms;
  a->chans = s->chans;
  a->nchans = s->nchans;
  s->perms = old_perms;
  s->chans = old_chans;
  pthread_mutex_unlock(&w->mu);
  return slot;
fail:
  pthread_mutex_unlock(&w->mu);
  return -1;
}

int dp_alloc_remove(struct dp_worker *w, int32_t slot, uint32_t gen, uint64_t counts[4]) {
  pthread_mutex_lock(&w->mu);
  struct dp_alloc *a = alloc_at(w, slot, gen);
  if (a) free_alloc(w, a, slot, counts);
  pthread_mutex_unlock(&w->mu);
  return a ? 0 : -1;
}

int dp_alloc_take(struct dp_worker *w, int32_t slot, uint32_t gen, uint64_t counts[4]) {
  pthread_mutex_lock(&w->mu);
  struct dp_alloc *a = alloc_at(w, slot, gen);
  if (a) {
    counts[0] = a->from_client_bytes;
    counts[1] = a->from_client_packets;
    counts[2] = a->to_client_bytes;
    counts[3] = a->to_client_packets;
    a->from_client_bytes = a->from_client_packets = a->to_client_bytes = a->to_client_packets = 0;
  }
  pthread_mutex_unlock(&w->mu);
  return a ? 0 : -1;
}

/* After the thread has been joined: closes every relay socket and frees the table. */
void dp_worker_free_tables(struct dp_worker *w) {
  for (int32_t i = 0; i < w->nrelays; i++)
    if (w->relays[i].used) close(w->relays[i].fd);
  for (int32_t i = 0; i < w->nallocs; i++) {
    free(w->allocs[i].perms);
    free(w->allocs[i].chans);
  }
  dp_stream_free_all(w);
  dp_linger_free_all(w);
  free(w->relays);
  free(w->allocs);
  free(w->buckets);
  w->relays = NULL;
  w->allocs = NULL;
  w->buckets = NULL;
}
