/* P-256 point decompression for SUCI Profile B: y from a compressed public key, with a
 * small dedicated field implementation (OpenSSL's BN_mod_sqrt costs a third of the ECDH).
 * Only public values pass through it (the x of an ephemeral public key), so it is written for
 * speed, not constant time. The root is checked by squaring it; the caller still has OpenSSL
 * check that the point is on the curve. Cross-checked against OpenSSL in test_suci. */
#include "crypto/p256_sqrt.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef HAVE_P256_DECOMPRESS
/* Field elements mod p = 2^256 - 2^224 + 2^192 + 2^96 - 1 as four little-endian 64-bit limbs,
 * in Montgomery form (a * 2^256 mod p), always fully reduced. Only public values (the x of an
 * ephemeral public key) pass through here, so the code is written for speed, not for
 * constant time. The square root takes 253 squarings: they are the whole cost. */
typedef unsigned __int128 u128;
typedef uint64_t fe[4];

static const fe p256_p = {0xffffffffffffffffULL, 0x00000000ffffffffULL, 0, 0xffffffff00000001ULL};
static const fe p256_rr = {0x0000000000000003ULL, 0xfffffffbffffffffULL, 0xfffffffffffffffeULL,
                           0x00000004fffffffdULL}; /* 2^512 mod p */
static const fe p256_b_mont = {0xd89cdf6229c4bddfULL, 0xacf005cd78843090ULL, 0xe5a220abf7212ed6ULL,
                               0xdc30061d04874834ULL}; /* b * 2^256 */

/* Add with carry, subtract with borrow. The limb-by-limb code below is written out, not
 * looped: GCC keeps the unrolled form in registers and spills the loops. */
static inline uint64_t addc(uint64_t a, uint64_t b, uint64_t *carry)
{
    u128 s = (u128)a + b + *carry;
    *carry = (uint64_t)(s >> 64);
    return (uint64_t)s;
}

static inline uint64_t subb(uint64_t a, uint64_t b, uint64_t *borrow)
{
    u128 d = (u128)a - b - *borrow;
    *borrow = (uint64_t)(d >> 64) & 1;
    return (uint64_t)d;
}

/* r = (top:a) - p when that does not go below zero, else a. Requires (top:a) < 2p. */
static inline void fe_reduce_once(fe r, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
                                  uint64_t top)
{
    uint64_t borrow = 0;
    uint64_t s0 = subb(a0, p256_p[0], &borrow);
    uint64_t s1 = subb(a1, p256_p[1], &borrow);
    uint64_t s2 = subb(a2, p256_p[2], &borrow);
    uint64_t s3 = subb(a3, p256_p[3], &borrow);
    uint64_t keep = -(uint64_t)(top < borrow);
    r[0] = (a0 & keep) | (s0 & ~keep);
    r[1] = (a1 & keep) | (s1 & ~keep);
    r[2] = (a2 & keep) | (s2 & ~keep);
    r[3] = (a3 & keep) | (s3 & ~keep);
}

/* One Montgomery step: a = (a + m*p) / 2^64 with m = a0. Since p = -1 mod 2^64, m needs no
 * multiplication, and p's limbs 0..2 turn m*p into shifts: only limb 3 takes a product. */
static inline void fe_mont_step(uint64_t *a0, uint64_t *a1, uint64_t *a2, uint64_t *a3)
{
    uint64_t m = *a0, carry = 0;
    u128 mp3 = (u128)m * p256_p[3];
    *a0 = addc(*a1, m << 32, &carry);
    *a1 = addc(*a2, m >> 32, &carry);
    *a2 = addc(*a3, (uint64_t)mp3, &carry);
    *a3 = (uint64_t)(mp3 >> 64) + carry;
}

/* r = t / 2^256 mod p for a 512-bit t < p^2. */
static inline void fe_mont_reduce(fe r, const uint64_t t[8])
{
    uint64_t a0 = t[0], a1 = t[1], a2 = t[2], a3 = t[3], carry = 0;
    fe_mont_step(&a0, &a1, &a2, &a3);
    fe_mont_step(&a0, &a1, &a2, &a3);
    fe_mont_step(&a0, &a1, &a2, &a3);
    fe_mont_step(&a0, &a1, &a2, &a3);
    a0 = addc(a0, t[4], &carry);
    a1 = addc(a1, t[5], &carry);
    a2 = addc(a2, t[6], &carry);
    a3 = addc(a3, t[7], &carry);
    fe_reduce_once(r, a0, a1, a2, a3, carry);
}

static void fe_mul(fe r, const fe a, const fe b)
{
    uint64_t t[8] = {0};
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 c = (u128)a[j] * b[i] + t[i + j] + carry;
            t[i + j] = (uint64_t)c;
            carry = (uint64_t)(c >> 64);
        }
        t[i + 4] = carry;
    }
    fe_mont_reduce(r, t);
}

#if defined(__x86_64__) && defined(__ELF__) && !defined(IOTSEC_NO_ASM)
/* a = a^(2^n) for n >= 1: the squarings of the square root in x86-64 assembly, which runs them
 * in half the time GCC's code for the C version below does (GCC spills the 128-bit carries).
 * Same algorithm as fe_sqr_n's C: the six cross products, doubled, plus the four squares, then
 * four Montgomery steps using p's shape and one conditional subtraction. Registers: a in
 * rbx rbp r12 r13; the 512-bit square in rbx r8 r9 r10 r11 r14 r15 rdi; rcx scratch; rsi the
 * count; the pointer waits on the stack. */
__attribute__((visibility("hidden"))) void iotsec_p256_sqr_n_x86_64(uint64_t a[4], uint64_t n);

/* (x0 x1 x2 x3) = (x0 x1 x2 x3 + m*p) / 2^64 with m = x0, the result landing in x1 x2 x3 x0. */
#define P256_MONT_STEP(x0, x1, x2, x3)                                                             \
    "  movq %" x0 ", %rax\n  mulq .Lp256_p3(%rip)\n  movq %" x0 ", %rcx\n  shlq $32, %rcx\n"       \
    "  shrq $32, %" x0 "\n  addq %rcx, %" x1 "\n  adcq %" x0 ", %" x2 "\n  adcq %rax, %" x3 "\n"   \
    "  adcq $0, %rdx\n  movq %rdx, %" x0 "\n"

/* clang-format off */
__asm__(
    ".section .rodata\n"
    ".p2align 3\n"
    ".Lp256_p1: .quad 0x00000000ffffffff\n"
    ".Lp256_p3: .quad 0xffffffff00000001\n"
    ".text\n"
    ".globl iotsec_p256_sqr_n_x86_64\n"
    ".hidden iotsec_p256_sqr_n_x86_64\n"
    ".type iotsec_p256_sqr_n_x86_64, @function\n"
    ".p2align 4\n"
    "iotsec_p256_sqr_n_x86_64:\n"
    "  pushq %rbx\n  pushq %rbp\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  pushq %rdi\n"
    "  movq 0(%rdi), %rbx\n  movq 8(%rdi), %rbp\n  movq 16(%rdi), %r12\n  movq 24(%rdi), %r13\n"
    "1:\n"
    /* Cross products a_i * a_j (i < j) into columns 1..6: r8 r9 r10 r11 r14 r15. */
    "  movq %rbx, %rax\n  mulq %rbp\n  movq %rax, %r8\n  movq %rdx, %r9\n"
    "  movq %rbx, %rax\n  mulq %r12\n  addq %rax, %r9\n  adcq $0, %rdx\n  movq %rdx, %r10\n"
    "  movq %rbx, %rax\n  mulq %r13\n  addq %rax, %r10\n  adcq $0, %rdx\n  movq %rdx, %r11\n"
    "  movq %rbp, %rax\n  mulq %r12\n  addq %rax, %r10\n  adcq $0, %rdx\n  movq %rdx, %rcx\n"
    "  movq %rbp, %rax\n  mulq %r13\n  addq %rcx, %rax\n  adcq $0, %rdx\n  addq %rax, %r11\n"
    "  adcq $0, %rdx\n  movq %rdx, %r14\n"
    "  movq %r12, %rax\n  mulq %r13\n  addq %rax, %r14\n  adcq $0, %rdx\n  movq %rdx, %r15\n"
    /* Doubled, with column 7 in rdi. */
    "  movq $0, %rdi\n"
    "  addq %r8, %r8\n  adcq %r9, %r9\n  adcq %r10, %r10\n  adcq %r11, %r11\n"
    "  adcq %r14, %r14\n  adcq %r15, %r15\n  adcq $0, %rdi\n"
    /* Plus the squares a_i^2; column 0 goes to rbx. */
    "  movq %rbx, %rax\n  mulq %rax\n  movq %rax, %rbx\n  movq %rdx, %rcx\n"
    "  movq %rbp, %rax\n  mulq %rax\n"
    "  addq %rcx, %r8\n  adcq %rax, %r9\n  adcq %rdx, %r10\n  adcq $0, %r11\n"
    "  adcq $0, %r14\n  adcq $0, %r15\n  adcq $0, %rdi\n"
    "  movq %r12, %rax\n  mulq %rax\n"
    "  addq %rax, %r11\n  adcq %rdx, %r14\n  adcq $0, %r15\n  adcq $0, %rdi\n"
    "  movq %r13, %rax\n  mulq %rax\n"
    "  addq %rax, %r15\n  adcq %rdx, %rdi\n"
    /* Reduce the low half, the registers' roles rotating back to rbx r8 r9 r10. */
    P256_MONT_STEP("rbx", "r8", "r9", "r10")
    P256_MONT_STEP("r8", "r9", "r10", "rbx")
    P256_MONT_STEP("r9", "r10", "rbx", "r8")
    P256_MONT_STEP("r10", "rbx", "r8", "r9")
    /* Add the high half (carry in rcx), subtract p unless that borrows. */
    "  movq $0, %rcx\n"
    "  addq %r11, %rbx\n  adcq %r14, %r8\n  adcq %r15, %r9\n  adcq %rdi, %r10\n  adcq $0, %rcx\n"
    "  movq %rbx, %r11\n  movq %r8, %r14\n  movq %r9, %r15\n  movq %r10, %rdi\n"
    "  subq $-1, %r11\n  sbbq .Lp256_p1(%rip), %r14\n  sbbq $0, %r15\n"
    "  sbbq .Lp256_p3(%rip), %rdi\n  sbbq $0, %rcx\n"
    "  cmovncq %r11, %rbx\n  cmovncq %r14, %r8\n  cmovncq %r15, %r9\n  cmovncq %rdi, %r10\n"
    "  movq %r8, %rbp\n  movq %r9, %r12\n  movq %r10, %r13\n"
    "  decq %rsi\n  jnz 1b\n"
    "  popq %rdi\n"
    "  movq %rbx, 0(%rdi)\n  movq %rbp, 8(%rdi)\n  movq %r12, 16(%rdi)\n  movq %r13, 24(%rdi)\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbp\n  popq %rbx\n"
    "  ret\n"
    ".size iotsec_p256_sqr_n_x86_64, .-iotsec_p256_sqr_n_x86_64\n");
/* clang-format on */

static void fe_sqr_n(fe r, const fe a, int n)
{
    memcpy(r, a, sizeof(fe));
    if (n > 0)
        iotsec_p256_sqr_n_x86_64(r, (uint64_t)n);
}
#else
/* One squaring: the six cross products once, doubled, plus the four squares. */
static inline void fe_sqr_limbs(uint64_t *r0, uint64_t *r1, uint64_t *r2, uint64_t *r3)
{
    uint64_t a0 = *r0, a1 = *r1, a2 = *r2, a3 = *r3, t1, t2, t3, t4, t5, t6, t7, carry = 0;
    u128 c = (u128)a0 * a1;
    t1 = (uint64_t)c;
    c = (u128)a0 * a2 + (uint64_t)(c >> 64);
    t2 = (uint64_t)c;
    c = (u128)a0 * a3 + (uint64_t)(c >> 64);
    t3 = (uint64_t)c;
    t4 = (uint64_t)(c >> 64);
    c = (u128)a1 * a2 + t3;
    t3 = (uint64_t)c;
    c = (u128)a1 * a3 + t4 + (uint64_t)(c >> 64);
    t4 = (uint64_t)c;
    t5 = (uint64_t)(c >> 64);
    c = (u128)a2 * a3 + t5;
    t5 = (uint64_t)c;
    t6 = (uint64_t)(c >> 64);
    t7 = t6 >> 63;
    t6 = (t6 << 1) | (t5 >> 63);
    t5 = (t5 << 1) | (t4 >> 63);
    t4 = (t4 << 1) | (t3 >> 63);
    t3 = (t3 << 1) | (t2 >> 63);
    t2 = (t2 << 1) | (t1 >> 63);
    t1 <<= 1;
    u128 s0 = (u128)a0 * a0, s1 = (u128)a1 * a1, s2 = (u128)a2 * a2, s3 = (u128)a3 * a3;
    uint64_t t[8];
    fe r;
    t[0] = (uint64_t)s0;
    t[1] = addc(t1, (uint64_t)(s0 >> 64), &carry);
    t[2] = addc(t2, (uint64_t)s1, &carry);
    t[3] = addc(t3, (uint64_t)(s1 >> 64), &carry);
    t[4] = addc(t4, (uint64_t)s2, &carry);
    t[5] = addc(t5, (uint64_t)(s2 >> 64), &carry);
    t[6] = addc(t6, (uint64_t)s3, &carry);
    t[7] = t7 + (uint64_t)(s3 >> 64) + carry;
    fe_mont_reduce(r, t);
    *r0 = r[0];
    *r1 = r[1];
    *r2 = r[2];
    *r3 = r[3];
}

static void fe_sqr_n(fe r, const fe a, int n)
{
    uint64_t r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3];
    while (n-- > 0)
        fe_sqr_limbs(&r0, &r1, &r2, &r3);
    r[0] = r0;
    r[1] = r1;
    r[2] = r2;
    r[3] = r3;
}
#endif

static void fe_sqr(fe r, const fe a)
{
    fe_sqr_n(r, a, 1);
}

static void fe_add(fe r, const fe a, const fe b)
{
    uint64_t carry = 0;
    uint64_t s0 = addc(a[0], b[0], &carry);
    uint64_t s1 = addc(a[1], b[1], &carry);
    uint64_t s2 = addc(a[2], b[2], &carry);
    uint64_t s3 = addc(a[3], b[3], &carry);
    fe_reduce_once(r, s0, s1, s2, s3, carry);
}

static void fe_sub(fe r, const fe a, const fe b)
{
    uint64_t borrow = 0, carry = 0;
    uint64_t d0 = subb(a[0], b[0], &borrow);
    uint64_t d1 = subb(a[1], b[1], &borrow);
    uint64_t d2 = subb(a[2], b[2], &borrow);
    uint64_t d3 = subb(a[3], b[3], &borrow);
    /* Add p back when the subtraction went below zero. */
    uint64_t mask = -borrow;
    r[0] = addc(d0, p256_p[0] & mask, &carry);
    r[1] = addc(d1, p256_p[1] & mask, &carry);
    r[2] = addc(d2, p256_p[2] & mask, &carry);
    r[3] = addc(d3, p256_p[3] & mask, &carry);
}

/* r = a^((p+1)/4), the square root of a when a is a square (p = 3 mod 4). The exponent is
 * 2^254 - 2^222 + 2^190 + 2^94: a run of 32 ones, then two single bits. */
static void fe_sqrt_candidate(fe r, const fe a)
{
    fe x2, x4, x8, x16, x32, t;
    fe_sqr(t, a);
    fe_mul(x2, t, a);
    fe_sqr_n(t, x2, 2);
    fe_mul(x4, t, x2);
    fe_sqr_n(t, x4, 4);
    fe_mul(x8, t, x4);
    fe_sqr_n(t, x8, 8);
    fe_mul(x16, t, x8);
    fe_sqr_n(t, x16, 16);
    fe_mul(x32, t, x16);
    fe_sqr_n(t, x32, 32);
    fe_mul(t, t, a);
    fe_sqr_n(t, t, 96);
    fe_mul(t, t, a);
    fe_sqr_n(r, t, 94);
}

static void fe_from_bytes(fe r, const uint8_t in[P256_FIELD_LEN])
{
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | in[(3 - i) * 8 + j];
        r[i] = v;
    }
}

static void fe_to_bytes(uint8_t out[P256_FIELD_LEN], const fe a)
{
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 8; j++)
            out[(3 - i) * 8 + j] = (uint8_t)(a[i] >> (56 - 8 * j));
    }
}

static bool fe_below_p(const fe a)
{
    for (int i = 3; i >= 0; i--) {
        if (a[i] != p256_p[i])
            return a[i] < p256_p[i];
    }
    return false;
}

/* SEC 1 §2.3.4: the uncompressed form of a compressed point, or false when x >= p or
 * x^3 - 3x + b has no square root (no point with that x). */
bool p256_decompress(const uint8_t in[P256_COMPRESSED_LEN],
                            uint8_t out[P256_UNCOMPRESSED_LEN])
{
    static const fe one = {1, 0, 0, 0}, zero = {0, 0, 0, 0};
    fe x, xm, rhs, t, y, check;
    fe_from_bytes(x, in + 1);
    if (!fe_below_p(x))
        return false;
    fe_mul(xm, x, p256_rr); /* into Montgomery form */
    fe_sqr(t, xm);
    fe_mul(rhs, t, xm); /* x^3 */
    fe_sub(rhs, rhs, xm);
    fe_sub(rhs, rhs, xm);
    fe_sub(rhs, rhs, xm); /* x^3 - 3x */
    fe_add(rhs, rhs, p256_b_mont);
    fe_sqrt_candidate(y, rhs);
    fe_sqr(check, y);
    if (memcmp(check, rhs, sizeof(fe)) != 0)
        return false;
    fe_mul(y, y, one); /* out of Montgomery form */
    if ((y[0] & 1) != (in[0] & 1)) {
        if ((y[0] | y[1] | y[2] | y[3]) == 0)
            return false; /* y = 0 has no odd twin */
        fe_sub(y, zero, y);
    }
    out[0] = 0x04;
    memcpy(out + 1, in + 1, P256_FIELD_LEN);
    fe_to_bytes(out + 1 + P256_FIELD_LEN, y);
    return true;
}
#endif /* HAVE_P256_DECOMPRESS */
