//! Which steps of a job start, and which are skipped, and how many may be in flight: pure
//! functions of the steps' dependencies and states and of the target's limiter, unit-tested
//! here; the job loop (`job.rs`) applies them.

use crate::genesys::Priority;
use crate::jobs::model::StepState;

/// A step that cannot run: a module step it waits for did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Skip {
    pub step: usize,
    /// The dependency that did not succeed, and how it ended.
    pub because: usize,
    pub state: StepState,
}

/// What the job loop does next.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Next {
    /// Steps to record as skipped, in order.
    pub skip: Vec<Skip>,
    /// Steps to start, in order.
    pub start: Vec<usize>,
}

/// The next moves of a job whose steps wait for `deps` (step indices) and are in `states`,
/// `started` being the steps already under way, with `slots` steps more allowed in flight.
///
/// A step that is not started and still open is skipped when one of its dependencies ended
/// without success (a skip counts for the steps after it, so a chain is skipped in one
/// pass). Otherwise it starts, in index order while slots are left, once each dependency
/// succeeded or is under way: a caller registers its Architect job while its modules run,
/// and its upload waits for their success ([`Gate::verdict`]).
pub(super) fn next(
    deps: &[Vec<usize>],
    states: &[StepState],
    started: &[bool],
    slots: usize,
) -> Next {
    let mut states = states.to_vec();
    let mut started = started.to_vec();
    let waiting =
        |i: usize, started: &[bool], states: &[StepState]| !started[i] && states[i].is_open();
    let mut next = Next::default();
    for i in 0..states.len() {
        if !waiting(i, &started, &states) {
            continue;
        }
        let failed = deps[i]
            .iter()
            .copied()
            .find(|&d| states.get(d).is_some_and(|s| s.is_unsuccessful()));
        if let Some(d) = failed {
            next.skip.push(Skip {
                step: i,
                because: d,
                state: states[d],
            });
            states[i] = StepState::Skipped;
        }
    }
    for i in 0..states.len() {
        if next.start.len() >= slots {
            break;
        }
        if !waiting(i, &started, &states) {
            continue;
        }
        let ready = deps[i].iter().all(|&d| {
            states.get(d) == Some(&StepState::Succeeded) || started.get(d) == Some(&true)
        });
        if ready {
            started[i] = true;
            next.start.push(i);
        }
    }
    next
}

/// The priority of the first rate-limited request of the next step [`next`] would start:
/// its Architect job's registration, [`Priority::High`] once every module it calls
/// succeeded, [`Priority::Low`] while one is under way (`StepTask::register`). `None` when no
/// step waits to start.
///
/// The job loop counts only the requests waiting at this priority or above: a registration
/// overtakes the polls queued at [`Priority::Normal`], so callers keep registering (and their
/// Architect jobs running) while earlier callers' polls wait, and the polls, which can come
/// late, fill the limiter after them instead of leaving it idle at the end of the job.
pub(super) fn next_priority(
    deps: &[Vec<usize>],
    states: &[StepState],
    started: &[bool],
) -> Option<Priority> {
    let first = next(deps, states, started, 1).start.first().copied()?;
    let ready = deps[first]
        .iter()
        .all(|&d| states.get(d) == Some(&StepState::Succeeded));
    Some(if ready { Priority::High } else { Priority::Low })
}

/// Requests kept waiting at a paced target's limiter, so that one is ready whenever a slot
/// comes (two: the second covers the moment between a slot and the next step's request).
pub(super) const READY: usize = 2;

/// Steps of one job in flight at most when no `concurrency` caps the target (a rate limit of
/// 0 paces nothing, so only this bounds it).
pub(super) const MAX_IN_FLIGHT: usize = 128;

/// What the job loop sees of its target's pacing when it decides how many steps to start.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Pacing {
    /// The target has a rate limit.
    pub paced: bool,
    /// A 429 paused the target.
    pub paused: bool,
    /// Requests waiting at the limiter now that the next step's first request would not
    /// overtake ([`next_priority`]).
    pub queued: usize,
    /// Steps started that have not asked the limiter for anything yet (they will soon).
    pub starting: usize,
}

/// How many more steps may start, with `in_flight` running and `cap` the target's
/// `concurrency` (when set).
///
/// Little's law, measured instead of computed: the steps in flight are what keeps the
/// target's limiter from idling. New steps start while fewer than [`READY`] requests wait
/// for it ahead of theirs (counting the steps about to ask; [`next_priority`]), so however long Architect jobs take, whatever
/// the latency and the rate, the next request is always there when a slot comes, and no
/// step is started only to wait in the queue. While a 429 pauses the target nothing more
/// starts. A job with nothing in flight always gets one step, so it goes on.
pub(super) fn slots(in_flight: usize, cap: Option<usize>, p: &Pacing) -> usize {
    let room = cap
        .unwrap_or(MAX_IN_FLIGHT)
        .max(1)
        .saturating_sub(in_flight);
    let wanted = if !p.paced {
        room
    } else if p.paused {
        0
    } else {
        READY.saturating_sub(p.queued + p.starting)
    };
    let least = usize::from(in_flight == 0);
    wanted.min(room).max(least)
}

/// What a step waiting to upload watches: the job's step states and its cancellation.
#[derive(Debug, Clone)]
pub(super) struct Gate {
    pub states: Vec<StepState>,
    pub cancelled: bool,
}

impl Gate {
    /// `Some(true)` when every dependency succeeded, `Some(false)` when the step cannot
    /// upload (a dependency ended otherwise, or the job was cancelled), `None` to wait.
    pub(super) fn verdict(&self, deps: &[usize]) -> Option<bool> {
        let state = |d: usize| self.states.get(d).copied();
        if self.cancelled
            || deps
                .iter()
                .any(|&d| state(d).is_none_or(StepState::is_unsuccessful))
        {
            Some(false)
        } else if deps.iter().all(|&d| state(d) == Some(StepState::Succeeded)) {
            Some(true)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepState::{Failed, Pending, Running, Skipped, Succeeded};

    #[test]
    fn a_caller_starts_with_its_module_and_others_wait_for_a_slot() {
        // 0: module, 1: its caller, 2 and 3: independent.
        let deps = vec![vec![], vec![0], vec![], vec![]];
        let n = next(&deps, &[Pending; 4], &[false; 4], 3);
        assert_eq!(n.start, vec![0, 1, 2]);
        assert!(n.skip.is_empty());
        // Step 3 gets the slot step 0 frees.
        let n = next(
            &deps,
            &[Succeeded, Running, Running, Pending],
            &[true, true, true, false],
            1,
        );
        assert_eq!(n.start, vec![3]);
    }

    #[test]
    fn a_caller_waits_for_a_module_not_under_way() {
        let deps = vec![vec![], vec![0]];
        let n = next(&deps, &[Pending, Pending], &[false, false], 0);
        assert_eq!(n, Next::default());
        let n = next(&deps, &[Pending, Pending], &[false, false], 1);
        assert_eq!(n.start, vec![0]);
    }

    #[test]
    fn a_failed_module_skips_its_callers_in_one_pass() {
        // 0 failed; 1 calls 0; 2 calls 1.
        let deps = vec![vec![], vec![0], vec![1]];
        let n = next(&deps, &[Failed, Pending, Pending], &[true, false, false], 4);
        assert_eq!(
            n.skip,
            vec![
                Skip {
                    step: 1,
                    because: 0,
                    state: Failed
                },
                Skip {
                    step: 2,
                    because: 1,
                    state: Skipped
                },
            ]
        );
        assert!(n.start.is_empty());
    }

    #[test]
    fn ended_and_started_steps_are_left_alone() {
        let deps = vec![vec![], vec![]];
        let n = next(&deps, &[Succeeded, Running], &[false, true], 4);
        assert_eq!(n, Next::default());
    }

    #[test]
    fn a_step_registers_urgently_once_its_modules_succeeded() {
        let deps = vec![vec![], vec![0], vec![0]];
        // The module is the next step: nothing to wait for.
        assert_eq!(
            next_priority(&deps, &[Pending, Pending, Pending], &[false; 3]),
            Some(Priority::High)
        );
        // Its callers register ahead of its upload while it runs ...
        assert_eq!(
            next_priority(&deps, &[Running, Pending, Pending], &[true, false, false]),
            Some(Priority::Low)
        );
        // ... and ahead of the queued polls once it succeeded.
        assert_eq!(
            next_priority(&deps, &[Succeeded, Running, Pending], &[true, true, false]),
            Some(Priority::High)
        );
        // Nothing left to start.
        assert_eq!(
            next_priority(&deps, &[Succeeded, Running, Running], &[true; 3]),
            None
        );
    }

    #[test]
    fn steps_start_while_the_limiter_runs_short() {
        let paced = |queued, starting| Pacing {
            paced: true,
            paused: false,
            queued,
            starting,
        };
        // Nothing waits: two steps start; one waits: one more.
        assert_eq!(slots(10, None, &paced(0, 0)), READY);
        assert_eq!(slots(10, None, &paced(1, 0)), 1);
        // Steps about to ask count as waiting.
        assert_eq!(slots(10, None, &paced(1, 1)), 0);
        assert_eq!(slots(10, None, &paced(5, 0)), 0);
        // `concurrency` caps it; the default cap too.
        assert_eq!(slots(4, Some(4), &paced(0, 0)), 0);
        assert_eq!(slots(3, Some(4), &paced(0, 0)), 1);
        assert_eq!(slots(MAX_IN_FLIGHT, None, &paced(0, 0)), 0);
        // A 429 pause starts nothing more, but a job with nothing in flight goes on.
        let paused = Pacing {
            paused: true,
            ..paced(0, 0)
        };
        assert_eq!(slots(3, None, &paused), 0);
        assert_eq!(slots(0, None, &paused), 1);
        assert_eq!(slots(0, None, &paced(9, 0)), 1);
        // No rate limit: only the cap bounds it.
        let unpaced = Pacing::default();
        assert_eq!(slots(0, Some(6), &unpaced), 6);
        assert_eq!(slots(0, None, &unpaced), MAX_IN_FLIGHT);
    }

    #[test]
    fn the_gate_opens_when_every_dependency_succeeded() {
        let gate = |states: Vec<StepState>, cancelled| Gate { states, cancelled };
        assert_eq!(
            gate(vec![Succeeded, Running], false).verdict(&[0]),
            Some(true)
        );
        assert_eq!(gate(vec![Running, Running], false).verdict(&[0]), None);
        assert_eq!(
            gate(vec![Failed, Running], false).verdict(&[0]),
            Some(false)
        );
        assert_eq!(
            gate(vec![Succeeded, Running], true).verdict(&[0]),
            Some(false)
        );
        // A dependency that does not exist never succeeds.
        assert_eq!(gate(vec![Running], false).verdict(&[5]), Some(false));
        assert_eq!(gate(vec![], false).verdict(&[]), Some(true));
    }
}
