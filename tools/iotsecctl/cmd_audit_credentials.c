/* iotsecctl --dir DIR audit: the credential audit (GET /admin/v1/audit/credentials):
 * expiring within 30 days, expired, revoked but still seen, shared (one credential seen from
 * two serving networks at once). One JSON object on stdout. */
#include "admin_client.h"
#include "args.h"
#include "iotsecctl.h"

int cmd_audit_credentials(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return args_fail(EXIT_USAGE, "audit", "takes no arguments");
    return admin_call("audit", "GET", "/admin/v1/audit/credentials", NULL, NULL, 0);
}
