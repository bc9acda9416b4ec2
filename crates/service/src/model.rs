//! Records the service keeps besides the domain's cards and people.

use jiff::Timestamp;
use shebao_domain::{Evidence, Fen, RegionCode, Role};

/// Someone who calls the API: a bureau clerk, a bank branch, a pharmacy terminal, …
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub region: Option<RegionCode>,
    pub employer_id: Option<String>,
    /// For a cardholder session: whose.
    pub id_number: Option<String>,
    /// A cardholder who still has the initial query password may only change it (R-PW-8).
    pub must_change_password: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Employer {
    pub id: String,
    pub name: String,
    pub region: RegionCode,
    pub prev_year_avg_wage: Option<Fen>,
    pub created_at: Timestamp,
}

/// A cardholder's self-service session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub id_number: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Who did what, where, through which channel, with what evidence (R-PW-9).
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub seq: Option<i64>,
    pub at: Timestamp,
    pub actor_id: String,
    pub actor_role: Role,
    pub actor_region: Option<String>,
    pub channel: String,
    pub action: String,
    pub card_no: Option<String>,
    pub id_number: Option<String>,
    pub evidence: Option<Evidence>,
    /// What happened: `ok`, `wrong_password`, `locked`, …
    pub outcome: String,
    /// Plain words for people reading the trail. Never a password.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub card_no: Option<String>,
    pub id_number: Option<String>,
    pub after_seq: Option<i64>,
    pub limit: u32,
}

/// One movement on a personal medical account (R-CR-2).
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub seq: Option<i64>,
    pub card_no: String,
    pub id_number: String,
    pub at: Timestamp,
    /// `legacy_transfer`, later `contribution_credit`, `purchase`, …
    pub kind: String,
    pub amount: Fen,
    pub balance_after: Fen,
    pub reference: Option<String>,
}
