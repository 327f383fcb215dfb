/*
 * TCP and TLS clients of the native data plane. JavaScript accepts a connection, checks its
 * first bytes (TCP; and a PROXY protocol header) and hands the descriptor over with the bytes it
 * already read (a TLS client's: before the handshake, which the worker does, tls.c). From then
 * on the worker reads the stream, splits it into frames (RFC 8656 §12.5: STUN messages, and
 * ChannelData padded to a multiple of 4), relays the
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
#define REFUSED_BYTES 512 /* of a TLS client's first bytes that are not STUN, passed up */
#define MAX_METHOD 16     /* letters of the longest HTTP method waited for (first-bytes.ts) */

static const uint8_t zeros[4];
static const dp_addr no_addr = {.v4 = {.sin_family = AF_INET}};

uint64_t dp_stream_tag(const struct dp_stream *s, int kind, int32_t slot) {
  return ((uint64_t)kind << 56) | ((uint64_t)(s->gen & GEN_MASK) << 24) | (uint64_t)slot;
}

/* Whether the worker reads a stream: not while paused, nor a piped one held or at its end. */
static int reading(const struct dp_stream *s) {
  return !s->paused && !s->held && !s->client_eof;
}

/*
 * Makes the epoll set match a stream's state: reading (and writing when bytes wait), or, when
 * not reading, not registered at all (so that a hang-up does not wake the worker over and over).
 */
int dp_stream_watch(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  if (!reading(s) && !s->want_out) {
    if (s->watched) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->watched = 0;
    return 0;
  }
  /* A stream not read with bytes to send waits for room only (a refused one's answer). */
  struct epoll_event ev = {.events = (reading(s) ? EPOLLIN : 0u) | (s->want_out ? EPOLLOUT : 0u)};
  ev.data.u64 = dp_stream_tag(s, DP_TAG_STREAM, slot);
  int rc = epoll_ctl(w->epfd, s->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev);
  if (rc == 0) s->watched = 1;
  return rc;
}

/* Returns a slot to the free list; its generation moves on, so old handles go stale. */
static void release_slot(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  s->used = 0;
  s->gen++;
  s->next_free = w->free_stream;
  w->free_stream = slot;
}

/* Frees what a stream holds besides its slot: buffers and TLS state. */
static void drop_buffers(struct dp_stream *s) {
  if (s->ssl) dp_tls_free(s);
  free(s->part);
  free(s->tx);
  s->part = s->tx = NULL;
  s->plen = s->pcap = 0;
  s->tlen = s->tcap = 0;
}

int32_t dp_stream_adopt(struct dp_worker *w, int fd, double js_id, const uint8_t *part, size_t n,
                        struct ssl_ctx_st *tls, int *err) {
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
  /* A TLS stream's bytes go into its SSL object; a TCP stream keeps them as its partial frame. */
  uint8_t *copy = n && !tls ? malloc(n) : NULL;
  if (!w->sbuf) w->sbuf = malloc(DP_STREAM_READ);
  if (tls && !w->cbuf) w->cbuf = malloc(DP_TLS_READ);
  if (!w->sbuf || (tls && !w->cbuf) || (n && !tls && !copy)) goto nomem;
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
  s->pipe = -1;
  s->alloc = -1;
  s->js_id = js_id;
  s->used = 1;
  if (copy) memcpy(copy, part, n);
  s->part = copy;
  s->plen = s->pcap = copy ? (uint32_t)n : 0;
  if (tls && dp_tls_attach(s, tls, part, n) < 0) {
    release_slot(w, slot);
    goto nomem;
  }
  int listed = !n || w->npending < w->cappending ||
               dp_grow((void **)&w->pending, &w->cappending, sizeof *w->pending) == 0;
  if (!listed || dp_stream_watch(w, slot) < 0) {
    *err = listed ? errno : ENOMEM;
    if (s->ssl) dp_tls_free(s);
    s->part = NULL; /* `copy`, freed below */
    release_slot(w, slot);
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
  if (s->fd < 0 || (droppable && s->tlen + dp_tls_pending(s) + need > DP_STREAM_TX_MAX)) return -1;
  if (s->tlen + need > s->tcap) {
    size_t cap = s->tcap ? s->tcap : 16 * 1024;
    while (cap < s->tlen + need) cap *= 2;
    uint8_t *grown = realloc(s->tx, cap);
    if (!grown) return -1;
    s->tx = grown;
    s->tcap = cap;
  }
  /* (memcpy from NULL is undefined even for 0 bytes: an empty JavaScript buffer has none.) */
  if (hl) memcpy(s->tx + s->tlen, header, hl);
  if (n) memcpy(s->tx + s->tlen + hl, p, n);
  if (pad) memcpy(s->tx + s->tlen + hl + n, zeros, pad);
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

/* Takes a stream's connection out of the epoll set, and closes its pipe. */
static void unwatch(struct dp_worker *w, struct dp_stream *s) {
  if (s->watched) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->fd, NULL);
  s->watched = 0;
  dp_pipe_close(w, s);
}

/*
 * Sends a stream's last words, what is queued and a TLS stream's close_notify, and closes its
 * connection: after one write, or with `linger` in a lingering close (linger.c). No last words
 * when its TLS handshake is not done (nothing can be encrypted yet) or the connection is broken.
 * s->fd is -1 afterwards.
 */
static void last_words(struct dp_worker *w, struct dp_stream *s, int linger) {
  uint8_t *out = NULL;
  size_t n = 0;
  int plain = 0;
  if (s->ssl && !dp_tls_ready(s)) {
    plain = 1;
  } else if (s->ssl) {
    if (dp_tls_encrypt(s) == 0) dp_tls_shutdown(s);
    plain = dp_tls_send(s, w->cbuf, DP_TLS_READ) < 0 || dp_tls_take(s, &out, &n) < 0;
  } else {
    out = s->tx;
    n = s->tlen;
    s->tx = NULL;
    s->tlen = s->tcap = 0;
  }
  if (plain || !linger) {
    if (!plain && n) send(s->fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    free(out);
    close(s->fd);
  } else {
    dp_linger(w, s->fd, out, n, dp_now_ms());
  }
  s->fd = -1;
}

void dp_stream_end(struct dp_worker *w, int32_t slot, uint8_t why) {
  struct dp_stream *s = &w->streams[slot];
  if (s->fd < 0) return;
  if (why == DP_END_CLOSED && s->ssl && !s->refused && !s->piped)
    why = !dp_tls_ready(s) ? DP_END_TLS : !s->checked ? DP_END_SILENT : why;
  unwatch(w, s);
  close(s->fd);
  s->fd = -1;
  drop_buffers(s);
  dp_push_up(w, DP_UP_STREAM_END, s->js_id, &no_addr, &why, 1);
}

void dp_stream_finish(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  uint8_t why = DP_END_CLOSED;
  if (s->fd < 0) return;
  unwatch(w, s);
  last_words(w, s, 1);
  drop_buffers(s);
  dp_push_up(w, DP_UP_STREAM_END, s->js_id, &no_addr, &why, 1);
}

/*
 * After a write: a large drained buffer is given back, and the stream waits for room (EPOLLOUT)
 * exactly while bytes are left over.
 */
static void after_write(struct dp_worker *w, int32_t slot, int left_over) {
  struct dp_stream *s = &w->streams[slot];
  if (s->tlen == 0 && s->tcap > TX_KEEP) {
    free(s->tx);
    s->tx = NULL;
    s->tcap = 0;
  }
  if (left_over != s->want_out) {
    s->want_out = (uint8_t)left_over;
    dp_stream_watch(w, slot);
  }
}

/* A broken connection: the worker ends it (on JavaScript's thread, its next read will). */
static void write_failed(struct dp_worker *w, int32_t slot, int on_worker) {
  if (on_worker) dp_stream_end(w, slot, DP_END_CLOSED);
  else w->streams[slot].tlen = 0;
}

/* A TLS stream's write: the queued plaintext is encrypted (one record per 16 KiB), then sent. */
static void tls_write(struct dp_worker *w, int32_t slot, int on_worker) {
  struct dp_stream *s = &w->streams[slot];
  if (dp_tls_encrypt(s) < 0 || dp_tls_send(s, w->cbuf, DP_TLS_READ) < 0) {
    write_failed(w, slot, on_worker);
    return;
  }
  after_write(w, slot, dp_tls_pending(s) > 0);
  if (s->piped && on_worker) dp_pipe_after_write(w, slot);
}

void dp_stream_write(struct dp_worker *w, int32_t slot, int on_worker) {
  struct dp_stream *s = &w->streams[slot];
  if (s->ssl) {
    if (s->fd >= 0) tls_write(w, slot, on_worker);
    return;
  }
  size_t done = 0;
  while (s->fd >= 0 && done < s->tlen) {
    ssize_t k = send(s->fd, s->tx + done, s->tlen - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      done += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    write_failed(w, slot, on_worker);
    return;
  }
  if (s->fd < 0) return;
  if (done) {
    memmove(s->tx, s->tx + done, s->tlen - done);
    s->tlen -= done;
  }
  after_write(w, slot, s->tlen > 0);
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
      dp_stream_end(w, slot, DP_END_MALFORMED);
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
      dp_stream_end(w, slot, DP_END_CLOSED);
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
  dp_stream_watch(w, slot);
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
    if (s->fd >= 0) dp_stream_watch(w, w->paused[i]);
  }
  w->npaused = 0;
}

/*
 * Whether a TLS client's first plaintext, not STUN, may still become an HTTP request line: only
 * upper-case letters so far, fewer than a method's longest (the one-port listener then pipes it).
 */
static int maybe_method(const uint8_t *p, size_t n) {
  if (n > MAX_METHOD) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] < 'A' || p[i] > 'Z') return 0;
  return 1;
}

/*
 * Whether a TLS client's first plaintext starts a STUN message (top bits 00, the magic cookie at
 * offset 4, RFC 8489 §5): 1 yes, 0 too short to tell, -1 no (refused, as the one-port listener's
 * peek refuses it on Node's path).
 */
static int stun_start(const uint8_t *p, size_t n) {
  static const uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};
  if ((p[0] & 0xC0) != 0) return -1;
  for (size_t i = 4; i < 8 && i < n; i++)
    if (p[i] != cookie[i - 4]) return -1;
  return n >= 8 ? 1 : 0;
}

/* Keeps the `n` bytes at the start of the scratch buffer as the stream's `part`; -1: no memory. */
static int keep(struct dp_stream *s, const uint8_t *p, size_t n) {
  if (n > s->pcap) {
    uint8_t *grown = realloc(s->part, n);
    if (!grown) return -1;
    s->part = grown;
    s->pcap = (uint32_t)n;
  }
  memmove(s->part, p, n);
  s->plen = (uint32_t)n;
  return 0;
}

/*
 * A TLS client's first plaintext (`n` bytes at the start of the scratch) that is not STUN: it
 * is kept, its start goes up as refused, and the stream is not read again; JavaScript answers
 * and closes it, or pipes it (pipe.c). A first record too short to tell an HTTP method waits
 * for more. 1: kept (refused or waiting); -1: out of memory (the stream ended).
 */
static int refuse(struct dp_worker *w, int32_t slot, size_t n, int rc) {
  struct dp_stream *s = &w->streams[slot];
  if (keep(s, w->sbuf, n) < 0) {
    dp_stream_end(w, slot, DP_END_CLOSED);
    return -1;
  }
  if (rc == DP_TLS_MORE && maybe_method(w->sbuf, n)) return 1;
  dp_push_up(w, DP_UP_STREAM_REFUSED, s->js_id, &no_addr, w->sbuf,
             n < REFUSED_BYTES ? n : REFUSED_BYTES);
  s->refused = 1;
  s->client_eof = rc == DP_TLS_CLOSED; /* a close_notify right after the request */
  s->paused = 1;                       /* not listed: read again only once piped */
  dp_stream_watch(w, slot);
  return 1;
}

/*
 * Decrypts what a TLS stream's SSL object holds (handshaking first) and splits the plaintext,
 * which lands in the scratch after the stream's partial frame, or writes it into the stream's
 * pipe; -1 when the stream stopped. The first plaintext must start a STUN message (with its
 * magic cookie, as the one-port listener's peek checks): otherwise it is refused (above). What OpenSSL wrote (handshake,
 * tickets, alerts) leaves at the end of the wake-up.
 */
int dp_stream_drain_tls(struct dp_worker *w, int32_t slot, int64_t now) {
  struct dp_stream *s = &w->streams[slot];
  if (s->piped && s->plen && dp_pipe_take(w, slot, NULL, 0) < 0) return -1;
  for (;;) {
    if (s->refused || s->held) return -1;
    size_t have = s->piped ? 0 : s->plen, got = 0;
    if (have) memcpy(w->sbuf, s->part, have);
    int rc = dp_tls_decrypt(s, w->sbuf + have, DP_STREAM_READ - have, &got);
    /* OpenSSL's own output (handshake, tickets, alerts), or what waited for the handshake. */
    if (dp_tls_pending(s) || s->tlen) dp_stream_mark_dirty(w, slot);
    if (got > 0 && !s->checked) {
      int stun = stun_start(w->sbuf, have + got);
      if (stun < 0) {
        if (refuse(w, slot, have + got, rc) < 0 || s->refused) return -1;
        if (have + got < DP_STREAM_READ) return 0; /* waiting for the rest of a method */
        continue;
      }
      if (stun > 0) {
        s->checked = 1;
      } else if (keep(s, w->sbuf, have + got) < 0) { /* a STUN start too short to tell: wait */
        dp_stream_end(w, slot, DP_END_CLOSED);
        return -1;
      } else {
        got = 0;
      }
    }
    if (s->piped) {
      if (got > 0 && dp_pipe_take(w, slot, w->sbuf, got) < 0) return -1;
    } else if (got > 0 && split(w, slot, have + got, now) < 0) {
      return -1;
    }
    if (rc != DP_TLS_MORE) {
      if (s->piped && rc == DP_TLS_CLOSED) dp_pipe_client_eof(w, slot);
      else dp_stream_end(w, slot, rc == DP_TLS_CLOSED ? DP_END_CLOSED : DP_END_TLS);
      return -1;
    }
    if (have + got < DP_STREAM_READ) return 0; /* OpenSSL wants more ciphertext */
  }
}

/*
 * Reads a ready stream: a TCP stream's bytes land in the scratch after its partial frame and are
 * split; a TLS stream's ciphertext goes into its SSL object, which is then drained. A few reads
 * at most (level-triggered: the rest comes next round), none while JavaScript is far behind.
 */
void dp_stream_readable(struct dp_worker *w, int32_t slot, int64_t now) {
  struct dp_stream *s = &w->streams[slot];
  for (int round = 0; round < READ_ROUNDS && s->fd >= 0 && reading(s); round++) {
    /* A read adds at most DP_STREAM_READ bytes of frames (and their records) to the queue. */
    if (!s->piped && up_backlog(w) >= DP_UP_QUEUE && pause_reading(w, slot)) return;
    size_t have = s->ssl ? 0 : s->plen;
    size_t room = s->ssl ? DP_TLS_READ : DP_STREAM_READ - have;
    uint8_t *into = s->ssl ? w->cbuf : w->sbuf + have;
    if (have) memcpy(w->sbuf, s->part, have);
    ssize_t got = recv(s->fd, into, room, MSG_DONTWAIT);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (got == 0 && s->piped) {
      dp_pipe_client_eof(w, slot); /* HTTP: the answers in flight may still be sent */
      return;
    }
    if (got <= 0 || (s->ssl && dp_tls_feed(s, w->cbuf, (size_t)got) < 0)) {
      dp_stream_end(w, slot, DP_END_CLOSED);
      return;
    }
    int going = s->ssl ? dp_stream_drain_tls(w, slot, now) : split(w, slot, have + (size_t)got, now);
    if (going < 0 || (size_t)got < room) return;
  }
}

void dp_stream_split_pending(struct dp_worker *w, int64_t now) {
  for (int32_t i = 0; i < w->npending; i++) {
    struct dp_stream *s = &w->streams[w->pending[i]];
    if (!s->used || s->fd < 0) continue;
    if (s->ssl) {
      dp_stream_drain_tls(w, w->pending[i], now);
      continue;
    }
    if (s->plen == 0) continue;
    memcpy(w->sbuf, s->part, s->plen);
    split(w, w->pending[i], s->plen, now);
  }
  w->npending = 0;
}

int dp_stream_close(struct dp_worker *w, int32_t slot, uint32_t gen, int linger) {
  pthread_mutex_lock(&w->mu);
  struct dp_stream *s = dp_stream_at(w, slot, gen);
  if (!s) {
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  if (s->fd >= 0) {
    unwatch(w, s);
    /*
     * A TLS 1.3 client may be done with the handshake before the worker saw its Finished:
     * whatever of it has arrived is taken in. Before the worker's side is done nothing can be
     * encrypted, so a stream closed that early gets no last words (JavaScript only answers a
     * frame, which comes after the handshake).
     */
    if (s->ssl && !dp_tls_ready(s)) {
      ssize_t got;
      while ((got = recv(s->fd, w->cbuf, DP_TLS_READ, MSG_DONTWAIT)) > 0)
        if (dp_tls_feed(s, w->cbuf, (size_t)got) < 0) break;
      dp_tls_handshake(s);
    }
    last_words(w, s, linger);
  }
  drop_buffers(s);
  if (s->alloc >= 0 && w->allocs[s->alloc].stream == slot) w->allocs[s->alloc].stream = -1;
  /* A write or read of this wake-up that is still listed skips it: used is 0. */
  s->fd = -1;
  release_slot(w, slot);
  pthread_mutex_unlock(&w->mu);
  return 0;
}

void dp_stream_free_all(struct dp_worker *w) {
  for (int32_t i = 0; i < w->nstreams; i++) {
    struct dp_stream *s = &w->streams[i];
    if (s->used && s->fd >= 0) close(s->fd);
    if (s->used && s->pipe >= 0) close(s->pipe);
    drop_buffers(s);
  }
  free(w->cbuf);
  w->cbuf = NULL;
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
