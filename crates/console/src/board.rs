//! The supervisor dashboard: tiles with today's lock counts, a server-rendered SVG chart of
//! new locks per Shanghai day by reason (no JavaScript library; htmx only swaps the chart when
//! the period changes), and the lists a supervisor acts on: pre-losses about to lapse
//! (R-LS-1), replacement cards waiting for collection (R-LS-5) and employers under a unit
//! lock (R-EM-2).

use crate::Console;
use crate::extract::ClerkSession;
use crate::i18n::{Lang, Tr};
use crate::page::{Frame, error_flash, render, see_other, when};
use crate::templates::{DashboardPage, Tile};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use jiff::SignedDuration;
use serde::Deserialize;
use shebao_domain::time::business_date;
use shebao_service::{DASHBOARD_DAYS_MAX, DailyLocks, Dashboard};
use std::fmt::Write;

/// Pre-losses lapsing within this window are listed (R-LS-1).
const LAPSE_WINDOW: SignedDuration = SignedDuration::from_hours(72);
const DAY_CHOICES: [u32; 4] = [7, 14, 30, 90];
const DAYS_DEFAULT: u32 = 14;

const COLOR_SS: &str = "#c62828";
const COLOR_FIN: &str = "#ef6c00";
const COLOR_LOSS: &str = "#1565c0";
const COLOR_UNIT: &str = "#6a1b9a";

#[derive(Deserialize)]
pub struct DaysQuery {
    days: Option<u32>,
}

fn days_of(q: &DaysQuery) -> u32 {
    q.days.unwrap_or(DAYS_DEFAULT).clamp(1, DASHBOARD_DAYS_MAX)
}

pub async fn dashboard(
    State(console): State<Console>,
    Query(q): Query<DaysQuery>,
    clerk: ClerkSession,
) -> Response {
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let days = days_of(&q);
    let board = match console.service.dashboard(&actor, days, LAPSE_WINDOW).await {
        Ok(b) => b,
        Err(e) => {
            console
                .sessions
                .set_flash(&cur, error_flash(&e, lang))
                .await;
            return see_other("/console/search", &[]);
        }
    };
    let c = board.counts;
    let today = business_date(board.now);
    let frame = Frame::new(
        lang,
        "console",
        "dash.title",
        Some(&cur),
        "/console/dashboard",
    );
    render(&DashboardPage {
        t: frame.t,
        frame,
        now: when(board.now),
        tiles: vec![
            tile("dash.ss_locked", c.ss_password, COLOR_SS),
            tile("dash.fin_locked", c.fin_password, COLOR_FIN),
            tile("dash.pre_loss", c.pre_loss, COLOR_LOSS),
            tile("dash.temporary_loss", c.temporary_loss, COLOR_LOSS),
            tile("dash.formal_loss", c.formal_loss, COLOR_LOSS),
            tile("dash.replacements", c.replacements_waiting, "#2e7d32"),
            tile("dash.unit_locked", board.unit_locks.count, COLOR_UNIT),
        ],
        days,
        day_choices: DAY_CHOICES.to_vec(),
        chart: chart_html(&board, lang),
        lapsing: board
            .lapsing
            .iter()
            .map(|l| (l.card_no.clone(), when(l.lapses_at)))
            .collect(),
        due: board
            .replacements
            .iter()
            .map(|r| {
                (
                    r.card_no.clone(),
                    r.ready_on.to_string(),
                    r.ready_on <= today,
                )
            })
            .collect(),
        unit_locked: board.unit_locks.count,
        unit_locked_more: u64::try_from(board.unit_locks.employers.len())
            .is_ok_and(|shown| shown < board.unit_locks.count),
        unit_locked_list: board
            .unit_locks
            .employers
            .iter()
            .map(|e| (e.employer_id.clone(), e.name.clone(), e.since.to_string()))
            .collect(),
    })
}

fn tile(key: &'static str, value: u64, color: &'static str) -> Tile {
    Tile { key, value, color }
}

/// The chart alone, for htmx to swap in when the period changes.
pub async fn chart(
    State(console): State<Console>,
    Query(q): Query<DaysQuery>,
    clerk: ClerkSession,
) -> Response {
    let ClerkSession { actor, lang, .. } = clerk;
    match console
        .service
        .dashboard(&actor, days_of(&q), LAPSE_WINDOW)
        .await
    {
        Ok(board) => Html(chart_html(&board, lang)).into_response(),
        Err(e) => {
            let flash = error_flash(&e, lang);
            Html(format!(
                "<p class=\"flash-error\">{}</p>",
                escape(Tr::new(lang).get(flash.key))
            ))
            .into_response()
        }
    }
}

/// Escapes text for HTML and SVG.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A round number at or above `n` for the y axis: 1, 2, 5, 10, 20, 50, …
fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= n {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Stacked bars per day (social-security password locks, financial password locks, loss
/// reports), with a legend, each bar titled for hover and screen readers, and the same numbers
/// in a table below.
pub fn chart_html(board: &Dashboard, lang: Lang) -> String {
    let t = Tr::new(lang);
    let (width, height) = (760.0_f64, 280.0_f64);
    let (left, right, top, bottom) = (40.0, 10.0, 10.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let days = board.daily.len().max(1);
    let max = nice_ceiling(
        board
            .daily
            .iter()
            .map(DailyLocks::total)
            .max()
            .unwrap_or(0)
            .max(1),
    );
    let slot = plot_w / days as f64;
    let bar = (slot * 0.7).max(1.0);
    let y_of = |v: u64| top + plot_h - plot_h * (v as f64) / (max as f64);
    let title = escape(t.get("dash.chart"));
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"lock-chart\" role=\"img\" aria-labelledby=\"lock-chart-title\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\" font-family=\"sans-serif\">\
         <title id=\"lock-chart-title\">{title}</title>"
    );
    // Grid lines and y labels at 0, ½ and the top.
    for v in [0, max / 2, max] {
        let y = y_of(v);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ccc\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#666\">{v}</text>",
            width - right,
            left - 6.0,
            y + 4.0
        );
    }
    let label_every = days.div_ceil(10).max(1);
    for (i, d) in board.daily.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = 0u64;
        for (value, color, key) in [
            (d.ss_password, COLOR_SS, "dash.legend.ss"),
            (d.fin_password, COLOR_FIN, "dash.legend.fin"),
            (d.loss, COLOR_LOSS, "dash.legend.loss"),
        ] {
            if value == 0 {
                continue;
            }
            let (y_top, y_bottom) = (y_of(base + value), y_of(base));
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y_top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{} {}: {value}</title></rect>",
                y_bottom - y_top,
                d.day,
                escape(t.get(key)),
            );
            base += value;
        }
        // Every k-th day, and the last one unless it would crowd the label before it.
        if i % label_every == 0 || (i + 1 == days && 2 * (i % label_every) >= label_every) {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                x + bar / 2.0,
                height - bottom + 16.0,
                d.day.strftime("%m-%d")
            );
        }
    }
    let _ = write!(
        svg,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#444\"/></svg>",
        width - right,
        top + plot_h,
        top + plot_h
    );
    let mut html = String::new();
    let _ = write!(
        html,
        "<p class=\"legend\"><span><i class=\"sw\" style=\"background:{COLOR_SS}\"></i>{}</span>\
         <span><i class=\"sw\" style=\"background:{COLOR_FIN}\"></i>{}</span>\
         <span><i class=\"sw\" style=\"background:{COLOR_LOSS}\"></i>{}</span></p>{svg}",
        escape(t.get("dash.legend.ss")),
        escape(t.get("dash.legend.fin")),
        escape(t.get("dash.legend.loss")),
    );
    let _ = write!(
        html,
        "<details><summary>{title}</summary><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        escape(t.get("dash.day")),
        escape(t.get("dash.legend.ss")),
        escape(t.get("dash.legend.fin")),
        escape(t.get("dash.legend.loss")),
        escape(t.get("dash.total")),
    );
    for d in board.daily.iter().rev() {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.day,
            d.ss_password,
            d.fin_password,
            d.loss,
            d.total()
        );
    }
    html.push_str("</tbody></table></details>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use shebao_service::LockCounts;

    fn board() -> Dashboard {
        Dashboard {
            now: "2026-03-03T01:00:00Z".parse().unwrap(),
            counts: LockCounts::default(),
            lapsing: vec![],
            replacements: vec![],
            unit_locks: shebao_service::UnitLocks::default(),
            daily: vec![
                DailyLocks {
                    day: date(2026, 3, 2),
                    ss_password: 2,
                    fin_password: 0,
                    loss: 1,
                },
                DailyLocks {
                    day: date(2026, 3, 3),
                    ss_password: 0,
                    fin_password: 1,
                    loss: 0,
                },
            ],
        }
    }

    #[test]
    fn the_chart_has_one_bar_per_reason_and_day_with_events() {
        let html = chart_html(&board(), Lang::Zh);
        assert_eq!(html.matches("<rect class=\"bar\"").count(), 3);
        assert!(html.contains("每日新增锁定"));
        assert!(html.contains("<td>2026-03-02</td><td>2</td><td>0</td><td>1</td><td>3</td>"));
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(180), 200);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
