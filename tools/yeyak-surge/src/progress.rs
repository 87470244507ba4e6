//! The progress line while the evening runs: people in each stage,
//! bookings, errors.
use std::{sync::Arc, time::Duration};

use indicatif::{ProgressBar, ProgressStyle};

use crate::ctx::Ctx;

pub(crate) fn show(ctx: Arc<Ctx>, people: u64) -> tokio::task::JoinHandle<()> {
    let bar = ProgressBar::new(people);
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} done · {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    tokio::spawn(async move {
        loop {
            let (stages, booked, errors) = ctx.rec.progress();
            let done = ctx.rec.inner.lock().people.iter().filter(|p| !p.bot).count() as u64;
            let busy: Vec<String> = stages.iter().filter(|(_, n)| *n > 0).map(|(s, n)| format!("{s} {n}")).collect();
            bar.set_position(done);
            bar.set_message(format!("{} · booked {booked} · errors {errors}", busy.join(" · ")));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}
