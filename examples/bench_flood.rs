//! Flood driver for `bench/soak.sh`: sends distinct credentials to a
//! running server on loopback and reports the statuses.
//!
//! ```text
//! bench_flood tokens  URL SECRET ISSUER AUDIENCE COUNT   # distinct valid HS256 access tokens
//! bench_flood sessions URL COUNT                         # distinct well-formed unknown session ids
//! ```
//!
//! 64 requests in flight; bounded by COUNT; only loopback URLs are accepted.

use base64::Engine as _;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn usage() -> ! {
    eprintln!(
        "usage: bench_flood tokens URL SECRET ISSUER AUDIENCE COUNT | bench_flood sessions URL COUNT"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, url) = match (args.first(), args.get(1)) {
        (Some(m), Some(u)) => (m.clone(), u.clone()),
        _ => usage(),
    };
    if !(url.starts_with("http://127.") || url.starts_with("http://localhost")) {
        eprintln!("bench_flood only sends to loopback addresses");
        std::process::exit(2);
    }
    let count: u64 = args
        .last()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| usage());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|_| usage());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    let key = match mode.as_str() {
        "tokens" => Some(Arc::new((
            jsonwebtoken::EncodingKey::from_secret(
                args.get(2).unwrap_or_else(|| usage()).as_bytes(),
            ),
            args.get(3).cloned().unwrap_or_else(|| usage()),
            args.get(4).cloned().unwrap_or_else(|| usage()),
        ))),
        "sessions" => None,
        _ => usage(),
    };
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (http, next, url, key) = (http.clone(), next.clone(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let req = match &key {
                    Some(k) => {
                        let claims = serde_json::json!({
                            "iss": k.1, "aud": k.2, "exp": exp, "sub": format!("flood-{i}"),
                            "jti": format!("j{i}"), "scope": "orders:read",
                        });
                        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                        let Ok(token) = jsonwebtoken::encode(&header, &claims, &k.0) else {
                            continue;
                        };
                        http.get(format!("{url}/orders")).bearer_auth(token)
                    }
                    None => {
                        let mut raw = [0u8; 32];
                        let _ = getrandom::fill(&mut raw);
                        let id = format!(
                            "sess_{}",
                            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
                        );
                        http.get(format!("{url}/customer-sessions/current"))
                            .header("x-session-id", id)
                    }
                };
                let status = req.send().await.map_or(0, |r| r.status().as_u16());
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    let mut total: BTreeMap<u16, u64> = BTreeMap::new();
    for t in tasks {
        if let Ok(s) = t.await {
            for (k, v) in s {
                *total.entry(k).or_default() += v;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{mode}: {count} requests in {secs:.1} s ({:.0}/s); statuses {total:?}",
        count as f64 / secs
    );
}
