//! The PostgreSQL engine: a pool of worker threads, each with its own connection, one
//! transaction per job. Writes lock the rows they change (`SELECT … FOR UPDATE`), so several
//! shebao servers may share one database and the lockout count stays exact across them.

use crate::common::SqlTx;
use crate::migrations;
use crate::sql::{Row, SqlConn, Value};
use crate::{EngineLimits, EngineThreads};
use postgres::types::{ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Statement};
use shebao_service::store::{Engine, Job, StoreError};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

fn db_err(e: postgres::Error) -> StoreError {
    if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) {
        return StoreError::Duplicate(e.to_string());
    }
    // The driver's Display says only "db error"; the server's message says what failed.
    match e.as_db_error() {
        Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Database(e.to_string()),
    }
}

struct PgConn<'a, 't> {
    tx: &'a mut postgres::Transaction<'t>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl PgConn<'_, '_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(db_err)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

fn bind(params: &[Value]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                Value::Int(x) => Box::new(*x),
                Value::Text(x) => Box::new(x.clone()),
            }
        })
        .collect()
}

impl SqlConn for PgConn<'_, '_> {
    fn exec(&mut self, sql: &'static str, params: &[Value]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        self.tx.execute(&stmt, &refs).map_err(db_err)
    }

    fn query(&mut self, sql: &'static str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.statement(sql)?;
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        let rows = self.tx.query(&stmt, &refs).map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let mut values = Vec::with_capacity(row.len());
                for (i, column) in row.columns().iter().enumerate() {
                    let t = column.type_();
                    values.push(if *t == Type::INT8 {
                        Value::Int(row.try_get::<_, Option<i64>>(i).map_err(db_err)?)
                    } else if *t == Type::TEXT || *t == Type::VARCHAR {
                        Value::Text(row.try_get::<_, Option<String>>(i).map_err(db_err)?)
                    } else {
                        return Err(StoreError::Corrupt(format!(
                            "column {} has type {t}",
                            column.name()
                        )));
                    });
                }
                Ok(Row(values))
            })
            .collect()
    }
}

fn connect(url: &str) -> Result<Client, StoreError> {
    Client::connect(url, NoTls).map_err(db_err)
}

fn migrate(client: &mut Client, now_micros: i64) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(db_err)?;
    // Several servers may start at once: one migrates, the others wait and find it done.
    tx.execute("SELECT pg_advisory_xact_lock(7400211)", &[])
        .map_err(db_err)?;
    tx.batch_execute(migrations::CREATE_MIGRATIONS_TABLE)
        .map_err(db_err)?;
    for (version, name, _, postgres) in migrations::all() {
        let applied: i64 = tx
            .query_one(
                "SELECT count(*) FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .map_err(db_err)?
            .get(0);
        if applied > 0 {
            continue;
        }
        for part in postgres {
            tx.batch_execute(part).map_err(db_err)?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&version, &name, &now_micros],
        )
        .map_err(db_err)?;
        tracing::info!(version, name, "applied PostgreSQL migration");
    }
    tx.commit().map_err(db_err)
}

/// Connects, migrates and starts the worker threads.
pub fn start(
    url: &str,
    limits: EngineLimits,
    now_micros: i64,
) -> Result<(Engine, EngineThreads), StoreError> {
    let mut first = connect(url)?;
    migrate(&mut first, now_micros)?;
    let (writes, write_queue) = mpsc::channel::<Job>(limits.write_queue_max);
    let (reads, read_queue) = mpsc::channel::<Job>(limits.read_queue_max);
    let write_queue = Arc::new(Mutex::new(write_queue));
    let read_queue = Arc::new(Mutex::new(read_queue));
    let mut threads = Vec::new();
    let mut clients = vec![first];
    for _ in 1..limits.pg_writer_connections.max(1) + limits.reader_threads.max(1) {
        clients.push(connect(url)?);
    }
    for (i, client) in clients.into_iter().enumerate() {
        let is_writer = i < limits.pg_writer_connections.max(1);
        let queue = if is_writer {
            write_queue.clone()
        } else {
            read_queue.clone()
        };
        let url = url.to_owned();
        let name = if is_writer {
            format!("pg-writer-{i}")
        } else {
            format!("pg-reader-{i}")
        };
        threads.push(
            std::thread::Builder::new()
                .name(name)
                .spawn(move || worker_loop(url, client, queue, !is_writer))
                .map_err(|e| StoreError::Database(e.to_string()))?,
        );
    }
    Ok((
        Engine {
            writes,
            reads,
            name: "postgres",
        },
        EngineThreads(threads),
    ))
}

fn worker_loop(
    url: String,
    mut client: Client,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    read_only: bool,
) {
    let mut statements: HashMap<&'static str, Statement> = HashMap::new();
    loop {
        let job = {
            let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.blocking_recv()
        };
        let Some(job) = job else { return };
        if client.is_closed() {
            match connect(&url) {
                Ok(fresh) => {
                    client = fresh;
                    statements.clear();
                }
                Err(e) => tracing::error!(error = %e, "cannot reconnect to PostgreSQL"),
            }
        }
        let started = if read_only {
            client
                .build_transaction()
                .read_only(true)
                .isolation_level(IsolationLevel::RepeatableRead)
                .start()
        } else {
            client.transaction()
        };
        let mut tx = match started {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "cannot begin a PostgreSQL transaction");
                // Dropping the job answers its caller with an error; a lost connection is
                // replaced before the next job.
                drop(job);
                continue;
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            job(&mut SqlTx(&mut PgConn {
                tx: &mut tx,
                statements: &mut statements,
            }))
        }));
        match outcome {
            Ok((keep, reply)) if keep && !read_only => match tx.commit() {
                Ok(()) => reply(None),
                Err(e) => reply(Some(db_err(e))),
            },
            Ok((_, reply)) => {
                let _ = tx.rollback();
                reply(None);
            }
            Err(_) => {
                tracing::error!("a storage job panicked; its transaction was rolled back");
                let _ = tx.rollback();
            }
        }
    }
}
