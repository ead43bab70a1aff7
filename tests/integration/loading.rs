use hecaton::{Error, Module, TaskKind};
use hecaton_tests::fixture;

use crate::{load, run};

fn load_error(name: &str) -> Error {
    match Module::from_file(fixture(name)) {
        Ok(module) => panic!("{name} loaded: {module:?}"),
        Err(error) => {
            assert!(
                error.to_string().contains(name),
                "the message names the file: {error}"
            );
            error
        }
    }
}

#[test]
fn not_wasm() {
    assert!(matches!(load_error("not-wasm.txt"), Error::NotWasm { .. }));
}

#[test]
fn an_empty_component_loads_as_a_component_without_tasks() {
    let module = Module::from_file(fixture("component.wat")).unwrap();
    assert_eq!(module.kind(), hecaton::ModuleKind::Component);
    assert_eq!(module.tasks().count(), 0);
}

#[test]
fn missing_memory() {
    let error = load_error("missing-memory.wat");
    assert!(
        matches!(&error, Error::MissingExport { export, .. } if export == "memory"),
        "{error}"
    );
}

#[test]
fn missing_allocator() {
    let error = load_error("missing-alloc.wat");
    assert!(
        matches!(&error, Error::MissingExport { export, .. } if export == "hecaton_alloc"),
        "{error}"
    );
}

#[test]
fn wrong_signature() {
    let error = load_error("wrong-signature.wat");
    assert!(
        matches!(&error, Error::WrongSignature { export, .. } if export == "hecaton:v1:square"),
        "{error}"
    );
}

#[test]
fn task_exported_under_both_spellings() {
    let error = load_error("duplicate-task-spelling.wat");
    assert!(
        matches!(&error, Error::Config(message) if message.contains("`x`")),
        "{error}"
    );
}

#[test]
fn task_alias_prefix_is_a_function_task() {
    let module = load(fixture("task-alias-prefix.wat"));
    let tasks: Vec<(&str, &TaskKind)> = module.tasks().collect();
    assert_eq!(tasks, [("x", &TaskKind::Function)]);
    assert_eq!(run::<bool>(&module, "x", &()), Ok(true));
}

#[test]
fn unknown_import() {
    let error = load_error("unknown-import.wat");
    assert!(
        matches!(&error, Error::UnknownImport { module, name, .. } if module == "env" && name == "launch_missiles"),
        "{error}"
    );
}

#[test]
fn missing_file() {
    assert!(matches!(
        load_error("no-such-module.wasm"),
        Error::Read { .. }
    ));
}

#[test]
fn unknown_task_lists_the_tasks() {
    let module = Module::from_file(hecaton_tests::guests::SQUARE).unwrap();
    let error = hecaton::Process::spawn(&module, "cube", &3).unwrap_err();
    assert!(
        matches!(&error, Error::UnknownTask { task, available, .. } if task == "cube" && available == "square"),
        "{error}"
    );
}
