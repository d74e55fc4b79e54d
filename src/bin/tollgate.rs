//! `tollgate`: command-line tools for tollgate deployments (feature `cli`).
//!
//! `tollgate explain TOKEN [--require SCOPE ...]` prints, one line each, the
//! checks the layer makes on an access token and the verdict it would give.
//! Exit code 0 when the token passes, 1 when it is refused, 2 on bad usage or
//! configuration.

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
