//! The exit codes of `hecaton`, the one place they are decided.

use std::process::ExitCode;

use hecaton::TaskError;

/// The exit codes, as `--help` prints them.
pub(crate) const CODES: &str = "\
Exit codes:
  0    success (a command: its own exit code)
  1    a task failed on its own terms: a guest error, a panic, input it could not decode, a
       non-zero exit under `map --fail-nonzero`; `map --keep-going`: some inputs failed
  2    usage, load or input error: bad arguments, a module that is not a task module, a build
       failure, a malformed input line
  3    the task was stopped: a trap, a limit, a timeout, an ABI violation
  4    the output could not be written (a full disk, an I/O error; a closed pipe is not an
       error: `| head` stops hecaton quietly, with 0)
  130  interrupted (Ctrl-C)";

/// How `hecaton` exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    Success,
    TaskFailed,
    Usage,
    TaskStopped,
    /// Stdout could not be written (not a closed pipe).
    Output,
    /// Ctrl-C.
    Interrupted,
    /// A WASI command's own exit code.
    Command(i32),
}

impl Exit {
    /// The exit for a task that ended with `error`.
    pub(crate) fn of(error: &TaskError) -> Self {
        match error {
            TaskError::Guest { .. }
            | TaskError::Panic { .. }
            | TaskError::BadInput { .. }
            | TaskError::NonZeroExit(_) => Self::TaskFailed,
            _ => Self::TaskStopped,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        match exit {
            Exit::Success => ExitCode::SUCCESS,
            Exit::TaskFailed => ExitCode::from(1),
            Exit::Usage => ExitCode::from(2),
            Exit::TaskStopped => ExitCode::from(3),
            Exit::Output => ExitCode::from(4),
            Exit::Interrupted => ExitCode::from(130),
            // WASI exit codes above 255 are truncated by the OS anyway; say "failed" instead.
            Exit::Command(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        }
    }
}
