//! The generated city behind `shebao-bench crediting` and the purchase database: employers,
//! their employees, activated cards; for crediting, the month assessed by the
//! `monthly-deadline` job, the tax bureau's payments recorded, and the `crediting` job timed
//! over every account once the data has arrived. Meant for a fresh database with a simulated
//! clock ([`Runtime`]).

use crate::runtime::Runtime;
use shebao_domain::{Card, CardNo, Fen, IdNumber, Person, PersonKind, RegionCode, Role};
use shebao_service::keys::{PinContext, PinKeyring};
use shebao_service::model::{Actor, ActorSource, Employer};
use shebao_service::store::Tx;
use shebao_service::{CreditingSummary, NewEmployer, NewPayment, ServiceError};
use std::time::{Duration, Instant};

/// People inserted per transaction while seeding.
const SEED_BATCH_ROWS: u64 = 5_000;

/// What one crediting run measured.
#[derive(Debug, Clone)]
pub struct CreditingBench {
    pub accounts: u64,
    pub employers: u64,
    pub seed: Duration,
    pub assessment: Duration,
    pub payments: Duration,
    pub crediting: Duration,
    pub summary: CreditingSummary,
}

/// The admin the bench acts as: the service's own operator (the CLI's and first start's).
fn operator(now: jiff::Timestamp) -> Actor {
    Actor {
        id: "operator".into(),
        role: Role::Admin,
        name: "operator (CLI or startup)".into(),
        region: None,
        employer_id: None,
        id_number: None,
        must_change_password: false,
        session_id: None,
        created_at: now,
        source: ActorSource::Api,
        revoked_at: None,
        psam: None,
    }
}

/// A valid citizen ID number for person `n` (GB 11643 check digit): birth dates spread over
/// 1961-1998, 1 000 sequence numbers per date.
fn bench_id(n: u64) -> Result<IdNumber, ServiceError> {
    let day = n / 1_000;
    let (year, rest) = (1961 + (day / 336) % 38, day % 336);
    let (month, dom) = (1 + rest / 28, 1 + rest % 28);
    IdNumber::with_check_digit(&format!(
        "450602{year:04}{month:02}{dom:02}{:03}",
        n % 1_000
    ))
    .map_err(|e| ServiceError::Internal(format!("bench id {n}: {e}")))
}

fn instant(text: &str) -> Result<jiff::Timestamp, ServiceError> {
    text.parse()
        .map_err(|e| ServiceError::Internal(format!("instant {text}: {e}")))
}

fn since(start: Instant) -> Duration {
    start.elapsed()
}

/// Generates `accounts` employees of `accounts / per_employer` employers, each with an
/// activated card holding `balance`, and `password` enabled if given. People are numbered
/// from the ID numbers `bench_id` makes; cards are `S00000001`…
pub async fn seed(
    runtime: &Runtime,
    accounts: u64,
    per_employer: u64,
    balance: Fen,
    password: Option<&str>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Vec<Employer>, ServiceError> {
    let service = &runtime.service;
    let admin = operator(service.clock().now());
    let per_employer = per_employer.max(1);
    let employers = accounts.div_ceil(per_employer);
    if let Some(p) = password {
        shebao_domain::Pin::parse(p)
            .map_err(|e| ServiceError::invalid("invalid_password", e.to_string()))?;
    }
    let password = password.map(|p| zeroize::Zeroizing::new(p.to_owned()));
    let mut employer_ids = Vec::new();
    for e in 0..employers {
        let employer = service
            .create_employer(
                &admin,
                NewEmployer {
                    name: format!("Works {e}"),
                    region: None,
                    prev_year_avg_wage_fen: Some(700_000),
                },
                None,
            )
            .await?;
        employer_ids.push(employer);
    }
    let now = service.clock().now();
    let mut done = 0;
    while done < accounts {
        let chunk = SEED_BATCH_ROWS.min(accounts - done);
        let first = done;
        let employers: Vec<Employer> = employer_ids.clone();
        let region = service.policy().home_region.clone();
        let keys = runtime.keys.clone();
        let password = password.clone();
        runtime
            .seeding
            .write(move |tx| {
                let pin = password
                    .as_deref()
                    .and_then(|p| shebao_domain::Pin::parse(p).ok());
                for n in first..first + chunk {
                    let employer = &employers[(n / per_employer) as usize];
                    seed_one(tx, n, employer, &region, now, balance, &keys, pin.as_ref())?;
                }
                Ok(())
            })
            .await?;
        done += chunk;
        progress(done);
    }
    Ok(employer_ids)
}

/// Runs the whole crediting benchmark. The clock must be simulated (the run moves it 45
/// working days on); `progress` hears (phase, rows done).
// The benchmark measures wall time on purpose; no rule reads it.
#[allow(clippy::disallowed_methods)]
pub async fn crediting(
    runtime: &Runtime,
    accounts: u64,
    per_employer: u64,
    batch_rows: u32,
    progress: &(dyn Fn(&str, u64) + Send + Sync),
) -> Result<CreditingBench, ServiceError> {
    let service = &runtime.service;
    let admin = operator(service.clock().now());
    // Employers and people are registered in February; March is assessed on March 1.
    service.move_clock(&admin, None, Some(instant("2026-02-02T01:00:00Z")?))?;
    // 1. The city: employers, employees, activated cards.
    let start = Instant::now();
    let employer_ids = seed(runtime, accounts, per_employer, Fen::ZERO, None, &|n| {
        progress("seed", n)
    })
    .await?;
    let employers = employer_ids.len() as u64;
    let seed = since(start);

    // 2. March assessed for everyone (the monthly-deadline job).
    service.move_clock(&admin, None, Some(instant("2026-03-02T01:00:00Z")?))?;
    let start = Instant::now();
    service
        .run_monthly_deadline(&|n| progress("assess", n))
        .await?;
    let assessment = since(start);

    // 3. The tax bureau's payments, paid on time.
    service.move_clock(&admin, None, Some(instant("2026-03-10T08:00:00Z")?))?;
    let start = Instant::now();
    for employer in &employer_ids {
        let view = service.employer(&admin, &employer.id).await?;
        let assessed = view
            .months
            .iter()
            .find(|m| m.month.month.to_string() == "2026-03")
            .map(|m| m.month.assessed.0)
            .unwrap_or_default();
        if assessed > 0 {
            service
                .record_tax_payment(
                    &admin,
                    &employer.id,
                    NewPayment {
                        month: "2026-03".into(),
                        amount_fen: assessed,
                        paid_on: "2026-03-10".into(),
                        reference: None,
                    },
                    None,
                )
                .await?;
        }
    }
    let payments = since(start);

    // 4. 45 working days later: crediting.
    service.move_clock(&admin, None, Some(instant("2026-05-15T02:00:00Z")?))?;
    let start = Instant::now();
    let summary = service
        .run_crediting(batch_rows, &|n| progress("credit", n))
        .await?;
    let crediting = since(start);
    Ok(CreditingBench {
        accounts,
        employers,
        seed,
        assessment,
        payments,
        crediting,
        summary,
    })
}

#[allow(clippy::too_many_arguments)]
fn seed_one(
    tx: &mut dyn Tx,
    n: u64,
    employer: &Employer,
    region: &RegionCode,
    now: jiff::Timestamp,
    balance: Fen,
    keys: &PinKeyring,
    pin: Option<&shebao_domain::Pin>,
) -> Result<(), ServiceError> {
    let id = bench_id(n)?;
    let person = Person {
        id_number: id.clone(),
        name: format!("P{n}"),
        phone: None,
        kind: PersonKind::Employee,
        employer_id: Some(employer.id.clone()),
        region: region.clone(),
        contribution_base: Some(Fen(300_000 + (n % 7) as i64 * 50_000)),
        legacy_card: None,
        query_password_hash: None,
        created_at: now,
    };
    tx.insert_person(&person)?;
    let seq = n + 1;
    let card_no = CardNo::from_sequence(seq)
        .ok_or_else(|| ServiceError::Internal("card numbers exhausted".into()))?;
    let mut card = Card::new(
        card_no,
        id,
        format!("{seq:032X}"),
        shebao_domain::bank::card_no(seq),
        now,
    );
    card.activate_ss(now);
    card.balance = balance;
    if let Some(pin) = pin {
        let verifier = keys.seal(PinContext::Social(card.id_number.as_str()), pin);
        card.ss.set_password(verifier);
    }
    tx.insert_card(&card)?;
    Ok(())
}

/// The bearer token of electronic-card holder `j` of [`seed_holders`]: `shb_` and 64 hex
/// digits, as the server's own tokens.
pub fn holder_token(j: u64) -> String {
    format!("shb_{:032x}{j:032x}", 0xbe_c0de_u128)
}

/// Makes the holders of `cards` (card sequence numbers, as `S{seq:08}`) ready to show payment
/// codes, as if each had logged in on their phone: a query password of their own (one argon2id
/// hash for all, made once), the electronic card active since now, and a self-service session
/// (token [`holder_token`]`(j)` for `cards[j]`) valid until `session_expires_at`. Written
/// straight to the tables, in batches: an argon2id login per holder would cost more than the
/// benchmark itself.
pub async fn seed_holders(
    runtime: &Runtime,
    cards: &[u64],
    session_expires_at: jiff::Timestamp,
) -> Result<(), ServiceError> {
    let hash = shebao_service::keys::hash_query_password("bench-query-1")
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let now = runtime.service.clock().now();
    for (batch, chunk) in cards.chunks(SEED_BATCH_ROWS as usize).enumerate() {
        let first = batch as u64 * SEED_BATCH_ROWS;
        let (chunk, hash) = (chunk.to_vec(), hash.clone());
        runtime
            .seeding
            .write(move |tx| {
                for (k, &seq) in chunk.iter().enumerate() {
                    let card_no = CardNo::from_sequence(seq)
                        .ok_or_else(|| ServiceError::Internal(format!("card {seq}")))?;
                    let mut card = tx
                        .card(&card_no, shebao_service::store::Lock::ForUpdate)?
                        .ok_or_else(|| ServiceError::Internal(format!("no card {seq}")))?;
                    let mut person = tx
                        .person(&card.id_number, shebao_service::store::Lock::ForUpdate)?
                        .ok_or_else(|| ServiceError::Internal(format!("no holder of {seq}")))?;
                    person.query_password_hash = Some(hash.clone());
                    tx.update_person(&person)?;
                    card.ecard_active_at = Some(now);
                    tx.update_card(&card)?;
                    let digest =
                        shebao_service::keys::token_digest(&holder_token(first + k as u64));
                    tx.insert_session(
                        &shebao_service::model::Session {
                            id: digest[..16].to_owned(),
                            id_number: card.id_number.clone(),
                            created_at: now,
                            expires_at: session_expires_at,
                        },
                        &digest,
                    )?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(())
}
