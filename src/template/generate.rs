//! A deterministic generator of large valid templates, for benchmarks and tests.

use serde_json::{Map, Value, json};

/// A valid inbound template of exactly `nodes` nodes (at least 2): a chain of blocks
/// `Set → Gather → If → Say`, where the Gather's error exit skips to the Say, the If's
/// default skips the Say (so each block start is a join), a `'*'` condition loops back to
/// the Gather (a loop with a Gather on it), and a `'0'` condition hangs up (a Disconnect
/// shared by every If). The last two nodes are an End and that Disconnect. It validates
/// with no findings at all from 5 nodes on (below that there is no If, and the Disconnect
/// is unreachable: a warning).
pub fn generate_large(nodes: usize) -> Value {
    let n = nodes.max(2);
    let end = n - 2;
    let hangup = n - 1;
    let id = |i: usize| format!("N{i}");
    let clamp = |i: usize| id(i.min(end));
    let mut map = Map::new();
    for i in 0..end {
        let block = i - i % 4;
        let node = match i % 4 {
            0 => {
                let mut vars = vec![json!({
                    "key": format!("v{}", (i / 4) % 7),
                    "value": {"type": "string", "value": format!("block {i}")}
                })];
                if (i / 4) % 3 == 0 {
                    vars.push(json!({
                        "key": "count",
                        "value": {"type": "integer", "expression": "Length('abc') + 1"}
                    }));
                    vars.push(json!({
                        "key": "flag",
                        "value": {"type": "boolean", "value": "true"}
                    }));
                }
                json!({"id": id(i), "type": "Set", "properties": {"setVars": vars},
                       "onComplete": {"nextNode": clamp(i + 1)}})
            }
            1 => json!({"id": id(i), "type": "Gather",
                "properties": {"promptText": format!("Step {i}: press a key."), "maxDigits": 1,
                               "timeoutSeconds": 5},
                "onComplete": {"nextNode": clamp(i + 1)},
                "onError": {"nextNode": clamp(i + 2)}}),
            2 => json!({"id": id(i), "type": "If", "properties": {
                "conditions": [
                    {"expression": format!("{{N{}.digits}} == '1'", i - 1), "nextNode": clamp(i + 1)},
                    {"expression": format!("{{N{}.digits}} == '*'", i - 1), "nextNode": id(i - 1)},
                    {"expression": format!("{{N{}.digits}} == '0' or IsSet({{count}})", i - 1), "nextNode": id(hangup)}
                ],
                "defaultNextNode": clamp(i + 2)}}),
            _ => json!({"id": id(i), "type": "Say",
                "properties": {"sayText": format!("You are in {{v{}}}.", (block / 4) % 7),
                               "sayLanguage": "en-US"},
                "onComplete": {"nextNode": clamp(i + 1)}}),
        };
        map.insert(id(i), node);
    }
    map.insert(
        id(end),
        json!({"id": id(end), "type": "End", "properties": {"endType": "normal"}}),
    );
    map.insert(id(hangup), json!({"id": id(hangup), "type": "Disconnect"}));
    json!({
        "name": format!("Generated_{n}"),
        "type": "inbound",
        "description": "generated for benchmarks",
        "draft": {"startNode": "N0", "nodes": map, "edges": {}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{NoModules, validate};

    #[test]
    fn generated_documents_validate_cleanly() {
        for n in [2, 3, 4, 5, 6, 7, 9, 13, 50] {
            let r = validate(&generate_large(n), &NoModules);
            // Below 5 nodes there is no If, so the Disconnect is unreachable (a warning).
            assert!(!r.has_errors(), "{n}: {:#?}", r.findings);
            assert!(n < 5 || r.findings.is_empty(), "{n}: {:#?}", r.findings);
            assert_eq!(r.flow.unwrap().nodes.len(), n);
        }
    }

    #[test]
    fn two_thousand_nodes_validate_with_zero_errors() {
        let doc = generate_large(2000);
        let t = std::time::Instant::now();
        let r = validate(&doc, &NoModules);
        let elapsed = t.elapsed();
        assert!(
            !r.has_errors(),
            "{:#?}",
            &r.findings[..r.findings.len().min(5)]
        );
        assert!(r.findings.is_empty());
        assert_eq!(r.flow.unwrap().nodes.len(), 2000);
        // Debug builds are far slower than release; this only catches quadratic blowups.
        eprintln!("2000 nodes validated in {elapsed:?}");
        assert!(elapsed.as_millis() < 2000, "{elapsed:?}");
    }
}
