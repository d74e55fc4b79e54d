//! DPoP on the request path (RFC 9449 §7): the scheme rules of the policy,
//! the proof of a DPoP-bound access token, its binding to the token's
//! `cnf.jkt`, and the proof's replay check. The token itself is verified
//! (and cached) as any access token; the proof is checked on every request.

use super::Authenticator;
use crate::context::AuthContext;
use crate::credentials::{self, RequestParts};
use crate::dpop::proof::{self, ProofError, ProofTarget};
use crate::dpop::{DpopPolicy, ReplayKey};
use crate::error::{AuthError, AuthErrorKind};
use std::time::Duration;

/// What the token's `cnf` claim says.
enum Confirmation<'a> {
    None,
    Jkt(&'a str),
    Unsupported,
}

/// A `cnf` with only `x5t#S256` is not DPoP-bound: its certificate binding
/// is checked by `mtls.rs`, and it is presented as a bearer token.
fn confirmation(ctx: &AuthContext) -> Confirmation<'_> {
    if !ctx.has_confirmation() {
        return Confirmation::None;
    }
    match ctx.raw_claims().get("cnf") {
        None => Confirmation::None,
        Some(cnf) => match cnf.get("jkt") {
            Some(jkt) => match jkt.as_str() {
                Some(jkt) if !jkt.is_empty() => Confirmation::Jkt(jkt),
                _ => Confirmation::Unsupported,
            },
            None if cnf.get(crate::mtls::X5T_S256).is_some() => Confirmation::None,
            None => Confirmation::Unsupported,
        },
    }
}

impl Authenticator {
    fn proof_error(&self, e: ProofError) -> AuthError {
        tracing::debug!(reason = e.description(), "tollgate: DPoP proof refused");
        self.error(AuthErrorKind::InvalidDpopProof, e.description())
    }

    /// An error about the access token, with the challenge of the scheme it
    /// was presented with.
    pub(super) fn access_error(
        &self,
        kind: AuthErrorKind,
        desc: &'static str,
        dpop_scheme: bool,
    ) -> AuthError {
        let e = self.error(kind, desc);
        if dpop_scheme {
            e.with_dpop_challenge()
        } else {
            e
        }
    }

    /// The checks that need no verified token: `Required` refuses a bearer
    /// token; the `DPoP` scheme needs exactly one `DPoP` header.
    pub(super) fn dpop_precheck<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        dpop_scheme: bool,
    ) -> Result<(), AuthError> {
        if !dpop_scheme {
            if self.engine.dpop.policy == DpopPolicy::Required {
                return Err(self.access_error(
                    AuthErrorKind::InvalidToken,
                    "this resource requires a DPoP-bound token",
                    true,
                ));
            }
            return Ok(());
        }
        match proof::proof_header(req) {
            Err(e) => Err(self.proof_error(e)),
            Ok(None) => Err(self.proof_error(ProofError::Missing)),
            Ok(Some(_)) => Ok(()),
        }
    }

    /// Checks a verified access token's binding against how it was
    /// presented, and the proof for a DPoP-bound one. Returns the proof's
    /// replay key, to be recorded once everything else has passed.
    pub(super) fn dpop_bind<R: RequestParts + ?Sized>(
        &self,
        req: &R,
        token: &[u8],
        dpop_scheme: bool,
        ctx: &AuthContext,
    ) -> Result<Option<ReplayKey>, AuthError> {
        let jkt = match (confirmation(ctx), dpop_scheme) {
            (Confirmation::None, false) => return Ok(None),
            (Confirmation::None, true) => {
                return Err(self.access_error(
                    AuthErrorKind::InvalidToken,
                    "the token is not DPoP-bound; present it as a Bearer token",
                    true,
                ));
            }
            (Confirmation::Unsupported, _) => {
                return Err(self.access_error(
                    AuthErrorKind::InvalidToken,
                    "the token's confirmation method is not supported",
                    dpop_scheme,
                ));
            }
            (Confirmation::Jkt(_), false) => {
                return Err(self.access_error(
                    AuthErrorKind::InvalidToken,
                    "the token is DPoP-bound; present it with the DPoP scheme and a proof",
                    false,
                ));
            }
            (Confirmation::Jkt(jkt), true) => jkt,
        };
        let rules = &self.engine.dpop;
        let raw = proof::proof_header(req)
            .map_err(|e| self.proof_error(e))?
            .ok_or_else(|| self.proof_error(ProofError::Missing))?;
        let authority = match credentials::unique_header(req, "host") {
            Ok(Some(host)) => std::str::from_utf8(host).ok(),
            Ok(None) => req.authority(),
            Err(_) => None,
        };
        let htu = req
            .path()
            .and_then(|path| {
                crate::dpop::request_htu(
                    rules.public_url.as_deref(),
                    &rules.scheme,
                    authority,
                    path,
                )
            })
            .ok_or_else(|| self.proof_error(ProofError::UnknownUri))?;
        let target = ProofTarget {
            method: req.method(),
            htu: &htu,
            access_token: Some(token),
        };
        let verified = proof::verify(
            raw,
            &target,
            rules.window_secs,
            rules.max_proof_bytes,
            crate::jwt::now_secs(),
        )
        .map_err(|e| self.proof_error(e))?;
        if !proof::same_jkt(&verified.jkt, jkt) {
            return Err(self.proof_error(ProofError::KeyMismatch));
        }
        Ok(Some(verified.replay))
    }

    fn replay_ttl(&self) -> Duration {
        Duration::from_secs(self.engine.dpop.window_secs.saturating_mul(2))
    }

    fn replay_verdict(
        &self,
        answer: Result<bool, crate::dpop::ReplayCacheError>,
    ) -> Result<(), AuthError> {
        match answer {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.proof_error(ProofError::Replayed)),
            Err(e) => {
                tracing::warn!(error = %e, "tollgate: DPoP replay cache unavailable");
                Err(self.error(
                    AuthErrorKind::Unavailable,
                    "the DPoP replay cache is unavailable",
                ))
            }
        }
    }

    /// Records a proof without waiting, if the cache can (`None`: await
    /// [`dpop_replay`](Self::dpop_replay)).
    pub(super) fn dpop_replay_now(&self, key: ReplayKey) -> Option<Result<(), AuthError>> {
        let answer = self.engine.dpop.replay.try_insert(key, self.replay_ttl())?;
        Some(self.replay_verdict(answer))
    }

    /// Records a proof: refused if its `jti` was already used with this key.
    pub(super) async fn dpop_replay(&self, key: ReplayKey) -> Result<(), AuthError> {
        let answer = self.engine.dpop.replay.insert(key, self.replay_ttl()).await;
        self.replay_verdict(answer)
    }

    /// The DPoP policy.
    pub fn dpop_policy(&self) -> DpopPolicy {
        self.engine.dpop.policy
    }
}
