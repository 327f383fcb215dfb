/*
 * HTTP over a TLS stream, piped to JavaScript. On the one-port listener the worker terminates
 * TLS for clients that offered no HTTP protocol in ALPN (TURN clients, mostly); when such a
 * client's first plaintext turns out to be an HTTP request (refused, stream.c), JavaScript asks
 * for a pipe: a socketpair whose one end JavaScript gives to its HTTP server as a plain socket.
 * The worker writes the client's plaintext into its end and encrypts what it reads from it.
 *
 *   client ─TLS─► worker ─ plaintext ─► pipe ─► JavaScript's HTTP server
 *          ◄─TLS─        ◄─ plaintext ─      ◄─
 *
 * Flow control both ways: while the pipe is full the client is not read (its bytes wait in the
 * stream's `part`); while the client's queue is past DP_STREAM_TX_MAX the pipe is not read. The
 * client's end (FIN or close_notify) shuts the pipe's write side once its bytes are in; the end
 * of JavaScript's side ends the stream, and the queue, then a close_notify, leave in the
 * connection's lingering close (linger.c). Everything here runs with the worker's mutex held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plane.h"

#define PIPE_READ (64 * 1024) /* bytes read from the pipe per call */
#define PIPE_ROUNDS 4         /* reads of the pipe per wake-up (level-triggered: fair) */

/* Whether the client's queue has room for another read of the pipe. */
static int room(const struct dp_stream *s) {
  return s->tlen + dp_tls_pending(s) + PIPE_READ <= DP_STREAM_TX_MAX;
}

/* Registers the pipe for what the stream's state wants: reading, room to write, or nothing. */
static void pipe_watch(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  if (s->pipe < 0) return;
  uint32_t want = (!s->js_eof && room(s) ? EPOLLIN : 0u) | (s->held ? EPOLLOUT : 0u);
  if (want == s->pipe_events) return;
  if (!want) {
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->pipe, NULL);
    s->pipe_events = 0;
    return;
  }
  struct epoll_event ev = {.events = want};
  ev.data.u64 = dp_stream_tag(s, DP_TAG_PIPE, slot);
  if (epoll_ctl(w->epfd, s->pipe_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->pipe, &ev) == 0)
    s->pipe_events = (uint8_t)want;
}

/* Writes what the pipe takes of p[0..n): bytes written, or -1 (JavaScript's end is gone). */
static ssize_t put(int fd, const uint8_t *p, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = send(fd, p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k > 0) {
      done += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return -1;
  }
  return (ssize_t)done;
}

int dp_pipe_open(struct dp_worker *w, int32_t slot, uint32_t gen, int *err) {
  pthread_mutex_lock(&w->mu);
  struct dp_stream *s = dp_stream_at(w, slot, gen);
  int sv[2];
  if (!s || s->fd < 0 || !s->refused || s->piped) {
    *err = EINVAL;
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    *err = errno;
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  if (w->npending == w->cappending &&
      dp_grow((void **)&w->pending, &w->cappending, sizeof *w->pending) < 0) {
    close(sv[0]);
    close(sv[1]);
    *err = ENOMEM;
    pthread_mutex_unlock(&w->mu);
    return -1;
  }
  s->pipe = sv[0];
  s->piped = 1;
  s->refused = 0;
  s->checked = 1;
  s->paused = 0;
  pipe_watch(w, slot);
  dp_stream_watch(w, slot);
  /* The kept plaintext, and what OpenSSL still holds, go into the pipe on the worker. */
  w->pending[w->npending++] = slot;
  uint64_t one = 1;
  if (write(w->wakefd, &one, sizeof one) < 0) { /* a full counter wakes it anyway */ }
  pthread_mutex_unlock(&w->mu);
  return sv[1];
}

int dp_pipe_take(struct dp_worker *w, int32_t slot, const uint8_t *p, size_t n) {
  struct dp_stream *s = &w->streams[slot];
  if (s->unheard) return 0;
  if (s->plen) {
    ssize_t k = put(s->pipe, s->part, s->plen);
    if (k < 0) goto gone;
    memmove(s->part, s->part + k, s->plen - (size_t)k);
    s->plen -= (uint32_t)k;
  }
  size_t done = 0;
  if (s->plen == 0 && n) {
    ssize_t k = put(s->pipe, p, n);
    if (k < 0) goto gone;
    done = (size_t)k;
  }
  if (done < n) {
    /* The pipe is full: the rest waits, and so does the client (bounded by one read). */
    size_t need = s->plen + (n - done);
    if (need > s->pcap) {
      uint8_t *grown = realloc(s->part, need);
      if (!grown) goto gone;
      s->part = grown;
      s->pcap = (uint32_t)need;
    }
    memcpy(s->part + s->plen, p + done, n - done);
    s->plen = (uint32_t)need;
  }
  uint8_t held = s->plen > 0;
  if (held != s->held) {
    s->held = held;
    pipe_watch(w, slot);
    dp_stream_watch(w, slot);
  }
  if (!held && s->client_eof) shutdown(s->pipe, SHUT_WR);
  return 0;
gone:
  if (errno == EPIPE || errno == ECONNRESET) {
    /*
     * JavaScript closed its end (an HTTP server that answered before it read the whole request,
     * and closed): what the client still sends is dropped, and its answer, still in the pipe,
     * is read and sent before the stream ends. Ending the stream now would reset the
     * connection under the client's bytes, and the client would lose the answer.
     */
    s->unheard = 1;
    s->plen = 0;
    if (s->held) {
      s->held = 0;
      pipe_watch(w, slot);
      dp_stream_watch(w, slot);
    }
    return 0;
  }
  dp_stream_end(w, slot, DP_END_CLOSED);
  return -1;
}

void dp_pipe_client_eof(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  s->client_eof = 1;
  dp_stream_watch(w, slot);
  /*
   * Fix: the write side is shut only once `part` is empty, not merely when the pipe is not
   * `held`: right after dp_pipe_open the kept first bytes wait in `part` with `held` still 0
   * until the worker's first dp_pipe_take, and a FIN read before that (the socket's event
   * ahead of the wake-up) shut the pipe ahead of them: JavaScript saw the end, not the request.
   * Bytes still in `part` shut it once written (dp_pipe_take).
   */
  if (s->plen == 0) shutdown(s->pipe, SHUT_WR);
}

/*
 * Ends a stream whose JavaScript side ended: what is queued, then a close_notify, leave in the
 * connection's lingering close (linger.c). 1 when it ended.
 */
static int finish(struct dp_worker *w, int32_t slot) {
  if (!w->streams[slot].js_eof) return 0;
  dp_stream_finish(w, slot);
  return 1;
}

/* Reads what JavaScript wrote into the pipe and queues it for the client. */
static void pipe_read(struct dp_worker *w, int32_t slot) {
  struct dp_stream *s = &w->streams[slot];
  for (int round = 0; round < PIPE_ROUNDS && s->fd >= 0 && room(s); round++) {
    ssize_t got = recv(s->pipe, w->sbuf, PIPE_READ, MSG_DONTWAIT);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    /*
     * JavaScript closed its end: with bytes of the client's it had not read, Linux reports that
     * as a reset (after what it wrote); it is an end like any other, with its answer to send.
     */
    if (got == 0 || (got < 0 && errno == ECONNRESET)) {
      s->js_eof = 1;
      break;
    }
    if (got < 0) {
      dp_stream_end(w, slot, DP_END_CLOSED);
      return;
    }
    if (dp_stream_queue(s, NULL, 0, w->sbuf, (size_t)got, 0, 0) < 0) {
      dp_stream_end(w, slot, DP_END_CLOSED);
      return;
    }
    dp_stream_mark_dirty(w, slot);
  }
  if (!finish(w, slot)) pipe_watch(w, slot);
}

void dp_pipe_event(struct dp_worker *w, int32_t slot, uint32_t events, int64_t now) {
  struct dp_stream *s = &w->streams[slot];
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && s->held) {
    if (dp_pipe_take(w, slot, NULL, 0) < 0) return;
    /* Room again: what OpenSSL still holds is decrypted now, the socket is read again. */
    if (!s->held && !s->client_eof) dp_stream_drain_tls(w, slot, now);
    if (s->fd < 0) return;
  }
  if (s->fd >= 0 && s->pipe >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) pipe_read(w, slot);
}

void dp_pipe_after_write(struct dp_worker *w, int32_t slot) {
  if (!finish(w, slot)) pipe_watch(w, slot);
}

void dp_pipe_close(struct dp_worker *w, struct dp_stream *s) {
  if (s->pipe < 0) return;
  if (s->pipe_events) epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->pipe, NULL);
  close(s->pipe);
  s->pipe = -1;
  s->pipe_events = 0;
}
