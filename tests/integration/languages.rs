use std::process::Command;

use hecaton::{Pool, TaskError, TaskKind};
use hecaton_tests::guests::{AS_GUEST, C_SQUARE, ROOT, WAT_SQUARE};

use crate::{load, run};

#[test]
fn wat_function_task() {
    let module = load(WAT_SQUARE);
    assert!(!module.imports_wasi());
    assert_eq!(run::<i64>(&module, "square", &7), Ok(49));
    assert_eq!(run::<i64>(&module, "square", &-3), Ok(9));
    assert!(matches!(
        run::<i64>(&module, "square", &"x"),
        Err(TaskError::BadInput { .. })
    ));
}

#[test]
fn c_function_tasks() {
    let module = load(C_SQUARE);
    assert_eq!(run::<i64>(&module, "square", &7), Ok(49));
    assert_eq!(
        run::<String>(&module, "greet", &"Ada"),
        Ok("Hello, Ada from C".into())
    );
    assert!(matches!(
        run::<i64>(&module, "square", &"x"),
        Err(TaskError::BadInput { .. })
    ));
}

#[test]
fn numeric_exports_take_json_numbers() {
    for path in [WAT_SQUARE, C_SQUARE] {
        let module = load(path);
        assert!(matches!(
            module.task_kind("add"),
            Ok(TaskKind::Numeric { .. })
        ));
        assert_eq!(run::<i64>(&module, "add", &(40, 2)), Ok(42));
        assert!(matches!(
            run::<i64>(&module, "add", &[1]),
            Err(TaskError::BadInput { .. })
        ));
        assert!(matches!(
            run::<i64>(&module, "add", &("a", 1)),
            Err(TaskError::BadInput { .. })
        ));
    }
}

#[test]
fn assemblyscript_numeric_task_through_a_pool() {
    let module = load(AS_GUEST);
    assert!(!module.imports_wasi());
    assert!(matches!(
        module.task_kind("square"),
        Ok(TaskKind::Numeric { .. })
    ));
    let pool = Pool::builder().workers(2).build().unwrap();
    let squares: Vec<i64> = pool.map(&module, "square", 1..=5).unwrap();
    assert_eq!(squares, [1, 4, 9, 16, 25]);
}

#[test]
fn assemblyscript_function_tasks() {
    // Exported as `hecaton_v1__greet`, the identifier-safe spelling of `hecaton:v1:greet`.
    let module = load(AS_GUEST);
    assert!(matches!(module.task_kind("greet"), Ok(TaskKind::Function)));
    assert_eq!(
        run::<String>(&module, "greet", &"world"),
        Ok("hello, world from AssemblyScript".into())
    );
    // Escapes are decoded on the way in and written on the way out.
    assert_eq!(
        run::<String>(&module, "greet", &"\"Ada\" \u{e9}\n"),
        Ok("hello, \"Ada\" \u{e9}\n from AssemblyScript".into())
    );
    assert!(matches!(
        run::<String>(&module, "greet", &7),
        Err(TaskError::BadInput { .. })
    ));
    assert!(matches!(
        run::<String>(&module, "fail", &1),
        Err(TaskError::Guest { .. })
    ));
}

#[test]
fn assemblyscript_abort_is_a_guest_panic() {
    // `--use abort=…` routes AssemblyScript's `abort` to the `hecaton.panic` host function,
    // which carries the message and its source location.
    let module = load(AS_GUEST);
    let result = run::<String>(&module, "crash", &1);
    assert!(
        matches!(&result, Err(TaskError::Panic { message }) if message.contains("assembly/index.ts")),
        "{result:?}"
    );
}

#[test]
fn assemblyscript_greets_through_the_cli() {
    let output = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(["map", AS_GUEST, "--invoke", "greet", "\"world\""])
        .current_dir(ROOT)
        .env(
            "HECATON_CACHE_DIR",
            std::env::temp_dir().join("hecaton-tests-cache"),
        )
        .output()
        .expect("run hecaton");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "\"hello, world from AssemblyScript\"\n"
    );
}
