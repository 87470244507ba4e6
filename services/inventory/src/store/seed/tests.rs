use super::*;

#[test]
fn copy_text_escapes_and_formats() {
    let mut buf = String::new();
    push_text(&mut buf, "a\tb\\c\nd");
    assert_eq!(buf, "a\\tb\\\\c\\nd");
    let mut buf = String::new();
    push_instant(&mut buf, "2021-07-26T00:00:00Z".parse().unwrap());
    assert_eq!(buf, "2021-07-26 00:00:00+00");
}

#[test]
fn rendered_rows_match_the_plan() {
    let clinics = catalogue::clinics(1);
    let day = NaiveDate::from_ymd_opt(2021, 7, 26).unwrap();
    let r = render_slots(&clinics[..3], day, 2);
    let planned: usize = clinics[..3].iter().map(|c| catalogue::slots(c, day, 2).len()).sum();
    assert_eq!(r.slot_count as usize, planned);
    assert_eq!(r.slots.lines().count(), planned);
    assert!(r.slots.lines().all(|l| l.split('\t').count() == 7));
    let offers: usize = clinics[..3].iter().map(|c| c.vaccines.len()).sum();
    assert_eq!(r.day_count as usize, offers * 2);
    let first = r.days.lines().next().unwrap();
    assert_eq!(first.split('\t').count(), 6);
}
