//! The employer screen at the service window: an employer's months (assessed, paid, paid on
//! time, due day, payment data arrival, crediting), its arrears and its unit lock with what the
//! holders are told (R-EM-1, R-EM-2, R-EM-5), and the two forms that change them: tax receipts
//! the employer shows (R-EM-3, D-9) and the tax bureau's payment record (R-EM-4). Every
//! decision — what locks, what lifts, which months are still missing — is the service's
//! (`Service::employer`, `submit_tax_receipts`, `record_tax_payment`); this module only turns
//! form fields into the service's inputs and its answers into words.

use crate::Console;
use crate::clerk::clerk;
use crate::i18n::Tr;
use crate::page::{Frame, error_flash, render, see_other, when, yuan};
use crate::session::{self, Flash, csrf_ok};
use crate::templates::{EmployerBox, EmployerPage, MonthRow, UnitLockBox};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use shebao_service::views::lock_message;
use shebao_service::{EmployerView, LockReason, NewPayment, ServiceError};

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
pub async fn find(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<FindQuery>,
) -> Response {
    let lang = session::lang(&headers);
    let (mut cur, _) = match clerk(&console, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
    })
}

pub async fn employer_page(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = session::lang(&headers);
    let (mut cur, actor) = match clerk(&console, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(here) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    let employer = match console.service.employer(&actor, &id).await {
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
    let frame = Frame::new(lang, "console", "emp.title", Some(&cur), &here);
    render(&EmployerPage {
        t: frame.t,
        frame,
        query: id,
        employer,
    })
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
struct Fields(Vec<(String, String)>);

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
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = session::lang(&headers);
    let t = Tr::new(lang);
    let (cur, actor) = match clerk(&console, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(back) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    let fields = Fields(fields);
    let flash = if !csrf_ok(&cur, fields.get("csrf")) {
        form_refusal("err.csrf", None, t)
    } else {
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
        match refusal {
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
        }
    };
    console.sessions.set_flash(&cur.key, flash);
    see_other(&back, &[])
}

/// R-EM-4: the tax bureau's record of a payment, typed in from its data.
pub async fn payment(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = session::lang(&headers);
    let t = Tr::new(lang);
    let (cur, actor) = match clerk(&console, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(back) = employer_path(&id) else {
        return see_other("/console/employers", &[]);
    };
    let fields = Fields(fields);
    let flash = if !csrf_ok(&cur, fields.get("csrf")) {
        form_refusal("err.csrf", None, t)
    } else {
        match payment_row(&fields, 1, "record_no") {
            None => form_refusal("emp.no_rows", None, t),
            Some(Err((_, key))) => form_refusal(key, None, t),
            Some(Ok(row)) => match console.service.record_tax_payment(&actor, &id, row).await {
                Ok(_) => Flash {
                    ok: true,
                    key: "emp.payment.done",
                    detail: None,
                },
                Err(e) => error_flash(&e, lang),
            },
        }
    };
    console.sessions.set_flash(&cur.key, flash);
    see_other(&back, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

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
