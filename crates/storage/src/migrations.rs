//! Schema migrations, one list per engine, applied in order inside one transaction and
//! recorded in `schema_migrations`. The two lists must describe the same tables; the storage
//! test suite runs on both to keep them honest.
//!
//! Types: every integer is 64-bit (`BIGINT`), booleans are 0/1 integers, instants are
//! microseconds since the Unix epoch, money is integer fen.

const V1_TABLES: &str = "
CREATE TABLE actors (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    region TEXT,
    employer_id TEXT,
    created_at BIGINT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE
);
CREATE TABLE employers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    prev_year_avg_wage_fen BIGINT,
    created_at BIGINT NOT NULL
);
CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE persons (
    id_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    kind TEXT NOT NULL,
    employer_id TEXT REFERENCES employers (id),
    region TEXT NOT NULL,
    contribution_base_fen BIGINT,
    legacy_number TEXT,
    legacy_balance_fen BIGINT,
    legacy_password TEXT,
    legacy_migrated_at BIGINT,
    query_password_hash TEXT,
    web_failures BIGINT NOT NULL,
    web_last_failure_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE TABLE cards (
    card_no TEXT PRIMARY KEY,
    id_number TEXT NOT NULL REFERENCES persons (id_number),
    serial TEXT NOT NULL UNIQUE,
    bank_card_no TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    ss_activation TEXT NOT NULL,
    ss_activation_at BIGINT,
    ss_password TEXT,
    ss_failures BIGINT NOT NULL,
    ss_locked_at BIGINT,
    fin_activated_at BIGINT,
    fin_password TEXT,
    fin_failures BIGINT NOT NULL,
    fin_locked_until BIGINT,
    balance_fen BIGINT NOT NULL CHECK (balance_fen >= 0)
);
CREATE INDEX cards_by_person ON cards (id_number);
CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    id_number TEXT NOT NULL REFERENCES persons (id_number),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
";

const V1_SQLITE_LOGS: &str = "
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_region TEXT,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    card_no TEXT,
    id_number TEXT,
    ev_holder_present BIGINT,
    ev_holder_id_checked BIGINT,
    ev_agent_id_number TEXT,
    ev_power_of_attorney BIGINT,
    ev_employer_letter BIGINT,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    card_no TEXT NOT NULL,
    id_number TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    balance_after_fen BIGINT NOT NULL,
    reference TEXT
);
";

const V1_POSTGRES_LOGS: &str = "
CREATE TABLE audit (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_region TEXT,
    channel TEXT NOT NULL,
    action TEXT NOT NULL,
    card_no TEXT,
    id_number TEXT,
    ev_holder_present BIGINT,
    ev_holder_id_checked BIGINT,
    ev_agent_id_number TEXT,
    ev_power_of_attorney BIGINT,
    ev_employer_letter BIGINT,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE TABLE ledger (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_no TEXT NOT NULL,
    id_number TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    balance_after_fen BIGINT NOT NULL,
    reference TEXT
);
";

const V1_INDEXES: &str = "
CREATE INDEX audit_by_card ON audit (card_no, seq);
CREATE INDEX audit_by_person ON audit (id_number, seq);
CREATE INDEX ledger_by_card ON ledger (card_no, seq);
";

/// V2: loss, replacement and the operator-loaded working-day calendar (issue: loss and
/// replacement). Plain `ALTER TABLE … ADD COLUMN`, the same on both engines.
const V2_LOSS_AND_CALENDAR: &str = "
ALTER TABLE cards ADD COLUMN loss_kind TEXT;
ALTER TABLE cards ADD COLUMN loss_reported_at BIGINT;
ALTER TABLE cards ADD COLUMN loss_lapses_at BIGINT;
ALTER TABLE cards ADD COLUMN loss_channel TEXT;
ALTER TABLE cards ADD COLUMN fin_lost_at BIGINT;
ALTER TABLE cards ADD COLUMN repl_replaces TEXT;
ALTER TABLE cards ADD COLUMN repl_reason TEXT;
ALTER TABLE cards ADD COLUMN repl_ready_on TEXT;
ALTER TABLE cards ADD COLUMN repl_fee_fen BIGINT;
ALTER TABLE cards ADD COLUMN repl_collected_at BIGINT;
ALTER TABLE cards ADD COLUMN replaced_by TEXT;
CREATE TABLE calendar_years (
    year BIGINT PRIMARY KEY,
    csv TEXT NOT NULL,
    loaded_at BIGINT NOT NULL
);
CREATE INDEX ledger_by_person ON ledger (id_number, seq);
";

/// V3: employers' months, assessments, payments and receipts, settlements, filings, job runs
/// (issue: employers, contributions, the unit lock, crediting and settlement). Dates are
/// `YYYY-MM-DD` text and months `YYYY-MM`: both sort as they read.
const V3_CONTRIBUTIONS_AND_SETTLEMENT: &str = "
CREATE TABLE employer_months (
    employer_id TEXT NOT NULL REFERENCES employers (id),
    month TEXT NOT NULL,
    assessed_fen BIGINT NOT NULL,
    owed_fen BIGINT NOT NULL,
    due_on TEXT NOT NULL,
    lock_from TEXT NOT NULL,
    paid_fen BIGINT NOT NULL,
    paid_on_time_fen BIGINT NOT NULL,
    tax_paid_fen BIGINT NOT NULL,
    cleared_at BIGINT,
    data_arrived_on TEXT,
    credited_at BIGINT,
    lock_noted_at BIGINT,
    PRIMARY KEY (employer_id, month)
);
CREATE INDEX employer_months_uncredited ON employer_months (credited_at, data_arrived_on);
CREATE TABLE assessments (
    employer_id TEXT NOT NULL,
    month TEXT NOT NULL,
    id_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    base_fen BIGINT,
    contribution_fen BIGINT NOT NULL,
    employee_part_fen BIGINT NOT NULL,
    credit_fen BIGINT NOT NULL,
    rule_set TEXT NOT NULL,
    credited_at BIGINT,
    credited_card_no TEXT,
    credit_claim TEXT,
    PRIMARY KEY (employer_id, month, id_number)
);
CREATE INDEX assessments_by_person ON assessments (id_number, month);
CREATE TABLE payments (
    id BIGINT PRIMARY KEY,
    employer_id TEXT NOT NULL REFERENCES employers (id),
    month TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT UNIQUE,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX payments_by_month ON payments (employer_id, month);
CREATE TABLE settlements (
    actor_id TEXT NOT NULL,
    client_txn_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    card_no TEXT NOT NULL,
    request TEXT NOT NULL,
    amount1_fen BIGINT NOT NULL,
    amount2_fen BIGINT NOT NULL,
    amount3_fen BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (actor_id, client_txn_id)
);
CREATE TABLE filings (
    id TEXT PRIMARY KEY,
    id_number TEXT NOT NULL,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    filed_on TEXT NOT NULL,
    admitted_on TEXT,
    filed_at BIGINT NOT NULL,
    actor_id TEXT NOT NULL
);
CREATE INDEX filings_by_person ON filings (id_number);
CREATE TABLE job_runs (
    name TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    rows_done BIGINT NOT NULL
);
CREATE INDEX persons_by_employer ON persons (employer_id, id_number);
";

/// V4: the ledger is read by person (it follows a replacement card, D-10); the index by card
/// only cost a random page write per ledger row.
/// Likewise the audit trail is found by person: a card's records are its holder's records with
/// its number, so `audit_by_card` is dropped too.
const V4_LEDGER_INDEX: &str = "
DROP INDEX ledger_by_card;
DROP INDEX audit_by_card;
";

/// V5 (issue: trust): receipt and payment record numbers unique per employer and source, not
/// across employers (D-15); actors that can be revoked and start-up admins that follow their
/// source; the web-login throttle kept per ID number whether or not it is registered (so the
/// answers cannot tell the two apart, D-4); sessions found by person and by expiry.
///
/// SQLite cannot drop a column's `UNIQUE`: the payments table is rebuilt. PostgreSQL drops the
/// constraint by its generated name.
const V5_SQLITE_PAYMENTS: &str = "
CREATE TABLE payments_v5 (
    id BIGINT PRIMARY KEY,
    employer_id TEXT NOT NULL REFERENCES employers (id),
    month TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT,
    recorded_at BIGINT NOT NULL
);
INSERT INTO payments_v5 (id, employer_id, month, amount_fen, paid_on, source, reference, recorded_at)
    SELECT id, employer_id, month, amount_fen, paid_on, source, reference, recorded_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_v5 RENAME TO payments;
CREATE INDEX payments_by_month ON payments (employer_id, month);
";

const V5_POSTGRES_PAYMENTS: &str = "
ALTER TABLE payments DROP CONSTRAINT payments_reference_key;
";

const V5_TRUST: &str = "
CREATE UNIQUE INDEX payments_by_reference ON payments (employer_id, source, reference);
ALTER TABLE actors ADD COLUMN revoked_at BIGINT;
ALTER TABLE actors ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
UPDATE actors SET source = 'startup' WHERE role = 'admin' AND EXISTS (
    SELECT 1 FROM audit a WHERE a.actor_id = 'operator' AND a.action = 'actor.create'
    AND a.detail = 'admin actor ' || actors.id || ' from the configured token');
CREATE TABLE login_throttle (
    id_number TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT
);
INSERT INTO login_throttle (id_number, failures, last_failure_at)
    SELECT id_number, web_failures, web_last_failure_at FROM persons WHERE web_failures > 0;
CREATE INDEX login_throttle_by_time ON login_throttle (last_failure_at);
ALTER TABLE persons DROP COLUMN web_failures;
ALTER TABLE persons DROP COLUMN web_last_failure_at;
CREATE INDEX sessions_by_person ON sessions (id_number);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
";

/// V6 (issue: what the sources say): a purchase's or visit's audit record says how the holder
/// was authenticated (R-PW-9: `password`, `not_enabled`, `card`, `ecard`), and the evidence
/// records the pickup certificate a collection needs (R-LS-5, 001).
const V6_AUTHORISED_BY: &str = "
ALTER TABLE audit ADD COLUMN authorised_by TEXT;
ALTER TABLE audit ADD COLUMN ev_pickup_certificate BIGINT;
";

/// V7 (issue: the national key system, R-KM-1): a terminal's PSAM (its number, unique, and
/// the last request counter accepted from it, with when), and each card chip's last counter.
/// No key is ever stored.
const V7_PSAM: &str = "
ALTER TABLE actors ADD COLUMN psam_no TEXT;
ALTER TABLE actors ADD COLUMN psam_counter BIGINT NOT NULL DEFAULT 0;
ALTER TABLE actors ADD COLUMN psam_used_at BIGINT;
CREATE UNIQUE INDEX actors_by_psam ON actors (psam_no);
ALTER TABLE cards ADD COLUMN chip_counter BIGINT NOT NULL DEFAULT 0;
";

/// V8 (issue: the electronic social security card, R-KM-2, D-16): the electronic card as a
/// state of the card row, and its single-use payment codes (the code's text is not stored:
/// only its random id, which the code's MAC covers).
const V8_ECARD: &str = "
ALTER TABLE cards ADD COLUMN ecard_active_at BIGINT;
CREATE TABLE ecard_codes (
    code_id TEXT PRIMARY KEY,
    id_number TEXT NOT NULL,
    card_no TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX ecard_codes_by_person ON ecard_codes (id_number);
";

/// V9 (issue 16: stateless servers): the console's and the portal's browser sessions, so that
/// every server sharing the database serves a logged-in browser. A session is found by the
/// SM3 digest of its cookie and names the digest of the API token it acts with; neither the
/// cookie nor the token is stored. The flash is one message for the next page.
const V9_CONSOLE_SESSIONS: &str = "
CREATE TABLE console_sessions (
    key_digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    token_digest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    flash_ok BIGINT,
    flash_key TEXT,
    flash_detail TEXT
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
";

/// V10 (issue 16: retries after a failover): the writes carried out under a client's
/// `Idempotency-Key`, one row per actor and key, written in the transaction of the effect.
const V10_REQUEST_KEYS: &str = "
CREATE TABLE request_keys (
    actor_id TEXT NOT NULL,
    request_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resource TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (actor_id, request_key)
);
";

/// V11 (issue 17: one B-tree fewer per purchase): each card carries the employer its holder
/// is insured through (employees and retirees; none for others), the one thing the unit lock
/// (R-EM-2, D-13) needs from the person. Kept with the person by `insert_card` and
/// `update_person`; filled for the cards already issued. On a city of 10 M cards this rewrites
/// every card row once, at the first start after the upgrade.
const V11_HOLDER_EMPLOYER: &str = "
ALTER TABLE cards ADD COLUMN holder_employer_id TEXT;
UPDATE cards SET holder_employer_id = (SELECT p.employer_id FROM persons p
    WHERE p.id_number = cards.id_number AND p.kind IN ('employee', 'retiree'));
";

/// V12 (issue 15: a payment by code at the cost of one by card number): the electronic card's
/// payment codes become three numbers on the card row (issued, used through, withdrawn
/// through; `shebao_domain::card::EcardCodes`), which every payment updates anyway, instead
/// of a row per code that each payment read and marked used. Codes of the V8 form (`EC1.`)
/// live at most `ecard.code_seconds` (≤ 600 s) and are not carried over: a holder who shows
/// one across the upgrade gets 422 `invalid_code` and a new code; a terminal that repeats a
/// payment made with one before the upgrade gets 422 `invalid_code` too instead of the first
/// answer (the payment itself stands, once).
const V12_ECARD_CODES_ON_THE_CARD: &str = "
ALTER TABLE cards ADD COLUMN ecard_codes_issued BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cards ADD COLUMN ecard_codes_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cards ADD COLUMN ecard_codes_withdrawn BIGINT NOT NULL DEFAULT 0;
DROP TABLE ecard_codes;
";

/// Each migration as (tables, engine-specific logs, indexes), concatenated per engine.
pub fn all() -> Vec<(i64, &'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (
            1,
            "init",
            vec![V1_TABLES, V1_SQLITE_LOGS, V1_INDEXES],
            vec![V1_TABLES, V1_POSTGRES_LOGS, V1_INDEXES],
        ),
        (
            2,
            "loss_and_calendar",
            vec![V2_LOSS_AND_CALENDAR],
            vec![V2_LOSS_AND_CALENDAR],
        ),
        (
            3,
            "contributions_and_settlement",
            vec![V3_CONTRIBUTIONS_AND_SETTLEMENT],
            vec![V3_CONTRIBUTIONS_AND_SETTLEMENT],
        ),
        (
            4,
            "ledger_index",
            vec![V4_LEDGER_INDEX],
            vec![V4_LEDGER_INDEX],
        ),
        (
            5,
            "trust",
            vec![V5_SQLITE_PAYMENTS, V5_TRUST],
            vec![V5_POSTGRES_PAYMENTS, V5_TRUST],
        ),
        (
            6,
            "authorised_by",
            vec![V6_AUTHORISED_BY],
            vec![V6_AUTHORISED_BY],
        ),
        (7, "psam", vec![V7_PSAM], vec![V7_PSAM]),
        (8, "ecard", vec![V8_ECARD], vec![V8_ECARD]),
        (
            9,
            "console_sessions",
            vec![V9_CONSOLE_SESSIONS],
            vec![V9_CONSOLE_SESSIONS],
        ),
        (
            10,
            "request_keys",
            vec![V10_REQUEST_KEYS],
            vec![V10_REQUEST_KEYS],
        ),
        (
            11,
            "holder_employer",
            vec![V11_HOLDER_EMPLOYER],
            vec![V11_HOLDER_EMPLOYER],
        ),
        (
            12,
            "ecard_codes_on_the_card",
            vec![V12_ECARD_CODES_ON_THE_CARD],
            vec![V12_ECARD_CODES_ON_THE_CARD],
        ),
    ]
}

pub const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// The statements that build the ledger table as the migrations leave it (the table, later
/// column changes, and the indexes still standing), for the engine `Engine::name` calls
/// `engine` ("sqlite" or "postgres"); `None` for another name. `shebao-bench` measures raw
/// inserts into a table of exactly this shape.
pub fn ledger_ddl(engine: &str) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    for (_, _, sqlite, postgres) in all() {
        let parts = match engine {
            "sqlite" => sqlite,
            "postgres" => postgres,
            _ => return None,
        };
        for statement in parts.iter().flat_map(|p| p.split(';')).map(str::trim) {
            let words: Vec<&str> = statement.split_whitespace().take(5).collect();
            match words.as_slice() {
                ["CREATE", "TABLE", "ledger", ..]
                | ["ALTER", "TABLE", "ledger", ..]
                | ["CREATE", "INDEX", _, "ON", "ledger"] => kept.push(statement),
                ["DROP", "INDEX", name] => {
                    kept.retain(|s| s.split_whitespace().nth(2) != Some(name));
                }
                _ => {}
            }
        }
    }
    Some(kept.join(";\n") + ";")
}
