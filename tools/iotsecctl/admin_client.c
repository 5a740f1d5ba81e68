#include "admin_client.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "base/err.h"
#include "crypto/ct.h"
#include "daemon/config.h"
#include "output.h"

static const char *instance_dir;

void admin_set_dir(const char *dir)
{
    instance_dir = dir;
}

const char *admin_get_dir(void)
{
    return instance_dir ? instance_dir : getenv("IOTSEC_DIR");
}

struct body {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *user)
{
    struct body *b = user;
    size_t add = size * n;
    if (b->len + add > (64u << 20))
        return 0; /* a runaway answer: stop */
    char *grown = realloc(b->data, b->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static int print_answer(const char *cmd, long status, const struct body *b)
{
    if (status >= 200 && status < 300) {
        if (b->len > 0)
            output_print(stdout, b->data);
        return 0;
    }
    json_t *p = b->data ? json_loads(b->data, 0, NULL) : NULL;
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *cause = json_string_value(json_object_get(p, "cause"));
    fprintf(stderr, "iotsecctl %s: %ld %s%s%s%s%s%s\n", cmd, status, title ? title : "error",
            detail ? ": " : "", detail ? detail : "", cause ? " (" : "", cause ? cause : "",
            cause ? ")" : "");
    /* TS 29.571 invalidParams: one line per parameter, as the server named it. */
    json_t *params = json_object_get(p, "invalidParams"), *ip;
    size_t i;
    json_array_foreach(params, i, ip) {
        const char *param = json_string_value(json_object_get(ip, "param"));
        const char *reason = json_string_value(json_object_get(ip, "reason"));
        fprintf(stderr, "  %s: %s\n", param ? param : "?", reason ? reason : "invalid");
    }
    json_decref(p);
    return status == 400 || status == 409 || status == 415 ? EXIT_USAGE : 1;
}

int admin_request(const char *cmd, const char *method, const char *path,
                  const char *content_type, const void *body, size_t len, long *status_out,
                  char **answer_out)
{
    const char *dir = instance_dir ? instance_dir : getenv("IOTSEC_DIR");
    if (dir == NULL)
        return args_fail(EXIT_USAGE, cmd, "say which instance: iotsecctl --dir DIR %s ...", cmd);
    struct config cfg;
    char cfg_path[CONFIG_PATH_MAX + 16], err[512];
    config_defaults(&cfg, dir);
    snprintf(cfg_path, sizeof(cfg_path), "%s/iotsec.yaml", dir);
    if (config_load(cfg_path, &cfg, err, sizeof(err)) != IOTSEC_OK)
        return args_fail(1, cmd, "%s", err);
    char url[1024], ca[CONFIG_PATH_MAX + 64], cert[CONFIG_PATH_MAX + 64], key[CONFIG_PATH_MAX + 64];
    snprintf(url, sizeof(url), "https://%s%s", cfg.admin_listen, path);
    config_path(&cfg, cfg.tls_ca, ca, sizeof(ca));
    /* An operator's own certificate (registered with `user set-cert`): the audit names them. */
    const char *my_cert = getenv("IOTSEC_CERT"), *my_key = getenv("IOTSEC_KEY");
    config_path(&cfg, my_cert && my_cert[0] ? my_cert : "pki/admin.crt", cert, sizeof(cert));
    config_path(&cfg, my_key && my_key[0] ? my_key : "pki/admin.key", key, sizeof(key));

    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return args_fail(1, cmd, "cannot start the HTTP client");
    struct body answer = {0};
    struct curl_slist *headers = NULL;
    if (content_type) {
        char h[128];
        snprintf(h, sizeof(h), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, h);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
    curl_easy_setopt(curl, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(curl, CURLOPT_SSLKEY, key);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (cc != CURLE_OK) {
        free(answer.data);
        return args_fail(1, cmd, "cannot reach the admin face at %s: %s", url,
                         curl_easy_strerror(cc));
    }
    *status_out = status;
    *answer_out = answer.data;
    return 0;
}

int admin_print_answer(const char *cmd, long status, const char *answer)
{
    struct body b = {(char *)answer, answer ? strlen(answer) : 0};
    return print_answer(cmd, status, &b);
}

int admin_call(const char *cmd, const char *method, const char *path, const char *content_type,
               const void *body, size_t len)
{
    long status = 0;
    char *answer = NULL;
    int rc = admin_request(cmd, method, path, content_type, body, len, &status, &answer);
    if (rc == 0)
        rc = admin_print_answer(cmd, status, answer);
    free(answer);
    return rc;
}
