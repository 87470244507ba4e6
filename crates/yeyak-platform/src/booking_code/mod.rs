//! The booking code people read out on the phone and type into a support
//! tool, e.g. `K7MX-4QPW`: the reservation id is a UUID nobody can dictate,
//! and its first hex digits are its timestamp (every booking of one minute
//! shared them).
//!
//! - **Alphabet**: the 29 characters `23456789ABCDEFGHJKMNPQRSTVWXY`.
//!   Crockford's base 32 without 0, 1 and Z as well: each classic look-alike
//!   group (0/O, 1/I/L, 2/Z, U/V) keeps one member, so nothing has to be
//!   guessed from a misread character; a slip between characters that
//!   remain (5/S, 8/B, M/N on the phone) is what the check catches. 29 is
//!   prime, which the check needs.
//! - **Length**: 7 random characters and a check character, shown as two
//!   groups of four. 29^7 ≈ 1.7 × 10^10 codes: at 10 million bookings a new
//!   code is taken with probability 10^7 / 1.7 × 10^10 ≈ 0.06%, about 2,900
//!   retries over all of them (n² / 2N), never a failed booking.
//! - **Check**: weights 8, 7, …, 1 over the eight characters; a code is
//!   valid when the weighted sum of their values is 0 mod 29. Every weight
//!   and every difference of two weights is non-zero mod the prime 29, so
//!   any single wrong character and any swap of two different characters
//!   (adjacent or not) changes the sum: each is caught, never a different
//!   booking. A random string passes with probability 1/29.
//! - **Input**: case, spaces and hyphens (ASCII, Unicode dashes, full-width
//!   forms from a Korean keyboard) do not matter. Characters outside the
//!   alphabet are refused with an explanation, not mapped (O → 0 would be a
//!   guess: the alphabet has neither).
//!
//! Here in the platform because two services read codes: reservation makes
//! them, notification prints them and looks deliveries up by them.
use std::fmt;

use rand::Rng;

/// The characters of a code, in value order.
pub const ALPHABET: &[u8; 29] = b"23456789ABCDEFGHJKMNPQRSTVWXY";
/// Characters in a code, the check character included.
pub const LEN: usize = 8;
/// The alphabet's size: a prime, so that weights are invertible.
const BASE: u32 = ALPHABET.len() as u32;

/// A valid booking code, kept in canonical form (`K7MX4QPW`: upper case, no
/// separator); shown grouped (`K7MX-4QPW`) by `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BookingCode(String);

/// Why a string is not a booking code; the handler names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingCodeError {
    #[error("must be {LEN} letters and digits (spaces and hyphens are ignored), got {found}")]
    Length { found: usize },
    #[error("{character:?} (character {position}) is never used in booking codes: they use 2-9 and the letters except I, L, O, U and Z")]
    NotInAlphabet { character: char, position: usize },
    #[error("does not check out: a character is wrong or two are swapped")]
    CheckMismatch,
}

impl BookingCode {
    /// A fresh random code. Nothing about the booking goes into it (no time,
    /// no counter), so codes say nothing about each other.
    pub fn generate(rng: &mut impl Rng) -> Self {
        let mut values = [0u8; LEN];
        for v in &mut values[..LEN - 1] {
            *v = rng.gen_range(0..BASE) as u8;
        }
        values[LEN - 1] = check_value(&values[..LEN - 1]);
        Self(values.iter().map(|&v| char::from(ALPHABET[usize::from(v)])).collect())
    }

    /// Reads a code as a person typed or dictated it.
    pub fn parse(input: &str) -> Result<Self, BookingCodeError> {
        let mut folded = input.chars().filter_map(fold);
        let chars: Vec<char> = folded.by_ref().take(LEN + 1).collect();
        if chars.len() != LEN {
            return Err(BookingCodeError::Length { found: chars.len() + folded.count() });
        }
        let mut values = [0u8; LEN];
        for (i, &character) in chars.iter().enumerate() {
            values[i] = value_of(character).ok_or(BookingCodeError::NotInAlphabet { character, position: i + 1 })?;
        }
        if weighted_sum(&values) != 0 {
            return Err(BookingCodeError::CheckMismatch);
        }
        Ok(Self(chars.into_iter().collect()))
    }

    /// The canonical form, as stored and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Grouped in fours, as printed in the SMS and returned by the API.
impl fmt::Display for BookingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.0.split_at(LEN / 2);
        write!(f, "{a}-{b}")
    }
}

impl fmt::Debug for BookingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BookingCode({self})")
    }
}

/// What a typed character counts as: separators drop out, full-width forms
/// become ASCII, letters become upper case.
fn fold(c: char) -> Option<char> {
    if c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}') {
        return None;
    }
    let ascii = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    Some(ascii.to_ascii_uppercase())
}

fn value_of(c: char) -> Option<u8> {
    let byte = u8::try_from(c).ok()?;
    ALPHABET.iter().position(|&a| a == byte).map(|v| v as u8)
}

/// Weight of the character at `index`: 8 for the first, down to 1 for the
/// check character. Distinct and below 29, so neither a weight nor the
/// difference of two is 0 mod 29.
fn weight(index: usize) -> u32 {
    (LEN - index) as u32
}

/// Σ weight × value mod 29 over the characters given (from the first).
fn weighted_sum(values: &[u8]) -> u32 {
    values.iter().enumerate().map(|(i, &v)| weight(i) * u32::from(v)).sum::<u32>() % BASE
}

/// The check character's value for the first seven: it has weight 1, so it
/// is minus their sum.
fn check_value(data: &[u8]) -> u8 {
    ((BASE - weighted_sum(data)) % BASE) as u8
}

#[cfg(test)]
mod tests;
