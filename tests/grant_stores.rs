//! The code and refresh-token stores, behaviour by behaviour, against the
//! memory stores and the Redis stores (the shared Redis on 127.0.0.1:6379,
//! each test under its own random key prefix; nothing is flushed, every key
//! written expires within minutes).
//!
//! Every case gets two handles, `a` and `b`: the same store for memory, two
//! separate Redis store instances on one prefix for Redis (so every case
//! also checks that instances agree).
//!
//! Without Redis the Redis tests print `SKIPPED: no redis` and pass, except
//! when `CI=true`, where a missing Redis is a failure.
#![cfg(feature = "issuer")]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tollgate::issuer::{
    CodeGrant, CodeStore, Family, FamilyId, GrantStoreError, MemoryCodes, MemoryRefreshTokens,
    Redeemed, RefreshStore, Rotation, grants_now,
};

#[derive(Clone)]
struct Stores {
    codes: Arc<dyn CodeStore>,
    refresh: Arc<dyn RefreshStore>,
}

fn memory() -> (Stores, Stores) {
    let s = Stores {
        codes: Arc::new(MemoryCodes::new()),
        refresh: Arc::new(MemoryRefreshTokens::new()),
    };
    (s.clone(), s)
}

fn grant(client: &str) -> CodeGrant {
    CodeGrant {
        client_id: client.into(),
        redirect_uri: "https://shop.example/cb".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        customer_id: "cust-1".into(),
        account: "acct-1".into(),
        scope: "orders:read points:read".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        auth_time: grants_now(),
    }
}

/// A family of client `web`, living `life` seconds, `idle` seconds idle.
fn family(life: u64, idle: u64) -> Family {
    Family::new(
        FamilyId::generate().unwrap(),
        &grant("web"),
        grants_now(),
        life,
        idle,
    )
}

async fn rotated(store: &dyn RefreshStore, token: &str) -> (Family, String) {
    match store.rotate(token, "web").await.unwrap() {
        Rotation::Rotated {
            family,
            refresh_token,
        } => (family, refresh_token),
        other => panic!("expected Rotated, got {other:?}"),
    }
}

fn sorted(mut v: Vec<(String, u64)>) -> Vec<(String, u64)> {
    v.sort();
    v
}

// ------------------------------------------------------------------ cases

async fn code_is_single_use(a: Stores, b: Stores) {
    let code = a
        .codes
        .issue(&grant("web"), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(code.len(), 43);
    let Redeemed::Fresh { grant: g, family } = b.codes.redeem(&code).await.unwrap() else {
        panic!("first redemption not fresh")
    };
    assert_eq!(g.client_id, "web");
    assert_eq!(g.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    for store in [&a, &b] {
        assert_eq!(
            store.codes.redeem(&code).await.unwrap(),
            Redeemed::Replayed {
                family: family.clone()
            }
        );
    }
    // Two codes for the same grant are different codes with different families.
    let other = a
        .codes
        .issue(&grant("web"), Duration::from_secs(60))
        .await
        .unwrap();
    assert_ne!(other, code);
    let Redeemed::Fresh { family: f2, .. } = a.codes.redeem(&other).await.unwrap() else {
        panic!("not fresh")
    };
    assert_ne!(f2, family);
}

async fn unknown_and_malformed_codes(a: Stores, _b: Stores) {
    // Well-formed but never issued.
    let never = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(a.codes.redeem(never).await.unwrap(), Redeemed::Unknown);
    let long = "A".repeat(10 * 1024);
    for bad in [
        "",
        "x",
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        &long,
    ] {
        assert_eq!(a.codes.redeem(bad).await.unwrap(), Redeemed::Unknown);
    }
}

async fn expired_code(a: Stores, b: Stores) {
    let code = a
        .codes
        .issue(&grant("web"), Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(b.codes.redeem(&code).await.unwrap(), Redeemed::Unknown);
}

async fn concurrent_redeem_yields_one_fresh(a: Stores, b: Stores) {
    let code = a
        .codes
        .issue(&grant("web"), Duration::from_secs(60))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = if i % 2 == 0 {
                a.codes.clone()
            } else {
                b.codes.clone()
            };
            let code = code.clone();
            tokio::spawn(async move { store.redeem(&code).await.unwrap() })
        })
        .collect();
    let mut fresh = Vec::new();
    let mut replayed = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Redeemed::Fresh { family, .. } => fresh.push(family),
            Redeemed::Replayed { family } => replayed.push(family),
            Redeemed::Unknown => panic!("unknown"),
        }
    }
    assert_eq!(fresh.len(), 1);
    assert_eq!(replayed.len(), 19);
    assert!(replayed.iter().all(|f| *f == fresh[0]));
}

async fn rotation_chain_of_five(a: Stores, b: Stores) {
    let f = family(600, 600);
    let mut token = a.refresh.start(&f).await.unwrap();
    assert_eq!(token.len(), 66);
    assert!(token.starts_with(&format!("{}.", f.id)));
    let mut seen = HashSet::from([token.clone()]);
    for i in 0..5 {
        let store = if i % 2 == 0 { &b } else { &a };
        let (got, next) = rotated(store.refresh.as_ref(), &token).await;
        assert_eq!(got.id, f.id);
        assert_eq!(got.client_id, "web");
        assert_eq!(got.customer_id, f.customer_id);
        assert_eq!(got.scope, f.scope);
        assert_eq!(got.absolute_expiry, f.absolute_expiry);
        assert!(got.last_used >= f.last_used);
        assert!(seen.insert(next.clone()), "a token came twice");
        token = next;
    }
}

async fn reuse_revokes_the_family(a: Stores, b: Stores) {
    let f = family(600, 600);
    let t0 = a.refresh.start(&f).await.unwrap();
    let now = grants_now();
    a.refresh
        .record_access_token(&f.id, "jti-0", now + 300)
        .await
        .unwrap();
    let (_, t1) = rotated(b.refresh.as_ref(), &t0).await;
    b.refresh
        .record_access_token(&f.id, "jti-1", now + 300)
        .await
        .unwrap();
    let (_, t2) = rotated(a.refresh.as_ref(), &t1).await;
    // The thief replays t0 (or the client does, after the thief rotated).
    match b.refresh.rotate(&t0, "web").await.unwrap() {
        Rotation::Reused {
            family,
            access_tokens,
        } => {
            assert_eq!(family, f.id);
            assert_eq!(
                sorted(access_tokens),
                vec![("jti-0".into(), now + 300), ("jti-1".into(), now + 300)]
            );
        }
        other => panic!("expected Reused, got {other:?}"),
    }
    for t in [&t0, &t1, &t2] {
        assert_eq!(a.refresh.rotate(t, "web").await.unwrap(), Rotation::Invalid);
        assert_eq!(b.refresh.family_of(t, "web").await.unwrap(), None);
    }
    assert_eq!(
        a.refresh
            .record_access_token(&f.id, "jti-2", now + 300)
            .await,
        Err(GrantStoreError::Revoked)
    );
}

async fn other_client_is_invalid_and_harmless(a: Stores, b: Stores) {
    let f = family(600, 600);
    let t0 = a.refresh.start(&f).await.unwrap();
    let (_, t1) = rotated(a.refresh.as_ref(), &t0).await;
    // Current and spent tokens shown by another client: Invalid, nothing revoked.
    for t in [&t0, &t1] {
        assert_eq!(
            b.refresh.rotate(t, "mallory").await.unwrap(),
            Rotation::Invalid
        );
        assert_eq!(b.refresh.family_of(t, "mallory").await.unwrap(), None);
    }
    let (_, t2) = rotated(b.refresh.as_ref(), &t1).await;
    rotated(a.refresh.as_ref(), &t2).await;
}

async fn revoke_before_start(a: Stores, b: Stores) {
    let code = a
        .codes
        .issue(&grant("web"), Duration::from_secs(60))
        .await
        .unwrap();
    let Redeemed::Fresh {
        grant: g,
        family: fam,
    } = a.codes.redeem(&code).await.unwrap()
    else {
        panic!("not fresh")
    };
    // A replay of the code wins the race against the first exchange.
    let Redeemed::Replayed { family: replayed } = b.codes.redeem(&code).await.unwrap() else {
        panic!("not replayed")
    };
    assert!(b.refresh.revoke(&replayed).await.unwrap().is_empty());
    let f = Family::new(fam, &g, grants_now(), 600, 600);
    assert_eq!(a.refresh.start(&f).await, Err(GrantStoreError::Revoked));
    // Starting a live family twice is refused too.
    let f = family(600, 600);
    a.refresh.start(&f).await.unwrap();
    assert_eq!(
        b.refresh.start(&f).await,
        Err(GrantStoreError::AlreadyStarted)
    );
}

async fn idle_expiry(a: Stores, b: Stores) {
    let f = family(600, 1);
    let t0 = a.refresh.start(&f).await.unwrap();
    let t1 = a.refresh.start(&family(600, 600)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        b.refresh.rotate(&t0, "web").await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(b.refresh.family_of(&t0, "web").await.unwrap(), None);
    // A family with a longer idle time is unaffected.
    rotated(b.refresh.as_ref(), &t1).await;
}

async fn absolute_expiry(a: Stores, b: Stores) {
    let f = family(1, 600);
    let t0 = a.refresh.start(&f).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        b.refresh.rotate(&t0, "web").await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        a.refresh
            .record_access_token(&f.id, "j", grants_now() + 60)
            .await,
        Err(GrantStoreError::UnknownFamily)
    );
}

async fn spent_token_of_expired_family_revokes_nothing(a: Stores, b: Stores) {
    let f = family(600, 1);
    let t0 = a.refresh.start(&f).await.unwrap();
    let (_, t1) = rotated(a.refresh.as_ref(), &t0).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        b.refresh.rotate(&t0, "web").await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        b.refresh.rotate(&t1, "web").await.unwrap(),
        Rotation::Invalid
    );
}

async fn family_of(a: Stores, b: Stores) {
    let f = family(600, 600);
    let t0 = a.refresh.start(&f).await.unwrap();
    assert_eq!(
        b.refresh.family_of(&t0, "web").await.unwrap(),
        Some(f.id.clone())
    );
    let (_, t1) = rotated(a.refresh.as_ref(), &t0).await;
    // Spent and current both name the family (RFC 7009 revokes it).
    for t in [&t0, &t1] {
        assert_eq!(
            b.refresh.family_of(t, "web").await.unwrap(),
            Some(f.id.clone())
        );
    }
    // family_of changes nothing.
    let (_, t2) = rotated(b.refresh.as_ref(), &t1).await;
    let guessed = format!("{}.{}", f.id, "A".repeat(43));
    assert_eq!(a.refresh.family_of(&guessed, "web").await.unwrap(), None);
    assert_eq!(a.refresh.family_of("", "web").await.unwrap(), None);
    a.refresh.revoke(&f.id).await.unwrap();
    assert_eq!(b.refresh.family_of(&t2, "web").await.unwrap(), None);
}

async fn access_tokens_are_returned_on_revoke(a: Stores, b: Stores) {
    let f = family(600, 600);
    a.refresh.start(&f).await.unwrap();
    let now = grants_now();
    a.refresh
        .record_access_token(&f.id, "gone", now.saturating_sub(5))
        .await
        .unwrap();
    a.refresh
        .record_access_token(&f.id, "j1", now + 100)
        .await
        .unwrap();
    b.refresh
        .record_access_token(&f.id, "j2", now + 200)
        .await
        .unwrap();
    assert_eq!(
        sorted(b.refresh.revoke(&f.id).await.unwrap()),
        vec![("j1".into(), now + 100), ("j2".into(), now + 200)]
    );
    // Revoking again is harmless and returns nothing more.
    assert!(a.refresh.revoke(&f.id).await.unwrap().is_empty());
    assert_eq!(
        a.refresh
            .record_access_token(&FamilyId::generate().unwrap(), "j", now + 60)
            .await,
        Err(GrantStoreError::UnknownFamily)
    );
}

async fn malformed_tokens_are_invalid(a: Stores, b: Stores) {
    let f = family(600, 600);
    let t0 = a.refresh.start(&f).await.unwrap();
    let big = "A".repeat(10 * 1024);
    let no_dot = t0.replace('.', "A");
    let not_b64 = format!("{}.{}", f.id, "!".repeat(43));
    let guessed = format!("{}.{}", f.id, "B".repeat(43));
    let unicode = format!("{}.{}é", f.id, "A".repeat(41));
    let two_dots = format!("{}..{}", f.id, "A".repeat(42));
    for bad in [
        "", ".", "no-dot", &big, &no_dot, &not_b64, &guessed, &unicode, &two_dots,
    ] {
        assert_eq!(
            b.refresh.rotate(bad, "web").await.unwrap(),
            Rotation::Invalid,
            "{bad:.40}"
        );
        assert_eq!(b.refresh.family_of(bad, "web").await.unwrap(), None);
    }
    // A guessed token of a real family never harms it.
    rotated(a.refresh.as_ref(), &t0).await;
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod memory_stores {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (a, b) = super::memory();
                    super::$name(a, b).await;
                }
            )*
        }

        #[cfg(feature = "redis")]
        mod redis_stores {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some((a, b)) = super::redis_support::stores() else { return };
                    super::$name(a, b).await;
                }
            )*
        }
    };
}

cases!(
    code_is_single_use,
    unknown_and_malformed_codes,
    expired_code,
    concurrent_redeem_yields_one_fresh,
    rotation_chain_of_five,
    reuse_revokes_the_family,
    other_client_is_invalid_and_harmless,
    revoke_before_start,
    idle_expiry,
    absolute_expiry,
    spent_token_of_expired_family_revokes_nothing,
    family_of,
    access_tokens_are_returned_on_revoke,
    malformed_tokens_are_invalid,
);

#[cfg(feature = "redis")]
mod redis_support {
    use super::Stores;
    use std::io::Write as _;
    use std::net::{SocketAddr, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;
    use tollgate::issuer::{
        CodeStore, FamilyId, GrantStoreError, RedisCodes, RedisRefreshTokens, RefreshStore,
    };

    const URL: &str = "redis://127.0.0.1:6379";

    /// Two store instances on one fresh prefix, or `None` (after printing
    /// `SKIPPED: no redis`) when Redis does not answer.
    pub(super) fn stores() -> Option<(Stores, Stores)> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 6379));
        if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("redis tests cannot run in CI: nothing answers on {addr}: {e}");
            }
            let _ = writeln!(std::io::stderr(), "SKIPPED: no redis ({e})");
            return None;
        }
        let prefix = format!("tollgate-test:grants:{}:", FamilyId::generate().unwrap());
        let make = || Stores {
            codes: Arc::new(
                RedisCodes::with_timeout(URL, &prefix, Duration::from_secs(2)).unwrap(),
            ),
            refresh: Arc::new(
                RedisRefreshTokens::with_timeout(URL, &prefix, Duration::from_secs(2))
                    .unwrap()
                    .tombstone_ttl(Duration::from_secs(120)),
            ),
        };
        Some((make(), make()))
    }

    /// The shared throttle's `spend` counts and decides in one Redis step:
    /// 400 concurrent spends through two instances on one prefix let exactly
    /// the budget through (a check-then-count would let a burst overshoot).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_throttle_spends_atomically_across_instances() {
        use tollgate::issuer::{RedisThrottle, Throttle, ThrottleRule};
        if stores().is_none() {
            return;
        }
        let prefix = format!("tollgate-test:throttle:{}:", FamilyId::generate().unwrap());
        let make = || -> Arc<dyn Throttle> {
            Arc::new(RedisThrottle::new(URL, &prefix, Duration::from_secs(2)).unwrap())
        };
        let (a, b) = (make(), make());
        let rule = ThrottleRule::new(25, Duration::from_secs(120));
        let key = FamilyId::generate().unwrap().to_string();
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let t = if i % 2 == 0 { a.clone() } else { b.clone() };
                let key = key.clone();
                tokio::spawn(async move { t.spend(key.as_bytes(), rule).await })
            })
            .collect();
        let mut passed = 0;
        for t in tasks {
            match t.await.unwrap() {
                None => passed += 1,
                Some(after) => assert!(after > Duration::ZERO && after <= Duration::from_secs(120)),
            }
        }
        assert_eq!(passed, 25);
        assert!(b.check(key.as_bytes(), rule).await.is_some());
        assert!(a.spend(b"someone-else", rule).await.is_none());
    }

    /// A refund gives one spent unit back on the shared count, seen by the
    /// other instance; it never takes the count below zero.
    #[tokio::test]
    async fn redis_throttle_refunds_are_shared_and_floored() {
        use tollgate::issuer::{RedisThrottle, Throttle, ThrottleRule};
        if stores().is_none() {
            return;
        }
        let prefix = format!("tollgate-test:throttle:{}:", FamilyId::generate().unwrap());
        let a = RedisThrottle::new(URL, &prefix, Duration::from_secs(2)).unwrap();
        let b = RedisThrottle::new(URL, &prefix, Duration::from_secs(2)).unwrap();
        let rule = ThrottleRule::new(2, Duration::from_secs(120));
        let key = FamilyId::generate().unwrap().to_string();
        let key = key.as_bytes();
        // Refunding what was never spent changes nothing.
        b.refund(key, rule).await;
        b.refund(key, rule).await;
        for _ in 0..5 {
            assert!(a.spend(key, rule).await.is_none());
            b.refund(key, rule).await;
        }
        assert!(a.check(key, rule).await.is_none());
        assert!(a.spend(key, rule).await.is_none());
        assert!(b.spend(key, rule).await.is_none());
        assert!(a.spend(key, rule).await.is_some(), "two failures use it up");
        assert!(b.check(key, rule).await.is_some());
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_unavailable() {
        // Port 1 on localhost: refused at once.
        let codes = RedisCodes::new("redis://127.0.0.1:1", "p:").unwrap();
        let refresh = RedisRefreshTokens::new("redis://127.0.0.1:1", "p:").unwrap();
        assert!(matches!(
            codes
                .issue(&super::grant("web"), Duration::from_secs(5))
                .await,
            Err(GrantStoreError::Unavailable(_))
        ));
        let token = format!("{}.{}", FamilyId::generate().unwrap(), "A".repeat(43));
        assert!(matches!(
            codes.redeem(&"A".repeat(43)).await,
            Err(GrantStoreError::Unavailable(_))
        ));
        assert!(matches!(
            refresh.rotate(&token, "web").await,
            Err(GrantStoreError::Unavailable(_))
        ));
        // Malformed input is answered without asking Redis.
        assert_eq!(
            refresh.rotate("junk", "web").await,
            Ok(tollgate::issuer::Rotation::Invalid)
        );
    }
}
