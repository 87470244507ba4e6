//! The people the checks are for, with their tokens signed before the clock
//! starts, and what one signature check costs on this machine (a first
//! check verifies two).
use std::{sync::Arc, time::Instant};

use yeyak_platform::{
    pseudonym::subject_id,
    tokens::{self, IdentityAssertion, KeyRing},
    Secret,
};

use super::{service::Service, transcript::Transcript, CLIENT_ID, HASH_KEY, SEED};
use crate::bench::tokens::{Session, Validity, Verified};

/// Pre-signed tokens for people of the registry, in a fixed pseudo-random
/// order over the whole population: each person has their own admission
/// pass (their own session) and identity assertion bound to it.
pub struct People {
    pub passes: Vec<String>,
    pub assertions: Vec<String>,
    /// Their subject ids, for the floor's SELECT.
    pub subjects: Arc<Vec<String>>,
}

/// Person `i`'s (pass, assertion, subject id).
fn sign_one(service: &Service, key: &Secret<String>, population: u64, validity: Validity, i: usize) -> (String, String, String) {
    let index = mock_registry::population::splitmix64(i as u64 ^ 0x5eed) % population;
    let p = mock_registry::person(SEED, index);
    let subject = subject_id(key, &p.rrn);
    let id = format!("bench-{i}");
    let session = Session { queue: "bench", place: i as u64, client_id: CLIENT_ID, id: &id };
    let birth_date = p.birth_date.format("%Y-%m-%d").to_string();
    let person = Verified { subject: &subject, birth_date: &birth_date, masked_name: "김*수", provider: "carrier-sms" };
    (session.pass(&service.admission, validity), session.assertion(&service.identity, person, validity), subject)
}

impl People {
    /// Signs `n` people's tokens on every core, and says how long it took.
    pub fn sign(service: &Service, population: u64, n: usize) -> Self {
        let started = Instant::now();
        let (validity, key) = (Validity::for_seconds(3_600), &Secret::new(HASH_KEY.to_owned()));
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).max(1);
        let chunk = n.div_ceil(threads);
        let signed: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                    s.spawn(move || range.map(|i| sign_one(service, key, population, validity, i)).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
        });
        let (mut passes, mut assertions, mut subjects) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for (pass, assertion, subject) in signed {
            passes.push(pass);
            assertions.push(assertion);
            subjects.push(subject);
        }
        println!("signed {n} passes and {n} identity assertions in {:.1} s", started.elapsed().as_secs_f64());
        Self { passes, assertions, subjects: Arc::new(subjects) }
    }

    pub fn len(&self) -> usize {
        self.passes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.passes.is_empty()
    }

    /// A machine note: one signature verification, then the same in batches
    /// of 16 from two keys, as the platform's batcher checks them.
    pub fn signature_costs(&self, service: &Service, out: &mut Transcript) -> anyhow::Result<()> {
        let rounds = 2_000usize.min(self.len());
        let mut ring = KeyRing::default();
        ring.trust(&service.identity);
        let started = Instant::now();
        for a in &self.assertions[..rounds] {
            let _ = tokens::verify::<IdentityAssertion>(&ring, a, chrono::Utc::now().timestamp());
        }
        let verify_us = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        out.note(format!("one Ed25519 token verification: {verify_us:.0} µs (two per first check: the pass and the identity assertion)"));
        ring.trust(&service.admission);
        let parsed: Vec<_> = self.passes[..rounds]
            .iter()
            .zip(&self.assertions[..rounds])
            .flat_map(|(p, a)| [p, a])
            .map(|token| {
                let (body, signature) = token.rsplit_once('.').expect("a signed token");
                let kid = tokens::jws::key_id(token).expect("a JWS header with a kid");
                let key = ring.get(&kid).expect("the bench's own key").1;
                let signature = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature).expect("base64");
                let signature = tokens::sig::screen(&signature).expect("64 bytes").signature();
                tokens::batch::Item::from((tokens::sig::VerificationKeyBytes::from(key), signature, body.as_bytes()))
            })
            .collect();
        let started = Instant::now();
        for chunk in parsed.chunks(16) {
            anyhow::ensure!(tokens::batch::all_valid(chunk), "a batch of the bench's own tokens failed");
        }
        let batch_us = started.elapsed().as_secs_f64() * 1e6 / parsed.len() as f64;
        out.note(format!("in batches of 16 from two keys: {batch_us:.0} µs per signature"));
        Ok(())
    }
}
