//! The charts over the run's seconds. Each carries the fault markers, so
//! what a fault cost shows where it happened.
use std::error::Error;

use plotters::prelude::*;

use super::parts::{no_data, text_style};
use super::{
    draw_faults, render, tick, time_end, upper, Area, Chart, Key, Plane, C_BLUE, C_GREEN, C_GREY, C_ORANGE, C_PURPLE, FAULT_BAND, SERIES,
};
use crate::report::model::Second;
use crate::report::Summary;

/// `(t, value)` points of one timeline column.
fn column(timeline: &[Second], value: impl Fn(&Second) -> u64) -> Vec<(f64, f64)> {
    timeline.iter().map(|s| (f64::from(s.t), value(s) as f64)).collect()
}

fn timeline_end(summary: &Summary) -> f64 {
    let last = summary.timeline.iter().map(|s| s.t).max().unwrap_or(0);
    time_end(f64::from(last), &summary.faults)
}

/// The builder every time chart starts from: room above the plot for the
/// fault labels, and on the right for a second axis when there is one.
fn plane<'a, 'b>(area: &'a Area<'b>, x_end: f64, y_top: f64, right_axis: bool) -> Result<Plane<'a, 'b>, Box<dyn Error>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(12).margin_top(FAULT_BAND).x_label_area_size(40).y_label_area_size(64);
    if right_axis {
        builder.right_y_label_area_size(64);
    }
    Ok(builder.build_cartesian_2d(0.0..x_end, 0.0..y_top)?)
}

fn mesh(chart: &mut Plane<'_, '_>, y_desc: &str) -> Result<(), Box<dyn Error>> {
    chart
        .configure_mesh()
        .x_desc("seconds into the run")
        .y_desc(y_desc)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(text_style(12, &BLACK))
        .axis_desc_style(text_style(13, &BLACK))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    Ok(())
}

pub(super) fn arrivals_and_queue(summary: &Summary) -> Chart {
    let timeline = &summary.timeline;
    let svg = render(|area| {
        let x_end = timeline_end(summary);
        let y_top = upper(timeline.iter().map(|s| s.arrivals as f64));
        let queue_top = upper(timeline.iter().map(|s| s.waiting as f64));
        // The secondary coordinates take over the right label area: the
        // primary mesh drawn before would label both sides.
        let mut chart = plane(area, x_end, y_top, true)?.set_secondary_coord(0.0..x_end, 0.0..queue_top);
        mesh(&mut chart, "arrivals per second")?;
        no_data(area, timeline.is_empty())?;
        let mut keys = draw_faults(&mut chart, &summary.faults, x_end, y_top)?;
        chart.draw_series(LineSeries::new(column(timeline, |s| s.arrivals), C_BLUE.stroke_width(2)))?;
        chart
            .configure_secondary_axes()
            .y_desc("people waiting")
            .y_label_formatter(&tick)
            .label_style(text_style(12, &BLACK))
            .axis_desc_style(text_style(13, &BLACK))
            .draw()?;
        chart.draw_secondary_series(LineSeries::new(column(timeline, |s| s.waiting), C_ORANGE.stroke_width(2)))?;
        keys.splice(0..0, [Key::new("arrivals per second", C_BLUE), Key::new("waiting (right axis)", C_ORANGE)]);
        Ok(keys)
    });
    Chart { title: "Arrivals and queue depth", caption: "People joining each second, and how many were waiting at its end.", svg }
}

pub(super) fn admission_rate(summary: &Summary) -> Chart {
    let timeline = &summary.timeline;
    let admission = &summary.admission;
    let svg = render(|area| {
        let x_end = timeline_end(summary);
        let configured = admission.configured_rate_per_second;
        let measured = admission.measured_rate_per_second;
        let y_top = upper(timeline.iter().map(|s| s.admitted as f64).chain([configured, measured]));
        let mut chart = plane(area, x_end, y_top, false)?;
        mesh(&mut chart, "people admitted per second")?;
        no_data(area, timeline.is_empty())?;
        let fault_keys = draw_faults(&mut chart, &summary.faults, x_end, y_top)?;
        chart.draw_series(LineSeries::new(column(timeline, |s| s.admitted), C_BLUE.stroke_width(2)))?;
        let mut keys = vec![Key::new("admitted per second", C_BLUE)];
        for (rate, color, label) in [(configured, C_GREEN, "configured rate"), (measured, C_GREY, "measured rate (mean)")] {
            if rate.is_finite() {
                chart.draw_series(DashedLineSeries::new(vec![(0.0, rate), (x_end, rate)], 8, 5, color.stroke_width(2)))?;
                keys.push(Key::new(label, color));
            }
        }
        keys.extend(fault_keys);
        Ok(keys)
    });
    Chart {
        title: "Admission rate",
        caption: "People admitted each second against the configured rate: above the line is the burst allowance \
                  being spent, below it an admission that is idle or starved.",
        svg,
    }
}

pub(super) fn bookings_and_errors(summary: &Summary) -> Chart {
    let timeline = &summary.timeline;
    let svg = render(|area| {
        let x_end = timeline_end(summary);
        let y_top = upper(timeline.iter().flat_map(|s| [s.booked, s.errors]).map(|v| v as f64));
        let mut chart = plane(area, x_end, y_top, false)?;
        mesh(&mut chart, "per second")?;
        no_data(area, timeline.is_empty())?;
        let fault_keys = draw_faults(&mut chart, &summary.faults, x_end, y_top)?;
        let mut keys = vec![];
        for (values, color, label) in
            [(column(timeline, |s| s.booked), C_GREEN, "bookings"), (column(timeline, |s| s.errors), C_PURPLE, "failed calls")]
        {
            chart.draw_series(LineSeries::new(values, color.stroke_width(2)))?;
            keys.push(Key::new(label, color));
        }
        keys.extend(fault_keys);
        Ok(keys)
    });
    Chart { title: "Bookings and errors", caption: "Confirmed bookings and failed calls each second.", svg }
}

pub(super) fn latency_p99(summary: &Summary) -> Chart {
    let latency = &summary.latency;
    let svg = render(|area| {
        let points = || latency.iter().flat_map(|r| &r.over_time);
        let last = points().map(|p| f64::from(p.0)).fold(0.0, f64::max);
        let x_end = time_end(last, &summary.faults);
        let y_top = upper(points().map(|p| p.2));
        let mut chart = plane(area, x_end, y_top, false)?;
        mesh(&mut chart, "p99 latency, ms")?;
        no_data(area, points().next().is_none())?;
        let fault_keys = draw_faults(&mut chart, &summary.faults, x_end, y_top)?;
        let mut keys = vec![];
        for (rpc, color) in latency.iter().zip(SERIES.iter().cycle()) {
            let mut p99: Vec<(f64, f64)> = rpc.over_time.iter().map(|p| (f64::from(p.0), p.2)).filter(|p| p.1.is_finite()).collect();
            p99.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.draw_series(LineSeries::new(p99, color.stroke_width(2)))?;
            keys.push(Key::new(rpc.rpc.as_str(), *color));
        }
        keys.extend(fault_keys);
        Ok(keys)
    });
    Chart { title: "Latency over time (p99 per RPC)", caption: "The 99th percentile of each RPC's latency per interval of the run.", svg }
}
