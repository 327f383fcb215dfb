/*
 * The forwarding table of one worker thread: relay sockets, allocations (client 5-tuple ↔ relay
 * sockets) with their permissions, channels and byte counters, and the thread's batch buffers.
 * Everything here is touched by the worker with its mutex held, or by JavaScript (the main
 * thread) with the same mutex held; nothing is shared between workers.
 */
#ifndef CLOUDPROXY_DATAPLANE_TABLE_H
#define CLOUDPROXY_DATAPLANE_TABLE_H

#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "dataplane.h"

#define DP_BATCH 32               /* datagrams per recvmmsg/sendmmsg */
#define DP_SLOT_BYTES 65536       /* one receive slot holds the largest UDP datagram */
#define DP_MAX_LISTENERS 16
#define DP_MAX_PERMISSIONS 64     /* per allocation; more peers stay on the JavaScript path */
#define DP_MAX_CHANNELS 64
#define DP_UP_CHUNK (256 * 1024)  /* bytes of passed-up datagrams per call into JavaScript */
#define DP_UP_QUEUE (4 * 1024 * 1024) /* bytes queued for JavaScript per worker; more are dropped */
#define DP_STREAM_LISTENER 255    /* the listener field of a stream client's allocation */
#define DP_STREAM_READ (256 * 1024) /* per-worker scratch a stream read lands in */
/* Relayed bytes queued for a slow stream client beyond which relayed data is dropped. */
#define DP_STREAM_TX_MAX (1024 * 1024)
#define DP_TLS_READ (64 * 1024)   /* per-worker scratch a TLS stream's ciphertext lands in */

/* Counters of the data plane, summed over workers when read. */
enum dp_stat {
  DP_STAT_RX_PACKETS,
  DP_STAT_TO_PEER_PACKETS,
  DP_STAT_TO_PEER_BYTES,
  DP_STAT_TO_CLIENT_PACKETS,
  DP_STAT_TO_CLIENT_BYTES,
  DP_STAT_UP_PACKETS,
  DP_STAT_UP_DROPPED,
  DP_STAT_SEND_ERRORS,
  DP_STAT_TRUNCATED,
  DP_STAT_RECV_CALLS,
  DP_STAT_SEND_CALLS,
  DP_STAT_STREAM_DROPPED, /* relayed data not queued for a stream client that is too far behind */
  DP_STAT_STREAMS,        /* TCP connections adopted (written by the JavaScript thread) */
  DP_STAT_LINGERING,      /* connections closing (linger.c): a gauge, written atomically */
  DP_STAT_GSO_DATAGRAMS,  /* datagrams that left in a segmented send (gso.c) */
  DP_STAT_COUNT
};

struct dp_permission {
  dp_addr ip; /* port ignored */
  int64_t expires_ms;
  uint8_t relay_ports_only;
};

struct dp_channel {
  dp_addr peer;
  int64_t expires_ms;
  uint16_t number;
};

struct dp_alloc {
  dp_addr client;
  int64_t expires_ms;
  uint64_t from_client_bytes, from_client_packets, to_client_bytes, to_client_packets;
  struct dp_permission *perms;
  struct dp_channel *chans;
  int32_t next;      /* hash chain, or free list */
  int32_t relay[2];  /* relay slot per family (0 = IPv4, 1 = IPv6), -1 = none */
  int32_t stream;    /* a stream client's connection slot (listener DP_STREAM_LISTENER), or -1 */
  uint32_t gen;
  uint16_t nperms, nchans;
  uint8_t listener, used;
};

struct dp_relay {
  double js_id; /* the id JavaScript knows this relay by, handed back with passed-up datagrams */
  int fd;
  int32_t alloc; /* allocation slot, -1 = none (datagrams go up) */
  int32_t next_free;
  uint32_t gen;
  uint8_t family, used;
};

/*
 * A TCP client connection (stream.c). Its allocation is found through `alloc`; the bytes of an
 * incomplete frame wait in `part` for the next read, the bytes to write in `tx`. Both buffers
 * exist only while they hold something, so an idle connection costs this struct alone.
 */
struct ssl_st;

struct dp_stream {
  double js_id; /* the id JavaScript knows this client by, handed back with its frames */
  struct ssl_st *ssl; /* TLS clients (tls.c): their SSL object; NULL for plain TCP */
  int fd;       /* -1 once the worker ended it (end of stream, error, bad framing) */
  int32_t alloc;
  int32_t next_free;
  uint32_t gen;
  uint8_t used, dirty, js_dirty, want_out, paused, watched;
  uint8_t checked; /* TLS: the first decrypted bytes were seen to start a STUN message */
  uint8_t refused; /* TLS: they were not: kept in `part`, passed up, reading stopped (pipe.c) */
  /* HTTP over TLS (pipe.c): the plaintext goes to JavaScript through a socketpair. */
  uint8_t piped;
  uint8_t held;       /* the client is not read while the pipe is full (bytes wait in `part`) */
  uint8_t unheard;    /* JavaScript closed its end of the pipe: the client's bytes are dropped */
  uint8_t client_eof; /* the client ended its side: no more reads, the pipe's write side shut */
  uint8_t js_eof;     /* JavaScript ended its side: the stream ends once the queue is sent */
  uint8_t pipe_events; /* what the pipe is registered for (0: not registered) */
  int pipe;            /* the worker's end of the socketpair, or -1 */
  uint8_t *part, *tx;
  uint32_t plen, pcap;
  size_t tlen, tcap;
};

struct dp_plane;

/* A connection in its lingering close (linger.c): its last bytes, then reading to its end. */
struct dp_linger {
  int fd; /* -1: a free slot */
  uint32_t gen;
  int32_t next_free;
  uint8_t shut;     /* everything sent, the write side shut */
  uint8_t peer_eof; /* the client ended its side */
  uint32_t events;  /* what the connection is registered for (0: not registered) */
  uint8_t *out;     /* the bytes to send, from `off` to `len` */
  size_t off, len;
  int64_t idle_until, hard_until;
};

/* One queued datagram to send: header bytes (ChannelData or Data indication), payload, pad. */
struct dp_out {
  uint8_t header[DP_DATA_INDICATION_HEADER_MAX];
};

struct dp_worker {
  struct dp_plane *plane;
  pthread_t thread;
  pthread_mutex_t mu;
  int index, epfd, wakefd, started;
  int lfd[DP_MAX_LISTENERS];
  struct dp_relay *relays;
  int32_t nrelays, caprelays, free_relay;
  struct dp_alloc *allocs;
  int32_t nallocs, capallocs, free_alloc;
  int32_t *buckets;
  uint32_t nbuckets, count;
  struct dp_stream *streams;
  int32_t nstreams, capstreams, free_stream;
  uint8_t *sbuf;          /* DP_STREAM_READ bytes, made with the first stream */
  uint8_t *cbuf;          /* DP_TLS_READ bytes of ciphertext, made with the first TLS stream */
  int32_t *dirty;         /* streams with bytes to write at the end of this wake-up */
  int32_t ndirty, capdirty;
  int32_t *pending;       /* adopted streams whose first bytes are still to split */
  int32_t npending, cappending;
  int32_t *paused;        /* streams not read while the queue to JavaScript is full */
  int32_t npaused, cappaused;
  int paused_any;         /* atomic: the JavaScript thread wakes the worker when it caught up */
  struct dp_linger *lingers; /* connections in their lingering close (linger.c) */
  int32_t nlingers, caplingers, free_linger, nlive_lingers;
  size_t linger_bytes;       /* unsent bytes they hold */
  int64_t linger_sweep_at;   /* when their deadlines are checked next */
  /* receive batch */
  uint8_t *rbuf;
  struct mmsghdr rmsg[DP_BATCH];
  struct iovec riov[DP_BATCH];
  dp_addr raddr[DP_BATCH];
  int rused; /* receive slots holding datagrams of this wake-up (queued sends point into them) */
  /* send batch */
  int nout;
  struct dp_out out[DP_BATCH];
  int outfd[DP_BATCH]; /* socket each queued datagram leaves from, in smsg order */
  struct mmsghdr smsg[DP_BATCH];
  struct iovec siov[DP_BATCH][3];
  dp_addr saddr[DP_BATCH];
  /* the send batch as runs for segmented sends (gso.c): message, first datagram, count */
  int gso; /* UDP_SEGMENT is used (the kernel has it, the plane asks for it; off after EIO) */
  struct mmsghdr gmsg[DP_BATCH];
  struct iovec giov[DP_BATCH * 3];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } gctl[DP_BATCH];
  uint8_t gfirst[DP_BATCH], gcount[DP_BATCH];
  /* datagrams for JavaScript: this wake-up's records (worker only) */
  uint8_t *up;
  size_t uplen, upcount;
  int upforced; /* the records hold a TCP client's: queued even beyond DP_UP_QUEUE */
  /*
   * The queue JavaScript reads (upmu): records from [qhead, qlen). At most one call into
   * JavaScript is scheduled per worker (qscheduled); while JavaScript is behind, the records of
   * later wake-ups join the queue instead of adding calls, so each call carries more.
   */
  pthread_mutex_t upmu;
  uint8_t *queue;
  size_t qhead, qlen, qcap;
  int qscheduled;
  /* random transaction ids of Data indications, refilled from getrandom */
  uint8_t rnd[4092];
  size_t rndpos;
  uint64_t stats[DP_STAT_COUNT];
};

#endif
