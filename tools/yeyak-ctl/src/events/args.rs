//! The arguments of `yeyak-ctl events …`.
use clap::{Args, Subcommand};
use yeyak_proto::{admission::v1::BookingEvent, time};

use super::instant;
use crate::args::DryRun;

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Every event: phase, times, rule set, who is waiting and admitted.
    List,
    /// Create an event: its own line, rate and rule set, live everywhere within seconds.
    Create {
        id: String,
        /// What people and operators call it.
        #[arg(long)]
        title: String,
        /// The opening, Asia/Seoul (`2021-07-12 20:00`) or RFC 3339 with an offset.
        #[arg(long, value_parser = instant)]
        opens_at: i64,
        #[command(flatten)]
        fields: Fields,
        #[command(flatten)]
        dry: DryRun,
    },
    /// Change an event: only the flags given change.
    Update {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, value_parser = instant)]
        opens_at: Option<i64>,
        /// Take arrivals until closed (no closing time).
        #[arg(long, conflicts_with = "closes_at")]
        no_closing_time: bool,
        #[command(flatten)]
        fields: Fields,
        #[command(flatten)]
        dry: DryRun,
        /// Do it even if it throws out people already waiting or admitted.
        #[arg(long)]
        force: bool,
    },
    /// Close an event for good: no joins, no admissions, its passes refused everywhere.
    Close {
        id: String,
        #[command(flatten)]
        dry: DryRun,
        /// Close it even while people wait or hold a seat.
        #[arg(long)]
        force: bool,
    },
}

/// The settings both create and update take (update: only those given).
#[derive(Debug, Args)]
pub struct Fields {
    /// No new arrivals after it, Asia/Seoul or RFC 3339.
    #[arg(long, value_parser = instant)]
    pub(super) closes_at: Option<i64>,
    /// Eligibility's rule set (a file of its rule sets directory, without `.toml`); "" for the default rules.
    #[arg(long)]
    pub(super) rule_set: Option<String>,
    /// People admitted per second.
    #[arg(long)]
    pub(super) rate: Option<f64>,
    /// Admitted sessions active at once.
    #[arg(long)]
    pub(super) max_active: Option<u64>,
    /// Minutes before the opening arrivals may join the lottery (default: any time).
    #[arg(long)]
    pub(super) pre_open_minutes: Option<u64>,
    /// Proof of work per new entry, leading zero bits.
    #[arg(long)]
    pub(super) difficulty: Option<u32>,
    /// Identity-first: the event people verify under before joining this one ("" to stop).
    #[arg(long)]
    pub(super) identity_first_in: Option<String>,
}

impl Fields {
    pub(super) fn apply(self, e: &mut BookingEvent) {
        if let Some(c) = self.closes_at {
            e.closes_at = Some(time::from_unix_millis(c));
        }
        set(&mut e.rule_set, self.rule_set);
        set(&mut e.admission_rate_per_second, self.rate);
        set(&mut e.max_active_sessions, self.max_active);
        if let Some(m) = self.pre_open_minutes {
            e.pre_opening_window_seconds = Some(m.saturating_mul(60));
        }
        set(&mut e.join_difficulty_bits, self.difficulty);
        set(&mut e.identity_first_verify_in, self.identity_first_in);
    }
}

pub(super) fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}
