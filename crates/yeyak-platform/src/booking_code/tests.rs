#![allow(clippy::unwrap_used)]
use rand::{rngs::StdRng, SeedableRng as _};

use super::*;

/// Valid codes computed independently of this code, and inputs that must be
/// refused.
const VALID: [&str; 6] = ["22222222", "K7MX4QPW", "YYYYYYY8", "ABCDEFGP", "3HQ9TWN9", "M8RVE4C7"];
const INPUTS: [(&str, Result<&str, BookingCodeError>); 10] = [
    ("k7mx-4qpw", Ok("K7MX4QPW")),
    (" K7MX 4QPW\t", Ok("K7MX4QPW")),
    ("ｋ７ｍｘ－４ｑｐｗ", Ok("K7MX4QPW")),
    ("K7MX\u{2013}4QPW", Ok("K7MX4QPW")),
    ("K7MX4QPA", Err(BookingCodeError::CheckMismatch)),
    ("K7MX4QWP", Err(BookingCodeError::CheckMismatch)),
    ("K7MX4QP", Err(BookingCodeError::Length { found: 7 })),
    ("K7MX-4QPW-W", Err(BookingCodeError::Length { found: 9 })),
    ("K7MO4QPW", Err(BookingCodeError::NotInAlphabet { character: 'O', position: 4 })),
    ("K7MX_4QP", Err(BookingCodeError::NotInAlphabet { character: '_', position: 5 })),
];

fn sample(n: usize) -> Vec<BookingCode> {
    let mut rng = StdRng::seed_from_u64(29);
    (0..n).map(|_| BookingCode::generate(&mut rng)).collect()
}

fn with(code: &BookingCode, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = code.as_str().as_bytes().to_vec();
    edit(&mut bytes);
    String::from_utf8(bytes).unwrap()
}

#[test]
fn the_alphabet_has_no_look_alikes_and_a_prime_size() {
    assert_eq!(BASE, 29);
    assert!((2..BASE).all(|d| !BASE.is_multiple_of(d)));
    for c in "01OILUZ".chars() {
        assert!(!ALPHABET.contains(&(c as u8)), "{c}");
    }
    let mut sorted = ALPHABET.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ALPHABET.len(), "no repeats");
}

#[test]
fn shared_vectors() {
    for v in VALID {
        assert_eq!(BookingCode::parse(v).unwrap().as_str(), v);
    }
    for (input, expected) in INPUTS {
        assert_eq!(BookingCode::parse(input).map(|c| c.as_str().to_owned()), expected.map(str::to_owned), "{input:?}");
    }
    assert_eq!(BookingCode::parse("").unwrap_err(), BookingCodeError::Length { found: 0 });
}

#[test]
fn generated_codes_are_valid_canonical_and_shown_in_two_groups() {
    for code in sample(1_000) {
        assert_eq!(code.as_str().len(), LEN);
        assert_eq!(BookingCode::parse(code.as_str()).unwrap(), code);
        let shown = code.to_string();
        assert_eq!((shown.len(), &shown[4..5]), (LEN + 1, "-"), "{shown}");
        assert_eq!(BookingCode::parse(&shown).unwrap(), code);
        assert_eq!(BookingCode::parse(&shown.to_lowercase()).unwrap(), code);
    }
}

#[test]
fn generation_uses_the_whole_alphabet_in_every_position() {
    let codes = sample(3_000);
    for position in 0..LEN - 1 {
        let mut seen: Vec<u8> = codes.iter().map(|c| c.as_str().as_bytes()[position]).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, ALPHABET.to_vec(), "position {position}");
    }
}

/// Exhaustive over a sample: every code × every position × every other
/// character of the alphabet.
#[test]
fn every_single_substitution_is_caught() {
    let mut tried = 0;
    for code in sample(500) {
        for position in 0..LEN {
            for &other in ALPHABET.iter().filter(|&&a| a != code.as_str().as_bytes()[position]) {
                let typo = with(&code, |b| b[position] = other);
                assert_eq!(BookingCode::parse(&typo), Err(BookingCodeError::CheckMismatch), "{code} → {typo}");
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 500 * LEN * 28);
}

/// Adjacent swaps (the usual slip), and swaps at any distance as well.
#[test]
fn every_transposition_of_two_different_characters_is_caught() {
    let mut adjacent = 0;
    for code in sample(2_000) {
        for i in 0..LEN {
            for j in i + 1..LEN {
                let bytes = code.as_str().as_bytes();
                if bytes[i] == bytes[j] {
                    continue;
                }
                let swapped = with(&code, |b| b.swap(i, j));
                assert_eq!(BookingCode::parse(&swapped), Err(BookingCodeError::CheckMismatch), "{code} → {swapped}");
                adjacent += usize::from(j == i + 1);
            }
        }
    }
    assert!(adjacent > 2_000 * 6, "{adjacent} adjacent swaps tried");
}

/// The proof behind the two tests above, over every value: a substitution
/// changes the sum by w·δ, a swap by (wᵢ − wⱼ)·δ, never 0 mod 29.
#[test]
fn no_weight_or_weight_difference_is_zero_mod_29() {
    for i in 0..LEN {
        for delta in 1..BASE {
            assert_ne!(weight(i) * delta % BASE, 0);
            for j in i + 1..LEN {
                assert_ne!((weight(i) - weight(j)) * delta % BASE, 0);
            }
        }
    }
}

#[test]
fn about_one_random_string_in_29_passes_the_check() {
    let mut rng = StdRng::seed_from_u64(7);
    let passed = (0..29_000)
        .filter(|_| {
            let s: String = (0..LEN).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
            BookingCode::parse(&s).is_ok()
        })
        .count();
    assert!((800..1_200).contains(&passed), "{passed}");
}
