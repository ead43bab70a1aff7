//! `hecaton map --nats` and `hecaton worker` on real `nats-server`s (`hecaton_tests::nats`): a
//! map over workers gives exactly the local map's stdout and exit code — through a killed
//! worker, a late one, none at first, failing tasks, a JetStream cluster losing a server — and
//! a map is refused (exit 2) a capability no worker grants, a server it cannot reach or a wrong
//! password; Ctrl-C of the producer writes what finished, exits 130 and leaves nothing in the
//! streams.
//!
//! Every wait has a deadline, and every process a test starts is killed when its [`Running`]
//! guard drops, so that a broken cluster fails these tests instead of hanging them.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hecaton_tests::fixture;
use hecaton_tests::guests::{ADVERSARY, PROBE, SQUARE};
use hecaton_tests::nats::{NatsCluster, NatsServer};
use serde_json::Value;

use crate::cli::{assert_exit, assert_stderr_has, assert_stdout, hecaton, hecaton_command, stderr};

/// How long a worker may take to connect and say it is ready.
const READY: Duration = Duration::from_secs(30);
/// How long a map may take, generously: a chunk whose worker died waits for its redelivery.
const MAP: Duration = Duration::from_secs(90);
/// How long a map may take to be refused, or a process to stop when told.
const PROMPTLY: Duration = Duration::from_secs(20);

/// A process a test started: its stdout and stderr collected by threads as they come, its
/// stdin written by another; killed (SIGKILL) when dropped.
struct Running {
    what: String,
    child: Child,
    stdout: Arc<Collected>,
    stderr: Arc<Collected>,
    readers: Vec<JoinHandle<()>>,
}

/// One stream's bytes so far, and whether it has ended.
#[derive(Default)]
struct Collected {
    state: Mutex<(Vec<u8>, bool)>,
    grew: Condvar,
}

impl Collected {
    /// Copies `from` until it ends.
    fn collect(self: Arc<Self>, mut from: impl Read + Send + 'static) -> JoinHandle<()> {
        std::thread::spawn(move || {
            let mut buffer = [0; 64 << 10];
            loop {
                let read = from.read(&mut buffer).unwrap_or(0);
                let mut state = self.state.lock().unwrap();
                if read == 0 {
                    state.1 = true;
                } else {
                    state.0.extend_from_slice(&buffer[..read]);
                }
                self.grew.notify_all();
                if read == 0 {
                    return;
                }
            }
        })
    }

    /// Waits until the bytes so far satisfy `done`; `Err` says why they do not: the stream
    /// ended, or `within` passed.
    fn wait_for(&self, within: Duration, done: impl Fn(&str) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let mut state = self.state.lock().unwrap();
        loop {
            if done(&String::from_utf8_lossy(&state.0)) {
                return Ok(());
            }
            let now = Instant::now();
            if state.1 {
                return Err("before its end".into());
            }
            if now >= deadline {
                return Err(format!("within {within:?}"));
            }
            state = self.grew.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.state.lock().unwrap().0).into_owned()
    }
}

impl Running {
    /// Spawns `command` with `input` on its stdin.
    fn spawn(what: String, mut command: Command, input: Vec<u8>) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hecaton");
        let mut stdin = child.stdin.take().unwrap();
        // A process that exits without reading its input (a refused map) closes the pipe: not
        // this thread's failure to report.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let stdout = Arc::new(Collected::default());
        let stderr = Arc::new(Collected::default());
        let readers = vec![
            stdout.clone().collect(child.stdout.take().unwrap()),
            stderr.clone().collect(child.stderr.take().unwrap()),
        ];
        Self {
            what,
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Waits until stderr holds a line satisfying `line_is`, panicking with the stderr if the
    /// process ends or `within` passes first.
    #[track_caller]
    fn wait_stderr_line(&self, within: Duration, what: &str, line_is: impl Fn(&str) -> bool) {
        if let Err(when) = self
            .stderr
            .wait_for(within, |text| text.lines().any(&line_is))
        {
            panic!(
                "{} did not say {what} {when}; stderr:\n{}",
                self.what,
                self.stderr.text()
            );
        }
    }

    /// Waits until stdout holds `lines` whole lines, panicking with the stderr if the process
    /// ends or `within` passes first.
    #[track_caller]
    fn wait_stdout_lines(&self, lines: usize, within: Duration) {
        if let Err(when) = self
            .stdout
            .wait_for(within, |text| text.matches('\n').count() >= lines)
        {
            panic!(
                "{} wrote fewer than {lines} lines {when}; stderr:\n{}",
                self.what,
                self.stderr.text()
            );
        }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Sends signal `name` (`INT`, `TERM`) to the process.
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {}", self.what);
    }

    /// Kills the process (SIGKILL), as a machine lost would.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end and for all it wrote; kills it and panics with its stderr
    /// if `within` passes first.
    #[track_caller]
    fn finish(mut self, within: Duration) -> Output {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "{} did not end within {within:?}; stderr:\n{}",
                    self.what,
                    self.stderr.text()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for reader in std::mem::take(&mut self.readers) {
            reader.join().unwrap();
        }
        Output {
            status,
            stdout: self.stdout.state.lock().unwrap().0.clone(),
            stderr: self.stderr.state.lock().unwrap().0.clone(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh folder under the temporary folder, removed when dropped (a failing test's too).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("hecaton-cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `hecaton worker --nats URL ARGS`, with `env` set, once it says it is ready.
fn worker(url: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut all = vec!["worker", "--nats", url];
    all.extend_from_slice(args);
    let mut command = hecaton_command(&all);
    command.envs(env.iter().copied());
    let worker = Running::spawn(format!("hecaton {}", all.join(" ")), command, Vec::new());
    worker.wait_stderr_line(READY, "`hecaton: worker … ready`", |line| {
        line.starts_with("hecaton: worker ") && line.contains("ready")
    });
    worker
}

/// `hecaton map ARGS --nats URL` with `input` on stdin, running.
fn remote_map(args: &[&str], url: &str, input: &[u8]) -> Running {
    let mut all = vec!["map"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--nats", url]);
    Running::spawn(
        format!("hecaton {}", all.join(" ")),
        hecaton_command(&all),
        input.to_vec(),
    )
}

/// `hecaton map ARGS` (local) with `input`, on a thread: it runs while the remote map does.
fn local_map(args: &[&str], input: &[u8]) -> JoinHandle<Output> {
    let mut all = vec!["map".to_owned()];
    all.extend(args.iter().map(|&arg| arg.to_owned()));
    let input = input.to_vec();
    std::thread::spawn(move || {
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        hecaton(&all, &input)
    })
}

/// Asserts that the remote map gave the local map's exit code and stdout, byte for byte; a
/// difference is shown at its first line, not as two whole outputs.
#[track_caller]
fn assert_same_as_local(remote: &Output, local: &Output) {
    assert_eq!(
        remote.status.code(),
        local.status.code(),
        "exit codes differ; remote stderr:\n{}\nlocal stderr:\n{}",
        stderr(remote),
        stderr(local)
    );
    if remote.stdout == local.stdout {
        return;
    }
    let remote_lines: Vec<&[u8]> = remote.stdout.split(|&b| b == b'\n').collect();
    let local_lines: Vec<&[u8]> = local.stdout.split(|&b| b == b'\n').collect();
    let first = remote_lines
        .iter()
        .zip(&local_lines)
        .position(|(r, l)| r != l)
        .unwrap_or(remote_lines.len().min(local_lines.len()));
    let line = |lines: &[&[u8]]| {
        lines
            .get(first)
            .map_or("(none)".into(), |line| String::from_utf8_lossy(line))
            .into_owned()
    };
    panic!(
        "stdout differs from the local map's at line {} ({} lines remote, {} local):\n  remote: {}\n  local:  {}\nremote stderr:\n{}",
        first + 1,
        remote_lines.len() - 1,
        local_lines.len() - 1,
        line(&remote_lines),
        line(&local_lines),
        stderr(remote)
    );
}

/// Inputs `[ms, i, 1]` for probe's `nap_then_divide`, `i` in `0..count`: tasks that take `ms`
/// each (a clock wait, no CPU) and whose outputs, `i`, name their input.
fn naps(ms: u64, count: usize) -> Vec<u8> {
    (0..count)
        .map(|i| format!("[{ms}, {i}, 1]\n"))
        .collect::<String>()
        .into_bytes()
}

/// How many messages stream `name` holds, from a `/jsz?streams=true` body; `None` when the
/// server has no such stream.
fn stream_messages(jsz: &str, name: &str) -> Option<u64> {
    let jsz: Value = serde_json::from_str(jsz).expect("/jsz is JSON");
    jsz["account_details"]
        .as_array()?
        .iter()
        .flat_map(|account| account["stream_detail"].as_array().into_iter().flatten())
        .find(|stream| stream["name"] == name)
        .map(|stream| stream["state"]["messages"].as_u64().unwrap_or(0))
}

/// The server leading stream `name`, from a `/jsz?streams=true` body.
fn stream_leader(jsz: &str, name: &str) -> Option<String> {
    let jsz: Value = serde_json::from_str(jsz).expect("/jsz is JSON");
    jsz["account_details"]
        .as_array()?
        .iter()
        .flat_map(|account| account["stream_detail"].as_array().into_iter().flatten())
        .find(|stream| stream["name"] == name)?["cluster"]["leader"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn a_map_of_100000_items_over_3_workers_equals_the_local_map() {
    let server = NatsServer::start();
    let _workers: Vec<Running> = (0..3)
        .map(|_| worker(&server.url(), &["-j", "1"], &[]))
        .collect();
    let input: String = (0..100_000).map(|i| format!("{i}\n")).collect();
    let args = [SQUARE, "--invoke", "square"];
    let local = local_map(&args, input.as_bytes());
    let remote = remote_map(&args, &server.url(), input.as_bytes()).finish(MAP);
    let local = local.join().unwrap();
    assert_exit(&local, 0);
    assert_same_as_local(&remote, &local);
}

#[test]
fn a_worker_killed_in_the_middle_of_a_map_loses_and_duplicates_nothing() {
    let server = NatsServer::start();
    let mut workers: Vec<Running> = (0..3)
        .map(|_| worker(&server.url(), &["-j", "1"], &[]))
        .collect();
    // 100 chunks of 2 naps of 30 ms: about 2 s over 3 workers, each always holding a chunk.
    let input = naps(30, 200);
    let args = [PROBE, "--invoke", "nap_then_divide", "--chunksize", "2"];
    let local = local_map(&args, &input);
    let map = remote_map(&args, &server.url(), &input);
    map.wait_stdout_lines(40, MAP);
    workers[1].kill();
    let remote = map.finish(MAP);
    assert_exit(&remote, 0);
    let expected: String = (0..200).map(|i| format!("{i}\n")).collect();
    assert_stdout(&remote, &expected);
    assert_same_as_local(&remote, &local.join().unwrap());
}

#[test]
fn a_worker_that_joins_after_the_map_started_takes_chunks() {
    // Each worker grants its own value of WHO (a worker's `--allow-env KEY` passes its own
    // host's variable), so every output says which worker ran it.
    let server = NatsServer::start();
    let _first = worker(
        &server.url(),
        &["-j", "1", "--allow-env", "WHO"],
        &[("WHO", "first")],
    );
    // 80 chunks of one 50 ms nap: 4 s for the first worker alone.
    let input: String = (0..80).map(|_| "[50, \"WHO\"]\n").collect();
    let map = remote_map(
        &[
            PROBE,
            "--invoke",
            "nap_then_var",
            "--chunksize",
            "1",
            "--env",
            "WHO",
        ],
        &server.url(),
        input.as_bytes(),
    );
    map.wait_stdout_lines(5, MAP);
    let _late = worker(
        &server.url(),
        &["-j", "1", "--allow-env", "WHO"],
        &[("WHO", "late")],
    );
    let remote = map.finish(MAP);
    assert_exit(&remote, 0);
    let outputs: Vec<String> = crate::cli::stdout(&remote)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(outputs.len(), 80, "{outputs:?}");
    assert!(
        outputs[..5].iter().all(|output| output == "\"first\""),
        "{outputs:?}"
    );
    assert!(
        outputs
            .iter()
            .all(|output| output == "\"first\"" || output == "\"late\""),
        "{outputs:?}"
    );
    assert!(
        outputs.iter().any(|output| output == "\"late\""),
        "the late worker ran none of the 80 chunks: {outputs:?}"
    );
}

#[test]
fn a_map_with_no_worker_waits_saying_so_then_completes_when_one_starts() {
    let server = NatsServer::start();
    let started = Instant::now();
    let mut map = remote_map(
        &[SQUARE, "--invoke", "square", "1", "2", "3"],
        &server.url(),
        b"",
    );
    map.wait_stderr_line(Duration::from_secs(15), "`waiting for a worker`", |line| {
        line.contains("waiting for a worker")
    });
    // It says so after about 3 s, not at once: a worker may be registering.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "said after {:?}",
        started.elapsed()
    );
    assert!(map.is_running(), "a map with no worker goes on waiting");
    let _worker = worker(&server.url(), &[], &[]);
    let remote = map.finish(MAP);
    assert_exit(&remote, 0);
    assert_stdout(&remote, "1\n4\n9\n");
}

#[test]
fn failed_tasks_on_a_worker_give_the_local_error_records() {
    let server = NatsServer::start();
    let _worker = worker(&server.url(), &[], &[]);
    let trap = fixture("trap-unreachable.wat");
    let spin = fixture("loop-forever.wat");
    let bomb = fixture("memory-grow-bomb.wat");
    let cases: [(&[&str], &[u8]); 4] = [
        (
            &[trap.to_str().unwrap(), "--invoke", "boom", "--keep-going"],
            b"1\n2\n",
        ),
        (
            &[spin.to_str().unwrap(), "--invoke", "spin", "--timeout", "200ms", "--keep-going"],
            b"null\nnull\n",
        ),
        (
            &[bomb.to_str().unwrap(), "--invoke", "grow", "--max-memory", "1MiB", "--keep-going"],
            b"null\nnull\n",
        ),
        // Every kind at once, among successes: timeouts in wasm and in a WASI sleep, a memory
        // limit, a stack overflow, a panic, a guest error.
        (
            &[
                ADVERSARY,
                "--invoke",
                "hostile",
                // Long enough that the allocation bomb meets the memory limit first on a
                // loaded machine (at 500 ms, a CI machine at load 6 timed it out on the worker).
                "--timeout",
                "2s",
                "--max-memory",
                "32MiB",
                "--keep-going",
            ],
            b"\"ok\"\n\"spin\"\n\"alloc_bomb\"\n\"recurse\"\n\"sleep\"\n\"panic\"\n\"err\"\n\"ok\"\n",
        ),
    ];
    for (args, input) in cases {
        let local = local_map(args, input);
        let remote = remote_map(args, &server.url(), input).finish(MAP);
        let local = local.join().unwrap();
        assert_exit(&local, 1);
        assert_same_as_local(&remote, &local);
    }
}

#[test]
fn a_directory_a_worker_allows_is_granted() {
    let dir = TempDir::new("grant");
    std::fs::write(dir.0.join("hello.txt"), "hello from the host").unwrap();
    let grant = format!("{}::/data", dir.0.display());
    let server = NatsServer::start();
    let _worker = worker(&server.url(), &["--allow-dir", &grant], &[]);
    let args = [ADVERSARY, "--invoke", "read_file", "--dir", &grant];
    let input = b"\"/data/hello.txt\"\n";
    let local = local_map(&args, input);
    let remote = remote_map(&args, &server.url(), input).finish(MAP);
    assert_exit(&remote, 0);
    assert_stdout(&remote, "\"hello from the host\"\n");
    assert_same_as_local(&remote, &local.join().unwrap());
}

#[test]
fn a_directory_or_variable_no_worker_allows_is_refused_naming_it() {
    let dir = TempDir::new("refuse");
    let read_only = format!("{}::/data", dir.0.display());
    let read_write = format!("{read_only}:rw");
    let server = NatsServer::start();
    let _worker = worker(
        &server.url(),
        &["--allow-dir", &read_only, "--allow-env", "WHO"],
        &[],
    );
    for (flag, value) in [
        ("--dir", "/some/path::/data"),
        // Same directory, more access than granted.
        ("--dir", read_write.as_str()),
        ("--env", "SECRET"),
    ] {
        let refused = remote_map(
            &[ADVERSARY, "--invoke", "env_vars", flag, value],
            &server.url(),
            b"null\n",
        )
        .finish(PROMPTLY);
        assert_exit(&refused, 2);
        assert_stdout(&refused, "");
        assert_stderr_has(&refused, &format!("{flag} {value}"));
    }
}

#[test]
fn a_refused_connection_exits_2() {
    // A port free a moment ago: nothing listens there.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let refused = remote_map(&[SQUARE, "--invoke", "square", "1"], &url, b"").finish(PROMPTLY);
    assert_exit(&refused, 2);
    assert_stdout(&refused, "");
    assert_stderr_has(&refused, "cannot connect to NATS");
}

#[test]
fn a_wrong_password_exits_2_without_showing_it_and_the_right_one_maps() {
    let server = NatsServer::start_with_password("hecaton", "right-secret");
    let url = |password: &str| format!("nats://hecaton:{password}@127.0.0.1:{}", server.port());
    let _worker = worker(&url("right-secret"), &[], &[]);
    let refused = remote_map(
        &[SQUARE, "--invoke", "square", "3"],
        &url("wrong-secret"),
        b"",
    )
    .finish(PROMPTLY);
    assert_exit(&refused, 2);
    assert_stdout(&refused, "");
    assert_stderr_has(&refused, "cannot connect to NATS");
    assert!(
        !stderr(&refused).contains("wrong-secret"),
        "the password is shown:\n{}",
        stderr(&refused)
    );
    let mapped = remote_map(
        &[SQUARE, "--invoke", "square", "3"],
        &url("right-secret"),
        b"",
    )
    .finish(MAP);
    assert_exit(&mapped, 0);
    assert_stdout(&mapped, "9\n");
}

#[test]
fn ctrl_c_of_the_producer_writes_what_finished_exits_130_and_leaves_nothing_in_the_streams() {
    let server = NatsServer::start();
    let _worker = worker(&server.url(), &["-j", "2"], &[]);
    let map = remote_map(
        &[PROBE, "--invoke", "nap_then_divide", "--chunksize", "1"],
        &server.url(),
        &naps(20, 500),
    );
    map.wait_stdout_lines(1, MAP);
    map.signal("INT");
    let output = map.finish(PROMPTLY);
    assert_exit(&output, 130);
    let text = crate::cli::stdout(&output);
    assert!(
        text.ends_with('\n'),
        "only whole lines are written: {text:?}"
    );
    let written = text.lines().count();
    let expected: String = (0..written).map(|i| format!("{i}\n")).collect();
    assert_eq!(text, expected, "a prefix of the map's outputs, in order");
    assert!(written < 500, "all 500 outputs were written before Ctrl-C");
    // Chunks a worker was running when the map ended may still report; within a few seconds
    // the map's chunks and outcomes must all be gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let jsz = server.monitor_json("/jsz?streams=true");
        let left: Vec<(&str, Option<u64>)> = ["HECATON_CHUNKS", "HECATON_RESULTS"]
            .into_iter()
            .map(|stream| (stream, stream_messages(&jsz, stream)))
            .collect();
        if left.iter().all(|(_, messages)| *messages == Some(0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages left in the streams (None: no such stream): {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_cluster_map_survives_the_loss_of_a_server() {
    let mut cluster = NatsCluster::start(3);
    let urls = cluster.urls();
    let _workers: Vec<Running> = (0..2).map(|_| worker(&urls, &["-j", "1"], &[])).collect();
    // 150 chunks of 2 naps of 40 ms: about 6 s over 2 workers.
    let input = naps(40, 300);
    let args = [PROBE, "--invoke", "nap_then_divide", "--chunksize", "2"];
    let local = local_map(&args, &input);
    let map = remote_map(&args, &urls, &input);
    map.wait_stdout_lines(30, MAP);
    // The server leading the chunks' stream, the hardest to lose (the first, if none says).
    let jsz = cluster.monitor_json(0, "/jsz?streams=true");
    let leader = stream_leader(&jsz, "HECATON_CHUNKS");
    let victim = (0..3)
        .find(|&i| leader.as_deref() == Some(cluster.name(i).as_str()))
        .unwrap_or(0);
    cluster.kill(victim);
    let remote = map.finish(MAP);
    assert_exit(&remote, 0);
    let expected: String = (0..300).map(|i| format!("{i}\n")).collect();
    assert_stdout(&remote, &expected);
    assert_same_as_local(&remote, &local.join().unwrap());
}

#[test]
fn a_worker_exits_0_on_sigterm_and_on_sigint() {
    let server = NatsServer::start();
    for signal in ["TERM", "INT"] {
        let worker = worker(&server.url(), &[], &[]);
        worker.signal(signal);
        let output = worker.finish(PROMPTLY);
        assert_exit(&output, 0);
    }
}

#[test]
fn a_chunk_whose_workers_all_die_becomes_a_worker_lost_record() {
    let server = NatsServer::start();
    // One input whose task naps a minute: whoever takes it is killed before it ends.
    let map = remote_map(
        &[PROBE, "--invoke", "nap_then_divide", "--keep-going"],
        &server.url(),
        b"[60000, 1, 1]\n",
    );
    for _ in 0..3 {
        let mut doomed = worker(&server.url(), &["-v"], &[]);
        // The broker hands the chunk to the next worker once the last one is silent for 4 s.
        doomed.wait_stderr_line(Duration::from_secs(20), "`running a chunk`", |line| {
            line.contains("running a chunk")
        });
        doomed.kill();
    }
    // The fourth delivery is not run again: its input is reported lost.
    let _last = worker(&server.url(), &[], &[]);
    let remote = map.finish(MAP);
    assert_exit(&remote, 1);
    let record: Value = serde_json::from_str(crate::cli::stdout(&remote).trim()).unwrap();
    assert_eq!(record["error"]["kind"], "worker_lost", "{record}");
}

#[test]
fn a_credentials_file_that_cannot_be_read_is_named_and_exits_2() {
    let server = NatsServer::start();
    let url = server.url();
    for command in ["map", "worker"] {
        let mut args = vec![command];
        if command == "map" {
            args.extend([SQUARE, "--invoke", "square", "1"]);
        }
        args.extend(["--nats", &url, "--nats-creds", "/nonexistent/user.creds"]);
        let refused = hecaton(&args, b"");
        assert_exit(&refused, 2);
        assert_stdout(&refused, "");
        assert_stderr_has(&refused, "/nonexistent/user.creds");
    }
}

#[test]
fn the_library_maps_on_a_cluster_with_a_pool_s_types() {
    use hecaton::cluster::{Cluster, Connection, Worker};
    use hecaton::{Module, TaskError};

    let server = NatsServer::start();
    let worker = Worker::builder(Connection::new(server.url()))
        .threads(2)
        .start()
        .unwrap();
    assert_eq!(worker.threads(), 2);
    let cluster = Cluster::builder(Connection::new(server.url()))
        .connect()
        .unwrap();
    assert_eq!(cluster.registered_threads().unwrap(), 2);
    let module = Module::from_file(SQUARE).unwrap();
    let squares: Vec<i64> = cluster.map(&module, "square", 1..=1000_i64).unwrap();
    assert_eq!(squares, (1..=1000_i64).map(|i| i * i).collect::<Vec<_>>());
    let lazy: Vec<i64> = cluster
        .imap(&module, "square", [3_i64, 4])
        .unwrap()
        .collect::<Result<_, TaskError>>()
        .unwrap();
    assert_eq!(lazy, [9, 16]);
    // A numeric map runs on a local pool only: said, not run here in silence.
    let numeric = cluster
        .job(&module, "square")
        .unwrap()
        .map_numeric::<i64, i64>([2]);
    assert!(
        matches!(&numeric, Err(hecaton::Error::Input { message, .. }) if message.contains("local pool")),
        "{numeric:?}"
    );
    worker.stop();
}

#[test]
fn a_producer_killed_mid_map_is_dropped_by_its_workers_leaving_nothing_behind() {
    let server = NatsServer::start();
    let _worker = worker(&server.url(), &["-j", "1"], &[]);
    let mut map = remote_map(
        &[PROBE, "--invoke", "nap_then_divide", "--chunksize", "1"],
        &server.url(),
        &naps(50, 400),
    );
    map.wait_stdout_lines(3, MAP);
    // No Ctrl-C, no clean-up: the map's specification expires, and its worker notices.
    map.kill();
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let jsz = server.monitor_json("/jsz?streams=true");
        let left: Vec<(&str, Option<u64>)> = ["HECATON_CHUNKS", "HECATON_RESULTS", "HECATON_MAPS"]
            .into_iter()
            .map(|stream| (stream, stream_messages(&jsz, stream)))
            .collect();
        if left.iter().all(|(_, messages)| *messages == Some(0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages left in the streams (None: no such stream): {left:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // The worker goes on serving.
    let next = remote_map(
        &[SQUARE, "--invoke", "square", "1", "2", "3"],
        &server.url(),
        b"",
    )
    .finish(MAP);
    assert_exit(&next, 0);
    assert_stdout(&next, "1\n4\n9\n");
}

#[test]
fn fail_fast_retries_unordered_and_stats_are_a_local_map_s() {
    let server = NatsServer::start();
    let _workers: Vec<Running> = (0..2)
        .map(|_| worker(&server.url(), &["-j", "1"], &[]))
        .collect();
    // Input 2 divides by zero: a guest error.
    let input = b"[0, 1, 1]\n[0, 2, 1]\n[0, 3, 0]\n[0, 4, 1]\n[0, 5, 1]\n";
    let task = [PROBE, "--invoke", "nap_then_divide", "--chunksize", "1"];
    let with = |more: &[&'static str]| -> Vec<&str> { task.iter().chain(more).copied().collect() };
    // Fail-fast: the outputs before the failure, then exit 1; retried twice, each record saying
    // so; as completed, the same lines in another order; the same figures.
    for args in [
        with(&[]),
        with(&["--retries", "2", "--keep-going"]),
        with(&["--stats", "--keep-going"]),
    ] {
        let local = local_map(&args, input).join().unwrap();
        let remote = remote_map(&args, &server.url(), input).finish(MAP);
        assert_same_as_local(&remote, &local);
        if args.contains(&"--stats") {
            let figures = |output: &Output| {
                stderr(output)
                    .lines()
                    .find(|line| line.starts_with("stats: ") && line.contains("items"))
                    .map(str::to_owned)
            };
            assert_eq!(figures(&remote), figures(&local), "{}", stderr(&remote));
            assert!(figures(&remote).is_some_and(|line| line.contains("5 items")));
        }
    }
    let unordered = with(&["--unordered", "--keep-going"]);
    let local = local_map(&unordered, input).join().unwrap();
    let remote = remote_map(&unordered, &server.url(), input).finish(MAP);
    assert_eq!(remote.status.code(), local.status.code());
    let sorted = |output: &Output| {
        let mut lines: Vec<String> = crate::cli::stdout(output)
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&remote), sorted(&local));
    assert_eq!(sorted(&remote).len(), 5);
}

#[test]
fn a_map_waits_through_its_server_s_restart_losing_and_duplicating_nothing() {
    let mut server = NatsServer::start();
    let _worker = worker(&server.url(), &["-j", "2"], &[]);
    // 200 chunks of one 20 ms nap: about 2 s of work over the worker's 2 threads.
    let map = remote_map(
        &[PROBE, "--invoke", "nap_then_divide", "--chunksize", "1"],
        &server.url(),
        &naps(20, 200),
    );
    map.wait_stdout_lines(20, MAP);
    server.kill();
    // Down longer than a map's specification lives (15 s) and than one publish retries.
    std::thread::sleep(Duration::from_secs(20));
    server.restart();
    let remote = map.finish(MAP);
    assert_exit(&remote, 0);
    let expected: String = (0..200).map(|i| format!("{i}\n")).collect();
    assert_stdout(&remote, &expected);
    assert_stderr_has(&remote, "waiting for the NATS server");
}

#[test]
fn with_its_server_gone_a_map_still_stops_on_ctrl_c_and_a_worker_on_sigterm() {
    let mut server = NatsServer::start();
    let worker = worker(&server.url(), &["-j", "2"], &[]);
    let map = remote_map(
        &[PROBE, "--invoke", "nap_then_divide", "--chunksize", "1"],
        &server.url(),
        &naps(20, 400),
    );
    map.wait_stdout_lines(10, MAP);
    server.kill();
    map.wait_stderr_line(PROMPTLY, "`waiting for the NATS server`", |line| {
        line.contains("waiting for the NATS server")
    });
    for (running, signal, code) in [(map, "INT", 130), (worker, "TERM", 0)] {
        running.signal(signal);
        let started = Instant::now();
        let output = running.finish(PROMPTLY);
        assert_exit(&output, code);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "SIGINT/SIGTERM took {:?}",
            started.elapsed()
        );
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
        if code == 130 {
            let text = crate::cli::stdout(&output);
            let expected: String = (0..text.lines().count())
                .map(|i| format!("{i}\n"))
                .collect();
            assert_eq!(text, expected, "a prefix of the outputs, in order");
        }
    }
}

/// The regression: `map --max-stack 2MiB --nats` aborted every worker of the cluster, and the
/// map then waited forever.
#[test]
fn a_stack_limit_near_two_mib_runs_on_workers_and_one_past_a_workers_ceiling_is_refused() {
    let server = NatsServer::start();
    let mut roomy = worker(&server.url(), &[], &[]);
    let rec = fixture("recursion-calls-wasi.wat");
    let rec = rec.to_str().unwrap();
    for stack in ["2040KiB", "2MiB", "64MiB"] {
        let ran = remote_map(
            &[rec, "--invoke", "rec", "--max-stack", stack, "--keep-going"],
            &server.url(),
            b"1\n2\n",
        )
        .finish(PROMPTLY);
        assert_exit(&ran, 1);
        assert_eq!(
            String::from_utf8_lossy(&ran.stdout)
                .matches("stack_overflow")
                .count(),
            2,
            "--max-stack {stack}: {}",
            String::from_utf8_lossy(&ran.stdout)
        );
        assert!(
            roomy.is_running(),
            "the worker lives on after --max-stack {stack}"
        );
    }
    // A cluster whose one worker runs stacks of at most 1 MiB.
    let server = NatsServer::start();
    let _small = worker(&server.url(), &["--max-stack", "1MiB"], &[]);
    let refused = remote_map(
        &[rec, "--invoke", "rec", "--max-stack", "2MiB"],
        &server.url(),
        b"1\n",
    )
    .finish(PROMPTLY);
    assert_exit(&refused, 2);
    assert_stdout(&refused, "");
    assert_stderr_has(
        &refused,
        "--max-stack 2097152 bytes (it runs at least 1, at most 1048576)",
    );
}

#[test]
fn a_component_export_maps_on_workers_as_it_maps_locally() {
    let server = NatsServer::start();
    let _worker = worker(&server.url(), &["-j", "1"], &[]);
    let input: String = (0..30)
        .map(|n| {
            format!(
                "[{}]\n",
                (0..n).map(|k| k.to_string()).collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    let args = [hecaton_tests::guests::WIT_SHAPES, "--invoke", "sum"];
    let local = local_map(&args, input.as_bytes());
    let remote = remote_map(&args, &server.url(), input.as_bytes()).finish(MAP);
    let local = local.join().unwrap();
    assert_exit(&local, 0);
    assert_same_as_local(&remote, &local);
    let expected: String = (0..30_i64)
        .map(|n| format!("{}\n", n * (n - 1) / 2))
        .collect();
    assert_stdout(&remote, &expected);
}
