//! `setParticipantData` → SetParticipantData, when every attribute has a literal name and a
//! value the node writes the same way: literal text, or one declared text variable
//! (`exp: Task.Output`, as the corpus' `Terraform_Inbound_Flow` sets it). The names must
//! come in the order the node writes them (sorted, each once).

use serde_json::{Map, Value, json};

use super::{Lists, on_complete, text};

/// The attribute list `[{attribute: {name: {lit}, …}}]` as (name, its other fields), when
/// the names are literal, sorted and distinct.
pub(super) fn attributes(body: &Map<String, Value>) -> Option<Vec<(String, &Map<String, Value>)>> {
    if !body.keys().all(|k| k == "name" || k == "attributes") {
        return None;
    }
    let list = body
        .get("attributes")?
        .as_array()
        .filter(|a| !a.is_empty())?;
    let mut out: Vec<(String, &Map<String, Value>)> = Vec::with_capacity(list.len());
    for a in list {
        let a = a
            .as_object()
            .filter(|m| m.len() == 1)?
            .get("attribute")?
            .as_object()?;
        let n = a.get("name")?.as_object().filter(|m| m.len() == 1)?;
        let name = n.get("lit")?.as_str()?;
        if name.trim().is_empty() || name.contains(['{', '}']) {
            return None;
        }
        if out.last().is_some_and(|(last, _)| last.as_str() >= name) {
            return None;
        }
        out.push((name.to_owned(), a));
    }
    Some(out)
}

pub(super) fn import(
    b: &dyn Lists,
    body: &Map<String, Value>,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let mut attrs = Map::new();
    for (name, a) in attributes(body)? {
        if !a.keys().all(|k| k == "name" || k == "value") {
            return None;
        }
        attrs.insert(name, text(b, a.get("value")?)?.into());
    }
    let mut n = json!({"type": "SetParticipantData", "properties": {"attributes": attrs}});
    on_complete(&mut n, next);
    Some(("SetParticipantData", n))
}

#[cfg(test)]
mod tests {
    use crate::import::tests::{inbound_with, node_type, round_trip};

    /// The shape of `darbyje-advanced-session__Terraform_Inbound_Flow_v1-0.yaml` (where a
    /// module call sets `Output` first).
    const SET: &str = r"- updateData:
    name: Output
    statements:
      - string:
          variable: Flow.Output
          value:
            lit: done
- setParticipantData:
    name: Set Participant Data
    attributes:
      - attribute:
          name:
            lit: Output
          value:
            exp: Flow.Output
      - attribute:
          name:
            lit: Source
          value:
            lit: ivr
";

    #[test]
    fn corpus_attributes_become_a_node_that_compiles_back_the_same() {
        let y = inbound_with(&[("stringVariable", "Flow.Output")], SET);
        let (node, before, after) = round_trip(&[&y], "setParticipantData", "Set Participant Data");
        assert_eq!(node["type"], "SetParticipantData");
        assert_eq!(node["properties"]["attributes"]["Output"], "{Output}");
        assert_eq!(node["properties"]["attributes"]["Source"], "ivr");
        assert_eq!(before, after);
    }

    #[test]
    fn attributes_the_node_cannot_write_stay_as_written() {
        let vars = [("stringVariable", "Flow.Output")];
        for changed in [
            // Out of the node's (sorted) order; a name by expression; a function.
            SET.replace("lit: Output", "lit: Zed"),
            SET.replace("lit: Source", "exp: Flow.Output"),
            SET.replace("exp: Flow.Output", "exp: ToString(Call.Ani)"),
        ] {
            assert_eq!(
                node_type(&inbound_with(&vars, &changed), "setParticipantData"),
                "Archy"
            );
        }
        let int = inbound_with(&[("integerVariable", "Flow.Output")], SET);
        assert_eq!(node_type(&int, "setParticipantData"), "Archy");
    }
}
