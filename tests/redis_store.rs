//! `RedisStore` at the store level: the session rules against the shared
//! Redis on 127.0.0.1:6379 (each test under its own random key prefix; the
//! shared server is never stopped or flushed), and fault tests against
//! `redis-server` processes the tests start and kill themselves.
//!
//! Without Redis these tests print `SKIPPED: ...` and pass, except when
//! `CI=true`, where a missing Redis is a failure.
#![cfg(feature = "redis")]

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tollgate::session::{
    BindAuthority, NewSession, RedisSettings, RedisStore, SessionId, SessionStore, StoreError,
};

const SHARED_URL: &str = "redis://127.0.0.1:6379";

// ---------------------------------------------------------------- helpers

/// Skips (or, under `CI=true`, fails) a test that cannot run here.
fn skip(reason: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("redis tests cannot run in CI: {reason}");
    }
    // Straight to stderr so the line shows even with the output captured.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: redis tests need redis-server / a Redis on 127.0.0.1:6379 ({reason})"
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

/// A fresh random key prefix, so runs and tests never collide.
fn unique_prefix() -> String {
    let id = SessionId::generate().unwrap();
    format!("tollgate-test:{}:", &id.as_str()[5..21])
}

fn settings(url: &str, prefix: &str) -> RedisSettings {
    RedisSettings::new(url).with_key_prefix(prefix)
}

fn shared_store(prefix: &str) -> RedisStore {
    RedisStore::new(settings(SHARED_URL, prefix)).unwrap()
}

/// Sessions in tests never outlive two minutes, so a failed run leaves
/// nothing behind for long.
fn anon(ttl_ms: u64) -> NewSession {
    NewSession::anonymous("acct", "customer:read").with_ttl(Duration::from_millis(ttl_ms))
}

fn for_customer(account: &str, customer: &str) -> NewSession {
    NewSession::for_customer(account, customer, "customer:read").with_ttl(Duration::from_secs(120))
}

async fn raw_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(SHARED_URL)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Deletes every key under `prefix` on the shared server (nothing else).
async fn cleanup(prefix: &str) {
    let mut conn = raw_conn().await;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

/// Milliseconds until `key` expires (Redis `PTTL`).
async fn ttl_ms(conn: &mut redis::aio::MultiplexedConnection, key: impl redis::ToRedisArgs) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

fn session_key(prefix: &str, id: &SessionId) -> String {
    format!("{prefix}sess:{}", id.as_str())
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

    /// A handle for `port` with no server running yet.
    fn stopped(port: u16) -> Self {
        Self { port, child: None }
    }

    fn start_new() -> Self {
        let mut r = Self::stopped(Self::free_port());
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

/// Asserts `r` is `Unavailable` and took well under 2 s.
fn assert_unavailable<T: std::fmt::Debug>(what: &str, started: Instant, r: Result<T, StoreError>) {
    let took = started.elapsed();
    eprintln!("{what}: {took:?} {r:?}");
    assert!(
        matches!(r, Err(StoreError::Unavailable(_))),
        "{what}: expected Unavailable, got {r:?}"
    );
    assert!(took < Duration::from_millis(1000), "{what} took {took:?}");
}

// ---------------------------------------------------- no Redis needed

#[test]
fn settings_defaults_and_redacted_debug() {
    let s: RedisSettings = serde_json::from_str("{}").unwrap();
    assert_eq!(s.url, "redis://127.0.0.1:6379");
    assert_eq!(s.key_prefix, "tollgate:");
    assert_eq!(s.timeout_ms, 250);
    assert_eq!(s.local_cache_ms, 0);
    assert!(serde_json::from_str::<RedisSettings>(r#"{"urll": "x"}"#).is_err());

    let s = RedisSettings::new("redis://user:hunter2@10.0.0.1:6380/2");
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert!(dbg.contains("10.0.0.1:6380"), "{dbg}");
    let store = RedisStore::new(s).unwrap();
    let dbg = format!("{store:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
}

#[test]
fn construction_validates_but_never_connects() {
    assert!(RedisStore::new(settings("not a url", "p:")).is_err());
    assert!(RedisStore::new(settings("http://127.0.0.1:6379", "p:")).is_err());
    let zero = RedisSettings::default().with_timeout_ms(0);
    assert!(RedisStore::new(zero).is_err());
    // Outside any runtime, to an address where nothing listens: still fine.
    let port = OwnRedis::free_port();
    let started = Instant::now();
    RedisStore::new(settings(&format!("redis://127.0.0.1:{port}"), "p:")).unwrap();
    assert!(started.elapsed() < Duration::from_millis(100));
}

// ------------------------------------------------ against the shared Redis

#[tokio::test]
async fn create_get_round_trip() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let created = store.create(anon(120_000)).await.unwrap();
    let got = store.get(&created.id).await.unwrap().unwrap();
    assert_eq!(got, created);

    let bound = store.create(for_customer("acct", "cust-1")).await.unwrap();
    assert_eq!(store.get(&bound.id).await.unwrap().unwrap(), bound);

    let mut meta = serde_json::Map::new();
    meta.insert("cart".into(), serde_json::json!({"items": 3}));
    let updated = store
        .update_metadata(&created.id, meta.clone())
        .await
        .unwrap();
    assert_eq!(updated.version, 1);
    let got = store.get(&created.id).await.unwrap().unwrap();
    assert_eq!(got.metadata, meta);
    assert_eq!(got.version, 1);

    // Stored with the record's deadline as Redis expiry.
    let mut conn = raw_conn().await;
    let pttl: i64 = ttl_ms(&mut conn, session_key(&prefix, &created.id)).await;
    assert!(pttl > 100_000 && pttl <= 120_000, "{pttl}");

    let unknown = SessionId::generate().unwrap();
    assert_eq!(store.get(&unknown).await.unwrap(), None);
    assert_eq!(store.load(&unknown).await.unwrap(), None);
    assert!(matches!(
        store.touch(&unknown).await,
        Err(StoreError::NotFound)
    ));

    // Inserting an existing ID fails (NX).
    assert!(store.insert(&created).await.is_err());

    // An absurd lifetime is clamped for Redis, never refused half-written.
    let forever = store
        .create(
            NewSession::for_customer("acct", "cust-forever", "customer:read")
                .with_ttl(Duration::MAX),
        )
        .await
        .unwrap();
    assert!(store.get(&forever.id).await.unwrap().is_some());
    let pttl: i64 = ttl_ms(&mut conn, session_key(&prefix, &forever.id)).await;
    assert!(pttl > 0, "{pttl}");
    assert_eq!(
        store.revoke_customer("acct", "cust-forever").await.unwrap(),
        1
    );
    cleanup(&prefix).await;
}

#[tokio::test]
async fn unreadable_record_is_missing() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let s = store.create(anon(60_000)).await.unwrap();
    let mut conn = raw_conn().await;
    let _: i64 = redis::cmd("HSET")
        .arg(session_key(&prefix, &s.id))
        .arg("d")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.load(&s.id).await.unwrap(), None);
    assert_eq!(store.get(&s.id).await.unwrap(), None);

    // A record stored under another session's key is not served either.
    let a = store.create(anon(60_000)).await.unwrap();
    let b = store.create(anon(60_000)).await.unwrap();
    let a_data: String = redis::cmd("HGET")
        .arg(session_key(&prefix, &a.id))
        .arg("d")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg(session_key(&prefix, &b.id))
        .arg("d")
        .arg(a_data)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.get(&b.id).await.unwrap(), None);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn absolute_expiry_by_record_check_and_by_redis() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let mut conn = raw_conn().await;

    // Expired by Redis: the key itself is gone.
    let by_redis = store.create(anon(1_000)).await.unwrap();
    // Expired by the record check: Redis is told to keep the key longer.
    let by_record = store.create(anon(1_000)).await.unwrap();
    let _: i64 = redis::cmd("PEXPIRE")
        .arg(session_key(&prefix, &by_record.id))
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(store.get(&by_redis.id).await.unwrap().is_some());
    assert!(store.get(&by_record.id).await.unwrap().is_some());

    tokio::time::sleep(Duration::from_millis(1_200)).await;

    assert_eq!(store.get(&by_redis.id).await.unwrap(), None);
    assert_eq!(store.load(&by_redis.id).await.unwrap(), None);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(session_key(&prefix, &by_redis.id))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "Redis expired the key");

    // The key is still there, but the record check refuses it.
    let stale = store.load(&by_record.id).await.unwrap().unwrap();
    assert!(stale.is_expired_at(tollgate_now_ms()));
    assert_eq!(store.get(&by_record.id).await.unwrap(), None);
    assert!(matches!(
        store.touch(&by_record.id).await,
        Err(StoreError::NotFound)
    ));
    cleanup(&prefix).await;
}

fn tollgate_now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn idle_expiry_slides_and_is_enforced_by_record_check_and_by_redis() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let mut conn = raw_conn().await;
    let idle = |_: ()| anon(60_000).with_idle_ttl(Duration::from_millis(1_500));
    let by_redis = store.create(idle(())).await.unwrap();
    let by_record = store.create(idle(())).await.unwrap();

    // Touching slides the deadline, in the record and in Redis.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let touched = store.touch(&by_redis.id).await.unwrap();
    assert!(touched.deadline_ms() > by_redis.deadline_ms());
    store.touch(&by_record.id).await.unwrap();
    let pttl: i64 = ttl_ms(&mut conn, session_key(&prefix, &by_redis.id)).await;
    assert!(pttl > 1_000 && pttl <= 1_500, "{pttl}");

    // Past the first idle deadline, alive thanks to the touch.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(store.get(&by_redis.id).await.unwrap().is_some());

    let _: i64 = redis::cmd("PEXPIRE")
        .arg(session_key(&prefix, &by_record.id))
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_700)).await;

    assert_eq!(store.get(&by_redis.id).await.unwrap(), None);
    assert_eq!(store.load(&by_redis.id).await.unwrap(), None);
    assert!(store.load(&by_record.id).await.unwrap().is_some());
    assert_eq!(store.get(&by_record.id).await.unwrap(), None);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn compare_and_swap_with_a_stale_version_fails() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let s = store.create(anon(60_000)).await.unwrap();
    let stale = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(stale.version, 0);

    let fresh = store.touch(&s.id).await.unwrap();
    assert_eq!(fresh.version, 1);

    let mut attempt = stale.clone();
    attempt.scopes = "everything:write".into();
    attempt.version = 1;
    assert!(!store.compare_and_swap(0, &attempt).await.unwrap());
    assert_eq!(
        store.get(&s.id).await.unwrap().unwrap().scopes,
        "customer:read"
    );

    attempt.version = 2;
    assert!(store.compare_and_swap(1, &attempt).await.unwrap());
    let now = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(now.scopes, "everything:write");
    assert_eq!(now.version, 2);

    // A swap on a missing session fails too.
    let mut ghost = attempt.clone();
    ghost.id = SessionId::generate().unwrap();
    assert!(!store.compare_and_swap(0, &ghost).await.unwrap());
    assert_eq!(store.load(&ghost.id).await.unwrap(), None);

    // Concurrent updates all land, none lost.
    let store = std::sync::Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = store.clone();
        let id = s.id.clone();
        tasks.push(tokio::spawn(async move {
            store.record_created_customer(&id, &format!("c{i}")).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let done = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(
        done.created_customers.len(),
        4,
        "{:?}",
        done.created_customers
    );
    assert_eq!(done.version, 6);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn bind_customer_exactly_once_and_only_when_created_through_session() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let s = store.create(anon(60_000)).await.unwrap();

    // Not created through this session: refused.
    assert!(matches!(
        store
            .bind_customer(&s.id, "cust-1", BindAuthority::CreatedThroughSession)
            .await,
        Err(StoreError::NotAllowed)
    ));
    assert_eq!(store.get(&s.id).await.unwrap().unwrap().customer, None);

    store
        .record_created_customer(&s.id, "cust-1")
        .await
        .unwrap();
    let bound = store
        .bind_customer(&s.id, "cust-1", BindAuthority::CreatedThroughSession)
        .await
        .unwrap();
    assert_eq!(bound.customer.as_deref(), Some("cust-1"));
    assert_eq!(
        store.get(&s.id).await.unwrap().unwrap().customer.as_deref(),
        Some("cust-1")
    );

    // Exactly once: not again, not to the same customer, not to another.
    store
        .record_created_customer(&s.id, "cust-2")
        .await
        .unwrap();
    for c in ["cust-1", "cust-2"] {
        assert!(matches!(
            store
                .bind_customer(&s.id, c, BindAuthority::CreatedThroughSession)
                .await,
            Err(StoreError::AlreadyBound)
        ));
    }
    assert_eq!(
        store.get(&s.id).await.unwrap().unwrap().customer.as_deref(),
        Some("cust-1")
    );

    // The bound session joined the customer's index: revoking the customer
    // revokes it.
    assert_eq!(store.revoke_customer("acct", "cust-1").await.unwrap(), 1);
    assert_eq!(store.get(&s.id).await.unwrap(), None);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn revoke_and_revoke_customer() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);

    let one = store.create(anon(60_000)).await.unwrap();
    assert!(store.revoke(&one.id).await.unwrap());
    assert_eq!(store.get(&one.id).await.unwrap(), None);
    assert!(!store.revoke(&one.id).await.unwrap());

    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(store.create(for_customer("a", "c")).await.unwrap());
    }
    let other_account = store.create(for_customer("b", "c")).await.unwrap();
    let other_customer = store.create(for_customer("a", "d")).await.unwrap();
    let anonymous = store.create(anon(60_000)).await.unwrap();
    // Keys that would collide if the index key were split naively.
    let colon_1 = store.create(for_customer("a:c", "x")).await.unwrap();
    let colon_2 = store.create(for_customer("a", "c:x")).await.unwrap();

    // One revoked on its own first: the customer revocation counts the rest.
    assert!(store.revoke(&mine[0].id).await.unwrap());
    assert_eq!(store.revoke_customer("a", "c").await.unwrap(), 2);
    for s in &mine {
        assert_eq!(store.get(&s.id).await.unwrap(), None);
    }
    for s in [
        &other_account,
        &other_customer,
        &anonymous,
        &colon_1,
        &colon_2,
    ] {
        assert!(store.get(&s.id).await.unwrap().is_some());
    }
    assert_eq!(store.revoke_customer("a", "c").await.unwrap(), 0);

    assert_eq!(store.revoke_customer("a:c", "x").await.unwrap(), 1);
    assert_eq!(store.get(&colon_1.id).await.unwrap(), None);
    assert!(store.get(&colon_2.id).await.unwrap().is_some());
    assert_eq!(store.revoke_customer("a", "c:x").await.unwrap(), 1);
    assert_eq!(store.get(&colon_2.id).await.unwrap(), None);

    // A later session of the revoked customer is indexed again.
    let again = store.create(for_customer("a", "c")).await.unwrap();
    assert_eq!(store.revoke_customer("a", "c").await.unwrap(), 1);
    assert_eq!(store.get(&again.id).await.unwrap(), None);

    // The index set lives at least as long as the customer's sessions.
    let s = store.create(for_customer("a", "e")).await.unwrap();
    let mut conn = raw_conn().await;
    let index_ttl: i64 = ttl_ms(&mut conn, format!("{prefix}cust:a:e")).await;
    let sess_ttl: i64 = ttl_ms(&mut conn, session_key(&prefix, &s.id)).await;
    assert!(
        index_ttl >= sess_ttl - 50 && sess_ttl > 0,
        "{index_ttl} {sess_ttl}"
    );
    cleanup(&prefix).await;
}

#[tokio::test]
async fn two_stores_see_each_other_immediately_without_cache() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let a = shared_store(&prefix);
    let b = shared_store(&prefix);

    let s = a.create(anon(60_000)).await.unwrap();
    assert_eq!(b.get(&s.id).await.unwrap().unwrap(), s);
    b.touch(&s.id).await.unwrap();
    assert_eq!(a.get(&s.id).await.unwrap().unwrap().version, 1);
    assert!(b.revoke(&s.id).await.unwrap());
    assert_eq!(a.get(&s.id).await.unwrap(), None);

    let c = b.create(for_customer("acct", "cust")).await.unwrap();
    assert!(a.get(&c.id).await.unwrap().is_some());
    assert_eq!(a.revoke_customer("acct", "cust").await.unwrap(), 1);
    assert_eq!(b.get(&c.id).await.unwrap(), None);

    // A different prefix is a different store.
    let other = shared_store(&unique_prefix());
    let d = a.create(anon(60_000)).await.unwrap();
    assert_eq!(other.get(&d.id).await.unwrap(), None);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn local_cache_has_the_documented_staleness_window() {
    if !shared_redis_up() {
        return;
    }
    const WINDOW_MS: u64 = 1_000;
    let prefix = unique_prefix();
    let a = shared_store(&prefix);
    let b = RedisStore::new(settings(SHARED_URL, &prefix).with_local_cache_ms(WINDOW_MS)).unwrap();

    let s = a.create(anon(60_000)).await.unwrap();
    let fetched_at = Instant::now();
    assert!(b.get(&s.id).await.unwrap().is_some()); // now cached in b
    assert!(a.revoke(&s.id).await.unwrap());
    assert_eq!(a.get(&s.id).await.unwrap(), None);
    // Another process's revocation: b still serves its cached copy...
    assert!(
        b.get(&s.id).await.unwrap().is_some(),
        "within the window the cache answers"
    );
    assert!(fetched_at.elapsed() < Duration::from_millis(WINDOW_MS));
    // ...until the window has passed.
    tokio::time::sleep(Duration::from_millis(WINDOW_MS + 100).saturating_sub(fetched_at.elapsed()))
        .await;
    assert_eq!(b.get(&s.id).await.unwrap(), None);

    // b's own revocation is seen by b at once.
    let t = a.create(anon(60_000)).await.unwrap();
    assert!(b.get(&t.id).await.unwrap().is_some());
    assert!(b.revoke(&t.id).await.unwrap());
    assert_eq!(b.get(&t.id).await.unwrap(), None);

    // ...and so is its own customer revocation.
    let u = a.create(for_customer("acct", "cust")).await.unwrap();
    assert!(b.get(&u.id).await.unwrap().is_some());
    assert_eq!(b.revoke_customer("acct", "cust").await.unwrap(), 1);
    assert_eq!(b.get(&u.id).await.unwrap(), None);

    // A cached copy made stale by another store's update does not wedge
    // b's own updates: the failed swap drops it and the retry succeeds.
    let v = a.create(anon(60_000)).await.unwrap();
    assert_eq!(b.get(&v.id).await.unwrap().unwrap().version, 0);
    a.touch(&v.id).await.unwrap();
    let touched = b.touch(&v.id).await.unwrap();
    assert_eq!(touched.version, 2);
    assert_eq!(b.get(&v.id).await.unwrap().unwrap().version, 2);
    cleanup(&prefix).await;
}

// ------------------------------------------ fault tests, own redis-server

#[tokio::test]
async fn killed_redis_gives_unavailable_quickly() {
    if !redis_server_available() {
        return;
    }
    let mut server = OwnRedis::start_new();
    let store = RedisStore::new(settings(&server.url(), "t:")).unwrap();
    let s = store.create(anon(60_000)).await.unwrap();
    assert!(store.get(&s.id).await.unwrap().is_some());

    server.kill();

    for round in 0..3 {
        let t = Instant::now();
        assert_unavailable(&format!("get #{round}"), t, store.get(&s.id).await);
        let t = Instant::now();
        assert_unavailable("create", t, store.create(anon(60_000)).await);
        let t = Instant::now();
        assert_unavailable("touch", t, store.touch(&s.id).await);
        let t = Instant::now();
        assert_unavailable(
            "bind",
            t,
            store
                .bind_customer(&s.id, "c", BindAuthority::CreatedThroughSession)
                .await,
        );
        let t = Instant::now();
        assert_unavailable("revoke", t, store.revoke(&s.id).await);
        let t = Instant::now();
        assert_unavailable(
            "revoke_customer",
            t,
            store.revoke_customer("acct", "c").await,
        );
    }
}

#[tokio::test]
async fn unresponsive_redis_gives_unavailable_within_the_timeout() {
    // Something that accepts connections but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let store = RedisStore::new(settings(&url, "t:")).unwrap();
    let id = SessionId::generate().unwrap();
    for _ in 0..2 {
        let t = Instant::now();
        let r = store.get(&id).await;
        assert!(
            t.elapsed() >= Duration::from_millis(200),
            "{:?}",
            t.elapsed()
        );
        assert_unavailable("get", t, r);
    }
    drop(listener);
}

#[tokio::test]
async fn store_built_while_redis_is_down_works_once_it_starts() {
    if !redis_server_available() {
        return;
    }
    let mut server = OwnRedis::stopped(OwnRedis::free_port());
    let store = RedisStore::new(settings(&server.url(), "t:")).unwrap();

    let t = Instant::now();
    assert_unavailable("create", t, store.create(anon(60_000)).await);
    let t = Instant::now();
    assert_unavailable("get", t, store.get(&SessionId::generate().unwrap()).await);

    server.start();

    // The same store, not rebuilt: the next call connects.
    let s = store.create(anon(60_000)).await.unwrap();
    assert_eq!(store.get(&s.id).await.unwrap().unwrap(), s);
}

#[tokio::test]
async fn calls_recover_after_redis_restarts_on_the_same_port() {
    if !redis_server_available() {
        return;
    }
    let mut server = OwnRedis::start_new();
    let store = RedisStore::new(settings(&server.url(), "t:")).unwrap();
    let before = store.create(anon(60_000)).await.unwrap();

    server.kill();
    let t = Instant::now();
    assert_unavailable("get while down", t, store.get(&before.id).await);
    let t = Instant::now();
    assert_unavailable("get while down", t, store.get(&before.id).await);

    server.start();

    // Recovery may cost a call or two while the dead connection is
    // replaced; it must not need a new store.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut failures = 0;
    let after = loop {
        let t = Instant::now();
        match store.create(anon(60_000)).await {
            Ok(s) => break s,
            Err(e) => {
                assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
                assert!(t.elapsed() < Duration::from_secs(1));
                failures += 1;
                assert!(Instant::now() < deadline, "no recovery: {e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    eprintln!("recovered after {failures} failed call(s)");
    assert!(failures <= 3, "{failures} failed calls after the restart");
    assert_eq!(store.get(&after.id).await.unwrap().unwrap(), after);
    // The restarted server kept nothing (no persistence): the old session is
    // simply unknown, not an error.
    assert_eq!(store.get(&before.id).await.unwrap(), None);

    // And a second outage is survived the same way.
    server.kill();
    let t = Instant::now();
    assert_unavailable("get while down again", t, store.get(&after.id).await);
    server.start();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store.get(&after.id).await {
            Ok(None) => break,
            Ok(Some(_)) => panic!("the restarted server cannot know the session"),
            Err(e) => {
                assert!(Instant::now() < deadline, "no recovery: {e:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

// ------------------------------------- round trips and client-side caching

/// A TCP proxy in front of a Redis that counts the client's writes: each
/// command a sequential client sends is one write, so the count is the
/// number of round trips.
struct CountingProxy {
    port: u16,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingProxy {
    async fn start(target_port: u16) -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = writes.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await
                else {
                    continue;
                };
                let counter = counter.clone();
                // No Nagle delays added by the proxy itself.
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
            }
        });
        Self { port, writes }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn writes(&self) -> usize {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_request_lookup_is_one_round_trip_idle_timeout_included() {
    if !shared_redis_up() {
        return;
    }
    let proxy = CountingProxy::start(6379).await;
    let prefix = unique_prefix();
    let store = RedisStore::new(settings(&proxy.url(), &prefix)).unwrap();
    let idle = store
        .create(anon(60_000).with_idle_ttl(Duration::from_millis(3_000)))
        .await
        .unwrap();
    let plain = store.create(anon(60_000)).await.unwrap();
    // Warm up (connection set-up, script load).
    store.lookup(&idle.id).await.unwrap().unwrap();
    store.lookup(&plain.id).await.unwrap().unwrap();

    let before = proxy.writes();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let looked = store.lookup(&idle.id).await.unwrap().unwrap();
    assert_eq!(proxy.writes() - before, 1, "idle session: one round trip");
    assert!(
        looked.last_seen_ms > idle.last_seen_ms,
        "the lookup slid it"
    );
    let before = proxy.writes();
    store.lookup(&plain.id).await.unwrap().unwrap();
    assert_eq!(proxy.writes() - before, 1, "plain session: one round trip");
    let before = proxy.writes();
    assert_eq!(
        store.lookup(&SessionId::generate().unwrap()).await.unwrap(),
        None
    );
    assert_eq!(
        proxy.writes() - before,
        1,
        "unknown session: one round trip"
    );

    // The slide is real: Redis keeps the key for the idle timeout from now,
    // and the record read back has the new last use.
    let mut conn = raw_conn().await;
    let pttl: i64 = ttl_ms(&mut conn, session_key(&prefix, &idle.id)).await;
    assert!(pttl > 2_500 && pttl <= 3_000, "{pttl}");
    let stored = store.get(&idle.id).await.unwrap().unwrap();
    assert_eq!(stored.last_seen_ms, looked.last_seen_ms);
    // Still the session's own version: a slide is not an update.
    assert_eq!(stored.version, idle.version);
    // Sliding never goes past the absolute expiry.
    let short = store
        .create(anon(1_000).with_idle_ttl(Duration::from_millis(3_000)))
        .await
        .unwrap();
    store.lookup(&short.id).await.unwrap().unwrap();
    let pttl: i64 = ttl_ms(&mut conn, session_key(&prefix, &short.id)).await;
    assert!(pttl > 0 && pttl <= 1_000, "{pttl}");
    cleanup(&prefix).await;
}

#[tokio::test]
async fn a_session_written_before_the_timing_fields_still_slides() {
    if !shared_redis_up() {
        return;
    }
    let prefix = unique_prefix();
    let store = shared_store(&prefix);
    let s = store
        .create(anon(60_000).with_idle_ttl(Duration::from_millis(2_000)))
        .await
        .unwrap();
    // As an older version stored it: no `l`, `x`, `i` fields.
    let mut conn = raw_conn().await;
    let _: i64 = redis::cmd("HDEL")
        .arg(session_key(&prefix, &s.id))
        .arg("l")
        .arg("x")
        .arg("i")
        .query_async(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let looked = store.lookup(&s.id).await.unwrap().unwrap();
    assert!(looked.last_seen_ms > s.last_seen_ms);
    let fields: Vec<Option<String>> = redis::cmd("HMGET")
        .arg(session_key(&prefix, &s.id))
        .arg("l")
        .arg("x")
        .arg("i")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(fields.iter().all(Option::is_some), "{fields:?}");
    cleanup(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tracking_lookups_stay_local_and_a_revocation_elsewhere_lands_within_50ms() {
    if !shared_redis_up() {
        return;
    }
    let proxy = CountingProxy::start(6379).await;
    let prefix = unique_prefix();
    let a = shared_store(&prefix);
    let b = RedisStore::new(settings(&proxy.url(), &prefix).with_tracking(true)).unwrap();
    let s = a.create(anon(60_000)).await.unwrap();
    let idle = a
        .create(anon(60_000).with_idle_ttl(Duration::from_secs(60)))
        .await
        .unwrap();
    // Tracking comes up in the background on first use.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        b.lookup(&s.id).await.unwrap().unwrap();
        let before = proxy.writes();
        b.lookup(&s.id).await.unwrap().unwrap();
        if proxy.writes() == before {
            break;
        }
        assert!(Instant::now() < deadline, "tracking never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Served from memory: 1,000 lookups, no round trip.
    let before = proxy.writes();
    for _ in 0..1_000 {
        assert_eq!(b.lookup(&s.id).await.unwrap().unwrap().id, s.id);
    }
    assert_eq!(proxy.writes(), before, "cached lookups reached Redis");
    // An idle session slides once, then is answered locally within the
    // slack (a twentieth of its idle timeout).
    b.lookup(&idle.id).await.unwrap().unwrap();
    b.lookup(&idle.id).await.unwrap().unwrap();
    let before = proxy.writes();
    for _ in 0..100 {
        b.lookup(&idle.id).await.unwrap().unwrap();
    }
    // (The slide's own invalidation can cost one more miss, which finds it
    // slid within the slack and does not slide again.)
    assert!(proxy.writes() - before <= 2, "{}", proxy.writes() - before);

    // Revoked through instance a: b refuses within one invalidation.
    assert!(a.revoke(&s.id).await.unwrap());
    let revoked_at = Instant::now();
    while b.lookup(&s.id).await.unwrap().is_some() {
        assert!(
            revoked_at.elapsed() < Duration::from_millis(50),
            "b still serves a session revoked on a"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    eprintln!("revocation seen by b after {:?}", revoked_at.elapsed());
    // An update through a is seen too (scopes changed by metadata update).
    let mut meta = serde_json::Map::new();
    meta.insert("k".into(), "v".into());
    a.update_metadata(&idle.id, meta).await.unwrap();
    let updated_at = Instant::now();
    loop {
        let r = b.lookup(&idle.id).await.unwrap().unwrap();
        if r.metadata.get("k").is_some() {
            break;
        }
        assert!(updated_at.elapsed() < Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Customer-wide revocation through a.
    let c = a.create(for_customer("acct", "cust")).await.unwrap();
    b.lookup(&c.id).await.unwrap().unwrap();
    b.lookup(&c.id).await.unwrap().unwrap();
    assert_eq!(a.revoke_customer("acct", "cust").await.unwrap(), 1);
    let revoked_at = Instant::now();
    while b.lookup(&c.id).await.unwrap().is_some() {
        assert!(revoked_at.elapsed() < Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    cleanup(&prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tracking_a_redis_restart_drops_the_local_cache() {
    if !redis_server_available() {
        return;
    }
    let mut server = OwnRedis::start_new();
    let store = RedisStore::new(settings(&server.url(), "t:").with_tracking(true)).unwrap();
    let s = store.create(anon(60_000)).await.unwrap();
    // Wait until lookups are answered locally.
    let deadline = Instant::now() + Duration::from_secs(5);
    while format!("{store:?}").contains("tracking: Some(false)") {
        store.lookup(&s.id).await.unwrap().unwrap();
        assert!(Instant::now() < deadline, "tracking never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.lookup(&s.id).await.unwrap().unwrap();

    server.kill();
    // Within moments the cached copy is gone: lookups go to Redis and fail
    // as unavailable, never answer from a cache nobody invalidates.
    let killed_at = Instant::now();
    loop {
        match store.lookup(&s.id).await {
            Ok(Some(_)) => assert!(
                killed_at.elapsed() < Duration::from_millis(1_500),
                "cached session served long after Redis died"
            ),
            Err(StoreError::Unavailable(_)) => break,
            other => panic!("unexpected {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("cache dropped {:?} after the kill", killed_at.elapsed());
    // The restarted server is empty: the session is unknown, not cached.
    server.start();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store.lookup(&s.id).await {
            Ok(None) => break,
            Ok(Some(_)) => panic!("a session the restarted Redis does not hold was served"),
            Err(_) => {
                assert!(Instant::now() < deadline, "no recovery");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    // And caching resumes on the new server.
    let t = store.create(anon(60_000)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while format!("{store:?}").contains("tracking: Some(false)") {
        assert!(Instant::now() < deadline, "tracking never came back");
        store.lookup(&t.id).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
