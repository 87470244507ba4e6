//! Eligibility's own metrics, registered at start: what checks decided and
//! where their registry answers came from (handed to `app/`), and the state
//! of the rules file (kept by `store::rules_file`).
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};
use yeyak_platform::metrics::Metrics;

use crate::domain::{Decision, Reason};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: String,
}

/// Decisions by outcome, and where the registry answers came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckMetrics {
    decisions: Family<OutcomeLabel, Counter>,
    lookups: Family<OutcomeLabel, Counter>,
}

/// Where a registry answer came from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lookup {
    Cache,
    Registry,
    /// Redis failed: the registry was asked directly.
    CacheError,
}

impl CheckMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register(
            "eligibility_decisions",
            "CheckEligibility answers by outcome: ELIGIBLE, a reason code, or PRECHECK_<reason> when decided without the registry",
            m.decisions.clone(),
        );
        metrics.register("eligibility_registry_lookups", "Registry answers by source: cache, registry, cache_error", m.lookups.clone());
        m
    }

    /// Counts a decision; `precheck`: made on the asserted birth date alone.
    pub(crate) fn decided(&self, decision: &Decision, precheck: bool) {
        let outcome = match (decision.eligible, precheck) {
            (Ok(()), _) => "ELIGIBLE",
            (Err(Reason::NotInCohort), true) => "PRECHECK_NOT_IN_COHORT",
            (Err(Reason::WindowNotOpen), true) => "PRECHECK_WINDOW_NOT_OPEN",
            (Err(Reason::WindowClosed), true) => "PRECHECK_WINDOW_CLOSED",
            (Err(r), _) => r.code(),
        };
        self.decisions.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub(crate) fn looked_up(&self, source: Lookup) {
        let outcome = match source {
            Lookup::Cache => "cache",
            Lookup::Registry => "registry",
            Lookup::CacheError => "cache_error",
        };
        self.lookups.get_or_create(&OutcomeLabel { outcome }).inc();
    }
}

/// Reloads of the rules file, whether the file on disk is in force, and
/// the version in force.
#[derive(Clone, Debug, Default)]
pub(crate) struct RulesMetrics {
    reloads: Family<OutcomeLabel, Counter>,
    valid: Gauge,
    info: Family<VersionLabel, Gauge>,
}

impl RulesMetrics {
    pub(crate) fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register("eligibility_rules_reloads", "Rules file reloads at run time, by outcome (ok, invalid)", m.reloads.clone());
        metrics.register(
            "eligibility_rules_valid",
            "1 when the rules file on disk is the one in force, 0 after a refused reload",
            m.valid.clone(),
        );
        metrics.register("eligibility_rules_info", "The version of the rules in force (value 1)", m.info.clone());
        m
    }

    /// `version` is in force, and it is what the file on disk says.
    pub(crate) fn in_force(&self, version: &str) {
        self.info.clear();
        self.info.get_or_create(&VersionLabel { version: version.to_owned() }).set(1);
        self.valid.set(1);
    }

    pub(crate) fn reloaded(&self, version: &str) {
        self.reloads.get_or_create(&OutcomeLabel { outcome: "ok" }).inc();
        self.in_force(version);
    }

    /// The file on disk was refused: the rules in force are no longer it.
    pub(crate) fn refused(&self) {
        self.reloads.get_or_create(&OutcomeLabel { outcome: "invalid" }).inc();
        self.valid.set(0);
    }

    /// The refused file was put back to the rules in force.
    pub(crate) fn back_in_force(&self) {
        self.valid.set(1);
    }
}
