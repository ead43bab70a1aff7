// A JavaScript test guest (componentize-js, world `guest` in wit/guest.wit). Each export is a
// function named in camelCase; an s64 is a BigInt; a variant is `{ tag, val }`; a `result`'s
// error is thrown.

export function square(x) {
  return BigInt.asIntN(64, x * x);
}

export function greet(name) {
  return `Hello, ${name}!`;
}

export function reverse(xs) {
  return [...xs].reverse();
}

export function classify(n) {
  if (n < 0) return { tag: "negative", val: n };
  if (n > 0) return { tag: "positive", val: n };
  return { tag: "zero" };
}

export function parse(s) {
  const n = Number(s);
  if (s.trim() === "" || Number.isNaN(n)) {
    throw `not a number: ${s}`;
  }
  return n;
}
