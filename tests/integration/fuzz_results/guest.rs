//! The one guest that hands back every hostile item: a module generated as WAT text, its
//! payloads and records in data segments.
//!
//! Item `i` of the module (from 0) is reached three ways:
//! - function task `pick`, input the JSON number `i`: returns the address of item `i`'s result
//!   record (an index past the last item returns address `u32::MAX`);
//! - function task `print`, input `i`: writes item `i`'s payload to stdout and to stderr, and
//!   returns `null`;
//! - the WASI command (`_start`), stdin the decimal `i`: writes item `i`'s payload to stdout and
//!   to stderr, and exits 0.
//!
//! Item 0 is always the [`SENTINEL`], an honest `"hecaton-fuzz-sentinel"`: interleaved between
//! the hostile items, it tells which output bytes belong to which item even when an output
//! spans several lines.

use std::fmt::Write;

use crate::fuzz_results::payloads::{At, Item, Len, Ptr, Record};

/// The text of the sentinel's payload, which no generated payload contains.
pub(crate) const SENTINEL: &str = "hecaton-fuzz-sentinel";

/// Where the fixed parts of the memory are.
mod layout {
    /// The `iovec` that `fd_write` and `fd_read` are given.
    pub(super) const IOVEC: u32 = 16;
    /// Where `fd_write` and `fd_read` store their count.
    pub(super) const COUNT: u32 = 32;
    /// The command's stdin, up to 64 bytes.
    pub(super) const STDIN: u32 = 64;
    /// The input `hecaton_alloc` hands out, up to 64 bytes.
    pub(super) const INPUT: u32 = 128;
    /// `null`, and an honest OK record of it, for `print`.
    pub(super) const NULL: u32 = 256;
    pub(super) const NULL_RECORD: u32 = 272;
    /// The first payload.
    pub(super) const PAYLOADS: u32 = 1024;
}

/// A generated guest module.
#[derive(Debug)]
pub(crate) struct Guest {
    /// The module's WebAssembly text.
    pub(crate) wat: String,
}

/// The module index of hostile item `i` (0 is the sentinel).
pub(crate) fn module_index(item: usize) -> usize {
    item + 1
}

impl Guest {
    /// A module holding the sentinel and then `items`.
    pub(crate) fn new(items: &[Item]) -> Self {
        let sentinel = Item {
            class: "sentinel",
            payload: format!("\"{SENTINEL}\"").into_bytes(),
            record: Record::honest(0),
        };
        let all: Vec<&Item> = std::iter::once(&sentinel).chain(items).collect();
        let count = all.len() as u32;
        // Payloads one after the other, then the tables, 4-aligned.
        let mut payloads = Vec::new();
        let mut addresses = Vec::new();
        for item in &all {
            addresses.push(layout::PAYLOADS + payloads.len() as u32);
            payloads.extend_from_slice(&item.payload);
        }
        let payload_table = align4(layout::PAYLOADS + payloads.len() as u32);
        let records = payload_table + 8 * count;
        let record_addresses = records + 12 * count;
        let end = record_addresses + 4 * count;
        // A spare page after the data: what a lying pointer near the end reads is zeros.
        let pages = end.div_ceil(65536) + 1;
        let memory_size = pages * 65536;
        let mut payload_entries = Vec::new();
        let mut record_entries = Vec::new();
        let mut address_entries = Vec::new();
        for (i, (item, &address)) in all.iter().zip(&addresses).enumerate() {
            let len = item.payload.len() as u32;
            payload_entries.extend(words(&[address, len]));
            let Record {
                status,
                ptr,
                len: record_len,
                at,
            } = item.record;
            let ptr = match ptr {
                Ptr::Payload => address,
                Ptr::Shifted(by) => address + by,
                Ptr::Absolute(ptr) => ptr,
                Ptr::BeforeEnd(by) => memory_size.saturating_sub(by),
            };
            let record_len = match record_len {
                Len::Payload => len,
                Len::Shorter(by) => len.saturating_sub(by),
                Len::Longer(by) => len + by,
                Len::Absolute(len) => len,
            };
            record_entries.extend(words(&[status, ptr, record_len]));
            let returned = match at {
                At::Table => records + 12 * i as u32,
                At::Absolute(address) => address,
                At::Straddling(by) => memory_size - by,
            };
            address_entries.extend(words(&[returned]));
        }
        let mut wat = String::new();
        writeln!(
            wat,
            r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") {pages} {pages})"#
        )
        .unwrap();
        data(&mut wat, layout::NULL, b"null");
        data(
            &mut wat,
            layout::NULL_RECORD,
            &words(&[0, layout::NULL, 4]).collect::<Vec<u8>>(),
        );
        data(&mut wat, layout::PAYLOADS, &payloads);
        data(&mut wat, payload_table, &payload_entries);
        data(&mut wat, records, &record_entries);
        data(&mut wat, record_addresses, &address_entries);
        write!(
            wat,
            r#"
  (func (export "hecaton_alloc") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 64))
      (then (i32.const 0))
      (else (i32.const {input}))))

  ;; The decimal digits of ptr..ptr+len, other bytes skipped.
  (func $index (param $ptr i32) (param $len i32) (result i32)
    (local $i i32) (local $digit i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $len)))
      (local.set $digit (i32.sub (i32.load8_u (local.get $ptr)) (i32.const 48)))
      (if (i32.lt_u (local.get $digit) (i32.const 10))
        (then (local.set $i (i32.add (i32.mul (local.get $i) (i32.const 10)) (local.get $digit)))))
      (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (br $next)))
    (local.get $i))

  (func (export "hecaton:v1:pick") (param $ptr i32) (param $len i32) (result i32)
    (local $i i32)
    (local.set $i (call $index (local.get $ptr) (local.get $len)))
    (if (i32.ge_u (local.get $i) (i32.const {count})) (then (return (i32.const -1))))
    (i32.load (i32.add (i32.const {record_addresses}) (i32.shl (local.get $i) (i32.const 2)))))

  ;; Writes ptr..ptr+len to fd, going on after short writes, stopping at an error.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (block $done (loop $more
      (br_if $done (i32.eqz (local.get $len)))
      (i32.store (i32.const {iovec}) (local.get $ptr))
      (i32.store (i32.const {iovec_len}) (local.get $len))
      (br_if $done (call $fd_write (local.get $fd) (i32.const {iovec}) (i32.const 1) (i32.const {written})))
      (br_if $done (i32.eqz (i32.load (i32.const {written}))))
      (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const {written}))))
      (local.set $len (i32.sub (local.get $len) (i32.load (i32.const {written}))))
      (br $more))))

  ;; Writes item i's payload to stdout, then to stderr.
  (func $print (param $i i32)
    (local $entry i32)
    (if (i32.ge_u (local.get $i) (i32.const {count})) (then (return)))
    (local.set $entry (i32.add (i32.const {payload_table}) (i32.shl (local.get $i) (i32.const 3))))
    (call $write (i32.const 1) (i32.load (local.get $entry)) (i32.load offset=4 (local.get $entry)))
    (call $write (i32.const 2) (i32.load (local.get $entry)) (i32.load offset=4 (local.get $entry))))

  (func (export "hecaton:v1:print") (param $ptr i32) (param $len i32) (result i32)
    (call $print (call $index (local.get $ptr) (local.get $len)))
    (i32.const {null_record}))

  (func (export "_start")
    (i32.store (i32.const {iovec}) (i32.const {stdin}))
    (i32.store (i32.const {iovec_len}) (i32.const 64))
    (i32.store (i32.const {written}) (i32.const 0))
    (drop (call $fd_read (i32.const 0) (i32.const {iovec}) (i32.const 1) (i32.const {written})))
    (call $print (call $index (i32.const {stdin}) (i32.load (i32.const {written})))))
)
"#,
            input = layout::INPUT,
            iovec = layout::IOVEC,
            iovec_len = layout::IOVEC + 4,
            written = layout::COUNT,
            stdin = layout::STDIN,
            null_record = layout::NULL_RECORD,
        )
        .unwrap();
        Self { wat }
    }

    /// The module's binary.
    pub(crate) fn wasm(&self) -> Vec<u8> {
        wat::parse_str(&self.wat).expect("the generated guest is valid WAT")
    }
}

fn align4(address: u32) -> u32 {
    address.next_multiple_of(4)
}

fn words(words: &[u32]) -> impl Iterator<Item = u8> + '_ {
    words.iter().flat_map(|word| word.to_le_bytes())
}

/// A data segment: every byte as a `\hh` escape, so any bytes survive the text.
fn data(wat: &mut String, address: u32, bytes: &[u8]) {
    write!(wat, "  (data (i32.const {address}) \"").unwrap();
    for byte in bytes {
        write!(wat, "\\{byte:02x}").unwrap();
    }
    wat.push_str("\")\n");
}
