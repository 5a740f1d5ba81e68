/* HyperLogLog estimate (see hll.h). Kept apart from the add, which is inline on the hot
 * path, because the estimate runs once per device per window. */
#include "analytics/hll.h"

#include <math.h>

double hll_estimate(const uint8_t *regs, unsigned p)
{
    if (p < HLL_MIN_P || p > HLL_MAX_P)
        return 0;
    unsigned m = 1u << p, zeros = 0;
    /* 2^-r for each possible register value: the estimate runs per device per window. */
    static const double inv_pow2[16] = {1.0,
                                        0.5,
                                        0.25,
                                        0.125,
                                        0.0625,
                                        0.03125,
                                        0.015625,
                                        0.0078125,
                                        0.00390625,
                                        0.001953125,
                                        0.0009765625,
                                        0.00048828125,
                                        0.000244140625,
                                        0.0001220703125,
                                        0.00006103515625,
                                        0.000030517578125};
    double sum = 0;
    for (unsigned i = 0; i < m; i += 2) {
        uint8_t b = regs[i >> 1];
        sum += inv_pow2[b & 15] + inv_pow2[b >> 4];
        zeros += ((b & 15) == 0) + ((b >> 4) == 0);
    }
    double alpha = m == 16 ? 0.673 : m == 32 ? 0.697 : m == 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    /* Few items: most registers still empty, linear counting is the better estimate. */
    if (e <= 2.5 * m && zeros > 0)
        e = m * log((double)m / zeros);
    return e;
}

void hll_merge(uint8_t *dst, const uint8_t *src, unsigned p)
{
    for (size_t i = 0; i < HLL_BYTES(p); i++) {
        uint8_t a = dst[i], b = src[i];
        uint8_t lo = (a & 15) > (b & 15) ? (a & 15) : (b & 15);
        uint8_t hi = (a >> 4) > (b >> 4) ? (a >> 4) : (b >> 4);
        dst[i] = (uint8_t)(lo | hi << 4);
    }
}
