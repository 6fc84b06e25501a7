//! The sandbox org kept in a file, so an org started with a state file (`serve --sandbox`
//! beside its database, `flowsmith sandbox --state FILE`) still has its flows, versions,
//! queues and ended Architect jobs after a restart. Tokens, counters and faults are not kept:
//! clients log in again, and limits come from the command line.
//!
//! The file is rewritten whole (a temporary file renamed over it) after every request that may
//! change the org and after every Architect job ends, before the answer is sent, so what a
//! client saw is on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Sandbox;
use super::state::{
    FlowRec, JobMessage, JobRec, JobStatus, OperationRec, Queue, State, VersionRec,
};

/// Version of the file format; a file of another version is refused.
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read the sandbox state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sandbox state file {path} is not a state file of this version: {message}")]
    Format { path: PathBuf, message: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    flows: Vec<FlowSnap>,
    queues: Vec<QueueSnap>,
    jobs: Vec<JobSnap>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FlowSnap {
    id: Uuid,
    name: String,
    flow_type: String,
    description: Option<String>,
    versions: Vec<VersionSnap>,
    published: Option<usize>,
    locked_by: Option<String>,
    operation: Option<OperationSnap>,
}

#[derive(Debug, Serialize, Deserialize)]
struct VersionSnap {
    id: String,
    yaml: Option<String>,
    created: DateTime<Utc>,
    client_id: String,
    modules: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct OperationSnap {
    id: Uuid,
    action: String,
    status: String,
    client_id: String,
    error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct QueueSnap {
    id: Uuid,
    name: String,
    created: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JobSnap {
    id: Uuid,
    status: String,
    client_id: String,
    upload_headers: BTreeMap<String, String>,
    flow: Option<(Uuid, String)>,
    messages: Vec<MessageSnap>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MessageSnap {
    at: DateTime<Utc>,
    kind: String,
    text: String,
}

/// The words the sandbox's state uses as `&'static str`, to read them back.
const ACTIONS: &[&str] = &[
    "CREATE", "UPDATE", "CHECKIN", "CHECKOUT", "PUBLISH", "DELETE", "UNLOCK",
];
const OPERATION_STATUSES: &[&str] = &["SUCCESS", "UNLOCKED", "FAILURE", "RUNNING"];
const MESSAGE_KINDS: &[&str] = &["Error", "Warning"];

fn known(word: &str, words: &[&'static str], fallback: &'static str) -> &'static str {
    words
        .iter()
        .copied()
        .find(|w| *w == word)
        .unwrap_or(fallback)
}

/// Said about a job that was running when the sandbox stopped (its upload is not kept).
pub const INTERRUPTED_JOB: &str = "The sandbox restarted while this job ran; register a new job.";

impl Snapshot {
    fn of(st: &State) -> Snapshot {
        let mut flows: Vec<FlowSnap> = st
            .flows
            .values()
            .map(|f| FlowSnap {
                id: f.id,
                name: f.name.clone(),
                flow_type: f.flow_type.clone(),
                description: f.description.clone(),
                versions: f
                    .versions
                    .iter()
                    .map(|v| VersionSnap {
                        id: v.id.clone(),
                        yaml: v.yaml.clone(),
                        created: v.created,
                        client_id: v.client_id.clone(),
                        modules: v.modules.clone(),
                    })
                    .collect(),
                published: f.published,
                locked_by: f.locked_by.clone(),
                operation: f.operation.as_ref().map(|o| OperationSnap {
                    id: o.id,
                    action: o.action.to_owned(),
                    status: o.status.to_owned(),
                    client_id: o.client_id.clone(),
                    error: o.error.clone(),
                }),
            })
            .collect();
        flows.sort_by_key(|f| f.id);
        let mut jobs: Vec<JobSnap> = st
            .jobs
            .values()
            .map(|j| JobSnap {
                id: j.id,
                status: j.status.as_str().to_owned(),
                client_id: j.client_id.clone(),
                upload_headers: j.upload_headers.clone(),
                flow: j.flow.clone(),
                messages: j
                    .messages
                    .iter()
                    .map(|m| MessageSnap {
                        at: m.at,
                        kind: m.kind.to_owned(),
                        text: m.text.clone(),
                    })
                    .collect(),
            })
            .collect();
        jobs.sort_by_key(|j| j.id);
        Snapshot {
            format: FORMAT,
            flows,
            queues: st
                .queues
                .iter()
                .map(|q| QueueSnap {
                    id: q.id,
                    name: q.name.clone(),
                    created: q.created,
                })
                .collect(),
            jobs,
        }
    }

    /// Puts the kept org into `st` (whose faults and options come from the command line).
    fn restore(self, st: &mut State) {
        st.flows = self
            .flows
            .into_iter()
            .map(|f| {
                let versions: Vec<VersionRec> = f
                    .versions
                    .into_iter()
                    .map(|v| VersionRec {
                        id: v.id,
                        yaml: v.yaml,
                        created: v.created,
                        client_id: v.client_id,
                        modules: v.modules,
                    })
                    .collect();
                let published = f.published.filter(|i| *i < versions.len());
                let rec = FlowRec {
                    id: f.id,
                    name: f.name,
                    flow_type: f.flow_type,
                    description: f.description,
                    versions,
                    published,
                    locked_by: f.locked_by,
                    operation: f.operation.map(|o| OperationRec {
                        id: o.id,
                        action: known(&o.action, ACTIONS, "UPDATE"),
                        status: known(&o.status, OPERATION_STATUSES, "SUCCESS"),
                        client_id: o.client_id,
                        error: o.error,
                    }),
                };
                (rec.id, rec)
            })
            .collect();
        if !self.queues.is_empty() {
            st.queues = self
                .queues
                .into_iter()
                .map(|q| Queue {
                    id: q.id,
                    name: q.name,
                    created: q.created,
                })
                .collect();
        }
        let now = Utc::now();
        st.jobs = self
            .jobs
            .into_iter()
            .map(|j| {
                let mut messages: Vec<JobMessage> = j
                    .messages
                    .into_iter()
                    .map(|m| JobMessage {
                        at: m.at,
                        kind: known(&m.kind, MESSAGE_KINDS, "Error"),
                        text: m.text,
                    })
                    .collect();
                let status = match j.status.as_str() {
                    "Registered" => JobStatus::Registered,
                    "Success" => JobStatus::Success,
                    "Failure" => JobStatus::Failure,
                    // Started: its YAML was in memory only.
                    _ => {
                        messages.push(JobMessage {
                            at: now,
                            kind: "Error",
                            text: INTERRUPTED_JOB.to_owned(),
                        });
                        JobStatus::Failure
                    }
                };
                let rec = JobRec {
                    id: j.id,
                    status,
                    client_id: j.client_id,
                    upload_headers: j.upload_headers,
                    flow: j.flow,
                    messages,
                };
                (rec.id, rec)
            })
            .collect();
    }
}

/// Reads the state file into `st`; a missing file is an empty org.
pub fn load(path: &Path, st: &mut State) -> Result<(), SnapshotError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(SnapshotError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let snap: Snapshot = serde_json::from_str(&text).map_err(|e| SnapshotError::Format {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if snap.format != FORMAT {
        return Err(SnapshotError::Format {
            path: path.to_owned(),
            message: format!("format {} (expected {FORMAT})", snap.format),
        });
    }
    snap.restore(st);
    Ok(())
}

/// Where an org is kept, with a lock so that saves happen one at a time and in order.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    writing: tokio::sync::Mutex<()>,
}

impl StateFile {
    pub fn new(path: PathBuf) -> StateFile {
        StateFile {
            path,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// Writes the org as it is now. A failure is logged: the org in memory stays right, and
    /// the next save tries again.
    pub async fn save(&self, sb: &Sandbox) {
        // Taken before the snapshot, so a later save never writes an older org.
        let _writing = self.writing.lock().await;
        let json = match serde_json::to_vec(&Snapshot::of(&sb.lock())) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise the sandbox state");
                return;
            }
        };
        let path = self.path.clone();
        let written = tokio::task::spawn_blocking(move || write_atomically(&path, &json)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot save the sandbox state")
            }
            Err(e) => tracing::error!(error = %e, "the sandbox state save task failed"),
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SandboxOptions;
    use crate::state::new_queue;

    #[test]
    fn an_org_survives_a_round_trip_and_running_jobs_end_failed() {
        let opts = SandboxOptions::default();
        let mut st = State::new(&opts);
        let mut flow = FlowRec::new("Menu".into(), "COMMONMODULE".into(), Some("d".into()));
        flow.publish(Some("yaml: 1".into()), vec!["Other".into()], "sandbox");
        let flow_id = flow.id;
        st.flows.insert(flow.id, flow);
        st.queues.push(new_queue("Billing".into()));
        for status in [JobStatus::Success, JobStatus::Started] {
            let id = Uuid::new_v4();
            st.jobs.insert(
                id,
                JobRec {
                    id,
                    status,
                    client_id: "sandbox".into(),
                    upload_headers: BTreeMap::new(),
                    flow: None,
                    messages: Vec::new(),
                },
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.json");
        write_atomically(&path, &serde_json::to_vec(&Snapshot::of(&st)).unwrap()).unwrap();

        let mut back = State::new(&opts);
        load(&path, &mut back).unwrap();
        let f = &back.flows[&flow_id];
        assert_eq!(f.name, "Menu");
        assert_eq!(f.published_version().unwrap().modules, vec!["Other"]);
        assert_eq!(f.operation.as_ref().unwrap().action, "PUBLISH");
        assert!(back.find_queue("Billing").is_some());
        let mut statuses: Vec<&str> = back.jobs.values().map(|j| j.status.as_str()).collect();
        statuses.sort();
        assert_eq!(statuses, ["Failure", "Success"]);

        let mut empty = State::new(&opts);
        load(&dir.path().join("missing.json"), &mut empty).unwrap();
        assert!(empty.flows.is_empty());
        std::fs::write(
            &path,
            "{\"format\": 99, \"flows\": [], \"queues\": [], \"jobs\": []}",
        )
        .unwrap();
        assert!(matches!(
            load(&path, &mut empty),
            Err(SnapshotError::Format { .. })
        ));
    }
}
