//! How a pooled slot's memory is made fresh between tasks ([`MemoryReset`]), and the check it
//! passes when an engine is made: a canary written into a pooled slot must be gone when the
//! next instance gets that slot ([`ResetCheck`]).
//!
//! A fresh instance per task rests on the pooling allocator making a freed slot's memory look
//! like the module's initial image again ([`MemoryReset`]). That reset depends on the kernel
//! (`PAGEMAP_SCAN` reports the pages a task wrote: a page swapped out or being migrated, or a
//! kernel whose `PAGE_IS_WRITTEN` means something narrower, and a written page goes unreported)
//! and on wasmtime's code. So rather than trust it, [`check`] tries it once per engine: an
//! instance of a canary module writes into pages inside and beyond the part of the slot kept
//! resident (more scattered pages than the scan reports in one call, and a page of the data
//! image); it is dropped; a second instance of the same module, in the same slot (wasmtime gives
//! a module back the slot it last used), must read the initial image everywhere. The engine
//! falls back to the madvise reset when the scan fails, and refuses to run at all when both do.

use std::time::{Duration, Instant};

/// How a pooling slot's linear memory is made fresh again between the tasks that use it, chosen
/// once per engine (see [`Engine::memory_reset`](crate::Engine::memory_reset)). Either way the
/// next task sees the module's initial memory and nothing of the previous task's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryReset {
    /// Linux's `PAGEMAP_SCAN` ioctl (6.7+) finds the pages the task dirtied, which are rewritten
    /// in place (up to 2 MiB of them; the rest are returned to the kernel): the fast way, used
    /// when no swap is active.
    PagemapScan,
    /// The first 2 MiB of the memory are rewritten whatever the task touched, and every page
    /// beyond is returned to the kernel with `madvise(MADV_DONTNEED)` (faulting back in, as zeros
    /// or the module's image, when the next task touches it): used when swap is active (or the
    /// kernel has no `PAGEMAP_SCAN`, or `/proc/swaps` cannot be read).
    Madvise,
}

impl MemoryReset {
    /// A short name: `pagemap-scan` or `madvise`.
    pub fn name(self) -> &'static str {
        match self {
            Self::PagemapScan => "pagemap-scan",
            Self::Madvise => "madvise",
        }
    }

    /// The reset for this machine: `PAGEMAP_SCAN` only when the kernel has it and `/proc/swaps`
    /// (read once, here) lists no swap.
    pub(crate) fn for_this_machine() -> Self {
        let swaps = std::fs::read_to_string("/proc/swaps").ok();
        Self::choose(
            swaps.as_deref(),
            wasmtime::PoolingAllocationConfig::is_pagemap_scan_available(),
        )
    }

    /// The decision, given the text of `/proc/swaps` (`None` when it could not be read) and
    /// whether the kernel has `PAGEMAP_SCAN`.
    fn choose(swaps: Option<&str>, pagemap_scan_available: bool) -> Self {
        // `/proc/swaps` is a header line, then one line per active swap area.
        let no_swap =
            swaps.is_some_and(|text| text.lines().skip(1).all(|line| line.trim().is_empty()));
        if no_swap && pagemap_scan_available {
            Self::PagemapScan
        } else {
            Self::Madvise
        }
    }
}

impl std::fmt::Display for MemoryReset {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The canary module: 8 MiB of memory (the first 2 MiB kept resident between tasks), its first
/// bytes an image from a data segment.
const CANARY_WAT: &str = r#"(module
  (memory (export "memory") 128)
  (data (i32.const 0) "hecaton: the initial image"))"#;

/// The initial image's bytes at offset 0.
const IMAGE: &[u8] = b"hecaton: the initial image";

/// What is written, at every offset of [`offsets`].
const CANARY: &[u8] = b"the previous task's bytes";

/// Where the canary goes: the image page; 40 scattered pages within the 2 MiB kept resident
/// (more regions than wasmtime 48.0.0-48.0.10's scan reports in one call); the last kept page
/// and the first beyond it; and pages far beyond.
fn offsets() -> impl Iterator<Item = usize> {
    let scattered = (1..=40).map(|page| page * (48 << 10));
    [0].into_iter().chain(scattered).chain([
        (2 << 20) - 4096,
        2 << 20,
        (5 << 20) + 123,
        (8 << 20) - 64,
    ])
}

/// How the engine's memory reset checked itself when the engine was made
/// ([`Engine::reset_check`](crate::Engine::reset_check)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetCheck {
    pub(crate) reset: MemoryReset,
    pub(crate) failed: Option<(MemoryReset, String)>,
    pub(crate) took: Duration,
    /// Whether the second instance got the first one's slot, so that the check saw the reset
    /// at work (wasmtime gives a module back its slot; should it not, the check proves nothing
    /// and says so, rather than refuse every reset).
    pub(crate) observed: bool,
}

impl ResetCheck {
    /// The reset in force: the one that passed the check.
    pub fn reset(&self) -> MemoryReset {
        self.reset
    }

    /// The reset tried first that failed the check (the engine fell back to
    /// [`MemoryReset::Madvise`]), and what the check found.
    pub fn failed(&self) -> Option<(MemoryReset, &str)> {
        self.failed
            .as_ref()
            .map(|(reset, found)| (*reset, found.as_str()))
    }

    /// How long the check took, all resets tried.
    pub fn took(&self) -> Duration {
        self.took
    }

    /// Whether the check saw a reused slot (else it proved nothing either way).
    pub fn observed(&self) -> bool {
        self.observed
    }
}

impl std::fmt::Display for ResetCheck {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seen = if self.observed {
            "a reused slot read back its initial image"
        } else {
            "no slot was reused, so the check proved nothing"
        };
        write!(
            formatter,
            "{} (checked at start in {:.1} ms: {seen}",
            self.reset,
            self.took.as_secs_f64() * 1e3
        )?;
        match &self.failed {
            Some((reset, found)) => write!(formatter, "; {reset} failed the check: {found})"),
            None => write!(formatter, ")"),
        }
    }
}

/// How the check gets from the first instance to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Between {
    /// The first instance is dropped and its slot reset by wasmtime: the real check.
    Reset,
    /// No reset at all: the second read is of the first instance (a broken reset, for tests).
    #[cfg(test)]
    Nothing,
}

/// Tries the reset of `engine` once: whether the second instance got the first one's slot (the
/// reset was seen at work), or what it found there when the reset failed.
pub(crate) fn check(engine: &wasmtime::Engine, between: Between) -> Result<bool, String> {
    let module = wasmtime::Module::new(engine, CANARY_WAT)
        .map_err(|error| format!("the canary module: {error:#}"))?;
    let instance = |store: &mut wasmtime::Store<()>| {
        wasmtime::Instance::new(&mut *store, &module, &[])
            .and_then(|instance| {
                instance
                    .get_memory(&mut *store, "memory")
                    .ok_or_else(|| wasmtime::format_err!("no memory"))
            })
            .map_err(|error| format!("a canary instance: {error:#}"))
    };
    let mut store = wasmtime::Store::new(engine, ());
    let memory = instance(&mut store)?;
    let first_slot = memory.data_ptr(&store) as usize;
    for offset in offsets() {
        memory.data_mut(&mut store)[offset..offset + CANARY.len()].copy_from_slice(CANARY);
    }
    let (store, memory) = match between {
        Between::Reset => {
            drop(store);
            let mut store = wasmtime::Store::new(engine, ());
            let memory = instance(&mut store)?;
            (store, memory)
        }
        #[cfg(test)]
        Between::Nothing => (store, memory),
    };
    if memory.data_ptr(&store) as usize != first_slot {
        tracing::warn!("memory reset check: the second instance got another slot");
        return Ok(false);
    }
    let data = memory.data(&store);
    for offset in offsets() {
        let expected: &[u8] = if offset == 0 {
            IMAGE
        } else {
            &[0; CANARY.len()]
        };
        let found = &data[offset..offset + expected.len()];
        if found != expected {
            return Err(format!(
                "the next instance in the slot read {} at offset {offset:#x}, where the initial \
                 image has {}",
                crate::text::printable(found),
                crate::text::printable(expected)
            ));
        }
    }
    Ok(true)
}

/// The first of `first`, then [`MemoryReset::Madvise`], whose engine (made by `make`) passes
/// `check`; an error naming what each found when none does.
pub(crate) fn first_that_works<E>(
    first: MemoryReset,
    make: impl Fn(MemoryReset) -> Result<E, String>,
    check: impl Fn(&E) -> Result<bool, String>,
) -> Result<(E, ResetCheck), String> {
    let started = Instant::now();
    let mut tries = vec![first];
    if first != MemoryReset::Madvise {
        tries.push(MemoryReset::Madvise);
    }
    let mut failures: Vec<(MemoryReset, String)> = Vec::new();
    for reset in tries {
        let engine = make(reset)?;
        match check(&engine) {
            Ok(observed) => {
                let checked = ResetCheck {
                    reset,
                    failed: failures.into_iter().next(),
                    took: started.elapsed(),
                    observed,
                };
                return Ok((engine, checked));
            }
            Err(found) => {
                tracing::warn!("memory reset {reset} failed its check: {found}");
                failures.push((reset, found));
            }
        }
    }
    let found: Vec<String> = failures
        .iter()
        .map(|(reset, found)| format!("{reset}: {found}"))
        .collect();
    Err(format!(
        "no memory reset works on this machine, so no task could run in a fresh instance ({})",
        found.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(reset: MemoryReset) -> Result<wasmtime::Engine, String> {
        crate::engine::wasmtime_engine(&crate::Engine::builder(), reset)
    }

    #[test]
    fn the_reset_in_force_passes_its_check_and_every_reset_this_machine_has_does() {
        for reset in [MemoryReset::Madvise, MemoryReset::PagemapScan] {
            if reset == MemoryReset::PagemapScan
                && !wasmtime::PoolingAllocationConfig::is_pagemap_scan_available()
            {
                continue;
            }
            assert_eq!(
                check(&engine(reset).unwrap(), Between::Reset),
                Ok(true),
                "{reset}"
            );
        }
    }

    #[test]
    fn a_reset_that_resets_nothing_is_caught() {
        let found = check(&engine(MemoryReset::Madvise).unwrap(), Between::Nothing).unwrap_err();
        assert!(found.contains("the previous task"), "{found}");
    }

    #[test]
    fn a_broken_first_reset_falls_back_to_madvise_and_a_broken_madvise_refuses() {
        let broken_scan = |reset: &MemoryReset| match reset {
            MemoryReset::PagemapScan => Err("a canary survived".to_owned()),
            _ => Ok(true),
        };
        let (reset, checked) = first_that_works(MemoryReset::PagemapScan, Ok, broken_scan).unwrap();
        assert_eq!(reset, MemoryReset::Madvise);
        assert_eq!(checked.reset(), MemoryReset::Madvise);
        assert_eq!(
            checked.failed(),
            Some((MemoryReset::PagemapScan, "a canary survived"))
        );
        assert!(
            checked
                .to_string()
                .contains("pagemap-scan failed the check")
        );
        let nothing_works = first_that_works(MemoryReset::PagemapScan, Ok, |_: &MemoryReset| {
            Err("a canary survived".to_owned())
        });
        assert!(nothing_works.unwrap_err().contains("no memory reset works"));
        let (_, fine) =
            first_that_works(MemoryReset::PagemapScan, Ok, |_: &MemoryReset| Ok(true)).unwrap();
        assert_eq!(fine.failed(), None);
        assert!(fine.observed());
        let (_, unseen) =
            first_that_works(MemoryReset::PagemapScan, Ok, |_: &MemoryReset| Ok(false)).unwrap();
        assert_eq!(
            unseen.reset(),
            MemoryReset::PagemapScan,
            "unseen is not a failure"
        );
        assert!(unseen.to_string().contains("proved nothing"));
    }

    const HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

    #[test]
    fn pagemap_scan_only_without_swap() {
        let with_swap = format!("{HEADER}/swapfile  file  4194300  0  -2\n");
        assert_eq!(
            MemoryReset::choose(Some(HEADER), true),
            MemoryReset::PagemapScan
        );
        assert_eq!(
            MemoryReset::choose(Some(&with_swap), true),
            MemoryReset::Madvise
        );
        assert_eq!(
            MemoryReset::choose(Some(HEADER), false),
            MemoryReset::Madvise
        );
        assert_eq!(
            MemoryReset::choose(None, true),
            MemoryReset::Madvise,
            "unreadable: assume swap"
        );
    }
}
