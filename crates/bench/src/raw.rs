//! The storage's own limits, measured with the database drivers directly (no service code, no
//! HTTP), for the full run to compare shebao against. The ledger table is built by the same
//! statements as shebao's own ([`shebao_storage::ledger_ddl`], from its migrations).

use anyhow::Context;
use std::path::Path;
use std::time::Instant;

/// Accounts per stage in the set-based crediting measurement.
const STAGE_ROWS: u64 = 100_000;

/// shebao's ledger table and its indexes for `engine` (`Engine::name`), from the migrations.
fn ledger_ddl(engine: &str) -> anyhow::Result<String> {
    shebao_storage::ledger_ddl(engine).with_context(|| format!("no ledger DDL for {engine}"))
}

fn sqlite(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let _ = std::fs::remove_file(path);
    let conn = rusqlite::Connection::open(path).context("opening the raw benchmark file")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    conn.execute_batch(&ledger_ddl("sqlite")?)?;
    Ok(conn)
}

fn finish(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Ledger rows per second: `rows` prepared INSERTs in one transaction, COMMIT included, into
/// the same ledger table and index as shebao's, for random people.
// Benchmarks measure wall time on purpose.
#[allow(clippy::disallowed_methods)]
pub fn sqlite_ledger_inserts(path: &Path, rows: u64) -> anyhow::Result<f64> {
    let mut conn = sqlite(path)?;
    let start = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO ledger (card_no, id_number, at, kind, amount_fen, balance_after_fen, reference) VALUES (?1, ?2, ?3, 'purchase', -1, ?4, ?5)",
        )?;
        for i in 0..rows {
            // Purchases land on random people, as in shebao's own run.
            let person = i.wrapping_mul(7_919) % 1_000_000;
            insert.execute(rusqlite::params![
                format!("S{:08}", person + 1),
                format!("ID{person:016}"),
                i as i64,
                i as i64,
                format!("b{i}")
            ])?;
        }
    }
    tx.commit()?;
    let rate = rows as f64 / start.elapsed().as_secs_f64().max(1e-9);
    drop(conn);
    finish(path);
    Ok(rate)
}

/// Accounts credited per second by staged set-based statements: each 100 000-account stage is
/// loaded into a temporary table, then one `UPDATE … FROM` and one `INSERT … SELECT` apply it,
/// one transaction per stage.
#[allow(clippy::disallowed_methods)]
pub fn sqlite_staged_crediting(path: &Path, accounts: u64) -> anyhow::Result<f64> {
    let mut conn = sqlite(path)?;
    conn.execute_batch(
        "CREATE TABLE accounts (card_no TEXT PRIMARY KEY, id_number TEXT NOT NULL, balance_fen INTEGER NOT NULL);
         CREATE TEMP TABLE stage (card_no TEXT PRIMARY KEY, amount_fen INTEGER NOT NULL);",
    )?;
    {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO accounts (card_no, id_number, balance_fen) VALUES (?1, ?2, 0)",
            )?;
            for i in 0..accounts {
                insert.execute(rusqlite::params![
                    format!("S{:08}", i + 1),
                    format!("ID{i:016}")
                ])?;
            }
        }
        tx.commit()?;
    }
    let start = Instant::now();
    let mut first = 0;
    while first < accounts {
        let last = (first + STAGE_ROWS).min(accounts);
        let tx = conn.transaction()?;
        {
            let mut stage =
                tx.prepare("INSERT INTO stage (card_no, amount_fen) VALUES (?1, ?2)")?;
            for i in first..last {
                stage.execute(rusqlite::params![
                    format!("S{:08}", i + 1),
                    3_100 + (i % 7) as i64
                ])?;
            }
        }
        tx.execute_batch(
            "UPDATE accounts SET balance_fen = accounts.balance_fen + s.amount_fen FROM stage s WHERE accounts.card_no = s.card_no;
             INSERT INTO ledger (card_no, id_number, at, kind, amount_fen, balance_after_fen, reference)
                 SELECT a.card_no, a.id_number, 0, 'contribution_credit', s.amount_fen, a.balance_fen, 'E/2026-03'
                 FROM stage s JOIN accounts a ON a.card_no = s.card_no;
             DELETE FROM stage;",
        )?;
        tx.commit()?;
        first = last;
    }
    let rate = accounts as f64 / start.elapsed().as_secs_f64().max(1e-9);
    drop(conn);
    finish(path);
    Ok(rate)
}

fn pg(url: &str) -> anyhow::Result<postgres::Client> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    client.batch_execute(&ledger_ddl("postgres")?)?;
    Ok(client)
}

/// As [`sqlite_ledger_inserts`], on PostgreSQL: one prepared INSERT per row (one round trip
/// each), one transaction.
#[allow(clippy::disallowed_methods)]
pub fn pg_ledger_inserts(url: &str, rows: u64) -> anyhow::Result<f64> {
    let mut client = pg(url)?;
    let start = Instant::now();
    let mut tx = client.transaction()?;
    let insert = tx.prepare(
        "INSERT INTO ledger (card_no, id_number, at, kind, amount_fen, balance_after_fen, reference) VALUES ($1, $2, $3, 'purchase', -1, $4, $5)",
    )?;
    for i in 0..rows {
        let (card, reference) = (format!("S{:08}", i % 1_000_000 + 1), format!("b{i}"));
        tx.execute(
            &insert,
            &[
                &card,
                &"450602198001010011",
                &(i as i64),
                &(i as i64),
                &reference,
            ],
        )?;
    }
    tx.commit()?;
    Ok(rows as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// As [`sqlite_staged_crediting`], on PostgreSQL, loading each stage with COPY.
#[allow(clippy::disallowed_methods)]
pub fn pg_staged_crediting(url: &str, accounts: u64) -> anyhow::Result<f64> {
    use std::io::Write;
    let mut client = pg(url)?;
    client.batch_execute(
        "CREATE TABLE accounts (card_no TEXT PRIMARY KEY, id_number TEXT NOT NULL, balance_fen BIGINT NOT NULL);",
    )?;
    {
        let mut writer =
            client.copy_in("COPY accounts (card_no, id_number, balance_fen) FROM STDIN")?;
        for i in 0..accounts {
            writeln!(writer, "S{:08}\tID{i:016}\t0", i + 1)?;
        }
        writer.finish()?;
    }
    client.batch_execute("ANALYZE accounts")?;
    let start = Instant::now();
    let mut first = 0;
    while first < accounts {
        let last = (first + STAGE_ROWS).min(accounts);
        let mut tx = client.transaction()?;
        tx.batch_execute(
            "CREATE TEMP TABLE stage (card_no TEXT PRIMARY KEY, amount_fen BIGINT NOT NULL) ON COMMIT DROP",
        )?;
        {
            let mut writer = tx.copy_in("COPY stage (card_no, amount_fen) FROM STDIN")?;
            for i in first..last {
                writeln!(writer, "S{:08}\t{}", i + 1, 3_100 + (i % 7))?;
            }
            writer.finish()?;
        }
        tx.batch_execute(
            "UPDATE accounts SET balance_fen = accounts.balance_fen + s.amount_fen FROM stage s WHERE accounts.card_no = s.card_no;
             INSERT INTO ledger (card_no, id_number, at, kind, amount_fen, balance_after_fen, reference)
                 SELECT a.card_no, a.id_number, 0, 'contribution_credit', s.amount_fen, a.balance_fen, 'E/2026-03'
                 FROM stage s JOIN accounts a ON a.card_no = s.card_no;",
        )?;
        tx.commit()?;
        first = last;
    }
    Ok(accounts as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

#[cfg(test)]
mod tests {
    // The raw limits are measured on shebao's own ledger: its table and its one index by person
    // (the index by card was dropped in migration 4).
    #[test]
    fn the_raw_ledger_is_shebaos_table_and_person_index() {
        for engine in ["sqlite", "postgres"] {
            let ddl = super::ledger_ddl(engine).unwrap();
            assert!(ddl.contains("CREATE TABLE ledger ("), "{ddl}");
            assert!(
                ddl.contains("CREATE INDEX ledger_by_person ON ledger (id_number, seq)"),
                "{ddl}"
            );
            assert!(!ddl.contains("ledger_by_card"), "{ddl}");
        }
        assert!(super::ledger_ddl("mysql").is_err());
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&super::ledger_ddl("sqlite").unwrap())
            .unwrap();
        let mut names = conn
            .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'ledger' ORDER BY name")
            .unwrap();
        let names: Vec<String> = names
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["ledger", "ledger_by_person"]);
    }
}
