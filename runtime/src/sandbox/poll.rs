//! WASI's `poll_oneoff`, replaced by one that a timeout or a cancel can interrupt.
//!
//! wasmtime-wasi's own `poll_oneoff` blocks the worker thread for the whole sleep, out of reach
//! of the epoch checks that enforce timeouts. This one sleeps in slices of at most
//! [`EPOCH_TICK`], checking the task's deadline and cancel flag between them, so that
//! `--timeout` and `kill` hold while a task sleeps. Clock subscriptions (relative, absolute
//! realtime, absolute monotonic) wait for their time; fd subscriptions are reported ready at
//! once — a task's streams are memory pipes that never block.

use std::time::{Duration, Instant, SystemTime};

use hecaton_abi as abi;
use wasmtime::{Caller, Extern, Linker};

use crate::engine::EPOCH_TICK;
use crate::sandbox::TaskState;

const SUBSCRIPTION_LEN: usize = 48;
const EVENT_LEN: usize = 32;
const EVENTTYPE_CLOCK: u8 = 0;
const CLOCK_REALTIME: u32 = 0;
const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;

/// Replaces `wasi_snapshot_preview1::poll_oneoff` in a linker that has WASI.
pub(crate) fn link_poll(linker: &mut Linker<TaskState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap(
        abi::WASI_MODULE,
        "poll_oneoff",
        |mut caller: Caller<'_, TaskState>,
         subscriptions: u32,
         events: u32,
         count: u32,
         written: u32| { poll_oneoff(&mut caller, subscriptions, events, count, written) },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// One subscription: its user data, its event type, and for a clock when it fires.
struct Subscription {
    userdata: u64,
    kind: u8,
    fires_at: Option<Instant>,
}

fn poll_oneoff(
    caller: &mut Caller<'_, TaskState>,
    subscriptions: u32,
    events: u32,
    count: u32,
    written: u32,
) -> wasmtime::Result<i32> {
    let Some(Extern::Memory(memory)) = caller.get_export(abi::MEMORY_EXPORT) else {
        return Ok(ERRNO_INVAL);
    };
    if count == 0 {
        return Ok(ERRNO_INVAL);
    }
    let origin = caller.data().wasi_started.unwrap_or_else(Instant::now);
    let now = Instant::now();
    let Some(bytes) = slice(
        memory.data(&*caller),
        subscriptions,
        count as usize * SUBSCRIPTION_LEN,
    ) else {
        return Ok(ERRNO_FAULT);
    };
    let parsed: Vec<Subscription> = bytes
        .chunks_exact(SUBSCRIPTION_LEN)
        .map(|sub| parse(sub, now, origin))
        .collect();
    // Wait for the first clock unless an fd subscription is ready at once.
    if parsed.iter().all(|sub| sub.kind == EVENTTYPE_CLOCK) {
        let first = parsed
            .iter()
            .filter_map(|sub| sub.fires_at)
            .min()
            .unwrap_or(now);
        while Instant::now() < first {
            caller.data_mut().check_interrupt()?;
            std::thread::sleep(
                first
                    .saturating_duration_since(Instant::now())
                    .min(EPOCH_TICK),
            );
        }
        caller.data_mut().check_interrupt()?;
    }
    let now = Instant::now();
    let ready: Vec<&Subscription> = parsed
        .iter()
        .filter(|sub| sub.kind != EVENTTYPE_CLOCK || sub.fires_at.is_none_or(|at| at <= now))
        .collect();
    let data = memory.data_mut(&mut *caller);
    let Some(out) = slice_mut(data, events, ready.len() * EVENT_LEN) else {
        return Ok(ERRNO_FAULT);
    };
    for (event, sub) in out.chunks_exact_mut(EVENT_LEN).zip(&ready) {
        event.fill(0);
        event[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
        event[10] = sub.kind;
        if sub.kind != EVENTTYPE_CLOCK {
            event[16..24].copy_from_slice(&1u64.to_le_bytes());
        }
    }
    let Some(count_out) = slice_mut(data, written, 4) else {
        return Ok(ERRNO_FAULT);
    };
    count_out.copy_from_slice(&(ready.len() as u32).to_le_bytes());
    Ok(ERRNO_SUCCESS)
}

fn parse(sub: &[u8], now: Instant, origin: Instant) -> Subscription {
    let u64_at = |at: usize| u64::from_le_bytes(sub[at..at + 8].try_into().unwrap_or_default());
    let kind = sub[8];
    let fires_at = (kind == EVENTTYPE_CLOCK).then(|| {
        let clock = u32::from_le_bytes(sub[16..20].try_into().unwrap_or_default());
        let timeout = Duration::from_nanos(u64_at(24));
        let flags = u16::from_le_bytes(sub[40..42].try_into().unwrap_or_default());
        if flags & SUBCLOCKFLAGS_ABSTIME == 0 {
            now + timeout
        } else if clock == CLOCK_REALTIME {
            let since_epoch = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            now + timeout.saturating_sub(since_epoch)
        } else {
            origin + timeout
        }
    });
    Subscription {
        userdata: u64_at(0),
        kind,
        fires_at,
    }
}

fn slice(data: &[u8], ptr: u32, len: usize) -> Option<&[u8]> {
    data.get(ptr as usize..(ptr as usize).checked_add(len)?)
}

fn slice_mut(data: &mut [u8], ptr: u32, len: usize) -> Option<&mut [u8]> {
    data.get_mut(ptr as usize..(ptr as usize).checked_add(len)?)
}

/// The `wasi:io/poll` interface WASI 0.2's linker defines, whose blocking functions hecaton
/// replaces.
const P2_POLL: &str = "wasi:io/poll@0.2.12";

/// Replaces WASI 0.2's blocking `poll` and `[method]pollable.block` in a component linker that
/// has WASI 0.2: wasmtime-wasi's own block the thread until a pollable is ready (a guest's
/// `sleep` is a clock's pollable), out of reach of the epoch checks. These wait in slices of at
/// most [`EPOCH_TICK`], checking the task's deadline and cancel flag between them.
pub(crate) fn link_poll_p2(
    linker: &mut wasmtime::component::Linker<TaskState>,
) -> wasmtime::Result<()> {
    use wasmtime::StoreContextMut;
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;
    use wasmtime_wasi::p2::bindings::io::poll::{Host, HostPollable};

    linker.allow_shadowing(true);
    let mut poll = linker.instance(P2_POLL)?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, TaskState>, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let reps: Vec<u32> = pollables.iter().map(Resource::rep).collect();
            wait_in_slices!(store, |table| {
                let borrowed = reps.iter().map(|&rep| Resource::new_borrow(rep)).collect();
                Host::poll(table, borrowed)
            })
            .map(|ready| (ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store: StoreContextMut<'_, TaskState>, (pollable,): (Resource<DynPollable>,)| {
            let rep = pollable.rep();
            wait_in_slices!(store, |table| HostPollable::block(
                table,
                Resource::new_borrow(rep)
            ))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Runs the wait `$wait` makes of the task's resource table `$table` until it finishes, in
/// slices of at most [`EPOCH_TICK`]: between slices the task is stopped if it must be
/// (deadline, cancel, output limit). (A macro: the wait borrows the table, which a closure
/// could not hand it.)
macro_rules! wait_in_slices {
    ($store:ident, |$table:ident| $wait:expr) => {
        loop {
            $store.data_mut().check_interrupt()?;
            let $table = wasmtime_wasi::WasiView::ctx($store.data_mut()).table;
            // The timer is made inside the runtime that drives it.
            let slice = wasmtime_wasi::runtime::in_tokio(async {
                tokio::time::timeout(EPOCH_TICK, $wait).await
            });
            if let Ok(done) = slice {
                break done;
            }
        }
    };
}
use wait_in_slices;
