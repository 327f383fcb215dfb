/*
 * A standalone fuzzer for the packet parsing of the native data plane (src/fastpath.c), built
 * with AddressSanitizer and UndefinedBehaviorSanitizer by fuzz.test.ts (gcc or clang, no
 * libFuzzer needed). Each input is either random bytes or a valid ChannelData / Send indication
 * with random mutations (flipped bytes, truncation, changed lengths), so that the deep branches
 * are reached. The sanitizers abort on any read outside the input; the checks below abort when
 * a parse result points outside the input.
 *
 *   cc -O1 -g -fsanitize=address,undefined -Isrc fuzz/fuzz-parse.c src/fastpath.c -o fuzz-parse
 *   ./fuzz-parse [iterations] [seed]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane.h"

static uint64_t state;

static uint32_t next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)state;
}

static size_t valid_send(uint8_t *b) {
  uint8_t txid[12];
  for (int i = 0; i < 12; i++) txid[i] = (uint8_t)next();
  dp_addr peer;
  memset(&peer, 0, sizeof peer);
  if (next() & 1) {
    peer.v4.sin_family = AF_INET;
    peer.v4.sin_addr.s_addr = next();
  } else {
    peer.v6.sin6_family = AF_INET6;
    for (int i = 0; i < 16; i++) peer.v6.sin6_addr.s6_addr[i] = (uint8_t)next();
  }
  uint32_t len = next() % 200;
  size_t h = dp_data_indication_header(b, txid, &peer, len);
  b[1] = 0x16; /* Data → Send indication: same layout */
  for (uint32_t i = 0; i < len; i++) b[h + i] = (uint8_t)next();
  size_t n = h + ((len + 3) & ~3u);
  memset(b + h + len, 0, n - h - len);
  if (next() % 4 == 0) { /* append a FINGERPRINT, right or wrong */
    b[2] = (uint8_t)((n - 20 + 8) >> 8);
    b[3] = (uint8_t)(n - 20 + 8);
    uint32_t crc = dp_crc32(b, n) ^ DP_FINGERPRINT_XOR ^ (next() % 3 == 0 ? 1u : 0u);
    uint8_t fp[8] = {0x80, 0x28, 0, 4, (uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    memcpy(b + n, fp, 8);
    n += 8;
  }
  return n;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 1000000;
  state = argc > 2 ? strtoull(argv[2], NULL, 10) : 0x9E3779B97F4A7C15ull;
  if (state == 0) state = 1;
  uint8_t base[2048];
  long kinds[3] = {0, 0, 0};
  for (long it = 0; it < iterations; it++) {
    size_t n;
    uint32_t shape = next() % 4;
    if (shape == 0) {
      n = next() % 300;
      for (size_t i = 0; i < n; i++) base[i] = (uint8_t)next();
    } else if (shape == 1) {
      n = 4 + next() % 100;
      for (size_t i = 0; i < n; i++) base[i] = (uint8_t)next();
      base[0] = (uint8_t)(0x40 + next() % 0x40);
    } else {
      n = valid_send(base);
    }
    for (uint32_t m = next() % 4; m > 0 && n > 0; m--) base[next() % n] ^= (uint8_t)(1u << (next() % 8));
    if (next() % 5 == 0 && n > 0) n = next() % n;
    /* Copy to an exact-size heap block so that any overread hits the sanitizer's red zone. */
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, base, n);
    struct dp_client_msg msg;
    enum dp_client_kind kind = dp_parse_client(p, n, &msg);
    kinds[kind]++;
    if (kind != DP_PUNT && (msg.payload < p || msg.payload + msg.length > p + n)) {
      fprintf(stderr, "payload outside the input at iteration %ld\n", it);
      abort();
    }
    /* The same bytes as a stream: split into frames, each parsed on its own. */
    size_t off = 0, pad = 0;
    long frame;
    while ((frame = dp_stream_frame(p + off, n - off, &pad)) > 0 && off + (size_t)frame + pad <= n) {
      if (frame < 4 || pad > 3) abort();
      struct dp_client_msg sub;
      dp_parse_client(p + off, (size_t)frame, &sub);
      off += (size_t)frame + pad;
    }
    if (kind == DP_SEND) {
      uint8_t header[DP_DATA_INDICATION_HEADER_MAX];
      uint8_t txid[12] = {0};
      if (dp_data_indication_header(header, txid, &msg.peer, msg.length) > sizeof header) abort();
    }
    free(p);
  }
  printf("ok %ld inputs: punted %ld, channel data %ld, send %ld\n", iterations, kinds[0], kinds[1], kinds[2]);
  return 0;
}
