/* Latency histogram: fixed 10 us buckets up to 1 s, so recording is one increment and
 * percentiles are exact to the bucket; nothing is allocated while measuring. */
#include <stdlib.h>

#include "bench_sbi.h"

#define HIST_US 10
#define HIST_N  100000 /* 10 us x 100000 = 1 s; slower ones land in the last bucket */

int sbi_hist_init(struct sbi_hist *h)
{
    h->n = 0, h->max_s = 0;
    h->bucket = calloc(HIST_N, sizeof(*h->bucket));
    return h->bucket ? 0 : -1;
}

void sbi_hist_free(struct sbi_hist *h)
{
    free(h->bucket);
    h->bucket = NULL;
}

void sbi_hist_add(struct sbi_hist *h, double seconds)
{
    size_t b = (size_t)(seconds * 1e6 / HIST_US);
    h->bucket[b < HIST_N ? b : HIST_N - 1]++;
    h->n++;
    if (seconds > h->max_s)
        h->max_s = seconds;
}

double sbi_hist_ms(const struct sbi_hist *h, double q)
{
    uint64_t want = (uint64_t)((double)h->n * q), seen = 0;
    for (size_t b = 0; h->n && b < HIST_N; b++) {
        seen += h->bucket[b];
        if (seen > want)
            return ((double)b + 0.5) * HIST_US / 1000.0;
    }
    return 0;
}
