//! Builds the server from its parts (the application state, authentication's
//! state, a listener), so `corridor serve` and the tests run the same
//! application.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::auth::AuthState;
use crate::config::BODY_LIMIT;
use crate::error::AppError;
use crate::state::AppState;
use crate::{routes, telemetry};

/// Starts serving on `listener`; the returned server runs when awaited or spawned.
pub fn build_server(
    state: AppState,
    auth: AuthState,
    listener: TcpListener,
) -> std::io::Result<Server> {
    build_servers(state, auth, listener, None).map(|(server, _)| server)
}

/// The API on `listener` and, when `metrics` is given (`[metrics] bind`),
/// `/metrics` on that listener of its own, both over the same state.
pub fn build_servers(
    state: AppState,
    auth: AuthState,
    listener: TcpListener,
    metrics: Option<TcpListener>,
) -> std::io::Result<(Server, Option<Server>)> {
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let shutdown_timeout = state.config.server.shutdown_timeout.0.num_seconds().max(0) as u64;
    // Each worker has a blocking pool of its own: together they hold about
    // as many threads as the database pool has connections (at least two
    // each, so a small pool still serves a worker's requests side by side).
    let blocking_threads = (state.config.database.pool_size as usize)
        .div_ceil(workers)
        .max(2);
    let state = web::Data::new(state);
    let metrics = match metrics {
        Some(listener) => Some(build_metrics_server(state.clone(), listener)?),
        None => None,
    };
    let auth = web::Data::new(auth);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(auth.clone())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            // An id in a path that does not parse names nothing that exists.
            .app_data(web::PathConfig::default().error_handler(|_, _| AppError::not_found().into()))
            .wrap(from_fn(telemetry::request_log))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(workers)
    // Blocking work is database work, which waits for one of the pool's
    // connections anyway: more threads than connections only add threads
    // that wait (memory, and wake-ups that cost time under load). The
    // number is each worker's.
    .worker_max_blocking_threads(blocking_threads)
    .shutdown_timeout(shutdown_timeout)
    .listen(listener)?
    .run();
    Ok((server, metrics))
}

/// Serves `/metrics` alone on `listener` (`[metrics] bind`): one worker, the
/// same state, nothing else answered there.
fn build_metrics_server(
    state: web::Data<AppState>,
    listener: TcpListener,
) -> std::io::Result<Server> {
    let marker = web::Data::new(routes::metrics::MetricsListener);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(marker.clone())
            .route("/metrics", web::get().to(routes::metrics::metrics))
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}
