//! The report's charts, drawn as inline SVG with `plotters`.
//!
//! Only geometry comes from floating point here: every figure a reader
//! reads is in the page's tables, from the run's exact decimal strings.
//! The charts carry no identifier of the run (no provider, episode or
//! file name), only fixed labels and axis numbers, so no text from the
//! run's files ever reaches an SVG.

use plotters::coord::types::RangedCoordf64;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::model::money::Money;

/// A chart that could not be drawn: writing SVG into a `String` fails
/// only on a bug.
#[derive(Debug, thiserror::Error)]
#[error("drawing a chart failed: {0}")]
pub struct ChartError(String);

type Drawn = Result<String, ChartError>;

/// The SVG text of a chart `size` pixels large, drawn by `draw`.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(
        &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
) -> Drawn {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| ChartError(e.to_string()))?;
        draw(&root).map_err(|e| ChartError(e.to_string()))?;
        root.present().map_err(|e| ChartError(e.to_string()))?;
    }
    Ok(text)
}

/// Dollars, for geometry only.
pub fn dollars(amount: Money) -> f64 {
    // Cents beyond 2^53 lose precision, which a pixel never shows.
    amount.cents() as f64 / 100.0
}

/// An axis label: whole dollars with thousands separators.
fn axis_dollars(value: &f64) -> String {
    let rounded = value.round();
    let cents = Money::from_cents(rounded as i128 * 100);
    let text = super::grouped(&cents.to_string());
    text.trim_end_matches(".00").to_owned()
}

/// The mesh of a chart of episodes or money: dollars up the side, no
/// labels along (each bar is labelled, or is an episode of a sorted run).
fn dollar_axis(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    chart
        .configure_mesh()
        .max_light_lines(0)
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(5)
        .y_label_formatter(&|y| axis_dollars(y))
        .draw()
}

/// The colour of each part of the flow of rows, in order.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x2b, 0x6c, 0xb0),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xe7, 0x29, 0x8a),
    RGBColor(0x66, 0xa6, 0x1e),
    RGBColor(0xe6, 0xab, 0x02),
    RGBColor(0x99, 0x99, 0x99),
];

/// The colour of part `i` of a stacked bar, as the page's legend shows it.
pub fn colour(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// One horizontal bar split into `parts` (rows read by what became of
/// them): "nothing is lost" as a picture, each part as wide as its share.
pub fn stacked_bar(parts: &[u64]) -> Drawn {
    let total: u64 = parts.iter().sum();
    svg((720, 56), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(6)
            .build_cartesian_2d(0f64..total.max(1) as f64, 0f64..1f64)?;
        let mut start = 0f64;
        for (i, &part) in parts.iter().enumerate() {
            let end = start + part as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(start, 0.0), (end, 1.0)],
                PALETTE[i % PALETTE.len()].filled(),
            )))?;
            start = end;
        }
        Ok(())
    })
}

/// Horizontal bars, one per value, labelled `labels` (fixed names: statuses,
/// reasons, claim categories; never ids).
pub fn bars(labels: &[&str], values: &[f64]) -> Drawn {
    let n = values.len().max(1);
    let max = values.iter().copied().fold(0f64, f64::max).max(1.0);
    let height = 40 + 26 * n as u32;
    svg((560, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(8)
            .build_cartesian_2d(-max * 0.45..max * 1.05, 0f64..n as f64)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .disable_x_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&|x| {
                if *x < 0.0 {
                    String::new()
                } else {
                    axis_dollars(x)
                }
            })
            .x_labels(5)
            .draw()?;
        chart.draw_series(labels.iter().enumerate().map(|(i, label)| {
            let top = (n - i) as f64;
            Text::new(
                (*label).to_owned(),
                (-max * 0.02, top - 0.5),
                TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            )
        }))?;
        chart.draw_series(values.iter().enumerate().map(|(i, &v)| {
            let top = (n - i) as f64;
            Rectangle::new([(0.0, top - 0.8), (v, top - 0.2)], PALETTE[0].filled())
        }))?;
        Ok(())
    })
}

/// One episode of a provider's chart, figures as dollars.
#[derive(Clone, Copy, Debug)]
pub struct EpisodePoint {
    /// Actual spending.
    pub actual: f64,
    /// Effective target, when priced.
    pub target: Option<f64>,
    /// The high-cost cap of its price group and period, where its type has one.
    pub cap: Option<f64>,
    /// The low-cost floor, where its type has one.
    pub floor: Option<f64>,
}

/// Above this many episodes a chart draws lines, not one bar each: the
/// page stays small and the shape readable.
const MOST_BARS: usize = 80;

/// Actual spending per episode, sorted ascending, against each episode's
/// target (dots), with the cap (red dash) and floor (green dash) its group
/// was priced with. `points` must be sorted by actual.
pub fn episodes(points: &[EpisodePoint]) -> Drawn {
    let n = points.len().max(1);
    let top = points
        .iter()
        .flat_map(|p| [Some(p.actual), p.target, p.cap, p.floor])
        .flatten()
        .fold(0f64, f64::max)
        .max(1.0);
    let cap_colour = RGBColor(0xc0, 0x39, 0x2b);
    let floor_colour = RGBColor(0x1b, 0x9e, 0x77);
    let target_colour = RGBColor(0x11, 0x11, 0x11);
    svg((720, 260), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(20)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..n as f64, 0f64..top * 1.08)?;
        dollar_axis(&mut chart)?;
        let bars = points.len() <= MOST_BARS;
        if bars {
            chart.draw_series(points.iter().enumerate().map(|(i, p)| {
                let x = i as f64;
                let over = p.target.is_some_and(|t| p.actual > t);
                let colour = if over { PALETTE[1] } else { PALETTE[0] };
                Rectangle::new([(x + 0.15, 0.0), (x + 0.85, p.actual)], colour.filled())
            }))?;
            chart.draw_series(points.iter().enumerate().filter_map(|(i, p)| {
                let t = p.target?;
                Some(Circle::new((i as f64 + 0.5, t), 4, target_colour.filled()))
            }))?;
            for (pick, colour) in [
                (
                    (|p: &EpisodePoint| p.cap) as fn(&EpisodePoint) -> Option<f64>,
                    cap_colour,
                ),
                (|p: &EpisodePoint| p.floor, floor_colour),
            ] {
                chart.draw_series(points.iter().enumerate().filter_map(|(i, p)| {
                    let y = pick(p)?;
                    let x = i as f64;
                    Some(PathElement::new(
                        vec![(x, y), (x + 1.0, y)],
                        colour.stroke_width(2),
                    ))
                }))?;
            }
        } else {
            let line = |pick: fn(&EpisodePoint) -> Option<f64>| -> Vec<(f64, f64)> {
                points
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| Some((i as f64 + 0.5, pick(p)?)))
                    .collect()
            };
            chart.draw_series(AreaSeries::new(
                line(|p| Some(p.actual)),
                0.0,
                PALETTE[0].mix(0.5),
            ))?;
            chart.draw_series(LineSeries::new(line(|p| p.target), &target_colour))?;
            chart.draw_series(LineSeries::new(line(|p| p.cap), cap_colour.stroke_width(2)))?;
            chart.draw_series(LineSeries::new(
                line(|p| p.floor),
                floor_colour.stroke_width(2),
            ))?;
        }
        Ok(())
    })
}

/// One step of a waterfall: a running total shown whole, or a change
/// drawn from the total before it.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// A total, drawn from zero.
    Total(f64),
    /// A change, drawn from the running total.
    Change(f64),
}

/// A waterfall: totals as full bars, changes as floating bars (green up,
/// red down), labelled below with fixed step names.
pub fn waterfall(labels: &[&str], steps: &[Step]) -> Drawn {
    let mut running = 0f64;
    let mut spans = Vec::with_capacity(steps.len());
    for step in steps {
        let (from, to) = match *step {
            Step::Total(total) => (0.0, total),
            Step::Change(change) => (running, running + change),
        };
        running = to;
        spans.push((from, to, matches!(step, Step::Total(_))));
    }
    let low = spans.iter().flat_map(|s| [s.0, s.1]).fold(0f64, f64::min);
    let high = spans.iter().flat_map(|s| [s.0, s.1]).fold(0f64, f64::max);
    let pad = ((high - low) * 0.08).max(1.0);
    let n = steps.len().max(1);
    svg((720, 240), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..n as f64, (low - 3.0 * pad)..(high + pad))?;
        dollar_axis(&mut chart)?;
        chart.draw_series(spans.iter().enumerate().map(|(i, &(from, to, total))| {
            let colour = match (total, to >= from) {
                (true, _) => PALETTE[0],
                (false, true) => PALETTE[2],
                (false, false) => RGBColor(0xc0, 0x39, 0x2b),
            };
            let x = i as f64;
            Rectangle::new([(x + 0.15, from), (x + 0.85, to)], colour.filled())
        }))?;
        chart.draw_series(labels.iter().enumerate().map(|(i, label)| {
            Text::new(
                (*label).to_owned(),
                (i as f64 + 0.5, low - 2.0 * pad),
                TextStyle::from(("sans-serif", 12).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0.0), (n as f64, 0.0)],
            BLACK.stroke_width(1),
        )))?;
        Ok(())
    })
}
