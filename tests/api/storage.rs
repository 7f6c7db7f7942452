//! A full disk, said plainly: 507 with Retry-After for writes, reads that
//! still answer, readiness that tells, one email an episode, and nothing
//! half-written. SQLite fills its file to `[database] max_size_mib`;
//! PostgreSQL fills a tablespace on a small filesystem of its own.

use futures_util::future::join_all;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{spawn_app_with, Backend, MailSink, Options, TestApp};

/// What fills the database's disk, and frees it again.
enum Disk {
    /// `[database] max_size_mib = 4`: a filler table past it.
    Capped,
    /// A 16 MiB tmpfs as the tablespace of every table.
    Tablespace {
        mount: std::path::PathBuf,
        name: String,
    },
}

const CAP_MIB: u32 = 4;

impl Disk {
    async fn of(app: &TestApp, backend: Backend) -> Disk {
        match backend {
            Backend::Sqlite => Disk::Capped,
            Backend::Postgres => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                let mount = std::env::temp_dir().join(format!("corridor-full-{id}"));
                std::fs::create_dir_all(&mount).unwrap();
                let mounted = std::process::Command::new("mount")
                    .args(["-t", "tmpfs", "-o", "size=16m,mode=0700"])
                    .arg("tmpfs")
                    .arg(&mount)
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(
                    mounted,
                    "the PostgreSQL test of a full disk mounts a small tmpfs for a tablespace: run it as root"
                );
                let chowned = std::process::Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&mount)
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(chowned, "the tablespace's folder belongs to postgres");
                let name = format!("full_{}", &id[..12]);
                app.sql(&format!(
                    "CREATE TABLESPACE {name} LOCATION '{}'",
                    mount.display()
                ))
                .await;
                app.sql(&format!(
                    "ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE {name}"
                ))
                .await;
                app.sql(&format!(
                    "ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE {name}"
                ))
                .await;
                Disk::Tablespace { mount, name }
            }
        }
    }

    /// Fills it to the last page, from the test's own connection.
    async fn fill(&self, app: &TestApp) {
        match self {
            Disk::Capped => {
                app.sql("CREATE TABLE filler (b BLOB)").await;
                let cap_pages = i64::from(CAP_MIB) * 1024 * 1024 / 4096;
                while pages(app).await <= cap_pages {
                    app.sql(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) \
                         INSERT INTO filler SELECT randomblob(3000) FROM n",
                    )
                    .await;
                }
            }
            Disk::Tablespace { name, .. } => {
                app.sql(&format!("CREATE TABLE filler (b bytea) TABLESPACE {name}"))
                    .await;
                // Random bytes do not compress: each row takes its room.
                // 100 rows of 8,000 random bytes.
                let batch = "INSERT INTO filler SELECT decode(string_agg(md5(random()::text || g), ''), 'hex') \
                             FROM generate_series(1, 100) AS i, generate_series(1, 500) AS g GROUP BY i";
                let mut failed = app.try_sql(batch).await;
                while failed.is_ok() {
                    failed = app.try_sql(batch).await;
                }
                let failed = failed.unwrap_err();
                assert!(failed.contains("storage-full"), "{failed}");
            }
        }
    }

    /// Frees the space the filler took.
    async fn free(&self, app: &TestApp) {
        app.sql("DROP TABLE filler").await;
        if let Disk::Tablespace { .. } = self {
            // PostgreSQL gives a dropped table's files back at the next
            // checkpoint; make it now.
            app.sql("CHECKPOINT").await;
        }
    }

    /// Puts everything back where it was, and unmounts.
    async fn remove(self, app: &TestApp) {
        if let Disk::Tablespace { mount, name } = self {
            app.sql(&format!(
                "ALTER TABLE ALL IN TABLESPACE {name} SET TABLESPACE pg_default"
            ))
            .await;
            app.sql(&format!(
                "ALTER INDEX ALL IN TABLESPACE {name} SET TABLESPACE pg_default"
            ))
            .await;
            app.sql(&format!("DROP TABLESPACE {name}")).await;
            let _ = std::process::Command::new("umount").arg(&mount).status();
            let _ = std::fs::remove_dir(&mount);
        }
    }
}

async fn pages(app: &TestApp) -> i64 {
    app.texts("SELECT CAST(page_count AS TEXT) AS t FROM pragma_page_count()")
        .await[0]
        .parse()
        .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.texts(&format!("SELECT CAST(({sql}) AS TEXT) AS t"))
        .await[0]
        .parse()
        .unwrap()
}

fn capped(config: &mut corridor::config::Config) {
    if config.database.url.starts_with("sqlite://") {
        config.database.max_size_mib = CAP_MIB;
    }
}

async fn a_full_disk_answers_507_tells_readiness_and_the_admins_once_and_loses_nothing(
    backend: Backend,
) {
    let options = Options {
        configure: capped,
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    let admin = app.admin_token().await;
    let disk = Disk::of(&app, backend).await;
    let created = app
        .create_case(&admin, json!({ "household_size": 2 }))
        .await;
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["storage"], "ok");

    disk.fill(&app).await;
    // 32 clients write at once until writes need room there is not: some
    // fit into pages half-full already. Each answer is 201 or 507.
    let mut made = 1;
    let full = loop {
        let writes = (0..32).map(|_| {
            app.post("cases")
                .token(&admin)
                .json(json!({ "household_size": 3, "origin_region": "Grozny" }))
        });
        let mut refused = None;
        for reply in join_all(writes).await {
            match reply.status {
                201 => made += 1,
                507 => refused = Some(reply),
                other => panic!("{other}: {}", reply.text),
            }
        }
        if let Some(reply) = refused {
            break reply;
        }
        assert!(made < 5000, "the disk never filled");
    };
    full.assert_problem(507, "storage-full");
    assert_eq!(full.header("retry-after").as_deref(), Some("60"));
    assert!(full.body["detail"]
        .as_str()
        .unwrap()
        .contains("out of disk space"));
    for internal in [
        "disk is full",
        "extend",
        "base/",
        "filler",
        "corridor-full",
        ".db",
    ] {
        assert!(!full.text.contains(internal), "{internal} in {}", full.text);
    }
    // Another change fails the same way; reads still answer.
    app.post(&format!(
        "cases/{}/contacts",
        created["id"].as_str().unwrap()
    ))
    .token(&admin)
    .json(json!({ "channel": "signal", "note": "a long note ".repeat(150) }))
    .await
    .assert_problem(507, "storage-full");
    let list = app.get("cases").token(&admin).send().await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(app.context.storage.is_full());

    // Readiness says so (its probe fails too), and the metrics.
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.body["database"], "ok");
    assert_eq!(ready.body["storage"], "full");
    let metrics = app.get("/metrics").send().await;
    assert!(
        metrics.text.contains("corridor_storage_full 1"),
        "{}",
        metrics.text
    );
    // The admins' email is queued if a row still fits; else when space
    // is back.
    let sink = MailSink::start();
    let early = app.check_storage().await.unwrap_or(0);

    // Nothing half-written: each case has its creation event, and the
    // contact that failed left neither its event nor its sealed note.
    let cases = count(&app, "SELECT COUNT(*) FROM cases").await;
    assert_eq!(cases, made);
    let created = "SELECT COUNT(*) FROM case_events WHERE kind = 'created'";
    assert_eq!(count(&app, created).await, made);
    let contacts = "SELECT COUNT(*) FROM case_events WHERE kind = 'contact'";
    assert_eq!(count(&app, contacts).await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM event_notes").await, 0);

    // Space comes back: the next write succeeds and ends the episode.
    disk.free(&app).await;
    let again = app
        .create_case(&admin, json!({ "household_size": 1 }))
        .await;
    assert!(again["id"].is_string());
    assert!(!app.context.storage.is_full());
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let metrics = app.get("/metrics").send().await;
    assert!(metrics.text.contains("corridor_storage_full 0"));
    // The email owed goes out now, once an episode.
    let later = app.check_storage().await.unwrap();
    assert_eq!(early + later, 1);
    assert_eq!(app.check_storage().await.unwrap(), 0);
    app.deliver(&sink.url).await;
    let told: Vec<_> = sink
        .mails()
        .into_iter()
        .filter(|m| m.subject().contains("out of disk space"))
        .collect();
    assert_eq!(told.len(), 1, "one admin, one episode");
    let said = match early {
        1 => "Reads still work",
        _ => "Writing works again now",
    };
    assert!(told[0].data.contains(said), "{}", told[0].data);
    assert!(!told[0].data.contains("Grozny"));

    if backend == Backend::Sqlite {
        let check = app.texts("SELECT integrity_check AS t FROM pragma_integrity_check()");
        assert_eq!(check.await, ["ok"]);
    }
    disk.remove(&app).await;
}

async fn readiness_comes_back_by_itself_when_space_is_freed_without_a_write(backend: Backend) {
    let options = Options {
        configure: capped,
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    let admin = app.admin_token().await;
    let disk = Disk::of(&app, backend).await;
    disk.fill(&app).await;
    let mut tries = 0;
    while !app.context.storage.is_full() {
        app.post("cases")
            .token(&admin)
            .json(json!({ "household_size": 3 }))
            .await;
        tries += 1;
        assert!(tries < 2000, "the disk never filled");
    }
    assert_eq!(app.get("/readyz").send().await.status, 503);
    disk.free(&app).await;
    // No one writes: the probe of readiness finds the room.
    let ready = app.get("/readyz").send().await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.body["storage"], "ok");
    assert!(!app.context.storage.is_full());
    disk.remove(&app).await;
}

backend_tests!(
    a_full_disk_answers_507_tells_readiness_and_the_admins_once_and_loses_nothing,
    readiness_comes_back_by_itself_when_space_is_freed_without_a_write,
);
