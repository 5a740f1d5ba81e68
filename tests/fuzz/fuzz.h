/* Shared by the fuzz harnesses: the libFuzzer entry point every harness defines, and the check
 * a harness uses for its invariants (a failed invariant is a finding: it aborts, so libFuzzer
 * keeps the input and the corpus replay under ctest fails). */
#ifndef IOTSEC_TESTS_FUZZ_H
#define IOTSEC_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a NUL-terminated string (malloc'd; the caller frees it). Inner NULs stay: the
 * parsers that take C strings see the text up to the first one, as they would in a daemon. */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif
