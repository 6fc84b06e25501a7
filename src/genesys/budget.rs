//! One rate budget per target, shared by every replica on the database.
//!
//! The target's `rate_limit_per_minute` is a sequence of request slots `spacing` apart. A
//! replica does not ask the database for each slot: it *leases* a slice of the sequence
//! (about two seconds of it, [`lease_slots`]) in one statement, which moves the target's
//! "next free slot" past the slice; it then spaces its requests within its slices locally
//! ([`Slices`]). A replica with waiting requests leases the next slice when less than half
//! of what it holds is left, so a busy replica alone gets contiguous slices and the whole
//! budget; two busy replicas get interleaved slices. A replica that has had nothing to send
//! for a moment gives the unused tail of its last slice back, if nobody leased after it.
//! A replica killed while holding slices strands them for at most the slices' length.
//!
//! Time is the database's clock (microseconds), so replicas on different hosts agree; a
//! slice is turned into local instants when its answer arrives (late by at most the round
//! trip, never early). When the slice follows another replica's, the database leaves
//! [`GUARD`] between them, which absorbs the two replicas' different lateness.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// Gap the database leaves before a slice that follows another holder's.
pub const GUARD: Duration = Duration::from_millis(20);

/// A slice lasts about this long (at least [`MIN_SLOTS`] slots).
const LEASE_TIME: Duration = Duration::from_secs(2);
const MIN_SLOTS: u32 = 5;

/// How long a replica with nothing to send keeps its slices before giving the tail back.
const IDLE_BEFORE_GIVING_BACK: Duration = Duration::from_millis(300);

/// Slots in one lease at `spacing`: about [`LEASE_TIME`], never fewer than [`MIN_SLOTS`].
pub fn lease_slots(spacing: Duration) -> u32 {
    let n = LEASE_TIME.as_micros() / spacing.as_micros().max(1);
    u32::try_from(n).unwrap_or(u32::MAX).max(MIN_SLOTS)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A slice granted by the database: `[start_us, start_us + length)` on its clock, and the
/// clock's reading when it granted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    pub start_us: i64,
    pub now_us: i64,
}

/// The database's side: leases slices and takes tails back. Implemented by the store on
/// PostgreSQL (`store::budget`).
pub trait BudgetLedger: Send + Sync + 'static {
    /// Leases `length_us` of `target`'s budget for `holder`, from its next free slot or
    /// now, whichever is later (plus [`GUARD`] after another holder's slice).
    fn lease<'a>(
        &'a self,
        target: &'a str,
        holder: &'a str,
        length_us: i64,
    ) -> BoxFuture<'a, Result<Granted, String>>;

    /// Gives back `[from_us, end_us)` if the budget's next free slot is still `end_us`
    /// (nobody leased after it). Answers whether it was taken back.
    fn give_back<'a>(
        &'a self,
        target: &'a str,
        end_us: i64,
        from_us: i64,
    ) -> BoxFuture<'a, Result<bool, String>>;
}

/// One leased slice in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slice {
    start: Instant,
    /// The last slot is at `end - spacing` at the latest.
    end: Instant,
    db_start_us: i64,
    /// Where the database's next free slot is if nobody leased after this slice.
    db_end_us: i64,
    /// Whether its tail may still be offered back (one try per slice).
    returnable: bool,
}

/// What the keeper should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Lease another slice.
    Lease,
    /// Offer `[from_us, end_us)` back.
    GiveBack { end_us: i64, from_us: i64 },
    /// Nothing until this instant (or until the demand changes; `None`: only then).
    Wait(Option<Instant>),
}

/// The slices a replica holds for one target and the next slot it may use: the pure
/// arithmetic of the shared budget.
#[derive(Debug)]
pub struct Slices {
    spacing: Duration,
    slots: u32,
    held: VecDeque<Slice>,
    /// No slot before this (the previous one + spacing), across slices.
    next: Option<Instant>,
}

impl Slices {
    pub fn new(spacing: Duration) -> Slices {
        Slices {
            spacing,
            slots: lease_slots(spacing),
            held: VecDeque::new(),
            next: None,
        }
    }

    /// What one lease asks the database for.
    pub fn lease_length(&self) -> Duration {
        self.spacing * self.slots
    }

    /// Adds a slice the database granted; `arrived` is when its answer arrived here.
    pub fn add(&mut self, g: Granted, arrived: Instant) {
        let ahead = u64::try_from(g.start_us.saturating_sub(g.now_us)).unwrap_or(0);
        let start = arrived + Duration::from_micros(ahead);
        let length = self.lease_length();
        self.held.push_back(Slice {
            start,
            end: start + length,
            db_start_us: g.start_us,
            db_end_us: g.start_us.saturating_add(micros(length)),
            returnable: true,
        });
    }

    /// The earliest usable instant of `s` at `now`.
    fn first_free(&self, s: &Slice, now: Instant) -> Instant {
        let mut t = now.max(s.start);
        if let Some(n) = self.next {
            t = t.max(n);
        }
        t
    }

    /// Takes the next slot at `now`: the instant to send at, or `None` when the slices
    /// held are used up (past slices are dropped).
    pub fn take(&mut self, now: Instant) -> Option<Instant> {
        while let Some(s) = self.held.front().copied() {
            let t = self.first_free(&s, now);
            if t + self.spacing <= s.end {
                self.next = Some(t + self.spacing);
                return Some(t);
            }
            self.held.pop_front();
        }
        None
    }

    /// Budget time left in the slices held, from `now`: whole slots only (a sliver shorter
    /// than the spacing holds no request).
    pub fn left(&self, now: Instant) -> Duration {
        let spacing = self.spacing.as_nanos().max(1);
        self.held
            .iter()
            .map(|s| {
                let d = s.end.saturating_duration_since(self.first_free(s, now));
                let slots = u32::try_from(d.as_nanos() / spacing).unwrap_or(u32::MAX);
                self.spacing * slots
            })
            .sum()
    }

    /// What to do at `now` with `demand` requests waiting, idle (no demand) for `idle`.
    pub fn next_step(&self, now: Instant, demand: usize, idle: Duration) -> Next {
        let left = self.left(now);
        let low = self.lease_length() / 2;
        if demand > 0 {
            return if left < low {
                Next::Lease
            } else {
                Next::Wait(Some(now + (left - low)))
            };
        }
        let Some(last) = self.held.back().filter(|s| s.returnable) else {
            return Next::Wait(None);
        };
        let from = self.first_free(last, now);
        if last.end.saturating_duration_since(from) < self.spacing * 2 {
            // Not worth a round trip: it passes soon.
            return Next::Wait(None);
        }
        if idle < IDLE_BEFORE_GIVING_BACK {
            return Next::Wait(Some(now + (IDLE_BEFORE_GIVING_BACK - idle)));
        }
        let into = micros(from.saturating_duration_since(last.start));
        Next::GiveBack {
            end_us: last.db_end_us,
            from_us: last.db_start_us.saturating_add(into),
        }
    }

    /// The last slice's tail was offered back: if taken, nothing of it is usable any more;
    /// either way it is not offered again.
    pub fn gave_back(&mut self, taken: bool, now: Instant) {
        let from = self.held.back().map(|s| self.first_free(s, now));
        if let (Some(last), Some(from)) = (self.held.back_mut(), from) {
            last.returnable = false;
            if taken {
                last.end = from.min(last.end);
            }
        }
    }
}

/// The shared budget of one target in this replica: its slices, the demand the keeper
/// task serves, and the task itself.
pub struct SharedBudget {
    slices: Mutex<Slices>,
    changed: tokio::sync::Notify,
    demand: tokio::sync::watch::Sender<usize>,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBudget")
            .field("demand", &*self.demand.borrow())
            .finish_non_exhaustive()
    }
}

impl SharedBudget {
    /// Starts the keeper of `target`'s budget at `spacing` (needs a Tokio runtime); it ends
    /// when the budget is dropped.
    pub fn start(
        spacing: Duration,
        target: String,
        ledger: Arc<dyn BudgetLedger>,
    ) -> Arc<SharedBudget> {
        let b = Arc::new(SharedBudget {
            slices: Mutex::new(Slices::new(spacing)),
            changed: tokio::sync::Notify::new(),
            demand: tokio::sync::watch::Sender::new(0),
        });
        let holder = uuid::Uuid::new_v4().to_string();
        tokio::spawn(keep(Arc::downgrade(&b), target, holder, ledger));
        b
    }

    fn slices(&self) -> std::sync::MutexGuard<'_, Slices> {
        self.slices.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Requests of this target waiting here (the keeper leases while there are any).
    pub fn set_demand(&self, n: usize) {
        self.demand
            .send_if_modified(|d| std::mem::replace(d, n) != n);
    }

    /// Waits for the next slot of the slices held (the keeper leases more when they run
    /// out), and answers it. Only one caller at a time (the pacer's admitted waiter).
    pub async fn next_slot(&self) -> Instant {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let slot = self.slices().take(Instant::now());
            if let Some(at) = slot {
                tokio::time::sleep_until(at).await;
                return at;
            }
            changed.await;
        }
    }
}

/// The keeper: leases while requests wait and the slices run low, gives the tail back
/// after a moment without demand. Database errors are logged and retried (requests wait
/// meanwhile: the budget is never exceeded for want of the database).
async fn keep(
    budget: Weak<SharedBudget>,
    target: String,
    holder: String,
    ledger: Arc<dyn BudgetLedger>,
) {
    let Some(mut demand) = budget.upgrade().map(|b| b.demand.subscribe()) else {
        return;
    };
    let mut idle_since = Some(Instant::now());
    let mut failures = 0u32;
    loop {
        let Some(b) = budget.upgrade() else { return };
        let waiting = *demand.borrow_and_update();
        let now = Instant::now();
        idle_since = if waiting > 0 {
            None
        } else {
            Some(idle_since.unwrap_or(now))
        };
        let idle = idle_since.map_or(Duration::ZERO, |t| now - t);
        let step = b.slices().next_step(now, waiting, idle);
        let done = match step {
            Next::Lease => {
                let length = micros(b.slices().lease_length());
                ledger
                    .lease(&target, &holder, length)
                    .await
                    .map(|g| b.slices().add(g, Instant::now()))
            }
            Next::GiveBack { end_us, from_us } => ledger
                .give_back(&target, end_us, from_us)
                .await
                .map(|taken| b.slices().gave_back(taken, Instant::now())),
            Next::Wait(until) => {
                drop(b);
                let until = until.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    r = demand.changed() => if r.is_err() { return },
                    () = tokio::time::sleep_until(until) => {}
                }
                continue;
            }
        };
        match done {
            Ok(()) => {
                failures = 0;
                b.changed.notify_waiters();
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(target_name = %target, error = %e, "cannot lease the target's shared rate budget; retrying");
                drop(b);
                let delay = Duration::from_millis(100) * 2u32.pow(failures.min(5));
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// 300/min as the pacer spaces it.
    fn slices() -> Slices {
        Slices::new(201 * MS)
    }

    #[test]
    fn a_lease_is_about_two_seconds_and_never_tiny() {
        assert_eq!(lease_slots(201 * MS), 9);
        assert_eq!(lease_slots(51 * MS), 39);
        assert_eq!(lease_slots(1001 * MS), MIN_SLOTS);
        assert_eq!(slices().lease_length(), 1809 * MS);
    }

    #[test]
    fn slots_are_spaced_within_a_slice_and_end_with_it() {
        let now = Instant::now();
        let mut s = slices();
        assert_eq!(s.take(now), None, "nothing leased");
        // Granted 100 ms ahead on the database's clock.
        s.add(
            Granted {
                start_us: 5_100_000,
                now_us: 5_000_000,
            },
            now,
        );
        let slots: Vec<Instant> = std::iter::from_fn(|| s.take(now)).collect();
        assert_eq!(slots.len(), 9);
        assert_eq!(slots[0], now + 100 * MS);
        for w in slots.windows(2) {
            assert_eq!(w[1] - w[0], 201 * MS);
        }
        assert!(*slots.last().unwrap() + 201 * MS <= now + 100 * MS + s.lease_length());
        assert_eq!(s.take(now), None);
    }

    #[test]
    fn a_late_taker_shifts_the_rest_and_never_overruns_the_slice() {
        let t0 = Instant::now();
        let mut s = slices();
        s.add(
            Granted {
                start_us: 0,
                now_us: 0,
            },
            t0,
        );
        assert_eq!(s.take(t0), Some(t0));
        // Nobody asked for 1 s: the next slot is now, then spaced from it.
        let late = t0 + 1000 * MS;
        assert_eq!(s.take(late), Some(late));
        let mut n = 2;
        while let Some(t) = s.take(late) {
            assert!(t + 201 * MS <= t0 + s.lease_length());
            n += 1;
        }
        // 1809 ms: slots at 0, 1000, 1201, 1402, 1603 (1804 + 201 > 1809).
        assert_eq!(n, 5);
    }

    #[test]
    fn spacing_carries_across_slices_the_database_made_contiguous() {
        let t0 = Instant::now();
        let mut s = slices();
        let len = micros(s.lease_length());
        s.add(
            Granted {
                start_us: 0,
                now_us: 0,
            },
            t0,
        );
        // The second slice's answer arrived 30 ms late: its start is later, never earlier.
        s.add(
            Granted {
                start_us: len,
                now_us: 0,
            },
            t0 + 30 * MS,
        );
        let slots: Vec<Instant> = std::iter::from_fn(|| s.take(t0)).collect();
        assert_eq!(slots.len(), 18);
        for w in slots.windows(2) {
            assert!(w[1] - w[0] >= 201 * MS, "{:?}", w[1] - w[0]);
        }
    }

    #[test]
    fn leases_ahead_while_requests_wait_and_only_when_running_low() {
        let t0 = Instant::now();
        let mut s = slices();
        assert_eq!(s.next_step(t0, 1, Duration::ZERO), Next::Lease);
        assert_eq!(s.next_step(t0, 0, Duration::ZERO), Next::Wait(None));
        s.add(
            Granted {
                start_us: 0,
                now_us: 0,
            },
            t0,
        );
        // 1809 ms held, the low mark is half of it: wait until 904.5 ms are left.
        let half = s.lease_length() / 2;
        assert_eq!(
            s.next_step(t0, 3, Duration::ZERO),
            Next::Wait(Some(t0 + (s.lease_length() - half)))
        );
        let later = t0 + s.lease_length() - half + MS;
        assert_eq!(s.next_step(later, 3, Duration::ZERO), Next::Lease);
    }

    #[test]
    fn an_idle_replica_gives_the_unused_tail_back_once() {
        let t0 = Instant::now();
        let mut s = slices();
        s.add(
            Granted {
                start_us: 1_000_000,
                now_us: 1_000_000,
            },
            t0,
        );
        assert_eq!(s.take(t0), Some(t0));
        // Not idle long enough yet.
        assert_eq!(
            s.next_step(t0, 0, 100 * MS),
            Next::Wait(Some(t0 + IDLE_BEFORE_GIVING_BACK - 100 * MS))
        );
        // From the next unused slot (201 ms in) to the slice's end.
        let at = t0 + 50 * MS;
        assert_eq!(
            s.next_step(at, 0, IDLE_BEFORE_GIVING_BACK),
            Next::GiveBack {
                end_us: 1_000_000 + 1_809_000,
                from_us: 1_201_000,
            }
        );
        s.gave_back(true, at);
        assert_eq!(s.take(at), None, "the tail is no longer ours");
        assert_eq!(s.next_step(at, 0, Duration::from_secs(9)), Next::Wait(None));
    }

    #[test]
    fn a_tail_someone_leased_after_is_kept_and_not_offered_again() {
        let t0 = Instant::now();
        let mut s = slices();
        s.add(
            Granted {
                start_us: 0,
                now_us: 0,
            },
            t0,
        );
        assert!(matches!(
            s.next_step(t0, 0, Duration::from_secs(1)),
            Next::GiveBack { .. }
        ));
        s.gave_back(false, t0);
        assert_eq!(s.next_step(t0, 0, Duration::from_secs(1)), Next::Wait(None));
        assert_eq!(s.take(t0), Some(t0), "still usable");
    }

    #[test]
    fn a_short_tail_is_not_worth_a_round_trip() {
        let t0 = Instant::now();
        let mut s = slices();
        s.add(
            Granted {
                start_us: 0,
                now_us: 0,
            },
            t0,
        );
        let near_end = t0 + s.lease_length() - 300 * MS;
        assert_eq!(
            s.next_step(near_end, 0, Duration::from_secs(1)),
            Next::Wait(None)
        );
    }

    /// A ledger in memory with the database's arithmetic, for the pacer's tests.
    #[derive(Default)]
    pub(crate) struct MemoryLedger {
        state: Mutex<(i64, String)>,
        pub(crate) leases: std::sync::atomic::AtomicU64,
    }

    fn clock_us() -> i64 {
        micros(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
        )
    }

    impl BudgetLedger for MemoryLedger {
        fn lease<'a>(
            &'a self,
            _target: &'a str,
            holder: &'a str,
            length_us: i64,
        ) -> BoxFuture<'a, Result<Granted, String>> {
            Box::pin(async move {
                self.leases
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut st = self.state.lock().unwrap();
                let now = clock_us();
                let guard = if st.1 == holder { 0 } else { micros(GUARD) };
                let start = (st.0 + guard).max(now);
                *st = (start + length_us, holder.to_owned());
                Ok(Granted {
                    start_us: start,
                    now_us: now,
                })
            })
        }

        fn give_back<'a>(
            &'a self,
            _target: &'a str,
            end_us: i64,
            from_us: i64,
        ) -> BoxFuture<'a, Result<bool, String>> {
            Box::pin(async move {
                let mut st = self.state.lock().unwrap();
                if st.0 != end_us {
                    return Ok(false);
                }
                st.0 = from_us.max(clock_us());
                Ok(true)
            })
        }
    }

    #[tokio::test]
    async fn two_budgets_on_one_ledger_share_the_rate() {
        let ledger = Arc::new(MemoryLedger::default());
        let spacing = 21 * MS; // ~2,850/min: quick
        let a = SharedBudget::start(spacing, "t".into(), ledger.clone());
        let b = SharedBudget::start(spacing, "t".into(), ledger.clone());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for budget in [a.clone(), b.clone()] {
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                budget.set_demand(1);
                for _ in 0..60 {
                    // The slot (a loaded machine may wake both tasks late at once).
                    let at = budget.next_slot().await;
                    sent.lock().unwrap().push(at);
                }
                budget.set_demand(0);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut sent = sent.lock().unwrap().clone();
        sent.sort();
        // Both got every slot they asked for, spaced as one sequence.
        assert_eq!(sent.len(), 120);
        for w in sent.windows(2) {
            assert!(w[1] - w[0] >= spacing, "{:?}", w[1] - w[0]);
        }
        let leases = ledger.leases.load(std::sync::atomic::Ordering::Relaxed);
        assert!(leases <= 120 / 10, "{leases} leases for 120 requests");
    }
}
