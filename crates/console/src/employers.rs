//! The employer screen at the service window: an employer's months (assessed, paid, paid on
//! time, due day, payment data arrival, crediting), its arrears and its unit lock with what the
//! holders are told (R-EM-1, R-EM-2, R-EM-5), and the two forms that change them: tax receipts
//! the employer shows (R-EM-3, D-9), the tax bureau's payment record (R-EM-4), and the bulk
//! application for the insured people's cards (R-ID-3). Every decision — what locks, what
//! lifts, which months are still missing, who gets a card — is the service's
//! (`Service::employer`, `submit_tax_receipts`, `record_tax_payment`, `apply_for_cards`); this
//! module only turns form fields into the service's inputs and its answers into words.

use crate::Console;
use crate::extract::{ClerkForm, ClerkSession, CsrfForm, PathParams, RefusedForm, refuse_to};
use crate::i18n::{Lang, Tr};
use crate::page::{Frame, error_flash, render, see_other, when, yuan};
use crate::session::{Current, Flash};
use crate::templates::{AppliedBox, EmployerBox, EmployerPage, MonthRow, UnitLockBox};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use shebao_service::model::Actor;
use shebao_service::request_key::RequestKey;
use shebao_service::views::lock_message;
use shebao_service::{CardApplications, EmployerView, LockReason, NewPayment, ServiceError};

/// Receipt rows the form offers at least (R-EM-3: the last 3 months' receipts).
const RECEIPT_ROWS_MIN: usize = 3;
/// Receipt rows the form offers at most; a longer arrears is shown in more than one go.
pub const RECEIPT_ROWS_MAX: usize = 12;
/// Digits of whole yuan a typed amount may have (the service's own ceiling is 10 million
/// yuan; this only keeps the arithmetic far from overflowing).
const YUAN_DIGITS_MAX: usize = 12;

#[derive(Deserialize)]
pub struct FindQuery {
    id: Option<String>,
}

/// An employer id in a path: letters and digits only, anything else is not looked up.
fn employer_path(id: &str) -> Option<String> {
    (!id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| format!("/console/employers/{id}"))
}

/// The search box; with `?id=` it goes to that employer's page.
pub async fn find(Query(q): Query<FindQuery>, clerk: ClerkSession) -> Response {
    let ClerkSession {
        current: mut cur,
        lang,
        ..
    } = clerk;
    let query = q.id.unwrap_or_default().trim().to_uppercase();
    if !query.is_empty() {
        match employer_path(&query) {
            Some(path) => return see_other(&path, &[]),
            None => {
                cur.flash = Some(Flash {
                    ok: false,
                    key: "emp.not_found",
                    detail: None,
                })
            }
        }
    }
    let frame = Frame::new(
        lang,
        "console",
        "emp.title",
        Some(&cur),
        "/console/employers",
    );
    render(&EmployerPage {
        t: frame.t,
        frame,
        query,
        employer: None,
        applied: None,
        id_numbers: String::new(),
        form_key: form_key(),
    })
}

pub async fn employer_page(
    State(console): State<Console>,
    Path(id): Path<String>,
    clerk: ClerkSession,
) -> Response {
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let Some(here) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    show_employer(&console, cur, &actor, lang, &id, &here, None, String::new()).await
}

/// The employer's page; after a bulk card application, with what it did (`applied`), and with
/// the list as typed when the form was refused (`id_numbers`).
#[allow(clippy::too_many_arguments)]
async fn show_employer(
    console: &Console,
    mut cur: Current,
    actor: &Actor,
    lang: Lang,
    id: &str,
    here: &str,
    applied: Option<AppliedBox>,
    id_numbers: String,
) -> Response {
    let employer = match console.service.employer(actor, id).await {
        Ok(view) => Some(employer_box(&view, Tr::new(lang))),
        Err(ServiceError::NotFound(_)) => {
            cur.flash = Some(Flash {
                ok: false,
                key: "emp.not_found",
                detail: None,
            });
            None
        }
        Err(e) => {
            cur.flash = Some(error_flash(&e, lang));
            None
        }
    };
    let frame = Frame::new(lang, "console", "emp.title", Some(&cur), here);
    render(&EmployerPage {
        t: frame.t,
        frame,
        query: id.to_owned(),
        applied: applied.filter(|_| employer.is_some()),
        employer,
        id_numbers,
        form_key: form_key(),
    })
}

/// A fresh key for a form whose double submission must not record twice (32 hex digits).
fn form_key() -> String {
    shebao_service::keys::random_bytes::<16>()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
        .unwrap_or_default()
}

/// The service's view as the page shows it (yuan, Shanghai times, the holders' words).
fn employer_box(view: &EmployerView, t: Tr) -> EmployerBox {
    let locking: &[shebao_domain::Month] = view
        .unit_lock
        .as_ref()
        .map(|l| l.months.as_slice())
        .unwrap_or_default();
    // The receipt form starts with the months holding the lock and the months in arrears filled
    // in (the ones the service asks for first, R-EM-3; a month paid late in full still holds
    // the lock until its receipt is shown); the clerk types what the receipts say.
    let mut first: Vec<shebao_domain::Month> = locking
        .iter()
        .chain(view.arrears_months.iter())
        .copied()
        .collect();
    first.sort();
    first.dedup();
    let mut prefill: Vec<String> = first
        .iter()
        .take(RECEIPT_ROWS_MAX)
        .map(ToString::to_string)
        .collect();
    while prefill.len() < RECEIPT_ROWS_MIN {
        prefill.push(String::new());
    }
    EmployerBox {
        id: view.employer.id.clone(),
        name: view.employer.name.clone(),
        region: view.employer.region.as_str().to_owned(),
        today: view.today.to_string(),
        arrears: view
            .arrears_months
            .iter()
            .map(ToString::to_string)
            .collect(),
        lock: view.unit_lock.as_ref().map(|l| {
            let words = lock_message(LockReason::EmployerArrears);
            UnitLockBox {
                since: l.since.to_string(),
                months: l.months.iter().map(ToString::to_string).collect(),
                message: t.pick(words.zh, words.en).to_owned(),
            }
        }),
        months: view
            .months
            .iter()
            .rev()
            .map(|r| {
                let m = &r.month;
                MonthRow {
                    month: m.month.to_string(),
                    assessed: yuan(m.assessed),
                    paid: yuan(m.paid),
                    paid_on_time: yuan(m.paid_on_time),
                    tax_paid: yuan(m.tax_paid),
                    due_on: m.due_on.to_string(),
                    data_arrived_on: r.data_arrived_on.map(|d| d.to_string()),
                    credited: r.credited_at.is_some(),
                    cleared_at: m.cleared_at.map(when),
                    in_arrears: view.arrears_months.contains(&m.month),
                    locking: locking.contains(&m.month),
                }
            })
            .collect(),
        receipt_rows: prefill,
    }
}

/// Money typed in yuan (`1234`, `1234.5`, `1234.56`) as integer fen; never through a float.
/// `None` for anything else: signs, thousands separators, more than two decimals, letters.
pub fn parse_yuan(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > YUAN_DIGITS_MAX
        || frac.len() > 2
        || !digits(whole)
        || !digits(frac)
        || (text.contains('.') && frac.is_empty())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac_fen: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()?.checked_mul(10)?,
        _ => frac.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(frac_fen)
}

/// The form's fields by name (rows are `month_N`, `amount_N`, `paid_on_N`, `receipt_no_N`).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl CsrfForm for Fields {
    fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

/// An employer's form refused for its token goes back to the employer's page; one posted to a
/// path that is no employer's goes to the employer search without a word, as it would with a
/// good token.
impl RefusedForm<ClerkSession> for Fields {
    async fn refused(console: &Console, clerk: ClerkSession, params: &PathParams) -> Response {
        match employer_path(params.get("id")) {
            Some(page) => refuse_to(console, &clerk.current, &page).await,
            None => see_other("/console/employers", &[]),
        }
    }
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
}

/// One typed row, or why it cannot be sent: the row number and the catalogue key.
fn payment_row(
    fields: &Fields,
    n: usize,
    reference_field: &str,
) -> Option<Result<NewPayment, (usize, &'static str)>> {
    let month = fields.get(&format!("month_{n}"));
    let amount = fields.get(&format!("amount_{n}"));
    let paid_on = fields.get(&format!("paid_on_{n}"));
    let reference = fields.get(&format!("{reference_field}_{n}"));
    // A row with only its pre-filled month is a row the clerk did not use.
    if amount.is_empty() && paid_on.is_empty() && reference.is_empty() {
        return None;
    }
    let Some(amount_fen) = parse_yuan(amount) else {
        return Some(Err((n, "emp.bad_amount")));
    };
    Some(Ok(NewPayment {
        month: month.to_owned(),
        amount_fen,
        paid_on: paid_on.to_owned(),
        reference: (!reference.is_empty()).then(|| reference.to_owned()),
    }))
}

/// A refusal of the form itself, before the service is asked.
fn form_refusal(key: &'static str, row: Option<usize>, t: Tr) -> Flash {
    Flash {
        ok: false,
        key,
        detail: row.map(|n| t.get("emp.row").replace("{n}", &n.to_string())),
    }
}

/// R-EM-3, D-9: the receipts the employer shows; the service decides whether the lock lifts
/// and which months are still missing.
pub async fn receipts(
    State(console): State<Console>,
    Path(id): Path<String>,
    posted: ClerkForm<Fields>,
) -> Response {
    let ClerkForm {
        clerk,
        form: fields,
    } = posted;
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let t = Tr::new(lang);
    let Some(back) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    let mut rows = Vec::new();
    let mut refusal = None;
    for n in 1..=RECEIPT_ROWS_MAX {
        match payment_row(&fields, n, "receipt_no") {
            None => {}
            Some(Ok(row)) => rows.push(row),
            Some(Err((n, key))) => {
                refusal = Some(form_refusal(key, Some(n), t));
                break;
            }
        }
    }
    let flash = match refusal {
        Some(f) => f,
        None if rows.is_empty() => form_refusal("emp.no_rows", None, t),
        None => match console.service.submit_tax_receipts(&actor, &id, rows).await {
            Ok(outcome) if outcome.lifted => Flash {
                ok: true,
                key: "emp.receipts.lifted",
                detail: Some(format!(
                    "{} {}",
                    t.get("emp.receipts.recorded"),
                    outcome.recorded
                )),
            },
            Ok(outcome) if outcome.view.unit_lock.is_some() => Flash {
                ok: false,
                key: "emp.receipts.still_locked",
                detail: Some(
                    outcome
                        .missing_months
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            },
            Ok(outcome) => Flash {
                ok: true,
                key: "emp.receipts.recorded",
                detail: Some(outcome.recorded.to_string()),
            },
            Err(e) => error_flash(&e, lang),
        },
    };
    console.sessions.set_flash(&cur, flash).await;
    see_other(&back, &[])
}

/// R-EM-4: the tax bureau's record of a payment, typed in from its data.
pub async fn payment(
    State(console): State<Console>,
    Path(id): Path<String>,
    posted: ClerkForm<Fields>,
) -> Response {
    let ClerkForm {
        clerk,
        form: fields,
    } = posted;
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let t = Tr::new(lang);
    let Some(back) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    // The form's key (a page rendered before the key existed sends none).
    let key = match fields.get("request_key") {
        "" => Ok(None),
        text => RequestKey::parse(text).map(Some),
    };
    let flash = match (payment_row(&fields, 1, "record_no"), key) {
        (_, Err(e)) => error_flash(&e, lang),
        (None, _) => form_refusal("emp.no_rows", None, t),
        (Some(Err((_, key))), _) => form_refusal(key, None, t),
        (Some(Ok(row)), Ok(key)) => match console
            .service
            .record_tax_payment(&actor, &id, row, key)
            .await
        {
            Ok(_) => Flash {
                ok: true,
                key: "emp.payment.done",
                detail: None,
            },
            Err(e) => error_flash(&e, lang),
        },
    };
    console.sessions.set_flash(&cur, flash).await;
    see_other(&back, &[])
}

/// The reasons the service skips a person in a bulk card application (R-ID-3), each worded in
/// the catalogue as `emp.apply.reason.<reason>` (the catalogue's test reads this list).
#[cfg(test)]
pub const SKIP_REASONS: &[&str] = &[
    "invalid_id_number",
    "listed_twice",
    "not_registered",
    "not_insured_here",
    "has_card",
    "card_lost",
];

/// The bulk application form: ID numbers, one a line.
#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id_numbers: String,
}

impl CsrfForm for ApplyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Refused for its token: back to the employer's page, as the other employer forms.
impl RefusedForm<ClerkSession> for ApplyForm {
    async fn refused(console: &Console, clerk: ClerkSession, params: &PathParams) -> Response {
        match employer_path(params.get("id")) {
            Some(page) => refuse_to(console, &clerk.current, &page).await,
            None => see_other("/console/employers", &[]),
        }
    }
}

/// The ID numbers typed, one a line (also separated by spaces, commas or semicolons, as a
/// pasted column or row arrives), upper-cased (a final `x` is `X`); empty lines dropped. Which
/// of them are ID numbers at all is the service's to say.
fn id_lines(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '，' | '；' | '、'))
        .filter(|s| !s.is_empty())
        .map(str::to_uppercase)
        .collect()
}

/// R-ID-3: the employer applies for its insured people's cards in bulk, at the window. The
/// page answers with what was issued (links to the new cards) and who was skipped, and why.
pub async fn apply_for_cards(
    State(console): State<Console>,
    Path(id): Path<String>,
    posted: ClerkForm<ApplyForm>,
) -> Response {
    let ClerkForm { clerk, form } = posted;
    let ClerkSession {
        current: mut cur,
        actor,
        lang,
    } = clerk;
    let t = Tr::new(lang);
    let Some(here) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    let ids = id_lines(&form.id_numbers);
    let (flash, applied, kept) = if ids.is_empty() {
        (
            form_refusal("emp.apply.empty", None, t),
            None,
            String::new(),
        )
    } else {
        match console.service.apply_for_cards(&actor, &id, ids).await {
            Ok(done) => {
                let (flash, applied) = applied_words(done, t);
                (flash, Some(applied), String::new())
            }
            // Refused as a whole (too many lines, an unknown employer): the list stays typed.
            Err(e) => (error_flash(&e, lang), None, form.id_numbers),
        }
    };
    cur.flash = Some(flash);
    show_employer(&console, cur, &actor, lang, &id, &here, applied, kept).await
}

/// A bulk application's outcome in the page's words: the counts as the flash, the lists.
fn applied_words(done: CardApplications, t: Tr) -> (Flash, AppliedBox) {
    let counts = t
        .get("emp.apply.counts")
        .replace("{issued}", &done.issued.len().to_string())
        .replace("{skipped}", &done.skipped.len().to_string());
    let flash = if done.issued.is_empty() {
        Flash {
            ok: false,
            key: "emp.apply.none",
            detail: Some(counts),
        }
    } else {
        Flash {
            ok: true,
            key: "emp.apply.done",
            detail: Some(counts),
        }
    };
    let applied = AppliedBox {
        issued: done
            .issued
            .into_iter()
            .map(|(id, card)| (id.as_str().to_owned(), card.to_string()))
            .collect(),
        skipped: done
            .skipped
            .into_iter()
            .map(|s| {
                let words = t
                    .get_or(&format!("emp.apply.reason.{}", s.reason), s.reason)
                    .to_owned();
                (s.id_number, words)
            })
            .collect(),
    };
    (flash, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_read_one_a_line() {
        assert_eq!(
            id_lines("11010519491231002x\r\n\r\n  110105198001010016 \n440524198001010013，bad"),
            [
                "11010519491231002X",
                "110105198001010016",
                "440524198001010013",
                "BAD"
            ]
        );
        assert!(id_lines(" \n\t ").is_empty());
    }

    #[test]
    fn yuan_becomes_fen_without_floats() {
        assert_eq!(parse_yuan("880"), Some(88_000));
        assert_eq!(parse_yuan(" 880.5 "), Some(88_050));
        assert_eq!(parse_yuan("880.05"), Some(88_005));
        assert_eq!(parse_yuan("0.01"), Some(1));
        // 0.1 + 0.2 in floats is not 0.3; in fen it is.
        assert_eq!(
            parse_yuan("0.1").zip(parse_yuan("0.2")).map(|(a, b)| a + b),
            parse_yuan("0.3")
        );
        assert_eq!(parse_yuan("999999999999.99"), Some(99_999_999_999_999));
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "1.234",
            "-1",
            "+1",
            "1,000",
            "1e3",
            "١٢",
            "12元",
            "1 000",
            "1000000000000",
        ] {
            assert_eq!(parse_yuan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_plain_ids_make_paths() {
        assert_eq!(
            employer_path("E000001").as_deref(),
            Some("/console/employers/E000001")
        );
        assert_eq!(employer_path("../x"), None);
        assert_eq!(employer_path(""), None);
    }

    #[test]
    fn an_untouched_row_is_skipped_and_a_bad_amount_is_named() {
        let fields = Fields(vec![
            ("month_1".into(), "2026-03".into()),
            ("month_2".into(), "2026-04".into()),
            ("amount_2".into(), "880.00".into()),
            ("paid_on_2".into(), "2026-04-20".into()),
            ("receipt_no_2".into(), "SB-4".into()),
            ("month_3".into(), "2026-05".into()),
            ("amount_3".into(), "88O".into()),
        ]);
        assert!(payment_row(&fields, 1, "receipt_no").is_none());
        let row = payment_row(&fields, 2, "receipt_no").unwrap().unwrap();
        assert_eq!(
            (row.month.as_str(), row.amount_fen, row.paid_on.as_str()),
            ("2026-04", 88_000, "2026-04-20")
        );
        assert_eq!(row.reference.as_deref(), Some("SB-4"));
        assert_eq!(
            payment_row(&fields, 3, "receipt_no").unwrap().err(),
            Some((3, "emp.bad_amount"))
        );
    }
}
