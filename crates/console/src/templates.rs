//! The pages' data: plain structs the templates in `crates/console/templates/` render.
//! Values are prepared as text here (Shanghai times, yuan) so the templates only lay out.

use crate::i18n::{Lang, Tr};
use crate::page::{Frame, when, yuan};
use askama::Template;
use shebao_domain::card::Offers;
use shebao_service::ContributionLine;
use shebao_service::LockReason;
use shebao_service::model::{AuditRecord, LedgerEntry};
use shebao_service::views::CardView;

/// Every template's source, for the catalogue test (`i18n.rs`).
#[cfg(test)]
pub const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("ledger.html", include_str!("../templates/ledger.html")),
    (
        "unavailable.html",
        include_str!("../templates/unavailable.html"),
    ),
    (
        "console/login.html",
        include_str!("../templates/console/login.html"),
    ),
    (
        "console/search.html",
        include_str!("../templates/console/search.html"),
    ),
    (
        "console/card.html",
        include_str!("../templates/console/card.html"),
    ),
    (
        "console/evidence.html",
        include_str!("../templates/console/evidence.html"),
    ),
    (
        "console/dashboard.html",
        include_str!("../templates/console/dashboard.html"),
    ),
    (
        "console/employer.html",
        include_str!("../templates/console/employer.html"),
    ),
    (
        "console/terminals.html",
        include_str!("../templates/console/terminals.html"),
    ),
    (
        "portal/login.html",
        include_str!("../templates/portal/login.html"),
    ),
    (
        "portal/password.html",
        include_str!("../templates/portal/password.html"),
    ),
    (
        "portal/home.html",
        include_str!("../templates/portal/home.html"),
    ),
    (
        "contributions-table.html",
        include_str!("../templates/contributions-table.html"),
    ),
    (
        "portal/contributions.html",
        include_str!("../templates/portal/contributions.html"),
    ),
    (
        "portal/trail.html",
        include_str!("../templates/portal/trail.html"),
    ),
    (
        "portal/ecard.html",
        include_str!("../templates/portal/ecard.html"),
    ),
];

#[derive(Template)]
#[template(path = "console/login.html")]
pub struct ClerkLogin {
    pub t: Tr,
    pub frame: Frame,
    pub bad: bool,
}

pub struct PersonResult {
    pub name: String,
    pub id_number: String,
    /// (card number, status catalogue key), newest first.
    pub cards: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/search.html")]
pub struct Search {
    pub t: Tr,
    pub frame: Frame,
    pub query: String,
    pub person: Option<PersonResult>,
}

/// One account's box: state, lock and why (R-LK-5).
pub struct AccountBox {
    pub id: &'static str,
    pub title_key: &'static str,
    pub active: bool,
    pub locked: bool,
    pub activates_at: Option<String>,
    pub password_key: Option<&'static str>,
    pub remaining_tries: u32,
    pub locked_until: Option<String>,
    pub reason_key: Option<&'static str>,
    /// The service's own words for the lock in the page's language.
    pub message: Option<String>,
}

pub struct LossBox {
    pub kind_key: &'static str,
    pub reported_at: String,
    pub lapses_at: Option<String>,
    pub channel: String,
}

pub struct ReplacementBox {
    pub replaces: String,
    pub ready_on: String,
    pub fee: String,
    pub collected_at: Option<String>,
}

pub struct LedgerRow {
    pub at: String,
    pub kind: String,
    pub amount: String,
    pub balance_after: String,
    pub card_no: String,
}

pub struct AuditRow {
    pub at: String,
    pub who: String,
    pub channel: String,
    pub action: String,
    /// The service's name for the action, kept for the curious (a `title`).
    pub action_code: String,
    pub outcome: String,
    pub evidence: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/card.html")]
pub struct CardPage {
    pub t: Tr,
    pub frame: Frame,
    pub card_no: String,
    pub holder_name: String,
    pub id_number: String,
    pub bank_card_no: String,
    pub status_key: &'static str,
    pub issued_at: String,
    pub balance: String,
    pub replaced_by: Option<String>,
    pub other_cards: Vec<(String, String)>,
    pub accounts: Vec<AccountBox>,
    pub loss: Option<LossBox>,
    pub replacement: Option<ReplacementBox>,
    pub ss_locked: bool,
    /// The forms the page shows: what the card offers now (`Card::offers`).
    pub offers: Offers,
    pub agents_allowed: bool,
    pub agents_poa: bool,
    pub agents_letter: bool,
    /// The region asks the employer's letter of the holder in person too (`xian`, R-LK-4).
    pub agents_letter_for_holder: bool,
    pub region_policy: String,
    pub ledger: Vec<LedgerRow>,
    /// The holder's contribution record, newest month first (R-CR-2).
    pub contributions: Vec<ContributionRow>,
    pub audit: Vec<AuditRow>,
    /// The holder's employer's unit lock (R-EM-2, R-EM-5), with the employer to open.
    pub unit_lock: Option<UnitLockBox>,
    pub employer_id: Option<String>,
    /// R-MS-3: the emergency filing's limit, in the page's words, and today (Shanghai).
    pub filing_help: String,
    pub today: String,
    /// The electronic card (R-KM-2): its state; its activate / deactivate forms are in
    /// `offers`.
    pub ecard: EcardBox,
}

/// The electronic card's state (R-KM-2), as text.
pub struct EcardBox {
    /// When it was activated (Shanghai time); None: it is not active.
    pub active_since: Option<String>,
    /// Not active, and not offered for activation because the social-security account is not
    /// active yet on a usable card: the page says what comes first.
    pub needs_ss: bool,
    /// The card is lost or replaced: its electronic form cannot be used either.
    pub not_usable: bool,
}

impl EcardBox {
    /// The electronic card of a card settled for `now` (as the service's views are).
    pub fn of(card: &shebao_domain::Card, offers: &Offers) -> EcardBox {
        let usable = matches!(
            card.status,
            shebao_domain::CardStatus::Issued | shebao_domain::CardStatus::Active
        );
        EcardBox {
            active_since: card.ecard_active_at.map(when),
            needs_ss: usable && card.ecard_active_at.is_none() && !offers.ecard_activate,
            not_usable: !usable,
        }
    }
}

/// A unit lock in force (R-EM-2): since when, for which months, and what the holders are
/// told (R-EM-5, the service's words in the page's language).
pub struct UnitLockBox {
    pub since: String,
    pub months: Vec<String>,
    pub message: String,
}

/// One month of an employer, as text.
pub struct MonthRow {
    pub month: String,
    pub assessed: String,
    pub paid: String,
    pub paid_on_time: String,
    pub tax_paid: String,
    pub due_on: String,
    pub data_arrived_on: Option<String>,
    pub credited: bool,
    pub cleared_at: Option<String>,
    pub in_arrears: bool,
    pub locking: bool,
}

pub struct EmployerBox {
    pub id: String,
    pub name: String,
    pub region: String,
    pub today: String,
    /// Newest month first.
    pub months: Vec<MonthRow>,
    pub arrears: Vec<String>,
    pub lock: Option<UnitLockBox>,
    /// The receipt form's rows, each with its month filled in or blank.
    pub receipt_rows: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/employer.html")]
pub struct EmployerPage {
    pub t: Tr,
    pub frame: Frame,
    pub query: String,
    pub employer: Option<EmployerBox>,
    /// What a bulk card application just did (R-ID-3), on the page it answers.
    pub applied: Option<AppliedBox>,
    /// The bulk application's text as typed, kept when the form is refused.
    pub id_numbers: String,
    /// The payment form's `Idempotency-Key` (issue 16): fresh on every rendering, so a form
    /// submitted twice (a double click, a resubmitted page) records its payment once.
    pub form_key: String,
}

/// A bulk card application's outcome (R-ID-3): the cards issued, and who was skipped, why.
pub struct AppliedBox {
    /// (ID number, new card number).
    pub issued: Vec<(String, String)>,
    /// (ID number as typed, the reason in the page's words).
    pub skipped: Vec<(String, String)>,
}

pub struct Tile {
    pub key: &'static str,
    pub value: u64,
    pub color: &'static str,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub struct DashboardPage {
    pub t: Tr,
    pub frame: Frame,
    pub now: String,
    pub tiles: Vec<Tile>,
    pub days: u32,
    pub day_choices: Vec<u32>,
    /// The server-rendered SVG chart and its table (built in `board.rs` from numbers and
    /// catalogue words only, escaped there).
    pub chart: String,
    /// (card number, lapses at)
    pub lapsing: Vec<(String, String)>,
    /// (card number, ready on, ready already)
    pub due: Vec<(String, String, bool)>,
    /// Employers under a unit lock: how many, and (id, name, since) for the first ones.
    pub unit_locked: u64,
    pub unit_locked_list: Vec<(String, String, String)>,
    /// More employers are locked than the list shows.
    pub unit_locked_more: bool,
}

/// One terminal actor (R-KM-1), as text.
pub struct TerminalRow {
    pub id: String,
    /// The role in the page's words.
    pub role: String,
    pub name: String,
    pub region: String,
    /// None: a bearer-token terminal without a PSAM.
    pub psam_no: Option<String>,
    /// The PSAM's last accepted request counter (0: none yet).
    pub counter: Option<u64>,
    /// When that request was accepted (Shanghai time); None: never.
    pub used_at: Option<String>,
    /// When the token was revoked (Shanghai time); None: it works.
    pub revoked_at: Option<String>,
}

#[derive(Template)]
#[template(path = "console/terminals.html")]
pub struct TerminalsPage {
    pub t: Tr,
    pub frame: Frame,
    pub rows: Vec<TerminalRow>,
    /// This page's `after` (empty on the first page), for the revoke forms to come back to.
    pub after: String,
    /// More terminals follow: the `after` of the link to them.
    pub next: Option<String>,
    /// This page is not the first: a link back to it.
    pub not_first: bool,
}

/// A page the service could not give what it shows: the frame and its error flash only.
#[derive(Template)]
#[template(path = "unavailable.html")]
pub struct Unavailable {
    pub t: Tr,
    pub frame: Frame,
}

#[derive(Template)]
#[template(path = "portal/login.html")]
pub struct HolderLogin {
    pub t: Tr,
    pub frame: Frame,
    pub id_number: String,
}

#[derive(Template)]
#[template(path = "portal/password.html")]
pub struct HolderPassword {
    pub t: Tr,
    pub frame: Frame,
    pub forced: bool,
}

pub struct HolderCard {
    pub card_no: String,
    pub status_key: &'static str,
    pub balance: String,
    pub accounts: Vec<AccountBox>,
    pub lost: bool,
    pub unit_lock: Option<UnitLockBox>,
    /// The electronic card (R-KM-2) and which of its forms the page shows.
    pub ecard: EcardBox,
    pub offers: Offers,
}

/// The electronic card's payment code (D-16), as the holder's phone shows it.
#[derive(Template)]
#[template(path = "portal/ecard.html")]
pub struct HolderEcard {
    pub t: Tr,
    pub frame: Frame,
    /// The code as an inline SVG image, drawn from the code on the server (`qr.rs`): numbers
    /// and fixed markup only, never text from elsewhere.
    pub qr_svg: String,
    pub code: String,
    /// When it expires, Shanghai wall clock to the second.
    pub expires_at: String,
    /// Whole seconds left at rendering, by the service's clock.
    pub remaining: i64,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
pub struct HolderHome {
    pub t: Tr,
    pub frame: Frame,
    pub holder_name: String,
    pub card: Option<HolderCard>,
    pub ledger: Vec<LedgerRow>,
    /// R-MS-3: the emergency filing's limit in working days, in the page's words.
    pub filing_help: String,
    /// Today in Shanghai, the admission date field's default and upper bound.
    pub today: String,
}

/// One month of a person's contribution record (R-CR-2), as text.
pub struct ContributionRow {
    pub month: String,
    pub employer_id: String,
    /// None for a retiree (no base of their own).
    pub base: Option<String>,
    pub assessed: String,
    pub employee_part: String,
    pub paid: bool,
    pub credit: String,
    /// None until the tax bureau's data arrived and the month was credited (R-EM-4).
    pub credited_on: Option<String>,
}

#[derive(Template)]
#[template(path = "portal/contributions.html")]
pub struct HolderContributions {
    pub t: Tr,
    pub frame: Frame,
    pub holder_name: String,
    pub contributions: Vec<ContributionRow>,
}

/// One record of the holder's own trail (R-PW-9), in words.
pub struct TrailRow {
    pub at: String,
    pub who: String,
    pub channel: String,
    pub action: String,
    /// The service's name for the action (a `title`).
    pub action_code: String,
    pub outcome: String,
    /// A purchase's or visit's: how the holder was identified; empty for the rest.
    pub authorised_by: String,
}

#[derive(Template)]
#[template(path = "portal/trail.html")]
pub struct HolderTrail {
    pub t: Tr,
    pub frame: Frame,
    /// Newest first.
    pub rows: Vec<TrailRow>,
    /// More records are older than these: the `before` of the link to them.
    pub earlier: Option<i64>,
    /// This page is not the newest: a link back to it.
    pub not_latest: bool,
}

/// A contribution record as the pages show it: newest month first, money in yuan.
pub fn contribution_rows(lines: &[ContributionLine]) -> Vec<ContributionRow> {
    lines
        .iter()
        .rev()
        .map(|l| ContributionRow {
            month: l.month.to_string(),
            employer_id: l.employer_id.clone(),
            base: l.base.map(yuan),
            assessed: yuan(l.assessed),
            employee_part: yuan(l.employee_part),
            paid: l.paid,
            credit: yuan(l.credit),
            credited_on: l.credited_on.map(|d| d.to_string()),
        })
        .collect()
}

/// The holder's own trail in the page's words (R-PW-9): who by role (and the terminal or
/// clerk's id, and its region), the channel, the action, the outcome and how the holder was
/// identified. Records come oldest first; the caller orders them.
pub fn trail_rows(records: &[AuditRecord], lang: Lang) -> Vec<TrailRow> {
    let t = Tr::new(lang);
    records
        .iter()
        .map(|r| {
            let role = t.get_or(
                &format!("role.{}", r.actor_role.as_str()),
                r.actor_role.as_str(),
            );
            // The holder's own sessions are "you"; anyone else is named by their actor id.
            let mut who = if r.actor_role == shebao_domain::Role::Cardholder {
                role.to_owned()
            } else {
                format!("{role} {}", r.actor_id)
            };
            if let Some(region) = &r.actor_region {
                who.push_str(&format!(" ({region})"));
            }
            TrailRow {
                at: when(r.at),
                who,
                channel: t
                    .get_or(&format!("audit.channel.{}", r.channel), &r.channel)
                    .to_owned(),
                action: t
                    .get_or(&format!("audit.action.{}", r.action), r.action.as_str())
                    .to_owned(),
                action_code: r.action.as_str().to_owned(),
                outcome: t
                    .get_or(&format!("audit.outcome.{}", r.outcome), r.outcome.as_str())
                    .to_owned(),
                authorised_by: r
                    .authorised_by
                    .map(|a| {
                        t.get_or(&format!("audit.authorised_by.{a}"), a.as_str())
                            .to_owned()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The unit lock on a card's holder (R-EM-2), in the page's language (R-EM-5).
pub fn unit_lock_box(view: &CardView, lang: Lang) -> Option<UnitLockBox> {
    let t = Tr::new(lang);
    view.unit_lock.as_ref().map(|l| {
        let words = shebao_service::views::lock_message(LockReason::EmployerArrears);
        UnitLockBox {
            since: l.since.to_string(),
            months: l.months.iter().map(ToString::to_string).collect(),
            message: t.pick(words.zh, words.en).to_owned(),
        }
    })
}

pub fn status_key(status: &str) -> &'static str {
    match status {
        "issued" => "status.issued",
        "active" => "status.active",
        "lost" => "status.lost",
        _ => "status.replaced",
    }
}

fn reason_key(reason: LockReason) -> &'static str {
    match reason {
        LockReason::Password => "reason.password",
        LockReason::Loss => "reason.loss",
        LockReason::EmployerArrears => "reason.employer_arrears",
    }
}

/// Both accounts' boxes from the service's view (the same view the API answers with).
pub fn account_boxes(view: &CardView, lang: Lang) -> Vec<AccountBox> {
    let t = Tr::new(lang);
    vec![
        AccountBox {
            id: "ss",
            title_key: "ss.title",
            active: view.ss.active,
            locked: view.ss.locked,
            activates_at: view.ss.activates_at.map(when),
            password_key: Some(if view.ss.password_enabled {
                "acct.password_enabled"
            } else {
                "acct.password_not_enabled"
            }),
            remaining_tries: view.ss.remaining_tries,
            locked_until: None,
            reason_key: view.ss.lock_reason.map(reason_key),
            message: view.ss.lock_message.map(|m| t.pick(m.zh, m.en).to_owned()),
        },
        AccountBox {
            id: "fin",
            title_key: "fin.title",
            active: view.fin.active,
            locked: view.fin.locked,
            activates_at: None,
            password_key: None,
            remaining_tries: view.fin.remaining_tries,
            locked_until: view.fin.locked_until.map(when),
            reason_key: view.fin.lock_reason.map(reason_key),
            message: view.fin.lock_message.map(|m| t.pick(m.zh, m.en).to_owned()),
        },
    ]
}

pub fn ledger_rows(entries: &[LedgerEntry], lang: Lang) -> Vec<LedgerRow> {
    let t = Tr::new(lang);
    entries
        .iter()
        .map(|e| LedgerRow {
            at: when(e.at),
            kind: t
                .get_or(&format!("ledger.kind.{}", e.kind), e.kind.as_str())
                .to_owned(),
            amount: yuan(e.amount),
            balance_after: yuan(e.balance_after),
            card_no: e.card_no.to_string(),
        })
        .collect()
}

pub fn audit_rows(records: &[AuditRecord], lang: Lang) -> Vec<AuditRow> {
    let t = Tr::new(lang);
    records
        .iter()
        .rev()
        .map(|r| AuditRow {
            at: when(r.at),
            who: format!("{} ({})", r.actor_id, r.actor_role),
            channel: t
                .get_or(&format!("audit.channel.{}", r.channel), &r.channel)
                .to_owned(),
            action: t
                .get_or(&format!("audit.action.{}", r.action), r.action.as_str())
                .to_owned(),
            action_code: r.action.as_str().to_owned(),
            outcome: t
                .get_or(&format!("audit.outcome.{}", r.outcome), r.outcome.as_str())
                .to_owned(),
            evidence: match &r.evidence {
                None => String::new(),
                Some(e) => {
                    let mut parts = Vec::new();
                    if e.holder_present {
                        parts.push(t.get("ev.holder_present").to_owned());
                    }
                    if e.holder_id_checked {
                        parts.push(t.get("ev.holder_id_checked").to_owned());
                    }
                    if let Some(a) = &e.agent_id_number {
                        parts.push(format!("{}: {}", t.get("ev.agent_id"), a.as_str()));
                    }
                    if e.power_of_attorney {
                        parts.push(t.get("ev.poa").to_owned());
                    }
                    if e.employer_letter {
                        parts.push(t.get("ev.letter").to_owned());
                    }
                    if e.pickup_certificate {
                        parts.push(t.get("ev.pickup").to_owned());
                    }
                    parts.join("；")
                }
            },
            detail: r.detail.clone().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shebao_domain::{Fen, IdNumber, Month, Role};
    use shebao_service::model::{AuditAction, Authorisation, Outcome};

    fn record(role: Role, action: AuditAction, how: Option<Authorisation>) -> AuditRecord {
        AuditRecord {
            seq: Some(1),
            at: "2026-03-10T02:00:00Z".parse().unwrap(),
            actor_id: if role == Role::Cardholder {
                "session:s1".into()
            } else {
                "A000003".into()
            },
            actor_role: role,
            actor_region: (role == Role::Pharmacy).then(|| "110000".into()),
            channel: if role == Role::Cardholder {
                "self_service".into()
            } else {
                "pharmacy".into()
            },
            action,
            card_no: None,
            id_number: Some(IdNumber::parse_shape("11010519491231002X").unwrap()),
            evidence: None,
            outcome: Outcome::Ok,
            authorised_by: how,
            detail: Some("the service's own words".into()),
        }
    }

    // R-PW-9: the holder's trail says who by role (the holder's own sessions as "you", without
    // their id), where, and how a payment was authorised, in the page's language.
    #[test]
    fn the_trail_reads_in_words() {
        let records = [
            record(
                Role::Pharmacy,
                AuditAction::Purchase,
                Some(Authorisation::Password),
            ),
            record(Role::Cardholder, AuditAction::SelfLogin, None),
        ];
        let zh = trail_rows(&records, Lang::Zh);
        assert_eq!(zh[0].who, "定点药店 A000003 (110000)");
        assert_eq!(
            (zh[0].channel.as_str(), zh[0].action.as_str()),
            ("定点药店", "药店购药")
        );
        assert_eq!(zh[0].authorised_by, "凭社保密码");
        assert_eq!(zh[0].at, "2026-03-10 10:00");
        assert_eq!(
            (zh[1].who.as_str(), zh[1].channel.as_str()),
            ("本人", "网上")
        );
        assert_eq!(zh[1].authorised_by, "");
        let en = trail_rows(&records, Lang::En);
        assert_eq!(en[0].authorised_by, "The social-security password");
        assert_eq!(en[1].who, "You");
    }

    // R-CR-2: newest month first, money in yuan, a retiree without a base, a month not yet
    // credited without a day.
    #[test]
    fn the_contribution_record_is_newest_first_in_yuan() {
        let line = |month: &str, base: Option<i64>, credited: Option<&str>| ContributionLine {
            month: Month::parse(month).unwrap(),
            employer_id: "E000001".into(),
            base: base.map(Fen),
            assessed: Fen(48_000),
            employee_part: Fen(12_000),
            paid: credited.is_some(),
            credit: Fen(if credited.is_some() { 18_600 } else { 0 }),
            credited_on: credited.map(|d| d.parse().unwrap()),
        };
        let rows = contribution_rows(&[
            line("2026-03", Some(600_000), Some("2026-05-15")),
            line("2026-04", None, None),
        ]);
        assert_eq!(rows[0].month, "2026-04");
        assert_eq!(rows[0].base, None);
        assert_eq!(rows[0].credited_on, None);
        assert!(!rows[0].paid);
        assert_eq!(rows[1].base.as_deref(), Some("6000.00"));
        assert_eq!(
            (
                rows[1].assessed.as_str(),
                rows[1].employee_part.as_str(),
                rows[1].credit.as_str()
            ),
            ("480.00", "120.00", "186.00")
        );
        assert_eq!(rows[1].credited_on.as_deref(), Some("2026-05-15"));
    }
}
