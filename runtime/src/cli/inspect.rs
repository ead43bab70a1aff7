//! `hecaton inspect`: what a module offers — its tasks, imports, memory and the proposals it
//! uses; for a component, its functions with their WIT signatures and the interfaces it imports.

use std::path::PathBuf;

use clap::Args;
use hecaton::{Engine, Module, ModuleKind, TaskKind};
use serde_json::{Value, json};

use crate::cli::Exit;
use crate::cli::sandbox::CacheArgs;

/// List a module's tasks (function tasks with their ABI version, numeric exports with their
/// signature, a WASI command, a component's functions with their WIT signatures), what it
/// imports (WASI, hecaton's host functions, a component's WASI 0.2 interfaces), its memory, and
/// the WebAssembly proposals beyond 1.0 it uses.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A module (.wasm or .wat), or a Rust task crate's folder to build first.
    #[arg(value_name = "MODULE_OR_CRATE")]
    module: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

pub(crate) fn main(args: &InspectArgs) -> anyhow::Result<Exit> {
    let path = if crate::cli::build::is_crate(&args.module) {
        crate::cli::build::build_crate(&args.module, None)?
    } else {
        args.module.clone()
    };
    // Through the compile cache, as `run` and `map` load it; `--allow-precompiled` for a
    // `.cwasm` (the advice a precompiled module's refusal gives).
    let module = args.cache.load(&Engine::shared()?, &path)?;
    let report = report(&module);
    let text = if args.json {
        let mut line = hecaton::to_json_line(&report)?;
        line.push(b'\n');
        line
    } else {
        text(&report).into_bytes()
    };
    Ok(crate::cli::print_stdout(&text))
}

fn report(module: &Module) -> Value {
    let signatures = module.signatures();
    let tasks: Vec<Value> = module
        .tasks()
        .map(|(name, kind)| match kind {
            TaskKind::Function => json!({
                "name": name,
                "kind": "function",
                "abi": hecaton_abi::VERSION,
                "signature": signatures.get(name),
            }),
            TaskKind::Numeric { params, results } => json!({
                "name": name,
                "kind": "numeric",
                "params": params.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "results": results.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
            TaskKind::Command => json!({"name": name, "kind": "command"}),
            TaskKind::Wit { signature } => json!({
                "name": name,
                "kind": "component-function",
                "signature": signature,
            }),
            _ => json!({"name": name, "kind": "unknown"}),
        })
        .collect();
    let memory = module
        .memory()
        .map(|(minimum, maximum)| json!({"min_bytes": minimum, "max_bytes": maximum}));
    let proposals: Option<Vec<Value>> = module.proposals().map(|proposals| {
        proposals
            .into_iter()
            .map(|(name, note)| json!({"name": name, "note": note}))
            .collect()
    });
    let kind = match module.kind() {
        ModuleKind::Component => "component",
        _ => "core",
    };
    json!({
        "path": module.path().display().to_string(),
        "kind": kind,
        "imports_wasi": module.imports_wasi(),
        "interfaces": module.interfaces().collect::<Vec<_>>(),
        "proposals": proposals,
        "host_functions": module.host_functions().collect::<Vec<_>>(),
        "memory": memory,
        "tasks": tasks,
    })
}

/// The report as text, for a person; the module's names made printable.
fn text(report: &Value) -> String {
    let mut text = String::new();
    let mut line = |line: String| {
        text.push_str(&hecaton::printable(line.as_bytes()));
        text.push('\n');
    };
    let component = report["kind"] == "component";
    let path = report["path"].as_str().unwrap_or_default();
    if component {
        line(format!("{path} (a component)"));
    } else {
        line(path.to_owned());
    }
    let mut imports = Vec::new();
    if component {
        let interfaces = join(&report["interfaces"]);
        if !interfaces.is_empty() {
            imports.push(format!("WASI 0.2 ({interfaces})"));
        }
    } else if report["imports_wasi"] == true {
        imports.push("WASI preview 1".to_owned());
    }
    let host_functions = join(&report["host_functions"]);
    if !host_functions.is_empty() {
        imports.push(format!("hecaton ({host_functions})"));
    }
    if imports.is_empty() {
        imports.push("none".to_owned());
    }
    line(format!("  imports: {}", imports.join(", ")));
    match &report["memory"] {
        Value::Object(memory) => {
            let max = memory["max_bytes"].as_u64().map_or_else(
                || "no maximum".to_owned(),
                |max| format!("at most {max} bytes"),
            );
            line(format!(
                "  memory:  {} bytes initially, {max}",
                memory["min_bytes"]
            ));
        }
        _ if component => {}
        _ => line("  memory:  none exported".to_owned()),
    }
    match report["proposals"].as_array() {
        None if component => {}
        Some(proposals) if proposals.is_empty() => {
            line("  proposals: none (WebAssembly 1.0)".to_owned());
        }
        Some(proposals) => {
            line("  proposals:".to_owned());
            for proposal in proposals {
                let name = proposal["name"].as_str().unwrap_or_default();
                let note = proposal["note"].as_str().unwrap_or_default();
                line(format!("    {name:<38} {note}"));
            }
        }
        None => line("  proposals: unknown (a precompiled module)".to_owned()),
    }
    line("  tasks:".to_owned());
    for task in report["tasks"].as_array().into_iter().flatten() {
        let name = task["name"].as_str().unwrap_or_default();
        let kind = match task["kind"].as_str() {
            Some("function") => match task["signature"].as_str() {
                Some(signature) => format!("function task, ABI v{}: {signature}", task["abi"]),
                None => format!("function task, ABI v{} (JSON in, JSON out)", task["abi"]),
            },
            Some("numeric") => format!(
                "numeric ({}) -> ({})",
                join(&task["params"]),
                join(&task["results"])
            ),
            Some("command") => {
                "WASI command (argv and stdin in; stdout, stderr, exit code out)".to_owned()
            }
            Some("component-function") => task["signature"].as_str().unwrap_or_default().to_owned(),
            _ => "unknown".to_owned(),
        };
        line(format!("    {name:<20} {kind}"));
    }
    text
}

fn join(list: &Value) -> String {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
