//! [`Process`]: one task on its own OS thread, in its own instance — Python's
//! `multiprocessing.Process`, at the cost of a fresh instance and a thread's wake-up (a thread
//! that ran a process waits a while for the next one: [`threads`]). Its task runs through the
//! same attempt loop as a map's inputs ([`crate::run::attempt`]): a tracing span, retries.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod threads;

use std::sync::Arc;

use crate::error::{Error, TaskError};
use crate::module::Module;
use crate::output::TaskOutput;
use crate::run::attempt::{Attempts, Who};
use crate::run::json::{Call, CommandStdio, JsonRunner, encode_input};
use crate::run::next_task_id;
use crate::sandbox::{CancelFlag, Capabilities, Limits, Policy, Prints, Stdio};

/// One task running on its own OS thread, in a fresh instance of its module.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let module = hecaton::Module::from_file("greet.wasm")?;
/// let process = hecaton::Process::spawn(&module, "greet", &"Process-0")?;
/// println!("started task {}", process.id());
/// let greeting: String = process.join()?;
/// # Ok(()) }
/// ```
///
/// Dropping a `Process` without joining it detaches it: the task runs to its end (or its
/// timeout) on its own, like a thread whose handle was dropped. Call [`Process::kill`] first to
/// stop it.
#[derive(Debug)]
pub struct Process {
    id: u64,
    cancel: CancelFlag,
    module: Module,
    /// Receives the task's outcome from its thread.
    outcome: mpsc::Receiver<Result<TaskOutput, TaskError>>,
    /// Set once the outcome is sent.
    finished: Arc<AtomicBool>,
}

/// Kills a [`Process`] from anywhere; made by [`Process::killer`].
#[derive(Clone, Debug)]
pub struct Killer {
    cancel: CancelFlag,
    module: Module,
}

impl Killer {
    /// As [`Process::kill`].
    pub fn kill(&self) {
        self.cancel.cancel_now(self.module.engine());
    }
}

/// Options for a [`Process`]; made by [`Process::builder`].
#[derive(Clone, Debug)]
pub struct ProcessBuilder {
    module: Module,
    policy: Policy,
    retries: u32,
}

impl Process {
    /// Starts task `task` of `module` on `input` with the default [`Limits`].
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when the module has no such task, [`Error::Input`] when the input
    /// cannot be encoded (or the task is a command), [`Error::Thread`] when no thread can start.
    pub fn spawn<I: Serialize + ?Sized>(
        module: &Module,
        task: &str,
        input: &I,
    ) -> Result<Self, Error> {
        Self::builder(module).spawn(task, input)
    }

    /// A builder to set limits before spawning.
    pub fn builder(module: &Module) -> ProcessBuilder {
        ProcessBuilder {
            module: module.clone(),
            policy: Policy::default(),
            retries: 0,
        }
    }

    /// The task's id, unique among the tasks of this host process; the guest sees the same id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the task has ended (then [`Process::join`] returns at once).
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Interrupts the task: it ends with [`TaskError::Cancelled`] within microseconds if it is
    /// running wasm code. Does nothing to a task that has already ended.
    pub fn kill(&self) {
        self.cancel.cancel_now(self.module.engine());
    }

    /// A handle that kills this task from another thread (or a signal handler).
    pub fn killer(&self) -> Killer {
        Killer {
            cancel: self.cancel.clone(),
            module: self.module.clone(),
        }
    }

    /// Waits for the task to end and returns its output decoded into `O` (for a command:
    /// [`CommandOutput`](crate::CommandOutput)).
    ///
    /// # Errors
    /// The task's [`TaskError`]; [`TaskError::AbiViolation`] when its output does not decode into `O`.
    pub fn join<O: DeserializeOwned>(self) -> Result<O, TaskError> {
        match self.outcome.recv() {
            Ok(outcome) => outcome?.decode(),
            Err(mpsc::RecvError) => Err(TaskError::Host("the process thread ended early".into())),
        }
    }
}

impl ProcessBuilder {
    /// The task's limits (default: [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.policy.limits = limits;
        self
    }

    /// The directories and variables the task sees (default: none).
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.policy.capabilities = Arc::new(capabilities);
        self
    }

    /// Where a function task's prints go (default: [`Prints::Prefixed`], the host's stderr).
    pub fn prints(mut self, prints: Prints) -> Self {
        self.policy.prints = prints;
        self
    }

    /// Runs a failed task again, in a fresh instance, up to `retries` more times (default 0), as
    /// a pool's maps do; the guest sees its attempt number, and the same task id every attempt.
    /// A killed task is not retried.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Starts task `task` on `input`.
    ///
    /// # Errors
    /// As [`Process::spawn`], and [`Error::Config`] when the limits ask for fuel on an engine
    /// without fuel metering.
    pub fn spawn<I: Serialize + ?Sized>(self, task: &str, input: &I) -> Result<Process, Error> {
        let call = Call::json(&self.module, task)?;
        let input = encode_input(task, input)?;
        self.start(call, input)
    }

    /// Starts the module's WASI command with `args` (argv\[0\] is the module's file name) and
    /// these streams.
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when the module is not a command, [`Error::Thread`].
    pub fn spawn_command(self, args: Vec<String>, stdio: Stdio) -> Result<Process, Error> {
        let call = Call::command(&self.module, args, CommandStdio::Fixed(stdio))?;
        self.start(call, Vec::new())
    }

    fn start(self, call: Call, input: Vec<u8>) -> Result<Process, Error> {
        self.policy
            .check(self.module.engine(), self.module.path())?;
        self.module.check_starts_within(&self.policy.limits)?;
        let id = next_task_id();
        let cancel = CancelFlag::default();
        let (module, policy, task_cancel) = (self.module.clone(), self.policy, cancel.clone());
        let retries = self.retries;
        let (sender, outcome) = mpsc::channel();
        let finished = Arc::new(AtomicBool::new(false));
        let task_finished = Arc::clone(&finished);
        let max_stack = self.module.engine().max_stack();
        threads::run(
            max_stack,
            Box::new(move || {
                let runner = JsonRunner {
                    module,
                    call,
                    policy,
                };
                let attempts = Attempts {
                    retries,
                    cancel: &task_cancel,
                    timed: false,
                };
                let who = Who {
                    input: None,
                    task_id: Some(id),
                };
                let clock = &mut std::time::Instant::now();
                let (result, _) = attempts.run(&runner, &input, who, &mut None, clock, || false);
                // The process may have been dropped: nobody wants the outcome.
                let _ = sender.send(result);
                task_finished.store(true, Ordering::Release);
            }),
        )?;
        Ok(Process {
            id,
            cancel,
            module: self.module,
            outcome,
            finished,
        })
    }
}
