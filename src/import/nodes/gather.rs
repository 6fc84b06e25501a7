//! `collectInput` → Gather, when the Gather writes the same collection
//! (`compile/nodes/gather.rs`): digits `exact` or a `range` of two lengths, timeouts
//! literal seconds or `noValue`, a literal text-to-speech prompt, neither `*` nor `#` alone
//! accepted, no verification, no terminating digit; the digits go into a declared text
//! variable, which the Gather names as its `variable` (the corpus' call-park retrieval
//! collects into `Flow.OrbitNumber`, which later actions read). Exits: `success` the next
//! node, `failure` onError; an output without actions merges back to the action after it.

use serde_json::{Map, Value, json};

use super::if_node::{branch, branches_fit};
use super::{Lists, only_no_value};

/// A timeout: `Some(None)` for `noValue`, `Some(Some(s))` for `{lit: {seconds: s}}`.
fn seconds(v: &Value) -> Option<Option<u32>> {
    if only_no_value(v) {
        return Some(None);
    }
    let lit = v.as_object().filter(|m| m.len() == 1)?.get("lit")?;
    let s = lit.as_object().filter(|m| m.len() == 1)?.get("seconds")?;
    Some(Some(u32::try_from(s.as_u64()?).ok()?))
}

/// `{lit: false}`.
fn lit_false(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.len() == 1) && v.get("lit") == Some(&Value::Bool(false))
}

/// The digit lengths: `{exact: n}` or `{range: {min, max}}` with `min < max` (equal ones
/// compile to `exact`).
fn digits(v: &Value) -> Option<(u64, u64)> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    let (min, max) = match (m.get("exact"), m.get("range")) {
        (Some(n), None) => (n.as_u64()?, n.as_u64()?),
        (None, Some(r)) => {
            let r = r.as_object().filter(|r| r.len() == 2)?;
            let (min, max) = (r.get("min")?.as_u64()?, r.get("max")?.as_u64()?);
            (min < max).then_some((min, max))?
        }
        _ => return None,
    };
    (1 <= min && max <= 32).then_some((min, max))
}

fn plan(b: &dyn Lists, body: &Map<String, Value>, next: Option<&str>) -> Option<Value> {
    let mut props = Map::new();
    for (k, v) in body {
        match k.as_str() {
            "name" | "outputs" => {}
            "inputData" => {
                let var = v.as_object().filter(|m| m.len() == 1)?.get("var")?;
                let (name, kind) = b.vars().var(var.as_str()?)?;
                (kind == "stringVariable").then_some(())?;
                props.insert("variable".into(), name.into());
            }
            "digits" => {
                let (min, max) = digits(v)?;
                props.insert("minDigits".into(), min.into());
                props.insert("maxDigits".into(), max.into());
            }
            "interDigitTimeout" | "noEntryTimeout" => {
                if let Some(s) = seconds(v)? {
                    let key = if k == "noEntryTimeout" {
                        "timeoutSeconds"
                    } else {
                        "interDigitTimeoutSeconds"
                    };
                    props.insert(key.into(), s.into());
                }
            }
            "inputAudio" => {
                let a = v.as_object().filter(|m| m.len() == 1)?;
                let text = a.get("tts")?.as_str()?;
                if text.contains(['{', '}']) || text.trim().is_empty() {
                    return None;
                }
                props.insert("promptText".into(), text.into());
            }
            "acceptJustStar" | "acceptJustPound" if lit_false(v) => {}
            "verificationType" if v.as_str() == Some("none") => {}
            _ => return None,
        }
    }
    for k in [
        "inputData",
        "digits",
        "interDigitTimeout",
        "noEntryTimeout",
        "inputAudio",
        "acceptJustStar",
        "acceptJustPound",
        "verificationType",
    ] {
        body.contains_key(k).then_some(())?;
    }
    branches_fit(body, &["success", "failure"], next).then_some(())?;
    Some(Value::Object(props))
}

pub(super) fn import(
    b: &mut dyn Lists,
    body: &Map<String, Value>,
    at: &str,
    next: Option<&str>,
) -> Option<(&'static str, Value)> {
    let props = plan(b, body, next)?;
    let success = branch(b, body, "success", at, next)?;
    let failure = branch(b, body, "failure", at, next)?;
    Some((
        "Gather",
        json!({"type": "Gather", "properties": props,
            "onComplete": {"nextNode": success},
            "onError": {"nextNode": failure}}),
    ))
}

#[cfg(test)]
mod tests {
    use crate::import::tests::{inbound_with, node_type, round_trip};

    /// The corpus' call-park retrieval (`genesys-cloud-call-park__orbit-parked-call-retrieval`).
    const ORBIT: &str = r"- collectInput:
    name: Collect Input
    inputData:
      var: Flow.OrbitNumber
    digits:
      range:
        min: 1
        max: 3
    interDigitTimeout:
      noValue: true
    noEntryTimeout:
      lit:
        seconds: 5
    inputAudio:
      tts: Enter Your Code
    acceptJustStar:
      lit: false
    acceptJustPound:
      lit: false
    verificationType: none
    outputs:
      failure:
        actions:
          - playAudio:
              name: Sorry
              audio:
                tts: No code
";

    #[test]
    fn a_corpus_collection_becomes_a_gather_that_compiles_back_the_same() {
        let y = inbound_with(&[("stringVariable", "Flow.OrbitNumber")], ORBIT);
        let (node, before, after) = round_trip(&[&y], "collectInput", "Collect Input");
        assert_eq!(node["type"], "Gather");
        let p = &node["properties"];
        assert_eq!(p["variable"], "OrbitNumber");
        assert_eq!(
            (p["minDigits"].as_u64(), p["maxDigits"].as_u64()),
            (Some(1), Some(3))
        );
        assert_eq!(p["timeoutSeconds"], 5);
        assert!(p.get("interDigitTimeoutSeconds").is_none());
        assert_eq!(node["onComplete"]["nextNode"], "Bye");
        assert_eq!(node["onError"]["nextNode"], "Sorry");
        assert_eq!(before, after);
    }

    #[test]
    fn a_collection_the_gather_cannot_write_stays_as_written() {
        let vars = [("stringVariable", "Flow.OrbitNumber")];
        // A terminating digit (the corpus' emergency-group line), a verification, an
        // integer variable: none is the Gather's.
        for changed in [
            ORBIT.replace(
                "        min: 1\n",
                "        terminatingDtmf: digit_9\n        min: 1\n",
            ),
            ORBIT.replace("verificationType: none", "verificationType: numeric"),
            ORBIT.replace("tts: Enter Your Code", "exp: ToAudioTTS(\"x\")"),
        ] {
            assert_eq!(
                node_type(&inbound_with(&vars, &changed), "collectInput"),
                "Archy"
            );
        }
        let int = inbound_with(&[("integerVariable", "Flow.OrbitNumber")], ORBIT);
        assert_eq!(node_type(&int, "collectInput"), "Archy");
    }
}
