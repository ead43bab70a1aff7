//! The fuzz driver: rounds of items in one guest, the targets that observe them, and the
//! minimizing of what they find.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hecaton::{CommandInput, Engine, Module, Pool, TaskError, TaskOutput};

use crate::fuzz_results::guest::{Guest, module_index};
use crate::fuzz_results::payloads::{self, Item, Record};
use crate::fuzzing::{Budget, Rng, escaped};

/// Items per round.
pub(crate) const ITEMS: usize = 400;
/// Items per round of a target that runs `hecaton` once per item.
pub(crate) const SAMPLED: usize = 12;
/// How long the minimizing of all findings of one test may take.
const SHRINK_BUDGET: Duration = Duration::from_secs(30);

/// One property check: what it observes of a round.
pub(crate) struct Target {
    pub(crate) name: &'static str,
    pub(crate) observe: fn(&Round) -> Seen,
    /// Whether it runs `hecaton` once per item (so only [`SAMPLED`] items of a round).
    pub(crate) per_item: bool,
}

/// What a target saw: per item, the properties it broke; and those no single item is known to
/// have broken.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) items: BTreeMap<usize, Vec<Broken>>,
    pub(crate) global: Vec<Broken>,
}

#[derive(Clone, Debug)]
pub(crate) struct Broken {
    /// The property, without the input's bytes: equal for inputs that broke it the same way.
    pub(crate) property: String,
    /// What was seen.
    pub(crate) detail: String,
}

impl Seen {
    pub(crate) fn item(
        &mut self,
        item: usize,
        property: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.items.entry(item).or_default().push(Broken {
            property: property.into(),
            detail: detail.into(),
        });
    }

    pub(crate) fn global(&mut self, property: impl Into<String>, detail: impl Into<String>) {
        self.global.push(Broken {
            property: property.into(),
            detail: detail.into(),
        });
    }
}

/// A broken property's smallest example.
#[derive(Debug)]
struct Example {
    target: usize,
    seed: u64,
    item: Option<Item>,
    detail: String,
}

/// Runs `targets` over the budget's rounds; panics with every broken property, minimized.
pub(crate) fn fuzz(test: &str, default_rounds: u64, targets: &[Target]) {
    let work = Work::new(test);
    let mut budget = Budget::from_env(default_rounds);
    let mut examples: BTreeMap<String, Example> = BTreeMap::new();
    while let Some(seed) = budget.next_seed() {
        let round = Round::new(&work, payloads::generate(&mut Rng::new(seed), ITEMS));
        for (target, observer) in targets.iter().enumerate() {
            let seen = (observer.observe)(&round);
            let global = seen.global.iter().map(|broken| (None, broken));
            let items = (seen.items.iter())
                .flat_map(|(&i, broken)| broken.iter().map(move |broken| (Some(i), broken)));
            for (i, broken) in global.chain(items) {
                let example = Example {
                    target,
                    seed,
                    item: i.map(|i| round.items[i].clone()),
                    detail: broken.detail.clone(),
                };
                keep_smallest(&mut examples, &broken.property, example);
            }
        }
    }
    println!(
        "fuzz_results::{test}: {}, {ITEMS} items each, {} broken properties",
        budget.summary(),
        examples.len()
    );
    if !examples.is_empty() {
        panic!("{}", report(test, &work, targets, &examples));
    }
}

/// Keeps `example` of `property` if it is the first, or its payload is shorter than the kept
/// one's.
fn keep_smallest(examples: &mut BTreeMap<String, Example>, property: &str, example: Example) {
    let len = |example: &Example| example.item.as_ref().map(|item| item.payload.len());
    match examples.get(property) {
        Some(kept) if len(&example) >= len(kept) => {}
        _ => {
            examples.insert(property.to_owned(), example);
        }
    }
}

/// Every broken property with its example, minimized.
fn report(
    test: &str,
    work: &Work,
    targets: &[Target],
    examples: &BTreeMap<String, Example>,
) -> String {
    let deadline = Instant::now() + SHRINK_BUDGET;
    let mut report = format!(
        "fuzz_results::{test} broke {} properties:\n",
        examples.len()
    );
    for (property, example) in examples {
        let target = &targets[example.target];
        report += &format!(
            "\n- {property}\n    target {}, seed {}: {}\n",
            target.name, example.seed, example.detail
        );
        if let Some(item) = &example.item {
            let minimized = shrink(work, target, property, item, deadline);
            report += &format!(
                "    item ({}, {} bytes): {}\n    minimized: payload b\"{}\", {:?}\n",
                item.class,
                item.payload.len(),
                preview(&item.payload),
                escaped(&minimized.payload),
                minimized.record,
            );
        }
    }
    report
}

/// The first bytes of `bytes`, escaped.
pub(crate) fn preview(bytes: &[u8]) -> String {
    let shown = escaped(&bytes[..bytes.len().min(160)]);
    if bytes.len() > 160 {
        format!("b\"{shown}\"…")
    } else {
        format!("b\"{shown}\"")
    }
}

/// A smaller item that still breaks `property` on `target`: parts of the payload removed
/// (ddmin), the record's lie dropped when it is not needed.
pub(crate) fn shrink(
    work: &Work,
    target: &Target,
    property: &str,
    item: &Item,
    deadline: Instant,
) -> Item {
    let batch = if target.per_item { SAMPLED } else { ITEMS };
    let breaks = |candidates: &[Item]| -> Option<Item> {
        for chunk in candidates.chunks(batch) {
            if Instant::now() > deadline {
                return None;
            }
            let round = Round::new(work, chunk.to_vec());
            let seen = (target.observe)(&round);
            let first = seen.items.iter().find_map(|(&i, broken)| {
                broken
                    .iter()
                    .any(|broken| broken.property == property)
                    .then_some(i)
            });
            if let Some(i) = first {
                return Some(chunk[i].clone());
            }
        }
        None
    };
    let mut best = item.clone();
    let honest = Record::honest(best.record.status);
    if best.record != honest {
        let candidate = Item {
            record: honest,
            ..best.clone()
        };
        if let Some(smaller) = breaks(&[candidate]) {
            best = smaller;
        }
    }
    let mut parts = 2;
    while !best.payload.is_empty() && Instant::now() < deadline {
        let len = best.payload.len();
        let size = len.div_ceil(parts.min(len));
        let candidates: Vec<Item> = (0..len)
            .step_by(size)
            .map(|start| {
                let mut payload = best.payload.clone();
                payload.drain(start..(start + size).min(len));
                Item {
                    payload,
                    ..best.clone()
                }
            })
            .collect();
        match breaks(&candidates) {
            Some(smaller) => {
                best = smaller;
                parts = (parts - 1).max(2);
            }
            None if size == 1 => break,
            None => parts *= 2,
        }
    }
    best
}

/// The test's folder: the module and inputs of the current round, the compile cache.
pub(crate) struct Work {
    pub(crate) dir: PathBuf,
    pub(crate) pool: Pool,
}

impl Work {
    pub(crate) fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hecaton-fuzz-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pool = Pool::builder().workers(2).build().unwrap();
        Self { dir, pool }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One round: its items in one guest, and what the library made of each.
pub(crate) struct Round<'w> {
    pub(crate) work: &'w Work,
    pub(crate) items: Vec<Item>,
    pub(crate) module: Module,
    pub(crate) wasm: PathBuf,
    /// `--input` file: each item's index, after and before the sentinel's.
    pub(crate) inputs: PathBuf,
    pub(crate) pick: Vec<Result<TaskOutput, TaskError>>,
    pub(crate) command: Vec<Result<TaskOutput, TaskError>>,
}

impl<'w> Round<'w> {
    pub(crate) fn new(work: &'w Work, items: Vec<Item>) -> Self {
        let wasm = Guest::new(&items).wasm();
        let module = Module::from_bytes(&Engine::shared().unwrap(), "fuzz.wasm", &wasm)
            .unwrap_or_else(|error| panic!("the generated guest loads: {error}"));
        let path = work.dir.join("fuzz.wasm");
        std::fs::write(&path, &wasm).unwrap();
        let inputs = work.dir.join("inputs.txt");
        let mut lines = String::from("0\n");
        for i in 0..items.len() {
            lines += &format!("{}\n0\n", module_index(i));
        }
        std::fs::write(&inputs, lines).unwrap();
        let indexes = || (0..items.len()).map(|i| Ok(module_index(i).to_string().into_bytes()));
        let outcomes = |job: hecaton::Job<'_>| {
            let mut outcomes: Vec<_> = job
                .imap_raw(indexes().map(|input| vec![input]), true)
                .expect("the input thread starts")
                .collect();
            outcomes.sort_by_key(|outcome| outcome.index);
            outcomes.into_iter().map(|outcome| outcome.result).collect()
        };
        let pool = &work.pool;
        let pick = outcomes(pool.job(&module, "pick").unwrap());
        let command = outcomes(
            pool.command_job(&module, Vec::new(), CommandInput::Stdin)
                .unwrap(),
        );
        Self {
            work,
            items,
            module,
            wasm: path,
            inputs,
            pick,
            command,
        }
    }

    /// Runs `hecaton ARGS` on `stdin`, with the round's folder as compile cache.
    pub(crate) fn hecaton(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .args(args)
            .env("HECATON_CACHE_DIR", self.work.dir.join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hecaton");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `hecaton map` of the round's module over its `--input` file.
    pub(crate) fn map(&self, extra: &[&str]) -> Output {
        let mut args = vec!["map", self.wasm.to_str().unwrap(), "-q", "--keep-going"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--input", self.inputs.to_str().unwrap()]);
        self.hecaton(&args, b"")
    }

    /// The items a per-item target runs: those whose outcome is a guest's message first, then
    /// the others, at most [`SAMPLED`].
    pub(crate) fn sample(&self) -> Vec<usize> {
        let message = |i: &usize| {
            matches!(
                self.pick[*i],
                Err(TaskError::Guest { .. } | TaskError::BadInput { .. })
            )
        };
        let (mut sample, others): (Vec<usize>, Vec<usize>) =
            (0..self.items.len()).partition(message);
        sample.truncate(SAMPLED / 2);
        sample.extend(others);
        sample.truncate(SAMPLED);
        sample
    }
}
