//! Why a person may not book: the machine-readable reasons of CheckEligibility.

/// The first rule that refused, in the order the decision evaluates them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    NotInCohort,
    WindowNotOpen,
    WindowClosed,
    AlreadyBooked,
    AlreadyVaccinated,
    TooEarlyForDose,
    NotInsured,
    UnknownPerson,
    ProxyNotAllowed,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::NotInCohort,
        Reason::WindowNotOpen,
        Reason::WindowClosed,
        Reason::AlreadyBooked,
        Reason::AlreadyVaccinated,
        Reason::TooEarlyForDose,
        Reason::NotInsured,
        Reason::UnknownPerson,
        Reason::ProxyNotAllowed,
    ];

    /// The machine-readable code, as in the gRPC enum without its prefix.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotInCohort => "NOT_IN_COHORT",
            Self::WindowNotOpen => "WINDOW_NOT_OPEN",
            Self::WindowClosed => "WINDOW_CLOSED",
            Self::AlreadyBooked => "ALREADY_BOOKED",
            Self::AlreadyVaccinated => "ALREADY_VACCINATED",
            Self::TooEarlyForDose => "TOO_EARLY_FOR_DOSE",
            Self::NotInsured => "NOT_INSURED",
            Self::UnknownPerson => "UNKNOWN_PERSON",
            Self::ProxyNotAllowed => "PROXY_NOT_ALLOWED",
        }
    }
}
