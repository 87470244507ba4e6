use std::collections::HashSet;

use super::*;

fn district_count() -> usize {
    PROVINCES.iter().map(|p| p.districts.len()).sum()
}

#[test]
fn codes_are_well_formed_unique_nested_and_ordered() {
    assert_eq!(PROVINCES.len(), 17);
    assert_eq!(district_count(), 250, "the 250 districts of the standard code list");
    let mut seen = HashSet::new();
    for p in PROVINCES {
        assert!(p.code.len() == 2 && p.code.bytes().all(|b| b.is_ascii_digit()), "{}", p.code);
        assert!(seen.insert(p.code));
        assert!(!p.districts.is_empty(), "{}", p.name);
        let mut previous = "";
        for (code, name) in p.districts {
            assert!(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()) && code.starts_with(p.code), "{code} {name}");
            assert!(*code > previous, "{code} out of order");
            previous = code;
            assert!(seen.insert(code), "{code} twice");
            assert!(!name.is_empty());
        }
    }
    let codes: Vec<_> = PROVINCES.iter().map(|p| p.code).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted);
    let seoul = PROVINCES.iter().find(|p| p.code == "11").map(|p| p.districts.len());
    assert_eq!(seoul, Some(25));
}
