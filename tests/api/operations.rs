//! Health and readiness.

use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_app_with, Backend, Options};

async fn health_and_readiness_answer_200_on_a_migrated_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.get("/healthz").send().await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

async fn readiness_is_503_while_the_database_is_not_migrated(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            migrate: false,
            ..Options::default()
        },
    )
    .await;
    assert_eq!(app.get("/healthz").send().await.status, 200);
    let ready = app.get("/readyz").send().await;
    ready.assert_problem(503, "unavailable");
    assert!(
        !ready.text.contains("migration"),
        "5xx bodies say nothing internal: {}",
        ready.text
    );
}

backend_tests!(
    health_and_readiness_answer_200_on_a_migrated_database,
    readiness_is_503_while_the_database_is_not_migrated
);
