/*
 * The JavaScript thread's send queue (sendq.h). Only the JavaScript thread touches it, so it has
 * no lock. A relay socket is closed only after the queue is flushed (plane.c), so a queued
 * descriptor is never a closed or reused one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "plane.h"
#include "sendq.h"

void dp_sendq_push(struct dp_sendq *q, int fd, const dp_addr *to, const uint8_t *data, size_t len) {
  if (len > DP_SENDQ_BYTES) { /* cannot happen for a UDP payload; drop rather than overflow */
    q->failed++;
    return;
  }
  if (q->n == DP_SENDQ_MAX || q->used + len > DP_SENDQ_BYTES) dp_sendq_send(q);
  int k = q->n++;
  memcpy(q->bytes + q->used, data, len);
  q->fd[k] = fd;
  q->to[k] = *to;
  q->iov[k].iov_base = q->bytes + q->used;
  q->iov[k].iov_len = len;
  q->used += len;
}

void dp_sendq_send(struct dp_sendq *q) {
  int i = 0;
  while (i < q->n) {
    int fd = q->fd[i], end = i + 1;
    while (end < q->n && q->fd[end] == fd) end++;
    for (int k = i; k < end; k++) {
      struct msghdr *m = &q->msg[k].msg_hdr;
      memset(m, 0, sizeof *m);
      m->msg_name = &q->to[k];
      m->msg_namelen = dp_addr_len(&q->to[k]);
      m->msg_iov = &q->iov[k];
      m->msg_iovlen = 1;
    }
    while (i < end) {
      int sent = sendmmsg(fd, &q->msg[i], (unsigned)(end - i), MSG_DONTWAIT);
      q->calls++;
      if (sent > 0) {
        i += sent;
      } else if (sent < 0 && errno == EINTR) {
        continue;
      } else {
        q->failed++; /* the first datagram failed (full buffer, unreachable): drop it, go on */
        i++;
      }
    }
  }
  q->n = 0;
  q->used = 0;
}
