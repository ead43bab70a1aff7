//! The connection to NATS, and the JetStream streams and buckets a cluster map uses, made on
//! first use by whoever connects first (producer or worker) with the same settings.

use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, object_store, stream};
use tokio::io::AsyncReadExt;

use crate::error::Error;

/// The work-queue stream of chunks: subject `hecaton.chunks.<map>`, one consumer per map.
pub(crate) const CHUNKS_STREAM: &str = "HECATON_CHUNKS";
/// The stream of outcomes: subject `hecaton.results.<map>`, read by the map's producer.
pub(crate) const RESULTS_STREAM: &str = "HECATON_RESULTS";
/// A running map's [`MapSpec`](super::wire::MapSpec), the last message of subject
/// `hecaton.maps.<map>`. A stream that keeps one message per subject, which is what a
/// JetStream key-value bucket is: async-nats 0.51 cannot read nats-server 2.9's answer to a
/// bucket's creation ("data did not match any variant of untagged enum Response"), so the
/// stream is made as a stream.
pub(crate) const MAPS_STREAM: &str = "HECATON_MAPS";
/// Each live worker's [`WorkerInfo`](super::wire::WorkerInfo), the last message of subject
/// `hecaton.workers.<worker>`, expiring unless refreshed.
pub(crate) const WORKERS_STREAM: &str = "HECATON_WORKERS";
/// Object store: modules, named by their SHA-256.
pub(crate) const MODULES_BUCKET: &str = "hecaton-modules";
/// Object store: a chunk or a run of outcomes too large for one message.
pub(crate) const PAYLOADS_BUCKET: &str = "hecaton-payloads";
/// The header that names a message's body in the payloads store.
pub(crate) const PAYLOAD_HEADER: &str = "Hecaton-Payload";

/// How long a worker's registration lives unless refreshed.
pub(crate) const WORKER_TTL: Duration = Duration::from_secs(10);
/// How long a map's specification lives unless its producer renews it (every
/// [`RENEWAL`]): workers drop the map of a producer gone without a word (`kill -9`).
pub(crate) const MAP_TTL: Duration = Duration::from_secs(15);
/// How often producers and workers renew what expires.
pub(crate) const RENEWAL: Duration = Duration::from_secs(3);
/// How long a chunk a worker took may go without word from it (its outcome, or one of the
/// in-progress heartbeats it sends every [`HEARTBEAT`] while the chunk runs) before the
/// broker hands it to another worker: a dead worker's chunks come back this soon, whatever
/// the map's tasks take.
pub(crate) const CHUNK_ACK_WAIT: Duration = Duration::from_secs(4);
/// How often a worker says that it is still running a chunk.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long an abandoned map's leftovers (outcomes, payloads) live at most.
const LEFTOVER_AGE: Duration = Duration::from_secs(24 * 3600);

/// How to reach a NATS server or cluster, as NATS clients are told: server URLs (user and
/// password in a URL, `nats://user:pass@host:4222`; several, comma-separated, for a cluster),
/// and a credentials file (`.creds`, a JWT and nkey seed) when the server asks for one. A
/// `tls://` URL connects over TLS, checked against the system's roots.
#[derive(Clone, Debug)]
pub struct Connection {
    servers: String,
    credentials: Option<PathBuf>,
}

impl Connection {
    /// The servers at `servers`: one URL, or several separated by commas.
    pub fn new(servers: impl Into<String>) -> Self {
        Self {
            servers: servers.into(),
            credentials: None,
        }
    }

    /// Authenticate with this credentials file (`nats --creds`).
    pub fn credentials(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials = Some(path.into());
        self
    }

    /// The servers as messages name them: without a password.
    pub fn display_servers(&self) -> String {
        self.urls()
            .iter()
            .map(|url| redacted(url))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn urls(&self) -> Vec<String> {
        self.servers
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The user and password of a URL's user part, decoded.
fn user_and_password(url: &str) -> Option<(String, String)> {
    let scheme = url.find("://")?;
    let at = url.rfind('@').filter(|&at| at > scheme)?;
    let (user, password) = url[scheme + 3..at].split_once(':')?;
    Some((percent_decoded(user), percent_decoded(password)))
}

/// A URL without its user part.
fn without_user(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// `%XX` escapes decoded (a password with `@` or `:` in a URL).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| text.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                at += 3;
            }
            None => {
                decoded.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A URL without the password in its user part.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// A connection and the streams and buckets on it, with the runtime that drives them: the one
/// place tokio lives.
pub(crate) struct Broker {
    /// Taken apart only when the broker is dropped (see its `Drop`).
    pub(crate) runtime: ManuallyDrop<tokio::runtime::Runtime>,
    client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) chunks: stream::Stream,
    pub(crate) results: stream::Stream,
    pub(crate) maps: stream::Stream,
    pub(crate) workers: stream::Stream,
    pub(crate) modules: object_store::ObjectStore,
    pub(crate) payloads: object_store::ObjectStore,
    /// The largest message body sent as it is; a larger one goes through the payloads store.
    pub(crate) max_body: usize,
    /// The servers, for messages.
    pub(crate) servers: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        // SAFETY: the runtime is taken once, here, as the broker goes; nothing uses the field
        // after this.
        let runtime = unsafe { ManuallyDrop::take(&mut self.runtime) };
        // The broker's last owner may be one of the runtime's own tasks (a worker's chunk
        // ending after its worker was dropped), where a runtime cannot be dropped: it is shut
        // down without waiting instead. Its tasks' work is done or handed back by then.
        runtime.shutdown_background();
    }
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

/// A name no other map or worker has: 16 random bytes in hex (a subject's token).
pub(crate) fn unique_id() -> String {
    let mut bytes = [0u8; 16];
    // Without the OS's randomness (never on a supported system), the time and process id
    // still tell maps apart.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |time| time.as_nanos());
        bytes = (nanos ^ (u128::from(std::process::id()) << 96)).to_le_bytes();
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A cluster error, naming the servers.
pub(crate) fn cluster_error(servers: &str, what: impl std::fmt::Display) -> Error {
    Error::Cluster(format!("{what} (NATS at {servers})"))
}

impl Broker {
    /// Connects, with a runtime of `threads` threads, and makes the streams and buckets that
    /// are not there yet.
    ///
    /// # Errors
    /// [`Error::Cluster`] for a refused connection, a wrong password, a server without
    /// JetStream.
    pub(crate) fn connect(connection: &Connection, threads: usize) -> Result<Self, Error> {
        let servers = connection.display_servers();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("hecaton-nats")
            .enable_all()
            .build()
            .map_err(Error::Thread)?;
        let urls = connection.urls();
        if urls.is_empty() {
            return Err(Error::Cluster("no NATS server URL given".into()));
        }
        let parts = runtime.block_on(async {
            let mut options = async_nats::ConnectOptions::new()
                .name("hecaton")
                .connection_timeout(Duration::from_secs(5));
            // async-nats 0.51 does not send a URL's user and password: they are given apart.
            if let Some((user, password)) = urls.iter().find_map(|url| user_and_password(url)) {
                options = options.user_and_password(user, password);
            }
            if let Some(path) = &connection.credentials {
                options = options.credentials_file(path).await.map_err(|error| {
                    Error::Cluster(format!(
                        "cannot read the NATS credentials file {}: {error}",
                        path.display()
                    ))
                })?;
            }
            let bare: Vec<String> = urls.iter().map(|url| without_user(url)).collect();
            let client = options.connect(bare.as_slice()).await.map_err(|error| {
                Error::Cluster(format!("cannot connect to NATS at {servers}: {error}"))
            })?;
            let info = client.server_info();
            if !info.jetstream {
                return Err(Error::Cluster(format!(
                    "the NATS server at {servers} runs without JetStream (start it with `-js`)"
                )));
            }
            let replicas = replicas(&info);
            let max_body = info.max_payload.saturating_sub(64 << 10).max(64 << 10);
            let jetstream = jetstream::new(client.clone());
            let made = Made::new(&jetstream, replicas, &servers).await?;
            Ok::<_, Error>((client, jetstream, made, max_body))
        })?;
        let (client, jetstream, made, max_body) = parts;
        Ok(Self {
            runtime: ManuallyDrop::new(runtime),
            client,
            jetstream,
            chunks: made.chunks,
            results: made.results,
            maps: made.maps,
            workers: made.workers,
            modules: made.modules,
            payloads: made.payloads,
            max_body,
            servers,
        })
    }

    /// Publishes `body` on `subject` through JetStream and waits until the stream has it; a
    /// body over [`Broker::max_body`] goes to the payloads store as `payload`, the message
    /// naming it. `id` deduplicates a message published twice (a retry after a lost ack).
    pub(crate) async fn publish(
        &self,
        subject: String,
        id: &str,
        payload: &str,
        body: Vec<u8>,
    ) -> Result<u64, String> {
        self.publish_with(subject, id, payload, body, HeaderMap::new())
            .await
    }

    /// As [`Broker::publish`], with `headers` of the caller's.
    pub(crate) async fn publish_with(
        &self,
        subject: String,
        id: &str,
        payload: &str,
        body: Vec<u8>,
        mut headers: HeaderMap,
    ) -> Result<u64, String> {
        headers.insert("Nats-Msg-Id", id);
        let body = if body.len() > self.max_body {
            let mut reader = body.as_slice();
            self.payloads
                .put(payload, &mut reader)
                .await
                .map_err(|error| {
                    format!("cannot store a payload of {} bytes: {error}", body.len())
                })?;
            headers.insert(PAYLOAD_HEADER, payload);
            Vec::new()
        } else {
            body
        };
        let mut tries = 0;
        loop {
            let sent = self
                .jetstream
                .publish_with_headers(subject.clone(), headers.clone(), body.clone().into())
                .await;
            let acked = match sent {
                Ok(ack) => ack.await.map(|ack| ack.sequence).map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match acked {
                Ok(sequence) => return Ok(sequence),
                // A server lost in a cluster: the client reconnects, the stream elects a new
                // leader within seconds; the message id makes a retry of a stored message a
                // no-op.
                Err(_) if tries < 60 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(error) => return Err(format!("cannot publish on {subject}: {error}")),
            }
        }
    }

    /// Whether the client is connected now (it reconnects by itself after a server's loss).
    pub(crate) fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// A consumed message's body, as [`Broker::body`]; `None` when its payload is out of reach
    /// for now (a server lost), the message then handed out again in half a second.
    pub(crate) async fn body_or_again(&self, message: &jetstream::Message) -> Option<Vec<u8>> {
        match self.body(message.headers.as_ref(), &message.payload).await {
            Ok(body) => Some(body),
            Err(error) => {
                tracing::debug!("{error}");
                let again = jetstream::AckKind::Nak(Some(Duration::from_millis(500)));
                let _ = message.ack_with(again).await;
                None
            }
        }
    }

    /// A message's body: its own, or the payload it names.
    pub(crate) async fn body(
        &self,
        headers: Option<&HeaderMap>,
        body: &[u8],
    ) -> Result<Vec<u8>, String> {
        let Some(name) = headers.and_then(|headers| headers.get(PAYLOAD_HEADER)) else {
            return Ok(body.to_vec());
        };
        let mut object = self
            .payloads
            .get(name.as_str())
            .await
            .map_err(|error| format!("cannot fetch the payload {name}: {error}"))?;
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| format!("cannot read the payload {name}: {error}"))?;
        Ok(bytes)
    }
}

/// The streams' and buckets' replication: 3 in a cluster of at least three servers (a
/// server lost loses nothing), else 1.
fn replicas(info: &async_nats::ServerInfo) -> usize {
    if info.cluster.is_none() {
        return 1;
    }
    let mut urls = info.connect_urls.clone();
    urls.sort();
    urls.dedup();
    if urls.len() >= 3 { 3 } else { 1 }
}

/// How a stream keeps its messages.
#[derive(Clone, Copy)]
enum StreamKind {
    /// Until a consumer acknowledges each.
    WorkQueue,
    /// The last of each subject, for at most this long.
    LastPerSubject(Duration),
}

/// What [`Broker::connect`] made or found.
struct Made {
    chunks: stream::Stream,
    results: stream::Stream,
    maps: stream::Stream,
    workers: stream::Stream,
    modules: object_store::ObjectStore,
    payloads: object_store::ObjectStore,
}

impl Made {
    async fn new(
        jetstream: &jetstream::Context,
        replicas: usize,
        servers: &str,
    ) -> Result<Self, Error> {
        let fail = |what: &str, error: &dyn std::fmt::Display| {
            cluster_error(
                servers,
                format!("cannot open the JetStream {what}: {error}"),
            )
        };
        let open = |name: &'static str, subjects: &str, kind: StreamKind| {
            let (retention, max_messages_per_subject, max_age) = match kind {
                // One durable consumer per map takes each message once, and it goes.
                StreamKind::WorkQueue => (stream::RetentionPolicy::WorkQueue, 0, LEFTOVER_AGE),
                // The last message of each subject is what it says now.
                StreamKind::LastPerSubject(max_age) => {
                    (stream::RetentionPolicy::Limits, 1, max_age)
                }
            };
            let config = stream::Config {
                name: name.into(),
                subjects: vec![subjects.into()],
                retention,
                max_messages_per_subject,
                storage: stream::StorageType::File,
                num_replicas: replicas,
                max_age,
                ..Default::default()
            };
            async move {
                jetstream
                    .get_or_create_stream(config)
                    .await
                    .map_err(|error| fail(name, &error))
            }
        };
        let chunks = open(CHUNKS_STREAM, "hecaton.chunks.>", StreamKind::WorkQueue).await?;
        let results = open(RESULTS_STREAM, "hecaton.results.>", StreamKind::WorkQueue).await?;
        let maps = open(
            MAPS_STREAM,
            "hecaton.maps.>",
            StreamKind::LastPerSubject(MAP_TTL),
        )
        .await?;
        let workers = open(
            WORKERS_STREAM,
            "hecaton.workers.>",
            StreamKind::LastPerSubject(WORKER_TTL),
        )
        .await?;
        let modules = objects(jetstream, MODULES_BUCKET, Duration::ZERO, replicas)
            .await
            .map_err(|error| fail(MODULES_BUCKET, &error))?;
        let payloads = objects(jetstream, PAYLOADS_BUCKET, LEFTOVER_AGE, replicas)
            .await
            .map_err(|error| fail(PAYLOADS_BUCKET, &error))?;
        Ok(Self {
            chunks,
            results,
            maps,
            workers,
            modules,
            payloads,
        })
    }
}

async fn objects(
    jetstream: &jetstream::Context,
    bucket: &str,
    max_age: Duration,
    replicas: usize,
) -> Result<object_store::ObjectStore, String> {
    if let Ok(store) = jetstream.get_object_store(bucket).await {
        return Ok(store);
    }
    let made = jetstream
        .create_object_store(object_store::Config {
            bucket: bucket.into(),
            max_age,
            num_replicas: replicas,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await;
    match made {
        Ok(store) => Ok(store),
        Err(error) => jetstream
            .get_object_store(bucket)
            .await
            .map_err(|_| error.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use super::*;

    /// A `nats-server -js` of its own on a free loopback port, its store in a fresh folder;
    /// killed and removed on drop. `.ci/run` installs Debian's nats-server.
    pub(crate) struct TestServer {
        child: Child,
        port: u16,
        dir: PathBuf,
    }

    impl TestServer {
        pub(crate) fn start(auth: Option<(&str, &str)>) -> Self {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free loopback port")
                .port();
            let dir =
                std::env::temp_dir().join(format!("hecaton-nats-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a store folder");
            let mut command = Command::new("nats-server");
            command
                .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some((user, pass)) = auth {
                command.args(["--user", user, "--pass", pass]);
            }
            let child = command
                .spawn()
                .expect("nats-server (Debian's package; .ci/run installs it)");
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nats-server did not listen on {port}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Self { child, port, dir }
        }

        pub(crate) fn url(&self) -> String {
            format!("nats://127.0.0.1:{}", self.port)
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn streams_and_buckets_are_made_and_a_body_over_the_payload_limit_travels_whole() {
        let server = TestServer::start(None);
        let broker = Broker::connect(&Connection::new(server.url()), 1).unwrap();
        let chunks = &broker.chunks.cached_info().config;
        assert_eq!(chunks.retention, stream::RetentionPolicy::WorkQueue);
        assert_eq!(chunks.num_replicas, 1);
        assert_eq!(broker.results.cached_info().config.name, RESULTS_STREAM);
        // A second client finds what the first made.
        let again = Broker::connect(&Connection::new(server.url()), 1).unwrap();
        assert_eq!(again.chunks.cached_info().config.name, CHUNKS_STREAM);
        let large: Vec<u8> = (0..broker.max_body + 1000)
            .map(|i| (i % 251) as u8)
            .collect();
        broker.runtime.block_on(async {
            let sequence = broker
                .publish("hecaton.results.m1".into(), "m1.0", "m1.r0", large.clone())
                .await
                .unwrap();
            // The same id again is the same message, not a second one.
            let repeated = broker
                .publish("hecaton.results.m1".into(), "m1.0", "m1.r0", large.clone())
                .await
                .unwrap();
            assert_eq!(repeated, sequence);
            let stored = broker.results.get_raw_message(sequence).await.unwrap();
            assert!(
                stored.payload.is_empty(),
                "the body went to the payloads store"
            );
            let body = broker
                .body(Some(&stored.headers), &stored.payload)
                .await
                .unwrap();
            assert_eq!(body, large);
            let small = broker
                .publish(
                    "hecaton.results.m1".into(),
                    "m1.1",
                    "m1.r1",
                    b"tiny".to_vec(),
                )
                .await
                .unwrap();
            let stored = broker.results.get_raw_message(small).await.unwrap();
            assert_eq!(
                broker
                    .body(Some(&stored.headers), &stored.payload)
                    .await
                    .unwrap(),
                b"tiny"
            );
            for spec in ["old", "spec"] {
                broker
                    .publish("hecaton.maps.m1".into(), spec, "-", spec.into())
                    .await
                    .unwrap();
            }
            let last = again
                .maps
                .get_last_raw_message_by_subject("hecaton.maps.m1")
                .await
                .unwrap();
            assert_eq!(&last.payload[..], b"spec");
            assert_eq!(broker.workers.cached_info().config.max_age, WORKER_TTL);
            assert!(broker.modules.info("absent").await.is_err());
            let _ = &broker.runtime;
        });
    }

    #[test]
    fn a_wrong_password_and_a_refused_connection_are_clear_errors_without_the_password() {
        let server = TestServer::start(Some(("ann", "right")));
        let url = server.url().replace("nats://", "nats://ann:wrong@");
        let error = Broker::connect(&Connection::new(url), 1)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cannot connect to NATS at nats://ann:***@127.0.0.1"),
            "{error}"
        );
        assert!(error.contains("authorization violation"), "{error}");
        assert!(!error.contains("wrong"), "{error}");
        let right = server.url().replace("nats://", "nats://ann:right@");
        if let Err(error) = Broker::connect(&Connection::new(right), 1) {
            panic!("the right password: {error}");
        }
        let port = server.port;
        drop(server);
        let error = Broker::connect(&Connection::new(format!("nats://127.0.0.1:{port}")), 1)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cannot connect to NATS at nats://127.0.0.1"),
            "{error}"
        );
    }

    #[test]
    fn a_password_never_reaches_a_message() {
        let connection = Connection::new("nats://ann:s3cret@h1:4222, nats://h2:4222");
        assert_eq!(
            connection.display_servers(),
            "nats://ann:***@h1:4222,nats://h2:4222"
        );
        assert_eq!(
            user_and_password("nats://ann:p%40ss@h1:4222"),
            Some(("ann".into(), "p@ss".into()))
        );
        assert_eq!(without_user("nats://ann:x@h1:4222"), "nats://h1:4222");
        assert_eq!(user_and_password("nats://h1:4222"), None);
    }
}
