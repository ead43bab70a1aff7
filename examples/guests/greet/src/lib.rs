//! The seed's first program: each process says who it is (see `examples/host/processes.rs`).
//!
//! `hecaton run examples/guests/greet --invoke greet Process-0`

use hecaton_guest::task;

/// Introduces the task by its name and id, as the seed's child processes print their pid.
#[task]
fn greet(name: String) -> String {
    format!(
        "Child process {name} is running, process ID is: {}",
        hecaton_guest::task_id()
    )
}
