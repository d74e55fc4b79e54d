//! `tollgate explain` run as a process: each failing step is named, the exit
//! code follows the verdict, and neither the signature nor the secret is
//! ever printed.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

const ISSUER: &str = "https://issuer.cli.test";
const AUDIENCE: &str = "orders-api";
const SECRET: &str = "cli-test-secret-that-is-at-least-32-bytes!";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "app-1",
        "client_id": "app-1",
        "account_id": "acct-1",
        "scope": "orders:read",
        "iat": now(),
        "exp": now() + 300,
    })
}

fn mint(claims: &Value, secret: &str) -> String {
    tollgate::install_crypto_backend(tollgate::CryptoBackend::AwsLcRs).unwrap();
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn tollgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TOLLGATE_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `explain` with the flags configuration.
fn explain(token: &str, extra: &[&str]) -> Output {
    tollgate()
        .args(["explain", token, "--issuer", ISSUER, "--audience", AUDIENCE])
        .args(["--hs256-secret", SECRET])
        .args(extra)
        .output()
        .unwrap()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(out: Output, token: &str) -> Run {
    let r = Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    let signature = token.rsplit('.').next().unwrap();
    for text in [&r.stdout, &r.stderr] {
        assert!(!text.contains(signature), "signature printed:\n{text}");
        assert!(!text.contains(SECRET), "secret printed:\n{text}");
        assert!(!text.contains(token), "token printed:\n{text}");
    }
    r
}

fn failing_line(r: &Run) -> &str {
    r.stdout
        .lines()
        .find(|l| l.starts_with('✗'))
        .unwrap_or_else(|| panic!("no failing step:\n{}", r.stdout))
}

#[test]
fn a_good_token_passes_every_step() {
    let token = mint(&claims(), SECRET);
    let r = run(explain(&token, &["--require", "orders:read"]), &token);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for name in [
        "shape",
        "header",
        "algorithm",
        "key",
        "signature",
        "iss",
        "aud",
        "exp",
        "scopes",
    ] {
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with(&format!("✓ {name} "))),
            "{name} missing:\n{}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains('✗'), "{}", r.stdout);
    assert!(r.stdout.contains("static HS256 secret"), "{}", r.stdout);
    assert!(r.stdout.contains("signature <32 bytes>"), "{}", r.stdout);
    assert!(r.stdout.contains("verdict: accepted"), "{}", r.stdout);
    assert!(!r.stdout.contains("disagrees"), "{}", r.stdout);
}

#[test]
fn an_expired_token_fails_at_exp() {
    let mut c = claims();
    c["iat"] = json!(now() - 7200);
    c["exp"] = json!(now() - 3600);
    let token = mint(&c, SECRET);
    let r = run(explain(&token, &[]), &token);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let line = failing_line(&r);
    assert!(line.starts_with("✗ exp "), "{line}");
    assert!(line.contains("expired"), "{line}");
    assert!(
        r.stdout
            .contains("verdict: refused: 401 invalid_token: the token has expired"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("error_description=\"expired\"") || r.stdout.contains("expired"));
    assert!(!r.stdout.contains("disagrees"), "{}", r.stdout);
}

#[test]
fn a_wrong_audience_fails_at_aud() {
    let mut c = claims();
    c["aud"] = json!("billing-api");
    let token = mint(&c, SECRET);
    let r = run(explain(&token, &[]), &token);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let line = failing_line(&r);
    assert!(line.starts_with("✗ aud "), "{line}");
    assert!(line.contains("billing-api"), "{line}");
    assert!(
        r.stdout
            .contains("401 invalid_token: the token audience is not accepted"),
        "{}",
        r.stdout
    );
    // The steps stop at the first failure.
    assert!(!r.stdout.contains("✓ exp"), "{}", r.stdout);
}

#[test]
fn a_bad_signature_fails_at_signature() {
    let token = mint(&claims(), "another-secret-that-is-at-least-32-bytes!!");
    let r = run(explain(&token, &[]), &token);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let line = failing_line(&r);
    assert!(line.starts_with("✗ signature "), "{line}");
    assert!(r.stdout.contains("✓ key "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("401 invalid_token: the token signature is invalid"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("disagrees"), "{}", r.stdout);
}

#[test]
fn a_missing_required_scope_fails_at_scopes() {
    let token = mint(&claims(), SECRET);
    let r = run(
        explain(
            &token,
            &["--require", "orders:read", "--require", "orders:write"],
        ),
        &token,
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let line = failing_line(&r);
    assert!(line.starts_with("✗ scopes "), "{line}");
    assert!(line.contains("orders:write"), "{line}");
    assert!(r.stdout.contains("403 insufficient_scope"), "{}", r.stdout);
    assert!(r.stdout.contains("✓ exp "), "{}", r.stdout);
}

#[test]
fn garbage_fails_at_shape() {
    let r = run(explain("not-a-token", &[]), "x.not-a-token");
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(failing_line(&r).starts_with("✗ shape "), "{}", r.stdout);
}

#[test]
fn the_environment_configures_it_like_the_examples() {
    let token = mint(&claims(), SECRET);
    let out = tollgate()
        .args(["explain", &token])
        .env("TOLLGATE_ISSUER", ISSUER)
        .env("TOLLGATE_AUDIENCE", AUDIENCE)
        .env("TOLLGATE_HS256_SECRET", SECRET)
        .output()
        .unwrap();
    let r = run(out, &token);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn a_config_file_configures_it() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml_path = dir.join("auth.toml");
    std::fs::write(
        &toml_path,
        format!(
            "[[issuers]]\nissuer = \"{ISSUER}\"\naudiences = [\"{AUDIENCE}\"]\n\
             keys = [{{ type = \"hmac_secret\", secret = \"{SECRET}\" }}]\n"
        ),
    )
    .unwrap();
    let json_path = dir.join("auth.json");
    std::fs::write(
        &json_path,
        json!({"issuers": [{"issuer": ISSUER, "audiences": ["other-api"],
            "keys": [{"type": "hmac_secret", "secret": SECRET}]}]})
        .to_string(),
    )
    .unwrap();
    let token = mint(&claims(), SECRET);
    let ok = tollgate()
        .args(["explain", &token, "--config"])
        .arg(&toml_path)
        .output()
        .unwrap();
    let r = run(ok, &token);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let refused = tollgate()
        .args(["explain", &token, "--config"])
        .arg(&json_path)
        .output()
        .unwrap();
    let r = run(refused, &token);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(failing_line(&r).starts_with("✗ aud "), "{}", r.stdout);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_usage_and_bad_configuration_exit_2() {
    let token = mint(&claims(), SECRET);
    // No key source.
    let out = tollgate().args(["explain", &token]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Unknown flag.
    let out = tollgate()
        .args(["explain", &token, "--nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A missing config file.
    let out = tollgate()
        .args(["explain", &token, "--config", "/nonexistent/tollgate.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // An invalid required scope.
    let r = run(explain(&token, &["--require", "not a scope"]), &token);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}

/// `keygen`, `jwks` and `mint` as processes, for each algorithm: the minted
/// token verifies against the printed JWKS (and not against another key's),
/// the key file is private, an existing file is never overwritten, and the
/// JWKS holds no private member.
#[tokio::test]
async fn keygen_jwks_and_mint_make_tokens_the_layer_accepts() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ok = |out: Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    for alg in ["EdDSA", "ES256", "RS256"] {
        let key = dir.join(format!("{alg}.pem"));
        let other = dir.join(format!("{alg}-other.pem"));
        for k in [&key, &other] {
            ok(tollgate()
                .args(["keygen", "--alg", alg, "--out"])
                .arg(k)
                .output()
                .unwrap());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{alg}: key file readable by others");
        }
        // Never overwritten.
        let again = tollgate()
            .args(["keygen", "--alg", alg, "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(2));

        let jwks: Value =
            serde_json::from_str(&ok(tollgate().arg("jwks").arg(&key).output().unwrap())).unwrap();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["alg"], alg, "{jwks}");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                jwk.get(private).is_none(),
                "{alg}: private member {private}"
            );
        }
        let token = ok(tollgate()
            .args(["mint", "--key"])
            .arg(&key)
            .args(["--claims", &claims().to_string()])
            .output()
            .unwrap());
        let other_token = ok(tollgate()
            .args(["mint", "--key"])
            .arg(&other)
            .args([
                "--claims",
                &json!({"iss": ISSUER, "aud": AUDIENCE, "scope": "orders:read"}).to_string(),
            ])
            .output()
            .unwrap());

        tollgate::install_crypto_backend(tollgate::CryptoBackend::AwsLcRs).unwrap();
        let auth = tollgate::Authenticator::builder()
            .issuer(
                tollgate::IssuerConfig::new(ISSUER)
                    .audience(AUDIENCE)
                    .jwks(jwks.clone()),
            )
            .build()
            .unwrap();
        let verify = |t: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(
                "authorization",
                format!("Bearer {}", t.trim()).parse().unwrap(),
            );
            let auth = auth.clone();
            async move { auth.authenticate(&h).await }
        };
        let ctx = verify(&token).await.unwrap().unwrap();
        assert_eq!(ctx.client_id(), Some("app-1"), "{alg}");
        assert!(
            verify(&other_token).await.is_err(),
            "{alg}: another key's token"
        );
    }
    // Bad input: exit code 2 and a message, never a panic.
    for args in [
        vec!["keygen", "--alg", "HS256"],
        vec!["jwks", "/nonexistent.pem"],
        vec!["mint", "--key", "/nonexistent.pem", "--claims", "{}"],
    ] {
        let out = tollgate().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let key = dir.join("EdDSA.pem");
    let out = tollgate()
        .args(["mint", "--key"])
        .arg(&key)
        .args(["--claims", "[1,2]"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
