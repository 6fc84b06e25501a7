//! Pacing of Platform API requests for one target: a GCRA limiter with burst 1 (requests
//! evenly spaced at the target's rate) and a shared "paused until" instant set by a 429.
//!
//! Requests wait their turn by [`Priority`]: one waiter at a time, the most urgent class
//! first, is admitted to the limiter (so a request that arrives while many wait is at most
//! one slot behind what it outranks, instead of racing all of them for every slot).

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use super::budget::{BudgetLedger, SharedBudget};

/// Spacing of a limiter at `per_minute` requests per minute, or `None` for no limit (0).
///
/// One millisecond is added to the exact spacing so that `per_minute + 1` evenly spaced
/// requests never fit in one 60-second window, even with a few milliseconds of network jitter
/// (Genesys counts per token in a window that starts with its first request).
pub fn spacing(per_minute: u32) -> Option<Duration> {
    if per_minute == 0 {
        return None;
    }
    Some(Duration::from_secs(60) / per_minute + Duration::from_millis(1))
}

/// Which request goes first when several wait for the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Work that can wait without delaying anything (an Architect job registered ahead of
    /// the modules its flow calls).
    Low = 0,
    Normal = 1,
    /// Work that starts a clock (an Architect job registered to be uploaded at once): the
    /// sooner it goes, the sooner the job runs; the polls can come later.
    High = 2,
}

/// A request's place in the queue: a fixed [`Priority`], or one read again whenever the
/// queue moves while it waits (an Architect job registered ahead of the modules its flow
/// calls rises to [`Priority::High`] once they succeeded: it must not stay behind every poll
/// that comes after them).
#[derive(Clone)]
pub enum Urgency {
    Fixed(Priority),
    Rising(Arc<dyn Fn() -> Priority + Send + Sync>),
}

impl Urgency {
    /// The priority as of now.
    pub fn now(&self) -> Priority {
        match self {
            Urgency::Fixed(p) => *p,
            Urgency::Rising(f) => f(),
        }
    }
}

impl From<Priority> for Urgency {
    fn from(p: Priority) -> Urgency {
        Urgency::Fixed(p)
    }
}

impl std::fmt::Debug for Urgency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Urgency::Fixed(p) => f.debug_tuple("Fixed").field(p).finish(),
            Urgency::Rising(_) => f.debug_tuple("Rising").field(&self.now()).finish(),
        }
    }
}

/// Waiters per priority, and whether one is admitted to the limiter.
#[derive(Debug, Default)]
struct Turns {
    waiting: [usize; 3],
    admitted: bool,
}

/// The target's pacing: `until_ready` on the limiter, and the pause of a 429.
pub struct Pacer {
    limiter: Option<DefaultDirectRateLimiter>,
    /// The spacing of requests at the target's rate (`None`: not paced).
    spacing: Option<Duration>,
    /// Slots leased from the budget replicas share, instead of `limiter` (PostgreSQL).
    shared: Option<Arc<SharedBudget>>,
    paused_until: Mutex<Option<Instant>>,
    turns: Mutex<Turns>,
    turn_changed: tokio::sync::Notify,
    /// Bumped whenever a request starts or stops waiting: the job loop starts steps when
    /// the queue runs short ([`Pacer::queued`]), and must not miss a change.
    queue_changed: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limited", &self.limited())
            .field("shared", &self.shared.is_some())
            .field("paused_for", &self.paused_for())
            .finish()
    }
}

impl Pacer {
    pub fn new(per_minute: u32) -> Pacer {
        let limiter = spacing(per_minute)
            .and_then(Quota::with_period)
            .map(|q| RateLimiter::direct(q.allow_burst(NonZeroU32::MIN)));
        Pacer {
            limiter,
            spacing: spacing(per_minute),
            shared: None,
            paused_until: Mutex::new(None),
            turns: Mutex::new(Turns::default()),
            turn_changed: tokio::sync::Notify::new(),
            queue_changed: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A pacer at `per_minute` for the whole target, shared through `ledger` with every
    /// other replica on it: slots are leased from it ([`super::budget`]), not spaced by a
    /// limiter of this process alone. Needs a Tokio runtime.
    pub fn shared(per_minute: u32, target: &str, ledger: Arc<dyn BudgetLedger>) -> Pacer {
        let mut p = Pacer::new(0);
        p.spacing = spacing(per_minute);
        p.shared = p
            .spacing
            .map(|s| SharedBudget::start(s, target.to_owned(), ledger));
        p
    }

    /// Whether requests are paced at all (a rate limit of 0 is none).
    pub fn limited(&self) -> bool {
        self.limiter.is_some() || self.shared.is_some()
    }

    /// The spacing of requests at the target's rate, if it has one.
    pub fn spacing(&self) -> Option<Duration> {
        self.spacing
    }

    /// Requests waiting for the limiter, the admitted one included.
    pub fn queued(&self) -> usize {
        self.turns().waiting.iter().sum()
    }

    /// Requests waiting for the limiter at priority `p` or above: those a request of `p`
    /// would not overtake.
    pub fn queued_at_least(&self, p: Priority) -> usize {
        self.turns().waiting[p as usize..].iter().sum()
    }

    /// Sees every change of [`Pacer::queued`] from now on.
    pub fn watch_queue(&self) -> tokio::sync::watch::Receiver<u64> {
        self.queue_changed.subscribe()
    }

    fn queue_moved(&self) {
        if let Some(b) = &self.shared {
            b.set_demand(self.queued());
        }
        self.queue_changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    #[cfg(test)]
    async fn until_ready_at(&self, p: Priority) -> Duration {
        self.until_ready(&Urgency::Fixed(p)).await
    }

    /// Waits for the limiter to allow one request at `urgency`; returns how long that took.
    /// It is admitted to the limiter when nobody is admitted and no request of a higher
    /// priority waits. A rising urgency is read again whenever the queue moves (at the
    /// latest when the next request is served), and the waiter moves to its new class.
    /// Cancel-safe.
    pub async fn until_ready(&self, urgency: &Urgency) -> Duration {
        let start = Instant::now();
        if !self.limited() {
            return start.elapsed();
        }
        let mut waiting = Waiting::new(self, urgency.now());
        loop {
            let changed = self.turn_changed.notified();
            tokio::pin!(changed);
            // Registered before the check, so a change right after it is not missed.
            changed.as_mut().enable();
            waiting.move_to(urgency.now());
            let p = waiting.1;
            {
                let mut t = self.turns();
                let outranked = t.waiting[p as usize + 1..].iter().any(|&n| n > 0);
                if !t.admitted && !outranked {
                    t.admitted = true;
                    break;
                }
            }
            changed.await;
        }
        let _admitted = Admitted(self);
        match (&self.shared, &self.limiter) {
            (Some(b), _) => {
                b.next_slot().await;
            }
            (None, Some(l)) => l.until_ready().await,
            (None, None) => {}
        }
        start.elapsed()
    }

    fn turns(&self) -> std::sync::MutexGuard<'_, Turns> {
        self.turns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pauses the whole target until `until` (never shortens a longer pause already set).
    pub fn pause_until(&self, until: Instant) {
        let mut p = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    /// How much longer the target is paused, if it is.
    pub fn paused_for(&self) -> Option<Duration> {
        let p = *self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        p.and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Waits until no pause is in force; returns how long that took.
    pub async fn wait_unpaused(&self) -> Duration {
        let start = Instant::now();
        while let Some(d) = self.paused_for() {
            tokio::time::sleep(d).await;
        }
        start.elapsed()
    }
}

/// A waiter counted in its class until it is dropped (admitted, served or cancelled).
struct Waiting<'a>(&'a Pacer, Priority);

impl<'a> Waiting<'a> {
    fn new(p: &'a Pacer, prio: Priority) -> Waiting<'a> {
        p.turns().waiting[prio as usize] += 1;
        p.queue_moved();
        Waiting(p, prio)
    }
}

impl Waiting<'_> {
    /// Counts the waiter in class `prio` from now on.
    fn move_to(&mut self, prio: Priority) {
        if prio == self.1 {
            return;
        }
        {
            let mut t = self.0.turns();
            t.waiting[self.1 as usize] -= 1;
            t.waiting[prio as usize] += 1;
        }
        self.1 = prio;
        self.0.turn_changed.notify_waiters();
        self.0.queue_moved();
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.turns().waiting[self.1 as usize] -= 1;
        self.0.turn_changed.notify_waiters();
        self.0.queue_moved();
    }
}

/// The admitted waiter; dropping it lets the next one in.
struct Admitted<'a>(&'a Pacer);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.turns().admitted = false;
        self.0.turn_changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_of_rates() {
        assert_eq!(spacing(0), None);
        assert_eq!(spacing(300), Some(Duration::from_millis(201)));
        assert_eq!(spacing(60), Some(Duration::from_millis(1001)));
        // per_minute + 1 spaced requests span more than a minute.
        for rate in [1u32, 7, 120, 300, 3000] {
            let s = spacing(rate).unwrap();
            assert!(s * rate > Duration::from_secs(60));
        }
    }

    #[tokio::test]
    async fn limiter_spaces_requests_evenly() {
        let p = Pacer::new(600); // 101 ms apart
        let start = Instant::now();
        for _ in 0..4 {
            p.until_ready_at(Priority::Normal).await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    }

    #[tokio::test]
    async fn the_most_urgent_waiter_goes_first() {
        use std::sync::Arc;
        let p = Arc::new(Pacer::new(600)); // 101 ms apart
        p.until_ready_at(Priority::Normal).await; // the next slot is 101 ms away
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, prio) in [
            ("low", Priority::Low),
            ("normal", Priority::Normal),
            ("high", Priority::High),
        ] {
            let (p, order) = (p.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                p.until_ready_at(prio).await;
                order.lock().unwrap().push(name);
            }));
            // Each arrives while the earlier ones wait.
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // The low one was admitted first (nobody else waited yet); then the most urgent.
        assert_eq!(order, ["low", "high", "normal"]);
    }

    #[tokio::test]
    async fn a_rising_waiter_overtakes_those_it_now_outranks() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let p = Arc::new(Pacer::new(600)); // 101 ms apart
        p.until_ready_at(Priority::Normal).await; // the next slot is 101 ms away
        let risen = Arc::new(AtomicBool::new(false));
        let rising = Urgency::Rising(Arc::new({
            let risen = risen.clone();
            move || {
                if risen.load(Ordering::Relaxed) {
                    Priority::High
                } else {
                    Priority::Low
                }
            }
        }));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, urgency) in [
            ("first", Urgency::from(Priority::Normal)),
            ("second", Urgency::from(Priority::Normal)),
            ("rising", rising),
            ("third", Urgency::from(Priority::Normal)),
        ] {
            let (p, order) = (p.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                p.until_ready(&urgency).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        // Low while it waits: a High request would overtake all three, a Low one none.
        assert_eq!(p.queued_at_least(Priority::High), 0);
        assert_eq!(p.queued_at_least(Priority::Low), 4);
        risen.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // "first" was admitted before the rise, and "second" may be admitted at the same
        // turn as the rise is seen; from the next turn on the risen one outranks the rest.
        assert_eq!(order[0], "first");
        let at = |n: &str| order.iter().position(|o| *o == n).unwrap();
        assert!(at("rising") < at("third"), "{order:?}");
    }

    #[tokio::test]
    async fn a_cancelled_waiter_does_not_block_the_others() {
        let p = Pacer::new(600);
        p.until_ready_at(Priority::Normal).await;
        let high = p.until_ready_at(Priority::High);
        // Dropped before it was ever polled to completion.
        let _ = tokio::time::timeout(Duration::from_millis(1), high).await;
        let waited = tokio::time::timeout(Duration::from_secs(2), p.until_ready_at(Priority::Low))
            .await
            .expect("not blocked by the cancelled waiter");
        assert!(waited < Duration::from_millis(300), "{waited:?}");
    }

    #[tokio::test]
    async fn the_queue_is_counted_and_every_change_is_seen() {
        use std::sync::Arc;
        let p = Arc::new(Pacer::new(60)); // 1001 ms apart
        let mut seen = p.watch_queue();
        assert!(p.limited());
        p.until_ready_at(Priority::Normal).await;
        assert!(seen.has_changed().unwrap());
        seen.mark_unchanged();
        assert_eq!(p.queued(), 0);
        let waiter = tokio::spawn({
            let p = p.clone();
            async move { p.until_ready_at(Priority::High).await }
        });
        seen.changed().await.unwrap();
        assert_eq!(p.queued(), 1);
        waiter.await.unwrap();
        assert_eq!(p.queued(), 0);
        assert!(!Pacer::new(0).limited());
    }

    #[tokio::test]
    async fn unlimited_does_not_wait() {
        let p = Pacer::new(0);
        for _ in 0..1000 {
            assert!(p.until_ready_at(Priority::Normal).await < Duration::from_millis(50));
        }
    }

    #[tokio::test]
    async fn pause_is_shared_and_only_extended() {
        let p = Pacer::new(0);
        assert_eq!(p.paused_for(), None);
        let now = Instant::now();
        p.pause_until(now + Duration::from_millis(200));
        p.pause_until(now + Duration::from_millis(50));
        let left = p.paused_for().unwrap();
        assert!(left > Duration::from_millis(100), "{left:?}");
        let waited = p.wait_unpaused().await;
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert_eq!(p.paused_for(), None);
    }
}
