//! Validation rules: for each, a document that trips it and one that does not.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::template::NoModules;

pub(super) const SEED_INBOUND: &str = r##"{
  "name": "Inbound_Flow_A",
  "type": "inbound",
  "outbound": {},
  "inbound": {
    "enabled": true,
    "queue": {},
    "routing": {
      "type": "flow"
    }
  },
  "draft": {
    "startNode": "CallShared",
    "nodes": {
      "CallShared": {
        "id": "CallShared",
        "type": "Flow",
        "properties": {
          "flowName": "Shared_Module_Language_Select",
          "timeoutSeconds": 300
        },
        "onComplete": {
          "nextNode": "CheckResult",
          "onError": "HandleError"
        },
        "onError": {
          "nextNode": "HandleError"
        }
      },
      "CheckResult": {
        "id": "CheckResult",
        "type": "If",
        "properties": {
          "conditions": [
            {
              "expression": "{shared_module_result} == '1'",
              "nextNode": "RouteToAgent"
            }
          ],
          "defaultNextNode": "PlayGoodbye"
        }
      },
      "RouteToAgent": {
        "id": "RouteToAgent",
        "type": "Route",
        "properties": {
          "queueId": "{{queue_id}}",
          "skillRequirements": []
        },
        "onComplete": {
          "nextNode": "PlayGoodbye",
          "onError": "PlayGoodbye"
        },
        "onError": {
          "nextNode": "PlayGoodbye"
        }
      },
      "PlayGoodbye": {
        "id": "PlayGoodbye",
        "type": "Say",
        "properties": {
          "sayText": "Thank you.",
          "sayLanguage": "en-US"
        },
        "onComplete": {
          "nextNode": "EndFlow"
        }
      },
      "HandleError": {
        "id": "HandleError",
        "type": "Say",
        "properties": {
          "sayText": "Error occurred.",
          "sayLanguage": "en-US"
        },
        "onComplete": {
          "nextNode": "EndFlow"
        }
      },
      "EndFlow": {
        "id": "EndFlow",
        "type": "End",
        "properties": {
          "endType": "normal"
        }
      }
    },
    "edges": {}
  }
}"##;

pub(super) const SEED_MODULE: &str = r##"{
  "name": "Shared_Module_Language_Select",
  "type": "inbound",
  "outbound": {},
  "inbound": {
    "enabled": true,
    "queue": {},
    "routing": {
      "type": "flow"
    }
  },
  "draft": {
    "startNode": "SayHello",
    "nodes": {
      "SayHello": {
        "id": "SayHello",
        "type": "Say",
        "properties": {
          "sayText": "Welcome. Press 1 for English.",
          "sayLanguage": "en-US",
          "sayGender": "female"
        },
        "onComplete": {
          "nextNode": "GatherInput",
          "onError": "Exit"
        },
        "onError": {
          "nextNode": "Exit"
        }
      },
      "GatherInput": {
        "id": "GatherInput",
        "type": "Gather",
        "properties": {
          "promptText": "Press 1.",
          "promptLanguage": "en-US",
          "maxDigits": 1,
          "timeoutSeconds": 10
        },
        "onComplete": {
          "nextNode": "SetResult",
          "onError": "Exit"
        },
        "onError": {
          "nextNode": "Exit"
        }
      },
      "SetResult": {
        "id": "SetResult",
        "type": "Set",
        "properties": {
          "setVars": [
            {
              "key": "shared_module_result",
              "value": {
                "type": "string",
                "value": "{GatherInput.digits}"
              }
            }
          ]
        },
        "onComplete": {
          "nextNode": "EndFlow",
          "onError": "Exit"
        },
        "onError": {
          "nextNode": "Exit"
        }
      },
      "EndFlow": {
        "id": "EndFlow",
        "type": "End",
        "properties": {
          "endType": "normal"
        }
      },
      "Exit": {
        "id": "Exit",
        "type": "End",
        "properties": {
          "endType": "normal"
        }
      }
    },
    "edges": {}
  }
}"##;

fn seed(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn check(doc: &Value) -> Report {
    validate(doc, &NoModules)
}

fn codes(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.code.as_str()).collect()
}

fn has(r: &Report, code: &str) -> bool {
    r.findings.iter().any(|f| f.code == code)
}

fn find<'a>(r: &'a Report, code: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings))
}

fn seed_catalog() -> BTreeMap<String, ModuleInterface> {
    let r = check(&seed(SEED_MODULE));
    let iface = interface(r.flow.as_ref().unwrap());
    BTreeMap::from([(iface.name.clone(), iface)])
}

#[test]
fn seed_module_validates_without_errors() {
    let r = check(&seed(SEED_MODULE));
    assert!(!r.has_errors(), "{:#?}", r.findings);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let flow = r.flow.unwrap();
    assert_eq!(flow.flow_type, FlowType::Inbound);
    assert_eq!(flow.division, "Home");
    assert_eq!(flow.language, "en-us");
    assert_eq!(flow.start, "SayHello");
    assert_eq!(
        flow.outputs,
        BTreeMap::from([("shared_module_result".to_owned(), VarType::String)])
    );
    assert_eq!(
        flow.variables.get("GatherInput_digits"),
        Some(&VarType::String)
    );
    let g = &flow.nodes["GatherInput"];
    assert_eq!(g.next.as_deref(), Some("SetResult"));
    assert_eq!(g.on_error.as_deref(), Some("Exit"));
    assert!(matches!(
        g.kind,
        NodeKind::Gather {
            min_digits: 1,
            max_digits: 1,
            ..
        }
    ));
}

#[test]
fn seed_inbound_validates_alone_with_only_warnings() {
    let r = check(&seed(SEED_INBOUND));
    assert!(!r.has_errors(), "{:#?}", r.findings);
    assert!(r.flow.is_some());
    let mut c = codes(&r);
    c.sort();
    assert_eq!(
        c,
        [
            "flow_timeout_ignored",
            "undeclared_parameter",
            "unverified_variable"
        ]
    );
    assert_eq!(
        find(&r, "unverified_variable").pointer,
        "/draft/nodes/CheckResult/properties/conditions/0/expression"
    );
    assert_eq!(
        find(&r, "undeclared_parameter").pointer,
        "/draft/nodes/RouteToAgent/properties/queueId"
    );
}

#[test]
fn seed_inbound_validates_with_the_module_in_the_catalog() {
    let cat = seed_catalog();
    let r = validate(&seed(SEED_INBOUND), &cat);
    assert!(!r.has_errors(), "{:#?}", r.findings);
    assert!(!has(&r, "unverified_variable"), "{:#?}", r.findings);
    assert!(!has(&r, "read_before_write"), "{:#?}", r.findings);
    let flow = r.flow.unwrap();
    match &flow.nodes["CallShared"].kind {
        NodeKind::CallModule {
            module,
            outputs,
            timeout_seconds,
            ..
        } => {
            assert_eq!(
                module,
                &ModuleRef::Name("Shared_Module_Language_Select".into())
            );
            assert_eq!(
                outputs,
                &vec![(
                    "shared_module_result".to_owned(),
                    VarRef("shared_module_result".into())
                )]
            );
            assert_eq!(*timeout_seconds, Some(300));
        }
        other => panic!("{other:?}"),
    }
    let route = &flow.nodes["RouteToAgent"];
    assert!(
        matches!(&route.kind, NodeKind::Route { queue: QueueRef::Id(q), .. } if q == "queue_id")
    );
    assert_eq!(route.on_error.as_deref(), Some("PlayGoodbye"));
    // With job parameters the queue id is substituted.
    let params = json!({"queue_id": "q-123"});
    let r = validate_with_params(&seed(SEED_INBOUND), params.as_object().unwrap(), &cat);
    assert!(!r.has_errors(), "{:#?}", r.findings);
    let flow = r.flow.unwrap();
    assert!(
        matches!(&flow.nodes["RouteToAgent"].kind, NodeKind::Route { queue: QueueRef::Id(q), .. } if q == "q-123")
    );
}
