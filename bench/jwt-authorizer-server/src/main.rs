//! The same trivial route as tollgate's bench server, behind jwt-authorizer
//! (RS256 from a PEM key), for the HTTP benchmark in ../http.sh.
use axum::{routing::get, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde::Deserialize;

#[derive(Debug, Deserialize, Clone)]
struct Claims {
    client_id: String,
}

async fn handler(JwtClaims(c): JwtClaims<Claims>) -> String {
    c.client_id
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3100".into());
    let pem = args.next().expect("path to the RSA public key PEM");
    let auth: Authorizer<Claims> = JwtAuthorizer::from_rsa_pem(&pem)
        .validation(Validation::new().aud(&["bench-api"]).iss(&["https://issuer.bench"]))
        .build()
        .await
        .expect("authorizer");
    let app = Router::new().route("/", get(handler)).layer(auth.into_layer());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
