//! The sandbox org's state (flows, versions, jobs, tokens, queues, counters) and the JSON
//! renderings of it in the Platform API v2 shapes.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::SandboxOptions;
use super::org::Org;
use super::shapes::{division_json, iso};

/// Limits and faults, changeable at run time through `/sandbox/faults`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Faults {
    /// Requests per window per token; 0 = off.
    pub rate_limit: u32,
    /// Length of the fixed rate-limit window, seconds (at least 1).
    pub rate_window_secs: u64,
    pub latency_ms: u64,
    /// Fraction (0..=1) of `/api/v2` requests answered with 503/502.
    pub error_rate: f64,
    pub job_duration_ms: u64,
    pub job_failure_rate: f64,
    /// `expires_in` of new tokens, seconds.
    pub token_ttl: u64,
    /// Refuse a call into a common module whose `settingsCommonModule.compatibleFlowTypes`
    /// lacks the caller's flow type (what Genesys does; on by default).
    #[serde(default = "yes")]
    pub module_compatibility: bool,
}

fn yes() -> bool {
    true
}

impl From<&SandboxOptions> for Faults {
    fn from(o: &SandboxOptions) -> Self {
        Faults {
            rate_limit: o.rate_limit,
            rate_window_secs: o.rate_window_secs.max(1),
            latency_ms: o.latency_ms,
            error_rate: o.error_rate,
            job_duration_ms: o.job_duration_ms,
            job_failure_rate: o.job_failure_rate,
            token_ttl: o.token_ttl,
            module_compatibility: !o.no_module_compatibility,
        }
    }
}

/// A partial update of [`Faults`] (body of `PUT /sandbox/faults`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    pub rate_limit: Option<u32>,
    pub rate_window_secs: Option<u64>,
    pub latency_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub job_duration_ms: Option<u64>,
    pub job_failure_rate: Option<f64>,
    pub token_ttl: Option<u64>,
    pub module_compatibility: Option<bool>,
}

impl Faults {
    pub fn apply(&mut self, p: &FaultsPatch) {
        if let Some(v) = p.rate_limit {
            self.rate_limit = v;
        }
        if let Some(v) = p.rate_window_secs {
            self.rate_window_secs = v.max(1);
        }
        if let Some(v) = p.latency_ms {
            self.latency_ms = v;
        }
        if let Some(v) = p.error_rate {
            self.error_rate = v.clamp(0.0, 1.0);
        }
        if let Some(v) = p.job_duration_ms {
            self.job_duration_ms = v;
        }
        if let Some(v) = p.job_failure_rate {
            self.job_failure_rate = v.clamp(0.0, 1.0);
        }
        if let Some(v) = p.token_ttl {
            self.token_ttl = v;
        }
        if let Some(v) = p.module_compatibility {
            self.module_compatibility = v;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub client_id: String,
    pub expires_at: Instant,
    /// Start of the current fixed rate-limit window.
    pub window_start: Instant,
    pub count: u32,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub id: Uuid,
    pub name: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct VersionRec {
    /// "1.0", "2.0", ...
    pub id: String,
    pub yaml: Option<String>,
    pub created: DateTime<Utc>,
    pub client_id: String,
    /// Names of the common modules this version calls (snapshot at publish time).
    pub modules: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct OperationRec {
    pub id: Uuid,
    pub action: &'static str,
    pub status: &'static str,
    pub client_id: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FlowRec {
    pub id: Uuid,
    pub name: String,
    /// `Flow.type`, upper case.
    pub flow_type: String,
    pub description: Option<String>,
    pub versions: Vec<VersionRec>,
    /// Index into `versions` of the published version.
    pub published: Option<usize>,
    pub locked_by: Option<String>,
    pub operation: Option<OperationRec>,
}

impl FlowRec {
    pub fn new(name: String, flow_type: String, description: Option<String>) -> FlowRec {
        FlowRec {
            id: Uuid::new_v4(),
            name,
            flow_type,
            description,
            versions: Vec::new(),
            published: None,
            locked_by: None,
            operation: None,
        }
    }

    pub fn published_version(&self) -> Option<&VersionRec> {
        self.published.map(|i| &self.versions[i])
    }

    /// Appends a published version and returns its id.
    pub fn publish(&mut self, yaml: Option<String>, modules: Vec<String>, client: &str) -> String {
        let id = format!("{}.0", self.versions.len() + 1);
        self.versions.push(VersionRec {
            id: id.clone(),
            yaml,
            created: Utc::now(),
            client_id: client.to_owned(),
            modules,
        });
        self.published = Some(self.versions.len() - 1);
        self.operation = Some(OperationRec::success("PUBLISH", client));
        id
    }
}

impl OperationRec {
    pub fn success(action: &'static str, client: &str) -> OperationRec {
        OperationRec {
            id: Uuid::new_v4(),
            action,
            status: "SUCCESS",
            client_id: client.to_owned(),
            error: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Registered,
    Started,
    Success,
    Failure,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Registered => "Registered",
            JobStatus::Started => "Started",
            JobStatus::Success => "Success",
            JobStatus::Failure => "Failure",
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobMessage {
    pub at: DateTime<Utc>,
    /// `Error` or `Warning`.
    pub kind: &'static str,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct JobRec {
    pub id: Uuid,
    pub status: JobStatus,
    pub client_id: String,
    /// Headers the presigned PUT must carry.
    pub upload_headers: BTreeMap<String, String>,
    pub flow: Option<(Uuid, String)>,
    pub messages: Vec<JobMessage>,
}

/// An Architect export job (`POST /api/v2/flows/export/jobs`): one flow's YAML.
#[derive(Debug, Clone)]
pub struct ExportRec {
    pub id: Uuid,
    pub status: JobStatus,
    pub client_id: String,
    /// The exported YAML, once the job succeeded.
    pub yaml: Option<String>,
    /// The signature the download URL carries (a presigned URL's credential).
    pub signature: String,
    pub messages: Vec<JobMessage>,
}

/// Everything behind the sandbox's one lock.
#[derive(Debug)]
pub struct State {
    pub faults: Faults,
    pub flows: HashMap<Uuid, FlowRec>,
    pub jobs: HashMap<Uuid, JobRec>,
    /// Export jobs (not kept across restarts: a client registers a new one).
    pub exports: HashMap<Uuid, ExportRec>,
    pub tokens: HashMap<String, Token>,
    pub queues: Vec<Queue>,
    /// Data actions, data tables, schedule groups and prompts.
    pub org: Org,
    /// Route template ("GET /api/v2/flows/{flowId}") → status → count.
    pub counters: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Bumped by reset, so jobs started before a reset do not write into the new state.
    pub generation: u64,
}

impl State {
    pub fn new(opts: &SandboxOptions) -> State {
        let queue_names = if opts.queues.is_empty() {
            vec!["General".to_owned()]
        } else {
            opts.queues.clone()
        };
        State {
            faults: Faults::from(opts),
            flows: HashMap::new(),
            jobs: HashMap::new(),
            exports: HashMap::new(),
            tokens: HashMap::new(),
            queues: queue_names.into_iter().map(new_queue).collect(),
            org: seed_org(opts),
            counters: BTreeMap::new(),
            generation: 0,
        }
    }

    pub fn find_flow(&self, name: &str, flow_type: &str) -> Option<&FlowRec> {
        self.flows
            .values()
            .find(|f| f.flow_type == flow_type && f.name.eq_ignore_ascii_case(name))
    }

    pub fn find_queue(&self, name: &str) -> Option<&Queue> {
        self.queues
            .iter()
            .find(|q| q.name.eq_ignore_ascii_case(name))
    }

    /// Flows whose published version calls the module `name`.
    pub fn consumers_of(&self, module_name: &str) -> Vec<&FlowRec> {
        let mut v: Vec<&FlowRec> = self
            .flows
            .values()
            .filter(|f| {
                f.published_version().is_some_and(|v| {
                    v.modules
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case(module_name))
                })
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        v
    }
}

/// The org objects of `--org`, `--schedule-group` and `--prompt`.
fn seed_org(opts: &SandboxOptions) -> Org {
    let mut org = Org::default();
    if let Some(f) = &opts.org {
        org.add_file(f.clone());
    }
    for g in &opts.schedule_groups {
        org.add_schedule_group(g.clone());
    }
    for p in &opts.prompts {
        org.add_prompt(p.clone());
    }
    org
}

pub fn new_queue(name: String) -> Queue {
    Queue {
        id: Uuid::new_v4(),
        name,
        created: Utc::now(),
    }
}

/// ISO 8601 with milliseconds and `Z`, as Genesys writes dates.
pub fn client_ref(client_id: &str) -> Value {
    json!({
        "id": client_id,
        "name": client_id,
        "selfUri": format!("/api/v2/oauth/clients/{client_id}"),
    })
}

/// `FlowVersion`.
pub fn version_json(flow: &FlowRec, v: &VersionRec) -> Value {
    let compatible = compatible_flow_types(&flow.flow_type);
    let mut m = json!({
        "id": v.id,
        "name": v.id,
        "commitVersion": v.id,
        "configurationVersion": v.id,
        "type": "PUBLISH",
        "secure": false,
        "debug": false,
        "createdByClient": client_ref(&v.client_id),
        "configurationUri": format!("/api/v2/flows/{}/versions/{}/configuration", flow.id, v.id),
        "dateCreated": v.created.timestamp_millis(),
        "dateCheckedIn": v.created.timestamp_millis(),
        "dateSaved": v.created.timestamp_millis(),
        "datePublished": iso(v.created),
        "selfUri": format!("/api/v2/flows/{}/versions/{}", flow.id, v.id),
    });
    if let Some(c) = compatible {
        m["compatibleFlowTypes"] = c;
    }
    m
}

fn compatible_flow_types(flow_type: &str) -> Option<Value> {
    (flow_type == "COMMONMODULE").then(|| json!(["INBOUNDCALL"]))
}

/// `Operation`.
pub fn operation_json(op: &OperationRec) -> Value {
    let mut m = json!({
        "id": op.id.to_string(),
        "complete": true,
        "client": client_ref(&op.client_id),
        "actionName": op.action,
        "actionStatus": op.status,
    });
    if let Some(e) = &op.error {
        m["errorMessage"] = json!(e);
    }
    m
}

/// `Flow`.
pub fn flow_json(f: &FlowRec) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(f.id.to_string()));
    m.insert("name".into(), json!(f.name));
    m.insert("division".into(), division_json());
    if let Some(d) = &f.description {
        m.insert("description".into(), json!(d));
    }
    m.insert("type".into(), json!(f.flow_type));
    if let Some(c) = &f.locked_by {
        m.insert("lockedClient".into(), client_ref(c));
    }
    m.insert("active".into(), json!(f.published.is_some()));
    m.insert("system".into(), json!(false));
    m.insert("deleted".into(), json!(false));
    if let Some(v) = f.published_version() {
        m.insert("publishedVersion".into(), version_json(f, v));
    }
    if let Some(v) = f.versions.last() {
        m.insert("savedVersion".into(), version_json(f, v));
        m.insert("checkedInVersion".into(), version_json(f, v));
    }
    if let Some(op) = &f.operation {
        m.insert("currentOperation".into(), operation_json(op));
    }
    if let Some(c) = compatible_flow_types(&f.flow_type) {
        m.insert("compatibleFlowTypes".into(), c);
    }
    m.insert("selfUri".into(), json!(format!("/api/v2/flows/{}", f.id)));
    Value::Object(m)
}

/// `Queue` (the fields the sandbox knows).
pub fn queue_json(q: &Queue) -> Value {
    json!({
        "id": q.id.to_string(),
        "name": q.name,
        "division": division_json(),
        "dateCreated": iso(q.created),
        "dateModified": iso(q.created),
        "memberCount": 0,
        "userMemberCount": 0,
        "joinedMemberCount": 0,
        "scoringMethod": "TimestampAndPriority",
        "skillEvaluationMethod": "ALL",
        "autoAnswerOnly": false,
        "enableTranscription": false,
        "enableManualAssignment": false,
        "selfUri": format!("/api/v2/routing/queues/{}", q.id),
    })
}

/// `ArchitectJobStateResponse`.
pub fn job_json(j: &JobRec, with_messages: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(j.id.to_string()));
    if let Some((id, _name)) = &j.flow {
        m.insert(
            "flow".into(),
            json!({"id": id.to_string(), "selfUri": format!("/api/v2/flows/{id}")}),
        );
        // AddressableEntityRef in the SDK has no name; Genesys sends it anyway.
        m["flow"]["name"] = json!(_name);
    }
    m.insert("status".into(), json!(j.status.as_str()));
    m.insert("command".into(), json!("Publish"));
    if with_messages {
        let msgs: Vec<Value> = j
            .messages
            .iter()
            .map(|msg| json!({"dateTime": iso(msg.at), "type": msg.kind, "text": msg.text}))
            .collect();
        m.insert("messages".into(), json!(msgs));
    }
    m.insert(
        "selfUri".into(),
        json!(format!("/api/v2/flows/jobs/{}", j.id)),
    );
    Value::Object(m)
}

/// The Genesys paging envelope around one page of `entities`.
pub fn listing(
    entities: Vec<Value>,
    total: usize,
    page_number: usize,
    page_size: usize,
    path: &str,
    extra_query: &str,
) -> Value {
    let page_count = total.div_ceil(page_size.max(1));
    let uri = |n: usize| {
        let mut u = format!("{path}?pageSize={page_size}&pageNumber={n}");
        if !extra_query.is_empty() {
            u.push('&');
            u.push_str(extra_query);
        }
        u
    };
    let mut m = json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "firstUri": uri(1),
        "lastUri": uri(page_count.max(1)),
        "selfUri": uri(page_number),
        "pageCount": page_count,
    });
    if page_number < page_count {
        m["nextUri"] = json!(uri(page_number + 1));
    }
    if page_number > 1 {
        m["previousUri"] = json!(uri(page_number - 1));
    }
    m
}
