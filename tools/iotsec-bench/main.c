/* iotsec-bench: reproducible benchmarks that print one JSON object per figure.
 *   iotsec-bench [aka|suci|all] [--seconds S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int usage(void)
{
    fprintf(stderr, "usage: iotsec-bench [aka|suci|all] [--seconds S]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *group = "all";
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || seconds <= 0 || seconds > 600)
                return usage();
        } else if (argv[i][0] != '-') {
            group = argv[i];
        } else {
            return usage();
        }
    }
    int all = strcmp(group, "all") == 0;
    if (!all && strcmp(group, "aka") != 0 && strcmp(group, "suci") != 0)
        return usage();
    int rc = 0;
    if (all || strcmp(group, "aka") == 0)
        rc |= bench_aka(seconds);
    if (all || strcmp(group, "suci") == 0)
        rc |= bench_suci(seconds);
    return rc ? 1 : 0;
}
