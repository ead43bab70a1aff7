//! `hecaton worker`: a worker of a cluster's maps, on this machine's cores, until Ctrl-C or
//! SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use anyhow::Context;
use clap::Args;
use hecaton::cluster::{Connection, Worker};

use crate::cli::sandbox::{CacheArgs, dir_spec, max_stack, parse_size};
use crate::cli::{Exit, say};

/// Run the chunks of the maps started with `hecaton map --nats URL`, on this machine's cores.
///
/// The worker registers on the NATS JetStream server (or cluster) at URL, takes the chunks of
/// every map that asks for nothing it does not allow, and runs each task in a fresh sandboxed
/// instance under the map's limits. It grants a map only the directories and variables given
/// here: a map's `--dir HOST::GUEST` must match an --allow-dir exactly (with :rw only if
/// allowed :rw), and a map's `--env KEY` takes this host's value only when --allow-env KEY is
/// given. Ctrl-C or SIGTERM stops it: the chunks it runs go back to other workers at once.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  nats-server -js &
  hecaton worker --nats nats://127.0.0.1:4222 -j 16
  hecaton worker --nats nats://ann:secret@host:4222 --allow-dir /srv/data::/data --allow-env LANG
  seq 1 1000000 | hecaton map square.wasm --invoke square --nats nats://127.0.0.1:4222")]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// Worker threads [default: the number of cores].
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    workers: Option<u32>,
    /// A host directory maps may ask for: HOST[::GUEST][:rw] (GUEST defaults to HOST; without
    /// :rw, read-only).
    #[arg(long, value_name = "HOST[::GUEST][:rw]")]
    allow_dir: Vec<String>,
    /// A variable whose value on this host maps may ask for (`map --env KEY`).
    #[arg(long, value_name = "KEY")]
    allow_env: Vec<String>,
    /// The largest `--max-stack` a map may ask for: a map asking for more is not taken, and its
    /// producer says why [default and at most: 64MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_stack: Option<u64>,
    /// The largest `--max-memory` a map may ask for: a map asking for more is not taken, and
    /// its producer says why [default: any].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    #[command(flatten)]
    cache: CacheArgs,
}

/// Where the cluster is: the flags `map` and `worker` share.
#[derive(Debug, Args)]
pub(crate) struct NatsArgs {
    /// The NATS server with JetStream: nats://[USER:PASSWORD@]HOST:PORT, several separated by
    /// commas for a cluster.
    #[arg(long, value_name = "URL")]
    pub(crate) nats: Option<String>,
    /// A NATS credentials file (.creds: a user's JWT and nkey seed).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub(crate) nats_creds: Option<PathBuf>,
}

impl NatsArgs {
    /// The connection the flags name, if `--nats` is given.
    pub(crate) fn connection(&self) -> Option<Connection> {
        let url = self.nats.as_ref()?;
        let connection = Connection::new(url.clone());
        Some(match &self.nats_creds {
            Some(path) => connection.credentials(path),
            None => connection,
        })
    }
}

pub(crate) fn main(args: &WorkerArgs) -> anyhow::Result<Exit> {
    if args.cache.allows_precompiled() {
        anyhow::bail!(
            "--allow-precompiled: a worker compiles the wasm each map sends it, and runs no \
             precompiled code"
        );
    }
    let connection = args.nats.connection().context("--nats URL is required")?;
    let mut builder = Worker::builder(connection.clone())
        .cache(args.cache.cache())
        .notices(Arc::new(|text: &str| say(text)));
    if let Some(workers) = args.workers {
        builder = builder.threads(workers as usize);
    }
    for dir in &args.allow_dir {
        let (host, guest, access) = dir_spec(dir);
        builder = builder.allow_dir(host, guest, access)?;
    }
    for key in &args.allow_env {
        builder = builder.allow_env(key.clone());
    }
    if let Some(bytes) = args.max_stack {
        builder = builder.max_stack(max_stack(bytes)?)?;
    }
    builder = builder.max_memory(args.max_memory);
    let (stop, stopped) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    let worker = builder.start()?;
    let grants: Vec<String> = args
        .allow_dir
        .iter()
        .map(|dir| format!("--allow-dir {dir}"))
        .chain(
            args.allow_env
                .iter()
                .map(|key| format!("--allow-env {key}")),
        )
        .collect();
    say(format_args!(
        "worker {} ready: {} threads, on NATS at {}{}",
        worker.name(),
        worker.threads(),
        connection.display_servers(),
        if grants.is_empty() {
            String::new()
        } else {
            format!(", granting {}", grants.join(" "))
        }
    ));
    let _ = stopped.recv();
    let name = worker.name().to_owned();
    worker.stop();
    say(format_args!("worker {name} stopped"));
    Ok(Exit::Success)
}
