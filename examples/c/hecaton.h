/*
 * hecaton.h — the hecaton guest ABI (version 1) for C, in one header.
 *
 * This header is the C counterpart of the Rust SDK. It implements the contract in
 * guest/abi/ABI.md so that a C task is a few lines long:
 *
 *     #include "hecaton.h"
 *
 *     HECATON_TASK(shout) {           // exported as "hecaton:v1:shout"
 *         // `input` / `len` are the task's input: JSON bytes, not NUL-terminated.
 *         if (len == 0) return hecaton_bad_input("expected a JSON value");
 *         return hecaton_ok_i64((int64_t)len);   // the output: JSON, here a number
 *     }
 *
 * Build a module with clang and wasi-libc (Debian: packages clang, lld, wasi-libc,
 * libclang-rt-14-dev-wasm32), as a WASI *reactor* so that there is no `main`:
 *
 *     clang --target=wasm32-wasi -O2 -mexec-model=reactor -o task.wasm task.c
 *
 * What the ABI asks of a module, and where this header does it:
 *
 *   - export `memory`: wasm-ld exports the linear memory by default;
 *   - export `hecaton_alloc(len) -> ptr`: defined below with malloc (the host calls it
 *     to get room for the input, then writes the input there);
 *   - export `hecaton:v1:NAME(ptr, len) -> record address` for each function task:
 *     HECATON_TASK(NAME) defines it around your function body;
 *   - return the address of a 12-byte result record {status, ptr, len} (three
 *     little-endian u32): the HECATON_TASK wrapper writes it from the
 *     `hecaton_result` your body returns.
 *
 * Memory is never freed: the host runs every task in a fresh instance and discards
 * it afterwards, so leaking is the right strategy (and the fastest).
 *
 * Numeric tasks need nothing from this header: any exported function whose parameters
 * and results are int32_t/int64_t/float/double can be invoked by name, e.g.
 *
 *     __attribute__((export_name("add"))) int64_t add(int64_t a, int64_t b) { return a + b; }
 *
 * One module = usually one .c file. If a module is linked from several files that all
 * include this header, `#define HECATON_NO_ALLOC` before the include in all but one of
 * them, so that `hecaton_alloc` is defined once.
 */
#ifndef HECATON_H
#define HECATON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__wasm32__)
#error "hecaton.h is for wasm32 guests: compile with clang --target=wasm32-wasi"
#endif

/* ------------------------------------------------------------------------------------
 * Constants (the same values as the hecaton-abi crate).
 * ---------------------------------------------------------------------------------- */

/* The payload is the output value, encoded as JSON (UTF-8). */
#define HECATON_STATUS_OK 0u
/* The task failed on its own terms; the payload is a UTF-8 message. */
#define HECATON_STATUS_GUEST_ERROR 1u
/* The task could not decode its input; the payload is a UTF-8 message. */
#define HECATON_STATUS_BAD_INPUT 2u

/* Shorter spellings, for task code. */
#define STATUS_OK HECATON_STATUS_OK
#define STATUS_GUEST_ERROR HECATON_STATUS_GUEST_ERROR
#define STATUS_BAD_INPUT HECATON_STATUS_BAD_INPUT

/* ------------------------------------------------------------------------------------
 * Results.
 * ---------------------------------------------------------------------------------- */

/*
 * What a task body returns: a status and its payload (`len` bytes at `data`).
 * The payload must stay valid after the body returns, so point it at a string
 * literal, a static buffer or malloc'ed memory, never at a local array. Build one
 * with the helpers below rather than by hand.
 */
typedef struct hecaton_result {
    uint32_t status;  /* HECATON_STATUS_* */
    const char *data; /* the payload */
    size_t len;       /* its length in bytes (no NUL terminator is needed or sent) */
} hecaton_result;

/* A result with this status and payload. */
static inline hecaton_result hecaton_result_of(uint32_t status, const char *data, size_t len) {
    hecaton_result r = {status, data, len};
    return r;
}

/* Success: `len` bytes of JSON at `json`. */
static inline hecaton_result hecaton_ok(const char *json, size_t len) {
    return hecaton_result_of(HECATON_STATUS_OK, json, len);
}

/* Success: a NUL-terminated JSON text, e.g. hecaton_ok_str("null"). */
static inline hecaton_result hecaton_ok_str(const char *json) {
    return hecaton_ok(json, strlen(json));
}

/* Success: an integer as JSON, without printf (the buffer is malloc'ed). */
static inline hecaton_result hecaton_ok_i64(int64_t value) {
    char *buffer = malloc(20); /* "-9223372036854775808" is the longest: 20 bytes */
    if (buffer == NULL)
        return hecaton_result_of(HECATON_STATUS_GUEST_ERROR, "out of memory", 13);
    /* Work with the magnitude as unsigned so that INT64_MIN is no special case. */
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    char *end = buffer + 20, *at = end;
    do {
        *--at = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0) *--at = '-';
    return hecaton_ok(at, (size_t)(end - at));
}

/* Guest error (status 1): the task failed; `message` is NUL-terminated UTF-8. */
static inline hecaton_result hecaton_error(const char *message) {
    return hecaton_result_of(HECATON_STATUS_GUEST_ERROR, message, strlen(message));
}

/* Bad input (status 2): the input is not what the task takes; NUL-terminated UTF-8. */
static inline hecaton_result hecaton_bad_input(const char *message) {
    return hecaton_result_of(HECATON_STATUS_BAD_INPUT, message, strlen(message));
}

/* A result whose payload is printf-formatted into a fresh malloc'ed buffer. */
static inline hecaton_result hecaton_vformat(uint32_t status, const char *format, va_list args) {
    va_list again;
    va_copy(again, args);
    int n = vsnprintf(NULL, 0, format, args); /* measure */
    char *buffer = n < 0 ? NULL : malloc((size_t)n + 1);
    if (buffer == NULL) {
        va_end(again);
        return hecaton_error("hecaton.h: cannot format the result (out of memory)");
    }
    vsnprintf(buffer, (size_t)n + 1, format, again); /* write */
    va_end(again);
    return hecaton_result_of(status, buffer, (size_t)n);
}

/*
 * printf-style versions of the three helpers above. It is up to you that the text
 * of hecaton_okf is JSON: hecaton_okf("%" PRId64, n) is, hecaton_okf("%s", name) is
 * not (a JSON string needs its quotes: "\"%s\"", and escapes inside).
 *
 * Cost: vsnprintf links wasi-libc's stdio, which makes the module import three WASI
 * functions (fd_write, fd_seek, fd_close). That is allowed, the host links WASI for
 * such a module, but a module that only uses the other helpers imports nothing.
 */
__attribute__((format(printf, 1, 2)))
static inline hecaton_result hecaton_okf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    hecaton_result r = hecaton_vformat(HECATON_STATUS_OK, format, args);
    va_end(args);
    return r;
}

__attribute__((format(printf, 1, 2)))
static inline hecaton_result hecaton_errorf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    hecaton_result r = hecaton_vformat(HECATON_STATUS_GUEST_ERROR, format, args);
    va_end(args);
    return r;
}

__attribute__((format(printf, 1, 2)))
static inline hecaton_result hecaton_bad_inputf(const char *format, ...) {
    va_list args;
    va_start(args, format);
    hecaton_result r = hecaton_vformat(HECATON_STATUS_BAD_INPUT, format, args);
    va_end(args);
    return r;
}

/* ------------------------------------------------------------------------------------
 * Function tasks.
 * ---------------------------------------------------------------------------------- */

/*
 * The 12-byte result record whose address a function task returns: three u32s,
 * little-endian (wasm always is). One per module is enough: the host reads it as soon
 * as the task returns and then throws the whole instance away.
 */
static uint32_t hecaton_record_[3];

/* Store `r` in the record; return the record's address for the host. */
static inline uint32_t hecaton_finish_(hecaton_result r) {
    hecaton_record_[0] = r.status;
    hecaton_record_[1] = (uint32_t)(uintptr_t)r.data;
    hecaton_record_[2] = (uint32_t)r.len;
    return (uint32_t)(uintptr_t)hecaton_record_;
}

/*
 * HECATON_TASK(NAME) { body }
 *
 * Defines function task NAME: the export "hecaton:v1:NAME" of wasm type
 * (func (param i32 i32) (result i32)), whose body sees
 *
 *     const char *input   the input bytes: a JSON value (NULL when len == 0);
 *     size_t len          their count (the input is NOT NUL-terminated);
 *
 * and returns a hecaton_result (hecaton_ok…, hecaton_error…, hecaton_bad_input…).
 * The body is an ordinary static C function called NAME, so NAME must be a valid C
 * identifier and may be called from other C code of the module too.
 *
 * Remember the ABI's input convention: a task of one parameter gets that value's
 * JSON (`7`, `"Ada"`), a task of several gets a JSON array (`[1, 2]`), a task of none
 * gets `null`.
 */
#define HECATON_TASK(NAME)                                                         \
    static hecaton_result NAME(const char *input HECATON_MAYBE_UNUSED_,           \
                               size_t len HECATON_MAYBE_UNUSED_);                  \
    __attribute__((export_name("hecaton:v1:" #NAME)))                              \
    uint32_t hecaton_task_export_##NAME##_(uint32_t in_ptr, uint32_t in_len) {     \
        return hecaton_finish_(NAME((const char *)(uintptr_t)in_ptr, (size_t)in_len)); \
    }                                                                              \
    static hecaton_result NAME(const char *input HECATON_MAYBE_UNUSED_,           \
                               size_t len HECATON_MAYBE_UNUSED_)

/* A task that ignores its input (it takes `null`) need not say so to -Wextra. */
#define HECATON_MAYBE_UNUSED_ __attribute__((unused))

/*
 * The allocator export: the host calls hecaton_alloc(len(IN)) and writes the input
 * at the address it returns. 0 means "cannot allocate" (malloc's NULL is address 0).
 */
#ifndef HECATON_NO_ALLOC
__attribute__((export_name("hecaton_alloc")))
uint32_t hecaton_alloc(uint32_t len) {
    return (uint32_t)(uintptr_t)malloc(len);
}
#endif

/* ------------------------------------------------------------------------------------
 * Host functions (module "hecaton"). All optional: a declaration costs nothing, and
 * the module imports a function only if your code calls it.
 * ---------------------------------------------------------------------------------- */

/* This task's id: unique among the tasks this host runs, like a process id. */
__attribute__((import_module("hecaton"), import_name("task_id")))
int64_t hecaton_task_id(void);

/* 1 for the first run of an input, 2 for its first retry, … */
__attribute__((import_module("hecaton"), import_name("attempt")))
int32_t hecaton_attempt(void);

/* End the task now as a guest error carrying `len` bytes of UTF-8 at `message`. */
__attribute__((import_module("hecaton"), import_name("panic"), noreturn))
void hecaton_panic_n(const char *message, size_t len);

/* The same for a NUL-terminated message. Never returns. */
__attribute__((noreturn))
static inline void hecaton_panic(const char *message) {
    hecaton_panic_n(message, strlen(message));
}

#endif /* HECATON_H */
