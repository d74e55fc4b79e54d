//! The shop of `examples/shop.rs` on actix-web: the same routes, the same
//! environment contract (`TOLLGATE_BIND`, `TOLLGATE_ISSUER`,
//! `TOLLGATE_DEMO_*`, `TOLLGATE_REDIS_URL`, `TOLLGATE_SIGNING_KEY_FILES`,
//! `TOLLGATE_AUDIENCE` / `TOLLGATE_JWKS_URL` / `TOLLGATE_DISCOVERY` /
//! `TOLLGATE_HS256_SECRET`, …; see the shop's header) and the same printed
//! walk-through ending in `listening on http://ADDR`.
//!
//! `cargo run --example shop_actix --features issuer,actix,redis,login,metrics,openapi`
//!
//! Everything but the routing is shared: the platform endpoints are
//! tollgate's actix adapters (`tollgate::issuer::actix`,
//! `tollgate::login::actix`), the demo domain is `examples/shop_common/`.

mod shop_common;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest as _, HttpRequest, HttpResponse, HttpServer, ResponseError as _, web};
use shop_common::{App, Op, Reply};
use std::process::ExitCode;
use std::sync::Arc;
use tollgate::Auth;
use tollgate::actix::AuthMiddleware;
use tollgate::issuer::actix as platform;
use tollgate::issuer::{CustomerSessions, CustomerTokenEndpoint, Throttle};
use tollgate::policy::Requirement;

/// An `http` 1 response as an actix response (actix-web 4 speaks `http` 0.2).
fn respond(reply: Reply) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(reply.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in reply.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(reply.into_body())
}

/// The caller, checked against the route's requirement: 401 without
/// credentials, 403 without the scopes (what `require_layer` answers on
/// the axum side).
async fn admit(req: &HttpRequest, requirement: &Requirement) -> Result<Auth, HttpResponse> {
    let auth = Auth::extract(req).await.map_err(|e| e.error_response())?;
    auth.require(requirement).map_err(|e| e.error_response())?;
    Ok(auth)
}

/// The shop's own routes (the demo domain), behind `requirement`.
async fn domain(
    op: Op,
    requirement: Option<Arc<Requirement>>,
    req: HttpRequest,
    body: web::Bytes,
    app: web::Data<App>,
) -> HttpResponse {
    let auth = match &requirement {
        Some(r) => match admit(&req, r).await {
            Ok(auth) => Some(auth),
            Err(res) => return res,
        },
        None => Option::<Auth>::extract(&req).await.ok().flatten(),
    };
    let id = req.match_info().get("id").unwrap_or_default();
    let reply = match (op, auth) {
        (Op::Storefront, auth) => app.storefront(auth.as_deref()),
        (Op::CreateCustomer, Some(auth)) => app.create_customer(&auth, &body).await,
        (Op::GetCustomer, Some(auth)) => app.get_customer(&auth, id),
        (Op::ChangePassword, Some(auth)) => app.change_password(&auth, id, &body).await,
        (Op::SetClientActive, Some(_)) => app.set_client_active(id, &body).await,
        (Op::RotateKeys, Some(_)) => app.rotate_keys().await,
        (Op::ListOrders, Some(auth)) => app.list_orders(&auth),
        (Op::CreateOrder, Some(auth)) => app.create_order(&auth, &body),
        _ => return HttpResponse::NotFound().finish(),
    };
    respond(reply)
}

/// The actix route of a table entry: tollgate's customer-session and
/// customer-token handlers (whose `Auth` extractor answers 401 to the
/// signed-out), or the shop's own.
fn route(op: Op, method: &http::Method, requirement: Option<Requirement>) -> actix_web::Route {
    let method = actix_web::http::Method::from_bytes(method.as_str().as_bytes())
        .unwrap_or(actix_web::http::Method::GET);
    let r = web::method(method);
    match op {
        Op::CreateSession => r.to(platform::create_session),
        Op::CurrentSession => r.to(platform::current_session),
        Op::BindSession => r.to(platform::bind_session),
        Op::LogoutCustomerToken => r.to(platform::customer_logout),
        _ => {
            let requirement = requirement.map(Arc::new);
            r.to(
                move |req: HttpRequest, body: web::Bytes, app: web::Data<App>| {
                    domain(op, requirement.clone(), req, body, app)
                },
            )
        }
    }
}

/// Budgets `GET /login` (see [`shop_common::limit_login_start`]).
async fn limit_logins<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if req.path() == shop_common::LOGIN_PATH
        && let (Some(throttle), Some(peer)) = (
            req.app_data::<web::Data<Arc<dyn Throttle>>>().cloned(),
            req.peer_addr(),
        )
        && let Some(refused) = shop_common::limit_login_start(&***throttle, peer.ip()).await
    {
        return Ok(req.into_response(respond(refused)).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

async fn run() -> Result<(), String> {
    let setup = shop_common::setup().await?;
    let listener = setup.listener.try_clone().map_err(|e| e.to_string())?;
    let (app, auth, minter, clients, token_settings, throttle, openapi) = (
        setup.app.clone(),
        setup.auth.clone(),
        setup.minter.clone(),
        setup.clients.clone(),
        setup.token_settings.clone(),
        setup.throttle.clone(),
        setup.openapi.clone(),
    );
    #[cfg(feature = "login")]
    let login = setup.login.clone();
    #[cfg(feature = "metrics")]
    let prometheus = setup.prometheus.clone();
    let server = HttpServer::new(move || {
        let sessions: web::Data<CustomerSessions> = web::Data::from(app.customer_sessions.clone());
        let tokens: web::Data<CustomerTokenEndpoint> = web::Data::from(app.customer_tokens.clone());
        let openapi = openapi.clone();
        let mut shop = actix_web::App::new()
            .app_data(web::Data::new(app.clone()))
            .app_data(sessions)
            .app_data(tokens)
            .app_data(web::Data::new(throttle.clone()))
            .configure(platform::configure(
                minter.clone(),
                clients.clone(),
                token_settings.clone(),
            ))
            .route(
                "/openapi.json",
                web::get().to(move || {
                    let json = openapi.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(json)
                    }
                }),
            )
            // Customer login (the app's access token is required), before
            // `/customers/{id}` claims the path.
            .service(
                web::resource("/customers/tokens")
                    .route(web::post().to(platform::customer_login))
                    .wrap(AuthMiddleware::optional(auth.clone())),
            );
        #[cfg(feature = "login")]
        {
            shop = shop.configure(tollgate::login::actix::configure(login.clone()));
        }
        #[cfg(feature = "metrics")]
        {
            let prometheus = prometheus.clone();
            shop = shop.route(
                "/metrics",
                web::get().to(move || std::future::ready(prometheus.render())),
            );
        }
        // The table: one resource per path, each method behind its
        // requirement, behind the verifier (the platform endpoints above
        // read their own credentials: client secrets are not tills').
        let mut resources: Vec<(&str, actix_web::Resource)> = Vec::new();
        for r in shop_common::api_routes() {
            let route = route(r.op, &r.method, r.requirement);
            match resources.iter_mut().find(|(p, _)| *p == r.path) {
                Some((_, res)) => *res = std::mem::replace(res, web::resource(r.path)).route(route),
                None => resources.push((r.path, web::resource(r.path).route(route))),
            }
        }
        for (_, res) in resources {
            shop = shop.service(res.wrap(AuthMiddleware::optional(auth.clone())));
        }
        shop.wrap(from_fn(limit_logins))
    })
    .workers(2)
    .listen(listener)
    .map_err(|e| format!("cannot listen on {}: {e}", setup.addr))?;
    let running = server.run();
    shop_common::announce(&setup);
    running.await.map_err(|e| e.to_string())
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
