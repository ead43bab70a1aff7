//! The typed runner: a numeric task called with Rust numbers ([`Numbers`]), no JSON on the way in
//! or out — the fast path of `Job::map_numeric` for tiny tasks.

use std::marker::PhantomData;

use wasmtime::TypedFunc;

use crate::abi::{self, Failure, Numbers};
use crate::error::Error;
use crate::module::{Module, Task, TaskKind};
use crate::run::{Live, Ran, Runner};
use crate::sandbox::{CancelFlag, Identity, Policy};

/// The tasks of a typed numeric map: numbers in, numbers out, no JSON anywhere.
pub(crate) struct TypedRunner<P, R> {
    module: Module,
    task: Task,
    policy: Policy,
    _types: PhantomData<fn(P) -> R>,
}

impl<P: Numbers, R: Numbers> TypedRunner<P, R> {
    /// The typed calls of numeric task `name`, checked against its signature before any runs.
    pub(crate) fn new(module: &Module, name: &str, policy: Policy) -> Result<Self, Error> {
        let task = module.task(name)?.clone();
        let TaskKind::Numeric { params, results } = &task.kind else {
            return Err(Error::Input {
                task: name.to_owned(),
                message: format!(
                    "a typed numeric map calls numeric exports only, and `{name}` is a {}",
                    task.kind
                ),
            });
        };
        if *params != P::types() || *results != R::types() {
            let kind = TaskKind::Numeric {
                params: P::types(),
                results: R::types(),
            };
            return Err(Error::WrongSignature {
                path: module.path().to_owned(),
                export: name.to_owned(),
                expected: format!("{kind} (the Rust types asked for)"),
                found: task.kind.to_string(),
            });
        }
        Ok(Self {
            module: module.clone(),
            task,
            policy,
            _types: PhantomData,
        })
    }
}

impl<P: Numbers, R: Numbers> Runner for TypedRunner<P, R> {
    type Input = P;
    type Output = R;
    type Session = (Live, TypedFunc<P, R>);

    fn module(&self) -> &Module {
        &self.module
    }

    fn run(
        &self,
        session: &mut Option<Self::Session>,
        input: &P,
        identity: Identity,
        cancel: &CancelFlag,
    ) -> Ran<R> {
        let (live, func) = match session {
            Some((live, func)) => {
                live.reuse(identity, &self.policy.limits, &self.module);
                (live, &*func)
            }
            None => {
                let mut live =
                    match Live::start(&self.module, &self.policy, identity, cancel.clone()) {
                        Ok(live) => live,
                        Err(ran) => return ran,
                    };
                let func = match live.instance.core() {
                    // SAFETY: the export's type, checked at load, is `self.task.kind`, and
                    // `new` checked that `P` and `R` are its parameter and result types;
                    // `instance` is an instance of `self.module`.
                    Some(instance) => unsafe {
                        abi::checked_func::<P, R>(
                            &mut live.store,
                            instance,
                            self.task.export.core(),
                        )
                    },
                    None => Err(abi::violation("typed numbers are a core module's")),
                };
                let func = match func {
                    Ok(func) => func,
                    Err(failure) => {
                        return Ran {
                            result: live.settle(Err(failure)),
                            memory: live.memory(),
                        };
                    }
                };
                let (live, func) = session.insert((live, func));
                (live, &*func)
            }
        };
        let outcome = func.call(&mut live.store, *input).map_err(Failure::Wasm);
        let result = live.settle(outcome);
        let memory = live.memory();
        if result.is_err() {
            *session = None;
        }
        Ran { result, memory }
    }
}
