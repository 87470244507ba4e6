//! The report's charts, drawn with plotters' SVG backend into strings the
//! page inlines. plotters is built without fonts: its SVG backend writes
//! `<text>` elements and leaves the glyphs to the browser, so the charts
//! need no font files here and no network where they are read.
use std::error::Error;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::model::Fault;
use super::Summary;

mod dist;
mod parts;
mod time;

use parts::{draw_faults, tick, Key, FAULT_BAND};

/// One chart of the page. `svg` is the error's text when plotters could
/// not draw it: one broken chart must not cost the rest of the report.
#[derive(Clone, Debug)]
pub struct Chart {
    pub title: &'static str,
    /// What to read in it, shown under the title.
    pub caption: &'static str,
    pub svg: Result<String, String>,
}

/// All the charts, in the order the page shows them.
pub fn all(summary: &Summary) -> Vec<Chart> {
    vec![
        time::arrivals_and_queue(summary),
        time::admission_rate(summary),
        time::bookings_and_errors(summary),
        dist::time_to_book(summary),
        dist::wait_accuracy(summary),
        time::latency_p99(summary),
    ]
}

/// Faults in the order of their `t`, numbered from 1: the time charts
/// label crowded markers by number, and the page's fault table uses the
/// same numbers.
pub fn numbered(faults: &[Fault]) -> Vec<(usize, &Fault)> {
    let mut sorted: Vec<&Fault> = faults.iter().collect();
    sorted.sort_by(|a, b| a.t.total_cmp(&b.t));
    sorted.into_iter().enumerate().map(|(i, f)| (i + 1, f)).collect()
}

/// Pixel size every chart is drawn at; the page scales them to its width.
const SIZE: (u32, u32) = (960, 340);
/// The key's column: room for an RPC name such as `reservation/Book`.
const KEY_WIDTH: u32 = 200;

/// Series colours (Tableau's, without its red, which marks faults).
const C_BLUE: RGBColor = RGBColor(31, 119, 180);
const C_ORANGE: RGBColor = RGBColor(255, 127, 14);
const C_GREEN: RGBColor = RGBColor(44, 160, 44);
const C_PURPLE: RGBColor = RGBColor(148, 103, 189);
const C_GREY: RGBColor = RGBColor(110, 110, 110);
const C_FAULT: RGBColor = RGBColor(214, 39, 40);
/// For charts with one series per RPC, in turn.
const SERIES: [RGBColor; 9] = [
    C_BLUE,
    C_ORANGE,
    C_GREEN,
    C_PURPLE,
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    C_GREY,
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A drawing function returns its series' keys; boxed errors so it can
/// `?` plotters' errors whatever their coordinate types.
type DrawResult = Result<Vec<Key>, Box<dyn Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// The plane every time chart draws on: seconds of the run against a value.
type Plane<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws into a fresh SVG string, the plot on the left and its key in a
/// column on the right where it cannot hide data; errors come back as text.
fn render<F>(draw: F) -> Result<String, String>
where
    F: for<'a> FnOnce(&Area<'a>) -> DrawResult,
{
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (plot, key) = root.split_horizontally(SIZE.0 - KEY_WIDTH);
        let keys = draw(&plot).map_err(|e| e.to_string())?;
        parts::draw_keys(&key, &keys).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    // Inline SVG in HTML needs no namespace, and the page must not name
    // a URL, not even one that is never fetched.
    Ok(buf.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1))
}

/// A finite upper bound for a value axis: plotters divides by the range,
/// so an empty or all-zero series still gets an axis of 0..1.
fn upper(values: impl IntoIterator<Item = f64>) -> f64 {
    let max = values.into_iter().filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
    (max * 1.1).max(1.0)
}

/// The end of a time axis: the data's last second or the last fault's
/// end, whichever is later, so every fault marker falls on the chart.
fn time_end(data_end: f64, faults: &[Fault]) -> f64 {
    let fault_end = faults.iter().flat_map(|f| [f.t, f.until.unwrap_or(f.t)]).map(|t| t + 1.0);
    fault_end.chain([data_end]).filter(|v| v.is_finite()).fold(0.0_f64, f64::max).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn every_chart_renders_with_text_labels() {
        for chart in all(&sample()) {
            let svg = chart.svg.unwrap_or_else(|e| panic!("{}: {e}", chart.title));
            assert!(svg.starts_with("<svg"), "{}", chart.title);
            assert!(svg.contains("<text"), "{} has no labels", chart.title);
            assert!(!svg.contains("http"), "{}", chart.title);
        }
    }

    #[test]
    fn fault_labels_are_on_every_time_chart() {
        let charts = all(&sample());
        for i in [0, 1, 2, 5] {
            let svg = charts[i].svg.as_ref().unwrap();
            assert!(svg.contains("#1 kill inventory-1"), "{}", charts[i].title);
            assert!(svg.contains("#2 partition reservation"), "{}", charts[i].title);
        }
    }

    #[test]
    fn empty_summary_still_draws_axes() {
        for chart in all(&Summary::default()) {
            assert!(chart.svg.is_ok(), "{}: {:?}", chart.title, chart.svg);
        }
    }

    #[test]
    fn odd_summaries_still_render() {
        let mut odd = sample();
        odd.timeline.truncate(1);
        odd.timeline[0].waiting = u64::MAX;
        odd.time_to_book.buckets = vec![(f64::INFINITY, 3)];
        odd.wait_accuracy.truncate(1);
        odd.latency[0].over_time.clear();
        odd.latency[1].over_time = vec![(3, f64::NAN, f64::INFINITY)];
        odd.admission.configured_rate_per_second = f64::NAN;
        odd.faults.push(Fault { t: f64::NAN, ..Fault::default() });
        odd.faults.push(Fault { t: 500.0, until: Some(400.0), ..Fault::default() });
        for chart in all(&odd) {
            assert!(chart.svg.is_ok(), "{}: {:?}", chart.title, chart.svg);
        }
    }

    #[test]
    fn keys_name_every_series() {
        let charts = all(&sample());
        let latency = charts[5].svg.as_ref().unwrap();
        for rpc in ["admission/Join", "admission/Poll", "reservation/Book", "fault, shaded"] {
            assert!(latency.contains(rpc), "{rpc}");
        }
    }

    #[test]
    fn axes_survive_odd_values() {
        assert_eq!(upper([]), 1.0);
        assert_eq!(upper([f64::NAN, f64::INFINITY, 0.0]), 1.0);
        assert!((upper([10.0]) - 11.0).abs() < 1e-9);
        let fault = Fault { t: 90.0, until: Some(f64::NAN), ..Fault::default() };
        assert_eq!(time_end(59.0, &[fault]), 91.0);
    }
}
