use yeyak_platform::pseudonym::subject_id;

use super::*;

fn read_i32(b: &[u8], at: &mut usize) -> i32 {
    let v = i32::from_be_bytes([b[*at], b[*at + 1], b[*at + 2], b[*at + 3]]);
    *at += 4;
    v
}

#[test]
fn rows_are_copy_binary_format() {
    let key = Secret::new("k".to_owned());
    let mac = SubjectMac::new(&key);
    // Find someone with a dose and a priority group to cover both arrays.
    let index = (0..5_000).find(|i| {
        let p = person(1, *i);
        !p.doses.is_empty() && !p.priority_groups.is_empty()
    });
    for index in [3, index.unwrap()] {
        let p = person(1, index);
        let mut out = Vec::new();
        row(&mac, 1, index, &mut out);
        let mut at = 2;
        assert_eq!(i16::from_be_bytes([out[0], out[1]]), 9);
        let mut fields = Vec::new();
        for _ in 0..9 {
            let len = read_i32(&out, &mut at) as usize;
            fields.push(out[at..at + len].to_vec());
            at += len;
        }
        assert_eq!(at, out.len(), "nothing after the nine fields");
        assert_eq!(String::from_utf8(fields[0].clone()).unwrap(), subject_id(&key, &p.rrn));
        assert_eq!(fields[1], p.rrn.expose().as_bytes());
        assert_eq!(fields[2], p.name.as_bytes());
        let days = i32::from_be_bytes(fields[3].clone().try_into().unwrap());
        assert_eq!(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(i64::from(days)), p.birth_date);
        assert_eq!(fields[6], vec![u8::from(p.insured)]);
        let mut a = 0;
        let ndim = read_i32(&fields[8], &mut a);
        assert_eq!(ndim as usize, usize::from(!p.doses.is_empty()), "index {index}");
        let mut g = 0;
        assert_eq!(read_i32(&fields[7], &mut g) as usize, usize::from(!p.priority_groups.is_empty()));
    }
    assert_eq!(pg_date(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()), 0);
    assert_eq!(pg_date(NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()), -1);
    assert_eq!(key_fingerprint(&key).len(), 16);
    assert_ne!(key_fingerprint(&key), key_fingerprint(&Secret::new("k2".to_owned())));
}
