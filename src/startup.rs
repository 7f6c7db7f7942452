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
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let state = web::Data::new(state);
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
    .listen(listener)?
    .run();
    Ok(server)
}
