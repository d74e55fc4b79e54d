//! [`PasswordHasher`]: Argon2id for human passwords (customer logins), run
//! on a small dedicated pool with a bounded queue.
//!
//! Each Argon2id check (default parameters: 19 MiB, 2 passes) costs tens of
//! milliseconds and its memory. Run on tokio's blocking pool without a cap,
//! a flood of logins spawned hundreds of threads, each allocating its own
//! 19 MiB, and the allocator kept that memory: gigabytes resident after a
//! few thousand requests. Here a fixed number of worker threads (default:
//! the cores) each reuse **one** block buffer for every check, so the
//! memory is `threads × m_cost` whatever the load; requests wait in a short
//! queue, and past it the caller is told to come back later (503 with
//! `Retry-After`) instead of piling up.
//!
//! Unknown users are checked against a dummy hash of the same parameters, so
//! the answer takes the same time for an unknown email as for a wrong
//! password.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::fmt;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The pool is saturated: retry after the given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password checks are saturated; retry after {0:?}")]
pub struct Busy(pub Duration);

struct Job {
    password: String,
    hash: Option<String>,
    queued: Instant,
    reply: tokio::sync::oneshot::Sender<bool>,
}

/// Argon2id password hashing and checking on a capped pool. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    tx: SyncSender<Job>,
    params: Params,
    dummy: String,
    max_wait: Duration,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("m_cost_kib", &self.inner.params.m_cost())
            .finish_non_exhaustive()
    }
}

fn argon(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Longest a check may wait in the queue before it is dropped: the queue is
/// short, so this is only reached on a machine far slower than expected.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Most memory one stored hash may ask for (64 MiB): a hash with a larger
/// `m_cost` is refused rather than allocated.
const MAX_M_COST_KIB: u32 = 64 * 1024;

impl PasswordHasher {
    /// A pool of `threads` workers (0: one per core) and a queue of `queue`
    /// waiting checks, with Argon2's default (OWASP) parameters.
    pub fn new(threads: usize, queue: usize) -> Result<Self, crate::ConfigError> {
        Self::with_params(threads, queue, Params::default())
    }

    /// The same with explicit Argon2id parameters.
    pub fn with_params(
        threads: usize,
        queue: usize,
        params: Params,
    ) -> Result<Self, crate::ConfigError> {
        if params.m_cost() > MAX_M_COST_KIB {
            return Err(crate::ConfigError::new("argon2 m_cost above 64 MiB"));
        }
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let (tx, rx) = sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("tollgate-argon2-{i}"))
                .spawn(move || worker(&rx, &params))
                .map_err(|e| crate::ConfigError::new(format!("cannot start a hash worker: {e}")))?;
        }
        let dummy = hash_with(&params, "tollgate-dummy-password")?;
        Ok(Self {
            inner: Arc::new(Inner {
                tx,
                params,
                dummy,
                max_wait: MAX_WAIT,
            }),
        })
    }

    /// Hashes a password (PHC string), synchronously: for registration and
    /// configuration, not for request paths.
    pub fn hash(&self, password: &str) -> Result<String, crate::ConfigError> {
        hash_with(&self.inner.params, password)
    }

    /// Checks `password` against `stored` (a PHC string), or against a dummy
    /// hash when `stored` is `None` (unknown user): same cost either way.
    /// `Err(Busy)` when the queue is full.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> Result<bool, Busy> {
        let known = stored.is_some();
        let (reply, rx) = tokio::sync::oneshot::channel();
        let job = Job {
            password: password.to_owned(),
            hash: Some(stored.unwrap_or(&self.inner.dummy).to_owned()),
            queued: Instant::now(),
            reply,
        };
        match self.inner.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Busy(Duration::from_secs(1))),
            Err(TrySendError::Disconnected(_)) => return Err(Busy(Duration::from_secs(5))),
        }
        match tokio::time::timeout(self.inner.max_wait + Duration::from_secs(1), rx).await {
            Ok(Ok(ok)) => Ok(ok && known),
            _ => Err(Busy(Duration::from_secs(1))),
        }
    }
}

fn hash_with(params: &Params, password: &str) -> Result<String, crate::ConfigError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon(params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| crate::ConfigError::new(format!("cannot hash the password: {e}")))
}

fn worker(rx: &Mutex<Receiver<Job>>, default: &Params) {
    // One block buffer per worker, reused for every check.
    let mut blocks = vec![Block::default(); default.block_count()];
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        // A caller that gave up long ago does not need its answer.
        if job.queued.elapsed() > MAX_WAIT || job.reply.is_closed() {
            let _ = job.reply.send(false);
            continue;
        }
        let ok = job
            .hash
            .as_deref()
            .is_some_and(|h| check(h, &job.password, &mut blocks));
        let _ = job.reply.send(ok);
    }
}

/// Recomputes the hash of `password` with the stored parameters and salt
/// into the reused `blocks`, and compares in constant time.
fn check(stored: &str, password: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB || parsed.algorithm.as_str() != "argon2id" {
        return false;
    }
    if blocks.len() < params.block_count() {
        blocks.resize(params.block_count(), Block::default());
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let Some(mem) = blocks.get_mut(..params.block_count()) else {
        return false;
    };
    if argon(params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, mem)
        .is_err()
    {
        return false;
    }
    out.ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> PasswordHasher {
        PasswordHasher::with_params(1, 4, Params::new(1024, 1, 1, None).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn verifies_the_right_password_only() {
        let h = small();
        let stored = h.hash("hunter2-but-longer").unwrap();
        assert!(h.verify(Some(&stored), "hunter2-but-longer").await.unwrap());
        assert!(!h.verify(Some(&stored), "hunter3-but-longer").await.unwrap());
        assert!(!h.verify(None, "hunter2-but-longer").await.unwrap());
        assert!(!h.verify(Some("not a phc string"), "x").await.unwrap());
        // Hashes made by the argon2 crate's own API verify here too.
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let other = argon(Params::new(2048, 1, 1, None).unwrap())
            .hash_password(b"pw-from-elsewhere", &salt)
            .unwrap()
            .to_string();
        assert!(h.verify(Some(&other), "pw-from-elsewhere").await.unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_piling_up() {
        let h =
            PasswordHasher::with_params(1, 1, Params::new(8 * 1024, 3, 1, None).unwrap()).unwrap();
        let stored = h.hash("pw").unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let h = h.clone();
                let stored = stored.clone();
                tokio::spawn(async move { h.verify(Some(&stored), "pw").await })
            })
            .collect();
        let mut busy = 0;
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(true) => ok += 1,
                Err(Busy(_)) => busy += 1,
                Ok(false) => panic!("a right password failed"),
            }
        }
        assert!(
            busy > 0,
            "32 concurrent checks on 1 worker + 1 slot never saturated"
        );
        assert!(ok > 0);
    }
}
