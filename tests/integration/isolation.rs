use hecaton_tests::fixture;
use hecaton_tests::guests::PROBE;

use crate::{load, run};

#[test]
fn rust_global_counter_is_one_on_every_call() {
    let probe = load(PROBE);
    for _ in 0..5 {
        assert_eq!(run::<u32>(&probe, "count_calls", &()), Ok(1));
    }
}

#[test]
fn wat_global_counter_is_one_on_every_call_numeric_and_function() {
    let module = load(fixture("counter-global.wat"));
    for _ in 0..3 {
        assert_eq!(run::<u32>(&module, "count", &()), Ok(1));
    }
}
