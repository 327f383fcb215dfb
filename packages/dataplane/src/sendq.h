/*
 * The send queue of the JavaScript thread: datagrams JavaScript sends out of relay sockets
 * (a TCP or TLS client's ChannelData and Send indications, and whatever else does not take the
 * fast path) wait here until JavaScript flushes, so that the frames one stream read carried
 * leave in one sendmmsg per socket instead of one sendto each.
 */
#ifndef CLOUDPROXY_DATAPLANE_SENDQ_H
#define CLOUDPROXY_DATAPLANE_SENDQ_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dataplane.h"

#define DP_SENDQ_MAX 64                 /* datagrams held before a flush is forced */
#define DP_SENDQ_BYTES (256 * 1024)     /* payload bytes held (copies) before a flush is forced */

struct dp_sendq {
  int n;
  size_t used;
  uint32_t failed; /* datagrams dropped (full buffer, …) since JavaScript last read this */
  uint64_t calls;  /* sendmmsg calls, for the plane's counters */
  int fd[DP_SENDQ_MAX];
  dp_addr to[DP_SENDQ_MAX];
  struct iovec iov[DP_SENDQ_MAX];
  struct mmsghdr msg[DP_SENDQ_MAX];
  uint8_t bytes[DP_SENDQ_BYTES];
};

/* Copies `len` bytes for `to` out of `fd` into the queue, flushing first when it is full. */
void dp_sendq_push(struct dp_sendq *q, int fd, const dp_addr *to, const uint8_t *data, size_t len);
/*
 * Sends everything queued, one sendmmsg per run of datagrams that leave through the same socket
 * (order kept); the ones that cannot leave add to `failed`, which the caller reads and resets.
 */
void dp_sendq_send(struct dp_sendq *q);

#endif
