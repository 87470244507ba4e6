//! Rebuilding a queue's Redis state from PostgreSQL's marks, in one atomic
//! script, after the server that held it lost it (restarted empty, or a
//! replica promoted before it had the last writes). The counters restart
//! from the high-water marks, so every place or lottery entry that may have
//! been handed out stays taken; the frontier restarts at the last logged
//! batch and the seats still held come back with their expiry. Several
//! replicas may rebuild at once: the first one wins, the others see the
//! origin already set and change nothing.
use super::durable::Marks;

/// KEYS: every key of the queue ([`super::keys::Keys::all`], origin first).
/// ARGV: restored (1/0), seed, lottery entries, pool or '', places, admitted,
/// rate or '', max_active or '', paused, closed, pow_bits or '', the
/// automatic rate's switch ('1', '0' or '' when never switched), then
/// (place, expiry) pairs. The switch comes back so that an operator's "off"
/// still stops a controller's write that was in flight across the loss.
/// Returns 1 when it rebuilt, 0 when another replica already had.
pub(super) const REBUILD: &str = r"
local rid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if redis.call('GET', KEYS[1]) == rid then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[16], ARGV[2])
redis.call('SET', KEYS[5], ARGV[3])
redis.call('SET', KEYS[6], ARGV[3])
if ARGV[4] ~= '' then redis.call('SET', KEYS[7], ARGV[4]) end
redis.call('SET', KEYS[8], ARGV[5])
redis.call('SET', KEYS[9], ARGV[5])
redis.call('SET', KEYS[10], ARGV[6])
redis.call('SET', KEYS[11], ARGV[6])
redis.call('SET', KEYS[3], now)
redis.call('SET', KEYS[4], 0)
if ARGV[7] ~= '' then redis.call('HSET', KEYS[2], 'rate', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[2], 'max_active', ARGV[8]) end
redis.call('HSET', KEYS[2], 'paused', ARGV[9], 'closed', ARGV[10])
if ARGV[11] ~= '' then redis.call('HSET', KEYS[2], 'pow_bits', ARGV[11]) end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[2], 'auto', ARGV[12]) end
for i = 13, #ARGV, 2 do redis.call('ZADD', KEYS[13], ARGV[i + 1], ARGV[i]) end
if ARGV[1] == '1' then redis.call('SET', KEYS[17], now) end
redis.call('SET', KEYS[1], rid)
return 1
";

/// The script's ARGV for `marks`.
pub(super) fn args(marks: &Marks) -> Vec<String> {
    let flag = |on: Option<bool>| if on == Some(true) { "1" } else { "0" }.to_owned();
    let mut args = vec![
        if marks.existed { "1" } else { "0" }.to_owned(),
        marks.seed.clone(),
        marks.lottery_reserved.to_string(),
        marks.pool.map(|p| p.to_string()).unwrap_or_default(),
        marks.places_reserved.to_string(),
        marks.admitted.to_string(),
        marks.settings.rate.map(|r| r.to_string()).unwrap_or_default(),
        marks.settings.max_active.map(|m| m.to_string()).unwrap_or_default(),
        flag(marks.settings.paused),
        flag(marks.settings.closed),
        marks.settings.pow_bits.map(|b| b.to_string()).unwrap_or_default(),
        marks.settings.auto_rate.map(|on| flag(Some(on))).unwrap_or_default(),
    ];
    for (place, expiry) in &marks.seats {
        args.push(place.to_string());
        args.push(expiry.to_string());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::{super::keys::Keys, *};

    #[test]
    fn the_script_numbers_the_keys_as_keys_all_orders_them() {
        let k = Keys::new("p", "q");
        let all = k.all();
        let at = |key: &str| 1 + all.iter().position(|x| *x == key).unwrap();
        assert_eq!(
            [at(&k.origin), at(&k.settings), at(&k.tick), at(&k.credit), at(&k.preopen), at(&k.pre_limit), at(&k.pool)],
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!([at(&k.post), at(&k.post_limit), at(&k.admitted), at(&k.durable), at(&k.active)], [8, 9, 10, 11, 13]);
        assert_eq!([at(&k.seed), at(&k.restored)], [16, 17]);
    }

    #[test]
    fn seats_follow_the_fixed_arguments_in_pairs() {
        let args_of = args;
        let marks = Marks { seed: "s".into(), admitted: 7, seats: vec![(6, 1_000), (7, 1_000)], ..Marks::default() };
        let args = args(&marks);
        assert_eq!(args.len(), 12 + 4);
        assert_eq!(&args[12..], ["6", "1000", "7", "1000"]);
        assert_eq!(args[11], "", "never switched: the deployment's default");
        assert_eq!(args[0], "0", "a first build is no restore");
        assert_eq!(args[10], "", "no operator difficulty: the deployment's default applies");
        let mut marks = marks;
        marks.settings.pow_bits = Some(12);
        assert_eq!(args_of(&marks)[10], "12", "the operator's difficulty is restored");
        marks.settings.auto_rate = Some(false);
        assert_eq!(args_of(&marks)[11], "0", "an operator's off switch is restored");
    }
}
