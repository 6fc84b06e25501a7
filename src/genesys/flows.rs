//! Architect jobs (register, upload, poll) and flows (find, read, delete, unlock, consumers).

use super::*;

impl GenesysClient {
    /// `POST /api/v2/flows/jobs`, for an upload right after: ahead of other requests in the
    /// limiter (the job's clock starts with the upload; polls can wait).
    pub async fn register_job(&self) -> Result<RegisteredJob, GenesysError> {
        self.register_job_at(Priority::High).await
    }

    /// `POST /api/v2/flows/jobs` waiting its turn at `priority`: [`Priority::Low`] for a job
    /// registered ahead of an upload that must wait (for the modules the flow calls), rising
    /// when they succeed ([`Urgency::Rising`]).
    pub async fn register_job_at(
        &self,
        priority: impl Into<Urgency>,
    ) -> Result<RegisteredJob, GenesysError> {
        const EP: &str = "POST /api/v2/flows/jobs";
        let url = self.api_url(&["api", "v2", "flows", "jobs"]);
        let a = self.call_at(priority, Method::POST, EP, url).await?;
        let r: RegisterResponse = parse(EP, &a.body)?;
        Url::parse(&r.presigned_url)
            .map_err(|_| GenesysError::Protocol(format!("{EP}: presignedUrl is not a URL")))?;
        Ok(RegisteredJob {
            id: r.id,
            presigned_url: r.presigned_url,
            headers: r.headers,
        })
    }

    /// `PUT` the Archy YAML to the presigned URL with the returned headers, no bearer token.
    /// Not paced by the limiter (Genesys does not count it); 5xx and transport errors are
    /// retried with backoff.
    pub async fn upload(&self, job: &RegisteredJob, yaml: &str) -> Result<(), GenesysError> {
        const EP: &str = "PUT presignedUrl";
        let url = Url::parse(&job.presigned_url).map_err(|_| {
            GenesysError::Protocol(format!("job {}: presignedUrl is not a URL", job.id))
        })?;
        let mut headers = HeaderMap::new();
        for (k, v) in &job.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                GenesysError::Protocol(format!("job {}: invalid upload header name {k:?}", job.id))
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                GenesysError::Protocol(format!(
                    "job {}: invalid value of upload header {k}",
                    job.id
                ))
            })?;
            headers.insert(name, value);
        }
        let retry = &self.options.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.stats.uploads.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let sent = self
                .http
                .put(url.clone())
                .headers(headers.clone())
                .body(yaml.as_bytes().to_vec())
                .send()
                .await;
            let why = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let resp_headers = resp.headers().clone();
                    tracing::debug!(
                        target_name = %self.target,
                        endpoint = EP,
                        job_id = %job.id,
                        status,
                        duration_ms = started.elapsed().as_millis() as u64,
                        "Genesys upload"
                    );
                    if resp.status().is_success() {
                        return Ok(());
                    }
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    if status < 500 && status != 408 && status != 429 {
                        return Err(upload_error(status, &resp_headers, &body));
                    }
                    format!("HTTP {status}")
                }
                Err(e) => describe(&e),
            };
            if !retry.may_retry(attempt) {
                return Err(GenesysError::Unavailable(format!(
                    "upload of job {}: {why} after {attempt} attempts",
                    job.id
                )));
            }
            let delay = retry.delay(attempt, &mut rand::thread_rng());
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target_name = %self.target,
                endpoint = EP,
                job_id = %job.id,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %why,
                "retrying Genesys upload"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// `GET /api/v2/flows/jobs/{id}?expand=messages`.
    pub async fn job(&self, job_id: &str) -> Result<ArchitectJob, GenesysError> {
        const EP: &str = "GET /api/v2/flows/jobs/{jobId}";
        let mut url = self.api_url(&["api", "v2", "flows", "jobs", job_id]);
        url.query_pairs_mut().append_pair("expand", "messages");
        let a = self.call(Method::GET, EP, url).await?;
        let j: JobResponse = parse(EP, &a.body)?;
        Ok(ArchitectJob {
            status: job_status(&j.status)?,
            id: j.id,
            flow: j.flow.map(|f| FlowRef {
                id: f.id,
                name: f.name.unwrap_or_default(),
            }),
            messages: j
                .messages
                .into_iter()
                .map(|m| JobMessage {
                    kind: m.kind.unwrap_or_default(),
                    text: m.text.unwrap_or_default(),
                })
                .collect(),
        })
    }

    /// `GET /api/v2/flows?name=&type=`, matching the name exactly on this side.
    pub async fn find_flow(
        &self,
        name: &str,
        flow_type: FlowType,
    ) -> Result<Option<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows";
        let type_q = flow_type_query(flow_type);
        let mut page = 1u32;
        loop {
            let mut url = self.api_url(&["api", "v2", "flows"]);
            url.query_pairs_mut()
                .append_pair("name", name)
                .append_pair("type", type_q)
                .append_pair("pageSize", PAGE_SIZE)
                .append_pair("pageNumber", &page.to_string());
            let a = self.call(Method::GET, EP, url).await?;
            let l: Listing<FlowResponse> = parse(EP, &a.body)?;
            let found = l.entities.into_iter().find(|f| {
                f.name == name
                    && f.flow_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(type_q))
            });
            if let Some(f) = found {
                return Ok(Some(f.into()));
            }
            if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                return Ok(None);
            }
            page += 1;
        }
    }

    /// `GET /api/v2/flows/{id}`; `None` on 404.
    pub async fn flow(&self, id: &str) -> Result<Option<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows/{flowId}";
        let url = self.api_url(&["api", "v2", "flows", id]);
        match self.call_opt(Method::GET, EP, url).await? {
            None => Ok(None),
            Some(a) => Ok(Some(parse::<FlowResponse>(EP, &a.body)?.into())),
        }
    }

    /// `GET /api/v2/flows?id=a&id=b&…`: the flows with these ids, one request per
    /// [`IDS_PER_PAGE`] ids (`id` is repeatable and overrides every other filter; PySDK
    /// `ArchitectApi.get_flows`, `FlowEntityListing`). Ids Genesys does not know are simply
    /// absent from the answer.
    pub async fn flows_by_ids(&self, ids: &[String]) -> Result<Vec<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows";
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_PAGE) {
            let mut page = 1u32;
            loop {
                let mut url = self.api_url(&["api", "v2", "flows"]);
                {
                    let mut q = url.query_pairs_mut();
                    for id in chunk {
                        q.append_pair("id", id);
                    }
                    q.append_pair("pageSize", &IDS_PER_PAGE.to_string())
                        .append_pair("pageNumber", &page.to_string());
                }
                let a = self.call(Method::GET, EP, url).await?;
                let l: Listing<FlowResponse> = parse(EP, &a.body)?;
                out.extend(l.entities.into_iter().map(FlowInfo::from));
                // One page holds the whole chunk; follow `pageCount` should a server page
                // smaller than asked.
                if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                    break;
                }
                page += 1;
            }
        }
        Ok(out)
    }

    /// `DELETE /api/v2/flows/{id}`; `false` when the flow was already gone (404).
    pub async fn delete_flow(&self, id: &str) -> Result<bool, GenesysError> {
        const EP: &str = "DELETE /api/v2/flows/{flowId}";
        let url = self.api_url(&["api", "v2", "flows", id]);
        Ok(self.call_opt(Method::DELETE, EP, url).await?.is_some())
    }

    /// `POST /api/v2/flows/actions/unlock?flow={id}`: force-unlock a checked-out flow
    /// (permission `architect:flow:unlock`; Terraform's `force_unlock` sends the same).
    pub async fn unlock_flow(&self, id: &str) -> Result<(), GenesysError> {
        const EP: &str = "POST /api/v2/flows/actions/unlock";
        let mut url = self.api_url(&["api", "v2", "flows", "actions", "unlock"]);
        url.query_pairs_mut().append_pair("flow", id);
        self.call(Method::POST, EP, url).await.map(|_| ())
    }

    /// `GET /api/v2/architect/dependencytracking/consumingresources?id=&objectType=COMMONMODULEFLOW`.
    pub async fn consuming_flows(&self, module_id: &str) -> Result<Vec<FlowRef>, GenesysError> {
        const EP: &str = "GET /api/v2/architect/dependencytracking/consumingresources";
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let mut url = self.api_url(&[
                "api",
                "v2",
                "architect",
                "dependencytracking",
                "consumingresources",
            ]);
            url.query_pairs_mut()
                .append_pair("id", module_id)
                .append_pair("objectType", "COMMONMODULEFLOW")
                .append_pair("pageSize", PAGE_SIZE)
                .append_pair("pageNumber", &page.to_string());
            let a = self.call(Method::GET, EP, url).await?;
            let l: Listing<EntityRef> = parse(EP, &a.body)?;
            out.extend(l.entities.into_iter().map(|e| FlowRef {
                id: e.id,
                name: e.name.unwrap_or_default(),
            }));
            if page >= l.page_count.unwrap_or(1).min(MAX_PAGES) {
                return Ok(out);
            }
            page += 1;
        }
    }
}

impl GenesysClient {
    /// `GET /api/v2/flows?type=` (every page): the org's flows of one type.
    pub async fn list_flows(&self, flow_type: FlowType) -> Result<Vec<FlowInfo>, GenesysError> {
        const EP: &str = "GET /api/v2/flows";
        let type_q = flow_type_query(flow_type);
        let flows: Vec<FlowResponse> = self
            .list_all(EP, &["api", "v2", "flows"], &[("type", type_q)])
            .await?;
        Ok(flows
            .into_iter()
            .map(FlowInfo::from)
            .filter(|f| f.flow_type.is_empty() || f.flow_type.eq_ignore_ascii_case(type_q))
            .collect())
    }

    /// `POST /api/v2/flows/export/jobs` with one `ExportDetails` (PySDK
    /// `RegisterArchitectExportJob`: `flows: [{flow: {id, version}, exportType: "Yaml"}]`,
    /// `ArchitectFlowReference` naming the version so the published one is exported, not a
    /// draft). Answers the export job's id.
    pub async fn register_export(
        &self,
        flow_id: &str,
        version: &str,
    ) -> Result<String, GenesysError> {
        const EP: &str = "POST /api/v2/flows/export/jobs";
        let url = self.api_url(&["api", "v2", "flows", "export", "jobs"]);
        let body = serde_json::json!({
            "flows": [{"flow": {"id": flow_id, "version": version}, "exportType": "Yaml"}]
        });
        let a = self
            .call_with(Priority::Normal, Method::POST, EP, url, Some(&body))
            .await?;
        Ok(parse::<ExportRegisterResponse>(EP, &a.body)?.id)
    }

    /// `GET /api/v2/flows/export/jobs/{jobId}?expand=messages`.
    pub async fn export_job(&self, job_id: &str) -> Result<ExportJob, GenesysError> {
        const EP: &str = "GET /api/v2/flows/export/jobs/{jobId}";
        let mut url = self.api_url(&["api", "v2", "flows", "export", "jobs", job_id]);
        url.query_pairs_mut().append_pair("expand", "messages");
        let a = self.call(Method::GET, EP, url).await?;
        let j: ExportJobResponse = parse(EP, &a.body)?;
        Ok(ExportJob {
            status: job_status(&j.status)?,
            id: j.id,
            download_url: j.download_url,
            messages: j
                .messages
                .into_iter()
                .map(|m| JobMessage {
                    kind: m.kind.unwrap_or_default(),
                    text: m.text.unwrap_or_default(),
                })
                .collect(),
        })
    }

    /// `GET downloadUrl`: the exported YAML, without the bearer token (a presigned URL, as the
    /// upload's), not paced; 5xx and transport errors are retried with backoff. At most
    /// `max_bytes` are read.
    pub async fn download(&self, url: &str, max_bytes: usize) -> Result<String, GenesysError> {
        const EP: &str = "GET downloadUrl";
        let url = Url::parse(url)
            .map_err(|_| GenesysError::Protocol(format!("{EP}: downloadUrl is not a URL")))?;
        let retry = &self.options.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let why = match self.http.get(url.clone()).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    if resp.status().is_success() {
                        let body = read_bounded(resp, max_bytes).await?;
                        return String::from_utf8(body).map_err(|_| {
                            GenesysError::Protocol(format!("{EP}: the export is not UTF-8"))
                        });
                    }
                    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    if status < 500 && status != 408 && status != 429 {
                        return Err(upload_error(status, &headers, &body));
                    }
                    format!("HTTP {status}")
                }
                Err(e) => describe(&e),
            };
            if !retry.may_retry(attempt) {
                return Err(GenesysError::Unavailable(format!(
                    "{EP}: {why} after {attempt} attempts"
                )));
            }
            let delay = retry.delay(attempt, &mut rand::thread_rng());
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }
}

/// The body of `resp`, refused past `max` bytes (an export is a flow file, not a stream).
async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, GenesysError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| GenesysError::Unavailable(format!("reading the export: {}", describe(&e))))?
    {
        if out.len() + chunk.len() > max {
            return Err(GenesysError::Protocol(format!(
                "the export is larger than {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl GenesysClient {
    /// A flow version's YAML through an export job: register, poll (from 200 ms, growing to
    /// 2 s, as Terraform's exporter polls every 2 s) until it ends or `within` passes,
    /// download at most `max_bytes`. A failed export is an `Api` error with its messages.
    pub async fn export_flow(
        &self,
        flow_id: &str,
        version: &str,
        within: Duration,
        max_bytes: usize,
    ) -> Result<String, GenesysError> {
        let gid = self.register_export(flow_id, version).await?;
        let started = Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            tokio::time::sleep(wait).await;
            let job = self.export_job(&gid).await?;
            match job.status {
                JobStatus::Success => {
                    let url = job.download_url.ok_or_else(|| {
                        GenesysError::Protocol(format!(
                            "export job {gid} succeeded without a downloadUrl"
                        ))
                    })?;
                    return self.download(&url, max_bytes).await;
                }
                JobStatus::Failure => {
                    let texts: Vec<String> = job.messages.into_iter().map(|m| m.text).collect();
                    return Err(GenesysError::Api {
                        status: 200,
                        code: "export.failed".into(),
                        message: format!("export job {gid} failed: {}", texts.join("; ")),
                        correlation_id: None,
                    });
                }
                JobStatus::Registered | JobStatus::Started => {}
            }
            if started.elapsed() > within {
                return Err(GenesysError::Unavailable(format!(
                    "export job {gid} did not finish within {} s",
                    within.as_secs()
                )));
            }
            wait = (wait * 2).min(Duration::from_secs(2));
        }
    }
}
