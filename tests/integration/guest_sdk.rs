use hecaton::TaskError;
use hecaton_tests::guests::{PROBE, SQUARE};
use serde::Deserialize;
use serde_json::json;

use crate::{load, run};

#[derive(Debug, Deserialize, PartialEq)]
struct Invoice {
    line: String,
    total_cents: u64,
    discounted: bool,
}

#[test]
fn square_returns_the_square() {
    assert_eq!(run::<i64>(&load(SQUARE), "square", &7), Ok(49));
    assert_eq!(run::<i64>(&load(SQUARE), "square", &-12), Ok(144));
}

#[test]
fn serde_struct_in_and_out() {
    let order = json!({"item": "widget", "quantity": 3, "unit_price_cents": 5000});
    let invoice: Invoice = run(&load(PROBE), "invoice", &order).unwrap();
    assert_eq!(
        invoice,
        Invoice {
            line: "3 x widget".into(),
            total_cents: 13500,
            discounted: true
        }
    );
}

#[test]
fn several_arguments_vectors_and_options() {
    let probe = load(PROBE);
    assert_eq!(
        run::<Vec<f64>>(&probe, "scale", &(vec![1.0, 2.5], Some(2.0))),
        Ok(vec![2.0, 5.0])
    );
    assert_eq!(
        run::<Vec<f64>>(&probe, "scale", &(vec![1.0], None::<f64>)),
        Ok(vec![1.0])
    );
    assert_eq!(run::<u32>(&probe, "answer", &()), Ok(42));
}

#[test]
fn result_err_is_a_guest_error_with_its_message() {
    let probe = load(PROBE);
    assert_eq!(run::<i64>(&probe, "checked_divide", &(7, 2)), Ok(3));
    assert_eq!(
        run::<i64>(&probe, "checked_divide", &(7, 0)),
        Err(TaskError::Guest {
            message: "cannot divide 7 by 0".into()
        })
    );
}

#[test]
fn panic_is_a_guest_panic_with_message_and_location() {
    match run::<u32>(&load(PROBE), "explode", &"on purpose") {
        Err(TaskError::Panic { message }) => {
            assert!(
                message.starts_with("exploded: on purpose (at "),
                "{message}"
            );
            assert!(message.contains("src/lib.rs"), "{message}");
        }
        other => panic!("expected a guest panic, got {other:?}"),
    }
}

#[test]
fn input_of_the_wrong_type_is_bad_input_naming_the_signature() {
    match run::<i64>(&load(SQUARE), "square", &"seven") {
        Err(TaskError::BadInput { message }) => {
            assert!(message.contains("square(x: i64)"), "{message}")
        }
        other => panic!("expected bad input, got {other:?}"),
    }
}

#[test]
fn task_sees_its_id_and_first_attempt() {
    let probe = load(PROBE);
    let process = hecaton::Process::spawn(&probe, "identity", &()).unwrap();
    let id = process.id();
    assert_eq!(process.join::<(u64, u32)>(), Ok((id, 1)));
}
