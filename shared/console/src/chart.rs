//! Charts of verifications per day, drawn as SVG on the server: no script, and the numbers stay
//! in a table beside every chart for anyone who cannot see it.

use std::fmt::Write;

use latchkey_core::keys::model::DailyUsage;

use crate::display::Display;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// A stacked bar per day (successful below, failed above), with a y scale and the first, middle
/// and last dates; `label` names the chart for screen readers.
pub fn daily_bars(days: &[DailyUsage], display: &Display, label: &str) -> String {
    let peak = days
        .iter()
        .map(|d| d.success.saturating_add(d.failed))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = nice_ceiling(peak);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT) / days.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let (total_ok, total_failed) = totals(days);
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}: {total_ok} successful and {total_failed} failed over {} days">"#,
        escape(label),
        days.len()
    );
    for step in 0..=2 {
        let value = match step {
            0 => 0,
            1 => scale / 2,
            _ => scale,
        };
        let y = TOP + plot_h - plot_h * (value as f64 / scale as f64);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{WIDTH}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{value}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
    }
    for (i, d) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let ok_h = plot_h * d.success as f64 / scale as f64;
        let failed_h = plot_h * d.failed as f64 / scale as f64;
        let base = TOP + plot_h;
        let day = escape(&display.day(&d.date));
        let _ = write!(
            svg,
            r#"<g><title>{day}: {} successful, {} failed</title><rect class="ok" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{ok_h:.1}"/><rect class="failed" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{failed_h:.1}"/></g>"#,
            d.success,
            d.failed,
            base - ok_h,
            base - ok_h - failed_h,
        );
    }
    // The first date starts at its bar and the last ends at its own, so neither leaves the chart.
    let ticks = match days.len() {
        0 => vec![],
        1 => vec![(0, "middle")],
        n => vec![(0, "start"), (n / 2, "middle"), (n - 1, "end")],
    };
    for (i, anchor) in ticks {
        let x = match anchor {
            "start" => LEFT + slot * i as f64,
            "end" => LEFT + slot * (i + 1) as f64,
            _ => LEFT + slot * i as f64 + slot / 2.0,
        };
        let _ = write!(
            svg,
            r#"<text class="axis" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            HEIGHT - 8.0,
            escape(&display.day(&days[i].date))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The successful and failed verifications of `days` together (saturating: the counters are
/// whatever storage holds).
pub fn totals(days: &[DailyUsage]) -> (u64, u64) {
    days.iter().fold((0u64, 0u64), |(ok, failed), d| {
        (
            ok.saturating_add(d.success),
            failed.saturating_add(d.failed),
        )
    })
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `n`.
fn nice_ceiling(n: u64) -> u64 {
    let mut magnitude = 1u64;
    loop {
        for step in [1u64, 2, 5] {
            match step.checked_mul(magnitude) {
                Some(candidate) if candidate >= n => return candidate,
                Some(_) => {}
                None => return n,
            }
        }
        match magnitude.checked_mul(10) {
            Some(next) => magnitude = next,
            None => return n,
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn day(n: u32, success: u64, failed: u64) -> DailyUsage {
        DailyUsage {
            date: NaiveDate::from_ymd_opt(2026, 11, n).unwrap(),
            success,
            failed,
        }
    }

    #[test]
    fn each_day_is_a_bar_with_its_numbers() {
        let svg = daily_bars(
            &[day(1, 3, 1), day(2, 0, 0), day(3, 7, 2)],
            &Display::default(),
            "Verifications",
        );
        assert_eq!(svg.matches("<g>").count(), 3);
        assert!(svg.contains("2026-11-03: 7 successful, 2 failed"));
        assert!(svg.contains("10 successful and 3 failed over 3 days"));
        assert!(svg.contains(">10</text>"), "the scale tops at 10: {svg}");
    }

    #[test]
    fn the_scale_is_a_round_number() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(999), 1000);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }

    proptest! {
        #[test]
        fn no_bar_leaves_the_plot(counts in proptest::collection::vec((0u64..u64::MAX / 4, 0u64..u64::MAX / 4), 0..40)) {
            let days: Vec<_> = counts.iter().map(|(s, f)| day(1, *s, *f)).collect();
            let svg = daily_bars(&days, &Display::default(), "x");
            prop_assert!(!svg.contains("NaN") && !svg.contains("inf"));
            prop_assert!(!svg.contains("y=\"-"));
        }
    }
}
