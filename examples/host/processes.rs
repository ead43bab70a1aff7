//! The seed's first program: five processes that each say who they are, joined in order.
//!
//! ```text
//! cargo run --release -p hecaton --example processes
//! ```
//!
//! Python's `Process(target=info, args=(f'Process-{i}',))` becomes
//! `Process::spawn(&module, "greet", &format!("Process-{i}"))`: each runs on its own OS thread,
//! in its own fresh wasm instance, and reports its task id as the child processes report their pid.
//! The guest is `examples/guests/greet`.

use hecaton::{Module, Process};

fn main() -> anyhow::Result<()> {
    let module = Module::from_file(hecaton_tests::guests::GREET)?;
    let processes = (0..5)
        .map(|i| Process::spawn(&module, "greet", &format!("Process-{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    for process in processes {
        let id = process.id();
        let greeting: String = process.join()?;
        println!("{greeting}");
        assert!(
            greeting.ends_with(&id.to_string()),
            "the guest saw its own id"
        );
    }
    Ok(())
}
