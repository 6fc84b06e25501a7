//! Every IVR node type provisioned into the sandbox by a real job and called through: a dry
//! run first names the org objects the line needs, the admin API creates them, the job
//! publishes the line (the sandbox's judge accepts every shape), and calls placed with
//! `POST /sandbox/calls` meet the sandbox's own objects (a data action answering by input,
//! a data table read by key, a schedule group's state, a prompt).

use serde_json::{Value, json};

use crate::helpers::*;

/// An inbound line using Say promptName, Schedule, Menu, Gather, TableLookup, DataAction,
/// SetParticipantData, GetParticipantData, Switch, Voicemail and Disconnect.
fn line() -> Value {
    json!({
        "name": "Org_Line",
        "type": "inbound",
        "draft": {
            "startNode": "Welcome",
            "nodes": {
                "Welcome": {"id": "Welcome", "type": "Say",
                    "properties": {"promptName": "Line_Welcome"},
                    "onComplete": {"nextNode": "Hours"}},
                "Hours": {"id": "Hours", "type": "Schedule",
                    "properties": {"scheduleGroup": "Line Hours", "open": "Main",
                        "closed": "Closed"},
                    "onComplete": {"nextNode": "Closed"}},
                "Closed": {"id": "Closed", "type": "Say",
                    "properties": {"sayText": "We are closed."},
                    "onComplete": {"nextNode": "Message"}},
                "Main": {"id": "Main", "type": "Menu",
                    "properties": {"prompt": "For your account press 1, to leave a message press 2.",
                        "choices": [{"digit": "1", "nextNode": "AskAccount"},
                                    {"digit": "2", "nextNode": "Message"}],
                        "repeat": 1, "timeoutSeconds": 5},
                    "onError": {"nextNode": "Bye"}},
                "AskAccount": {"id": "AskAccount", "type": "Gather",
                    "properties": {"promptText": "Your account number?", "maxDigits": 4},
                    "onComplete": {"nextNode": "Lookup"}, "onError": {"nextNode": "Bye"}},
                "Lookup": {"id": "Lookup", "type": "TableLookup",
                    "properties": {"table": "Line Accounts", "key": "{AskAccount.digits}",
                        "outputs": {"tier": "tier"}},
                    "onComplete": {"nextNode": "AskPin"}, "onNotFound": {"nextNode": "Unknown"}},
                "Unknown": {"id": "Unknown", "type": "Say",
                    "properties": {"sayText": "We do not know that account."},
                    "onComplete": {"nextNode": "Bye"}},
                "AskPin": {"id": "AskPin", "type": "Gather",
                    "properties": {"promptText": "Your PIN?", "maxDigits": 4},
                    "onComplete": {"nextNode": "Verify"}, "onError": {"nextNode": "Bye"}},
                "Verify": {"id": "Verify", "type": "DataAction",
                    "properties": {"integration": "Line DB", "action": "Check PIN",
                        "inputs": {"account": "{AskAccount.digits}", "pin": "{AskPin.digits}"},
                        "outputs": {"status": "auth_status", "customerId": "customer_id"},
                        "timeoutSeconds": 10},
                    "onComplete": {"nextNode": "Screen"}, "onError": {"nextNode": "Denied"}},
                "Denied": {"id": "Denied", "type": "Say",
                    "properties": {"sayText": "Sorry, that PIN is wrong."},
                    "onComplete": {"nextNode": "Bye"}},
                "Screen": {"id": "Screen", "type": "SetParticipantData",
                    "properties": {"attributes": {"customer": "{customer_id}", "tier": "{tier}"}},
                    "onComplete": {"nextNode": "Read"}},
                "Read": {"id": "Read", "type": "GetParticipantData",
                    "properties": {"attributes": {"tier": "screen_tier"}},
                    "onComplete": {"nextNode": "ByTier"}},
                "ByTier": {"id": "ByTier", "type": "Switch",
                    "properties": {"cases": [
                        {"expression": "{screen_tier} == 'gold'", "nextNode": "Gold"}],
                        "defaultNextNode": "Standard"}},
                "Gold": {"id": "Gold", "type": "Say",
                    "properties": {"sayText": "Welcome, gold customer {customer_id}."},
                    "onComplete": {"nextNode": "Message"}},
                "Standard": {"id": "Standard", "type": "Say",
                    "properties": {"sayText": "Thank you, {customer_id}."},
                    "onComplete": {"nextNode": "Bye"}},
                "Message": {"id": "Message", "type": "Voicemail",
                    "properties": {"queue": "General"},
                    "onError": {"nextNode": "Bye"}},
                "Bye": {"id": "Bye", "type": "Disconnect", "properties": {}}
            }
        }
    })
}

async fn call(org: &Org, inputs: &[&str]) -> Value {
    let r = org
        .http
        .post(format!("{}/sandbox/calls", org.base))
        .json(&json!({"flow": "Org_Line", "inputs": inputs}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

/// The spoken lines of a call (Say and prompts), in order.
fn said(call: &Value) -> Vec<String> {
    call["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "Say")
        .filter_map(|l| l["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_node_type_publishes_and_calls_meet_the_sandbox_org() {
    let org = spawn_org(30).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    app.store(&line()).await;
    let request = json!({"target": TARGET, "flows": [{"template": "Org_Line"}]});

    // The dry run runs the preflight: every missing object, with the node that uses it.
    let mut dry = request.clone();
    dry["dry_run"] = json!(true);
    let job = app.submit(&dry).await;
    assert_eq!(job["status"], "failed", "{job:#}");
    let error = job["error"].as_str().unwrap();
    for expected in [
        "org objects missing before the first publish (4)",
        "data table 'Line Accounts' is missing; used by flow 'Org_Line' node 'Lookup' (/draft/nodes/Lookup/properties/table)",
        "schedule group 'Line Hours' is missing; used by flow 'Org_Line' node 'Hours'",
        "data action 'Line DB/Check PIN' is missing; used by flow 'Org_Line' node 'Verify'",
        "prompt 'Line_Welcome' is missing; used by flow 'Org_Line' node 'Welcome'",
    ] {
        assert!(error.contains(expected), "{expected:?} not in {error}");
    }
    assert_eq!(org.jobs_registered().await, 0);

    org.admin_post(
        "/sandbox/data-actions",
        json!({"integration": "Line DB", "name": "Check PIN",
            "inputs": {"account": "string", "pin": "string"},
            "outputs": {"status": "string", "customerId": "string"},
            "responses": [
                {"when": {"account": "1001", "pin": "1234"}, "outputs": {"status": "ok", "customerId": "C-1001"}},
                {"when": {"account": "2002", "pin": "5678"}, "outputs": {"status": "ok", "customerId": "C-2002"}},
                {"error": "PIN does not match"}
            ]}),
    )
    .await;
    org.admin_post(
        "/sandbox/data-tables",
        json!({"name": "Line Accounts", "key": "account", "columns": {"tier": "string"},
            "rows": {"1001": {"tier": "gold"}, "2002": {"tier": "silver"}}}),
    )
    .await;
    org.admin_post(
        "/sandbox/schedule-groups",
        json!({"name": "Line Hours", "state": "open"}),
    )
    .await;
    org.admin_post("/sandbox/prompts", json!({"name": "Line_Welcome"}))
        .await;

    let job = app.submit(&request).await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(org.flows().await.len(), 1);

    // Right PIN of a gold account: found in the table, verified, on the agent screen,
    // read back, switched to the gold path, voicemail.
    let gold = call(&org, &["1", "1001", "1234"]).await;
    assert_eq!(gold["outcome"]["kind"], "voicemail", "{gold:#}");
    assert_eq!(gold["outcome"]["queue"], "General", "{gold:#}");
    assert_eq!(
        said(&gold),
        ["[prompt Line_Welcome]", "Welcome, gold customer C-1001."],
        "{gold:#}"
    );
    let vars = &gold["variables"];
    assert_eq!(vars["tier"], "gold", "{gold:#}");
    assert_eq!(vars["auth_status"], "ok", "{gold:#}");
    assert_eq!(vars["customer_id"], "C-1001", "{gold:#}");
    assert_eq!(vars["screen_tier"], "gold", "{gold:#}");
    assert_eq!(
        gold["participant_data"],
        json!({"customer": "C-1001", "tier": "gold"}),
        "{gold:#}"
    );

    // The same account with a wrong PIN: the data action's failure output.
    let wrong = call(&org, &["1", "1001", "0000"]).await;
    assert_eq!(wrong["outcome"]["kind"], "disconnected", "{wrong:#}");
    assert_eq!(
        said(&wrong),
        ["[prompt Line_Welcome]", "Sorry, that PIN is wrong."],
        "{wrong:#}"
    );
    assert!(wrong["variables"].get("auth_status").is_none(), "{wrong:#}");
    assert!(wrong.get("participant_data").is_none(), "{wrong:#}");

    // Another account, its own PIN: the switch's default.
    let silver = call(&org, &["1", "2002", "5678"]).await;
    assert_eq!(silver["outcome"]["kind"], "disconnected", "{silver:#}");
    assert_eq!(silver["variables"]["screen_tier"], "silver", "{silver:#}");
    assert_eq!(
        said(&silver),
        ["[prompt Line_Welcome]", "Thank you, C-2002."],
        "{silver:#}"
    );

    // An account the table does not have: notFound.
    let unknown = call(&org, &["1", "3003"]).await;
    assert_eq!(unknown["outcome"]["kind"], "disconnected", "{unknown:#}");
    assert_eq!(
        said(&unknown),
        ["[prompt Line_Welcome]", "We do not know that account."],
        "{unknown:#}"
    );
    assert!(unknown["variables"].get("tier").is_none(), "{unknown:#}");

    // Menu choice 2: straight to voicemail.
    let message = call(&org, &["2"]).await;
    assert_eq!(message["outcome"]["kind"], "voicemail", "{message:#}");

    // The schedule group's state is the sandbox's: closed takes the closed path.
    org.admin_post(
        "/sandbox/schedule-groups",
        json!({"name": "Line Hours", "state": "closed"}),
    )
    .await;
    let closed = call(&org, &["1", "1001", "1234"]).await;
    assert_eq!(closed["outcome"]["kind"], "voicemail", "{closed:#}");
    assert_eq!(
        said(&closed),
        ["[prompt Line_Welcome]", "We are closed."],
        "{closed:#}"
    );
}

/// Issue 21: the language module (examples/language_select.json, whose SetLanguage nodes
/// set the language the caller picks) and a line calling it provision through one job; the
/// published module is callable from inbound call flows and sets the language as the corpus
/// writes it, and a call placed with `POST /sandbox/calls` hears the rest of the call
/// (module and caller) in the chosen language.
#[tokio::test]
async fn set_language_provisions_and_the_call_continues_in_that_language() {
    let org = spawn_org(30).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app(&org, dir.path(), fast_worker()).await;
    let example = |f: &str| -> Value {
        let p = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("examples")
            .join(f);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    app.store(&example("language_select.json")).await;
    app.store(&example("support_line.json")).await;
    let job = app
        .submit(&json!({"target": TARGET, "flows": [
            {"template": "Language_Select"}, {"template": "Support_Line"}]}))
        .await;
    let job = app.wait_terminal(job["id"].as_str().unwrap(), LONG).await;
    assert_eq!(job["status"], "succeeded", "{job:#}");

    let flows = org.flows().await;
    let module = flows
        .iter()
        .find(|f| f["name"] == "Language_Select")
        .unwrap_or_else(|| panic!("no module in {flows:#?}"));
    let yaml = module["versions"].as_array().unwrap().last().unwrap()["yaml"]
        .as_str()
        .unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    let body = &doc["commonModule"];
    assert_eq!(
        body["settingsCommonModule"]["compatibleFlowTypes"][0]["flowType"].as_str(),
        Some("inboundcall"),
        "{yaml}"
    );
    assert_eq!(
        body["supportedLanguages"]["es-us"]["none"].as_bool(),
        Some(true),
        "{yaml}"
    );
    assert!(yaml.contains("setLanguage:"), "{yaml}");

    // Spanish (2 in the module's menu), then nothing in the line's menu: the line's
    // Spanish greeting and its menu prompt are heard in es-us.
    let r = org
        .http
        .post(format!("{}/sandbox/calls", org.base))
        .json(&json!({"flow": "Support_Line", "inputs": ["2"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let call: Value = r.json().await.unwrap();
    let lines = call["transcript"].as_array().unwrap();
    let menu_at = lines
        .iter()
        .position(|l| l["node"] == "AskLanguage")
        .unwrap_or_else(|| panic!("{call:#}"));
    assert!(lines[menu_at].get("language").is_none(), "{call:#}");
    let after: Vec<&Value> = lines[menu_at + 1..].iter().collect();
    assert!(
        after
            .iter()
            .any(|l| l["flow"] == "Support_Line" && l["type"] == "Say"),
        "{call:#}"
    );
    for l in &after {
        assert_eq!(l["language"], "es-us", "{call:#}");
    }
    assert_eq!(call["variables"]["caller_language"], "es-us", "{call:#}");

    // English: the call's language is en-us from the choice on.
    let r = org
        .http
        .post(format!("{}/sandbox/calls", org.base))
        .json(&json!({"flow": "Support_Line", "inputs": ["1", "1"]}))
        .send()
        .await
        .unwrap();
    let call: Value = r.json().await.unwrap();
    let last = call["transcript"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["language"], "en-us", "{call:#}");
    assert_eq!(call["outcome"]["kind"], "routed", "{call:#}");
}
