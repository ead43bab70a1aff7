//! Section 10: many machines, on one. `hecaton map --nats` over two `hecaton worker -j 1`
//! processes on a `nats-server -js` of its own, against a local `hecaton map -j 2`, the same
//! pipeline otherwise (inputs from a file, outputs to a pipe, every output checked): `square`
//! gives the broker's cost per item, `fib(25)` how much of the local throughput a CPU-bound map
//! keeps; then the time a new worker takes to give its first output on a module it knows.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::measure::{Measurement, Workload, fastest_of_runs};
use crate::report::{Table, ratio};
use crate::{Guest, Plan, work};

const LOCAL_SQUARE: &str = "square: hecaton map -j 2 (local)";
const CLUSTER_SQUARE: &str = "square: hecaton map --nats, 2 workers × 1 thread";
const LOCAL_FIB: &str = "fib(25): hecaton map -j 2 (local)";
const CLUSTER_FIB: &str = "fib(25): hecaton map --nats, 2 workers × 1 thread";

/// Measures and prints section 10.
///
/// # Errors
/// The server or a worker cannot start, or a row fails.
pub fn print(plan: &Plan, guest: &Guest, hecaton: &Path) -> Result<()> {
    let server = Server::start()?;
    let scratch =
        std::env::temp_dir().join(format!("hecaton-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let mut workers = vec![
        Worker::start(hecaton, &server.url, &[])?,
        Worker::start(hecaton, &server.url, &[])?,
    ];
    let square = Workload::square(plan.cluster_items);
    let fib = Workload::fib(plan.cluster_fib_items);
    let title = format!(
        "10. Many machines, on one: {} squares and {} × fib({}) through {}",
        plan.cluster_items,
        plan.cluster_fib_items,
        work::FIB_N,
        server.version
    );
    let mut table = Table::new(title, LOCAL_SQUARE);
    for (workload, local, cluster) in [
        (&square, LOCAL_SQUARE, CLUSTER_SQUARE),
        (&fib, LOCAL_FIB, CLUSTER_FIB),
    ] {
        let inputs = scratch.join(format!("{}.txt", workload.task));
        let lines: String = workload
            .inputs()
            .map(|input| format!("{input}\n"))
            .collect();
        std::fs::write(&inputs, lines)?;
        let pipeline = Pipeline {
            hecaton,
            module: &guest.path,
            workload,
            inputs: &inputs,
        };
        table.add(local, pipeline.time(&["-j", "2"])?);
        table.add(cluster, pipeline.time(&["--nats", &server.url])?);
    }
    let per_item = match (table.get(LOCAL_SQUARE), table.get(CLUSTER_SQUARE)) {
        (Some(local), Some(cluster)) => format!(
            "{:.2} µs",
            (cluster.seconds - local.seconds) * 1e6 / local.items as f64
        ),
        _ => "n/a".into(),
    };
    table.notes.push(format!(
        "square, cluster ÷ local: {} — the broker's cost per item: {per_item} of wall time \
         (chunks of up to 4096 items, adaptive, about 50 ms each)",
        ratio(table.get(CLUSTER_SQUARE), table.get(LOCAL_SQUARE))
    ));
    table.notes.push(format!(
        "fib(25), cluster ÷ local: {} (target ≥ 0.9×)",
        ratio(table.get(CLUSTER_FIB), table.get(LOCAL_FIB))
    ));
    // A new worker on a module in its compile cache, and (once) on one it must compile.
    for worker in &mut workers {
        worker.stop()?;
    }
    let warm = (0..3)
        .map(|_| first_output(hecaton, &guest.path, &server.url, &[]))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .fold(Duration::MAX, Duration::min);
    let cold = first_output(hecaton, &guest.path, &server.url, &["--no-cache"])?;
    table.notes.push(format!(
        "a new worker's first output, from its start (connect, register, fetch the module by \
         hash, load it, run one task, publish): {:.0} ms with the module in its compile cache \
         (fastest of 3), {:.0} ms compiling it (--no-cache)",
        warm.as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e3
    ));
    table.notes.push(
        "every row is the whole CLI pipeline, `hecaton map bench-tasks.wasm --invoke TASK < \
         FILE | (read)`, outputs checked; the workers and the server share this machine's 2 \
         cores with the producer"
            .into(),
    );
    table.print();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// One map pipeline: the CLI over a file of inputs, its outputs read and checked.
struct Pipeline<'a> {
    hecaton: &'a Path,
    module: &'a Path,
    workload: &'a Workload,
    inputs: &'a Path,
}

impl Pipeline<'_> {
    /// The fastest of the runs of `hecaton map MODULE --invoke TASK ARGS < inputs`.
    fn time(&self, args: &[&str]) -> Result<Measurement> {
        let (_, seconds) = fastest_of_runs(|| {
            let output = Command::new(self.hecaton)
                .arg("map")
                .arg(self.module)
                .args(["--invoke", self.workload.task])
                .args(args)
                .stdin(std::fs::File::open(self.inputs)?)
                .stderr(Stdio::inherit())
                .output()
                .context("cannot run hecaton map")?;
            ensure!(
                output.status.success(),
                "hecaton map {args:?} failed ({})",
                output.status
            );
            let outputs = String::from_utf8(output.stdout)?
                .lines()
                .map(str::parse::<u64>)
                .collect::<Result<Vec<_>, _>>()?;
            self.workload.check(&outputs)
        })?;
        Ok(Measurement {
            items: self.workload.items,
            workers: 2,
            seconds,
        })
    }
}

/// The time from a new worker's start to a waiting map's first (and only) output.
fn first_output(hecaton: &Path, module: &Path, url: &str, args: &[&str]) -> Result<Duration> {
    let map = Command::new(hecaton)
        .arg("map")
        .arg(module)
        .args(["--invoke", "square", "--nats", url, "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    // The map has published its chunk when it starts waiting.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let mut worker = Worker::start(hecaton, url, args)?;
    let output = map.wait_with_output()?;
    let took = started.elapsed();
    worker.stop()?;
    ensure!(
        output.status.success() && output.stdout == b"9\n",
        "the map gave {:?} ({})",
        String::from_utf8_lossy(&output.stdout),
        output.status
    );
    Ok(took)
}

/// A `nats-server -js` on a free loopback port, its store in a fresh folder; killed on drop.
struct Server {
    child: Child,
    url: String,
    store: PathBuf,
    version: String,
}

impl Server {
    fn start() -> Result<Self> {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or("nats-server");
        let version = Command::new(binary)
            .arg("--version")
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .with_context(|| format!("cannot run {binary} (apt-get install nats-server)"))?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let store = std::env::temp_dir().join(format!("hecaton-bench-nats-{port}"));
        let child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("nats://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if Instant::now() > deadline {
                bail!("nats-server did not listen on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child,
            url,
            store,
            version,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// A `hecaton worker -j 1` process, ready; stopped (SIGTERM, then waited for) on drop.
struct Worker {
    child: Option<Child>,
}

impl Worker {
    fn start(hecaton: &Path, url: &str, args: &[&str]) -> Result<Self> {
        let mut child = Command::new(hecaton)
            .args(["worker", "--nats", url, "-j", "1"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().context("the worker's stderr")?;
        let mut lines = BufReader::new(stderr);
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                bail!("hecaton worker ended before it was ready");
            }
            if line.contains("ready") {
                break;
            }
        }
        // The rest of its stderr is drained, so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = lines.read_to_end(&mut Vec::new());
        });
        Ok(Self { child: Some(child) })
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
            ensure!(status.success(), "kill -TERM of a worker failed");
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
