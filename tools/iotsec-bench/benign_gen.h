/* A benign IoT home/building network, generated: the behaviour that looks like attacks to
 * naive detectors and is not (docs/analytics.md, "Benign behaviour"). Shared by the
 * benign-suite unit test (tests/unit/analytics/test_an_benign.c) and iotsec-bench.
 *
 * Devices (10.20.0.0/24; 10.20.0.1 is the router, resolver and DHCP server, not a device):
 *   plug-x   12 smart plugs with a MUD file; their cloud (12 rotating addresses, 443/8443)
 *            is down for 30 windows: every plug retries it unanswered and pings 8.8.8.8
 *   plug-y   1 plug without MUD or peers; its cloud goes down after its learning period
 *   hub      a lighting hub (long-lived cloud session, answers the app)
 *   phones   an app polling the hub over HTTP, ~3,000 answered connections in 5 minutes
 *   cam-z    8 cameras: video upload, SSDP discovery bursts (noreply, multicast), and a
 *            100 MB firmware download each at the same time
 *   sensors  10 sensors: MQTT telemetry, an NTP pool with unanswered servers, mDNS, DHCP
 *            renewals (broadcast, unanswered)
 * With `infect` > 0, plug-x #3 is infected at that window: it hunts a C&C (failed openings
 * to an address nobody resolved) and scans telnet (Mirai's pattern). */
#ifndef IOTSEC_BENIGN_GEN_H
#define IOTSEC_BENIGN_GEN_H

#include <stdint.h>
#include <stdio.h>

#define BENIGN_T0 1700000040.0 /* a window boundary */

struct benign_device {
    char addr[16];
    const char *group; /* NULL: none */
    int mud;           /* 1: the group's MUD is benign_mud_plugx() */
};

/* The devices, in a static table; *n gets their count. */
const struct benign_device *benign_devices(unsigned *n);
/* The plug-x MUD file (JSON text, static). */
const char *benign_mud_plugx(void);
/* Writes `windows` windows of 60 s as our JSON lines (flows and DNS answers), in time
 * order. infect: the window plug-x #3 turns bot (0: never). Returns 0, or -1 on a write
 * error. The infected device's address is BENIGN_INFECTED. */
#define BENIGN_INFECTED "10.20.0.13"
int benign_write(FILE *out, unsigned windows, uint64_t seed, unsigned infect);

#endif
