//! OAuth client-credentials token cache: one token per client, refreshed shortly before it
//! expires or after a 401, one refresh at a time. Neither the secret nor the token is ever
//! printed (`SecretString`, custom `Debug`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::RwLock;
use tokio::time::Instant;
use url::Url;

use super::GenesysError;
use super::retry::RetryPolicy;

/// The refresh margin: 60 s before expiry, or 10% of the lifetime if that is smaller.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    Duration::from_secs(60).min(lifetime / 10)
}

/// A bearer token and the generation it belongs to (to tell a stale token after a 401).
#[derive(Clone)]
pub struct Bearer {
    pub token: SecretString,
    pub generation: u64,
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bearer")
            .field("token", &"[REDACTED]")
            .field("generation", &self.generation)
            .finish()
    }
}

struct Cached {
    bearer: Bearer,
    refresh_at: Instant,
}

pub struct TokenCache {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    cached: RwLock<Option<Cached>>,
    generation: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    description: Option<String>,
}

/// What the client needs to know of a token request.
pub struct Ctx<'a> {
    pub http: &'a reqwest::Client,
    pub retry: &'a RetryPolicy,
    pub target: &'a str,
    pub on_request: &'a (dyn Fn() + Send + Sync),
}

impl TokenCache {
    pub fn new(token_url: Url, client_id: String, client_secret: SecretString) -> TokenCache {
        TokenCache {
            token_url,
            client_id,
            client_secret,
            cached: RwLock::new(None),
            generation: AtomicU64::new(0),
        }
    }

    /// A fresh token: the cached one, or a new one (one refresh at a time).
    pub async fn token(&self, ctx: &Ctx<'_>) -> Result<Bearer, GenesysError> {
        {
            let c = self.cached.read().await;
            if let Some(c) = c.as_ref().filter(|c| Instant::now() < c.refresh_at) {
                return Ok(c.bearer.clone());
            }
        }
        self.refresh(ctx, None).await
    }

    /// A new token after `rejected` got a 401. When another task has already replaced that
    /// token, its replacement is returned without a new request.
    pub async fn after_unauthorized(
        &self,
        ctx: &Ctx<'_>,
        rejected: &Bearer,
    ) -> Result<Bearer, GenesysError> {
        self.refresh(ctx, Some(rejected.generation)).await
    }

    async fn refresh(&self, ctx: &Ctx<'_>, stale: Option<u64>) -> Result<Bearer, GenesysError> {
        let mut c = self.cached.write().await;
        // Double-checked: someone may have refreshed while this task waited for the lock.
        if let Some(cur) = c.as_ref() {
            let fresh = Instant::now() < cur.refresh_at;
            let replaced = stale.is_none_or(|g| g != cur.bearer.generation);
            if fresh && replaced {
                return Ok(cur.bearer.clone());
            }
        }
        let (token, lifetime) = self.request(ctx).await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let bearer = Bearer { token, generation };
        *c = Some(Cached {
            bearer: bearer.clone(),
            refresh_at: Instant::now() + lifetime - refresh_margin(lifetime),
        });
        Ok(bearer)
    }

    async fn request(&self, ctx: &Ctx<'_>) -> Result<(SecretString, Duration), GenesysError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            (ctx.on_request)();
            metrics::counter!(crate::metrics::names::GENESYS_TOKEN_REFRESHES, "target" => ctx.target.to_owned())
                .increment(1);
            let started = Instant::now();
            let sent = ctx
                .http
                .post(self.token_url.clone())
                .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await;
            let why = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    tracing::debug!(
                        target_name = ctx.target,
                        endpoint = "POST /oauth/token",
                        status,
                        duration_ms = started.elapsed().as_millis() as u64,
                        "Genesys token request"
                    );
                    if resp.status().is_success() {
                        let t: TokenResponse = resp.json().await.map_err(|e| {
                            GenesysError::Protocol(format!("OAuth token response: {e}"))
                        })?;
                        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(86_400).max(1));
                        return Ok((SecretString::from(t.access_token), lifetime));
                    }
                    if status < 500 && status != 408 && status != 429 {
                        let body: OAuthError = resp.json().await.unwrap_or_default();
                        let error = body.error.unwrap_or_else(|| format!("HTTP {status}"));
                        let detail = body.error_description.or(body.description);
                        return Err(GenesysError::Auth(match detail {
                            Some(d) => format!("{status} {error}: {d}"),
                            None => format!("{status} {error}"),
                        }));
                    }
                    format!("HTTP {status}")
                }
                Err(e) => super::describe(&e),
            };
            if !ctx.retry.may_retry(attempt) {
                return Err(GenesysError::Unavailable(format!(
                    "OAuth token request failed after {attempt} attempts: {why}"
                )));
            }
            let delay = ctx.retry.delay(attempt, &mut rand::thread_rng());
            tracing::warn!(
                target_name = ctx.target,
                endpoint = "POST /oauth/token",
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %why,
                "retrying Genesys token request"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_a_minute_or_a_tenth() {
        assert_eq!(
            refresh_margin(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(5)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn debug_redacts_secret_and_token() {
        let cache = TokenCache::new(
            Url::parse("https://login.example.com/oauth/token").unwrap(),
            "client-1".into(),
            SecretString::from("hunter2-secret"),
        );
        let s = format!("{cache:?}");
        assert!(s.contains("client-1"), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
        let b = Bearer {
            token: SecretString::from("tok-abcdef"),
            generation: 3,
        };
        let s = format!("{b:?}");
        assert!(!s.contains("tok-abcdef"), "{s}");
    }
}
