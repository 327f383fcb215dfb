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

enum { DP_TAG_WAKE = 0, DP_TAG_LISTENER = 1, DP_TAG_RELAY = 2, DP_TAG_STREAM = 3, DP_TAG_PIPE = 4,
       DP_TAG_LINGER = 5 };
/* Kinds of the records passed up (worker.c, push_up). */
enum {
  DP_UP_LISTENER = 0,
  DP_UP_RELAY = 1,
  DP_UP_STREAM = 2,
  DP_UP_STREAM_END = 3,
  /* A TLS client's first bytes are not STUN: they go up, reading stops (until pipeStream). */
  DP_UP_STREAM_REFUSED = 4,
};
/*
 * Why a stream ended (the byte of a DP_UP_STREAM_END record). A TLS client that goes before its
 * handshake is done ends as DP_END_TLS (Node's TLS server reports it as a client error); one
 * that goes after it before its first bytes could be told (STUN or HTTP) as DP_END_SILENT.
 */
enum { DP_END_CLOSED = 0, DP_END_MALFORMED = 1, DP_END_TLS = 2, DP_END_SILENT = 3 };
#define DP_MAX_TLS_CONTEXTS 64

struct dp_plane {
  napi_threadsafe_function tsfn;
  uint64_t seed;
  uint16_t min_port, max_port;
  int nworkers, nlisteners, stopping, closed;
  int64_t linger_ms; /* a closing connection's time without progress (linger.c); 0: none */
  /* Both the JavaScript object and the thread-safe function hold the plane: the last frees it. */
  int external_gone, tsfn_gone;
  struct dp_worker *workers;
  struct dp_sendq *sendq; /* JavaScript's queued relay sends (sendq.h) */
  struct ssl_ctx_st *tls[DP_MAX_TLS_CONTEXTS]; /* TLS contexts JavaScript made (tls.c) */
  /* Streams JavaScript queued bytes for, written at its next flushSends: worker · 2^24 + slot. */
  uint32_t *js_dirty;
  int32_t njs_dirty, capjs_dirty;
};

#define STAT(w, k, n) ((w)->stats[(k)] += (n))

int64_t dp_now_ms(void);
/* Doubles a slot array (64 slots first); 0, or -1 out of memory. */
int dp_grow(void **array, int32_t *cap, size_t size);
int dp_same_ip(const dp_addr *a, const dp_addr *b);
int dp_same_addr(const dp_addr *a, const dp_addr *b);
uint16_t dp_port(const dp_addr *a);
socklen_t dp_addr_len(const dp_addr *a);
uint32_t dp_hash(const struct dp_plane *plane, int listener, const dp_addr *a);
struct dp_alloc *dp_find_alloc(struct dp_worker *w, int listener, const dp_addr *client);
void dp_flush_up(struct dp_worker *w);
void dp_push_up(struct dp_worker *w, int kind, double id, const dp_addr *from, const uint8_t *p,
                size_t n);
void dp_flush_out(struct dp_worker *w);
/* gso.c: whether the kernel takes UDP_SEGMENT; sends of datagrams [i, end) of the batch via fd. */
int dp_gso_probe(void);
void dp_send_gso(struct dp_worker *w, int fd, int i, int end);
void dp_send_plain(struct dp_worker *w, int fd, int i, int end);
/* Relays a client's ChannelData or Send indication for allocation `a`; 0: it must go up. */
int dp_relay_from_client(struct dp_worker *w, struct dp_alloc *a, enum dp_client_kind kind,
                         const struct dp_client_msg *m, int64_t now);
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
  int32_t stream; /* a stream client's connection slot, or -1 */
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

/* stream.c: TCP clients. The dp_stream_* calls without "locked" take the worker's mutex. */
int32_t dp_stream_adopt(struct dp_worker *w, int fd, double js_id, const uint8_t *part, size_t n,
                        struct ssl_ctx_st *tls, int *err);
struct dp_stream *dp_stream_at(struct dp_worker *w, int32_t slot, uint32_t gen);
/* Queues bytes for a stream (droppable: relayed data, dropped past DP_STREAM_TX_MAX); 0 or -1. */
int dp_stream_queue(struct dp_stream *s, const uint8_t *header, size_t hl, const uint8_t *p,
                    size_t n, size_t pad, int droppable);
/* Writes what a stream has queued (worker: ends it on error; JavaScript: leaves that to it). */
void dp_stream_write(struct dp_worker *w, int32_t slot, int on_worker);
void dp_stream_mark_dirty(struct dp_worker *w, int32_t slot);
void dp_stream_flush_dirty(struct dp_worker *w);
void dp_stream_readable(struct dp_worker *w, int32_t slot, int64_t now);
/* Reads paused streams again once the queue to JavaScript is below half full (the worker). */
void dp_stream_resume(struct dp_worker *w);
/* Splits the bytes JavaScript read before it handed streams over (the worker, when woken). */
void dp_stream_split_pending(struct dp_worker *w, int64_t now);
/* Closes a stream for JavaScript: its last words in one write, or in a lingering close. */
int dp_stream_close(struct dp_worker *w, int32_t slot, uint32_t gen, int linger);
/* The epoll tag of a stream's events (kind DP_TAG_STREAM or DP_TAG_PIPE, generation, slot). */
uint64_t dp_stream_tag(const struct dp_stream *s, int kind, int32_t slot);
/* Registers a stream's connection for what its state wants: reading, writing, or nothing. */
int dp_stream_watch(struct dp_worker *w, int32_t slot);
/* Ends a stream on the worker: closes it (and its pipe), frees its buffers, tells JavaScript. */
void dp_stream_end(struct dp_worker *w, int32_t slot, uint8_t why);
/* The same, but the connection's last words are sent in a lingering close (linger.c). */
void dp_stream_finish(struct dp_worker *w, int32_t slot);
/* Decrypts what a TLS stream's SSL object holds and deals with the plaintext; -1: it stopped. */
int dp_stream_drain_tls(struct dp_worker *w, int32_t slot, int64_t now);

/* pipe.c: HTTP over a TLS stream, piped to JavaScript. */
/* Opens the pipe of a refused stream (JavaScript thread): JavaScript's end, or -1 with *err. */
int dp_pipe_open(struct dp_worker *w, int32_t slot, uint32_t gen, int *err);
/* Writes plaintext (JavaScript's bytes kept in `part` first) into the pipe; -1: it ended. */
int dp_pipe_take(struct dp_worker *w, int32_t slot, const uint8_t *p, size_t n);
/* The pipe is readable or writable (the worker). */
void dp_pipe_event(struct dp_worker *w, int32_t slot, uint32_t events, int64_t now);
/* The client ended its side (end of stream or close_notify). */
void dp_pipe_client_eof(struct dp_worker *w, int32_t slot);
/* After a write to the client: reads the pipe again once the queue has room, or ends. */
void dp_pipe_after_write(struct dp_worker *w, int32_t slot);
/* Closes the worker's end of the pipe (stream end and close). */
void dp_pipe_close(struct dp_worker *w, struct dp_stream *s);

/* linger.c: the lingering close of streams the plane ends on purpose. */
/*
 * Takes over connection `fd` (no longer registered anywhere) with the `n` bytes at `out` still
 * to send (malloc'd, taken over too; NULL when none): sends them, shuts the write side and reads
 * until the client's end, bounded in time and number.
 */
void dp_linger(struct dp_worker *w, int fd, uint8_t *out, size_t n, int64_t now);
/* A lingering connection is ready (the worker). */
void dp_linger_event(struct dp_worker *w, int32_t slot, uint32_t gen, uint32_t events, int64_t now);
/* epoll_wait's timeout: -1 while nothing lingers, else the ms to the next check of deadlines. */
int dp_linger_timeout(struct dp_worker *w, int64_t now);
/* Closes the connections past their deadlines (at most every 250 ms). */
void dp_linger_sweep(struct dp_worker *w, int64_t now);
void dp_linger_free_all(struct dp_worker *w);

/* digest.c: hmac(sha256, key, data, out): HMAC-SHA1/SHA256 for STUN integrity and nonces. */
napi_value dp_hmac(napi_env env, napi_callback_info info);

/* tls.c */
enum { DP_TLS_MORE = 0, DP_TLS_CLOSED = 1, DP_TLS_FAILED = 2 };
/* A server context from PEM certificate (chain) and key, with the listeners' TLS policy. */
struct ssl_ctx_st *dp_tls_context(const uint8_t *cert, size_t cert_len, const uint8_t *key,
                                  size_t key_len, const char *ciphers, char *err, size_t err_len);
void dp_tls_context_free(struct ssl_ctx_st *ctx);
/* Gives a stream its SSL object (server side) with `n` bytes of ciphertext already read. */
int dp_tls_attach(struct dp_stream *s, struct ssl_ctx_st *ctx, const uint8_t *bytes, size_t n);
void dp_tls_free(struct dp_stream *s);
/* Ciphertext waiting to be sent. */
size_t dp_tls_pending(const struct dp_stream *s);
int dp_tls_feed(struct dp_stream *s, const uint8_t *bytes, size_t n);
/* Handshakes and decrypts into out[0..room): DP_TLS_MORE (with *got bytes), CLOSED or FAILED. */
int dp_tls_decrypt(struct dp_stream *s, uint8_t *out, size_t room, size_t *got);
/* Encrypts the queued plaintext (s->tx) into the write BIO: 0, or -1. */
int dp_tls_encrypt(struct dp_stream *s);
/* Sends pending ciphertext until the socket is full: 0, or -1 (broken connection). */
int dp_tls_send(struct dp_stream *s, uint8_t *scratch, size_t room);
/* Moves the ciphertext still pending into a new buffer (*out, NULL when none): 0, or -1. */
int dp_tls_take(struct dp_stream *s, uint8_t **out, size_t *n);
void dp_tls_shutdown(struct dp_stream *s);
/* Whether the handshake is done; one more handshake step with what the read BIO holds. */
int dp_tls_ready(const struct dp_stream *s);
void dp_tls_handshake(struct dp_stream *s);
void dp_stream_free_all(struct dp_worker *w);

#endif
