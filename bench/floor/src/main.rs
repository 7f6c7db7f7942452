//! The floor: `GET /read/{id}` reads one case row by primary key and answers
//! it as JSON; `POST /insert` commits one row into a table of its own. The
//! bare stack, as the actix, r2d2 and diesel guides write it: one pool, one
//! `web::block` a request, the connection the pool hands out.
//!
//! Two more, for what PRODUCT.md's targets leave out: `GET /list` reads the
//! first 50 cases, every column, and answers them as JSON — the database and
//! serialization work of `GET /cases?limit=50`, with nothing else; and
//! `POST /move/{id}` does the statements of Corridor's transition between
//! shelters in one transaction (the case and the shelter locked, the
//! shelter's occupancy counted, the case updated, its open alerts read, the
//! event inserted), without authentication, validation or audit.
//! usage: corridor-floor DATABASE_URL BIND

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use chrono::{Duration, NaiveDateTime, Utc};

#[derive(diesel::MultiConnection)]
enum Db {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

#[derive(QueryableByName, serde::Serialize)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    stage: String,
    #[diesel(sql_type = Text)]
    risk_level: String,
}

#[derive(QueryableByName, serde::Serialize)]
struct CaseRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    stage: String,
    #[diesel(sql_type = Nullable<Text>)]
    outcome: Option<String>,
    #[diesel(sql_type = Text)]
    risk_level: String,
    #[diesel(sql_type = Integer)]
    household_size: i32,
    #[diesel(sql_type = Text)]
    needs: String,
    #[diesel(sql_type = Nullable<Text>)]
    origin_region: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    destination_country: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    shelter_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    assigned_to: Option<String>,
    #[diesel(sql_type = Timestamp)]
    stage_entered_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_contact_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    snoozed_until: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    stall_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    version: i32,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Text)]
    stage: String,
    #[diesel(sql_type = Integer)]
    household_size: i32,
}

#[derive(QueryableByName)]
struct Capacity {
    #[diesel(sql_type = Integer)]
    capacity: i32,
}

#[derive(QueryableByName)]
struct Occupancy {
    #[diesel(sql_type = Nullable<BigInt>)]
    people: Option<i64>,
}

#[derive(QueryableByName)]
struct OpenAlert {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    id: String,
}

#[derive(serde::Deserialize)]
struct Move {
    to: String,
    shelter_id: String,
}

type DbPool = Pool<ConnectionManager<Db>>;

#[derive(Debug)]
struct Pragmas;

impl diesel::r2d2::CustomizeConnection<Db, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Db) -> Result<(), diesel::r2d2::Error> {
        let sql = match conn {
            // The same settings Corridor uses.
            Db::Sqlite(_) => {
                "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
                              PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
            }
            Db::Pg(_) => "SET TIME ZONE 'UTC'",
        };
        conn.batch_execute(sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Runs `work` in the blocking pool on a pooled connection: `None` when no
/// connection could be had or the thread failed.
async fn blocking<T: Send + 'static>(
    pool: web::Data<DbPool>,
    work: impl FnOnce(&mut Db) -> QueryResult<T> + Send + 'static,
) -> Option<QueryResult<T>> {
    web::block(move || pool.get().ok().map(|mut conn| work(&mut conn)))
        .await
        .ok()
        .flatten()
}

async fn read(pool: web::Data<DbPool>, id: web::Path<String>) -> HttpResponse {
    let id = id.into_inner();
    let found = blocking(pool, move |conn| {
        let sql = match conn {
            Db::Sqlite(_) => "SELECT id, code, stage, risk_level FROM cases WHERE id = ?",
            Db::Pg(_) => "SELECT id, code, stage, risk_level FROM cases WHERE id = $1",
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(id)
            .get_result::<Row>(conn)
            .optional()
    })
    .await;
    match found {
        Some(Ok(Some(row))) => HttpResponse::Ok().json(row),
        Some(Ok(None)) => HttpResponse::NotFound().finish(),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

async fn insert(pool: web::Data<DbPool>) -> HttpResponse {
    let done = blocking(pool, move |conn| {
        let sql = match conn {
            Db::Sqlite(_) => "INSERT INTO floor_rows (id, body) VALUES (?, ?)",
            Db::Pg(_) => "INSERT INTO floor_rows (id, body) VALUES ($1, $2)",
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
            .bind::<Text, _>("a row of the floor")
            .execute(conn)
    })
    .await;
    match done {
        Some(Ok(_)) => HttpResponse::Created().finish(),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

async fn list(pool: web::Data<DbPool>) -> HttpResponse {
    let found = blocking(pool, |conn| {
        diesel::sql_query(
            "SELECT id, code, stage, outcome, risk_level, household_size, needs, origin_region, \
             destination_country, shelter_id, assigned_to, stage_entered_at, last_contact_at, \
             snoozed_until, stall_at, created_at, updated_at, version \
             FROM cases ORDER BY id LIMIT 50",
        )
        .load::<CaseRow>(conn)
    })
    .await;
    match found {
        Some(Ok(rows)) => HttpResponse::Ok().json(rows),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

async fn move_to(
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    to: web::Json<Move>,
) -> HttpResponse {
    let (id, to) = (id.into_inner(), to.into_inner());
    match blocking(pool, move |conn| move_case(conn, &id, &to)).await {
        Some(Ok(true)) => HttpResponse::Ok().finish(),
        Some(Ok(false)) => HttpResponse::Conflict().finish(),
        Some(Err(diesel::result::Error::NotFound)) => HttpResponse::NotFound().finish(),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

/// `$n` on PostgreSQL, `?` on SQLite.
fn sql(conn: &Db, text: &str) -> String {
    match conn {
        Db::Sqlite(_) => {
            let mut out = String::with_capacity(text.len());
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
        Db::Pg(_) => text.to_string(),
    }
}

fn move_case(conn: &mut Db, id: &str, to: &Move) -> QueryResult<bool> {
    let now = Utc::now().naive_utc();
    let stall = now + Duration::days(30);
    let lock = match conn {
        Db::Sqlite(_) => "",
        Db::Pg(_) => " FOR UPDATE",
    };
    let case_sql = sql(
        conn,
        &format!("SELECT stage, household_size FROM cases WHERE id = $1{lock}"),
    );
    let shelter_sql = sql(
        conn,
        &format!("SELECT capacity FROM shelters WHERE id = $1{lock}"),
    );
    let occupancy_sql = sql(
        conn,
        "SELECT SUM(household_size) AS people FROM cases WHERE shelter_id = $1 AND stage = 'safe_house'",
    );
    let update_sql = sql(
        conn,
        "UPDATE cases SET stage = $1, shelter_id = $2, stage_entered_at = $3, stall_at = $4, \
         scan_at = $4, updated_at = $3, version = version + 1 WHERE id = $5",
    );
    let alerts_sql = sql(
        conn,
        "SELECT id FROM alerts WHERE case_id = $1 AND state <> 'resolved'",
    );
    let event_sql = sql(
        conn,
        "INSERT INTO case_events (id, case_id, kind, at, actor_kind, from_stage, to_stage, shelter_id, detail) \
         VALUES ($1, $2, 'transition', $3, 'system', $4, $5, $6, '{}')",
    );
    let work = |c: &mut Db| {
        let case = diesel::sql_query(&case_sql)
            .bind::<Text, _>(id)
            .get_result::<Locked>(c)?;
        let shelter = diesel::sql_query(&shelter_sql)
            .bind::<Text, _>(&to.shelter_id)
            .get_result::<Capacity>(c)?;
        let people = diesel::sql_query(&occupancy_sql)
            .bind::<Text, _>(&to.shelter_id)
            .get_result::<Occupancy>(c)?
            .people
            .unwrap_or(0);
        if people + i64::from(case.household_size) > i64::from(shelter.capacity) {
            return Ok(false);
        }
        diesel::sql_query(&update_sql)
            .bind::<Text, _>(&to.to)
            .bind::<Text, _>(&to.shelter_id)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(stall)
            .bind::<Text, _>(id)
            .execute(c)?;
        diesel::sql_query(&alerts_sql)
            .bind::<Text, _>(id)
            .load::<OpenAlert>(c)?;
        diesel::sql_query(&event_sql)
            .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
            .bind::<Text, _>(id)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(&case.stage)
            .bind::<Text, _>(&to.to)
            .bind::<Text, _>(&to.shelter_id)
            .execute(c)?;
        Ok(true)
    };
    match conn {
        // A writer takes SQLite's lock before it reads, as Corridor does
        // (a deferred transaction would deadlock on its first write).
        Db::Sqlite(_) => {
            conn.batch_execute("BEGIN IMMEDIATE")?;
            let done = work(conn).and_then(|moved| conn.batch_execute("COMMIT").map(|()| moved));
            if done.is_err() {
                // Whatever failed, the connection goes back to the pool
                // outside a transaction.
                let _ = conn.batch_execute("ROLLBACK");
            }
            done
        }
        Db::Pg(_) => conn.transaction(work),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (url, bind) = (
        args.next().expect("DATABASE_URL"),
        args.next().expect("BIND"),
    );
    let url = url
        .strip_prefix("sqlite://")
        .map(str::to_string)
        .unwrap_or(url);
    let pool = Pool::builder()
        .max_size(8)
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::<Db>::new(url))
        .expect("connect");
    pool.get()
        .expect("connect")
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS floor_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
        )
        .expect("create floor_rows");
    let pool = web::Data::new(pool);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(pool.clone())
                .route("/read/{id}", web::get().to(read))
                .route("/insert", web::post().to(insert))
                .route("/list", web::get().to(list))
                .route("/move/{id}", web::post().to(move_to))
        })
        .workers(2)
        .bind(bind)?
        .run()
        .await
    })
}
