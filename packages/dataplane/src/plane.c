/*
 * N-API glue of the native data plane: opening and closing the plane (worker threads), the
 * listening and relay sockets, sends from JavaScript, programming the forwarding table, and
 * reading the counters. Every function here runs on the JavaScript thread. The calls are listed
 * in index.ts, which wraps them in a typed class; docs/data-plane.md explains the design.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "plane.h"

#define GEN_MASK 0xFFFFFu
#define LISTEN_BUFFER_BYTES (4 * 1024 * 1024)

#define CHECK(env, call)                                                  \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      napi_throw_error((env), "ERR_DATAPLANE_ARGUMENT", "invalid argument"); \
      return NULL;                                                        \
    }                                                                     \
  } while (0)

/* ---- argument helpers --------------------------------------------------------------------- */

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error;
  const char *name = err == EADDRINUSE      ? "EADDRINUSE"
                     : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : err == EAFNOSUPPORT  ? "EAFNOSUPPORT"
                     : err == EACCES        ? "EACCES"
                                            : "ERR_DATAPLANE_SYSTEM";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static int get_plane(napi_env env, napi_value v, struct dp_plane **out) {
  void *p;
  if (napi_get_value_external(env, v, &p) != napi_ok) return -1;
  *out = p;
  return (*out)->closed ? -1 : 0;
}

/* The open plane that is a call's only argument, or NULL (missing, not a plane, closed). */
static struct dp_plane *sole_plane(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct dp_plane *p;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  return get_plane(env, argv[0], &p) == 0 ? p : NULL;
}

static int get_double(napi_env env, napi_value v, double *out) {
  return napi_get_value_double(env, v, out) == napi_ok ? 0 : -1;
}

static int get_int(napi_env env, napi_value v, int64_t min, int64_t max, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d != d || d < (double)min || d > (double)max)
    return -1;
  *out = (int64_t)d;
  return 0;
}

/* An IP literal and a port into a socket address (no names, no zones). */
static int get_addr(napi_env env, napi_value ip, napi_value port, dp_addr *out) {
  char text[64];
  size_t len;
  int64_t p;
  if (napi_get_value_string_utf8(env, ip, text, sizeof text, &len) != napi_ok || len >= 63) return -1;
  if (get_int(env, port, 0, 65535, &p) < 0) return -1;
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, text, &out->v4.sin_addr) == 1) {
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons((uint16_t)p);
    return 0;
  }
  if (inet_pton(AF_INET6, text, &out->v6.sin6_addr) == 1) {
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons((uint16_t)p);
    return 0;
  }
  return -1;
}

/* Handles: generation (20 bits) · 2^32 + worker (8 bits) · 2^24 + slot (24 bits). */
static double make_handle(int worker, int32_t slot, uint32_t gen) {
  return (double)(gen & GEN_MASK) * 4294967296.0 + (double)(((uint32_t)worker << 24) | (uint32_t)slot);
}

static int split_handle(struct dp_plane *p, double h, struct dp_worker **w, int32_t *slot,
                        uint32_t *gen) {
  if (!(h >= 0 && h < 4503599627370496.0)) return -1;
  uint64_t v = (uint64_t)h;
  int worker = (int)((v >> 24) & 0xFF);
  if (worker >= p->nworkers) return -1;
  *w = &p->workers[worker];
  *slot = (int32_t)(v & 0xFFFFFF);
  *gen = (uint32_t)(v >> 32);
  return 0;
}

/* The plane argument `pv` and the slot that handle argument `hv` names in it: 0, or -1. */
static int get_slot(napi_env env, napi_value pv, napi_value hv, struct dp_plane **p,
                    struct dp_worker **w, int32_t *slot, uint32_t *gen) {
  double h;
  if (get_plane(env, pv, p) < 0 || get_double(env, hv, &h) < 0) return -1;
  return split_handle(*p, h, w, slot, gen);
}

/* ---- open and close ----------------------------------------------------------------------- */

/*
 * Length of the first records of `q` that fit in one call into JavaScript (DP_UP_CHUNK; a
 * larger single record goes alone). Records are laid out by push_up (worker.c).
 */
static size_t chunk_length(const uint8_t *q, size_t n) {
  size_t taken = 0;
  while (taken + DP_UP_RECORD <= n) {
    uint32_t length;
    memcpy(&length, q + taken + 4, 4);
    size_t need = (DP_UP_RECORD + (size_t)length + 3) & ~(size_t)3;
    if (taken > 0 && taken + need > DP_UP_CHUNK) break;
    taken += need;
  }
  return taken > n ? n : taken;
}

/*
 * Runs on the JavaScript thread for a worker whose queue has records: hands up to DP_UP_CHUNK
 * bytes of them to JavaScript (one Buffer), and schedules itself again while more remain, so
 * that timers and I/O get their turn between chunks.
 */
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  struct dp_plane *p = context;
  struct dp_worker *w = data;
  if (!env || !cb || p->closed) return;
  napi_value buffer, undefined;
  void *copy;
  pthread_mutex_lock(&w->upmu);
  size_t n = chunk_length(w->queue + w->qhead, w->qlen - w->qhead);
  napi_status st = napi_create_buffer_copy(env, n, w->queue + w->qhead, &copy, &buffer);
  w->qhead += n;
  if (w->qhead == w->qlen) w->qhead = w->qlen = 0;
  int more = w->qlen > 0;
  if (!more) w->qscheduled = 0;
  size_t left = w->qlen - w->qhead;
  pthread_mutex_unlock(&w->upmu);
  /* Streams the worker stopped reading while this queue was full: it may read them again. */
  uint64_t one = 1;
  if (left <= DP_UP_QUEUE / 2 && __atomic_load_n(&w->paused_any, __ATOMIC_ACQUIRE) &&
      write(w->wakefd, &one, sizeof one) < 0) { /* a full counter wakes it anyway */ }
  if (more && napi_call_threadsafe_function(p->tsfn, w, napi_tsfn_nonblocking) != napi_ok) {
    pthread_mutex_lock(&w->upmu);
    w->qscheduled = 0;
    pthread_mutex_unlock(&w->upmu);
  }
  if (st == napi_ok && n > 0 && napi_get_undefined(env, &undefined) == napi_ok)
    napi_call_function(env, undefined, cb, 1, &buffer, NULL);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct dp_plane *p = data;
  p->tsfn_gone = 1;
  if (p->external_gone) free(p);
}

static void plane_close(struct dp_plane *p) {
  if (p->closed) return;
  p->closed = 1;
  if (p->sendq) dp_sendq_send(p->sendq); /* before the relay sockets close */
  free(p->sendq);
  p->sendq = NULL;
  __atomic_store_n(&p->stopping, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < p->nworkers; i++) {
    uint64_t one = 1;
    if (p->workers[i].started && write(p->workers[i].wakefd, &one, sizeof one) < 0) perror("dataplane wake");
  }
  for (int i = 0; i < p->nworkers; i++) {
    struct dp_worker *w = &p->workers[i];
    if (w->started) pthread_join(w->thread, NULL);
    for (int l = 0; l < DP_MAX_LISTENERS; l++)
      if (w->lfd[l] >= 0) close(w->lfd[l]);
    dp_worker_free_tables(w);
    if (w->epfd >= 0) close(w->epfd);
    if (w->wakefd >= 0) close(w->wakefd);
    free(w->rbuf);
    free(w->up);
    free(w->queue);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->upmu);
  }
  for (int i = 0; i < DP_MAX_TLS_CONTEXTS; i++) {
    if (p->tls[i]) dp_tls_context_free(p->tls[i]);
    p->tls[i] = NULL;
  }
  free(p->workers);
  free(p->js_dirty);
  p->workers = NULL;
  p->js_dirty = NULL;
  p->njs_dirty = 0;
  p->nworkers = 0;
  napi_release_threadsafe_function(p->tsfn, napi_tsfn_release);
}

static void plane_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct dp_plane *p = data;
  plane_close(p);
  p->external_gone = 1;
  if (p->tsfn_gone) free(p);
}

static int worker_init(struct dp_plane *p, struct dp_worker *w, int index) {
  w->plane = p;
  w->index = index;
  w->free_relay = w->free_alloc = w->free_stream = w->free_linger = -1;
  w->wakefd = -1;
  for (int l = 0; l < DP_MAX_LISTENERS; l++) w->lfd[l] = -1;
  pthread_mutex_init(&w->mu, NULL);
  pthread_mutex_init(&w->upmu, NULL);
  w->epfd = epoll_create1(EPOLL_CLOEXEC);
  w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  /* 2 MiB of address space per worker; only the pages datagrams land on become resident. */
  w->rbuf = malloc((size_t)DP_BATCH * DP_SLOT_BYTES);
  w->up = malloc(DP_UP_CHUNK);
  w->rndpos = sizeof w->rnd;
  if (w->epfd < 0 || w->wakefd < 0 || !w->rbuf || !w->up) return -1;
  for (int i = 0; i < DP_BATCH; i++) {
    w->riov[i] = (struct iovec){w->rbuf + (size_t)i * DP_SLOT_BYTES, DP_SLOT_BYTES};
    w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
    w->rmsg[i].msg_hdr.msg_iovlen = 1;
  }
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = (uint64_t)DP_TAG_WAKE << 56;
  return epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev);
}

/* open(threads, minPort, maxPort, onPackets, lingerMs[, gso = true]) → plane */
static napi_value dp_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result, name;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t threads, min_port, max_port, linger_ms;
  bool gso = true;
  if (argc < 5 || get_int(env, argv[0], 0, DP_MAX_WORKERS, &threads) < 0 ||
      get_int(env, argv[1], 1, 65535, &min_port) < 0 ||
      get_int(env, argv[2], min_port, 65535, &max_port) < 0 ||
      get_int(env, argv[4], 0, 3600 * 1000, &linger_ms) < 0 ||
      (argc > 5 && napi_get_value_bool(env, argv[5], &gso) != napi_ok)) {
    napi_throw_range_error(env, "ERR_DATAPLANE_ARGUMENT",
                           "open(threads 0-64, minPort, maxPort, fn, lingerMs 0-3600000[, gso])");
    return NULL;
  }
  if (threads == 0) {
    /*
     * Default: one worker per CPU left after the JavaScript thread (and the kernel's softirq
     * work, which runs on the same cores), one on a machine with two CPUs or fewer. Measured on
     * 2 CPUs: two workers cost about 15% more CPU per relayed message than one (the wake-ups
     * split across threads carry fewer datagrams each) and do not relay more (bench/README.md).
     */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n = n <= 2 ? 1 : n - 1;
    threads = n > DP_MAX_WORKERS ? DP_MAX_WORKERS : n;
  }
  /* One socket per allocation: lift the soft descriptor limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  struct dp_plane *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "dataplane open", ENOMEM);
  p->min_port = (uint16_t)min_port;
  p->max_port = (uint16_t)max_port;
  p->linger_ms = linger_ms;
  if (getrandom(&p->seed, sizeof p->seed, 0) != sizeof p->seed) p->seed = (uint64_t)dp_now_ms();
  napi_create_string_utf8(env, "cloudproxy-dataplane", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, p, tsfn_finalize, p, call_js,
                                      &p->tsfn) != napi_ok) {
    free(p);
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "onPackets must be a function");
    return NULL;
  }
  p->workers = calloc((size_t)threads, sizeof *p->workers);
  p->nworkers = (int)threads;
  p->sendq = calloc(1, sizeof *p->sendq);
  int failed = !p->workers || !p->sendq;
  for (int i = 0; !failed && i < p->nworkers; i++) failed = worker_init(p, &p->workers[i], i) < 0;
  gso = gso && dp_gso_probe();
  for (int i = 0; !failed && i < p->nworkers; i++) p->workers[i].gso = gso;
  /* Workers block every signal: Node's handlers run on the main thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (int i = 0; !failed && i < p->nworkers; i++) {
    failed = pthread_create(&p->workers[i].thread, NULL, dp_worker_main, &p->workers[i]) != 0;
    if (!failed) p->workers[i].started = 1;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (failed) {
    int err = errno ? errno : ENOMEM;
    if (!p->workers) p->nworkers = 0;
    plane_close(p); /* releases the thread-safe function, whose finalizer frees p */
    p->external_gone = 1;
    if (p->tsfn_gone) free(p);
    return throw_errno(env, "dataplane open", err);
  }
  CHECK(env, napi_create_external(env, p, plane_finalize, NULL, &result));
  return result;
}

/* close(plane): stops and joins the threads, closes every socket. Idempotent. */
static napi_value dp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc == 1 && napi_get_value_external(env, argv[0], &p) == napi_ok) plane_close(p);
  return NULL;
}

/* ---- sockets ------------------------------------------------------------------------------ */

static int udp_socket(const dp_addr *a, int reuse_port, int *err) {
  int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  int size = LISTEN_BUFFER_BYTES;
  if (a->sa.sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (bind(fd, &a->sa, dp_addr_len(a)) < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

/*
 * listen(plane, ip, port) → [listenerIndex, port]. One socket per worker in one SO_REUSEPORT
 * group: the kernel sends all datagrams of a client 5-tuple to the same worker. The port is
 * first bound once without SO_REUSEPORT so that a port someone else holds fails with EADDRINUSE
 * instead of silently sharing its traffic.
 */
static napi_value dp_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result, v;
  struct dp_plane *p;
  dp_addr a;
  int err = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || get_plane(env, argv[0], &p) < 0 || get_addr(env, argv[1], argv[2], &a) < 0) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "listen(plane, ip literal, port)");
    return NULL;
  }
  if (p->nlisteners == DP_MAX_LISTENERS) return throw_errno(env, "listen", EMFILE);
  if (dp_port(&a) != 0) {
    int probe = udp_socket(&a, 0, &err);
    if (probe < 0) return throw_errno(env, "listen", err);
    close(probe);
  }
  int li = p->nlisteners, fds[DP_MAX_WORKERS];
  for (int i = 0; i < p->nworkers; i++) {
    fds[i] = udp_socket(&a, 1, &err);
    if (fds[i] < 0) {
      while (i-- > 0) close(fds[i]);
      return throw_errno(env, "listen", err);
    }
    if (i == 0 && dp_port(&a) == 0) {
      socklen_t len = sizeof a;
      getsockname(fds[0], &a.sa, &len);
    }
  }
  for (int i = 0; i < p->nworkers; i++) {
    struct dp_worker *w = &p->workers[i];
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = ((uint64_t)DP_TAG_LISTENER << 56) | (uint64_t)li;
    w->lfd[li] = fds[i];
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, fds[i], &ev);
  }
  p->nlisteners++;
  CHECK(env, napi_create_array_with_length(env, 2, &result));
  napi_create_int32(env, li, &v);
  napi_set_element(env, result, 0, v);
  napi_create_int32(env, dp_port(&a), &v);
  napi_set_element(env, result, 1, v);
  return result;
}

/* openRelay(plane, worker, ip, port, relayId) → handle, or -errno (EADDRINUSE: try another). */
static napi_value dp_open_relay(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  struct dp_plane *p;
  dp_addr a;
  int64_t worker;
  double id;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || get_plane(env, argv[0], &p) < 0 ||
      get_int(env, argv[1], 0, p->nworkers - 1, &worker) < 0 ||
      get_addr(env, argv[2], argv[3], &a) < 0 || get_double(env, argv[4], &id) < 0) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "openRelay(plane, worker, ip, port, id)");
    return NULL;
  }
  int err = 0;
  struct dp_worker *w = &p->workers[worker];
  int32_t slot = dp_relay_open(w, &a, id, &err);
  double h = slot < 0 ? -(double)err : make_handle((int)worker, slot, w->relays[slot].gen);
  CHECK(env, napi_create_double(env, h, &result));
  return result;
}

/*
 * The close calls: (plane, handle[, option]) → whether the slot was open, closed by `close`
 * with the boolean `option` (false when absent). Queued datagrams leave first when `flush` is
 * set: a queued descriptor must not be closed (or reused).
 */
static napi_value close_by_handle(napi_env env, napi_callback_info info,
                                  int (*close_slot)(struct dp_worker *, int32_t, uint32_t, int),
                                  int flush) {
  size_t argc = 3;
  napi_value argv[3], result;
  struct dp_plane *p;
  struct dp_worker *w;
  int32_t slot;
  uint32_t gen;
  bool option = false;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc > 2 && napi_get_value_bool(env, argv[2], &option) != napi_ok) argc = 0; /* refused */
  if (flush && argc >= 2 && get_plane(env, argv[0], &p) == 0) dp_sendq_send(p->sendq);
  int ok = argc >= 2 && get_slot(env, argv[0], argv[1], &p, &w, &slot, &gen) == 0 &&
           close_slot(w, slot, gen, option) == 0;
  CHECK(env, napi_get_boolean(env, ok, &result));
  return result;
}

static int release_relay(struct dp_worker *w, int32_t slot, uint32_t gen, int unused) {
  (void)unused;
  return dp_relay_release(w, slot, gen, 0) >= 0 ? 0 : -1;
}

/* closeRelay(plane, handle) → whether it was open. */
static napi_value dp_close_relay(napi_env env, napi_callback_info info) {
  return close_by_handle(env, info, release_relay, 1);
}

/*
 * moveRelay(plane, handle, worker) → the relay's new handle on `worker`, or -1. The socket stays
 * bound (same port); used when a reserved EVEN-PORT relay is claimed by a client that another
 * worker serves, since an allocation's relays must live on its client's worker.
 */
static napi_value dp_move_relay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  struct dp_plane *p;
  struct dp_worker *w;
  int32_t slot;
  uint32_t gen;
  int64_t worker;
  double h, moved = -1;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc == 3 && get_plane(env, argv[0], &p) == 0 && get_double(env, argv[1], &h) == 0 &&
      get_int(env, argv[2], 0, p->nworkers - 1, &worker) == 0 &&
      split_handle(p, h, &w, &slot, &gen) == 0 && dp_relay_at(w, slot, gen)) {
    double id = w->relays[slot].js_id;
    int family = w->relays[slot].family, err = 0;
    int fd = dp_relay_release(w, slot, gen, 1);
    struct dp_worker *to = &p->workers[worker];
    int32_t s = fd < 0 ? -1 : dp_relay_adopt(to, fd, family, id, &err);
    if (s >= 0) moved = make_handle((int)worker, s, to->relays[s].gen);
  }
  CHECK(env, napi_create_double(env, moved, &result));
  return result;
}

/* The descriptor datagrams leave through: listener `id` of `worker` (kind 0), relay `id` (1). */
static int source_fd(struct dp_plane *p, int64_t kind, double id, int64_t worker) {
  if (kind == 0) return id >= 0 && id < p->nlisteners ? p->workers[worker].lfd[(int)id] : -1;
  /* Only this thread changes relays, so reading one without the mutex is safe here. */
  struct dp_worker *w;
  int32_t slot;
  uint32_t gen;
  struct dp_relay *r = NULL;
  if (split_handle(p, id, &w, &slot, &gen) == 0) r = dp_relay_at(w, slot, gen);
  return r ? r->fd : -1;
}

/*
 * send(plane, kind, id, worker, ip, port, data) → 0 or -EBADF. kind 0: from listener `id` (the
 * worker's socket); kind 1: from relay handle `id`. The datagram is copied into the send queue
 * and leaves at the next flushSends (sendq.h); a full buffer then drops it.
 */
static napi_value dp_send(napi_env env, napi_callback_info info) {
  size_t argc = 7, len;
  napi_value argv[7], result;
  struct dp_plane *p;
  dp_addr to;
  int64_t kind, worker;
  double id;
  void *data;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7 || get_plane(env, argv[0], &p) < 0 || get_int(env, argv[1], 0, 1, &kind) < 0 ||
      get_double(env, argv[2], &id) < 0 || get_int(env, argv[3], 0, p->nworkers - 1, &worker) < 0 ||
      get_addr(env, argv[4], argv[5], &to) < 0 ||
      napi_get_typedarray_info(env, argv[6], NULL, &len, &data, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "send(plane, kind, id, worker, ip, port, bytes)");
    return NULL;
  }
  int fd = source_fd(p, kind, id, worker);
  if (fd >= 0) dp_sendq_push(p->sendq, fd, &to, data, len);
  CHECK(env, napi_create_int32(env, fd < 0 ? -EBADF : 0, &result));
  return result;
}

/* Writes the streams JavaScript queued bytes for since its last flush. */
static void flush_js_streams(struct dp_plane *p) {
  for (int32_t i = 0; i < p->njs_dirty; i++) {
    struct dp_worker *w = &p->workers[p->js_dirty[i] >> 24];
    int32_t slot = (int32_t)(p->js_dirty[i] & 0xFFFFFF);
    pthread_mutex_lock(&w->mu);
    if (slot < w->nstreams && w->streams[slot].used && w->streams[slot].js_dirty) {
      w->streams[slot].js_dirty = 0;
      dp_stream_write(w, slot, 0);
    }
    pthread_mutex_unlock(&w->mu);
  }
  p->njs_dirty = 0;
}

/*
 * tlsContext(plane, certPem, keyPem, ciphers) → context id, for adoptStream. Throws with
 * OpenSSL's reason when the certificate, chain or key cannot be used.
 */
static napi_value dp_tls_context_new(napi_env env, napi_callback_info info) {
  size_t argc = 4, clen, klen, slen;
  napi_value argv[4], result;
  struct dp_plane *p;
  void *cert, *key;
  char ciphers[1024], err[256];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || get_plane(env, argv[0], &p) < 0 ||
      napi_get_typedarray_info(env, argv[1], NULL, &clen, &cert, NULL, NULL) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], NULL, &klen, &key, NULL, NULL) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], ciphers, sizeof ciphers, &slen) != napi_ok ||
      slen >= sizeof ciphers - 1) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "tlsContext(plane, cert, key, ciphers)");
    return NULL;
  }
  int id = 0;
  while (id < DP_MAX_TLS_CONTEXTS && p->tls[id]) id++;
  if (id == DP_MAX_TLS_CONTEXTS) return throw_errno(env, "tlsContext", EMFILE);
  p->tls[id] = dp_tls_context(cert, clen, key, klen, ciphers, err, sizeof err);
  if (!p->tls[id]) {
    napi_throw_error(env, "ERR_DATAPLANE_TLS", err);
    return NULL;
  }
  CHECK(env, napi_create_int32(env, id, &result));
  return result;
}

/* freeTlsContext(plane, id): streams that use it keep it until they end. */
static napi_value dp_tls_context_release(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct dp_plane *p;
  int64_t id;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc == 2 && get_plane(env, argv[0], &p) == 0 &&
      get_int(env, argv[1], 0, DP_MAX_TLS_CONTEXTS - 1, &id) == 0 && p->tls[id]) {
    dp_tls_context_free(p->tls[id]);
    p->tls[id] = NULL;
  }
  return NULL;
}

/*
 * adoptStream(plane, worker, fd, clientId, bytes[, tlsContext]) → handle, or -errno. The
 * worker serves the TCP connection on a duplicate of `fd` (the caller closes its own descriptor
 * without shutting the connection down). `bytes` were already read: the start of an incomplete
 * frame, or with a TLS context the start of the client's handshake, which the worker does.
 */
static napi_value dp_adopt_stream(napi_env env, napi_callback_info info) {
  size_t argc = 6, len;
  napi_value argv[6], result;
  struct dp_plane *p;
  int64_t worker, fd, tls = -1;
  double id;
  void *data;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || get_plane(env, argv[0], &p) < 0 ||
      get_int(env, argv[1], 0, p->nworkers - 1, &worker) < 0 ||
      get_int(env, argv[2], 0, INT32_MAX, &fd) < 0 || get_double(env, argv[3], &id) < 0 ||
      napi_get_typedarray_info(env, argv[4], NULL, &len, &data, NULL, NULL) != napi_ok ||
      (argc > 5 && get_int(env, argv[5], -1, DP_MAX_TLS_CONTEXTS - 1, &tls) < 0) ||
      (tls >= 0 && !p->tls[tls])) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT",
                     "adoptStream(plane, worker, fd, id, bytes[, tlsContext])");
    return NULL;
  }
  int err = 0;
  struct dp_worker *w = &p->workers[worker];
  int32_t slot = dp_stream_adopt(w, (int)fd, id, data, len, tls >= 0 ? p->tls[tls] : NULL, &err);
  double h = slot < 0 ? -(double)err : make_handle((int)worker, slot, w->streams[slot].gen);
  CHECK(env, napi_create_double(env, h, &result));
  return result;
}

/*
 * streamSend(plane, handle, bytes, droppable) → 0, -1 (stale handle or ended stream), or -2
 * (dropped: droppable bytes for a client too far behind). The bytes are copied and written at
 * the next flushSends, with everything else queued for that client.
 */
static napi_value dp_stream_send(napi_env env, napi_callback_info info) {
  size_t argc = 4, len;
  napi_value argv[4], result;
  struct dp_plane *p;
  struct dp_worker *w;
  int32_t slot;
  uint32_t gen;
  double h;
  bool droppable;
  void *data;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || get_plane(env, argv[0], &p) < 0 || get_double(env, argv[1], &h) < 0 ||
      napi_get_typedarray_info(env, argv[2], NULL, &len, &data, NULL, NULL) != napi_ok ||
      napi_get_value_bool(env, argv[3], &droppable) != napi_ok) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "streamSend(plane, handle, bytes, droppable)");
    return NULL;
  }
  int rc = -1;
  if (split_handle(p, h, &w, &slot, &gen) == 0) {
    pthread_mutex_lock(&w->mu);
    struct dp_stream *s = dp_stream_at(w, slot, gen);
    if (s && s->fd >= 0) {
      rc = dp_stream_queue(s, NULL, 0, data, len, 0, droppable) == 0 ? 0 : -2;
      if (rc == 0 && !s->js_dirty) {
        if (p->njs_dirty == p->capjs_dirty &&
            dp_grow((void **)&p->js_dirty, &p->capjs_dirty, sizeof *p->js_dirty) < 0) {
          dp_stream_write(w, slot, 0); /* no room to remember it: write now */
        } else {
          s->js_dirty = 1;
          p->js_dirty[p->njs_dirty++] = ((uint32_t)w->index << 24) | (uint32_t)slot;
        }
      }
    }
    pthread_mutex_unlock(&w->mu);
  }
  CHECK(env, napi_create_int32(env, rc, &result));
  return result;
}

/*
 * pipeStream(plane, handle) → a descriptor, or -errno. A refused TLS stream (its first
 * plaintext not STUN) carries HTTP instead: the worker pipes its plaintext both ways through a
 * socketpair (pipe.c), whose other end is returned, JavaScript's to own and close.
 */
static napi_value dp_pipe_stream(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  struct dp_plane *p;
  struct dp_worker *w;
  int32_t slot;
  uint32_t gen;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int err = EINVAL, fd = -1;
  if (argc == 2 && get_slot(env, argv[0], argv[1], &p, &w, &slot, &gen) == 0)
    fd = dp_pipe_open(w, slot, gen, &err);
  CHECK(env, napi_create_int32(env, fd >= 0 ? fd : -err, &result));
  return result;
}

/*
 * closeStream(plane, handle, linger) → whether it was open. What is queued (a TLS stream's
 * close_notify last) gets one last write, or with `linger` a lingering close (linger.c).
 */
static napi_value dp_close_stream(napi_env env, napi_callback_info info) {
  return close_by_handle(env, info, dp_stream_close, 0);
}

/* flushSends(plane) → datagrams of the send queue dropped since the last call. */
static napi_value dp_flush_sends(napi_env env, napi_callback_info info) {
  napi_value result;
  struct dp_plane *p = sole_plane(env, info);
  uint32_t failed = 0;
  if (p) {
    dp_sendq_send(p->sendq);
    failed = p->sendq->failed;
    p->sendq->failed = 0;
    flush_js_streams(p);
  }
  CHECK(env, napi_create_uint32(env, failed, &result));
  return result;
}

/* ---- the forwarding table ----------------------------------------------------------------- */

static int array_length(napi_env env, napi_value v, uint32_t *n) {
  bool is_array;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return -1;
  return napi_get_array_length(env, v, n) == napi_ok ? 0 : -1;
}

static napi_value element(napi_env env, napi_value array, uint32_t i) {
  napi_value v = NULL;
  napi_get_element(env, array, i, &v);
  return v;
}

/* Permissions as a flat array [ip, ttlMs, relayPortsOnly, ...]. */
static int read_permissions(napi_env env, napi_value v, int64_t now, struct dp_alloc_spec *s) {
  uint32_t n;
  if (array_length(env, v, &n) < 0 || n % 3 != 0 || n / 3 > DP_MAX_PERMISSIONS) return -1;
  s->nperms = (uint16_t)(n / 3);
  s->perms = calloc(s->nperms ? s->nperms : 1, sizeof *s->perms);
  if (!s->perms) return -1;
  for (uint32_t i = 0; i < s->nperms; i++) {
    struct dp_permission *perm = &s->perms[i];
    napi_value zero;
    int64_t ttl, flag;
    napi_create_int32(env, 0, &zero);
    if (get_addr(env, element(env, v, i * 3), zero, &perm->ip) < 0 ||
        get_int(env, element(env, v, i * 3 + 1), 0, INT32_MAX, &ttl) < 0 ||
        get_int(env, element(env, v, i * 3 + 2), 0, 1, &flag) < 0)
      return -1;
    perm->expires_ms = now + ttl;
    perm->relay_ports_only = (uint8_t)flag;
  }
  return 0;
}

/* Channels as a flat array [number, ip, port, ttlMs, ...]. */
static int read_channels(napi_env env, napi_value v, int64_t now, struct dp_alloc_spec *s) {
  uint32_t n;
  if (array_length(env, v, &n) < 0 || n % 4 != 0 || n / 4 > DP_MAX_CHANNELS) return -1;
  s->nchans = (uint16_t)(n / 4);
  s->chans = calloc(s->nchans ? s->nchans : 1, sizeof *s->chans);
  if (!s->chans) return -1;
  for (uint32_t i = 0; i < s->nchans; i++) {
    struct dp_channel *c = &s->chans[i];
    int64_t number, ttl;
    if (get_int(env, element(env, v, i * 4), DP_CHANNEL_MIN, DP_CHANNEL_MAX, &number) < 0 ||
        get_addr(env, element(env, v, i * 4 + 1), element(env, v, i * 4 + 2), &c->peer) < 0 ||
        get_int(env, element(env, v, i * 4 + 3), 0, INT32_MAX, &ttl) < 0)
      return -1;
    c->number = (uint16_t)number;
    c->expires_ms = now + ttl;
  }
  return 0;
}

/*
 * program(plane, handle | -1, worker, listener, clientIp, clientPort, relayHandles, ttlMs,
 * permissions, channels[, stream]) → handle, or -1. Creates or replaces an allocation's whole
 * entry: the client (a UDP 5-tuple, or the stream handle of a TCP client, whose listener and
 * address are then ignored), its relays (all in `worker`), its expiry, permissions and channels.
 */
static napi_value dp_program(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11], result;
  struct dp_plane *p;
  struct dp_alloc_spec s;
  int64_t worker, listener, ttl;
  double h;
  uint32_t nrelays;
  memset(&s, 0, sizeof s);
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t now = dp_now_ms();
  double sh = -1;
  int bad = argc < 10 || get_plane(env, argv[0], &p) < 0 || get_double(env, argv[1], &h) < 0 ||
            get_int(env, argv[2], 0, p->nworkers - 1, &worker) < 0 ||
            (argc > 10 && get_double(env, argv[10], &sh) < 0);
  s.stream = -1;
  if (!bad && sh >= 0) {
    /* A stream client: keyed in the table by its connection (listener 255, an address made of
     * the slot and generation, which no UDP client can match). */
    struct dp_worker *sw;
    uint32_t sgen;
    bad = split_handle(p, sh, &sw, &s.stream, &sgen) < 0 || sw != &p->workers[worker] ||
          !dp_stream_at(sw, s.stream, sgen);
    listener = DP_STREAM_LISTENER;
    memset(&s.client, 0, sizeof s.client);
    s.client.v4.sin_family = AF_INET;
    s.client.v4.sin_addr.s_addr = (uint32_t)s.stream;
    s.client.v4.sin_port = (uint16_t)sgen;
  } else if (!bad) {
    bad = get_int(env, argv[3], 0, p->nlisteners - 1, &listener) < 0 ||
          get_addr(env, argv[4], argv[5], &s.client) < 0;
  }
  bad = bad || array_length(env, argv[6], &nrelays) < 0 || nrelays > 2 ||
            get_int(env, argv[7], 0, INT32_MAX, &ttl) < 0;
  s.relay[0] = s.relay[1] = -1;
  for (uint32_t i = 0; !bad && i < nrelays; i++) {
    struct dp_worker *rw;
    int32_t slot;
    uint32_t gen;
    double rh;
    bad = get_double(env, element(env, argv[6], i), &rh) < 0 ||
          split_handle(p, rh, &rw, &slot, &gen) < 0 || rw != &p->workers[worker] ||
          slot >= rw->nrelays || !rw->relays[slot].used || (rw->relays[slot].gen & GEN_MASK) != gen;
    if (!bad) s.relay[rw->relays[slot].family == 6] = slot;
  }
  if (!bad) bad = read_permissions(env, argv[8], now, &s) < 0 || read_channels(env, argv[9], now, &s) < 0;
  double handle = -1;
  if (!bad) {
    s.listener = (int)listener;
    s.expires_ms = now + ttl;
    struct dp_worker *w = &p->workers[worker];
    int32_t slot = -1;
    uint32_t gen = 0;
    if (h >= 0) {
      struct dp_worker *hw;
      if (split_handle(p, h, &hw, &slot, &gen) < 0 || hw != w) slot = INT32_MAX; /* fails below */
    }
    slot = dp_alloc_program(w, slot, gen, &s);
    if (slot >= 0) handle = make_handle((int)worker, slot, w->allocs[slot].gen);
  }
  free(s.perms);
  free(s.chans);
  CHECK(env, napi_create_double(env, handle, &result));
  return result;
}

static napi_value counts_array(napi_env env, const uint64_t counts[4]) {
  napi_value buffer, array;
  double *d;
  if (napi_create_arraybuffer(env, 4 * sizeof(double), (void **)&d, &buffer) != napi_ok) return NULL;
  for (int i = 0; i < 4; i++) d[i] = (double)counts[i];
  napi_create_typedarray(env, napi_float64_array, 4, buffer, 0, &array);
  return array;
}

/*
 * unprogram(plane, handle[, out]) → final [fromClientBytes, fromClientPackets, toClientBytes,
 * toClientPackets] or null; take(plane, handle[, out]) → the same since the last take, reset.
 * With `out` (a Float64Array of at least 4), the counts are written there and the result is
 * whether the handle was live: no array is created per call.
 */
static napi_value alloc_counts(napi_env env, napi_callback_info info, int remove) {
  size_t argc = 3, outlen = 0;
  napi_value argv[3], result;
  struct dp_plane *p;
  struct dp_worker *w;
  int32_t slot;
  uint32_t gen;
  double *out = NULL;
  uint64_t counts[4];
  napi_typedarray_type type;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc == 3 && (napi_get_typedarray_info(env, argv[2], &type, &outlen, (void **)&out, NULL,
                                             NULL) != napi_ok ||
                    type != napi_float64_array || outlen < 4)) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "take(plane, handle, out: Float64Array(4))");
    return NULL;
  }
  int ok = argc >= 2 && get_slot(env, argv[0], argv[1], &p, &w, &slot, &gen) == 0 &&
           (remove ? dp_alloc_remove(w, slot, gen, counts) : dp_alloc_take(w, slot, gen, counts)) == 0;
  if (argc == 3) {
    for (int i = 0; ok && i < 4; i++) out[i] = (double)counts[i];
    CHECK(env, napi_get_boolean(env, ok, &result));
    return result;
  }
  if (ok) return counts_array(env, counts);
  napi_get_null(env, &result);
  return result;
}

static napi_value dp_unprogram(napi_env env, napi_callback_info info) {
  return alloc_counts(env, info, 1);
}

static napi_value dp_take(napi_env env, napi_callback_info info) {
  return alloc_counts(env, info, 0);
}

/*
 * takeAll(plane) → Float64Array [handle, fromClientBytes, fromClientPackets, toClientBytes,
 * toClientPackets, ...] of every allocation that relayed something since the last take.
 */
static napi_value dp_take_all(napi_env env, napi_callback_info info) {
  size_t n = 0, cap = 0;
  napi_value buffer, array;
  struct dp_plane *p = sole_plane(env, info);
  double *out = NULL, *d;
  if (!p) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "takeAll(plane)");
    return NULL;
  }
  for (int i = 0; i < p->nworkers; i++) {
    struct dp_worker *w = &p->workers[i];
    pthread_mutex_lock(&w->mu);
    for (int32_t s = 0; s < w->nallocs; s++) {
      struct dp_alloc *a = &w->allocs[s];
      if (!a->used || (a->from_client_packets == 0 && a->to_client_packets == 0)) continue;
      if (n + 5 > cap) {
        cap = cap ? cap * 2 : 320;
        double *grown = realloc(out, cap * sizeof *out);
        if (!grown) break;
        out = grown;
      }
      double *e = out + n;
      e[0] = make_handle(i, s, a->gen);
      e[1] = (double)a->from_client_bytes;
      e[2] = (double)a->from_client_packets;
      e[3] = (double)a->to_client_bytes;
      e[4] = (double)a->to_client_packets;
      a->from_client_bytes = a->from_client_packets = a->to_client_bytes = a->to_client_packets = 0;
      n += 5;
    }
    pthread_mutex_unlock(&w->mu);
  }
  napi_status st = napi_create_arraybuffer(env, n * sizeof(double), (void **)&d, &buffer);
  if (st == napi_ok && n) memcpy(d, out, n * sizeof(double));
  free(out);
  CHECK(env, st);
  CHECK(env, napi_create_typedarray(env, napi_float64_array, n, buffer, 0, &array));
  return array;
}

/* stats(plane) → Float64Array of the counters in enum dp_stat order, summed over workers. */
static napi_value dp_stats(napi_env env, napi_callback_info info) {
  napi_value buffer, array;
  struct dp_plane *p = sole_plane(env, info);
  double *d;
  if (!p) {
    napi_throw_error(env, "ERR_DATAPLANE_ARGUMENT", "stats(plane)");
    return NULL;
  }
  CHECK(env, napi_create_arraybuffer(env, DP_STAT_COUNT * sizeof(double), (void **)&d, &buffer));
  for (int k = 0; k < DP_STAT_COUNT; k++) d[k] = 0;
  for (int i = 0; i < p->nworkers; i++) {
    /* Each counter has one writer; a racy 64-bit read is at most one batch behind. */
    for (int k = 0; k < DP_STAT_COUNT; k++)
      d[k] += (double)__atomic_load_n(&p->workers[i].stats[k], __ATOMIC_RELAXED);
  }
  d[DP_STAT_SEND_CALLS] += (double)p->sendq->calls; /* this thread's own counter */
  CHECK(env, napi_create_typedarray(env, napi_float64_array, DP_STAT_COUNT, buffer, 0, &array));
  return array;
}

/* threads(plane) → number of worker threads. */
static napi_value dp_threads(napi_env env, napi_callback_info info) {
  napi_value result;
  struct dp_plane *p = sole_plane(env, info);
  CHECK(env, napi_create_int32(env, p ? p->nworkers : 0, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, dp_open, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, dp_close, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, dp_threads, NULL, NULL, NULL, napi_default, NULL},
      {"listen", NULL, dp_listen, NULL, NULL, NULL, napi_default, NULL},
      {"openRelay", NULL, dp_open_relay, NULL, NULL, NULL, napi_default, NULL},
      {"closeRelay", NULL, dp_close_relay, NULL, NULL, NULL, napi_default, NULL},
      {"moveRelay", NULL, dp_move_relay, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, dp_send, NULL, NULL, NULL, napi_default, NULL},
      {"flushSends", NULL, dp_flush_sends, NULL, NULL, NULL, napi_default, NULL},
      {"adoptStream", NULL, dp_adopt_stream, NULL, NULL, NULL, napi_default, NULL},
      {"tlsContext", NULL, dp_tls_context_new, NULL, NULL, NULL, napi_default, NULL},
      {"freeTlsContext", NULL, dp_tls_context_release, NULL, NULL, NULL, napi_default, NULL},
      {"streamSend", NULL, dp_stream_send, NULL, NULL, NULL, napi_default, NULL},
      {"closeStream", NULL, dp_close_stream, NULL, NULL, NULL, napi_default, NULL},
      {"pipeStream", NULL, dp_pipe_stream, NULL, NULL, NULL, napi_default, NULL},
      {"program", NULL, dp_program, NULL, NULL, NULL, napi_default, NULL},
      {"unprogram", NULL, dp_unprogram, NULL, NULL, NULL, napi_default, NULL},
      {"take", NULL, dp_take, NULL, NULL, NULL, napi_default, NULL},
      {"takeAll", NULL, dp_take_all, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, dp_stats, NULL, NULL, NULL, napi_default, NULL},
      {"hmac", NULL, dp_hmac, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
