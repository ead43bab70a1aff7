// Builds the JavaScript test guest into a component: `node build.mjs OUT` (run by tests/build.rs).
// componentize-js's `http` and `fetch-event` features are disabled, so the component imports only
// WASI 0.2's cli, io, clocks and random interfaces (stdio for errors, clocks and random for
// JavaScript's own Date, timers and Math.random).
//
// package.json pins @bytecodealliance/preview2-shim beside componentize-js: componentize-js 0.23.0
// imports it (to run its own splicer under node) without depending on it, and with 0.26 the
// splicer cannot read the wit folder.

import { componentize } from "@bytecodealliance/componentize-js";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const [output] = process.argv.slice(2);
if (!output) {
  console.error("usage: node build.mjs OUT.wasm");
  process.exit(2);
}
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { component } = await componentize({
  sourcePath: here("src/guest.js"),
  witPath: here("wit"),
  worldName: "guest",
  disableFeatures: ["http", "fetch-event"],
});
await writeFile(output, component);
