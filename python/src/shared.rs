//! What a Python pool and everything it started (map iterators, async results) share: the
//! library pool that runs new work, the pool's state, its callback thread, and Ctrl-C's
//! interruption. Its own module, below `pool`, `stream` and `async_result`, which all hold it.

use std::sync::{Arc, Mutex, PoisonError};

use hecaton::PoolBuilder;
use pyo3::prelude::*;

use crate::callbacks::CallbackThread;
use crate::errors;
use crate::module::EngineKind;

/// Where a pool is in its life, as multiprocessing's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Running,
    Closed,
    Terminated,
}

/// What a Python pool and everything it started (iterators, async results) share.
pub(crate) struct PoolShared {
    pub(crate) builder: PoolBuilder,
    pub(crate) engine: EngineKind,
    /// The library pool that runs new work; replaced after a Ctrl-C.
    pub(crate) current: Mutex<Arc<hecaton::Pool>>,
    pub(crate) state: Mutex<State>,
    pub(crate) callbacks: CallbackThread,
}

impl PoolShared {
    pub(crate) fn state(&self) -> State {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn current(&self) -> Arc<hecaton::Pool> {
        Arc::clone(&self.current.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The library pool, if this one takes work.
    pub(crate) fn running(&self, py: Python<'_>) -> PyResult<Arc<hecaton::Pool>> {
        match self.state() {
            State::Running => Ok(self.current()),
            State::Closed | State::Terminated => Err(errors::error(py, &hecaton::Error::Closed)),
        }
    }

    /// Ctrl-C: cancels every task of the pool and starts a fresh library pool in its place (a
    /// terminated pool stays terminated).
    pub(crate) fn interrupt(&self, py: Python<'_>) {
        let old = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            current.canceller().cancel();
            let state = self.state();
            if state == State::Terminated {
                return;
            }
            match self.builder.clone().build() {
                Ok(fresh) => {
                    if state == State::Closed {
                        fresh.close();
                    }
                    std::mem::replace(&mut *current, Arc::new(fresh))
                }
                Err(_) => {
                    *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State::Terminated;
                    return;
                }
            }
        };
        // The last reference joins the old pool's workers (at once: their tasks are cancelled).
        py.detach(move || drop(old));
    }
}

impl Drop for PoolShared {
    fn drop(&mut self) {
        // As multiprocessing's pool at exit: nothing is left running.
        if *self.state.get_mut().unwrap_or_else(PoisonError::into_inner) == State::Running {
            self.current
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .canceller()
                .cancel();
        }
    }
}
