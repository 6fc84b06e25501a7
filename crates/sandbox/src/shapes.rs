//! Platform API v2 shapes shared by the org's objects ([`super::org`]) and the sandbox
//! state ([`super::state`]): a leaf, so that neither of the two imports the other for them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::archy::unverified::{HOME_DIVISION_ID, HOME_DIVISION_NAME};

/// A timestamp as the Platform API writes it (RFC 3339, milliseconds, `Z`).
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The home division, as an object's `division` reference.
pub fn division_json() -> Value {
    json!({
        "id": HOME_DIVISION_ID,
        "name": HOME_DIVISION_NAME,
        "selfUri": format!("/api/v2/authorization/divisions/{HOME_DIVISION_ID}"),
    })
}
