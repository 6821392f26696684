//! The flow table: per-connection state keyed by the TCP 4-tuple, bounded in size and idle time.
//!
//! # Keys
//! [`FlowKey`] is canonical: both directions of a connection give the same key, the endpoint that
//! sorts first being `a`; [`FlowKey::new`] also says which way the packet went.
//!
//! # Bounds and eviction (style §4.4 "memcap"; counter-example §4.5)
//! At most `max_flows` flows are held, in a dense slab indexed by a hash map. Seeing a flow only
//! stamps its slot with the time (no list to reorder: one cache line per packet); eviction sweeps:
//! - **Full.** Inserting into a full table first evicts the least recently seen eighth of it
//!   (at least one flow), found with one O(n) selection pass, so an insert costs O(1)
//!   amortized. The evicted states are parked and handed to the caller's callback at the next
//!   [`FlowTable::evict_idle`], [`FlowTable::take_evicted`] or [`FlowTable::drain`] call, so every
//!   evicted connection still gets its verdict. At most `max_flows` states are parked; beyond
//!   that (a caller that never collects) the oldest parked one is dropped and counted in
//!   [`FlowTableStats::evicted_unreported`].
//! - **Idle.** [`FlowTable::evict_idle`] removes flows not seen for more than
//!   `idle_timeout_secs` of capture time, stalest first. It sweeps the table at most once per
//!   eighth of the timeout (and at most once per second) of capture time and returns at once
//!   otherwise, so it may be called for every packet; a flow is evicted at most an eighth of the
//!   timeout late. A timeout of 0 disables idle eviction.
//!
//! # Time
//! The table keeps a clock: the latest timestamp passed to [`FlowTable::get_or_insert_with`] or
//! [`FlowTable::evict_idle`] (it never goes back, so captures with out-of-order timestamps or
//! several files in a row cannot make a flow look idle). [`FlowTable::get_mut`] stamps a flow
//! with that clock.
//!
//! # Hashing
//! `ahash` with a per-table random key: fast on the 40-byte keys, and a capture crafted to collide
//! flows in the hash map (keys are attacker-controlled in a capture of hostile traffic) cannot
//! degrade lookups, which a fixed-key hasher like FxHash would allow.
//!
//! Memory: the slab, the map, the parked list and the sweep's scratch list each hold at most
//! `max_flows` entries; nothing grows with the capture except counters.

use crate::source::Timestamp;
use ahash::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;

/// A connection's number, in order of its first packet (0, 1, 2, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which way a packet went relative to its [`FlowKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From endpoint `a` to endpoint `b`.
    AtoB,
    /// From endpoint `b` to endpoint `a`.
    BtoA,
}

impl Direction {
    /// The other direction.
    pub const fn reverse(self) -> Direction {
        match self {
            Direction::AtoB => Direction::BtoA,
            Direction::BtoA => Direction::AtoB,
        }
    }
    /// 0 for `AtoB`, 1 for `BtoA`: an index into per-direction arrays.
    pub const fn index(self) -> usize {
        match self {
            Direction::AtoB => 0,
            Direction::BtoA => 1,
        }
    }
}

/// A TCP (or UDP) connection's endpoints, the same for both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    a: (IpAddr, u16),
    b: (IpAddr, u16),
}

impl FlowKey {
    /// The key of a packet from `src:sport` to `dst:dport`, and its direction (`AtoB` when the
    /// source sorts first, by address then port).
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (FlowKey, Direction) {
        let (s, d) = ((src, sport), (dst, dport));
        if let (IpAddr::V4(a), IpAddr::V4(b)) = (src, dst) {
            // the common case, the same order as below in one integer comparison
            let r = |ip: std::net::Ipv4Addr, port: u16| {
                u64::from(u32::from(ip)) << 16 | u64::from(port)
            };
            return if r(a, sport) <= r(b, dport) {
                (FlowKey { a: s, b: d }, Direction::AtoB)
            } else {
                (FlowKey { a: d, b: s }, Direction::BtoA)
            };
        }
        // the same order as comparing the tuples (IPv4 before IPv6, then address, then port),
        // on integers rather than byte arrays: this runs for every TCP packet
        let rank = |(ip, port): (IpAddr, u16)| match ip {
            IpAddr::V4(a) => (4u8, u128::from(u32::from(a)), port),
            IpAddr::V6(a) => (6u8, u128::from(a), port),
        };
        if rank(s) <= rank(d) {
            (FlowKey { a: s, b: d }, Direction::AtoB)
        } else {
            (FlowKey { a: d, b: s }, Direction::BtoA)
        }
    }
    /// The endpoint that sorts first.
    pub fn a(&self) -> (IpAddr, u16) {
        self.a
    }
    /// The endpoint that sorts second.
    pub fn b(&self) -> (IpAddr, u16) {
        self.b
    }
    /// (source, destination) of a packet going `dir`.
    pub fn endpoints(&self, dir: Direction) -> ((IpAddr, u16), (IpAddr, u16)) {
        match dir {
            Direction::AtoB => (self.a, self.b),
            Direction::BtoA => (self.b, self.a),
        }
    }
}

/// Counters of a [`FlowTable`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowTableStats {
    /// Flows held now.
    pub live: usize,
    /// Most flows held at once.
    pub peak: usize,
    /// Flows ever inserted.
    pub created: u64,
    /// Flows evicted because the table was full.
    pub evicted_full: u64,
    /// Flows evicted because they were idle.
    pub evicted_idle: u64,
    /// Evicted states dropped without reaching a callback (more than `max_flows` parked).
    pub evicted_unreported: u64,
}

/// One flow.
struct Slot<T> {
    key: FlowKey,
    id: ConnId,
    last_seen: Timestamp,
    state: T,
}

/// Per-flow state `T`, bounded in count and idle time. See the [module docs](self).
pub struct FlowTable<T> {
    /// Key → index in `slots`.
    map: HashMap<FlowKey, u32, RandomState>,
    /// Every held flow, densely (removal moves the last slot into the hole).
    slots: Vec<Slot<T>>,
    parked: VecDeque<(ConnId, T)>,
    /// Reused by sweeps: (last seen, id, slot index).
    scratch: Vec<(Timestamp, ConnId, u32)>,
    max_flows: usize,
    idle_timeout_nanos: i128,
    clock: Timestamp,
    /// No idle sweep before this time.
    next_sweep: Timestamp,
    next_id: u64,
    stats: FlowTableStats,
}

impl<T> FlowTable<T> {
    /// A table of at most `max_flows` flows (at least 1, below 2^32), evicting flows idle for
    /// more than `idle_timeout_secs` (0: never).
    pub fn new(max_flows: usize, idle_timeout_secs: u64) -> Self {
        FlowTable {
            map: HashMap::with_hasher(RandomState::new()),
            slots: Vec::new(),
            parked: VecDeque::new(),
            scratch: Vec::new(),
            max_flows: max_flows.clamp(1, u32::MAX as usize),
            idle_timeout_nanos: i128::from(idle_timeout_secs) * 1_000_000_000,
            clock: Timestamp::default(),
            next_sweep: Timestamp::default(),
            next_id: 0,
            stats: FlowTableStats::default(),
        }
    }

    /// Removes slot `i` from the map and slab; returns its id and state.
    fn take_slot(&mut self, i: u32) -> Option<(ConnId, T)> {
        if i as usize >= self.slots.len() {
            return None;
        }
        let removed = self.slots.swap_remove(i as usize);
        self.map.remove(&removed.key);
        // the last slot moved into the hole: point its map entry at it
        if let Some(moved) = self.slots.get(i as usize) {
            if let Some(m) = self.map.get_mut(&moved.key) {
                *m = i;
            }
        }
        self.stats.live = self.map.len();
        Some((removed.id, removed.state))
    }

    fn park(&mut self, evicted: (ConnId, T)) {
        if self.parked.len() >= self.max_flows {
            self.parked.pop_front();
            self.stats.evicted_unreported += 1;
        }
        self.parked.push_back(evicted);
    }

    /// Fills `scratch` with the slots `keep` selects, stalest first.
    fn select(&mut self, keep: impl Fn(&Slot<T>) -> bool) {
        self.scratch.clear();
        let held = self.slots.iter().zip(0u32..).filter(|(s, _)| keep(s));
        self.scratch
            .extend(held.map(|(s, i)| (s.last_seen, s.id, i)));
    }

    /// Removes the slots listed in `scratch` (any order), handing each over in `scratch` order.
    fn remove_selected(&mut self, mut f: impl FnMut(&mut Self, ConnId, T)) {
        let mut picked = std::mem::take(&mut self.scratch);
        // remove from the highest index down, so swap_remove never moves a picked slot
        let mut order: Vec<(usize, u32)> = picked
            .iter()
            .enumerate()
            .map(|(n, &(_, _, i))| (n, i))
            .collect();
        order.sort_unstable_by_key(|&(_, i)| std::cmp::Reverse(i));
        let mut taken: Vec<Option<(ConnId, T)>> = (0..picked.len()).map(|_| None).collect();
        for (n, i) in order {
            if let Some(slot) = taken.get_mut(n) {
                *slot = self.take_slot(i);
            }
        }
        for (id, state) in taken.into_iter().flatten() {
            f(self, id, state);
        }
        picked.clear();
        self.scratch = picked;
    }

    /// The full table makes room: the least recently seen eighth is evicted and parked.
    fn evict_for_room(&mut self) {
        let n = (self.slots.len() / 8).max(1);
        self.select(|_| true);
        if n < self.scratch.len() {
            self.scratch.select_nth_unstable(n - 1);
            self.scratch.truncate(n);
        }
        self.scratch.sort_unstable();
        self.remove_selected(|t, id, state| {
            t.stats.evicted_full += 1;
            t.park((id, state));
        });
    }

    /// The flow's state, created with `f(its ConnId)` if new; stamps it seen at `now`.
    /// Returns (id, state, whether it was created). A full table first evicts its least recently
    /// seen eighth (handed over later; see the module docs).
    pub fn get_or_insert_with(
        &mut self,
        key: FlowKey,
        now: Timestamp,
        f: impl FnOnce(ConnId) -> T,
    ) -> (ConnId, &mut T, bool) {
        self.clock = self.clock.max(now);
        let (i, new) = match self.map.get(&key) {
            Some(&i) => (i, false),
            None => (self.insert(key, f), true),
        };
        // `i` indexes a held slot: map values always do
        let slot = &mut self.slots[i as usize];
        slot.last_seen = self.clock;
        (slot.id, &mut slot.state, new)
    }

    fn insert(&mut self, key: FlowKey, f: impl FnOnce(ConnId) -> T) -> u32 {
        if self.map.len() >= self.max_flows {
            self.evict_for_room();
        }
        let id = ConnId(self.next_id);
        self.next_id += 1;
        // fewer than max_flows ≤ u32::MAX slots, so the index fits
        let i = self.slots.len() as u32;
        self.slots.push(Slot {
            key,
            id,
            last_seen: self.clock,
            state: f(id),
        });
        self.map.insert(key, i);
        self.stats.created += 1;
        self.stats.live = self.map.len();
        self.stats.peak = self.stats.peak.max(self.map.len());
        i
    }

    /// The flow's id and state if it is held; stamps it seen at the table's clock.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<(ConnId, &mut T)> {
        let i = *self.map.get(key)?;
        let slot = self.slots.get_mut(i as usize)?;
        slot.last_seen = self.clock;
        Some((slot.id, &mut slot.state))
    }

    /// The flow's id and state if it is held, without stamping it.
    pub fn get(&self, key: &FlowKey) -> Option<(ConnId, &T)> {
        let slot = self.slots.get(*self.map.get(key)? as usize)?;
        Some((slot.id, &slot.state))
    }

    /// Calls `f` on every held flow (in slab order, no stamping) until it fails.
    pub fn try_for_each_mut<E>(
        &mut self,
        mut f: impl FnMut(ConnId, &mut T) -> Result<(), E>,
    ) -> Result<(), E> {
        self.slots
            .iter_mut()
            .try_for_each(|s| f(s.id, &mut s.state))
    }

    /// Removes a flow, returning its state.
    pub fn remove(&mut self, key: &FlowKey) -> Option<T> {
        let i = *self.map.get(key)?;
        self.take_slot(i).map(|(_, t)| t)
    }

    /// Hands over flows evicted for room; then, when a sweep is due, removes the flows idle for
    /// more than the timeout at `now`, stalest first, handing each to `on_evict`.
    pub fn evict_idle(&mut self, now: Timestamp, mut on_evict: impl FnMut(ConnId, T)) {
        self.clock = self.clock.max(now);
        self.take_evicted(&mut on_evict);
        if self.idle_timeout_nanos == 0 || self.clock < self.next_sweep {
            return;
        }
        // next sweep after an eighth of the timeout, at least a second
        let step = (self.idle_timeout_nanos / 8).max(1_000_000_000);
        let next = self.clock.as_nanos() + step;
        self.next_sweep = Timestamp::new(
            i64::try_from(next.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
            u64::try_from(next.rem_euclid(1_000_000_000)).unwrap_or(0),
        );
        let (clock, timeout) = (self.clock, self.idle_timeout_nanos);
        self.select(|s| clock.nanos_since(s.last_seen) > timeout);
        self.scratch.sort_unstable();
        self.remove_selected(|t, id, state| {
            t.stats.evicted_idle += 1;
            on_evict(id, state);
        });
    }

    /// Hands over the flows evicted to make room, stalest first.
    pub fn take_evicted(&mut self, mut f: impl FnMut(ConnId, T)) {
        while let Some((id, state)) = self.parked.pop_front() {
            f(id, state);
        }
    }

    /// End of input: hands over evicted flows, then every held flow in [`ConnId`] order, leaving
    /// the table empty.
    pub fn drain(&mut self, mut f: impl FnMut(ConnId, T)) {
        self.take_evicted(&mut f);
        self.map.clear();
        self.stats.live = 0;
        let mut held: Vec<Slot<T>> = std::mem::take(&mut self.slots);
        held.sort_unstable_by_key(|s| s.id);
        for s in held {
            f(s.id, s.state);
        }
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No flow is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Most flows held at once.
    pub fn peak(&self) -> usize {
        self.stats.peak
    }

    /// Flows evicted so far, because the table was full or because they were idle.
    pub fn evicted(&self) -> u64 {
        self.stats.evicted_full + self.stats.evicted_idle
    }

    /// All counters.
    pub fn stats(&self) -> FlowTableStats {
        self.stats
    }

    /// The most flows this table holds.
    pub fn max_flows(&self) -> usize {
        self.max_flows
    }

    /// The table's clock: the latest time it was given.
    pub fn clock(&self) -> Timestamp {
        self.clock
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ts(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0 }
    }

    fn key(port: u16) -> FlowKey {
        FlowKey::new(
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port,
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            443,
        )
        .0
    }

    #[test]
    fn key_is_order_independent() {
        let c = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        let s = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let (k1, d1) = FlowKey::new(c, 40000, s, 443);
        let (k2, d2) = FlowKey::new(s, 443, c, 40000);
        assert_eq!(k1, k2);
        assert_eq!(d2, d1.reverse());
        assert_eq!(k1.endpoints(d1), ((c, 40000), (s, 443)));
        assert_eq!(k1.endpoints(d2), ((s, 443), (c, 40000)));
        // same address, ports decide
        let (k3, d3) = FlowKey::new(c, 9, c, 8);
        assert_eq!((k3.a(), k3.b(), d3), ((c, 8), (c, 9), Direction::BtoA));
        // the order is the tuples' order
        let eps = [
            (c, 1),
            (c, 2),
            (IpAddr::V4(Ipv4Addr::new(9, 255, 0, 0)), 7),
            (s, 1),
            (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 9),
        ];
        for x in eps {
            for y in eps {
                let (k, d) = FlowKey::new(x.0, x.1, y.0, y.1);
                assert_eq!(d == Direction::AtoB, x <= y);
                assert_eq!((k.a(), k.b()), (x.min(y), x.max(y)));
            }
        }
    }

    #[test]
    fn ids_in_first_packet_order_and_lookup() {
        let mut t = FlowTable::new(10, 60);
        let (id0, s, new) = t.get_or_insert_with(key(1), ts(1), |id| id.0 * 100);
        assert_eq!((id0, *s, new), (ConnId(0), 0, true));
        let (id1, _, _) = t.get_or_insert_with(key(2), ts(2), |id| id.0 * 100);
        let (again, s, new) = t.get_or_insert_with(key(1), ts(3), |_| 999);
        assert_eq!((id1, again, *s, new), (ConnId(1), ConnId(0), 0, false));
        *t.get_mut(&key(2)).unwrap().1 += 5;
        assert_eq!(t.get(&key(2)), Some((ConnId(1), &105)));
        assert_eq!(t.remove(&key(2)), Some(105));
        assert_eq!(t.remove(&key(2)), None);
        assert!(t.get_mut(&key(2)).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn full_table_evicts_least_recently_seen_and_hands_it_over() {
        let mut t = FlowTable::new(3, 0);
        for p in 1..=3 {
            t.get_or_insert_with(key(p), ts(i64::from(p)), |id| id.0);
        }
        // flow 1 is seen again, so flow 2 is now the stalest
        t.get_mut(&key(1));
        t.get_or_insert_with(key(1), ts(4), |_| 99);
        t.get_or_insert_with(key(4), ts(5), |id| id.0);
        assert_eq!(t.len(), 3);
        assert!(t.get(&key(2)).is_none());
        let mut got = Vec::new();
        t.evict_idle(ts(5), |id, s| got.push((id, s)));
        assert_eq!(got, vec![(ConnId(1), 1)]);
        assert_eq!((t.stats().evicted_full, t.evicted(), t.peak()), (1, 1, 3));
    }

    #[test]
    fn idle_eviction_stalest_first_and_stops_early() {
        let mut t = FlowTable::new(100, 10);
        for p in 0..5u16 {
            t.get_or_insert_with(key(p), ts(i64::from(p) * 5), |_| p);
        }
        let mut got = Vec::new();
        // at t=21, flows last seen at 0, 5 and 10 are idle for more than 10 s
        t.evict_idle(ts(21), |_, s| got.push(s));
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!((t.len(), t.stats().evicted_idle), (2, 3));
        // a flow touched by get_mut is seen at the clock (21)
        t.get_mut(&key(3));
        got.clear();
        t.evict_idle(ts(31), |_, s| got.push(s));
        assert_eq!(got, vec![4], "flow 3 was seen at 21, flow 4 at 20");
        // the clock never goes back
        t.evict_idle(ts(0), |_, _| panic!("nothing is idle"));
        assert_eq!(t.clock(), ts(31));
    }

    #[test]
    fn drain_in_conn_id_order_with_parked_first() {
        let mut t = FlowTable::new(3, 0);
        for p in [5u16, 3, 9, 1] {
            t.get_or_insert_with(key(p), ts(0), |id| (p, id));
        }
        t.get_mut(&key(3));
        let mut got = Vec::new();
        t.drain(|id, (p, id2)| {
            assert_eq!(id, id2);
            got.push(p)
        });
        assert_eq!(got, vec![5, 3, 9, 1]);
        assert!(t.is_empty());
        // usable after draining
        let (id, _, new) = t.get_or_insert_with(key(7), ts(0), |id| (7, id));
        assert_eq!((id, new), (ConnId(4), true));
    }

    #[test]
    fn bounded_under_a_flood_of_new_flows() {
        let mut t = FlowTable::new(64, 0);
        let mut seen = 0u64;
        for i in 0..10_000u32 {
            let k = FlowKey::new(
                IpAddr::V4(Ipv4Addr::from(i)),
                1,
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                2,
            )
            .0;
            t.get_or_insert_with(k, ts(i64::from(i)), |_| i);
            if i % 1000 == 0 {
                t.take_evicted(|_, _| seen += 1);
            }
            assert!(t.len() <= 64 && t.slots.len() <= 64 && t.parked.len() <= 64);
        }
        t.drain(|_, _| seen += 1);
        // every flow reached a callback except the parked ones dropped between collections
        assert_eq!(seen + t.stats().evicted_unreported, 10_000);
        assert_eq!(t.stats().created, 10_000);
    }

    #[test]
    fn removals_keep_map_and_slab_consistent() {
        let mut t = FlowTable::new(1000, 1);
        for p in 0..100u16 {
            t.get_or_insert_with(key(p), ts(i64::from(p / 10)), |_| p);
        }
        // touched again at the clock (9): no longer stale
        t.get_mut(&key(3));
        t.remove(&key(0));
        t.remove(&key(99));
        t.remove(&key(50));
        // flows last seen before 8 are idle for more than 1 s at 9 and go, moving many slots
        let mut got = Vec::new();
        t.evict_idle(ts(9), |_, s| got.push(s));
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "stalest first: {got:?}"
        );
        for p in 1..99u16 {
            let held = t.get(&key(p)).map(|(_, &s)| s);
            let expect = (p != 50 && (p >= 80 || p == 3)).then_some(p);
            assert_eq!(held, expect, "flow {p}");
        }
        assert_eq!(t.len() + got.len() + 3, 100);
    }

    #[test]
    fn idle_sweeps_are_rate_limited() {
        let mut t = FlowTable::new(10, 80);
        t.get_or_insert_with(key(1), ts(0), |_| 1);
        t.evict_idle(ts(0), |_, _| ());
        // next sweep at 10 s (an eighth of 80 s): at 85 s the flow is idle, and it goes
        t.get_or_insert_with(key(2), ts(1), |_| 2);
        let mut got = Vec::new();
        t.evict_idle(ts(9), |_, s| got.push(s));
        assert!(got.is_empty());
        t.evict_idle(ts(85), |_, s| got.push(s));
        assert_eq!(got, vec![1, 2]);
    }
}
