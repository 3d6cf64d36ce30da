//! Line and bar charts as server-rendered SVG, each with a data table beside it.
//!
//! Why on the server and by hand: customs networks are closed (no CDN), the pages carry no
//! inline script (CSP `script-src 'self'`), and a chart is a function of numbers the
//! handler already holds. Rendering SVG markup here keeps the pages readable without
//! JavaScript and keeps the product free of a charting library.
//!
//! Accessibility: the `<svg>` is `role="img"` labelled by its `<title>` and `<desc>`, and
//! every chart comes with the same numbers as a `<table>` (with `<th scope>`) inside a
//! `<details>` element, which screen readers and keyboard users open like any other
//! control. All text is escaped here: the result is inserted into templates unescaped.
//!
//! Pure: no IO, no clock; the caller formats x values (dates, codes) with a closure.

use std::fmt::Write as _;

/// Plot geometry, in SVG user units.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;

/// Colours with at least 4.5:1 contrast on white (WCAG AA for the text they label).
const PALETTE: &[&str] = &["#1f5a96", "#a4161a", "#1e6b34", "#7a4b00", "#5b2a86"];

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points; drawn in the given order.
    pub points: Vec<(f64, f64)>,
}

/// What every chart is called and how its axes are labelled.
pub struct Labels<'a> {
    /// Unique id within the page (used for `aria-labelledby`).
    pub id: &'a str,
    /// Title, shown as the figure caption and the SVG `<title>`.
    pub title: &'a str,
    /// One-sentence description of what the chart shows.
    pub description: &'a str,
    /// X (category) axis label.
    pub x_label: &'a str,
    /// Y (value) axis label.
    pub y_label: &'a str,
}

/// A line chart over a numeric x axis (for example Unix milliseconds).
pub struct LineChart<'a> {
    /// Title, description, axis labels.
    pub labels: Labels<'a>,
    /// The lines.
    pub series: Vec<Series>,
    /// Formats an x value for ticks and the table.
    pub x_format: &'a dyn Fn(f64) -> String,
}

/// One bar, optionally with a reference mark (a deadline, a target).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category label.
    pub label: String,
    /// Bar height.
    pub value: f64,
    /// A reference value drawn as a horizontal mark across the bar.
    pub reference: Option<f64>,
}

/// A bar chart over categories.
pub struct BarChart<'a> {
    /// Title, description, axis labels.
    pub labels: Labels<'a>,
    /// What the reference mark means (table column header), if bars carry one.
    pub reference_label: Option<&'a str>,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id made safe for attributes and references: ASCII alphanumerics and `-` only.
fn safe_id(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if cleaned.is_empty() {
        "chart".to_owned()
    } else {
        format!("chart-{cleaned}")
    }
}

/// "Nice" tick values covering `[lo, hi]`: steps of 1, 2 or 5 times a power of ten, about
/// `target` of them. Always at least two ticks, strictly increasing, all finite.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    let (lo, hi) = if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        (lo - 1.0, hi + 1.0)
    } else {
        (lo, hi)
    };
    let raw_step = (hi - lo) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw_step)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() * step;
    let last = (hi / step).ceil() * step;
    let n = ((last - first) / step).round() as usize;
    (0..=n.clamp(1, 1000))
        .map(|i| first + i as f64 * step)
        .collect()
}

/// A number as a tick label: integers without decimals, others with up to two.
pub fn format_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

struct Scale {
    lo: f64,
    hi: f64,
    from: f64,
    to: f64,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        let span = self.hi - self.lo;
        let t = if span > 0.0 {
            (v - self.lo) / span
        } else {
            0.5
        };
        self.from + t.clamp(0.0, 1.0) * (self.to - self.from)
    }
}

fn open_svg(out: &mut String, id: &str, title: &str, description: &str) {
    let _ = write!(
        out,
        r#"<svg id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" style="max-width:{WIDTH}px" xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
}

fn axes(out: &mut String, x_label: &str, y_label: &str, y_scale: &Scale, y_ticks: &[f64]) {
    let plot_bottom = HEIGHT - BOTTOM;
    for tick in y_ticks {
        let y = y_scale.at(*tick);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#d9dde3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1b1f24">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&format_number(*tick))
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{plot_bottom}" stroke="#1b1f24"/><line x1="{LEFT}" x2="{:.1}" y1="{plot_bottom}" y2="{plot_bottom}" stroke="#1b1f24"/>"##,
        WIDTH - RIGHT
    );
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#1b1f24">{}</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="#1b1f24">{}</text>"##,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 8.0,
        escape(x_label),
        TOP + (plot_bottom - TOP) / 2.0,
        escape(y_label)
    );
}

fn table_open(out: &mut String, id: &str, headers: &[&str]) {
    let _ = write!(
        out,
        r#"<details><summary>Data of this chart as a table</summary><table aria-describedby="{id}-title"><thead><tr>"#
    );
    for h in headers {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, escape(h));
    }
    out.push_str("</tr></thead><tbody>");
}

/// Renders a line chart and its data table as one `<figure>`.
pub fn line_chart(chart: &LineChart<'_>) -> String {
    let id = safe_id(chart.labels.id);
    let points: Vec<(f64, f64)> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let (x_lo, x_hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (x, _)| {
            (lo.min(*x), hi.max(*x))
        });
    let y_hi = points.iter().fold(0.0f64, |hi, (_, y)| hi.max(*y));
    let y_lo = points.iter().fold(0.0f64, |lo, (_, y)| lo.min(*y));
    let y_ticks = nice_ticks(y_lo, y_hi, 5);
    let y_scale = Scale {
        lo: y_ticks[0],
        hi: y_ticks[y_ticks.len() - 1],
        from: HEIGHT - BOTTOM,
        to: TOP,
    };
    let (x_lo, x_hi) = if x_lo.is_finite() {
        (x_lo, x_hi)
    } else {
        (0.0, 1.0)
    };
    let x_scale = Scale {
        lo: x_lo,
        hi: x_hi,
        from: LEFT,
        to: WIDTH - RIGHT,
    };

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<figure class="chart" aria-labelledby="{id}-caption"><figcaption id="{id}-caption">{}</figcaption>"#,
        escape(chart.labels.title)
    );
    open_svg(&mut out, &id, chart.labels.title, chart.labels.description);
    axes(
        &mut out,
        chart.labels.x_label,
        chart.labels.y_label,
        &y_scale,
        &y_ticks,
    );
    // Three x ticks: first, middle and last value, formatted by the caller.
    if x_hi > x_lo {
        for x in [x_lo, (x_lo + x_hi) / 2.0, x_hi] {
            let px = x_scale.at(x);
            let anchor = if x == x_lo {
                "start"
            } else if x == x_hi {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                out,
                r##"<text x="{px:.1}" y="{:.1}" text-anchor="{anchor}" fill="#1b1f24">{}</text>"##,
                HEIGHT - BOTTOM + 16.0,
                escape(&(chart.x_format)(x))
            );
        }
    }
    for (i, series) in chart.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = series
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", x_scale.at(*x), y_scale.at(*y)))
            .collect();
        if path.len() == 1 {
            let (cx, cy) = path[0].split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                out,
                r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                escape(&series.label)
            );
        } else if !path.is_empty() {
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
                path.join(" "),
                escape(&series.label)
            );
        }
        let legend_y = HEIGHT - 24.0;
        let legend_x = LEFT + 150.0 * i as f64;
        let _ = write!(
            out,
            r##"<rect x="{legend_x:.1}" y="{:.1}" width="12" height="4" fill="{colour}"/><text x="{:.1}" y="{legend_y:.1}" fill="#1b1f24">{}</text>"##,
            legend_y - 4.0,
            legend_x + 16.0,
            escape(&series.label)
        );
    }
    out.push_str("</svg>");
    table_open(
        &mut out,
        &id,
        &[chart.labels.x_label, "Series", chart.labels.y_label],
    );
    for series in &chart.series {
        for (x, y) in &series.points {
            let _ = write!(
                out,
                r#"<tr><th scope="row">{}</th><td>{}</td><td class="num">{}</td></tr>"#,
                escape(&(chart.x_format)(*x)),
                escape(&series.label),
                escape(&format_number(*y))
            );
        }
    }
    out.push_str("</tbody></table></details></figure>");
    out
}

/// Renders a bar chart and its data table as one `<figure>`.
pub fn bar_chart(chart: &BarChart<'_>) -> String {
    let id = safe_id(chart.labels.id);
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let y_hi = chart.bars.iter().fold(0.0f64, |hi, b| {
        hi.max(finite(b.value)).max(b.reference.map_or(0.0, finite))
    });
    let y_lo = chart
        .bars
        .iter()
        .fold(0.0f64, |lo, b| lo.min(finite(b.value)));
    let y_ticks = nice_ticks(y_lo, y_hi, 5);
    let y_scale = Scale {
        lo: y_ticks[0],
        hi: y_ticks[y_ticks.len() - 1],
        from: HEIGHT - BOTTOM,
        to: TOP,
    };
    let plot_width = WIDTH - LEFT - RIGHT;
    let slot = plot_width / chart.bars.len().max(1) as f64;
    let bar_width = (slot * 0.6).max(1.0);

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<figure class="chart" aria-labelledby="{id}-caption"><figcaption id="{id}-caption">{}</figcaption>"#,
        escape(chart.labels.title)
    );
    open_svg(&mut out, &id, chart.labels.title, chart.labels.description);
    axes(
        &mut out,
        chart.labels.x_label,
        chart.labels.y_label,
        &y_scale,
        &y_ticks,
    );
    let zero = y_scale.at(0.0);
    // Label every bar when they fit, else about twelve of them.
    let label_every = chart.bars.len().div_ceil(12).max(1);
    for (i, bar) in chart.bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_width) / 2.0;
        let top = y_scale.at(finite(bar.value));
        let (y, h) = if top <= zero {
            (top, zero - top)
        } else {
            (zero, top - zero)
        };
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bar_width:.1}" height="{h:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            PALETTE[0],
            escape(&bar.label),
            escape(&format_number(bar.value))
        );
        if let Some(reference) = bar.reference.filter(|r| r.is_finite()) {
            let ry = y_scale.at(reference);
            let _ = write!(
                out,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{ry:.1}" y2="{ry:.1}" stroke="{}" stroke-width="2" stroke-dasharray="4 2"><title>{}: {}</title></line>"#,
                x - 3.0,
                x + bar_width + 3.0,
                PALETTE[1],
                escape(chart.reference_label.unwrap_or("Reference")),
                escape(&format_number(reference))
            );
        }
        if i % label_every == 0 {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#1b1f24">{}</text>"##,
                x + bar_width / 2.0,
                HEIGHT - BOTTOM + 16.0,
                escape(&bar.label)
            );
        }
    }
    out.push_str("</svg>");
    let mut headers = vec![chart.labels.x_label, chart.labels.y_label];
    if let Some(r) = chart.reference_label {
        headers.push(r);
    }
    table_open(&mut out, &id, &headers);
    for bar in &chart.bars {
        let _ = write!(
            out,
            r#"<tr><th scope="row">{}</th><td class="num">{}</td>"#,
            escape(&bar.label),
            escape(&format_number(bar.value))
        );
        if chart.reference_label.is_some() {
            let _ = write!(
                out,
                r#"<td class="num">{}</td>"#,
                bar.reference.map(format_number).unwrap_or_default()
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></details></figure>");
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn numbers_in(svg: &str) -> Vec<f64> {
        let mut out = Vec::new();
        for attr in [
            " x=\"", " y=\"", " x1=\"", " x2=\"", " y1=\"", " y2=\"", " cx=\"", " cy=\"",
        ] {
            for piece in svg.split(attr).skip(1) {
                let value = piece.split('"').next().unwrap();
                out.push(value.parse::<f64>().unwrap());
            }
        }
        for piece in svg.split(" points=\"").skip(1) {
            for pair in piece.split('"').next().unwrap().split(' ') {
                let (x, y) = pair.split_once(',').unwrap();
                out.push(x.parse().unwrap());
                out.push(y.parse().unwrap());
            }
        }
        out
    }

    #[test]
    fn text_is_escaped_everywhere() {
        let html = bar_chart(&BarChart {
            labels: Labels {
                id: "x\"><script>",
                title: "<script>alert(1)</script>",
                description: "a & b",
                x_label: "\"x\"",
                y_label: "y'",
            },
            reference_label: Some("<deadline>"),
            bars: vec![Bar {
                label: "<b>".into(),
                value: 2.0,
                reference: Some(3.0),
            }],
        });
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("<deadline>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains(r#"id="chart-x---script-""#));
    }

    #[test]
    fn a_line_chart_has_title_description_and_a_table_row_per_point() {
        let fmt = |x: f64| format!("day {x}");
        let html = line_chart(&LineChart {
            labels: Labels {
                id: "growth",
                title: "Log size",
                description: "Entries over time",
                x_label: "Day",
                y_label: "Entries",
            },
            series: vec![Series {
                label: "entries".into(),
                points: vec![(1.0, 3.0), (2.0, 7.0), (3.0, 12.0)],
            }],
            x_format: &fmt,
        });
        assert!(
            html.contains(r#"role="img" aria-labelledby="chart-growth-title chart-growth-desc""#)
        );
        assert!(html.contains("<title id=\"chart-growth-title\">Log size</title>"));
        assert_eq!(html.matches("<tr><th scope=\"row\">").count(), 3);
        assert!(
            html.contains("<th scope=\"row\">day 2</th><td>entries</td><td class=\"num\">7</td>")
        );
        assert!(html.contains("<polyline"));
    }

    #[test]
    fn ticks_are_nice() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(nice_ticks(0.0, 0.0, 5), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(3.0), "3");
    }

    proptest! {
        #[test]
        fn ticks_cover_the_range_and_increase(lo in -1e9f64..1e9, span in 0f64..1e9, target in 1usize..12) {
            let hi = lo + span;
            let ticks = nice_ticks(lo, hi, target);
            prop_assert!(ticks.len() >= 2);
            prop_assert!(ticks[0] <= lo);
            prop_assert!(*ticks.last().unwrap() >= hi);
            prop_assert!(ticks.windows(2).all(|w| w[0] < w[1]));
        }

        #[test]
        fn every_coordinate_is_finite_and_inside_the_canvas(
            points in proptest::collection::vec((-1e12f64..1e12, -1e9f64..1e9), 0..40),
            bars in proptest::collection::vec((-1e6f64..1e9, proptest::option::of(0f64..1e9)), 0..40),
        ) {
            let fmt = |x: f64| format!("{x}");
            let line = line_chart(&LineChart {
                labels: Labels { id: "p", title: "t", description: "d", x_label: "x", y_label: "y" },
                series: vec![Series { label: "s".into(), points }],
                x_format: &fmt,
            });
            let bar = bar_chart(&BarChart {
                labels: Labels { id: "b", title: "t", description: "d", x_label: "x", y_label: "y" },
                reference_label: Some("r"),
                bars: bars.into_iter().enumerate().map(|(i, (value, reference))| Bar { label: i.to_string(), value, reference }).collect(),
            });
            for svg in [line, bar] {
                for n in numbers_in(&svg) {
                    prop_assert!(n.is_finite());
                    prop_assert!((-10.0..=WIDTH + 10.0).contains(&n), "{n} outside the canvas");
                }
            }
        }
    }
}
