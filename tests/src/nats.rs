//! NATS servers for the cluster tests, run from Debian's `nats-server` (`.ci/run` installs it):
//! [`NatsServer`], one server with JetStream (with a user and password if asked), and
//! [`NatsCluster`], servers forming one JetStream cluster. Each server listens on free loopback
//! ports (clients, monitoring, routes), keeps its store in a fresh temporary folder, is ready
//! when `start` returns, and is killed and its folder removed when dropped.
//!
//! A missing `nats-server` is a panic saying how to install it, never a skipped test.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a server, or a whole cluster, may take to be ready.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(20);
/// How many times a start is tried again when a port chosen as free was taken before the
/// server could bind it.
const START_ATTEMPTS: usize = 5;

/// One `nats-server` with JetStream on loopback.
#[derive(Debug)]
pub struct NatsServer {
    server: Server,
}

impl NatsServer {
    /// Starts a server that takes any client, and waits until JetStream is ready.
    ///
    /// # Panics
    ///
    /// When `nats-server` is not installed, or the server does not become ready in time (its
    /// log is in the message).
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a server that takes only clients connecting as `user` with `password`
    /// (`nats://user:password@127.0.0.1:PORT`), and waits until JetStream is ready.
    ///
    /// # Panics
    ///
    /// As [`NatsServer::start`].
    pub fn start_with_password(user: &str, password: &str) -> Self {
        Self::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Self {
        let server = with_free_ports(|| {
            let ports = free_ports(2);
            let (client, monitor) = (ports[0], ports[1]);
            let mut args = args(&["-js", "-a", "127.0.0.1"]);
            args.extend(["-p".into(), client.to_string()]);
            args.extend(["-m".into(), monitor.to_string()]);
            if let Some((user, password)) = auth {
                args.extend([
                    "--user".into(),
                    user.into(),
                    "--pass".into(),
                    password.into(),
                ]);
            }
            let mut server = Server::spawn("nats", client, monitor, args);
            // JetStream runs when `/jsz` shows its store.
            server.wait_ready(Instant::now() + READY_DEADLINE, |jsz| {
                jsz.contains("\"store_dir\"")
            })?;
            Ok(server)
        });
        Self { server }
    }

    /// `nats://127.0.0.1:PORT`, without credentials.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.server.client_port
    }

    /// The body of the monitoring endpoint `path` (e.g. `/jsz?streams=true`).
    ///
    /// # Panics
    ///
    /// When the server does not answer 200.
    pub fn monitor_json(&self, path: &str) -> String {
        self.server.monitor_json(path)
    }

    /// Kills the server (SIGKILL); its folder stays until the drop.
    pub fn kill(&mut self) {
        self.server.kill();
    }

    /// Starts the killed server again, on the same ports and store, and waits until JetStream
    /// is ready.
    ///
    /// # Panics
    ///
    /// When the server does not become ready in time (its log is in the message).
    pub fn restart(&mut self) {
        self.server.restart();
        if let Err(failure) = self
            .server
            .wait_ready(Instant::now() + READY_DEADLINE, |jsz| {
                jsz.contains("\"store_dir\"")
            })
        {
            panic!("{failure:?}");
        }
    }
}

/// `nats-server`s forming one JetStream cluster on loopback, named `s1`, `s2`, … (server `i` is
/// named `s{i+1}`), each routing to all the others.
#[derive(Debug)]
pub struct NatsCluster {
    servers: Vec<Server>,
}

impl NatsCluster {
    /// Starts `size` servers and waits until every one is ready and all agree on an elected
    /// JetStream meta leader of a cluster of `size`: a stream with `size` replicas can be made.
    ///
    /// # Panics
    ///
    /// When `nats-server` is not installed, or the cluster does not become ready in time (the
    /// log of a server that was not ready is in the message).
    pub fn start(size: usize) -> Self {
        assert!(size >= 2, "a cluster has at least two servers");
        let servers = with_free_ports(|| {
            let ports: Vec<[u16; 3]> = free_ports(3 * size)
                .chunks(3)
                .map(|ports| [ports[0], ports[1], ports[2]])
                .collect();
            let mut servers: Vec<Server> = ports
                .iter()
                .enumerate()
                .map(|(i, &[client, monitor, route])| {
                    let routes: Vec<String> = ports
                        .iter()
                        .filter(|other| other[2] != route)
                        .map(|other| format!("nats://127.0.0.1:{}", other[2]))
                        .collect();
                    let name = format!("s{}", i + 1);
                    let mut args = args(&["-js", "-a", "127.0.0.1"]);
                    args.extend(["-p".into(), client.to_string()]);
                    args.extend(["-m".into(), monitor.to_string()]);
                    args.extend(["-n".into(), name.clone()]);
                    args.extend(["--cluster_name".into(), "hecaton-test".into()]);
                    args.extend(["--cluster".into(), format!("nats://127.0.0.1:{route}")]);
                    args.extend(["--routes".into(), routes.join(",")]);
                    Server::spawn(&name, client, monitor, args)
                })
                .collect();
            let deadline = Instant::now() + READY_DEADLINE;
            for server in &mut servers {
                server.wait_ready(deadline, |jsz| meta_leader(jsz, size).is_some())?;
            }
            // Each server has seen a leader; they must all name the same one (an election still
            // settling shows two).
            loop {
                let leaders: Vec<Option<String>> = servers
                    .iter()
                    .map(|server| meta_leader(&server.monitor_json("/jsz"), size))
                    .collect();
                if leaders[0].is_some() && leaders.windows(2).all(|pair| pair[0] == pair[1]) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Failure::Other(format!(
                        "the servers do not agree on a meta leader: {leaders:?}"
                    )));
                }
                std::thread::sleep(POLL);
            }
            Ok(servers)
        });
        Self { servers }
    }

    /// The servers' URLs, comma-separated: `nats://127.0.0.1:A,nats://127.0.0.1:B,…`.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.servers.iter().map(Server::url).collect();
        urls.join(",")
    }

    /// Server `i`'s URL.
    pub fn url(&self, i: usize) -> String {
        self.servers[i].url()
    }

    /// Server `i`'s name, `s{i+1}`, as the monitoring endpoints name it (a stream's leader).
    pub fn name(&self, i: usize) -> String {
        self.servers[i].name.clone()
    }

    /// The body of server `i`'s monitoring endpoint `path` (e.g. `/jsz?streams=true`).
    ///
    /// # Panics
    ///
    /// When the server does not answer 200.
    pub fn monitor_json(&self, i: usize, path: &str) -> String {
        self.servers[i].monitor_json(path)
    }

    /// Kills server `i` (SIGKILL); the others go on.
    pub fn kill(&mut self, i: usize) {
        self.servers[i].kill();
    }
}

/// Why a start did not come to be ready.
#[derive(Debug)]
enum Failure {
    /// A port chosen as free was taken before the server bound it: worth another try.
    PortTaken,
    /// Anything else, said.
    Other(String),
}

/// Runs `start` until it does not fail for a taken port, at most [`START_ATTEMPTS`] times.
fn with_free_ports<T>(mut start: impl FnMut() -> Result<T, Failure>) -> T {
    for _ in 0..START_ATTEMPTS {
        match start() {
            Ok(started) => return started,
            Err(Failure::PortTaken) => continue,
            Err(Failure::Other(message)) => panic!("{message}"),
        }
    }
    panic!("nats-server found its ports taken {START_ATTEMPTS} times");
}

/// `count` distinct loopback ports free a moment ago: bound together to port 0, then released.
/// Another process may take one before the server binds it; the server then fails to start and
/// the caller tries again with new ports.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect()
}

fn args(args: &[&str]) -> Vec<String> {
    args.iter().map(|&arg| arg.to_owned()).collect()
}

/// One `nats-server` process, its ports and its folder (store and log).
#[derive(Debug)]
struct Server {
    name: String,
    /// Its arguments, but for its folder's.
    args: Vec<String>,
    child: Option<Child>,
    client_port: u16,
    monitor_port: u16,
    dir: PathBuf,
}

impl Server {
    /// Spawns `nats-server ARGS` with its store and log in a fresh folder.
    fn spawn(name: &str, client_port: u16, monitor_port: u16, args: Vec<String>) -> Self {
        let dir = fresh_dir(name);
        let child = run_in(&dir, &args);
        Self {
            name: name.to_owned(),
            args,
            child: Some(child),
            client_port,
            monitor_port,
            dir,
        }
    }

    /// Starts the server again on its ports and its store, after [`Server::kill`].
    fn restart(&mut self) {
        self.kill();
        self.child = Some(run_in(&self.dir, &self.args));
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    /// Waits until the server takes clients (it says `INFO` on its client port), says it is
    /// healthy (`/healthz`: JetStream enabled and, in a cluster, its meta group current), and
    /// its `/jsz` satisfies `jsz_ready`.
    fn wait_ready(
        &mut self,
        deadline: Instant,
        jsz_ready: impl Fn(&str) -> bool,
    ) -> Result<(), Failure> {
        loop {
            if let Some(failure) = self.exited() {
                return Err(failure);
            }
            if let (true, Ok((200, _)), Ok((200, jsz))) = (
                self.takes_clients(),
                http_get(self.monitor_port, "/healthz"),
                http_get(self.monitor_port, "/jsz"),
            ) && jsz_ready(&jsz)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Failure::Other(format!(
                    "nats-server {} was not ready after {READY_DEADLINE:?}; its log:\n{}",
                    self.name,
                    self.log()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the client port greets a connection with `INFO`.
    fn takes_clients(&self) -> bool {
        let Ok(stream) = connect(self.client_port) else {
            return false;
        };
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("INFO ")
    }

    /// Why the server has already ended, if it has.
    fn exited(&mut self) -> Option<Failure> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        let log = self.log();
        Some(if log.contains("address already in use") {
            Failure::PortTaken
        } else {
            Failure::Other(format!(
                "nats-server {} exited ({status}) before it was ready; its log:\n{log}",
                self.name
            ))
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn monitor_json(&self, path: &str) -> String {
        match http_get(self.monitor_port, path) {
            Ok((200, body)) => body,
            Ok((status, body)) => {
                panic!("nats-server {}: GET {path}: {status} {body}", self.name)
            }
            Err(error) => panic!("nats-server {}: GET {path}: {error}", self.name),
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `nats-server ARGS` with its store and log in `dir`.
fn run_in(dir: &std::path::Path, args: &[String]) -> Child {
    Command::new(nats_server())
        .args(args)
        .arg("-sd")
        .arg(dir.join("store"))
        .arg("-l")
        .arg(dir.join("log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run nats-server: {error}; {INSTALL}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const INSTALL: &str = "the cluster tests need Debian's nats-server (`.ci/run` installs it: \
                       apt-get install nats-server)";

/// `nats-server` on `PATH`, or Debian's `/usr/sbin/nats-server` (not on every user's `PATH`).
fn nats_server() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nats-server"))
        .find(|program| program.is_file())
        .unwrap_or_else(|| panic!("nats-server is not installed: {INSTALL}"))
}

/// A new empty folder under the temporary folder.
fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        let dir = std::env::temp_dir().join(format!(
            "hecaton-nats-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => panic!("cannot make {}: {error}", dir.display()),
        }
    }
}

/// A loopback connection to `port`, with timeouts so that a stuck server fails the test.
fn connect(port: u16) -> io::Result<TcpStream> {
    let stream =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

/// `GET path` on loopback `port` in HTTP/1.0 (the server closes the connection after its
/// answer): the status and the body.
fn http_get(port: u16, path: &str) -> io::Result<(u16, String)> {
    let mut stream = connect(port)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "not an HTTP response");
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(invalid)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(invalid)?;
    Ok((status, body.to_owned()))
}

/// The meta leader `/jsz` names in its `meta_cluster`, if one is elected and the meta cluster
/// has `size` members.
fn meta_leader(jsz: &str, size: usize) -> Option<String> {
    let meta = &jsz[jsz.find("\"meta_cluster\"")?..];
    let leader = json_string_after(meta, "\"leader\"").filter(|leader| !leader.is_empty())?;
    let size_field = &meta[meta.find("\"cluster_size\"")? + "\"cluster_size\"".len()..];
    let digits: String = size_field
        .trim_start_matches([' ', ':'])
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.parse() == Ok(size)).then_some(leader)
}

/// The JSON string value after the first `key` in `text` (server names need no unescaping).
fn json_string_after(text: &str, key: &str) -> Option<String> {
    let rest = text[text.find(key)? + key.len()..].trim_start_matches([' ', ':', '\n']);
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request on the NATS client protocol to `port`: `CONNECT` (answered `PONG`, or the
    /// server's `-ERR` line, which is returned), then `PUB subject` with a reply inbox, answered
    /// with the reply's payload.
    fn request(port: u16, connect_options: &str, subject: &str, body: &str) -> String {
        let stream = connect(port).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("INFO "), "{line}");
        let hello = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false{connect_options}}}\r\nPING\r\n"
        );
        writer.write_all(hello.as_bytes()).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.starts_with("-ERR") {
            return line;
        }
        assert!(line.starts_with("PONG"), "{line}");
        let publish = format!(
            "SUB _INBOX.check 1\r\nPUB {subject} _INBOX.check {}\r\n{body}\r\n",
            body.len()
        );
        writer.write_all(publish.as_bytes()).unwrap();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.starts_with("-ERR") {
                return line;
            }
            if line.starts_with("PING") {
                writer.write_all(b"PONG\r\n").unwrap();
            }
            if let Some(header) = line.strip_prefix("MSG _INBOX.check 1 ") {
                let length: usize = header.trim().parse().unwrap();
                let mut payload = vec![0; length + 2];
                reader.read_exact(&mut payload).unwrap();
                payload.truncate(length);
                return String::from_utf8(payload).unwrap();
            }
        }
    }

    #[test]
    fn a_server_is_ready_with_jetstream_and_gone_with_its_folder_when_dropped() {
        let server = NatsServer::start();
        assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
        let info = request(server.port(), "", "$JS.API.INFO", "");
        assert!(info.contains("account_info_response"), "{info}");
        assert!(!info.contains("\"error\""), "{info}");
        assert!(server.monitor_json("/jsz").contains("\"store_dir\""));
        let dir = server.server.dir.clone();
        let port = server.port();
        drop(server);
        assert!(!dir.exists(), "{} is left", dir.display());
        assert!(connect(port).is_err(), "a dropped server still listens");
    }

    #[test]
    fn a_killed_server_refuses_connections() {
        let mut server = NatsServer::start();
        server.kill();
        assert!(connect(server.port()).is_err());
    }

    #[test]
    fn a_password_server_takes_its_password_only() {
        let server = NatsServer::start_with_password("hecaton", "secret");
        let right = request(
            server.port(),
            ",\"user\":\"hecaton\",\"pass\":\"secret\"",
            "$JS.API.INFO",
            "",
        );
        assert!(right.contains("account_info_response"), "{right}");
        let wrong = request(
            server.port(),
            ",\"user\":\"hecaton\",\"pass\":\"wrong\"",
            "$JS.API.INFO",
            "",
        );
        assert!(wrong.contains("Authorization Violation"), "{wrong}");
    }

    #[test]
    fn a_cluster_of_three_takes_a_stream_of_three_replicas() {
        let mut cluster = NatsCluster::start(3);
        let urls = cluster.urls();
        assert_eq!(urls.split(',').count(), 3, "{urls}");
        assert_eq!(urls.split(',').next(), Some(cluster.url(0).as_str()));
        let port: u16 = cluster.url(0).rsplit(':').next().unwrap().parse().unwrap();
        let created = request(
            port,
            "",
            "$JS.API.STREAM.CREATE.CHECK",
            r#"{"name":"CHECK","subjects":["check.>"],"num_replicas":3,"storage":"file"}"#,
        );
        assert!(created.contains("\"num_replicas\":3"), "{created}");
        assert!(!created.contains("\"error\""), "{created}");
        let leader = json_string_after(
            &created[created.find("\"cluster\"").unwrap()..],
            "\"leader\"",
        )
        .unwrap();
        assert!(
            (0..3).any(|i| cluster.name(i) == leader),
            "the stream's leader {leader} is one of s1, s2, s3"
        );
        // One server down, the stream and the meta group go on with the two others.
        cluster.kill(0);
        let jsz = cluster.monitor_json(1, "/jsz?streams=true");
        assert!(jsz.contains("\"CHECK\""), "{jsz}");
    }
}
