//! The floor: `GET /read/{id}` reads one case row by primary key and answers
//! it as JSON; `POST /insert` commits one row into a table of its own. The
//! bare stack, as the actix, r2d2 and diesel guides write it: one pool, one
//! `web::block` a request, the connection the pool hands out.
//! usage: corridor-floor DATABASE_URL BIND

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::Text;

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

type DbPool = Pool<ConnectionManager<Db>>;

#[derive(Debug)]
struct Pragmas;

impl diesel::r2d2::CustomizeConnection<Db, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Db) -> Result<(), diesel::r2d2::Error> {
        let sql = match conn {
            // The same settings Corridor uses.
            Db::Sqlite(_) => "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; \
                              PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            Db::Pg(_) => "SET TIME ZONE 'UTC'",
        };
        conn.batch_execute(sql).map_err(diesel::r2d2::Error::QueryError)
    }
}

async fn read(pool: web::Data<DbPool>, id: web::Path<String>) -> HttpResponse {
    let id = id.into_inner();
    let found = web::block(move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let sql = match &*conn {
            Db::Sqlite(_) => "SELECT id, code, stage, risk_level FROM cases WHERE id = ?",
            Db::Pg(_) => "SELECT id, code, stage, risk_level FROM cases WHERE id = $1",
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(id)
            .get_result::<Row>(&mut *conn)
            .optional()
            .map_err(|e| e.to_string())
    })
    .await;
    match found {
        Ok(Ok(Some(row))) => HttpResponse::Ok().json(row),
        Ok(Ok(None)) => HttpResponse::NotFound().finish(),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

async fn insert(pool: web::Data<DbPool>) -> HttpResponse {
    let done = web::block(move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let sql = match &*conn {
            Db::Sqlite(_) => "INSERT INTO floor_rows (id, body) VALUES (?, ?)",
            Db::Pg(_) => "INSERT INTO floor_rows (id, body) VALUES ($1, $2)",
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
            .bind::<Text, _>("a row of the floor")
            .execute(&mut *conn)
            .map_err(|e| e.to_string())
    })
    .await;
    match done {
        Ok(Ok(_)) => HttpResponse::Created().finish(),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (url, bind) = (args.next().expect("DATABASE_URL"), args.next().expect("BIND"));
    let url = url.strip_prefix("sqlite://").map(str::to_string).unwrap_or(url);
    let pool = Pool::builder()
        .max_size(8)
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::<Db>::new(url))
        .expect("connect");
    pool.get()
        .expect("connect")
        .batch_execute("CREATE TABLE IF NOT EXISTS floor_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        .expect("create floor_rows");
    let pool = web::Data::new(pool);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(pool.clone())
                .route("/read/{id}", web::get().to(read))
                .route("/insert", web::post().to(insert))
        })
        .workers(2)
        .bind(bind)?
        .run()
        .await
    })
}
