/* Manufacturer Usage Descriptions (RFC 8520): what a device is for, as the JSON encoding of
 * the ietf-mud YANG model with its ietf-access-control-list ACLs (RFC 8519) and DNS names
 * (ietf-acldns). Parsed strictly into a flat list of permitted remote ends; the engine
 * (an_engine_set_mud) compiles them against its own hashing and checks each flow a device
 * opens against the list of its group.
 *
 * Pure: no I/O, no allocation beyond the result. */
#ifndef IOTSEC_ANALYTICS_MUD_H
#define IOTSEC_ANALYTICS_MUD_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"

#define AN_MUD_MAX_RULES 64
#define AN_MUD_MAX_BYTES 65536
#define AN_MUD_NAME_MAX  254 /* a DNS name (253) and its NUL */

/* What the remote end of a permitted flow is. */
enum an_mud_kind {
    AN_MUD_DNSNAME,      /* ietf-acldns:{src,dst}-dnsname: addresses the device resolved */
    AN_MUD_NETWORK,      /* {source,destination}-ipv4/ipv6-network */
    AN_MUD_LOCAL,        /* ietf-mud local-networks: the operator's local prefixes */
    AN_MUD_SAME_MFG,     /* same-manufacturer: devices whose MUD URL has the same authority */
    AN_MUD_MANUFACTURER, /* manufacturer: devices whose MUD URL authority is `name` */
    AN_MUD_CONTROLLER,   /* controller / my-controller: treated as local-networks here */
    AN_MUD_ANY,          /* only protocol/ports given: any remote end */
};

struct an_mud_rule {
    uint8_t kind;        /* enum an_mud_kind */
    uint8_t from_device; /* 1: from-device policy (the device opens or sends); 0: to-device */
    uint8_t proto;       /* 0: any; else enum an_proto or another IP protocol number */
    uint8_t initiated;   /* TCP direction-initiated: 0 any, 1 from-device, 2 to-device */
    uint16_t rport_lo, rport_hi; /* the remote end's port (0..65535 when not given) */
    uint16_t lport_lo, lport_hi; /* the device's own port */
    uint8_t bits;                /* AN_MUD_NETWORK: prefix length on the 128-bit form */
    struct an_addr net;
    char name[AN_MUD_NAME_MAX]; /* AN_MUD_DNSNAME, AN_MUD_MANUFACTURER (lower case) */
};

struct an_mud {
    char url[256];                   /* mud-url */
    char authority[AN_MUD_NAME_MAX]; /* its host: "same-manufacturer" compares these */
    char systeminfo[128];
    unsigned n;
    struct an_mud_rule rule[AN_MUD_MAX_RULES];
};

/* Parses and validates a MUD file (len bytes of JSON). On a bad file returns
 * IOTSEC_ERR_INVALID and writes into err the JSON path of the offending member and why,
 * e.g. "/ietf-access-control-list:acls/acl/0/aces/ace/1/matches/tcp/destination-port/port:
 * not a port". Accepts only "accept" actions (a MUD file permits; it has no deny). */
int an_mud_parse(const char *json, size_t len, struct an_mud *out, char *err, size_t err_len);

/* Attaches a MUD to a group (the group ID given to an_engine_bind, not 0): every flow its
 * members open is checked against it (copied; NULL removes it). IOTSEC_ERR_BUSY past the
 * engine's group limit. */
int an_engine_set_mud(struct an_engine *e, uint32_t group, const struct an_mud *mud);
/* Removes the MUD of every group whose ID is not among keep[0..n) (the groups whose MUD was
 * deleted through another instance). */
void an_engine_mud_retain(struct an_engine *e, const uint32_t *keep, size_t n);

/* Lower-cases a DNS name into out (without a trailing dot); false if it is not a name. */
bool an_dns_name_normalise(const char *name, size_t len, char out[AN_MUD_NAME_MAX]);

#endif
