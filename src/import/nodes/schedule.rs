//! `evaluateScheduleGroup` → Schedule, when the Schedule writes the same evaluation: now,
//! no in-service schedules or emergency group, the group by literal name
//! (`scheduleGroup: {lit: {name}, name}`). Each state's output with actions is that
//! state's exit; a state without actions, like the node's `onComplete`, goes on with the
//! action after the evaluation.

use serde_json::{Map, Value, json};

use super::if_node::{branch, branches_fit};
use super::{Lists, only_no_value};
use crate::template::model::ScheduleState;

/// The schedule group's name, when the evaluation is the one the Schedule compiles to.
fn group(body: &Map<String, Value>, next: Option<&str>) -> Option<String> {
    let mut group = None;
    for (k, v) in body {
        match k.as_str() {
            "name" | "outputs" => {}
            "inServiceSchedules" | "emergencyGroup" if only_no_value(v) => {}
            "evaluate" => (v.as_object()?.len() == 1
                && v.get("now").and_then(Value::as_bool) == Some(true))
            .then_some(())?,
            "scheduleGroup" => {
                let m = v.as_object().filter(|m| m.len() == 2)?;
                let name = m.get("name")?.as_str()?;
                (m.get("lit")?.as_object()?.len() == 1).then_some(())?;
                (v.pointer("/lit/name")?.as_str()? == name).then_some(())?;
                group = Some(name.to_owned());
            }
            _ => return None,
        }
    }
    let names = ScheduleState::ALL.map(ScheduleState::as_str);
    branches_fit(body, &names, next).then_some(())?;
    group.filter(|g| !g.trim().is_empty() && !g.contains(['{', '}']))
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let group = group(body, next)?;
    let mut props = Map::new();
    props.insert("scheduleGroup".into(), group.into());
    for s in ScheduleState::ALL {
        let target = branch(b, body, s.as_str(), at, next)?;
        if Some(target.as_str()) != next {
            props.insert(s.as_str().into(), target.into());
        }
    }
    let mut n = json!({"type": "Schedule", "properties": props});
    super::on_complete(&mut n, next);
    Some(("Schedule", n))
}

#[cfg(test)]
mod tests {
    use crate::import::tests::{inbound_with, node_type, round_trip};

    /// The shape of `cx-as-code-export__CI_CD_Test_Flow-INBOUNDCALL.yaml`.
    const HOURS: &str = r"- evaluateScheduleGroup:
    name: Evaluate Schedule Group
    inServiceSchedules:
      noValue: true
    evaluate:
      now: true
    scheduleGroup:
      lit:
        name: 2445093_SG
      name: 2445093_SG
    emergencyGroup:
      noValue: true
    outputs:
      open:
        actions:
          - playAudio:
              name: Open
              audio:
                tts: We are open
      holiday:
        actions:
          - playAudio:
              name: Holiday
              audio:
                tts: Happy holidays
";

    #[test]
    fn a_corpus_evaluation_becomes_a_schedule_that_compiles_back_the_same() {
        let y = inbound_with(&[], HOURS);
        let (node, mut before, after) =
            round_trip(&[&y], "evaluateScheduleGroup", "Evaluate Schedule Group");
        assert_eq!(node["type"], "Schedule");
        let p = &node["properties"];
        assert_eq!(p["scheduleGroup"], "2445093_SG");
        assert_eq!(p["open"], "Open");
        assert_eq!(p["holiday"], "Holiday");
        assert!(p.get("closed").is_none() && p.get("emergency").is_none());
        assert_eq!(node["onComplete"]["nextNode"], "Bye");
        // No emergency group and `noValue` say the same; the compiler writes neither.
        before.as_object_mut().unwrap().remove("emergencyGroup");
        assert_eq!(before, after);
    }

    #[test]
    fn an_evaluation_the_schedule_cannot_write_stays_as_written() {
        // The corpus' DR line names its group by expression and has an emergency group.
        for changed in [
            HOURS.replace(
                "      lit:\n        name: 2445093_SG\n      name: 2445093_SG",
                "      exp: ToScheduleGroup(NOT_SET)",
            ),
            HOURS.replace(
                "    emergencyGroup:\n      noValue: true",
                "    emergencyGroup:\n      lit:\n        name: Evacuation\n      name: Evacuation",
            ),
            HOURS.replace("now: true", "now: false"),
        ] {
            assert_eq!(
                node_type(&inbound_with(&[], &changed), "evaluateScheduleGroup"),
                "Archy"
            );
        }
    }
}
