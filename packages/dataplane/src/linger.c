/*
 * Lingering close. A stream the plane ends on purpose (JavaScript's closeStream, or a piped HTTP
 * client whose JavaScript side ended) may still have bytes to send, and its client may still be
 * sending: a request body, pipelined requests. Closing the socket then is not enough: bytes that
 * arrive after close(2), or wait unread at close, make Linux reset the connection, and a reset
 * throws away whatever the client's kernel had received but the client had not read yet (the
 * end of the answer). So the worker keeps the connection for a while: it sends what is left, then
 * shuts its write side (FIN), and reads and discards until the client's end, as a web server's
 * lingering close does.
 *
 * A lingering connection is closed when the client ends its side and everything was sent, on an
 * error, after `linger_ms` without progress (nothing sent, nothing read), or after
 * DP_LINGER_ROUNDS × `linger_ms` in all. Each worker holds at most DP_LINGER_MAX of them and
 * DP_LINGER_BYTES of unsent bytes; past that, and with `linger_ms` 0, a stream is closed at
 * once after one attempt to send. Everything here runs with the worker's mutex held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plane.h"

#define DP_LINGER_MAX 4096
#define DP_LINGER_BYTES (64u * 1024 * 1024)
#define DP_LINGER_ROUNDS 6 /* the whole linger: this many times the time without progress */
#define DISCARD_BYTES (256 * 1024)
#define DISCARD_ROUNDS 4   /* reads per wake-up (level-triggered: the rest comes next round) */
#define SWEEP_MS 250       /* how often deadlines are checked while connections linger */

static uint64_t tag_of(const struct dp_linger *l, int32_t slot) {
  return ((uint64_t)DP_TAG_LINGER << 56) | ((uint64_t)(l->gen & 0xFFFFFu) << 24) | (uint64_t)slot;
}

/* Sends what is left; 0 when all of it is out, 1 when the socket is full, -1 on an error. */
static int send_rest(struct dp_linger *l) {
  while (l->off < l->len) {
    ssize_t k = send(l->fd, l->out + l->off, l->len - l->off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      l->off += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
  }
  return 0;
}

static void finish(struct dp_worker *w, int32_t slot) {
  struct dp_linger *l = &w->lingers[slot];
  if (l->events) epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->fd, NULL);
  close(l->fd);
  w->linger_bytes -= l->len;
  free(l->out);
  l->out = NULL;
  l->fd = -1;
  l->gen++;
  l->next_free = w->free_linger;
  w->free_linger = slot;
  w->nlive_lingers--;
  __atomic_sub_fetch(&w->stats[DP_STAT_LINGERING], 1, __ATOMIC_RELAXED);
}

/* After progress: everything sent shuts the write side; registers for what is still wanted. */
static int settle(struct dp_worker *w, int32_t slot) {
  struct dp_linger *l = &w->lingers[slot];
  if (l->off == l->len && !l->shut) {
    free(l->out);
    l->out = NULL;
    w->linger_bytes -= l->len;
    l->len = l->off = 0;
    shutdown(l->fd, SHUT_WR);
    l->shut = 1;
  }
  if (l->shut && l->peer_eof) return -1;
  uint32_t want = (l->peer_eof ? 0u : EPOLLIN) | (l->shut ? 0u : EPOLLOUT);
  if (want == l->events) return 0;
  struct epoll_event ev = {.events = want};
  ev.data.u64 = tag_of(l, slot);
  if (epoll_ctl(w->epfd, l->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, l->fd, &ev) < 0) return -1;
  l->events = want;
  return 0;
}

void dp_linger(struct dp_worker *w, int fd, uint8_t *out, size_t n, int64_t now) {
  int32_t slot = -1;
  int room = w->plane->linger_ms > 0 && w->nlive_lingers < DP_LINGER_MAX &&
             w->linger_bytes + n <= DP_LINGER_BYTES;
  if (room && w->free_linger >= 0) {
    slot = w->free_linger;
    w->free_linger = w->lingers[slot].next_free;
  } else if (room && (w->nlingers < w->caplingers ||
                      dp_grow((void **)&w->lingers, &w->caplingers, sizeof *w->lingers) == 0)) {
    slot = w->nlingers++;
    w->lingers[slot].gen = 0;
  }
  if (slot < 0) {
    /* No lingering: one attempt, then the plain close of before. */
    if (n) send(fd, out, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    close(fd);
    free(out);
    return;
  }
  struct dp_linger *l = &w->lingers[slot];
  uint32_t gen = l->gen;
  memset(l, 0, sizeof *l);
  l->gen = gen;
  l->fd = fd;
  l->out = out;
  l->len = n;
  l->idle_until = now + w->plane->linger_ms;
  l->hard_until = now + (int64_t)DP_LINGER_ROUNDS * w->plane->linger_ms;
  w->linger_bytes += n;
  if (w->nlive_lingers++ == 0) {
    w->linger_sweep_at = now + SWEEP_MS;
    uint64_t one = 1; /* the worker may sleep without a timeout: it sets one now */
    if (write(w->wakefd, &one, sizeof one) < 0) { /* a full counter wakes it anyway */ }
  }
  __atomic_add_fetch(&w->stats[DP_STAT_LINGERING], 1, __ATOMIC_RELAXED);
  if (send_rest(l) < 0 || settle(w, slot) < 0) finish(w, slot);
}

void dp_linger_event(struct dp_worker *w, int32_t slot, uint32_t gen, uint32_t events,
                     int64_t now) {
  if (slot >= w->nlingers) return;
  struct dp_linger *l = &w->lingers[slot];
  if (l->fd < 0 || (l->gen & 0xFFFFFu) != gen) return;
  size_t before = l->off;
  int rc = l->shut ? 0 : send_rest(l);
  int moved = l->off != before;
  for (int round = 0; rc >= 0 && !l->peer_eof && round < DISCARD_ROUNDS; round++) {
    /* The client's bytes, discarded by the kernel (tcp(7): MSG_TRUNC copies nothing). */
    ssize_t got = recv(l->fd, NULL, DISCARD_BYTES, MSG_DONTWAIT | MSG_TRUNC);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (got < 0) rc = -1;
    else if (got == 0) l->peer_eof = 1;
    else moved = 1;
    if (got < DISCARD_BYTES) break;
  }
  (void)events; /* level-triggered: what is ready was just tried */
  if (moved) l->idle_until = now + w->plane->linger_ms;
  if (rc < 0 || settle(w, slot) < 0) finish(w, slot);
}

int dp_linger_timeout(struct dp_worker *w, int64_t now) {
  if (w->nlive_lingers == 0) return -1;
  int64_t left = w->linger_sweep_at - now;
  return left <= 0 ? 0 : (int)left;
}

void dp_linger_sweep(struct dp_worker *w, int64_t now) {
  if (w->nlive_lingers == 0 || now < w->linger_sweep_at) return;
  w->linger_sweep_at = now + SWEEP_MS;
  for (int32_t i = 0; i < w->nlingers; i++) {
    struct dp_linger *l = &w->lingers[i];
    if (l->fd >= 0 && (now >= l->idle_until || now >= l->hard_until)) finish(w, i);
  }
}

void dp_linger_free_all(struct dp_worker *w) {
  for (int32_t i = 0; i < w->nlingers; i++) {
    if (w->lingers[i].fd >= 0) close(w->lingers[i].fd);
    free(w->lingers[i].out);
  }
  free(w->lingers);
  w->lingers = NULL;
  w->nlingers = w->caplingers = w->nlive_lingers = 0;
  w->free_linger = -1;
  w->linger_bytes = 0;
}
