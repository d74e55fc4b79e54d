//! `tollgate`: command-line tools for tollgate deployments (feature `cli`).
//!
//! `tollgate explain TOKEN [--require SCOPE ...]` prints, one line each, the
//! checks the layer makes on an access token and the verdict it would give.
//! Exit code 0 when the token passes, 1 when it is refused, 2 on bad usage or
//! configuration.
//!
//! For local testing and small deployments:
//! - `tollgate keygen [--alg EdDSA|ES256|RS256] [--out FILE]`: a new signing
//!   key, PKCS#8 PEM (the file is created readable by its owner only);
//! - `tollgate jwks KEY.pem...`: the publishable JWKS (public keys only, each
//!   `kid` the RFC 7638 thumbprint) of those private keys;
//! - `tollgate mint --key KEY.pem --claims JSON [--expires-in SECS]`: a
//!   token signed with that key (`kid` as in `jwks`; `iat` and `exp` added
//!   unless the claims set them).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tollgate::explain::{Settings, explain, load_config_file};

#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about = "Tools for tollgate deployments")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explains why an access token passes or is refused.
    Explain(ExplainArgs),
    /// Generates a signing key (PKCS#8 PEM).
    Keygen(KeygenArgs),
    /// Prints the JWKS (public keys) of PEM private keys.
    Jwks(JwksArgs),
    /// Signs a token with a PEM private key, for local testing.
    Mint(MintArgs),
}

#[derive(Debug, clap::Args)]
struct KeygenArgs {
    /// The algorithm: EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA-2048).
    #[arg(long, default_value = "EdDSA", value_parser = parse_signing_algorithm)]
    alg: tollgate::issuer::SigningAlgorithm,
    /// Write the key here (created, never overwritten; mode 0600) instead
    /// of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct JwksArgs {
    /// PEM private key files (PKCS#8); the first is listed first.
    #[arg(required = true, value_name = "KEY.pem")]
    keys: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct MintArgs {
    /// The PEM private key (PKCS#8) to sign with.
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// The claims: a JSON object, or `@FILE` to read one from a file.
    #[arg(long, value_name = "JSON")]
    claims: String,
    /// Lifetime in seconds when the claims have no `exp` (default 3600).
    #[arg(long, default_value_t = 3600)]
    expires_in: u64,
}

fn parse_signing_algorithm(s: &str) -> Result<tollgate::issuer::SigningAlgorithm, String> {
    use tollgate::issuer::SigningAlgorithm;
    match s {
        "EdDSA" | "Ed25519" => Ok(SigningAlgorithm::Ed25519),
        "ES256" => Ok(SigningAlgorithm::Es256),
        "RS256" => Ok(SigningAlgorithm::Rs256),
        other => Err(format!(
            "unknown algorithm {other:?} (expected EdDSA, ES256 or RS256)"
        )),
    }
}

#[derive(Debug, clap::Args)]
struct ExplainArgs {
    /// The access token (`-` reads it from standard input).
    token: String,
    /// A scope the route requires (repeatable).
    #[arg(long = "require", value_name = "SCOPE")]
    require: Vec<String>,
    /// A configuration file (TOML, or JSON), deserialized into `AuthConfig`.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "issuer", "audience", "jwks_url", "discovery", "hs256_secret", "public_key_pem",
    ])]
    config: Option<PathBuf>,
    /// The issuer (`iss`).
    #[arg(long, env = "TOLLGATE_ISSUER")]
    issuer: Option<String>,
    /// The accepted audience.
    #[arg(long, env = "TOLLGATE_AUDIENCE")]
    audience: Option<String>,
    /// A remote JWKS URL.
    #[arg(long, env = "TOLLGATE_JWKS_URL")]
    jwks_url: Option<String>,
    /// Discover the JWKS URL from the issuer (OIDC discovery).
    #[arg(long, env = "TOLLGATE_DISCOVERY", value_parser = parse_flag, num_args = 0..=1,
          default_missing_value = "true")]
    discovery: Option<bool>,
    /// An HS256 shared secret (prefer the environment: command lines are visible to other users).
    #[arg(long, env = "TOLLGATE_HS256_SECRET", hide_env_values = true)]
    hs256_secret: Option<String>,
    /// A PEM public key file.
    #[arg(long, value_name = "FILE")]
    public_key_pem: Option<PathBuf>,
    /// The algorithm of the PEM key (default RS256).
    #[arg(long, value_name = "ALG", value_parser = parse_algorithm)]
    algorithm: Option<tollgate::Algorithm>,
    /// Clock-skew leeway in seconds (default 60).
    #[arg(long, env = "TOLLGATE_LEEWAY_SECS")]
    leeway_secs: Option<u64>,
    /// The scope claim (default `scope`).
    #[arg(long, env = "TOLLGATE_SCOPE_CLAIM")]
    scope_claim: Option<String>,
}

fn parse_algorithm(s: &str) -> Result<tollgate::Algorithm, String> {
    s.parse().map_err(|_| {
        format!(
            "unknown algorithm {s:?} (expected one of HS256, HS384, HS512, RS256, RS384, RS512, \
             PS256, PS384, PS512, ES256, ES384, EdDSA)"
        )
    })
}

fn parse_flag(s: &str) -> Result<bool, String> {
    match s {
        "1" | "true" | "TRUE" | "True" | "yes" => Ok(true),
        "0" | "false" | "FALSE" | "False" | "no" | "" => Ok(false),
        other => Err(format!("expected 1/true or 0/false, not {other:?}")),
    }
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tollgate: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Explain(args) => run_explain(args),
        Command::Keygen(args) => run_keygen(args),
        Command::Jwks(args) => run_jwks(args),
        Command::Mint(args) => run_mint(args),
    }
}

fn run_keygen(args: KeygenArgs) -> ExitCode {
    let key = match tollgate::issuer::SigningKey::generate(args.alg) {
        Ok(k) => k,
        Err(e) => return usage_error(e),
    };
    let pem = key.to_pkcs8_pem();
    match args.out {
        None => {
            print!("{pem}");
            ExitCode::SUCCESS
        }
        Some(path) => {
            use std::io::Write as _;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            match options
                .open(&path)
                .and_then(|mut f| f.write_all(pem.as_bytes()))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => usage_error(format!("cannot write {}: {e}", path.display())),
            }
        }
    }
}

fn run_jwks(args: JwksArgs) -> ExitCode {
    match tollgate::issuer::KeyRing::from_pem_files(&args.keys) {
        Ok(ring) => {
            println!("{:#}", ring.jwks());
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}

fn run_mint(args: MintArgs) -> ExitCode {
    // jsonwebtoken signs through the process-wide backend (the issuer
    // feature builds aws-lc-rs).
    if let Err(e) = tollgate::install_crypto_backend(tollgate::CryptoBackend::AwsLcRs) {
        return usage_error(e);
    }
    let pem = match std::fs::read_to_string(&args.key) {
        Ok(p) => p,
        Err(e) => return usage_error(format!("cannot read {}: {e}", args.key.display())),
    };
    let key = match tollgate::issuer::SigningKey::from_pem_auto(&pem) {
        Ok(k) => k,
        Err(e) => return usage_error(format!("{}: {e}", args.key.display())),
    };
    let text = match args.claims.strip_prefix('@') {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => return usage_error(format!("cannot read {file}: {e}")),
        },
        None => args.claims,
    };
    let mut claims = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => map,
        Ok(_) => return usage_error("the claims must be a JSON object"),
        Err(e) => return usage_error(format!("the claims are not JSON: {e}")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    claims.entry("iat").or_insert(now.into());
    claims
        .entry("exp")
        .or_insert(now.saturating_add(args.expires_in).into());
    let encoding = match key.algorithm() {
        tollgate::Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()),
        tollgate::Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()),
    };
    let encoding = match encoding {
        Ok(k) => k,
        Err(e) => return usage_error(format!("{}: {e}", args.key.display())),
    };
    let mut header = jsonwebtoken::Header::new(key.algorithm());
    header.kid = Some(key.kid().to_owned());
    match jsonwebtoken::encode(&header, &claims, &encoding) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(format!("cannot sign: {e}")),
    }
}

fn run_explain(args: ExplainArgs) -> ExitCode {
    let config = match &args.config {
        Some(path) => load_config_file(path),
        None => {
            let pem = match &args.public_key_pem {
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(text) => Some(text),
                    Err(e) => return usage_error(format!("cannot read {}: {e}", path.display())),
                },
                None => None,
            };
            let mut settings = Settings::default();
            settings.issuer = args.issuer;
            settings.audience = args.audience;
            settings.jwks_url = args.jwks_url;
            settings.discovery = args.discovery.unwrap_or(false);
            settings.hs256_secret = args.hs256_secret.map(tollgate::Secret::new);
            settings.public_key_pem = pem;
            settings.algorithm = args.algorithm;
            settings.leeway_secs = args.leeway_secs;
            settings.scope_claim = args.scope_claim;
            settings.into_config()
        }
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let token = if args.token == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            return usage_error(format!("cannot read the token from stdin: {e}"));
        }
        s.trim().to_owned()
    } else {
        args.token
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage_error(format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(explain(config, &token, &args.require)) {
        Ok(report) => {
            print!("{}", report.render());
            if report.exit_code() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => usage_error(e),
    }
}
