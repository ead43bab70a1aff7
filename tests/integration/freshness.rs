//! Fresh means fresh: a pooling slot reused by thousands of tasks never shows one task's memory
//! to the next, whichever memory reset the engine chose for this machine.

use std::num::NonZeroUsize;

use hecaton::{Engine, Isolation, MemoryReset, Pool};
use hecaton_tests::fixture;

use crate::load;

/// `canary(n)` counts the pages still holding a previous task's canary, then (n even) writes
/// its own: 256 pages spread over 8 MiB, inside and beyond what a slot keeps resident.
fn canary_pages() -> hecaton::Module {
    load(fixture("canary-pages.wat"))
}

#[test]
fn no_task_sees_the_canaries_of_the_task_before() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let stale: Vec<i64> = pool
        .job(&canary_pages(), "canary")
        .unwrap()
        .isolation(Isolation::Task)
        .map_numeric(0..4000_i64)
        .unwrap();
    let seen: Vec<(usize, i64)> = stale
        .into_iter()
        .enumerate()
        .filter(|&(_, pages)| pages != 0)
        .collect();
    assert_eq!(seen, [], "(task, canary pages it saw)");
}

/// The control: the fixture does see canaries when memory is not fresh, so the test above
/// cannot pass by seeing nothing.
#[test]
fn a_reused_instance_sees_the_canaries() {
    let pool = Pool::builder().workers(1).chunksize(4).build().unwrap();
    let stale: Vec<i64> = pool
        .job(&canary_pages(), "canary")
        .unwrap()
        .isolation(Isolation::Worker {
            max_tasks_per_instance: NonZeroUsize::new(2),
        })
        .map_numeric(0..4_i64)
        .unwrap();
    assert_eq!(stale, [0, 256, 0, 256]);
}

/// `PAGEMAP_SCAN` misses dirty pages that are swapped out, so it is used only without swap (and
/// where the kernel has it, Linux 6.7+).
#[test]
fn the_reset_is_pagemap_scan_only_without_swap() {
    let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    let no_swap = swaps.lines().count() == 1 && swaps.starts_with("Filename");
    let expected = if no_swap && wasmtime::PoolingAllocationConfig::is_pagemap_scan_available() {
        MemoryReset::PagemapScan
    } else {
        MemoryReset::Madvise
    };
    assert_eq!(
        Engine::new().unwrap().memory_reset(),
        expected,
        "/proc/swaps: {swaps:?}"
    );
}
