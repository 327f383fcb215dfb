/*
 * TLS for the TCP clients of the native data plane (TURN over TLS, RFC 8656 §3.1; ALPN
 * "stun.turn", RFC 7443). OpenSSL is Node's own: the addon is built against Node's headers and
 * resolves the symbols Node exports, so there is one OpenSSL in the process. Each connection
 * has its SSL object on two memory BIOs: the worker reads ciphertext from the socket into the
 * read BIO and sends what OpenSSL writes into the write BIO, so OpenSSL never touches the socket
 * and bytes read before the handover (after a PROXY protocol header) go in first. Everything
 * here runs with the worker's mutex held, on the worker or on the JavaScript thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plane.h"

/* ALPN: "stun.turn" when the client offers it; otherwise the handshake goes on without ALPN. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  static const unsigned char ours[] = "\x09stun.turn";
  unsigned char *chosen;
  if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

static void last_error(char *err, size_t len, const char *what) {
  unsigned long e = ERR_get_error();
  char reason[200] = "unknown error";
  if (e) ERR_error_string_n(e, reason, sizeof reason);
  snprintf(err, len, "%s: %s", what, reason);
  ERR_clear_error();
}

SSL_CTX *dp_tls_context(const uint8_t *cert, size_t cert_len, const uint8_t *key, size_t key_len,
                        const char *ciphers, char *err, size_t err_len) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  BIO *cb = BIO_new_mem_buf(cert, (int)cert_len), *kb = BIO_new_mem_buf(key, (int)key_len);
  X509 *leaf = NULL;
  EVP_PKEY *pkey = NULL;
  if (!ctx || !cb || !kb) {
    last_error(err, err_len, "tls context");
    goto fail;
  }
  /* The listeners' policy (tls-policy.ts): TLS 1.2 and 1.3, ECDHE with AEAD for 1.2. */
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION);
  /* Idle connections give their record buffers back: an idle allocation costs no 34 KiB. */
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
    last_error(err, err_len, "tls ciphers");
    goto fail;
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
  leaf = PEM_read_bio_X509_AUX(cb, NULL, NULL, NULL);
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    last_error(err, err_len, "tls certificate");
    goto fail;
  }
  X509 *ca;
  while ((ca = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      last_error(err, err_len, "tls certificate chain");
      goto fail;
    }
  }
  ERR_clear_error(); /* the end of the PEM data */
  pkey = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
  if (!pkey || SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    last_error(err, err_len, "tls private key");
    goto fail;
  }
  X509_free(leaf);
  EVP_PKEY_free(pkey);
  BIO_free(cb);
  BIO_free(kb);
  return ctx;
fail:
  X509_free(leaf);
  EVP_PKEY_free(pkey);
  BIO_free(cb);
  BIO_free(kb);
  SSL_CTX_free(ctx);
  return NULL;
}

void dp_tls_context_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

int dp_tls_attach(struct dp_stream *s, SSL_CTX *ctx, const uint8_t *bytes, size_t n) {
  SSL *ssl = SSL_new(ctx);
  BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
  if (!ssl || !rbio || !wbio) {
    SSL_free(ssl);
    BIO_free(rbio);
    BIO_free(wbio);
    ERR_clear_error();
    return -1;
  }
  BIO_set_mem_eof_return(rbio, -1); /* an empty read BIO means "more to come", not the end */
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_accept_state(ssl);
  if (n && BIO_write(rbio, bytes, (int)n) != (int)n) {
    SSL_free(ssl);
    ERR_clear_error();
    return -1;
  }
  s->ssl = ssl;
  return 0;
}

void dp_tls_free(struct dp_stream *s) {
  SSL_free(s->ssl);
  s->ssl = NULL;
}

size_t dp_tls_pending(const struct dp_stream *s) {
  return s->ssl ? BIO_ctrl_pending(SSL_get_wbio(s->ssl)) : 0;
}

int dp_tls_feed(struct dp_stream *s, const uint8_t *bytes, size_t n) {
  return BIO_write(SSL_get_rbio(s->ssl), bytes, (int)n) == (int)n ? 0 : -1;
}

int dp_tls_decrypt(struct dp_stream *s, uint8_t *out, size_t room, size_t *got) {
  *got = 0;
  SSL *ssl = s->ssl;
  if (!SSL_is_init_finished(ssl)) {
    int r = SSL_do_handshake(ssl);
    if (r != 1) {
      int e = SSL_get_error(ssl, r);
      ERR_clear_error();
      return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? DP_TLS_MORE : DP_TLS_FAILED;
    }
  }
  while (*got < room) {
    int r = SSL_read(ssl, out + *got, (int)(room - *got > INT32_MAX ? INT32_MAX : room - *got));
    if (r > 0) {
      *got += (size_t)r;
      continue;
    }
    int e = SSL_get_error(ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return DP_TLS_MORE;
    return e == SSL_ERROR_ZERO_RETURN ? DP_TLS_CLOSED : DP_TLS_FAILED;
  }
  return DP_TLS_MORE;
}

int dp_tls_encrypt(struct dp_stream *s) {
  if (!SSL_is_init_finished(s->ssl)) return 0; /* nothing is sent before the handshake ends */
  size_t done = 0;
  while (done < s->tlen) {
    size_t chunk = s->tlen - done > INT32_MAX ? INT32_MAX : s->tlen - done;
    int r = SSL_write(s->ssl, s->tx + done, (int)chunk);
    if (r <= 0) {
      ERR_clear_error();
      return -1;
    }
    done += (size_t)r;
  }
  s->tlen = 0;
  return 0;
}

int dp_tls_send(struct dp_stream *s, uint8_t *scratch, size_t room) {
  BIO *wbio = SSL_get_wbio(s->ssl);
  for (;;) {
    char *data;
    long n = BIO_get_mem_data(wbio, &data);
    if (n <= 0) return 0;
    ssize_t k = send(s->fd, data, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (k <= 0) return -1;
    /* A memory BIO gives up bytes only by reading them: into the scratch, in slices. */
    for (size_t left = (size_t)k; left > 0;) {
      int r = BIO_read(wbio, scratch, (int)(left < room ? left : room));
      if (r <= 0) return -1;
      left -= (size_t)r;
    }
  }
}

int dp_tls_take(struct dp_stream *s, uint8_t **out, size_t *n) {
  char *data;
  long len = BIO_get_mem_data(SSL_get_wbio(s->ssl), &data);
  *out = NULL;
  *n = 0;
  if (len <= 0) return 0;
  *out = malloc((size_t)len);
  if (!*out) return -1;
  memcpy(*out, data, (size_t)len);
  *n = (size_t)len;
  return 0; /* the SSL object, and its BIO, are freed next */
}

int dp_tls_ready(const struct dp_stream *s) { return SSL_is_init_finished(s->ssl); }

void dp_tls_handshake(struct dp_stream *s) {
  if (!SSL_is_init_finished(s->ssl)) SSL_do_handshake(s->ssl);
  ERR_clear_error();
}

void dp_tls_shutdown(struct dp_stream *s) {
  if (SSL_is_init_finished(s->ssl)) SSL_shutdown(s->ssl); /* close_notify into the write BIO */
  ERR_clear_error();
}
