/* Certificate roles on the SBI face (issue 11, item 7): the instance CA vouches for the admin
 * certificate too, but the SBI face takes NF certificates only (a SAN URI urn:uuid:<NF
 * instance ID>, TS 33.310), and never the admin certificate. Refusals are 403 ProblemDetails
 * with cause CERTIFICATE_ROLE. tls.sbi_client_role: not_admin keeps NF certificates issued
 * without the instance ID working, and still refuses the admin certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "capture.h"
#include "fixture.h"

static struct daemon_fixture fx;

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return fixture_init(&fx, NULL) == 0 && fixture_start(&fx) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int status = fixture_stop(&fx, SIGTERM);
    int sanitizer = fixture_sanitizer_report(&fx);
    fixture_cleanup(&fx);
    curl_global_cleanup();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && !sanitizer ? 0 : -1;
}

/* A client certificate for cn from the instance CA, as an operator would issue one, with
 * the given subjectAltName; writes DIR/<name>.crt and .key. */
static void issue(const char *name, const char *cn, const char *san)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
             " -keyout %s.key -subj '/CN=%s' -out %s.csr 2>/dev/null &&"
             " printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
             "extendedKeyUsage=clientAuth\\nsubjectAltName=%s\\n' > %s.ext &&"
             " openssl x509 -req -in %s.csr -CA inst/pki/ca.crt -CAkey inst/pki/ca.key"
             " -CAcreateserial -days 2 -extfile %s.ext -out %s.crt 2>/dev/null",
             fx.dir, name, cn, name, san, name, name, name, name);
    assert_int_equal(system(cmd), 0);
}

/* GET path on the SBI face with the certificate DIR/<cert>.crt (or a fixture identity when
 * cert is "nf" or "admin"); returns the status, the body in *body (malloc'd). */
static long sbi_get(const char *cert, const char *path, char **body)
{
    char url[160], crt[160], key[160], ca[160];
    snprintf(url, sizeof(url), "%s%s", fx.sbi, path);
    snprintf(ca, sizeof(ca), "%s/inst/pki/ca.crt", fx.dir);
    if (strcmp(cert, "nf") == 0 || strcmp(cert, "admin") == 0) {
        snprintf(crt, sizeof(crt), "%s/inst/pki/%s.crt", fx.dir, cert);
        snprintf(key, sizeof(key), "%s/inst/pki/%s.key", fx.dir, cert);
    } else {
        snprintf(crt, sizeof(crt), "%s/%s.crt", fx.dir, cert);
        snprintf(key, sizeof(key), "%s/%s.key", fx.dir, cert);
    }
    CURL *c = curl_easy_init();
    struct fixture_buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSLCERT, crt);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fixture_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    capture_exchange(&fx, c, status, "GET", NULL, NULL, 0, b.data, b.len, NULL);
    curl_easy_cleanup(c);
    *body = b.data;
    return status;
}

static void expect_role_refused(const char *cert, const char *path)
{
    char *body = NULL;
    assert_int_equal(sbi_get(cert, path, &body), 403);
    assert_non_null(body);
    assert_non_null(strstr(body, "\"cause\":\"CERTIFICATE_ROLE\""));
    free(body);
}

static void expect_ok(const char *cert, const char *path)
{
    char *body = NULL;
    assert_int_equal(sbi_get(cert, path, &body), 200);
    free(body);
}

static void test_admin_certificate_is_not_an_nf(void **state)
{
    (void)state;
    expect_ok("nf", "/healthz");
    /* The admin certificate chains to the same CA: refused on every SBI route. */
    expect_role_refused("admin", "/healthz");
    char *body = NULL, url[160];
    snprintf(url, sizeof(url), "%s/nausf-auth/v1/ue-authentications", fx.sbi);
    const char *auth = "{\"supiOrSuci\":\"imsi-001010000000001\","
                       "\"servingNetworkName\":\"5G:mnc001.mcc001.3gppnetwork.org\"}";
    assert_int_equal(
        fixture_request(&fx, AS_ADMIN, "POST", url, "application/json", auth, strlen(auth), &body),
        403);
    assert_non_null(strstr(body, "CERTIFICATE_ROLE"));
    free(body);
    /* ... while the NF certificate is not the admin one either: refused on the admin face. */
    snprintf(url, sizeof(url), "%s/admin/v1/hn-keys", fx.admin);
    assert_int_equal(fixture_request(&fx, AS_NF, "GET", url, NULL, NULL, 0, NULL), 403);
}

static void test_operator_issued_certificates(void **state)
{
    (void)state;
    /* An operator's NF certificate names its NF instance: taken. */
    issue("amf2", "amf2.5gc.example",
          "DNS:amf2.5gc.example,URI:urn:uuid:"
          "0f7c2a40-6a43-4d2b-9d1e-3b5f0e2c9a11");
    expect_ok("amf2", "/healthz");
    /* A certificate of the CA for something else (no NF instance ID): refused. */
    issue("ops", "ops-console", "DNS:ops.example");
    expect_role_refused("ops", "/healthz");
    /* tls.sbi_client_role: not_admin, for NF certificates issued without the instance ID:
     * those are taken, the admin certificate still is not. */
    int status = fixture_stop(&fx, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(
        fixture_config_replace(&fx, "sbi_client_role: nf", "sbi_client_role: not_admin"), 0);
    assert_int_equal(fixture_start(&fx), 0);
    expect_ok("ops", "/healthz");
    expect_ok("nf", "/healthz");
    expect_role_refused("admin", "/healthz");
    /* An unknown role is a configuration error, not a silent default. */
    status = fixture_stop(&fx, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(
        fixture_config_replace(&fx, "sbi_client_role: not_admin", "sbi_client_role: anyone"), 0);
    assert_int_not_equal(fixture_start(&fx), 0);
    fixture_stop(&fx, SIGKILL);
    assert_int_equal(fixture_config_replace(&fx, "sbi_client_role: anyone", "sbi_client_role: nf"),
                     0);
    assert_int_equal(fixture_start(&fx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_certificate_is_not_an_nf),
        cmocka_unit_test(test_operator_issued_certificates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
