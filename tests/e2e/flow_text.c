#include "flow_text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void add_line(struct text *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(line));
    if (t->len + (size_t)n + 2 > t->cap) {
        t->cap = (t->cap + (size_t)n + 2) * 2;
        t->data = realloc(t->data, t->cap);
        assert_non_null(t->data);
    }
    memcpy(t->data + t->len, line, (size_t)n);
    t->len += (size_t)n;
    t->data[t->len++] = '\n';
    t->data[t->len] = '\0';
}
