use hecaton::{TaskError, TaskKind};
use hecaton_tests::guests::{C_SQUARE, WAT_SQUARE};

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
