//! Health and readiness.

use crate::backend_tests;
use crate::helpers::{spawn_app, spawn_unmigrated_app, Backend};

async fn health_and_readiness_answer_200_on_a_migrated_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app.get("/healthz").send().await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

async fn readiness_is_503_while_the_database_is_not_migrated(backend: Backend) {
    let app = spawn_unmigrated_app(backend).await;
    assert_eq!(app.get("/healthz").send().await.status, 200);
    let ready = app.get("/readyz").send().await;
    ready.assert_problem(503, "unavailable");
    assert!(
        !ready.text.contains("migration"),
        "5xx bodies say nothing internal: {}",
        ready.text
    );
}

/// PostgreSQL only: SQLite is a file in the process and cannot go away.
#[actix_web::test]
async fn readiness_is_503_while_postgresql_refuses_connections_and_recovers_after() {
    if crate::helpers::postgres_url().is_none() {
        return;
    }
    let app = spawn_app(Backend::Postgres).await;
    assert_eq!(app.get("/readyz").send().await.status, 200);
    app.db.postgres_admin(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'; \
         DO $$ BEGIN \
           FOR i IN 1..20 LOOP \
             EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = '{db}'); \
             PERFORM pg_sleep(0.1); \
           END LOOP; \
         END $$;",
    );
    // A terminated backend may answer one last query before its socket
    // closes; from then on the database refuses every connection.
    let mut down = app.get("/readyz").send().await;
    for _ in 0..5 {
        if down.status == 503 {
            break;
        }
        down = app.get("/readyz").send().await;
    }
    down.assert_problem(503, "unavailable");
    assert_eq!(
        app.get("/healthz").send().await.status,
        200,
        "the process still runs"
    );
    app.db
        .postgres_admin("ALTER DATABASE {db} ALLOW_CONNECTIONS true");
    let mut status = 0;
    for _ in 0..10 {
        status = app.get("/readyz").send().await.status;
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200, "ready again once the database is back");
}

backend_tests!(
    health_and_readiness_answer_200_on_a_migrated_database,
    readiness_is_503_while_the_database_is_not_migrated
);
