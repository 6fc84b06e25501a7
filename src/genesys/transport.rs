//! One Platform API request with the whole policy: the 429 pause, the limiter, the token
//! (refreshed once on a 401), and retries of conflicts and transient failures.

use super::*;

impl GenesysClient {
    pub(super) fn api_url(&self, segments: &[&str]) -> Url {
        join(&self.api_base, segments)
    }

    /// What the token cache needs to ask for a token: the client, the retry policy, the
    /// target, and the counter of token requests (`count`, built by the caller).
    fn auth_ctx<'a>(&'a self, count: &'a (dyn Fn() + Send + Sync)) -> auth::Ctx<'a> {
        auth::Ctx {
            http: &self.http,
            retry: &self.options.retry,
            target: &self.target,
            on_request: count,
        }
    }

    fn count_token_request(&self) {
        self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) async fn token(&self) -> Result<Bearer, GenesysError> {
        let count = || self.count_token_request();
        self.tokens.token(&self.auth_ctx(&count)).await
    }

    pub(super) async fn token_after_401(&self, rejected: &Bearer) -> Result<Bearer, GenesysError> {
        let count = || self.count_token_request();
        self.tokens
            .after_unauthorized(&self.auth_ctx(&count), rejected)
            .await
    }

    pub(super) fn count_request(&self, endpoint: &'static str, status: Option<u16>) {
        self.stats.api_requests.fetch_add(1, Ordering::Relaxed);
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        metrics::counter!(
            crate::metrics::names::GENESYS_REQUESTS,
            "target" => self.target.clone(),
            "endpoint" => endpoint,
            "status" => status
        )
        .increment(1);
    }

    /// Sends one Platform API request with the whole policy: pause, limiter, token, retries.
    /// `endpoint` is the route template used in metrics and logs.
    pub(super) async fn call(
        &self,
        method: Method,
        endpoint: &'static str,
        url: Url,
    ) -> Result<Answer, GenesysError> {
        self.call_at(Priority::Normal, method, endpoint, url).await
    }

    /// [`GenesysClient::call`] waiting its turn in the limiter at `priority`.
    pub(super) async fn call_at(
        &self,
        priority: impl Into<Urgency>,
        method: Method,
        endpoint: &'static str,
        url: Url,
    ) -> Result<Answer, GenesysError> {
        self.call_with(priority, method, endpoint, url, None).await
    }

    /// [`GenesysClient::call_at`] sending `body` as JSON.
    pub(super) async fn call_with(
        &self,
        priority: impl Into<Urgency>,
        method: Method,
        endpoint: &'static str,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GenesysError> {
        let urgency = priority.into();
        let mut tries = Tries::default();
        let mut bearer = self.token().await?;
        loop {
            self.wait_turn(&urgency, endpoint, &mut tries).await?;
            // The cached token may have been refreshed meanwhile (or be due for a refresh).
            if !tries.refreshed {
                bearer = self.token().await?;
            }
            let sent = self.send(&method, &url, endpoint, &bearer, body).await;
            match self.next_step(endpoint, sent, &mut tries)? {
                Step::Done(answer) => return Ok(answer),
                Step::Refresh => bearer = self.token_after_401(&bearer).await?,
                Step::Retry {
                    why,
                    correlation,
                    attempt,
                    delay,
                } => {
                    self.backoff(endpoint, &why, correlation.as_deref(), attempt, delay)
                        .await;
                }
                Step::Paused => {}
            }
        }
    }

    /// Waits out a pause (a 429 anywhere on this target), then the limiter; a pause that
    /// began while waiting on the limiter is honoured too. Fails when the request has been
    /// rate limited longer than `max_rate_limited_wait` in all.
    async fn wait_turn(
        &self,
        urgency: &Urgency,
        endpoint: &'static str,
        tries: &mut Tries,
    ) -> Result<(), GenesysError> {
        loop {
            tries.paused_total += self.pacer.wait_unpaused().await;
            let waited = self.pacer.until_ready(urgency).await;
            metrics::histogram!(crate::metrics::names::GENESYS_LIMITER_WAIT, "target" => self.target.clone())
                .record(waited.as_secs_f64());
            if self.pacer.paused_for().is_none() {
                break;
            }
        }
        if tries.paused_total > self.options.max_rate_limited_wait {
            return Err(GenesysError::Unavailable(format!(
                "{endpoint}: rate limited for {}s in all",
                tries.paused_total.as_secs()
            )));
        }
        Ok(())
    }

    /// Sends the request once, reads the whole answer, counts and logs it.
    async fn send(
        &self,
        method: &Method,
        url: &Url,
        endpoint: &'static str,
        bearer: &Bearer,
        body: Option<&serde_json::Value>,
    ) -> Sent {
        let started = Instant::now();
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(bearer.token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            request = request.json(b);
        }
        let sent = request.send().await;
        let (status, headers, body) = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(b) => (Ok(status), headers, b.to_vec()),
                    Err(e) => (Err(describe(&e)), headers, Vec::new()),
                }
            }
            Err(e) => (Err(describe(&e)), HeaderMap::new(), Vec::new()),
        };
        let correlation = correlation_id(&headers);
        self.count_request(endpoint, status.as_ref().ok().copied());
        tracing::debug!(
            target_name = %self.target,
            endpoint,
            status = ?status.as_ref().ok(),
            correlation_id = correlation.as_deref().unwrap_or("-"),
            duration_ms = started.elapsed().as_millis() as u64,
            "Genesys request"
        );
        Sent {
            status,
            headers,
            body,
            correlation,
        }
    }

    /// What an answer means for the request: done, failed (the error), or tried again after
    /// a token refresh, a pause or a backoff.
    fn next_step(
        &self,
        endpoint: &'static str,
        sent: Sent,
        tries: &mut Tries,
    ) -> Result<Step, GenesysError> {
        let retry = &self.options.retry;
        let class = match &sent.status {
            Ok(s) => retry::classify(*s),
            Err(_) => Class::Transient,
        };
        let why = match &sent.status {
            Ok(s) => format!("HTTP {s}"),
            Err(e) => e.clone(),
        };
        let correlation = sent.correlation;
        match class {
            Class::Success => Ok(Step::Done(Answer { body: sent.body })),
            Class::Unauthorized if !tries.refreshed => {
                tries.refreshed = true;
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    target_name = %self.target,
                    endpoint,
                    correlation_id = correlation.as_deref().unwrap_or("-"),
                    "Genesys answered 401; refreshing the token and retrying once"
                );
                Ok(Step::Refresh)
            }
            Class::Unauthorized | Class::Fatal => {
                Err(api_error(sent.status.unwrap_or(0), correlation, &sent.body))
            }
            Class::RateLimited => self.on_rate_limited(endpoint, &sent.headers, correlation, tries),
            Class::Conflict => {
                tries.conflicts += 1;
                if tries.conflicts > self.options.conflict_retries {
                    return Err(api_error(409, correlation, &sent.body));
                }
                let delay = retry.delay(tries.conflicts + 1, &mut rand::thread_rng());
                Ok(Step::Retry {
                    why,
                    correlation,
                    attempt: tries.conflicts,
                    delay,
                })
            }
            Class::Transient => {
                tries.transient += 1;
                if !retry.may_retry(tries.transient) {
                    return Err(GenesysError::Unavailable(format!(
                        "{endpoint}: {why} after {} attempts (correlation id {})",
                        tries.transient,
                        correlation.as_deref().unwrap_or("-")
                    )));
                }
                let delay = retry.delay(tries.transient, &mut rand::thread_rng());
                Ok(Step::Retry {
                    why,
                    correlation,
                    attempt: tries.transient,
                    delay,
                })
            }
        }
    }

    /// A 429 pauses the whole target for its `Retry-After` (else a backoff), unless the
    /// request has then been rate limited longer than `max_rate_limited_wait`.
    fn on_rate_limited(
        &self,
        endpoint: &'static str,
        headers: &HeaderMap,
        correlation: Option<String>,
        tries: &mut Tries,
    ) -> Result<Step, GenesysError> {
        tries.rate_limited += 1;
        self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(crate::metrics::names::GENESYS_RATE_LIMITED, "target" => self.target.clone())
            .increment(1);
        let delay = retry::retry_after(headers, chrono::Utc::now())
            .unwrap_or_else(|| {
                let backoff = RetryPolicy {
                    base: Duration::from_secs(1),
                    cap: Duration::from_secs(60),
                    max_attempts: u32::MAX,
                };
                backoff.ceiling(tries.rate_limited)
            })
            .max(Duration::from_millis(200));
        if tries.paused_total + delay > self.options.max_rate_limited_wait {
            return Err(GenesysError::Unavailable(format!(
                "{endpoint}: rate limited (429) for longer than {}s (correlation id {})",
                self.options.max_rate_limited_wait.as_secs(),
                correlation.as_deref().unwrap_or("-")
            )));
        }
        tracing::warn!(
            target_name = %self.target,
            endpoint,
            correlation_id = correlation.as_deref().unwrap_or("-"),
            pause_ms = delay.as_millis() as u64,
            "Genesys answered 429; pausing the target"
        );
        self.pacer.pause_until(Instant::now() + delay);
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        Ok(Step::Paused)
    }

    pub(super) async fn backoff(
        &self,
        endpoint: &str,
        why: &str,
        correlation: Option<&str>,
        attempt: u32,
        delay: Duration,
    ) {
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            target_name = %self.target,
            endpoint,
            correlation_id = correlation.unwrap_or("-"),
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = why,
            "retrying Genesys request"
        );
        tokio::time::sleep(delay).await;
    }

    /// `call`, with a 404 answered as `None`.
    pub(super) async fn call_opt(
        &self,
        method: Method,
        endpoint: &'static str,
        url: Url,
    ) -> Result<Option<Answer>, GenesysError> {
        match self.call(method, endpoint, url).await {
            Ok(a) => Ok(Some(a)),
            Err(GenesysError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What one request has been through so far.
#[derive(Default)]
struct Tries {
    transient: u32,
    conflicts: u32,
    rate_limited: u32,
    /// The token was refreshed after a 401 (once per request).
    refreshed: bool,
    paused_total: Duration,
}

/// One answer, read whole: its status (or the transport error), headers and body.
struct Sent {
    status: Result<u16, String>,
    headers: HeaderMap,
    body: Vec<u8>,
    correlation: Option<String>,
}

/// What the request does after an answer.
enum Step {
    Done(Answer),
    /// A 401: refresh the token and send again.
    Refresh,
    /// A 429 paused the target; send again when it ends.
    Paused,
    Retry {
        why: String,
        correlation: Option<String>,
        attempt: u32,
        delay: Duration,
    },
}
