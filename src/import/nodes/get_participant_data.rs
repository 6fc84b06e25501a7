//! `getParticipantData` → GetParticipantData, when every attribute has a literal name and
//! goes into a declared text variable (`variable: Task.delay`, as the corpus'
//! `Trigger_proactive_callback_workflow` reads it), the names in the order the node writes
//! them (sorted, each once).

use serde_json::{Map, Value, json};

use super::set_participant_data::attributes;
use super::{Lists, on_complete};

pub(super) fn import(
    b: &dyn Lists,
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let mut attrs = Map::new();
    for (name, a) in attributes(body)? {
        if !a.keys().all(|k| k == "name" || k == "variable") {
            return None;
        }
        // Participant data is text: only a text variable takes it as it is.
        let (var, kind) = b.vars().var(a.get("variable")?.as_str()?)?;
        (kind == "stringVariable").then_some(())?;
        attrs.insert(name, var.into());
    }
    let mut n = json!({"type": "GetParticipantData", "properties": {"attributes": attrs}});
    on_complete(&mut n, next);
    Some(("GetParticipantData", n))
}

#[cfg(test)]
mod tests {
    use crate::import::tests::{inbound_with, node_type, round_trip};

    /// The shape of `automated-callback-blueprint__Trigger_proactive_callback_workflow.yaml`.
    const GET: &str = r"- getParticipantData:
    name: Get delay
    attributes:
      - attribute:
          name:
            lit: delay
          variable: Flow.delay
";

    #[test]
    fn a_corpus_read_becomes_a_node_that_compiles_back_the_same() {
        let y = inbound_with(&[("stringVariable", "Flow.delay")], GET);
        let (node, before, after) = round_trip(&[&y], "getParticipantData", "Get delay");
        assert_eq!(node["type"], "GetParticipantData");
        assert_eq!(node["properties"]["attributes"]["delay"], "delay");
        assert_eq!(before, after);
    }

    #[test]
    fn a_read_the_node_cannot_write_stays_as_written() {
        // Participant data is text: an integer variable would convert it.
        let int = inbound_with(&[("integerVariable", "Flow.delay")], GET);
        assert_eq!(node_type(&int, "getParticipantData"), "Archy");
        let undeclared = inbound_with(&[], GET);
        assert_eq!(node_type(&undeclared, "getParticipantData"), "Archy");
    }
}
