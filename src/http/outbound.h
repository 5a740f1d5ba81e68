/* Outbound HTTP requests the daemon makes on others' behalf (T8 notifications to an AF,
 * policy webhooks): ONE destination policy and ONE delivery engine, so that no caller can
 * reach what the operator did not mean it to reach (SSRF).
 *
 * The policy (outbound_policy.c):
 *   - https only; plain http only with the lab switch (http_loopback), and then only to a
 *     loopback address (127.0.0.0/8, ::1) as resolved: never by the host's spelling;
 *   - no credentials (user:pass@), no zone id, a host and a valid port;
 *   - refused unless allow-listed: loopback, link-local (169.254/16, fe80::/10), private
 *     (10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10), shared (100.64/10, CGNAT),
 *     unspecified and "this network" (0/8, ::), multicast (224/4, ff00::/8), reserved and
 *     broadcast (240/4); IPv6 forms that carry an IPv4 address (::ffff:0:0/96 mapped,
 *     64:ff9b::/96 NAT64, ::/96 compatible) are judged by that IPv4 address;
 *   - checked on ADDRESSES: at registration every address the host resolves to, at delivery
 *     every address the transfer is about to connect to (libcurl's open-socket hook, so the
 *     socket goes to the address that was checked: no DNS rebinding) and the peer of every
 *     request, a reused connection's too (its pre-request hook); redirects not followed, no
 *     proxy from the environment.
 *
 * The engine (outbound_queue.c): a bounded queue (full: the oldest waiting request goes),
 * one thread with libcurl's multi interface, retries with exponential backoff, timeouts, a
 * cap per destination so that one that hangs delays only itself.
 *
 * Threads: every function may be called from any thread unless it says otherwise. */
#ifndef IOTSEC_HTTP_OUTBOUND_H
#define IOTSEC_HTTP_OUTBOUND_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define OUTBOUND_URL_MAX    1024
#define OUTBOUND_OWNER_MAX  160
#define OUTBOUND_ALLOW_MAX  16
#define OUTBOUND_ALLOW_TEXT 1024 /* the allow-list as text ("10.1.0.0/16:8443,[fd00::1]") */
#define OUTBOUND_RESOLVE_MS 2000 /* registration: a host must resolve within this */

/* ---- the policy ------------------------------------------------------------------------ */

/* One allow-listed network: addr/prefix (IPv4 as 4 bytes, IPv6 as 16), port 0 = any. */
struct outbound_net {
    uint8_t addr[16];
    uint8_t prefix;
    bool v6;
    uint16_t port;
};

struct outbound_rules {
    bool http_loopback; /* the lab switch */
    struct outbound_net allow[OUTBOUND_ALLOW_MAX];
    unsigned n_allow;
};

/* Parses a comma-separated allow-list: each item CIDR[:port], IPv4 as a.b.c.d[/n][:port],
 * IPv6 as [addr][/n][:port] or addr[/n] (a bare IPv6 address is all address: "::1:443" is
 * the address ::1:443, "[::1]:443" is ::1 port 443). Strict: dotted decimal only. "" is the
 * empty list. Appends to rules->allow; IOTSEC_ERR_INVALID with *why. */
int outbound_allow_parse(const char *text, struct outbound_rules *rules, const char **why);
/* The allow-list as text, in the form outbound_allow_parse reads. */
void outbound_allow_format(const struct outbound_rules *rules, char *out, size_t cap);

/* What a URL says, once its syntax is accepted. */
struct outbound_target {
    char host[256]; /* without brackets */
    uint16_t port;
    bool https;
};

/* Syntax only (no resolution): an absolute http(s) URL with a host, no credentials, no zone
 * id; http only when rules->http_loopback (rules may be NULL: https only).
 * IOTSEC_ERR_INVALID with *why (a fixed phrase). */
int outbound_url_parse(const char *url, const struct outbound_rules *rules,
                       struct outbound_target *t, const char **why);

/* The one address decision: may a request go to sa (an AF_INET or AF_INET6 address; its port
 * is not read) on port, over http or https? *why (a fixed phrase) on refusal. */
bool outbound_addr_allowed(const struct outbound_rules *rules, const struct sockaddr *sa,
                           uint16_t port, bool https, const char **why);

/* The registration check: syntax, then every address the host resolves to (on the calling
 * thread, OUTBOUND_RESOLVE_MS at most). IOTSEC_OK, or IOTSEC_ERR_INVALID with *why. */
int outbound_url_check(const char *url, const struct outbound_rules *rules, const char **why);

/* getaddrinfo (any family, stream sockets) waited for at most timeout_ms (outbound_resolve.c):
 * IOTSEC_OK and *out (freeaddrinfo it), IOTSEC_ERR_NOTFOUND (no such host),
 * IOTSEC_ERR_BUSY (no answer in time), IOTSEC_ERR_INVALID, IOTSEC_ERR_NOMEM. */
int outbound_resolve(const char *host, unsigned timeout_ms, struct addrinfo **out);

/* ---- the delivery engine --------------------------------------------------------------- */

/* May the request of owner still be sent, and under which rules? Called on the delivery
 * thread before each attempt with *rules preset to the engine's; may change them (e.g. the
 * AF's allow-list as registered now). false: dropped (OUTBOUND_STOPPED). */
typedef bool (*outbound_check_fn)(void *ctx, const char *owner, struct outbound_rules *rules);

enum outbound_result {
    OUTBOUND_DELIVERED, /* a 2xx answer */
    OUTBOUND_FAILED,    /* attempts used up, or a final 4xx */
    OUTBOUND_REFUSED,   /* the destination's address is not allowed (now) */
    OUTBOUND_STOPPED,   /* the check said no, or outbound_cancel */
    OUTBOUND_DROPPED,   /* pushed out of a full queue */
    OUTBOUND_ABANDONED, /* still queued at outbound_free */
};

/* Once per request accepted by outbound_post, with its tag; on the delivery thread, or on
 * the thread calling outbound_post (DROPPED), outbound_cancel (STOPPED) or outbound_free
 * (ABANDONED). Must be quick and must not call back into the engine. */
typedef void (*outbound_done_fn)(void *ctx, void *tag, enum outbound_result r);

struct outbound_config {
    size_t queue_max;            /* waiting requests; default 10000 */
    unsigned max_attempts;       /* default 5 */
    unsigned backoff_ms;         /* first retry delay, doubled each time; default 200 */
    unsigned backoff_max_ms;     /* default 30000 */
    unsigned timeout_ms;         /* whole transfer; default 5000 */
    unsigned connect_timeout_ms; /* default 2000 */
    unsigned max_inflight;       /* transfers at once; default 64 */
    unsigned per_dest_inflight;  /* transfers at once to one scheme://host:port; default 4 */
    const char *ca_file;         /* NULL: the system CA store */
    struct outbound_rules rules; /* for every request, unless check changes them */
    outbound_check_fn check;     /* NULL: always allowed */
    void *check_ctx;
    outbound_done_fn done; /* NULL: none */
    void *done_ctx;
};

struct outbound;

int outbound_new(const struct outbound_config *cfg, struct outbound **out);
/* Stops the thread; what is queued is abandoned (done: OUTBOUND_ABANDONED). NULL: no-op. */
void outbound_free(struct outbound *o);

/* Queues a POST of body (copied, len bytes of JSON) to url for owner. Never blocks and never
 * resolves: the url's syntax was checked when it was accepted (outbound_url_check) and its
 * addresses are checked again at each connection. IOTSEC_ERR_INVALID for a url that is not
 * http(s) with a host and no credentials, IOTSEC_ERR_NOMEM. A full queue is not an error. */
int outbound_post(struct outbound *o, const char *url, const char *owner, const char *body,
                  size_t len, void *tag);

/* Drops every queued request of owner (transfers in flight are aborted). */
void outbound_cancel(struct outbound *o, const char *owner);

struct outbound_metrics {
    uint64_t queued, delivered, failed, refused, dropped_full, stopped, retries, in_queue,
        in_flight;
};
void outbound_metrics_get(struct outbound *o, struct outbound_metrics *m);

#endif
