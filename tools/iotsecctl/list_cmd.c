/* The read-back commands' shared half (list_cmd.h). */
#include "list_cmd.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "args.h"

#define FLAGS_MAX 16

/* Appends "&name=escaped(value)" (or "?..." first) to url. */
static int append(char *url, size_t cap, const char *name, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (esc == NULL)
        return -1;
    size_t len = strlen(url);
    int n = snprintf(url + len, cap - len, "%c%s=%s", strchr(url, '?') ? '&' : '?', name, esc);
    curl_free(esc);
    return n > 0 && (size_t)n < cap - len ? 0 : -1;
}

int list_call(const char *cmd, const char *path, const char *const *filters, int argc, char **argv)
{
    struct flag f[FLAGS_MAX] = {{"after", 0, NULL}, {"limit", 0, NULL}};
    char names[FLAGS_MAX][32];
    size_t n = 2;
    for (const char *const *p = filters; p && *p && n < FLAGS_MAX; p++, n++) {
        snprintf(names[n], sizeof(names[n]), "%s", *p);
        for (char *c = names[n]; *c; c++)
            *c = *c == '_' ? '-' : *c;
        f[n] = (struct flag){names[n], 0, NULL};
    }
    int rc = args_parse(cmd, argc, argv, f, n);
    if (rc)
        return rc;
    char url[2048];
    snprintf(url, sizeof(url), "%s", path);
    for (size_t i = 0; i < n; i++) {
        const char *name = i < 2 ? f[i].name : filters[i - 2];
        if (f[i].value && append(url, sizeof(url), name, f[i].value) != 0)
            return args_fail(EXIT_USAGE, cmd, "--%s: too long", f[i].name);
    }
    return admin_call(cmd, "GET", url, NULL, NULL, 0);
}

int show_call(const char *cmd, const char *path, int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-' || argv[0][0] == '\0')
        return args_fail(EXIT_USAGE, cmd, "expected one ID");
    char *esc = curl_easy_escape(NULL, argv[0], 0);
    char url[1024];
    int n = esc ? snprintf(url, sizeof(url), "%s/%s", path, esc) : -1;
    curl_free(esc);
    if (n < 0 || (size_t)n >= sizeof(url))
        return args_fail(EXIT_USAGE, cmd, "ID: too long");
    return admin_call(cmd, "GET", url, NULL, NULL, 0);
}
