//! Revocation lists through the authenticator: a revoked token stays
//! refused for as long as any verifier could accept it (its `exp` plus the
//! leeway), through purges and refreshes, and a flood of revocations costs
//! each one little (the in-memory list purges on doublings; the Redis
//! mirror copies only what this instance revoked since its last refresh).

mod common;

use common::{now, redis_up};
use std::sync::Arc;
use std::time::Duration;
use tollgate::Authenticator;
use tollgate::revocation::{MemoryRevocations, RedisRevocations, Revocations};
use tollgate::testing::TestIssuer;

fn skip(reason: &str) -> bool {
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "CI=true but {reason}"
    );
    eprintln!("SKIPPED: {reason}");
    true
}

fn authenticator(issuer: &TestIssuer, revocations: Arc<dyn Revocations>) -> Authenticator {
    issuer
        .authenticator_builder()
        .revocations(revocations)
        .build()
        .unwrap()
}

/// Whether the authenticator admits `token` (the verified-token cache is
/// on, so a repeat is answered from it: revocation is still checked).
async fn admits(auth: &Authenticator, token: &str) -> bool {
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    auth.authenticate(&headers).await.is_ok_and(|c| c.is_some())
}

/// A token past its `exp` but inside the verifier's leeway (60 s by
/// default) is still accepted, so its revocation must still be held.
fn token_in_its_leeway(issuer: &TestIssuer, jti: &str) -> (String, u64) {
    let exp = now() - 10;
    let token = issuer
        .access_token()
        .claim("jti", jti)
        .claim("exp", exp)
        .build();
    (token, exp)
}

#[tokio::test]
async fn memory_a_token_revoked_in_its_leeway_stays_refused_through_a_flood() {
    let issuer = TestIssuer::new();
    let list = Arc::new(MemoryRevocations::default());
    let auth = authenticator(&issuer, list.clone());
    let (token, exp) = token_in_its_leeway(&issuer, "in-leeway");
    assert!(
        admits(&auth, &token).await,
        "inside the leeway it is accepted"
    );
    list.revoke_jti("in-leeway", exp);
    assert!(!admits(&auth, &token).await);
    // Thousands more revocations (each once purged the whole list, dropping
    // every entry past its `exp`, this one included).
    for i in 0..5_000 {
        list.revoke_jti(&format!("flood-{i}"), now() + 3600);
    }
    assert!(!admits(&auth, &token).await, "revoked, still in its leeway");
}

#[tokio::test]
async fn redis_revocations_hold_through_refreshes_floods_and_the_leeway() {
    if !redis_up() && skip("no Redis on 127.0.0.1:6379 for the shared revocation list") {
        return;
    }
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    let prefix = format!("tollgate-test-rev-{}:", common::b64(r));

    let url = "redis://127.0.0.1:6379";
    let timeout = Duration::from_secs(2);
    let (a, b) = (
        RedisRevocations::new(url, &prefix, timeout).unwrap(),
        RedisRevocations::new(url, &prefix, timeout).unwrap(),
    );
    let issuer = TestIssuer::new();
    let (at_a, at_b) = (
        authenticator(&issuer, a.clone()),
        authenticator(&issuer, b.clone()),
    );

    // Revoked at A: refused at A at once, at B after its refresh, and at A
    // still after A's own refresh reads the list back.
    let live = issuer.access_token().claim("jti", "live").build();
    assert!(admits(&at_a, &live).await && admits(&at_b, &live).await);
    a.revoke_jti("live", now() + 3600).await.unwrap();
    assert!(!admits(&at_a, &live).await, "refused where it was revoked");
    assert!(admits(&at_b, &live).await, "B has not refreshed yet");
    b.refresh().await.unwrap();
    assert!(
        !admits(&at_b, &live).await,
        "refused at B after its refresh"
    );
    a.refresh().await.unwrap();
    assert!(
        !admits(&at_a, &live).await,
        "still refused at A after its refresh"
    );

    // Past `exp`, inside the leeway: the refresh keeps it in Redis.
    let (late, exp) = token_in_its_leeway(&issuer, "late");
    assert!(admits(&at_b, &late).await);
    a.revoke_jti("late", exp).await.unwrap();
    b.refresh().await.unwrap();
    assert!(!admits(&at_b, &late).await, "revoked inside its leeway");

    // A flood of revocations without a refresher: every one is honoured
    // at A and, after a refresh, at B.
    for i in 0..2_500 {
        a.revoke_jti(&format!("flood-{i}"), now() + 3600)
            .await
            .unwrap();
    }
    b.refresh().await.unwrap();
    for i in [0, 1_023, 1_024, 2_047, 2_499] {
        let t = issuer
            .access_token()
            .claim("jti", format!("flood-{i}"))
            .build();
        assert!(!admits(&at_a, &t).await, "flood-{i} at A");
        assert!(!admits(&at_b, &t).await, "flood-{i} at B");
    }
    assert!(!admits(&at_a, &live).await && !admits(&at_a, &late).await);

    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}revoked:jti"))
        .arg(format!("{prefix}revoked:cust"))
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// Revocation lists keep a `jti` for `MAX_LEEWAY_SECS` past its `exp`: a
/// larger leeway would let a revoked token back in, so it is refused when
/// the authenticator is built.
#[test]
fn a_leeway_past_the_largest_is_refused_at_build() {
    let issuer = TestIssuer::new();
    let with = |leeway| {
        Authenticator::builder()
            .issuer(issuer.issuer_config().leeway_secs(leeway))
            .build()
    };
    assert!(with(tollgate::config::MAX_LEEWAY_SECS).is_ok());
    let err = with(tollgate::config::MAX_LEEWAY_SECS + 1).unwrap_err();
    assert!(err.to_string().contains("leeway_secs"), "{err}");
}
