// hecaton.ts — the hecaton guest ABI (version 1) for AssemblyScript, in one file.
//
// The AssemblyScript counterpart of examples/c/hecaton.h: it implements the contract in
// guest/abi/ABI.md so that a task is a few lines long:
//
//     import { input, ok, badInput, jsonString, parseJsonString } from "./hecaton";
//     export { hecaton_alloc } from "./hecaton";
//
//     export function hecaton_v1__shout(ptr: usize, len: usize): usize {
//       const text = parseJsonString(input(ptr, len));
//       if (text === null) return badInput("shout takes one JSON string");
//       return ok(jsonString(text.toUpperCase()));
//     }
//
// What the ABI asks of a module, and where it is done:
//
//   - export `memory`: asc exports the linear memory by default;
//   - export `hecaton_alloc(len) -> ptr`: defined below; the entry file re-exports it;
//   - export a function task NAME: AssemblyScript export names are identifiers, so `hecaton:v1:NAME`
//     cannot be written; the ABI's identifier-safe spelling `hecaton_v1__NAME` is the same task;
//   - return the address of a 12-byte result record {status, ptr, len} (three little-endian
//     u32): `ok`, `guestError` and `badInput` write it and return its address.
//
// Numeric tasks need nothing from this file: an exported function taking and returning only
// i32/i64/f32/f64 (`export function add(a: i64, b: i64): i64`) is one.
//
// The runtime is `--runtime stub` (asconfig.json): a bump allocator that never frees, no garbage
// collector, no shadow stack. The host runs every task in a fresh instance and discards it
// afterwards, so freeing is wasted work and leaking is the right strategy (as in hecaton.h). The
// ABI's memory is safe under any AssemblyScript runtime, since `heap.alloc` returns a raw block,
// never a managed object, and AssemblyScript's collectors neither move objects nor free raw
// blocks; but under the stub that holds trivially, for every address handed to or received from
// the host, and the module is smaller and each task faster than with the incremental GC.
//
// Compile with `--use abort=assembly/hecaton/hecatonAbort` (asconfig.json does): AssemblyScript's
// `abort` (a failed assertion, an index out of range, `throw`) otherwise becomes an `env.abort`
// import, which the host refuses. Routed here it ends the task through the `hecaton.panic` host
// function, as a panic carrying the message and its source location.

import { BLOCK_MAXSIZE } from "~lib/rt/common";

/** The payload is the output value, encoded as JSON (UTF-8). */
export const STATUS_OK: u32 = 0;
/** The task failed on its own terms; the payload is a UTF-8 message. */
export const STATUS_GUEST_ERROR: u32 = 1;
/** The task could not decode its input; the payload is a UTF-8 message. */
export const STATUS_BAD_INPUT: u32 = 2;

// ---------------------------------------------------------------------------------------------
// Host functions (module "hecaton"). All optional: a module imports one only if it is called.
// ---------------------------------------------------------------------------------------------

/** This task's id: unique among the tasks this host runs, like a process id. */
// @ts-ignore: decorator
@external("hecaton", "task_id")
export declare function taskId(): i64;

/** 1 for the first run of an input, 2 for its first retry, … */
// @ts-ignore: decorator
@external("hecaton", "attempt")
export declare function attempt(): i32;

/** Ends the task now as a guest panic carrying `len` bytes of UTF-8 at `ptr`. Never returns. */
// @ts-ignore: decorator
@external("hecaton", "panic")
declare function hostPanic(ptr: usize, len: usize): void;

/** Ends the task now as a guest panic carrying `message`. Never returns. */
export function panic(message: string): void {
  const bytes = String.UTF8.encode(message);
  hostPanic(changetype<usize>(bytes), <usize>bytes.byteLength);
  unreachable(); // the host stops the task inside `hostPanic`
}

/**
 * AssemblyScript's `abort`, routed here by `--use abort=assembly/hecaton/hecatonAbort`:
 * a panic such as "index out of range at assembly/index.ts:12:5".
 */
export function hecatonAbort(
  message: string | null,
  fileName: string | null,
  lineNumber: u32,
  columnNumber: u32,
): void {
  let text = message !== null ? message : "abort";
  if (fileName !== null) {
    text += " at " + fileName + ":" + lineNumber.toString() + ":" + columnNumber.toString();
  }
  panic(text);
}

// ---------------------------------------------------------------------------------------------
// Input and the allocator.
// ---------------------------------------------------------------------------------------------

/**
 * The allocator export: the host calls `hecaton_alloc(len(IN))` and writes the input at the
 * address it returns. `heap.alloc` is the runtime's raw allocator: the block is not a managed
 * object, and under the stub runtime it is never freed or moved. A block too large for the
 * allocator is reported as `0`, as the ABI asks; a memory that cannot grow any more is stopped by
 * the host's memory limit first (or traps in the stub's allocator).
 */
export function hecaton_alloc(len: usize): usize {
  if (len > BLOCK_MAXSIZE) return 0; // `heap.alloc` would abort
  return heap.alloc(len);
}

/** The task's input, `len` bytes of UTF-8 JSON at `ptr` (`""` when the host passes 0, 0). */
export function input(ptr: usize, len: usize): string {
  return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, len);
}

// ---------------------------------------------------------------------------------------------
// Results.
// ---------------------------------------------------------------------------------------------

/**
 * The 12-byte result record whose address a function task returns: three u32s, little-endian
 * (wasm always is). One per module is enough: the host reads it as soon as the task returns and
 * then throws the whole instance away.
 */
const RECORD: usize = memory.data(12, 4);

/** Writes the record for `status` and the UTF-8 encoding of `payload`; returns its address. */
export function result(status: u32, payload: string): usize {
  const bytes = String.UTF8.encode(payload);
  store<u32>(RECORD, status, 0);
  store<u32>(RECORD, <u32>changetype<usize>(bytes), 4);
  store<u32>(RECORD, <u32>bytes.byteLength, 8);
  return RECORD;
}

/** Success: `json` is the output value, already encoded as JSON (`ok("49")`, `ok("null")`). */
export function ok(json: string): usize {
  return result(STATUS_OK, json);
}

/** Guest error (status 1): the task failed on its own terms. */
export function guestError(message: string): usize {
  return result(STATUS_GUEST_ERROR, message);
}

/** Bad input (status 2): the input is not what the task takes. */
export function badInput(message: string): usize {
  return result(STATUS_BAD_INPUT, message);
}

// ---------------------------------------------------------------------------------------------
// JSON strings, the one JSON type a task needs most (a JSON library such as assemblyscript-json
// does the rest).
// ---------------------------------------------------------------------------------------------

/** `text` as a JSON string: quoted, with `"`, `\` and control characters escaped. */
export function jsonString(text: string): string {
  let out = "\"";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

/** The value of `json` if it is one JSON string (whitespace around it allowed), else `null`. */
export function parseJsonString(json: string): string | null {
  let at = skipSpace(json, 0);
  if (at >= json.length || json.charCodeAt(at) != 0x22) return null;
  at++;
  let out = "";
  while (true) {
    if (at >= json.length) return null; // unterminated
    const c = json.charCodeAt(at++);
    if (c == 0x22) break;
    if (c < 0x20) return null; // a raw control character
    if (c != 0x5c) {
      out += String.fromCharCode(c);
      continue;
    }
    if (at >= json.length) return null;
    const e = json.charCodeAt(at++);
    if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
    else if (e == 0x62) out += "\b";
    else if (e == 0x66) out += "\f";
    else if (e == 0x6e) out += "\n";
    else if (e == 0x72) out += "\r";
    else if (e == 0x74) out += "\t";
    else if (e == 0x75) {
      // \uXXXX is one UTF-16 code unit, which is what an AssemblyScript string holds: a
      // surrogate pair written as two escapes becomes the same pair here.
      if (at + 4 > json.length) return null;
      let unit = 0;
      for (let k = 0; k < 4; k++) {
        const digit = hexDigit(json.charCodeAt(at++));
        if (digit < 0) return null;
        unit = (unit << 4) | digit;
      }
      out += String.fromCharCode(unit);
    } else return null;
  }
  return skipSpace(json, at) == json.length ? out : null;
}

/** The index of the first character at or after `at` that is not JSON whitespace. */
function skipSpace(json: string, at: i32): i32 {
  while (at < json.length) {
    const c = json.charCodeAt(at);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    at++;
  }
  return at;
}

/** The value of hexadecimal digit `c`, or -1. */
function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
