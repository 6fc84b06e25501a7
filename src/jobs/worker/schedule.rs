//! Which steps of a job start, and which are skipped: pure functions of the steps'
//! dependencies and states, unit-tested here; the job loop (`job.rs`) applies them.

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
