/* Rotations no request carries: the policy's (on suspicion) and the schedule's (an
 * enrollment's maximum credential age). Each stages a waiting version inside a store job's
 * transaction exactly as `subscriber rotate` does: the device fetches it over the device face
 * with its current credential and confirms; until then the current K stays valid, so a lost
 * answer never locks the device out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crypto/ct.h"
#include "provision/prov_int.h"
#include "provision/provision.h"

/* The registration a device onboarded with under this SUPI, read on the caller's connection
 * (the writer's, inside its transaction). */
static int reg_of_supi(struct store_conn *c, const char *supi, char reg_id[PROV_REG_ID_MAX + 1])
{
    struct store_stmt *st;
    int rc = store_stmt(c,
                        "SELECT reg_id FROM prov_registrations WHERE supi = ?"
                        " AND state = 'onboarded'",
                        &st);
    if (rc != IOTSEC_OK)
        return rc;
    store_bind_text(st, 1, supi, -1);
    int step = store_step(st);
    if (step == STORE_ROW)
        snprintf(reg_id, PROV_REG_ID_MAX + 1, "%s", store_col_text(st, 0));
    store_reset(st);
    if (step == STORE_ROW)
        return IOTSEC_OK;
    return step == STORE_DONE ? IOTSEC_ERR_NOTFOUND : store_error(c, step);
}

static int stage(struct provision *p, struct store_conn *c, const char *reg_id, int64_t now,
                 const char *actor, uint32_t *waiting_version)
{
    struct prov_job j;
    memset(&j, 0, sizeof(j));
    snprintf(j.reg_id, sizeof(j.reg_id), "%s", reg_id);
    j.kind = PROV_JOB_STAGE;
    j.p = p;
    j.now = now;
    j.actor = actor;
    int rc = prov_job_run(c, &j);
    if (rc == IOTSEC_OK && waiting_version)
        *waiting_version = j.out_version;
    else if (rc != IOTSEC_OK && j.fail != PROV_FAIL_NONE)
        rc = j.fail == PROV_FAIL_NOTFOUND ? IOTSEC_ERR_NOTFOUND : IOTSEC_ERR_STATE;
    free(j.envelope); /* a staged version has none: the device's fetch makes it */
    secure_wipe(&j, sizeof(j));
    return rc;
}

int provision_stage_rotation(void *ctx, struct store_conn *c, const char *supi, int64_t now,
                             const char *actor, uint32_t *waiting_version)
{
    char reg_id[PROV_REG_ID_MAX + 1];
    int rc = reg_of_supi(c, supi, reg_id);
    return rc == IOTSEC_OK ? stage(ctx, c, reg_id, now, actor, waiting_version) : rc;
}

/* The schedule: registrations whose enrollment has a maximum credential age, whose current
 * credential is older, and for which no version waits yet, in row order from the cursor. A
 * registration that cannot be rotated (its subscription revoked or expired) is passed over:
 * the cursor moves on, so it never starves the others. */
int prov_schedule_run(struct store_conn *c, void *arg)
{
    struct prov_schedule_job *sj = arg;
    /* With several instances, one runs the schedule; the others skip while its lease lives. */
    int held = store_lease_hold(c, "provision.schedule", sj->now * 1000, 3 * 60 * 1000);
    if (held == IOTSEC_ERR_BUSY)
        return IOTSEC_OK;
    if (held != IOTSEC_OK)
        return held;
    unsigned batch =
        sj->batch && sj->batch <= PROV_SCHEDULE_BATCH_MAX ? sj->batch : PROV_SCHEDULE_BATCH_MAX;
    char(*ids)[PROV_REG_ID_MAX + 1] = calloc(batch, sizeof(*ids));
    int64_t last = sj->after;
    unsigned n = 0;
    struct store_stmt *st;
    int rc = ids ? IOTSEC_OK : IOTSEC_ERR_NOMEM;
    if (rc == IOTSEC_OK)
        rc = store_stmt(c,
                        "SELECT r.id, r.reg_id FROM prov_registrations r JOIN"
                        " prov_enrollments e ON e.id = r.enrollment_id WHERE r.id > ?"
                        " AND r.state = 'onboarded' AND r.supi IS NOT NULL"
                        " AND r.pend_version IS NULL AND e.max_cred_age_s > 0"
                        " AND COALESCE(r.cred_since, r.created_at) <= ? - e.max_cred_age_s"
                        " ORDER BY r.id LIMIT ?",
                        &st);
    if (rc == IOTSEC_OK) {
        store_bind_int64(st, 1, sj->after);
        store_bind_int64(st, 2, sj->now);
        store_bind_int64(st, 3, batch);
        int step;
        while ((step = store_step(st)) == STORE_ROW) {
            last = store_col_int64(st, 0);
            snprintf(ids[n++], PROV_REG_ID_MAX + 1, "%s", store_col_text(st, 1));
        }
        store_reset(st); /* before the rows it read are written */
        if (step != STORE_DONE)
            rc = store_error(c, step);
    }
    sj->staged = sj->passed = 0;
    for (unsigned i = 0; rc == IOTSEC_OK && i < n; i++) {
        rc = stage(sj->p, c, ids[i], sj->now, "schedule", NULL);
        if (rc == IOTSEC_OK)
            sj->staged++;
        else if (rc == IOTSEC_ERR_STATE || rc == IOTSEC_ERR_NOTFOUND)
            sj->passed++, rc = IOTSEC_OK;
    }
    free(ids);
    sj->after = n < batch ? 0 : last; /* the end: the next sweep starts over */
    return rc;
}
