/* MUD files as `PUT /admin/v1/analytics/mud/{group}` and `iotsecctl analytics mud validate`
 * take them (an_mud_parse). Invariants: a refusal names a JSON path ("/..." followed by ": "),
 * an acceptance gives at most AN_MUD_MAX_RULES rules with terminated names, ranges in order and
 * an https URL whose host is the authority (lowercased: host names are case-insensitive); and the engine takes every accepted file. */
#include <string.h>

#include "analytics/mud.h"
#include "base/err.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct an_mud m;
    char err[256];
    int rc = an_mud_parse((const char *)data, size, &m, err, sizeof(err));
    if (rc != IOTSEC_OK) {
        FUZZ_CHECK(rc == IOTSEC_ERR_INVALID && err[0] == '/' && strstr(err, ": ") != NULL);
        return 0;
    }
    FUZZ_CHECK(m.n <= AN_MUD_MAX_RULES && strncmp(m.url, "https://", 8) == 0 &&
               strcasestr(m.url, m.authority) != NULL);
    for (unsigned i = 0; i < m.n; i++) {
        const struct an_mud_rule *r = &m.rule[i];
        FUZZ_CHECK(r->rport_lo <= r->rport_hi && r->lport_lo <= r->lport_hi);
        FUZZ_CHECK(strnlen(r->name, sizeof(r->name)) < sizeof(r->name));
        FUZZ_CHECK(r->kind <= AN_MUD_ANY && r->initiated <= 2);
    }
    struct an_config c;
    an_config_default(&c);
    static const uint8_t key[32] = "fuzz mud key....................";
    struct an_engine *e = an_engine_new(&c, key, sizeof(key));
    FUZZ_CHECK(e != NULL && an_engine_set_mud(e, 7, &m) == IOTSEC_OK);
    an_engine_free(e);
    return 0;
}
