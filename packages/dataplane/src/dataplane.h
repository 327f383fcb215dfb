/*
 * Native UDP data plane of the cloudproxy TURN relay: shared definitions.
 *
 * fastpath.c holds the pure per-packet code (parsing client packets, building the messages
 * sent to clients) so that it can be fuzzed on its own; plane.c holds the sockets, the worker
 * threads, the forwarding table and the N-API glue. See docs/data-plane.md.
 */
#ifndef CLOUDPROXY_DATAPLANE_H
#define CLOUDPROXY_DATAPLANE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A peer or client address of either family. */
typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} dp_addr;

/* What a client datagram is, as far as the fast path cares. */
enum dp_client_kind {
  DP_PUNT = 0,        /* anything else: handed to JavaScript untouched */
  DP_CHANNEL_DATA = 1, /* RFC 8656 §12.4 ChannelData */
  DP_SEND = 2,        /* RFC 8656 §11.2 Send indication with XOR-PEER-ADDRESS and DATA */
};

/* A parsed client datagram; payload points into the input buffer. */
struct dp_client_msg {
  uint16_t channel;
  const uint8_t *payload;
  uint32_t length;
  dp_addr peer; /* Send indications only */
};

/* STUN/TURN wire constants (RFC 8489 §5, §14; RFC 8656 §18). */
#define DP_STUN_HEADER 20
#define DP_MAGIC_COOKIE 0x2112A442u
#define DP_TYPE_SEND_INDICATION 0x0016
#define DP_TYPE_DATA_INDICATION 0x0017
#define DP_ATTR_XOR_PEER_ADDRESS 0x0012
#define DP_ATTR_DATA 0x0013
#define DP_ATTR_FINGERPRINT 0x8028
#define DP_FINGERPRINT_XOR 0x5354554Eu
#define DP_CHANNEL_MIN 0x4000
#define DP_CHANNEL_MAX 0x7FFF
/* Largest header a Data indication needs: STUN header + XOR-PEER-ADDRESS (IPv6) + DATA header. */
#define DP_DATA_INDICATION_HEADER_MAX (DP_STUN_HEADER + 4 + 20 + 4)

/* Classifies a client datagram; never reads outside p[0..n). */
enum dp_client_kind dp_parse_client(const uint8_t *p, size_t n, struct dp_client_msg *out);

/*
 * The frame at the start of a TCP client's stream (RFC 8656 §12.5): its length (header
 * included, padding not) with its padding in *pad, 0 while more bytes are needed to tell, or -1
 * for bad framing (first bits 10 or 11, a STUN length not a multiple of 4, a bad magic cookie).
 * Same rules as the TypeScript StreamFramer. Never reads outside p[0..n).
 */
long dp_stream_frame(const uint8_t *p, size_t n, size_t *pad);

/*
 * Writes the header of a Data indication carrying `length` payload bytes from `peer` into
 * `out` (at least DP_DATA_INDICATION_HEADER_MAX bytes); returns the header length. The caller
 * sends header, payload and (4 - length % 4) % 4 zero bytes of padding.
 */
size_t dp_data_indication_header(uint8_t *out, const uint8_t txid[12], const dp_addr *peer,
                                 uint32_t length);

/* CRC-32 (ISO-HDLC) as STUN FINGERPRINT uses it; table built on first use. */
uint32_t dp_crc32(const uint8_t *p, size_t n);

#endif
