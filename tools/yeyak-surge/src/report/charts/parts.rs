//! Pieces every chart shares: the key column, the fault markers and the
//! axis labels, so the page reads as one report.
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{numbered, Area, Plane, C_FAULT};
use crate::report::model::Fault;

/// Pixels above a time chart's plot for the two rows of fault labels.
pub(super) const FAULT_BAND: u32 = 40;
const ROW: i32 = 15;
/// Roughly what a character of the 12 px labels takes in a sans-serif
/// font; the browser does the real layout, this only spaces the labels.
const CHAR_WIDTH: i32 = 6;
/// Keys beyond this many would run off the chart's foot.
const MAX_KEYS: usize = 13;

/// A series' name and colour, for the key beside the plot.
pub(super) struct Key {
    pub(super) label: String,
    pub(super) color: RGBColor,
}

impl Key {
    pub(super) fn new(label: impl Into<String>, color: RGBColor) -> Self {
        Self { label: label.into(), color }
    }
}

pub(super) fn text_style(size: i32, color: &RGBColor) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(color)
}

/// Axis labels without the `.0` plotters gives every float tick.
pub(super) fn tick(v: &f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Says so across an empty plot, which would otherwise pass for a run
/// where everything stayed at zero.
pub(super) fn no_data(area: &Area<'_>, empty: bool) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    if empty {
        let (w, h) = area.dim_in_pixel();
        let style = text_style(16, &RGBColor(120, 120, 120)).pos(Pos::new(HPos::Center, VPos::Center));
        area.draw(&Text::new("no data", (w as i32 / 2, h as i32 / 2), style))?;
    }
    Ok(())
}

/// Long RPC or fault names are cut rather than drawn over the plot.
fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

pub(super) fn draw_keys(area: &Area<'_>, keys: &[Key]) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let style = text_style(13, &BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    let top = FAULT_BAND as i32 + 12;
    for (i, key) in keys.iter().take(MAX_KEYS).enumerate() {
        let y = top + 20 * i as i32;
        area.draw(&PathElement::new(vec![(4, y), (26, y)], key.color.stroke_width(3)))?;
        area.draw(&Text::new(shorten(&key.label, 26), (32, y), style.clone()))?;
    }
    if keys.len() > MAX_KEYS {
        let more = format!("and {} more", keys.len() - MAX_KEYS);
        area.draw(&Text::new(more, (32, top + 20 * MAX_KEYS as i32), style))?;
    }
    Ok(())
}

/// Two rows of labels above the plot, so faults close in time do not
/// write over each other.
struct Band {
    /// Where each row is free again, in pixels.
    free: [i32; 2],
    right_edge: i32,
}

impl Band {
    /// A row for a label at marker `x`, and which way it runs from it
    /// (leftwards near the right edge). `None` when no row has room, or
    /// when taking it would leave none for the next marker's number.
    fn place(&mut self, x: i32, label: &str, next: Option<i32>) -> Option<(usize, HPos)> {
        let width = CHAR_WIDTH * label.chars().count() as i32;
        let (hpos, start, end) = if x + width > self.right_edge { (HPos::Right, x - width, x) } else { (HPos::Left, x, x + width) };
        let row = (0..self.free.len()).find(|&row| {
            let mut free = self.free;
            free[row] = end + 8;
            self.free[row] < start && next.is_none_or(|next| free.iter().any(|f| *f < next))
        })?;
        self.free[row] = end + 8;
        Some((row, hpos))
    }

    /// Where there is no room, the row that frees first overlaps least.
    fn least_busy(&mut self, x: i32, label: &str) -> (usize, HPos) {
        let row = (0..self.free.len()).min_by_key(|&row| self.free[row]).unwrap_or(0);
        self.free[row] = x + CHAR_WIDTH * label.chars().count() as i32 + 8;
        (row, HPos::Left)
    }
}

/// Marks each fault where it happened, shades it until it was undone and
/// labels it `#n kind target` above the plot, so a dip or spike can be
/// read against its cause; where faults crowd, only `#n`, which the
/// page's fault table spells out. Returns the key entry when there were
/// faults.
pub(super) fn draw_faults(
    chart: &mut Plane<'_, '_>,
    faults: &[Fault],
    x_end: f64,
    y_top: f64,
) -> Result<Vec<Key>, DrawingAreaErrorKind<std::io::Error>> {
    let mut band = Band { free: [i32::MIN; 2], right_edge: chart.backend_coord(&(x_end, y_top)).0 };
    let faults: Vec<(usize, &Fault)> = numbered(faults).into_iter().filter(|(_, f)| f.t.is_finite()).collect();
    let marker = |t: f64| t.clamp(0.0, x_end);
    let xs: Vec<i32> = faults.iter().map(|(_, f)| chart.backend_coord(&(marker(f.t), y_top)).0).collect();
    for (i, (n, fault)) in faults.iter().enumerate() {
        let t = marker(fault.t);
        if let Some(until) = fault.until.filter(|u| u.is_finite() && *u > t) {
            let span = Rectangle::new([(t, 0.0), (until.min(x_end), y_top)], C_FAULT.mix(0.10).filled());
            chart.draw_series(std::iter::once(span))?;
        }
        chart.draw_series(LineSeries::new(vec![(t, 0.0), (t, y_top)], C_FAULT.stroke_width(2)))?;

        let (x, next) = (xs[i], xs.get(i + 1).copied());
        let full = shorten(&format!("#{n} {} {}", fault.kind, fault.target), 40);
        let short = format!("#{n}");
        let (label, (row, hpos)) = match band.place(x, &full, next) {
            Some(place) => (full, place),
            None => {
                let place = band.place(x, &short, None).unwrap_or_else(|| band.least_busy(x, &short));
                (short, place)
            }
        };
        let dx = if matches!(hpos, HPos::Right) { -3 } else { 3 };
        let style = text_style(12, &C_FAULT).pos(Pos::new(hpos, VPos::Bottom));
        let text = Text::new(label, (dx, -4 - ROW * row as i32), style);
        chart.draw_series(std::iter::once(EmptyElement::at((t, y_top)) + text))?;
    }
    Ok(if !faults.is_empty() { vec![Key::new("fault, shaded while on", C_FAULT)] } else { vec![] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_drop_needless_decimals() {
        assert_eq!(tick(&20.0), "20");
        assert_eq!(tick(&0.25), "0.25");
        assert_eq!(tick(&-0.0001), "0");
        assert_eq!(tick(&1234.5), "1234.5");
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(shorten("admission/Join", 26), "admission/Join");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
