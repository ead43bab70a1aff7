/*
 * square.c — hecaton tasks written in C.
 *
 * Build (Debian: clang, lld, wasi-libc, libclang-rt-14-dev-wasm32), from examples/c:
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -o square.wasm square.c
 *
 * Debian's clang finds wasi-libc (/usr/include/wasm32-wasi, /usr/lib/wasm32-wasi) by
 * itself; with wasi-sdk or another layout add --sysroot=<wasi-sysroot>. The reactor
 * exec model links crt1-reactor.o: no `main`, and an `_initialize` export (running C
 * constructors) that the host calls before each task. The module imports nothing.
 *
 * Tasks:
 *   square  function task: a JSON integer in, its square (a JSON integer) out;
 *           not an integer -> bad input; a square beyond i64 -> guest error.
 *   greet   function task: a JSON string NAME in, "Hello, NAME from C" out.
 *   add     numeric task: (i64, i64) -> i64.
 */
#include <stdbool.h>

#include "hecaton.h"

/* JSON's four whitespace characters. */
static bool is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips whitespace from *at; returns false if nothing but whitespace remains. */
static bool skip_space(const char *input, size_t len, size_t *at) {
    while (*at < len && is_json_space(input[*at])) (*at)++;
    return *at < len;
}

/*
 * Parses a JSON integer (optional '-', digits without leading zeros, no fraction or
 * exponent) surrounded by optional whitespace. Returns false if the input is anything
 * else or does not fit in an int64_t.
 */
static bool parse_i64(const char *input, size_t len, int64_t *out) {
    size_t at = 0;
    if (!skip_space(input, len, &at)) return false;

    bool negative = input[at] == '-';
    if (negative) at++;

    size_t first = at;
    uint64_t magnitude = 0;
    while (at < len && input[at] >= '0' && input[at] <= '9') {
        unsigned digit = (unsigned)(input[at] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) return false; /* way too big */
        magnitude = magnitude * 10 + digit;
        at++;
    }
    size_t digits = at - first;
    if (digits == 0) return false;                         /* "", "-", "x" */
    if (digits > 1 && input[first] == '0') return false;   /* "007" is not JSON */
    if (skip_space(input, len, &at)) return false;         /* "7.5", "7 8", "7x" */

    /* int64_t holds -2^63 ..= 2^63 - 1. */
    if (negative) {
        if (magnitude > (uint64_t)INT64_MAX + 1) return false;
        *out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
    } else {
        if (magnitude > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)magnitude;
    }
    return true;
}

HECATON_TASK(square) {
    int64_t n, result;
    if (!parse_i64(input, len, &n))
        return hecaton_bad_input("square takes one JSON integer (an i64)");
    if (__builtin_mul_overflow(n, n, &result))
        return hecaton_error("the square does not fit in an i64");
    return hecaton_ok_i64(result);
}

HECATON_TASK(greet) {
    /* A JSON string without escapes: optional whitespace, "NAME", optional whitespace. */
    size_t at = 0;
    if (!skip_space(input, len, &at) || input[at] != '"')
        return hecaton_bad_input("greet takes one JSON string");
    size_t start = ++at;
    while (at < len && input[at] != '"') {
        if (input[at] == '\\')
            return hecaton_bad_input("greet does not support escapes in the name");
        if ((unsigned char)input[at] < 0x20)
            return hecaton_bad_input("greet takes one JSON string (control character)");
        at++;
    }
    if (at == len) return hecaton_bad_input("greet takes one JSON string (unterminated)");
    size_t name_len = at - start;
    at++; /* the closing quote */
    if (skip_space(input, len, &at))
        return hecaton_bad_input("greet takes one JSON string (trailing characters)");

    /* NAME has no quote, backslash or control character, so it goes in unescaped.
     * (hecaton_okf("\"Hello, %.*s from C\"", ...) would do too, at the cost of
     * linking stdio; see hecaton.h.) */
    static const char before[] = "\"Hello, ", after[] = " from C\"";
    size_t out_len = sizeof before - 1 + name_len + sizeof after - 1;
    char *out = malloc(out_len);
    if (out == NULL) return hecaton_error("out of memory");
    memcpy(out, before, sizeof before - 1);
    memcpy(out + sizeof before - 1, input + start, name_len);
    memcpy(out + sizeof before - 1 + name_len, after, sizeof after - 1);
    return hecaton_ok(out, out_len);
}

/* A numeric task: callable as `add` with input [a, b]; wraps around on overflow. */
__attribute__((export_name("add")))
int64_t add(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
