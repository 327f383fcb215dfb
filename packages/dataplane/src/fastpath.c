/*
 * The pure per-packet code of the native data plane: classifying client datagrams and building
 * Data indications. No sockets, no state, no allocation: fuzzed by fuzz/fuzz-parse.c.
 *
 * Rule of the fast path: accept only the plain, well-formed shape of a message and hand
 * everything else to JavaScript, which owns the protocol and decides exactly as it does on the
 * JavaScript data plane (drop and count, answer, or relay). So every check here is "is this
 * obviously fine?", never "what is wrong with it?".
 */
#include "dataplane.h"

#include <string.h>

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t crc_table[256];
static int crc_ready;

uint32_t dp_crc32(const uint8_t *p, size_t n) {
  if (!crc_ready) {
    /* Idempotent: two threads racing here write the same values. */
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      crc_table[i] = c;
    }
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/* XOR-PEER-ADDRESS value (RFC 8489 §14.2): 8 bytes for IPv4, 20 for IPv6, else not ours. */
static int parse_xor_peer(const uint8_t *v, uint16_t len, const uint8_t *header, dp_addr *out) {
  if (len < 4 || v[0] != 0) return 0;
  uint16_t port = (uint16_t)(be16(v + 2) ^ (DP_MAGIC_COOKIE >> 16));
  memset(out, 0, sizeof *out);
  if (v[1] == 0x01 && len == 8) {
    uint8_t ip[4];
    for (int i = 0; i < 4; i++) ip[i] = v[4 + i] ^ header[4 + i]; /* magic cookie */
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons(port);
    memcpy(&out->v4.sin_addr, ip, 4);
    return 1;
  }
  if (v[1] == 0x02 && len == 20) {
    uint8_t ip[16];
    for (int i = 0; i < 16; i++) ip[i] = v[4 + i] ^ header[4 + i]; /* cookie + transaction id */
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons(port);
    memcpy(&out->v6.sin6_addr, ip, 16);
    return 1;
  }
  return 0;
}

/*
 * A Send indication whose attributes are exactly one XOR-PEER-ADDRESS, one DATA and optionally
 * a valid FINGERPRINT last. Anything else (DONT-FRAGMENT, integrity, unknown attributes,
 * duplicates, a wrong FINGERPRINT) is punted: JavaScript applies RFC 8656 §11.2 to it.
 */
static enum dp_client_kind parse_send(const uint8_t *p, size_t n, struct dp_client_msg *out) {
  if (n < DP_STUN_HEADER || n > 0xFFFF + DP_STUN_HEADER) return DP_PUNT;
  if (be16(p) != DP_TYPE_SEND_INDICATION || be32(p + 4) != DP_MAGIC_COOKIE) return DP_PUNT;
  size_t body = be16(p + 2);
  if (body % 4 != 0 || body + DP_STUN_HEADER != n) return DP_PUNT;
  int have_peer = 0, have_data = 0;
  size_t off = DP_STUN_HEADER;
  while (off < n) {
    if (n - off < 4) return DP_PUNT;
    uint16_t type = be16(p + off);
    uint16_t len = be16(p + off + 2);
    size_t padded = ((size_t)len + 3) & ~(size_t)3;
    if (padded > n - off - 4) return DP_PUNT;
    const uint8_t *v = p + off + 4;
    if (type == DP_ATTR_XOR_PEER_ADDRESS) {
      if (have_peer++ || !parse_xor_peer(v, len, p, &out->peer)) return DP_PUNT;
    } else if (type == DP_ATTR_DATA) {
      if (have_data++) return DP_PUNT;
      out->payload = v;
      out->length = len;
    } else if (type == DP_ATTR_FINGERPRINT) {
      /* RFC 8489 §14.7: last attribute, CRC-32 of everything before it XOR 0x5354554E. */
      if (len != 4 || off + 8 != n) return DP_PUNT;
      if ((dp_crc32(p, off) ^ DP_FINGERPRINT_XOR) != be32(v)) return DP_PUNT;
    } else {
      return DP_PUNT;
    }
    off += 4 + padded;
  }
  return have_peer && have_data ? DP_SEND : DP_PUNT;
}

enum dp_client_kind dp_parse_client(const uint8_t *p, size_t n, struct dp_client_msg *out) {
  if (n < 4) return DP_PUNT;
  if (p[0] >= 0x40 && p[0] <= 0x7F) {
    /* ChannelData (RFC 8656 §12.4): trailing bytes beyond the length (padding) are allowed. */
    uint16_t len = be16(p + 2);
    if (len > n - 4) return DP_PUNT;
    out->channel = be16(p);
    out->payload = p + 4;
    out->length = len;
    return DP_CHANNEL_DATA;
  }
  if (p[0] == 0x00) return parse_send(p, n, out);
  return DP_PUNT;
}

long dp_stream_frame(const uint8_t *p, size_t n, size_t *pad) {
  *pad = 0;
  if (n < 4) return 0;
  uint32_t length = be16(p + 2);
  switch (p[0] >> 6) {
  case 1: /* ChannelData, padded to a multiple of 4 on streams (RFC 8656 §12.5) */
    *pad = (4 - length % 4) % 4;
    return 4 + (long)length;
  case 0: /* STUN: length a multiple of 4, then the magic cookie (RFC 8489 §5) */
    if (length % 4 != 0) return -1;
    if (n < 8) return 0;
    if (be32(p + 4) != DP_MAGIC_COOKIE) return -1;
    return DP_STUN_HEADER + (long)length;
  default:
    return -1;
  }
}

size_t dp_data_indication_header(uint8_t *out, const uint8_t txid[12], const dp_addr *peer,
                                 uint32_t length) {
  /* Same bytes as the JavaScript relay path: XOR-PEER-ADDRESS then DATA, no FINGERPRINT. */
  int v6 = peer->sa.sa_family == AF_INET6;
  size_t addr_len = v6 ? 20 : 8;
  size_t padded = ((size_t)length + 3) & ~(size_t)3;
  put16(out, DP_TYPE_DATA_INDICATION);
  put16(out + 2, (uint16_t)(4 + addr_len + 4 + padded));
  put32(out + 4, DP_MAGIC_COOKIE);
  memcpy(out + 8, txid, 12);
  uint8_t *a = out + DP_STUN_HEADER;
  put16(a, DP_ATTR_XOR_PEER_ADDRESS);
  put16(a + 2, (uint16_t)addr_len);
  a[4] = 0;
  a[5] = v6 ? 0x02 : 0x01;
  uint16_t port = ntohs(v6 ? peer->v6.sin6_port : peer->v4.sin_port);
  put16(a + 6, (uint16_t)(port ^ (DP_MAGIC_COOKIE >> 16)));
  const uint8_t *ip = v6 ? (const uint8_t *)&peer->v6.sin6_addr : (const uint8_t *)&peer->v4.sin_addr;
  for (size_t i = 0; i < addr_len - 4; i++) a[8 + i] = ip[i] ^ out[4 + i];
  uint8_t *d = a + 4 + addr_len;
  put16(d, DP_ATTR_DATA);
  put16(d + 2, (uint16_t)length);
  return (size_t)(d + 4 - out);
}
