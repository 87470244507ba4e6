//! The stack's catalogue as the bench books it: every slot, its places, and
//! the hot slot (the largest) a tenth of phase 2 aims at.
use std::collections::HashMap;

use anyhow::Context as _;
use chrono::Days;
use uuid::Uuid;

use crate::stack::Stack;

pub struct Catalogue {
    pub slot_ids: Vec<Uuid>,
    pub capacity_of: HashMap<Uuid, i32>,
    pub hot: Uuid,
}

impl Catalogue {
    /// The slots the stack's inventory seeded (two clinics per district,
    /// three days from tomorrow), computed as inventory computes them.
    pub fn of(stack: &Stack) -> anyhow::Result<Self> {
        let clinics = inventory::domain::catalogue::clinics(2);
        let first_day = inventory::domain::today_seoul(chrono::Utc::now()) + Days::new(1);
        let plan: Vec<inventory::domain::catalogue::DemoSlot> =
            clinics.iter().flat_map(|c| inventory::domain::catalogue::slots(c, first_day, 3)).collect();
        let slot_ids: Vec<Uuid> = plan.iter().map(|s| s.slot_id).collect();
        let capacity_of: HashMap<Uuid, i32> = plan.iter().map(|s| (s.slot_id, s.capacity)).collect();
        let hot = plan.iter().max_by_key(|s| s.capacity).map(|s| s.slot_id).context("no slots")?;
        println!(
            "catalogue: {} clinics, {} slots, {} places; stack tag {}",
            clinics.len(),
            plan.len(),
            capacity_of.values().map(|c| i64::from(*c)).sum::<i64>(),
            stack.tag
        );
        Ok(Self { slot_ids, capacity_of, hot })
    }

    pub fn capacity(&self, slot: &Uuid) -> i32 {
        self.capacity_of.get(slot).copied().unwrap_or(0)
    }
}
