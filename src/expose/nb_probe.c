/* Two small northbound resources of our own, through the same interface as every API handler:
 *   GET /iotsec-exposure/v1/{scsAsId}/whoami
 *       the authenticated AF (token checked, bound, scope monitoring-event): the cheapest
 *       token-checked request, used by the benchmark
 *   GET /iotsec-exposure/v1/{scsAsId}/devices/{externalId}/authorisation
 *       may this AF monitor that device now? The decision of a monitoring subscription, made
 *       (and audited) without subscribing: lets an AF check its consents, and lets the tests
 *       exercise external IDs and consents before any T8 route exists.
 * A path's scsAsId must be the token's AF: another AF's id is refused (403) and audited. */
#include <string.h>

#include "base/err.h"
#include "expose/nb_int.h"
#include "subscriber/subscriber.h"

static int own_path(struct expose_nb *nb, struct http_request *req, const struct expose_af *af)
{
    const char *scs = http_request_param(req, "scsAsId");
    if (scs != NULL && strcmp(scs, af->af_id) == 0)
        return IOTSEC_OK;
    expose_nb_audit(nb, af, "path", http_request_route(req), false, "DENY_OTHER_AF_PATH",
                    http_request_id(req));
    http_respond_problem(req, 403, NULL, "the path names another application function", NULL,
                         NULL, 0);
    return IOTSEC_ERR_AUTH;
}

static void handle_whoami(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    struct expose_af af;
    if (expose_nb_authenticate(nb, req, EXPOSE_SVC_MONITORING_EVENT, &af) != IOTSEC_OK ||
        own_path(nb, req, &af) != IOTSEC_OK)
        return;
    char scope[128];
    nb_services_scope(af.token_scopes, scope, sizeof(scope));
    http_respond_json(req, 200, json_pack("{s:s, s:s, s:I}", "scsAsId", af.af_id, "scope", scope,
                                          "tokenExpires", (json_int_t)af.token_exp));
}

static void handle_authorisation(struct http_request *req, void *user)
{
    struct expose_nb *nb = user;
    struct expose_af af;
    if (expose_nb_authenticate(nb, req, EXPOSE_SVC_MONITORING_EVENT, &af) != IOTSEC_OK ||
        own_path(nb, req, &af) != IOTSEC_OK)
        return;
    const char *ext = http_request_param(req, "externalId");
    char supi[SUPI_STRING_MAX];
    if (expose_nb_resolve(nb, req, &af, ext, supi, sizeof(supi)) != IOTSEC_OK)
        return;
    struct expose_target t = {.kind = RESOURCE_DEVICE, .supi = supi, .external_id = ext,
                              .service = EXPOSE_SVC_MONITORING_EVENT};
    struct authz_result res;
    char consent[EXPOSE_ID_MAX + 1];
    int rc = expose_nb_decide(nb, &af, ACTION_MONITORING_SUBSCRIBE, &t, http_request_id(req), &res,
                              consent);
    memset(supi, 0, sizeof(supi));
    if (rc != IOTSEC_OK) {
        http_response_header(req, "Retry-After", "1");
        http_respond_problem(req, 503, NULL, "the authorisation service is busy", NULL, NULL, 0);
        return;
    }
    if (!res.allow) {
        http_respond_problem(req, 403, NULL, authz_reason_str(res.reason),
                             authz_reason_code(res.reason), NULL, 0);
        return;
    }
    http_respond_json(req, 200, json_pack("{s:s, s:s, s:b, s:s}", "externalId", ext, "service",
                                          "monitoring-event", "allowed", 1, "consentId", consent));
}

int nb_probe_routes(struct expose_nb *nb)
{
    int rc = expose_nb_route(nb, "GET", "/iotsec-exposure/v1/{scsAsId}/whoami", handle_whoami, nb);
    if (rc == IOTSEC_OK)
        rc = expose_nb_route(nb, "GET",
                             "/iotsec-exposure/v1/{scsAsId}/devices/{externalId}/authorisation",
                             handle_authorisation, nb);
    return rc;
}
