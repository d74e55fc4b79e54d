//! Signing keys shared between instances: PKCS#8 PEM round trips, rings
//! loaded from PEM files, in-place ring replacement, and `RedisKeyStore`
//! against the shared Redis on 127.0.0.1:6379 (each test under its own
//! random key prefix; the shared server is never stopped or flushed) plus
//! `redis-server` processes the fault tests start and kill themselves.
//!
//! Without Redis the Redis tests print `SKIPPED: ...` and pass, except when
//! `CI=true`, where a missing Redis is a failure.
#![cfg(all(feature = "issuer", feature = "redis"))]

use serde_json::{Value, json};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tollgate::issuer::{
    AccessGrant, KeyRing, KeyStoreError, Minter, RedisKeyStore, SigningAlgorithm, SigningKey,
};
use tollgate::{Authenticator, CryptoBackend, IssuerConfig};

const SHARED_URL: &str = "redis://127.0.0.1:6379";
const ISS: &str = "https://platform.test";
const AUD: &str = "shop-api";
const ALGS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::Ed25519,
    SigningAlgorithm::Es256,
    SigningAlgorithm::Rs256,
];

// ---------------------------------------------------------------- helpers

fn install_backend() {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).unwrap();
}

/// Skips (or, under `CI=true`, fails) a test that cannot run here.
fn skip(reason: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("key store tests cannot run in CI: {reason}");
    }
    // Straight to stderr so the line shows even with the output captured.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: key store tests need redis-server / a Redis on 127.0.0.1:6379 ({reason})"
    );
    false
}

/// Whether the shared Redis on 127.0.0.1:6379 answers.
fn shared_redis_up() -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], 6379));
    match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
        Ok(_) => true,
        Err(e) => skip(&format!("nothing answers on 127.0.0.1:6379: {e}")),
    }
}

/// Whether `redis-server` can be started by the fault tests.
fn redis_server_available() -> bool {
    match Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => true,
        Ok(s) => skip(&format!("redis-server --version exited with {s}")),
        Err(e) => skip(&format!("redis-server is not on PATH: {e}")),
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh random key prefix, so runs and tests never collide.
fn unique_prefix() -> String {
    format!("tollgate-test:{}:", random_hex(8))
}

fn generate(alg: SigningAlgorithm) -> SigningKey {
    SigningKey::generate(alg).unwrap()
}

/// A ring as an instance has it before `load_or_init`: a throwaway key.
fn placeholder_ring() -> KeyRing {
    KeyRing::new(generate(SigningAlgorithm::Ed25519))
}

/// An instance: its own ring, its own store, on `url` under `prefix`.
fn instance(url: &str, prefix: &str) -> RedisKeyStore {
    RedisKeyStore::open(url, placeholder_ring())
        .unwrap()
        .key_prefix(prefix)
}

async fn raw_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The stored document, parsed.
async fn stored(url: &str, key: &str) -> Option<Value> {
    let mut conn = raw_conn(url).await;
    let doc: Option<String> = redis::cmd("GET")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap();
    doc.map(|d| serde_json::from_str(&d).unwrap())
}

/// Deletes the store's key on the shared server (nothing else).
async fn cleanup(store: &RedisKeyStore) {
    let mut conn = raw_conn(SHARED_URL).await;
    let _: i64 = redis::cmd("DEL")
        .arg(store.redis_key())
        .query_async(&mut conn)
        .await
        .unwrap();
}

fn mint(ring: &KeyRing) -> String {
    Minter::new(ISS, AUD, ring.clone())
        .access_token(&AccessGrant {
            client_id: "backend",
            account: "acct-1",
            scope: "orders:read",
            lifetime: Duration::from_secs(60),
            jkt: None,
        })
        .unwrap()
        .token
}

/// A verifier that trusts exactly the keys of `jwks`.
fn verifier(jwks: Value) -> Authenticator {
    Authenticator::builder()
        .issuer(IssuerConfig::new(ISS).audience(AUD).jwks(jwks))
        .build()
        .unwrap()
}

async fn verifies(token: &str, jwks: Value) -> bool {
    verifier(jwks).verify_access_token(token).await.is_ok()
}

fn token_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tollgate-keys-{}", random_hex(8)));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `redis-server` child process on a free loopback port, killed on drop.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A handle for a free port with no server running.
    fn stopped() -> Self {
        Self {
            port: Self::free_port(),
            child: None,
        }
    }

    fn start_new() -> Self {
        let mut r = Self::stopped();
        r.start();
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("redis-server on port {} exited: {status}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `cond` every 5 ms until it holds or `limit` passes; the time it took.
async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------- PEM

#[tokio::test]
async fn pkcs8_pem_round_trips_every_algorithm() {
    install_backend();
    for alg in ALGS {
        let original = generate(alg);
        let pem = original.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{alg:?}");
        assert!(
            pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
            "{alg:?}"
        );
        assert!(!pem.contains('\r'), "LF line endings");
        // No key material in Debug.
        let body: String = pem.lines().nth(1).unwrap().chars().take(24).collect();
        assert!(!format!("{original:?}").contains(&body), "{alg:?}");

        let loaded = SigningKey::from_pem(&pem, alg, original.kid()).unwrap();
        assert_eq!(loaded.kid(), original.kid());
        assert_eq!(loaded.signing_algorithm(), alg);
        assert_eq!(loaded.public_jwk(), original.public_jwk(), "{alg:?}");
        assert_eq!(loaded.to_pkcs8_pem(), pem, "{alg:?}: stable encoding");

        // Signed with the loaded key, verified with the original's public JWK.
        let token = mint(&KeyRing::new(loaded));
        assert!(
            verifies(&token, json!({"keys": [original.public_jwk()]})).await,
            "{alg:?}"
        );
        // The wrong algorithm is refused with a clear message.
        let other = ALGS.into_iter().find(|a| *a != alg).unwrap();
        let err = SigningKey::from_pem(&pem, other, "k").unwrap_err();
        assert!(err.to_string().contains("not"), "{err}");
    }
}

#[test]
fn pem_auto_reads_the_algorithm_and_uses_the_rfc7638_thumbprint_as_kid() {
    install_backend();
    for (file, alg) in [
        ("ed25519.pem", SigningAlgorithm::Ed25519),
        ("ec256.pem", SigningAlgorithm::Es256),
        ("rsa.pem", SigningAlgorithm::Rs256),
    ] {
        let path = format!("{}/tests/keys/{file}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read_to_string(path).unwrap();
        let key = SigningKey::from_pem_auto(&pem).unwrap();
        assert_eq!(key.signing_algorithm(), alg, "{file}");
        // Cross-check the kid with jsonwebtoken's RFC 7638 implementation.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk().clone()).unwrap();
        let expected = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(key.kid(), expected, "{file}");
        assert_eq!(SigningKey::from_pem_auto(&pem).unwrap().kid(), key.kid());
    }
    // A P-384 key is named as such.
    let path = format!("{}/tests/keys/ec384.pem", env!("CARGO_MANIFEST_DIR"));
    let err = SigningKey::from_pem_auto(&std::fs::read_to_string(path).unwrap()).unwrap_err();
    assert!(err.to_string().contains("P-256"), "{err}");
}

#[test]
fn rings_load_from_pem_files_and_directories_with_clear_errors() {
    install_backend();
    let dir = TempDir::new();
    let keys: Vec<SigningKey> = ALGS.into_iter().map(generate).collect();
    let kid_of = |k: &SigningKey| {
        SigningKey::from_pem_auto(&k.to_pkcs8_pem())
            .unwrap()
            .kid()
            .to_owned()
    };
    let a = dir.write("2025-01.pem", &keys[0].to_pkcs8_pem());
    let b = dir.write("2025-02.pem", &keys[1].to_pkcs8_pem());
    dir.write("2025-03.pem", &keys[2].to_pkcs8_pem());

    // Files: first active, the rest published in the order given.
    let ring = KeyRing::from_pem_files([&b, &a]).unwrap();
    assert_eq!(ring.kids(), vec![kid_of(&keys[1]), kid_of(&keys[0])]);
    assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
    assert_eq!(token_kid(&mint(&ring)), kid_of(&keys[1]));

    // Directory: the highest name is active; hidden and non-.pem files skipped.
    dir.write(".hidden.pem", "garbage");
    dir.write("README.txt", "not a key");
    std::fs::create_dir(dir.0.join("sub.pem")).unwrap();
    let ring = KeyRing::from_pem_dir(&dir.0).unwrap();
    assert_eq!(
        ring.kids(),
        vec![kid_of(&keys[2]), kid_of(&keys[1]), kid_of(&keys[0])]
    );

    let err = |r: Result<KeyRing, tollgate::ConfigError>| r.unwrap_err().to_string();
    // Each failure names the file and the problem.
    let missing = dir.0.join("missing.pem");
    let e = err(KeyRing::from_pem_files([&missing]));
    assert!(
        e.contains("missing.pem") && e.contains("cannot be read"),
        "{e}"
    );
    let e = err(KeyRing::from_pem_files([&a, &a]));
    assert!(
        e.contains("same key as") && e.contains("2025-01.pem"),
        "{e}"
    );
    let e = err(KeyRing::from_pem_files(Vec::<PathBuf>::new()));
    assert!(e.contains("no signing key file"), "{e}");
    let public = format!("{}/tests/keys/ed25519.pub.pem", env!("CARGO_MANIFEST_DIR"));
    let e = err(KeyRing::from_pem_files([&public]));
    assert!(
        e.contains("ed25519.pub.pem") && e.contains("PUBLIC KEY"),
        "{e}"
    );
    let pkcs1 = dir.write(
        "pkcs1.txt",
        &keys[2]
            .to_pkcs8_pem()
            .replace("BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY")
            .replace("END PRIVATE KEY", "END RSA PRIVATE KEY"),
    );
    let e = err(KeyRing::from_pem_files([&pkcs1]));
    assert!(
        e.contains("pkcs1.txt") && e.contains("openssl pkcs8 -topk8"),
        "{e}"
    );
    let junk = dir.write("junk.txt", "hello");
    let e = err(KeyRing::from_pem_files([&junk]));
    assert!(e.contains("junk.txt") && e.contains("not a PEM"), "{e}");
    let bad_der = dir.write(
        "bad.txt",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let e = err(KeyRing::from_pem_files([&bad_der]));
    assert!(e.contains("bad.txt") && e.contains("PKCS#8"), "{e}");
    let empty = TempDir::new();
    let e = err(KeyRing::from_pem_dir(&empty.0));
    assert!(e.contains("no *.pem file"), "{e}");
    let e = err(KeyRing::from_pem_dir(Path::new(
        "/nonexistent/tollgate-keys",
    )));
    assert!(e.contains("cannot be read"), "{e}");
}

#[test]
fn replace_all_is_seen_by_every_clone_of_the_ring() {
    install_backend();
    let ring = placeholder_ring();
    let minter = Minter::new(ISS, AUD, ring.clone());
    let jwks_side = ring.clone();
    let (new, old) = (
        generate(SigningAlgorithm::Es256),
        generate(SigningAlgorithm::Rs256),
    );
    ring.replace_all(new.clone(), vec![old.clone(), new.clone()]);
    assert_eq!(jwks_side.kids(), vec![new.kid(), old.kid()], "deduplicated");
    assert_eq!(token_kid(&mint(minter.ring())), new.kid());
    assert_eq!(jwks_side.jwks()["keys"].as_array().unwrap().len(), 2);
}

// ---------------------------------------------------------------- Redis

#[tokio::test]
async fn two_instances_share_one_key_set() {
    if !shared_redis_up() {
        return;
    }
    install_backend();
    let prefix = unique_prefix();
    let a = instance(SHARED_URL, &prefix);
    let b = instance(SHARED_URL, &prefix);
    assert_eq!(a.redis_key(), format!("{prefix}signing-keys"));

    let installed_a = a
        .load_or_init(|| generate(SigningAlgorithm::Es256))
        .await
        .unwrap();
    let b_generated = AtomicUsize::new(0);
    let installed_b = b
        .load_or_init(|| {
            b_generated.fetch_add(1, Ordering::SeqCst);
            generate(SigningAlgorithm::Es256)
        })
        .await
        .unwrap();
    assert!(installed_a && !installed_b);
    assert_eq!(b_generated.load(Ordering::SeqCst), 0, "B never generates");
    assert_eq!(a.ring().kids(), b.ring().kids());
    assert_eq!(a.ring().jwks(), b.ring().jwks());
    assert_eq!(a.applied_version(), b.applied_version());

    // A token minted by A verifies against B's JWKS.
    let token = mint(a.ring());
    assert!(verifies(&token, b.ring().jwks()).await);

    // The data layout.
    let doc = stored(SHARED_URL, a.redis_key()).await.unwrap();
    assert_eq!(doc["version"].as_u64(), a.applied_version());
    assert_eq!(doc["active_kid"], a.ring().kids()[0]);
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(
        keys[0]["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    println!(
        "stored set: version {}, {} key(s)",
        doc["version"],
        keys.len()
    );
    cleanup(&a).await;
}

#[tokio::test]
async fn rotation_at_one_instance_reaches_the_other_within_the_interval() {
    if !shared_redis_up() {
        return;
    }
    install_backend();
    let prefix = unique_prefix();
    let a = instance(SHARED_URL, &prefix);
    let b = instance(SHARED_URL, &prefix);
    a.load_or_init(|| generate(SigningAlgorithm::Ed25519))
        .await
        .unwrap();
    b.load_or_init(|| unreachable!()).await.unwrap();
    let first = a.ring().kids()[0].clone();

    let interval = Duration::from_secs(1);
    let refresher = b.spawn_refresher(interval);
    // The stated bound is interval + one round trip; allow the call timeout
    // on top for a loaded machine.
    let bound = interval + RedisKeyStore::DEFAULT_TIMEOUT;
    let mut delays = Vec::new();
    for alg in ALGS {
        let new_key = generate(alg);
        let new_kid = new_key.kid().to_owned();
        a.rotate(new_key).await.unwrap();
        assert_eq!(a.ring().kids()[0], new_kid, "applied locally at once");
        let delay = wait_for(bound + Duration::from_secs(1), || {
            b.ring().kids().first() == Some(&new_kid)
        })
        .await
        .unwrap_or_else(|| panic!("B did not apply the rotation to {new_kid}"));
        assert!(delay <= bound, "{alg:?}: {delay:?} > {bound:?}");
        delays.push(delay);
        // Minted by A with the new key, verified by B's JWKS.
        let token = mint(a.ring());
        assert_eq!(token_kid(&token), new_kid);
        assert!(verifies(&token, b.ring().jwks()).await);
    }
    println!(
        "propagation delays with a {interval:?} refresher: {delays:?} (max {:?})",
        delays.iter().max().unwrap()
    );
    // Old keys stay published until retired.
    assert_eq!(b.ring().kids().len(), 4);
    assert!(b.ring().kids().contains(&first));
    assert!(a.retire(&first).await.unwrap());
    assert!(!a.retire(&first).await.unwrap(), "already gone");
    let delay = wait_for(bound + Duration::from_secs(1), || {
        !b.ring().kids().contains(&first)
    })
    .await
    .expect("B did not apply the retirement");
    println!("retirement reached B after {delay:?}");
    assert_eq!(a.ring().kids(), b.ring().kids());
    refresher.abort();
    cleanup(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_load_or_init_installs_exactly_one_set() {
    if !shared_redis_up() {
        return;
    }
    install_backend();
    let prefix = unique_prefix();
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let generated = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = instance(SHARED_URL, &prefix);
        let (barrier, generated) = (barrier.clone(), generated.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let installed = store
                .load_or_init(|| {
                    generated.fetch_add(1, Ordering::SeqCst);
                    generate(SigningAlgorithm::Ed25519)
                })
                .await
                .unwrap();
            (installed, store.ring().kids(), store.ring().jwks())
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let installers = results.iter().filter(|r| r.0).count();
    assert_eq!(installers, 1, "exactly one instance installs the set");
    for r in &results {
        assert_eq!(r.1, results[0].1);
        assert_eq!(r.2, results[0].2);
    }
    let probe = instance(SHARED_URL, &prefix);
    let doc = stored(SHARED_URL, probe.redis_key()).await.unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 1);
    assert_eq!(doc["active_kid"], results[0].1[0]);
    println!(
        "8 concurrent load_or_init: 1 installed, {} generated a candidate",
        generated.load(Ordering::SeqCst)
    );
    cleanup(&probe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_both_land_and_refusals_are_clear() {
    if !shared_redis_up() {
        return;
    }
    install_backend();
    let prefix = unique_prefix();
    let a = instance(SHARED_URL, &prefix);
    let b = instance(SHARED_URL, &prefix);

    // Nothing stored yet.
    let e = a.rotate(generate(SigningAlgorithm::Ed25519)).await;
    assert!(matches!(e, Err(KeyStoreError::Missing(_))), "{e:?}");

    a.load_or_init(|| generate(SigningAlgorithm::Ed25519))
        .await
        .unwrap();
    b.load_or_init(|| unreachable!()).await.unwrap();
    let v0 = a.applied_version().unwrap();
    let (ka, kb) = (
        generate(SigningAlgorithm::Ed25519),
        generate(SigningAlgorithm::Es256),
    );
    let (ra, rb) = tokio::join!(a.rotate(ka.clone()), b.rotate(kb.clone()));
    ra.unwrap();
    rb.unwrap();
    a.refresh().await.unwrap();
    b.refresh().await.unwrap();
    assert_eq!(a.ring().kids(), b.ring().kids());
    assert_eq!(a.ring().kids().len(), 3, "both rotations kept");
    assert!(a.ring().kids().contains(&ka.kid().to_owned()));
    assert!(a.ring().kids().contains(&kb.kid().to_owned()));
    assert!(a.applied_version().unwrap() >= v0 + 2);

    // Refusals.
    let active = a.ring().kids()[0].clone();
    let e = a.retire(&active).await;
    assert!(matches!(e, Err(KeyStoreError::Rejected(_))), "{e:?}");
    let e = a.rotate(ka.clone()).await;
    assert!(matches!(e, Err(KeyStoreError::Rejected(_))), "{e:?}");
    assert!(!a.retire("no-such-kid").await.unwrap());

    // An unreadable document is reported, and the ring is kept.
    let before = b.ring().kids();
    let mut conn = raw_conn(SHARED_URL).await;
    let _: () = redis::cmd("SET")
        .arg(b.redis_key())
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let e = b.refresh().await;
    assert!(matches!(e, Err(KeyStoreError::Corrupt(_))), "{e:?}");
    let e = instance(SHARED_URL, &prefix)
        .load_or_init(|| generate(SigningAlgorithm::Ed25519))
        .await;
    assert!(matches!(e, Err(KeyStoreError::Corrupt(_))), "{e:?}");
    assert_eq!(b.ring().kids(), before);
    cleanup(&a).await;
}

#[tokio::test]
async fn redis_down_at_start_is_a_clear_error() {
    install_backend();
    let nothing = OwnRedis::stopped();
    let store = instance(&nothing.url(), &unique_prefix());
    let before = store.ring().kids();
    let started = Instant::now();
    let e = store
        .load_or_init(|| generate(SigningAlgorithm::Ed25519))
        .await;
    let took = started.elapsed();
    assert!(matches!(e, Err(KeyStoreError::Unavailable(_))), "{e:?}");
    println!(
        "load_or_init without Redis: {} (after {took:?})",
        e.unwrap_err()
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(store.ring().kids(), before, "ring untouched");
}

#[tokio::test]
async fn a_running_refresher_keeps_the_last_good_ring_while_redis_is_away() {
    if !redis_server_available() {
        return;
    }
    install_backend();
    let mut server = OwnRedis::start_new();
    let url = server.url();
    let prefix = unique_prefix();
    let a = instance(&url, &prefix);
    let b = instance(&url, &prefix);
    a.load_or_init(|| generate(SigningAlgorithm::Rs256))
        .await
        .unwrap();
    b.load_or_init(|| unreachable!()).await.unwrap();
    let interval = Duration::from_millis(100);
    let refresher = b.spawn_refresher(interval);
    let good = b.ring().kids();
    let version = b.applied_version();

    server.kill();
    // Many failed polls later, B still has (and signs with) its last good set.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!refresher.is_finished(), "the refresher survives failures");
    assert_eq!(b.ring().kids(), good);
    assert_eq!(b.applied_version(), version);
    let token = mint(b.ring());
    assert!(verifies(&token, b.ring().jwks()).await);
    assert!(verifies(&token, a.ring().jwks()).await);
    let e = b.refresh().await;
    assert!(matches!(e, Err(KeyStoreError::Unavailable(_))), "{e:?}");

    // Redis comes back empty (no persistence): B still keeps its ring...
    server.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.ring().kids(), good);
    let e = b.refresh().await;
    assert!(matches!(e, Err(KeyStoreError::Missing(_))), "{e:?}");
    // ...until an instance installs a new set, which B then adopts (its
    // version is newer than the one B holds).
    let c = instance(&url, &prefix);
    assert!(
        c.load_or_init(|| generate(SigningAlgorithm::Ed25519))
            .await
            .unwrap()
    );
    let delay = wait_for(Duration::from_secs(3), || {
        b.ring().kids() == c.ring().kids()
    })
    .await
    .expect("B adopts the reinstalled set");
    println!("after Redis came back empty, B adopted the new set in {delay:?}");
    assert!(b.applied_version() > version);

    // The refresher stops once every clone of its store is gone.
    drop(b);
    tokio::time::timeout(Duration::from_secs(2), refresher)
        .await
        .expect("the refresher ends with its store")
        .unwrap();
}
