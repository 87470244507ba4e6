#![allow(clippy::unwrap_used)]
use super::*;

const RESERVATION: &[u8] = b"0190f3a2-reservation";

#[test]
fn only_the_secret_key_opens_and_only_for_its_context() {
    let keys = ContactKeys::generate("k1");
    let sealer = ContactSealer::parse("S", &keys.sealer().public_entry()).unwrap();
    let sealed = sealer.seal(RESERVATION, "01012345678");
    assert_eq!(sealed_kid(&sealed), Some("k1"));
    assert!(!sealed.windows(11).any(|w| w == b"01012345678"), "the number is not in the sealed bytes");
    assert_ne!(sealed, sealer.seal(RESERVATION, "01012345678"), "every seal is fresh");
    assert_eq!(keys.open(RESERVATION, &sealed).unwrap().as_str(), "01012345678");
    assert_eq!(keys.open(b"another reservation", &sealed), Err(OpenError::Invalid));
    let other = ContactKeys::parse("K", &ContactKeys::generate("k1").secret_spec()).unwrap();
    assert_eq!(other.open(RESERVATION, &sealed), Err(OpenError::Invalid), "same kid, another key");
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_eq!(keys.open(RESERVATION, &tampered), Err(OpenError::Invalid));
    assert_eq!(keys.open(RESERVATION, b"01012345678"), Err(OpenError::Malformed));
    assert_eq!(keys.open(RESERVATION, &[]), Err(OpenError::Malformed));
}

#[test]
fn a_rotation_keeps_opening_what_the_previous_key_sealed() {
    let old = ContactKeys::generate("2026-01");
    let sealed_before = old.sealer().seal(RESERVATION, "01098765432");
    // The Secret after the rotation: the new key first, the old one kept.
    let rotated = ContactKeys::parse("K", &old.rotated_to(ContactKeys::generate("2026-07")).secret_spec()).unwrap();
    assert_eq!(rotated.kids(), ["2026-07", "2026-01"]);
    assert_eq!(rotated.sealer().kid(), "2026-07", "new seals use the new key");
    assert_eq!(rotated.open(RESERVATION, &sealed_before).unwrap().as_str(), "01098765432");
    let sealed_after = rotated.sealer().seal(RESERVATION, "01011112222");
    assert_eq!(rotated.open(RESERVATION, &sealed_after).unwrap().as_str(), "01011112222");
    // Once the old key is retired, what it sealed no longer opens, and says why.
    let retired = ContactKeys::parse("K", rotated.secret_spec().split(',').next().unwrap()).unwrap();
    assert_eq!(retired.open(RESERVATION, &sealed_before), Err(OpenError::UnknownKey("2026-01".into())));
}

#[test]
fn settings_are_checked_and_never_printed() {
    let keys = ContactKeys::generate("k1").rotated_to(ContactKeys::generate("k0"));
    let spec = keys.secret_spec();
    assert!(!format!("{keys:?}").contains(spec.split(':').nth(1).unwrap().split(',').next().unwrap()));
    for bad in ["", "k1", "k1:not base64!", "k1:AAAA", "bad kid:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &format!("{spec},{spec}")] {
        assert!(ContactKeys::parse("YEYAK_CONTACT_KEYS", bad).is_err(), "{bad:?}");
    }
    assert!(ContactSealer::parse("P", "k1:AAAA").is_err());
    let production = Env::from_pairs([("ENV", "production")]);
    assert!(keys_from_env(&production).unwrap_err().to_string().contains("YEYAK_CONTACT_KEYS"));
    assert!(sealer_from_env(&production).unwrap_err().to_string().contains("YEYAK_CONTACT_PUBLIC_KEY"));
    let dev = Env::from_pairs([("ENV", "dev")]);
    assert_eq!(keys_from_env(&dev).unwrap().kids().len(), 1);
    assert!(sealer_from_env(&dev).unwrap().kid().starts_with("throwaway-"));
    let configured = Env::from_pairs([("ENV", "production"), ("CONTACT_KEYS", spec.as_str())]);
    assert_eq!(keys_from_env(&configured).unwrap().kids(), ["k0", "k1"]);
    let public = keys.sealer().public_entry();
    let configured = Env::from_pairs([("ENV", "production"), ("CONTACT_PUBLIC_KEY", public.as_str())]);
    assert_eq!(sealer_from_env(&configured).unwrap().public_entry(), public);
}
