use super::Shape::{Branch as B, Close as C, Linear as L, Return as R};
use super::Stmt::{End, Jump, Loop, LoopExit};
use super::*;

fn g(nodes: &[(Shape, &[Option<usize>])]) -> Graph {
    Graph {
        shape: nodes.iter().map(|n| n.0).collect(),
        exits: nodes.iter().map(|n| n.1.to_vec()).collect(),
        levels: nodes
            .iter()
            .map(|n| vec![OUTPUT_LEVELS; n.1.len()])
            .collect(),
        own: vec![1; nodes.len()],
        falls_through: vec![false; nodes.len()],
        start: 0,
    }
}

fn n(i: usize) -> Stmt {
    Stmt::Node(i, Vec::new())
}

fn br(i: usize, blocks: Vec<Block>) -> Stmt {
    Stmt::Node(i, blocks)
}

const SEQ: Mode = Mode::Sequence {
    budget: MODULE_DUPLICATION_BUDGET,
};

fn seq(graph: &Graph) -> Block {
    let s = structure(graph, SEQ).unwrap();
    assert_eq!(s.tasks.len(), 1);
    s.tasks.into_iter().next().unwrap().1
}

#[test]
fn if_merge_diamond_continues_after_the_branch() {
    let graph = g(&[
        (B, &[Some(1), Some(2)]),
        (L, &[Some(3)]),
        (L, &[Some(3)]),
        (L, &[Some(4)]),
        (R, &[]),
    ]);
    assert_eq!(
        seq(&graph),
        vec![br(0, vec![vec![n(1)], vec![n(2)]]), n(3), n(4)]
    );
}

#[test]
fn same_target_twice_gives_empty_outputs() {
    let graph = g(&[(B, &[Some(1), Some(1)]), (L, &[None])]);
    assert_eq!(seq(&graph), vec![br(0, vec![vec![], vec![]]), n(1), End]);
}

#[test]
fn a_closing_branch_does_not_block_the_merge() {
    // 0 -> {1, 2}; 1 -> {Close 5, 3}; 2 -> 3; 3 -> End.
    let graph = g(&[
        (B, &[Some(1), Some(2)]),
        (B, &[Some(5), Some(3)]),
        (L, &[Some(3)]),
        (L, &[Some(4)]),
        (R, &[]),
        (C, &[]),
    ]);
    assert_eq!(
        seq(&graph),
        vec![
            br(0, vec![vec![br(1, vec![vec![n(5)], vec![]])], vec![n(2)]]),
            n(3),
            n(4)
        ]
    );
}

#[test]
fn an_end_on_one_side_duplicates_the_shared_tail() {
    // 0 -> {1, 2}; 1 -> {End, 2}; 2 -> 3 -> End: 2 cannot follow 0 (the End would run it).
    let graph = g(&[
        (B, &[Some(1), Some(2)]),
        (B, &[Some(4), Some(2)]),
        (L, &[Some(3)]),
        (L, &[Some(4)]),
        (R, &[]),
    ]);
    assert_eq!(
        seq(&graph),
        vec![br(
            0,
            vec![
                vec![br(1, vec![vec![n(4)], vec![n(2), n(3), n(4)]])],
                vec![n(2), n(3), n(4)]
            ]
        )]
    );
    let tight = structure(&graph, Mode::Sequence { budget: 1 }).unwrap_err();
    assert_eq!(tight.reason, Reason::OverBudget);
}

/// PIN asked three times: 0 Set → 1 Gather → ok? 3 → End : 4 count+1 → 5 tries left?
/// → 6 Say wrong → back to 1 : 8 Say bye → End; Gather failure → 5.
#[test]
fn pin_retry_becomes_a_loop_left_by_loop_exit() {
    let graph = g(&[
        (L, &[Some(1)]),
        (B, &[Some(2), Some(5)]),
        (B, &[Some(3), Some(4)]),
        (L, &[Some(7)]),
        (L, &[Some(5)]),
        (B, &[Some(6), Some(8)]),
        (L, &[Some(1)]),
        (R, &[]),
        (L, &[Some(7)]),
    ]);
    assert_eq!(
        seq(&graph),
        vec![
            n(0),
            Loop(
                1,
                vec![
                    br(
                        1,
                        vec![
                            vec![br(2, vec![vec![n(3), n(7), LoopExit(1)], vec![n(4)]])],
                            vec![]
                        ]
                    ),
                    br(5, vec![vec![n(6)], vec![n(8), n(7), LoopExit(1)]]),
                ]
            ),
        ]
    );
}

#[test]
fn loop_exits_meeting_at_a_node_continue_after_the_loop() {
    // 0 Gather -> {1, 2}; 1 -> 3; 2 Branch -> {0, 3}; 3 -> End.
    let graph = g(&[
        (B, &[Some(1), Some(2)]),
        (L, &[Some(3)]),
        (B, &[Some(0), Some(3)]),
        (L, &[Some(4)]),
        (R, &[]),
    ]);
    assert_eq!(
        seq(&graph),
        vec![
            Loop(
                0,
                vec![br(
                    0,
                    vec![
                        vec![n(1), LoopExit(0)],
                        vec![br(2, vec![vec![], vec![LoopExit(0)]])]
                    ]
                )]
            ),
            n(3),
            n(4)
        ]
    );
}

#[test]
fn end_inside_a_loop_leaves_it() {
    let graph = g(&[(B, &[Some(1), Some(2)]), (R, &[]), (L, &[Some(0)])]);
    assert_eq!(
        seq(&graph),
        vec![Loop(0, vec![br(0, vec![vec![LoopExit(0)], vec![n(2)]])])]
    );
}

#[test]
fn nested_loops() {
    // outer 0 -> {1, 5}; inner 1 -> {2, 3}; 2 -> 1; 3 -> 0; 5 -> 6 End.
    let graph = g(&[
        (B, &[Some(1), Some(5)]),
        (B, &[Some(2), Some(3)]),
        (L, &[Some(1)]),
        (L, &[Some(0)]),
        (C, &[]),
        (L, &[Some(6)]),
        (R, &[]),
    ]);
    assert_eq!(
        seq(&graph),
        vec![
            Loop(
                0,
                vec![br(
                    0,
                    vec![
                        vec![
                            Loop(1, vec![br(1, vec![vec![n(2)], vec![LoopExit(1)]])]),
                            n(3)
                        ],
                        vec![LoopExit(0)]
                    ]
                )]
            ),
            n(5),
            n(6)
        ]
    );
}

#[test]
fn disconnect_inside_a_loop_needs_no_loop_exit() {
    let graph = g(&[(B, &[Some(1), Some(0)]), (C, &[])]);
    assert_eq!(
        seq(&graph),
        vec![Loop(0, vec![br(0, vec![vec![n(1)], vec![]])])]
    );
}

#[test]
fn irreducible_cycle_is_refused_at_the_second_entry() {
    // 0 -> {1, 2}; 1 -> 2; 2 -> 1: the cycle 1-2 has two entries.
    let graph = g(&[(B, &[Some(1), Some(2)]), (L, &[Some(2)]), (L, &[Some(1)])]);
    let e = structure(&graph, SEQ).unwrap_err();
    assert_eq!(e.reason, Reason::Irreducible);
    assert_eq!((e.from, e.exit), (2, 0));
    // Inbound flows jump between tasks instead.
    let t = structure(&graph, Mode::Tasks).unwrap();
    assert!(t.tasks.len() >= 2, "{t:?}");
}

#[test]
fn leaving_a_loop_towards_end_and_a_node_is_refused_when_something_follows() {
    // 0 Branch -> {1, 4}; loop 1 -> {2 End, 3}; 3 -> {1, 4}; 4 -> 5 End... and 2 is End:
    // the loop is left to End and to 4, so 4 cannot follow the loop.
    let graph = g(&[
        (B, &[Some(1), Some(4)]),
        (B, &[Some(2), Some(3)]),
        (R, &[]),
        (B, &[Some(1), Some(4)]),
        (L, &[Some(5)]),
        (R, &[]),
    ]);
    // Structurable: the loop continuation is the end; 4 is repeated inside the loop.
    let s = seq(&graph);
    assert!(matches!(s[0], Stmt::Node(0, _)), "{s:?}");
}

#[test]
fn tasks_mode_merges_instead_of_jumping() {
    // The seed caller: call → check → yes: route (failure falls through) / no → goodbye.
    let graph = g(&[
        (L, &[Some(1)]),
        (B, &[Some(2), Some(3)]),
        (L, &[Some(3)]),
        (L, &[Some(4)]),
        (C, &[]),
    ]);
    let s = structure(&graph, Mode::Tasks).unwrap();
    assert_eq!(
        s.tasks,
        vec![(0, vec![n(0), br(1, vec![vec![n(2)], vec![]]), n(3), n(4)])]
    );
}

#[test]
fn tasks_mode_jumps_back_to_a_cycle_start() {
    let graph = g(&[(L, &[Some(1)]), (B, &[Some(2), Some(1)]), (C, &[])]);
    let s = structure(&graph, Mode::Tasks).unwrap();
    assert_eq!(
        s.tasks,
        vec![
            (0, vec![n(0), Jump(1)]),
            (1, vec![br(1, vec![vec![n(2)], vec![Jump(1)]])])
        ]
    );
}

#[test]
fn a_place_closes_the_path_and_its_exits_become_tasks() {
    // start → branch: (a) place, (b) node 3 → place. The place runs 2 (which goes back
    // to the place) and 3, which the branch also reaches: a task, never a merge.
    let graph = g(&[
        (B, &[Some(1), Some(3)]),
        (Shape::Place, &[Some(2), Some(3)]),
        (L, &[Some(1)]),
        (L, &[Some(1)]),
    ]);
    let s = structure(&graph, Mode::Tasks).unwrap();
    assert_eq!(
        s.tasks,
        vec![
            (0, vec![br(0, vec![vec![n(1)], vec![Jump(3)]])]),
            (2, vec![n(2), n(1)]),
            (3, vec![n(3), n(1)]),
        ]
    );
}

#[test]
fn tasks_mode_empty_exit_ends_the_call() {
    let graph = g(&[(B, &[Some(1), None]), (L, &[None])]);
    let s = structure(&graph, Mode::Tasks).unwrap();
    assert_eq!(
        s.tasks,
        vec![(0, vec![br(0, vec![vec![n(1), End], vec![End]])])]
    );
}

#[test]
fn deep_nesting_is_bounded() {
    // A chain of 200 branches that each close on one side.
    let mut nodes: Vec<(Shape, Vec<Option<usize>>)> = Vec::new();
    for i in 0..200 {
        nodes.push((B, vec![Some(200), Some(i + 1)]));
    }
    nodes.push((C, vec![]));
    let graph = Graph {
        shape: nodes.iter().map(|n| n.0).collect(),
        levels: nodes
            .iter()
            .map(|n| vec![OUTPUT_LEVELS; n.1.len()])
            .collect(),
        own: vec![1; nodes.len()],
        falls_through: vec![false; nodes.len()],
        exits: nodes.into_iter().map(|n| n.1).collect(),
        start: 0,
    };
    let t = structure(&graph, Mode::Tasks).unwrap();
    assert!(t.tasks.len() > 1);
    let e = structure(&graph, SEQ).unwrap_err();
    assert_eq!(e.reason, Reason::TooDeep);
}
