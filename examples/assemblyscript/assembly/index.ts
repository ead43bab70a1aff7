// index.ts — hecaton tasks written in AssemblyScript, with the helpers of hecaton.ts.
//
// Build and run, from the repository root (run.sh installs the compiler with `npm ci` first):
//
//     examples/assemblyscript/run.sh      # builds target/assemblyscript/tasks.wasm, maps square, greet
//     cargo run -p hecaton -- run target/assemblyscript/tasks.wasm --invoke greet '"world"'
//
// Tasks:
//   square  numeric task: i64 -> i64 (wraps around on overflow, like `i64.mul`).
//   add     numeric task: (i64, i64) -> i64.
//   greet   function task `hecaton_v1__greet`: a JSON string NAME in,
//           "hello, NAME from AssemblyScript" out; anything else -> bad input.
//   fail    function task `hecaton_v1__fail`: a guest error carrying its input.
//   crash   function task `hecaton_v1__crash`: a `throw`, which AssemblyScript (having no
//           exceptions) turns into `abort`, as it does a failed assertion or an index out of
//           range; `abort` is routed to the host's `hecaton.panic`, so it is a guest panic.
import { badInput, guestError, input, jsonString, ok, parseJsonString } from "./hecaton";

// The allocator the host fills the input into: a module with function tasks must export it.
export { hecaton_alloc } from "./hecaton";

export function square(x: i64): i64 {
  return x * x;
}

export function add(a: i64, b: i64): i64 {
  return a + b;
}

export function hecaton_v1__greet(ptr: usize, len: usize): usize {
  const name = parseJsonString(input(ptr, len));
  if (name === null) return badInput("greet takes one JSON string");
  return ok(jsonString("hello, " + name + " from AssemblyScript"));
}

export function hecaton_v1__fail(ptr: usize, len: usize): usize {
  return guestError("failed on " + input(ptr, len));
}

export function hecaton_v1__crash(ptr: usize, len: usize): usize {
  throw new Error("crash on " + input(ptr, len));
}
