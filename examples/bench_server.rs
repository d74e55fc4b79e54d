//! One trivial route served by several auth setups, for `bench/http.sh`.
//!
//! `bench_server MODE PORT`, MODE one of:
//!
//! - `axum-bare`;
//! - `axum-tollgate`: `Router::layer` and a per-route scope requirement
//!   (as `examples/axum_api.rs`), cached; `axum-tollgate-uncached` the same
//!   with the verified-token cache off;
//! - `axum-tollgate-outer`: the layer around the whole router, cached;
//! - `axum-handcache`: a hand-written tower layer over a `RwLock<HashMap>`
//!   keyed by the whole token, no checks at all on a hit: the floor for a
//!   cached auth layer that hands the handler its claims;
//! - `axum-extension-only`: the same layer handing every request one fixed
//!   claims value without reading any header: what passing a value to the
//!   handler through the request's extensions costs by itself;
//! - `axum-extension-only-per-route`: the same, with `Router::layer` and a
//!   `route_layer` that does nothing (what axum's per-route layering costs
//!   by itself: each `route_layer` and each route under `Router::layer` is
//!   one more boxed service cloned, and one more boxed future, per request);
//! - `axum-jsonwebtoken`: a hand-written `jsonwebtoken` middleware;
//! - `actix-bare`, `actix-tollgate`, `actix-httpauth`;
//!
//! or `bench_server mint` to print an RS256 token for the keys in
//! `tests/keys/`. Each server runs one worker thread so the benchmark can
//! pin it to one core. Every authenticated handler returns the caller's
//! `client_id`; the bare ones return `ok`.

use std::sync::Arc;
use tollgate::{Auth, Authenticator, CryptoBackend, IssuerConfig, TokenCacheSettings};

const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "bench-api";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("test key")
}

fn authenticator(cache: bool) -> Authenticator {
    Authenticator::builder()
        .issuer(IssuerConfig::new(ISSUER).audience(AUDIENCE).public_key_pem(
            String::from_utf8(key("rsa.pub.pem")).expect("utf-8"),
            tollgate::Algorithm::RS256,
        ))
        .token_cache(TokenCacheSettings::default().with_enabled(cache))
        .build()
        .expect("authenticator")
}

fn validation() -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[AUDIENCE]);
    v.set_issuer(&[ISSUER]);
    v
}

fn announce(addr: std::net::SocketAddr) {
    use std::io::Write as _;
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
}

async fn serve_axum(mode: &str, port: &str) {
    use axum::routing::get;
    if mode == "axum-tollgate-outer" {
        // The layer around the whole router (once per request), rather than
        // `Router::layer` (which axum applies inside each route's boxed service).
        let router = axum::Router::new().route(
            "/",
            get(|a: Auth| async move { a.client_id().unwrap_or_default().to_owned() }),
        );
        let svc = tower::Layer::layer(
            &tollgate::tower::AuthLayer::required(authenticator(true)),
            router,
        );
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .expect("bind");
        announce(listener.local_addr().expect("addr"));
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(svc),
        )
        .await
        .expect("serve");
        return;
    }
    let app: axum::Router = match mode {
        "axum-bare" => axum::Router::new().route("/", get(|| async { "ok" })),
        // `Router::layer` and a per-route scope requirement (what
        // `examples/axum_api.rs` does).
        "axum-tollgate" | "axum-tollgate-uncached" => axum::Router::new()
            .route(
                "/",
                get(|a: Auth| async move { a.client_id().unwrap_or_default().to_owned() })
                    .route_layer(tollgate::axum::require_layer(tollgate::policy::scope(
                        "orders:read",
                    ))),
            )
            .layer(tollgate::tower::AuthLayer::required(authenticator(
                mode == "axum-tollgate",
            ))),
        "axum-jsonwebtoken" => {
            // What a user writes by hand: decode per request in a middleware.
            let key = Arc::new(
                jsonwebtoken::DecodingKey::from_rsa_pem(&key("rsa.pub.pem")).expect("key"),
            );
            let validation = Arc::new(validation());
            axum::Router::new()
                .route(
                    "/",
                    get(
                        |axum::Extension(claims): axum::Extension<serde_json::Value>| async move {
                            claims["client_id"].as_str().unwrap_or_default().to_owned()
                        },
                    ),
                )
                .layer(axum::middleware::from_fn(
                    move |mut req: axum::extract::Request, next: axum::middleware::Next| {
                        let (key, validation) = (key.clone(), validation.clone());
                        async move {
                            let token = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.strip_prefix("Bearer "))
                                .map(str::to_owned);
                            let claims = token.and_then(|t| {
                                jsonwebtoken::decode::<serde_json::Value>(&t, &key, &validation)
                                    .ok()
                            });
                            match claims {
                                Some(data) => {
                                    req.extensions_mut().insert(data.claims);
                                    next.run(req).await
                                }
                                None => axum::response::IntoResponse::into_response(
                                    http::StatusCode::UNAUTHORIZED,
                                ),
                            }
                        }
                    },
                ))
        }
        "axum-handcache" | "axum-extension-only" => axum::Router::new()
            .route(
                "/",
                get(
                    |axum::Extension(claims): axum::Extension<Arc<serde_json::Value>>| async move {
                        claims["client_id"].as_str().unwrap_or_default().to_owned()
                    },
                ),
            )
            .layer(if mode == "axum-handcache" {
                hand_cache::Layer::default()
            } else {
                hand_cache::Layer::fixed()
            }),
        "axum-extension-only-per-route" => axum::Router::new()
            .route(
                "/",
                get(
                    |axum::Extension(claims): axum::Extension<Arc<serde_json::Value>>| async move {
                        claims["client_id"].as_str().unwrap_or_default().to_owned()
                    },
                )
                .route_layer(tower::layer::util::Identity::new()),
            )
            .layer(hand_cache::Layer::fixed()),
        other => panic!("unknown mode {other}"),
    };
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("bind");
    announce(listener.local_addr().expect("addr"));
    axum::serve(listener, app).await.expect("serve");
}

/// What a user writes by hand when a verified-token cache is all they want:
/// a tower layer, a `RwLock<HashMap>` keyed by the whole token, and no
/// check at all on a hit (no expiry, key set, or revocation).
mod hand_cache {
    use std::collections::HashMap;
    use std::sync::{Arc, RwLock};
    use std::task::{Context, Poll};

    type Claims = Arc<serde_json::Value>;

    #[derive(Clone)]
    pub(crate) struct Layer {
        cache: Arc<RwLock<HashMap<String, Claims>>>,
        key: Arc<jsonwebtoken::DecodingKey>,
        validation: Arc<jsonwebtoken::Validation>,
        /// Handed to every request, no header read (`axum-extension-only`).
        fixed: Option<Claims>,
    }

    impl Default for Layer {
        fn default() -> Self {
            Self {
                cache: Arc::default(),
                key: Arc::new(
                    jsonwebtoken::DecodingKey::from_rsa_pem(&super::key("rsa.pub.pem"))
                        .expect("key"),
                ),
                validation: Arc::new(super::validation()),
                fixed: None,
            }
        }
    }

    impl Layer {
        pub(crate) fn fixed() -> Self {
            Self {
                fixed: Some(Arc::new(
                    serde_json::json!({"client_id": "bench-client", "account_id": "acct"}),
                )),
                ..Self::default()
            }
        }
    }

    impl<S> tower::Layer<S> for Layer {
        type Service = Service<S>;
        fn layer(&self, inner: S) -> Service<S> {
            Service {
                inner,
                layer: self.clone(),
            }
        }
    }

    #[derive(Clone)]
    pub(crate) struct Service<S> {
        inner: S,
        layer: Layer,
    }

    impl Layer {
        fn claims(&self, token: &str) -> Option<Claims> {
            if let Some(hit) = self.cache.read().ok()?.get(token) {
                return Some(hit.clone());
            }
            let data =
                jsonwebtoken::decode::<serde_json::Value>(token, &self.key, &self.validation)
                    .ok()?;
            let claims = Arc::new(data.claims);
            self.cache
                .write()
                .ok()?
                .insert(token.to_owned(), claims.clone());
            Some(claims)
        }
    }

    impl<S> tower::Service<axum::extract::Request> for Service<S>
    where
        S: tower::Service<axum::extract::Request, Response = axum::response::Response>,
    {
        type Response = S::Response;
        type Error = S::Error;
        type Future = futures_util::future::Either<
            S::Future,
            std::future::Ready<Result<S::Response, S::Error>>,
        >;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, mut req: axum::extract::Request) -> Self::Future {
            if let Some(fixed) = &self.layer.fixed {
                req.extensions_mut().insert(fixed.clone());
                return futures_util::future::Either::Left(self.inner.call(req));
            }
            let claims = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|t| self.layer.claims(t));
            match claims {
                Some(claims) => {
                    req.extensions_mut().insert(claims);
                    futures_util::future::Either::Left(self.inner.call(req))
                }
                None => futures_util::future::Either::Right(std::future::ready(Ok(
                    axum::response::IntoResponse::into_response(http::StatusCode::UNAUTHORIZED),
                ))),
            }
        }
    }
}

#[cfg(feature = "actix")]
fn serve_actix(mode: &str, port: &str) {
    use actix_web::{App, HttpMessage, HttpResponse, HttpServer, web};
    macro_rules! serve {
        ($factory:expr) => {{
            let server = HttpServer::new($factory)
                .workers(1)
                .bind(format!("127.0.0.1:{port}"))
                .expect("bind");
            let addr = server.addrs()[0];
            let running = server.run();
            announce(addr);
            running.await.expect("serve");
        }};
    }
    let mode = mode.to_owned();
    let sys = actix_web::rt::System::new();
    sys.block_on(async move {
        match mode.as_str() {
            "actix-bare" => serve!(|| App::new().route("/", web::get().to(|| async { "ok" }))),
            "actix-tollgate" => {
                let auth = authenticator(true);
                serve!(move || App::new()
                    .wrap(tollgate::actix::AuthMiddleware::required(auth.clone()))
                    .route("/", web::get().to(|a: Auth| async move { a.client_id().unwrap_or_default().to_owned() })))
            }
            "actix-httpauth" => {
                let dk = web::Data::new((
                    jsonwebtoken::DecodingKey::from_rsa_pem(&key("rsa.pub.pem")).expect("key"),
                    validation(),
                ));
                serve!(move || App::new()
                    .app_data(dk.clone())
                    .wrap(actix_web_httpauth::middleware::HttpAuthentication::bearer(
                        |req: actix_web::dev::ServiceRequest, cred: actix_web_httpauth::extractors::bearer::BearerAuth| async move {
                            let key = req
                                .app_data::<web::Data<(jsonwebtoken::DecodingKey, jsonwebtoken::Validation)>>()
                                .cloned();
                            let claims = key.and_then(|k| {
                                jsonwebtoken::decode::<serde_json::Value>(cred.token(), &k.0, &k.1).ok()
                            });
                            match claims {
                                Some(data) => {
                                    req.extensions_mut().insert(data.claims);
                                    Ok(req)
                                }
                                None => Err((actix_web::error::ErrorUnauthorized("invalid token"), req)),
                            }
                        },
                    ))
                    .route(
                        "/",
                        web::get().to(|req: actix_web::HttpRequest| async move {
                            let c = req
                                .extensions()
                                .get::<serde_json::Value>()
                                .and_then(|c| c["client_id"].as_str().map(str::to_owned));
                            HttpResponse::Ok().body(c.unwrap_or_default())
                        }),
                    ))
            }
            other => panic!("unknown mode {other}"),
        }
    });
}

fn main() {
    tollgate::install_crypto_backend(CryptoBackend::AwsLcRs).expect("backend");
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "axum-bare".into());
    let port = args.next().unwrap_or_else(|| "3200".into());
    if mode == "mint" {
        let claims = serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "exp": 4_000_000_000u64,
            "client_id": "bench-client", "account_id": "acct", "scope": "orders:read"});
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&key("rsa.pem")).expect("key");
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .expect("token");
        println!("{token}");
        return;
    }
    if mode.starts_with("actix") {
        #[cfg(feature = "actix")]
        serve_actix(&mode, &port);
        #[cfg(not(feature = "actix"))]
        panic!("actix modes need --features actix");
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(serve_axum(&mode, &port));
    }
}
