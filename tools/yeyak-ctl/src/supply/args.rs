//! The command line of supply changes (`yeyak-ctl clinics …`, `yeyak-ctl
//! supply status`): inventory changes the catalogue, reservation moves the
//! bookings and answers dry runs and progress, so these commands name both
//! addresses (flags or `YEYAK_CTL_INVENTORY` / `YEYAK_CTL_RESERVATION`).
use clap::{Args, Subcommand};

use crate::args::DryRun;

/// Hooked into `yeyak-ctl`'s commands as they are (flattened).
#[derive(Debug, Subcommand)]
pub enum SupplyCommand {
    /// A clinic's supply: close a day or some slots, change their vaccine, resize a slot (bookings move or are cancelled).
    Clinics(ClinicsArgs),
    /// A supply change's job: how many bookings moved, were cancelled, still wait.
    Supply(SupplyArgs),
}

/// Where inventory and reservation are.
#[derive(Debug, Args)]
pub struct Services {
    /// Inventory's gRPC address (the catalogue's operator API).
    #[arg(long, global = true, env = "YEYAK_CTL_INVENTORY", default_value = "http://127.0.0.1:50054")]
    pub inventory: String,
    /// Reservation's gRPC address (dry runs of supply changes, their progress).
    #[arg(long, global = true, env = "YEYAK_CTL_RESERVATION", default_value = "http://127.0.0.1:50055")]
    pub reservation: String,
}

#[derive(Debug, Args)]
pub struct ClinicsArgs {
    #[command(flatten)]
    pub services: Services,
    #[command(subcommand)]
    pub command: ClinicsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClinicsCommand {
    /// Close every open slot of a clinic's day (Asia/Seoul); each booking moves to an equivalent slot or is cancelled.
    CloseDay {
        /// The clinic's id.
        clinic: String,
        /// The day, YYYY-MM-DD.
        date: String,
        #[command(flatten)]
        change: ChangeFlags,
    },
    /// Close a clinic's open slots starting in a range of local times (Asia/Seoul).
    CloseSlots {
        /// The clinic's id.
        clinic: String,
        /// First start, YYYY-MM-DDTHH:MM.
        #[arg(long)]
        from: String,
        /// End of the range (exclusive), YYYY-MM-DDTHH:MM.
        #[arg(long)]
        to: String,
        /// Only the slots of this vaccine.
        #[arg(long)]
        vaccine: Option<String>,
        #[command(flatten)]
        change: ChangeFlags,
    },
    /// Replace a clinic's slots of a day (or range) by slots of another vaccine at the same times and sizes.
    ChangeVaccine {
        /// The clinic's id.
        clinic: String,
        /// The day, YYYY-MM-DD (or give --from and --to).
        #[arg(long, required_unless_present = "from", conflicts_with = "from")]
        date: Option<String>,
        /// First start, YYYY-MM-DDTHH:MM.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// End of the range (exclusive), YYYY-MM-DDTHH:MM.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Only the slots of this vaccine.
        #[arg(long)]
        vaccine: Option<String>,
        /// The vaccine the slots offer from now on.
        #[arg(long)]
        new_vaccine: String,
        #[command(flatten)]
        change: ChangeFlags,
    },
    /// Change one slot's number of places (never cuts below what is booked: bookings are kept, none taken).
    ResizeSlot {
        /// The slot's id.
        slot: String,
        /// Its new number of places.
        capacity: u32,
        #[command(flatten)]
        dry: DryRun,
    },
}

/// What every change of supply takes.
#[derive(Clone, Copy, Debug, Args)]
pub struct ChangeFlags {
    /// How many days before or after its slot a booking may move (1 to 28).
    #[arg(long, default_value = "7", value_parser = clap::value_parser!(u32).range(1..=28))]
    pub max_move_days: u32,
    /// Say what would close and where its bookings would go; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Then follow the job until every booking is handled (a progress bar on stderr).
    #[arg(long, conflicts_with = "dry_run")]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct SupplyArgs {
    #[command(flatten)]
    pub services: Services,
    #[command(subcommand)]
    pub command: SupplyStatus,
}

#[derive(Debug, Subcommand)]
pub enum SupplyStatus {
    /// A supply change's job: moved, cancelled, waiting, and where the bookings went.
    Status {
        /// The change id (`clinics close-day` prints it).
        change_id: String,
        /// Follow it until every booking is handled (a progress bar on stderr).
        #[arg(long)]
        wait: bool,
    },
}
