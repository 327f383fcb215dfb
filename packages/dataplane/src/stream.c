/*
 * TCP clients of the native data plane. JavaScript accepts a connection, checks its first bytes
 * (and a PROXY protocol header) and hands the descriptor over with the bytes of an incomplete
 * frame it already read. From then on the worker reads the stream, splits it into frames
 * (RFC 8656 §12.5: STUN messages, and ChannelData padded to a multiple of 4), relays the
 * ChannelData and Send indications its table allows like a UDP client's, and passes every other
 * frame up; it writes what the peers send back (ChannelData padded, Data indications) and what
 * JavaScript sends, one write per connection per wake-up. The end of the stream, an error or
 * bad framing ends the connection on the worker and is passed up; JavaScript frees the slot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plane.h"

#define GEN_MASK 0xFFFFFu
#define READ_ROUNDS 4           /* reads per wake-up and connection (level-triggered: fair) */
#define TX_KEEP (64 * 1024)     /* a drained write buffer larger than this is freed */
#define END_CLOSED 0
#define END_MALFORMED 1

static const uint8_t zeros[4];
static const dp_addr no_addr = {.v4 = {.sin_family = AF_INET}};

static uint64_t epoll_tag(const struct dp_stream *s, int32_t slot) {
  return ((uint64_t)DP_TAG_STREAM << 56) | ((uint64_t)(s->gen & GEN_MASK) << 24) | (uint64_t)slot;
}

/*
 * Makes the epoll set match a stream's state: reading (and writing when bytes wait), or, while
 * paused, not registered at all (so that a hang-up does not wake the worker over and over).
 */
static int watch(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  if (s->paused) {
    if (s->watched) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->watched = 0;
    return 0;
  }
  struct epoll_event ev = {.events = EPOLLIN | (s->want_out ? EPOLLOUT : 0u)};
  ev.data.u64 = epoll_tag(s, slot);
  int rc = epoll_ctl(w->epfd, s->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev);
  if (rc == 0) s->watched = 1;
  return rc;
}

int32_t dp_stream_adopt(struct dp_worker *w, int fd, double js_id, const uint8_t *part, size_t n,
                        int *err) {
  if (n > DP_STREAM_READ / 2) {
    *err = EINVAL;
    return -1;
  }
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) {
    *err = errno;
    return -1;
  }
  int flags = fcntl(own, F_GETFL);
  if (flags < 0 || fcntl(own, F_SETFL, flags | O_NONBLOCK) < 0) {
    *err = errno;
    close(own);
    return -1;
  }
  pthread_mutex_lock(&w->mu);
  int32_t slot = -1;
  uint8_t *copy = n ? malloc(n) : NULL;
  if (!w->sbuf) w->sbuf = malloc(DP_STREAM_READ);
  if (!w->sbuf || (n && !copy)) goto nomem;
  if (w->free_stream >= 0) {
    slot = w->free_stream;
    w->free_stream = w->streams[slot].next_free;
  } else if (w->nstreams < w->capstreams || dp_grow((void **)&w->streams, &w->capstreams,
                                                    sizeof *w->streams) == 0) {
    slot = w->nstreams++;
    w->streams[slot].gen = 0;
  } else {
    goto nomem;
  }
  struct dp_stream *s = &w->streams[slot];
  uint32_t gen = s->gen;
  memset(s, 0, sizeof *s);
  s->gen = gen;
  s->fd = own;
  s->alloc = -1;
  s->js_id = js_id;
  s->used = 1;
  if (n) memcpy(copy, part, n);
  s->part = copy;
  s->plen = s->pcap = (uint32_t)n;
  int listed = !n || w->npending < w->cappending ||
               dp_grow((void **)&w->pending, &w->cappending, sizeof *w->pending) == 0;
  if (!listed || watch(w, slot) < 0) {
    *err = listed ? errno : ENOMEM;
    s->used = 0;
    s->part = NULL;
    s->gen++;
    s->next_free = w->free_stream;
    w->free_stream = slot;
    goto fail;
  }
  if (n) {
    /* The bytes JavaScript read are the worker's to split: it is woken to do so. */
    uint64_t one = 1;
    w->pending[w->npending++] = slot;
    if (write(w->wakefd, &one, sizeof one) < 0) { /* a full counter wakes it anyway */ }
  }
  STAT(w, DP_STAT_STREAMS, 1);
  pthread_mutex_unlock(&w->mu);
  return slot;
nomem:
  *err = ENOMEM;
fail:
  pthread_mutex_unlock(&w->mu);
  free(copy);
  close(own);
  return -1;
}

struct dp_stream *dp_stream_at(struct dp_worker *w, int32_t slot, uint32_t gen) {
  if (slot < 0 || slot >= w->nstreams) return NULL;
  struct dp_stream *s = &w->streams[slot];
  return s->used && (s->gen & GEN_MASK) == gen ? s : NULL;
}

int dp_stream_queue(struct dp_stream *s, const uint8_t *header, size_t hl, const uint8_t *p,
                    size_t n, size_t pad, int droppable) {
  size_t need = hl + n + pad;
  if (s->fd < 0 || (droppable && s->tlen + need > DP_STREAM_TX_MAX)) return -1;
  if (s->tlen + need > s->tcap) {
    size_t cap = s->tcap ? s->tcap : 16 * 1024;
    while (cap < s->tlen + need) cap *= 2;
    uint8_t *grown = realloc(s->tx, cap);
    if (!grown) return -1;
    s->tx = grown;
    s->tcap = cap;
  }
  memcpy(s->tx + s->tlen, header, hl);
  memcpy(s->tx + s->tlen + hl, p, n);
  memcpy(s->tx + s->tlen + hl + n, zeros, pad);
  s->tlen += need;
  return 0;
}

void dp_stream_mark_dirty(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  if (s->dirty) return;
  if (w->ndirty == w->capdirty && dp_grow((void **)&w->dirty, &w->capdirty, sizeof *w->dirty) < 0) {
    dp_stream_write(w, slot, 1); /* no room to remember it: write now */
    return;
  }
  s->dirty = 1;
  w->dirty[w->ndirty++] = slot;
}

void dp_stream_flush_dirty(struct dp_worker *w) {
  for (int32_t i = 0; i < w->ndirty; i++) {
    int32_t slot = w->dirty[i];
    w->streams[slot].dirty = 0;
    if (w->streams[slot].used) dp_stream_write(w, slot, 1);
  }
  w->ndirty = 0;
}

/* Ends a connection on the worker: closes it, frees its buffers and tells JavaScript why. */
static void stream_end(struct dp_worker *w, int32_t slot, uint8_t why) {
  struct dp_stream *s = &w->streams[slot];
  if (s->fd < 0) return;
  if (s->watched) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  s->fd = -1;
  s->watched = 0;
  free(s->part);
  free(s->tx);
  s->part = s->tx = NULL;
  s->plen = s->pcap = 0;
  s->tlen = s->tcap = 0;
  dp_push_up(w, DP_UP_STREAM_END, s->js_id, &no_addr, &why, 1);
}

void dp_stream_write(struct dp_worker *w, int32_t slot, int on_worker) {
  struct dp_stream *s = &w->streams[slot];
  size_t done = 0;
  while (s->fd >= 0 && done < s->tlen) {
    ssize_t k = send(s->fd, s->tx + done, s->tlen - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      done += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    /* Broken connection: the worker ends it (on JavaScript's thread, its next read will). */
    if (on_worker) stream_end(w, slot, END_CLOSED);
    else s->tlen = done = 0;
    return;
  }
  if (s->fd < 0) return;
  if (done) {
    memmove(s->tx, s->tx + done, s->tlen - done);
    s->tlen -= done;
  }
  if (s->tlen == 0 && s->tcap > TX_KEEP) {
    free(s->tx);
    s->tx = NULL;
    s->tcap = 0;
  }
  int want_out = s->tlen > 0;
  if (want_out != s->want_out) {
    s->want_out = (uint8_t)want_out;
    watch(w, slot);
  }
}

/* One whole frame from stream `slot`: relayed when the table allows, else passed up. */
static void on_frame(struct dp_worker *w, int32_t slot, const uint8_t *p, size_t n, int64_t now) {
  struct dp_stream *s = &w->streams[slot];
  struct dp_client_msg m;
  enum dp_client_kind kind = dp_parse_client(p, n, &m);
  struct dp_alloc *a = kind != DP_PUNT && s->alloc >= 0 ? &w->allocs[s->alloc] : NULL;
  STAT(w, DP_STAT_RX_PACKETS, 1);
  if (!dp_relay_from_client(w, a, kind, &m, now)) dp_push_up(w, DP_UP_STREAM, s->js_id, &no_addr, p, n);
}

/*
 * Splits the `len` bytes at the start of the scratch buffer into frames and keeps the bytes of
 * an incomplete last frame for the next read; -1 when the stream ended.
 */
static int split(struct dp_worker *w, int32_t slot, size_t len, int64_t now) {
  struct dp_stream *s = &w->streams[slot];
  size_t off = 0, pad = 0;
  for (;;) {
    long frame = dp_stream_frame(w->sbuf + off, len - off, &pad);
    if (frame < 0) {
      dp_flush_out(w);
      stream_end(w, slot, END_MALFORMED);
      return -1;
    }
    if (frame == 0 || off + (size_t)frame + pad > len) break;
    on_frame(w, slot, w->sbuf + off, (size_t)frame, now);
    off += (size_t)frame + pad;
  }
  /* Queued sends point into the scratch buffer: they leave before it is reused. */
  dp_flush_out(w);
  size_t left = len - off;
  if (left == 0) {
    free(s->part);
    s->part = NULL;
    s->plen = s->pcap = 0;
    return 0;
  }
  if (left > s->pcap) {
    uint8_t *grown = realloc(s->part, left);
    if (!grown) {
      stream_end(w, slot, END_CLOSED);
      return -1;
    }
    s->part = grown;
    s->pcap = (uint32_t)left;
  }
  memcpy(s->part, w->sbuf + off, left);
  s->plen = (uint32_t)left;
  return 0;
}

/* Bytes waiting for JavaScript: the queue it reads and this wake-up's records. */
static size_t up_backlog(struct dp_worker *w) {
  pthread_mutex_lock(&w->upmu);
  size_t queued = w->qlen - w->qhead;
  pthread_mutex_unlock(&w->upmu);
  return queued + w->uplen;
}

/*
 * Stops reading a stream while JavaScript is far behind: TCP's flow control then holds the
 * client back, as it does on the JavaScript path. 0 when it could not be listed (read anyway).
 */
static int pause_reading(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  if (s->paused) return 1;
  if (w->npaused == w->cappaused &&
      dp_grow((void **)&w->paused, &w->cappaused, sizeof *w->paused) < 0)
    return 0;
  s->paused = 1;
  w->paused[w->npaused++] = slot;
  watch(w, slot);
  __atomic_store_n(&w->paused_any, 1, __ATOMIC_RELEASE);
  return 1;
}

void dp_stream_resume(struct dp_worker *w) {
  if (w->npaused == 0 || up_backlog(w) > DP_UP_QUEUE / 2) return;
  __atomic_store_n(&w->paused_any, 0, __ATOMIC_RELEASE);
  for (int32_t i = 0; i < w->npaused; i++) {
    struct dp_stream *s = &w->streams[w->paused[i]];
    if (!s->used || !s->paused) continue;
    s->paused = 0;
    if (s->fd >= 0) watch(w, w->paused[i]);
  }
  w->npaused = 0;
}

void dp_stream_readable(struct dp_worker *w, int32_t slot, int64_t now) {
  struct dp_stream *s = &w->streams[slot];
  for (int round = 0; round < READ_ROUNDS && s->fd >= 0; round++) {
    /* A read adds at most DP_STREAM_READ bytes of frames (and their records) to the queue. */
    if (up_backlog(w) >= DP_UP_QUEUE && pause_reading(w, slot)) return;
    size_t have = s->plen, room = DP_STREAM_READ - have;
    if (have) memcpy(w->sbuf, s->part, have);
    ssize_t got = recv(s->fd, w->sbuf + have, room, MSG_DONTWAIT);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (got <= 0) {
      stream_end(w, slot, END_CLOSED);
      return;
    }
    if (split(w, slot, have + (size_t)got, now) < 0 || (size_t)got < room) return;
  }
}

void dp_stream_split_pending(struct dp_worker *w, int64_t now) {
  for (int32_t i = 0; i < w->npending; i++) {
    struct dp_stream *s = &w->streams[w->pending[i]];
    if (!s->used || s->fd < 0 || s->plen == 0) continue;
    memcpy(w->sbuf, s->part, s->plen);
    split(w, w->pending[i], s->plen, now);
  }
  w->npending = 0;
}

int dp_stream_close(struct dp_worker *w, int32_t slot, uint32_t gen) {
  pthread_mutex_lock(&w->mu);
  struct dp_stream *s = dp_stream_at(w, slot, gen);
  if (!s) {
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  if (s->fd >= 0) {
    if (s->tlen) send(s->fd, s->tx, s->tlen, MSG_DONTWAIT | MSG_NOSIGNAL); /* last words */
    if (s->watched) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
  }
  free(s->part);
  free(s->tx);
  if (s->alloc >= 0 && w->allocs[s->alloc].stream == slot) w->allocs[s->alloc].stream = -1;
  /* A write or read of this wake-up that is still listed skips it: used is 0. */
  s->used = 0;
  s->fd = -1;
  s->part = s->tx = NULL;
  s->gen++;
  s->next_free = w->free_stream;
  w->free_stream = slot;
  pthread_mutex_unlock(&w->mu);
  return 0;
}

void dp_stream_free_all(struct dp_worker *w) {
  for (int32_t i = 0; i < w->nstreams; i++) {
    struct dp_stream *s = &w->streams[i];
    if (s->used && s->fd >= 0) close(s->fd);
    free(s->part);
    free(s->tx);
  }
  free(w->streams);
  free(w->sbuf);
  free(w->dirty);
  free(w->pending);
  free(w->paused);
  w->pending = NULL;
  w->paused = NULL;
  w->streams = NULL;
  w->sbuf = NULL;
  w->dirty = NULL;
  w->nstreams = w->capstreams = 0;
}
