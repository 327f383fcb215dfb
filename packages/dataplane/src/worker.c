/*
 * The worker threads of the native data plane: one epoll loop per thread over its share of the
 * listening sockets (one per listening address per thread, SO_REUSEPORT: the kernel hashes each
 * client 5-tuple to one thread) and the relay sockets of the allocations that thread serves.
 * Datagrams are read with recvmmsg, forwarded when the table says so, sent with sendmmsg, and
 * everything else is queued for JavaScript. The thread holds its mutex while it handles a batch;
 * JavaScript takes the same mutex to change the table, so it never sees a half-made change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "plane.h"

int64_t dp_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dp_same_ip(const dp_addr *a, const dp_addr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET) return a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
  return memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, 16) == 0;
}

int dp_same_addr(const dp_addr *a, const dp_addr *b) {
  if (!dp_same_ip(a, b)) return 0;
  return a->sa.sa_family == AF_INET ? a->v4.sin_port == b->v4.sin_port
                                    : a->v6.sin6_port == b->v6.sin6_port;
}

uint16_t dp_port(const dp_addr *a) {
  return ntohs(a->sa.sa_family == AF_INET ? a->v4.sin_port : a->v6.sin6_port);
}

socklen_t dp_addr_len(const dp_addr *a) {
  return a->sa.sa_family == AF_INET ? sizeof a->v4 : sizeof a->v6;
}

uint32_t dp_hash(const struct dp_plane *plane, int listener, const dp_addr *a) {
  uint64_t h = plane->seed ^ ((uint64_t)(listener + 1) * 0x9E3779B97F4A7C15ull);
  if (a->sa.sa_family == AF_INET) {
    h ^= (uint64_t)a->v4.sin_addr.s_addr * 0xC2B2AE3D27D4EB4Full;
  } else {
    uint64_t w[2];
    memcpy(w, &a->v6.sin6_addr, 16);
    h ^= w[0] * 0xC2B2AE3D27D4EB4Full;
    h = (h << 31 | h >> 33) ^ w[1] * 0x165667B19E3779F9ull;
  }
  h ^= (uint64_t)dp_port(a) << 17;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return (uint32_t)h;
}

struct dp_alloc *dp_find_alloc(struct dp_worker *w, int listener, const dp_addr *client) {
  if (w->count == 0) return NULL;
  uint32_t b = dp_hash(w->plane, listener, client) & (w->nbuckets - 1);
  for (int32_t i = w->buckets[b]; i >= 0; i = w->allocs[i].next) {
    struct dp_alloc *a = &w->allocs[i];
    if (a->listener == listener && dp_same_addr(&a->client, client)) return a;
  }
  return NULL;
}

static struct dp_permission *find_permission(struct dp_alloc *a, const dp_addr *peer) {
  for (uint16_t i = 0; i < a->nperms; i++)
    if (dp_same_ip(&a->perms[i].ip, peer)) return &a->perms[i];
  return NULL;
}

/* ---- sending ---------------------------------------------------------------------------- */

static const uint8_t zeros[4];

/*
 * Moves every queued datagram that leaves through the same socket as datagram `i` right behind
 * it, keeping their order (a stable grouping: per-socket, hence per-destination, order is
 * preserved). Datagrams to clients all leave through the listening socket, so the datagrams
 * from all the relay sockets read in one wake-up go out in one sendmmsg. Only the mmsghdr and
 * the fd move; the addresses, iovecs and headers they point at stay where queue_send put them.
 */
static int group_by_fd(struct dp_worker *w, int i) {
  int fd = w->outfd[i], end = i + 1;
  for (int j = i + 1; j < w->nout; j++) {
    if (w->outfd[j] != fd) continue;
    if (j != end) {
      struct mmsghdr m = w->smsg[j];
      memmove(&w->smsg[end + 1], &w->smsg[end], (size_t)(j - end) * sizeof m);
      memmove(&w->outfd[end + 1], &w->outfd[end], (size_t)(j - end) * sizeof(int));
      w->smsg[end] = m;
      w->outfd[end] = fd;
    }
    end++;
  }
  return end;
}

void dp_flush_out(struct dp_worker *w) {
  for (int i = 0; i < w->nout;) {
    int fd = w->outfd[i], j = group_by_fd(w, i);
    if (w->gso && j - i > 1) dp_send_gso(w, fd, i, j);
    else dp_send_plain(w, fd, i, j);
    i = j;
  }
  w->nout = 0;
}

/* Queues header + payload + padding to `to` out of `fd`; payload stays in the receive slot. */
static void queue_send(struct dp_worker *w, int fd, const dp_addr *to, const uint8_t *header,
                       size_t header_len, const uint8_t *payload, size_t length, size_t pad) {
  if (w->nout == DP_BATCH) dp_flush_out(w);
  int k = w->nout++, v = 0;
  struct dp_out *o = &w->out[k];
  struct iovec *iov = w->siov[k];
  w->outfd[k] = fd;
  if (header_len) {
    memcpy(o->header, header, header_len);
    iov[v++] = (struct iovec){o->header, header_len};
  }
  if (length) iov[v++] = (struct iovec){(void *)payload, length};
  if (pad) iov[v++] = (struct iovec){(void *)zeros, pad};
  w->saddr[k] = *to;
  struct msghdr *m = &w->smsg[k].msg_hdr;
  memset(m, 0, sizeof *m);
  m->msg_name = &w->saddr[k];
  m->msg_namelen = dp_addr_len(to);
  m->msg_iov = iov;
  m->msg_iovlen = (size_t)v;
}

/* ---- passing datagrams up to JavaScript --------------------------------------------------- */

/*
 * Appends `n` bytes of records to the queue JavaScript reads; 0, or -1 when it is full. Records
 * of TCP clients are never dropped (`force`): their bytes are gone from the stream once read, so
 * the worker stops reading streams instead while the queue is full (stream.c).
 */
static int enqueue_up(struct dp_worker *w, const uint8_t *bytes, size_t n, int force) {
  if (w->qhead > 0 && w->qlen + n > w->qcap) {
    memmove(w->queue, w->queue + w->qhead, w->qlen - w->qhead);
    w->qlen -= w->qhead;
    w->qhead = 0;
  }
  if (w->qlen + n > DP_UP_QUEUE && !force) return -1;
  if (w->qlen + n > w->qcap) {
    size_t cap = w->qcap ? w->qcap : DP_UP_CHUNK;
    while (cap < w->qlen + n) cap *= 2;
    uint8_t *grown = realloc(w->queue, cap);
    if (!grown) return -1;
    w->queue = grown;
    w->qcap = cap;
  }
  memcpy(w->queue + w->qlen, bytes, n);
  w->qlen += n;
  return 0;
}

/*
 * Hands this wake-up's records to JavaScript: they join the worker's queue, and a call into
 * JavaScript is scheduled unless one already is (that call reads everything queued by then).
 * A full queue (JavaScript far behind) drops the records, counted.
 */
void dp_flush_up(struct dp_worker *w) {
  if (w->uplen == 0) return;
  pthread_mutex_lock(&w->upmu);
  int queued = enqueue_up(w, w->up, w->uplen, w->upforced) == 0;
  int call = queued && !w->qscheduled;
  if (call) w->qscheduled = 1;
  pthread_mutex_unlock(&w->upmu);
  if (!queued) STAT(w, DP_STAT_UP_DROPPED, w->upcount);
  if (call && napi_call_threadsafe_function(w->plane->tsfn, w, napi_tsfn_nonblocking) != napi_ok) {
    pthread_mutex_lock(&w->upmu); /* closing: nothing will read the queue any more */
    w->qscheduled = 0;
    pthread_mutex_unlock(&w->upmu);
  }
  w->uplen = 0;
  w->upcount = 0;
  w->upforced = 0;
}

/*
 * Record layout (little endian), padded to 4 bytes:
 *   0 kind (DP_UP_*, plane.h) | 1 family (4, 6) | 2 port u16 | 4 length u32 | 8 id f64
 *   (listener index, relay id or stream client id) | 16 address (16 bytes) | 32 worker u32 |
 *   36 datagram (a stream's: one frame without padding; a stream end's: one byte, DP_END_*; a
 *   refused stream's: its first bytes)
 */
void dp_push_up(struct dp_worker *w, int kind, double id, const dp_addr *from, const uint8_t *p,
                size_t n) {
  size_t need = (DP_UP_RECORD + n + 3) & ~(size_t)3;
  if (w->uplen + need > DP_UP_CHUNK) dp_flush_up(w);
  uint8_t *r = w->up + w->uplen;
  memset(r, 0, DP_UP_RECORD);
  r[0] = (uint8_t)kind;
  r[1] = from->sa.sa_family == AF_INET ? 4 : 6;
  uint16_t port = dp_port(from);
  uint32_t length = (uint32_t)n, worker = (uint32_t)w->index;
  memcpy(r + 2, &port, 2);
  memcpy(r + 4, &length, 4);
  memcpy(r + 8, &id, 8);
  if (from->sa.sa_family == AF_INET) memcpy(r + 16, &from->v4.sin_addr, 4);
  else memcpy(r + 16, &from->v6.sin6_addr, 16);
  memcpy(r + 32, &worker, 4);
  memcpy(r + DP_UP_RECORD, p, n);
  w->uplen += need;
  w->upcount++;
  if (kind >= DP_UP_STREAM) w->upforced = 1;
  STAT(w, DP_STAT_UP_PACKETS, 1);
}

/* ---- the fast path ------------------------------------------------------------------------ */

static int family_index(const dp_addr *a) { return a->sa.sa_family == AF_INET6; }

int dp_relay_from_client(struct dp_worker *w, struct dp_alloc *a, enum dp_client_kind kind,
                         const struct dp_client_msg *m, int64_t now) {
  if (kind == DP_PUNT || !a || a->expires_ms <= now) return 0;
  const dp_addr *to;
  if (kind == DP_CHANNEL_DATA) {
    struct dp_channel *c = NULL;
    for (uint16_t i = 0; i < a->nchans; i++)
      if (a->chans[i].number == m->channel) c = &a->chans[i];
    if (!c || c->expires_ms <= now) return 0;
    to = &c->peer;
  } else {
    to = &m->peer;
  }
  int32_t relay = a->relay[family_index(to)];
  struct dp_permission *perm = find_permission(a, to);
  if (relay < 0 || !perm || perm->expires_ms <= now) return 0;
  /* A peer on one of the server's own addresses may only be a live relay port: JavaScript knows
   * which ports are live, so such Send indications go up (ChannelBind checked it already). */
  if (kind == DP_SEND && perm->relay_ports_only) return 0;
  queue_send(w, w->relays[relay].fd, to, NULL, 0, m->payload, m->length, 0);
  a->from_client_bytes += m->length;
  a->from_client_packets++;
  STAT(w, DP_STAT_TO_PEER_PACKETS, 1);
  STAT(w, DP_STAT_TO_PEER_BYTES, m->length);
  return 1;
}

/* A datagram from a client on listening address `li`. */
static void on_client(struct dp_worker *w, int li, const uint8_t *p, size_t n, const dp_addr *src,
                      int64_t now) {
  struct dp_client_msg m;
  enum dp_client_kind kind = dp_parse_client(p, n, &m);
  struct dp_alloc *a = kind == DP_PUNT ? NULL : dp_find_alloc(w, li, src);
  if (!dp_relay_from_client(w, a, kind, &m, now)) dp_push_up(w, DP_UP_LISTENER, li, src, p, n);
}

static void random_txid(struct dp_worker *w, uint8_t out[12]) {
  if (w->rndpos + 12 > sizeof w->rnd) {
    if (getrandom(w->rnd, sizeof w->rnd, 0) != (ssize_t)sizeof w->rnd) abort();
    w->rndpos = 0;
  }
  memcpy(out, w->rnd + w->rndpos, 12);
  w->rndpos += 12;
}

/* A datagram from a peer on relay slot `slot`. */
static void on_peer(struct dp_worker *w, int32_t slot, const uint8_t *p, size_t n,
                    const dp_addr *src, int64_t now) {
  struct dp_relay *r = &w->relays[slot];
  struct dp_alloc *a = r->alloc >= 0 ? &w->allocs[r->alloc] : NULL;
  if (!a || a->expires_ms <= now) goto up;
  struct dp_permission *perm = find_permission(a, src);
  if (!perm || perm->expires_ms <= now) goto up;
  struct dp_channel *c = NULL;
  for (uint16_t i = 0; i < a->nchans; i++)
    if (dp_same_addr(&a->chans[i].peer, src)) c = &a->chans[i];
  uint8_t header[DP_DATA_INDICATION_HEADER_MAX];
  size_t hl, pad;
  int stream = a->listener == DP_STREAM_LISTENER;
  if (c) {
    /* An expired binding still blocks its peer for a while: JavaScript decides (RFC 8656 §12). */
    if (c->expires_ms <= now) goto up;
    header[0] = (uint8_t)(c->number >> 8);
    header[1] = (uint8_t)c->number;
    header[2] = (uint8_t)(n >> 8);
    header[3] = (uint8_t)n;
    hl = 4;
    /* Over a stream, ChannelData is padded to a multiple of 4 (RFC 8656 §12.5). */
    pad = stream ? (4 - n % 4) % 4 : 0;
  } else {
    if (n > DP_MAX_DATA_INDICATION) goto up;
    uint8_t txid[12];
    random_txid(w, txid);
    hl = dp_data_indication_header(header, txid, src, (uint32_t)n);
    pad = (4 - n % 4) % 4;
  }
  if (stream) {
    struct dp_stream *s = a->stream >= 0 ? &w->streams[a->stream] : NULL;
    if (!s || s->fd < 0) return; /* the connection is gone: JavaScript ends the allocation */
    if (dp_stream_queue(s, header, hl, p, n, pad, 1) < 0) {
      STAT(w, DP_STAT_STREAM_DROPPED, 1);
      return;
    }
    dp_stream_mark_dirty(w, a->stream);
  } else {
    queue_send(w, w->lfd[a->listener], &a->client, header, hl, p, n, pad);
  }
  a->to_client_bytes += n;
  a->to_client_packets++;
  STAT(w, DP_STAT_TO_CLIENT_PACKETS, 1);
  STAT(w, DP_STAT_TO_CLIENT_BYTES, n);
  return;
up:
  dp_push_up(w, DP_UP_RELAY, r->js_id, src, p, n);
}

/* ---- the loop ----------------------------------------------------------------------------- */

/*
 * Reads up to a few batches from a ready socket (level-triggered: the rest comes next round).
 * The receive slots are used in turn over the whole wake-up (w->rused), not from slot 0 for
 * every socket: queued datagrams point into the slots, so they can wait until the end of the
 * wake-up and leave in as few sendmmsg calls as there are sockets to send from. Only when the
 * slots run out are the queued datagrams sent early.
 */
static void drain_socket(struct dp_worker *w, int fd, int is_relay, int32_t id, int64_t now) {
  for (int round = 0; round < 4; round++) {
    if (w->rused == DP_BATCH) {
      dp_flush_out(w);
      w->rused = 0;
    }
    int first = w->rused, room = DP_BATCH - first;
    for (int i = first; i < DP_BATCH; i++) {
      struct msghdr *m = &w->rmsg[i].msg_hdr;
      m->msg_name = &w->raddr[i];
      m->msg_namelen = sizeof w->raddr[i];
      m->msg_flags = 0;
    }
    int got = recvmmsg(fd, &w->rmsg[first], (unsigned)room, MSG_DONTWAIT, NULL);
    STAT(w, DP_STAT_RECV_CALLS, 1);
    if (got <= 0) return;
    STAT(w, DP_STAT_RX_PACKETS, got);
    w->rused += got;
    for (int i = first; i < first + got; i++) {
      size_t n = w->rmsg[i].msg_len;
      const dp_addr *src = &w->raddr[i];
      int fam = src->sa.sa_family;
      if ((w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) || (fam != AF_INET && fam != AF_INET6)) {
        STAT(w, DP_STAT_TRUNCATED, 1);
        continue;
      }
      const uint8_t *p = w->rbuf + (size_t)i * DP_SLOT_BYTES;
      if (is_relay) on_peer(w, id, p, n, src, now);
      else on_client(w, id, p, n, src, now);
    }
    if (got < room) return;
  }
}

void *dp_worker_main(void *arg) {
  struct dp_worker *w = arg;
  struct epoll_event ev[64];
  int timeout = -1;
  for (;;) {
    int n = epoll_wait(w->epfd, ev, 64, timeout);
    if (n < 0 && errno != EINTR) break;
    if (__atomic_load_n(&w->plane->stopping, __ATOMIC_ACQUIRE)) break;
    pthread_mutex_lock(&w->mu);
    int64_t now = dp_now_ms();
    dp_stream_resume(w); /* streams paused while JavaScript was behind, once it caught up */
    for (int i = 0; i < n; i++) {
      uint64_t tag = ev[i].data.u64;
      int kind = (int)(tag >> 56);
      int32_t slot = (int32_t)(tag & 0xFFFFFF);
      uint32_t gen = (uint32_t)(tag >> 24);
      if (kind == DP_TAG_WAKE) {
        uint64_t count;
        if (read(w->wakefd, &count, sizeof count) < 0) { /* already drained */ }
        dp_stream_split_pending(w, now);
      } else if (kind == DP_TAG_LISTENER && slot < DP_MAX_LISTENERS && w->lfd[slot] >= 0) {
        drain_socket(w, w->lfd[slot], 0, slot, now);
      } else if (kind == DP_TAG_RELAY && slot < w->nrelays) {
        /* The relay may have been closed (and its slot reused) since epoll_wait returned. */
        struct dp_relay *r = &w->relays[slot];
        if (r->used && (r->gen & 0xFFFFFFFF) == gen) drain_socket(w, r->fd, 1, slot, now);
      } else if (kind == DP_TAG_STREAM && dp_stream_at(w, slot, gen & 0xFFFFF)) {
        if (ev[i].events & EPOLLOUT) dp_stream_write(w, slot, 1);
        if ((ev[i].events & ~EPOLLOUT) && w->streams[slot].fd >= 0) dp_stream_readable(w, slot, now);
      } else if (kind == DP_TAG_PIPE && dp_stream_at(w, slot, gen & 0xFFFFF) &&
               w->streams[slot].pipe >= 0) {
        dp_pipe_event(w, slot, ev[i].events, now);
      } else if (kind == DP_TAG_LINGER) {
        dp_linger_event(w, slot, gen & 0xFFFFF, ev[i].events, now);
      }
    }
    dp_flush_out(w); /* everything this wake-up relayed: one sendmmsg per sending socket */
    dp_stream_flush_dirty(w); /* and one write per stream client */
    w->rused = 0;
    dp_linger_sweep(w, now);
    timeout = dp_linger_timeout(w, now); /* read under the mutex: JavaScript adds lingerers */
    pthread_mutex_unlock(&w->mu);
    dp_flush_up(w);
  }
  return NULL;
}
