//! The charts that are not over time: how long booking took, and how
//! honest the queue's wait estimates were.
use plotters::prelude::*;

use super::parts::{no_data, text_style};
use super::{render, tick, upper, Chart, Key, C_BLUE, C_ORANGE, C_PURPLE, FAULT_BAND};
use crate::report::Summary;

/// A bucket bound as an axis label: whole seconds once they are long
/// enough for fractions to be noise.
fn bound_label(bound: f64) -> String {
    match bound {
        b if !b.is_finite() => "+inf".to_owned(),
        b if b >= 10.0 => format!("{b:.0}"),
        b => format!("{b:.1}"),
    }
}

/// One bar per bucket, evenly spaced: the buckets usually grow
/// geometrically, and a linear time axis would crush the short waits
/// most people had into one sliver.
pub(super) fn time_to_book(summary: &Summary) -> Chart {
    let buckets = &summary.time_to_book.buckets;
    let svg = render(|area| {
        // Segments over `0..k` number k + 1; at least two, as plotters
        // misplaces the only segment of a one-value range.
        let n = buckets.len().max(2);
        let y_top = upper(buckets.iter().map(|b| b.1 as f64));
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => buckets.get(*i).map(|b| bound_label(b.0)).unwrap_or_default(),
            SegmentValue::Last => String::new(),
        };
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_top(FAULT_BAND)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..y_top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(24))
            .x_label_formatter(&label)
            .x_desc("time to book, seconds (bucket upper bound)")
            .y_desc("people")
            .y_label_formatter(&tick)
            .label_style(text_style(12, &BLACK))
            .axis_desc_style(text_style(13, &BLACK))
            .draw()?;
        no_data(area, buckets.is_empty())?;
        let bars = buckets.iter().enumerate().map(|(i, b)| (i, b.1 as f64));
        chart.draw_series(Histogram::vertical(&chart).style(C_BLUE.filled()).margin(2).data(bars))?;
        Ok(vec![Key::new("people who booked", C_BLUE)])
    });
    Chart { title: "Time to book", caption: "From arrival to a confirmed booking, per bucket.", svg }
}

pub(super) fn wait_accuracy(summary: &Summary) -> Chart {
    let deciles = &summary.wait_accuracy;
    let svg = render(|area| {
        let last = deciles.iter().map(|d| u32::from(d.decile)).max().unwrap_or(0);
        let x_end = last.max(10) + 1;
        let values = deciles.iter().flat_map(|d| [d.actual_p50, d.predicted_at_join_p50, d.abs_error_at_polls_p50]);
        let y_top = upper(values);
        let label = |d: &u32| match *d {
            d if d == 0 || d == x_end => String::new(),
            d => d.to_string(),
        };
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .margin_top(FAULT_BAND)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(0..x_end, 0.0..y_top)?;
        chart
            .configure_mesh()
            .x_labels(x_end as usize + 1)
            .x_label_formatter(&label)
            .x_desc("decile of place at joining (1 = the front)")
            .y_desc("seconds (median)")
            .y_label_formatter(&tick)
            .label_style(text_style(12, &BLACK))
            .axis_desc_style(text_style(13, &BLACK))
            .draw()?;
        no_data(area, deciles.is_empty())?;
        type Pick = fn(&crate::report::model::WaitAccuracy) -> f64;
        let lines: [(Pick, RGBColor, &str); 3] = [
            (|d| d.actual_p50, C_BLUE, "actual wait"),
            (|d| d.predicted_at_join_p50, C_ORANGE, "predicted at joining"),
            (|d| d.abs_error_at_polls_p50, C_PURPLE, "|error| at polls"),
        ];
        let mut keys = vec![];
        for (pick, color, name) in lines {
            let mut points: Vec<_> = deciles.iter().map(|d| (u32::from(d.decile), pick(d))).filter(|p| p.1.is_finite()).collect();
            points.sort_by_key(|p| p.0);
            chart.draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(4))?;
            keys.push(Key::new(name, color));
        }
        Ok(keys)
    });
    Chart {
        title: "Wait-estimate accuracy",
        caption: "Per decile of place in the queue: the median actual wait against the \
                  median predicted at joining, and the median error of the estimates \
                  shown at each poll.",
        svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_read_as_seconds() {
        assert_eq!(bound_label(2.5), "2.5");
        assert_eq!(bound_label(120.0), "120");
        assert_eq!(bound_label(f64::INFINITY), "+inf");
    }
}
