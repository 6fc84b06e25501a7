//! Cursor paging shared by every list endpoint: `page_size` (1-500, default 50) and an
//! opaque `page_token` naming the last item of the previous page.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};

/// Reads page tokens: unpadded base64url, unused low bits ignored. Any token of the
/// OpenAPI document's pattern ([`super::exact::PAGE_TOKEN_PATTERN`]) names a position in
/// the list (the items after its key), so a client is never refused one the schema allows.
const TOKEN_READER: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

use crate::error::{ApiError, ApiResult};
use crate::template::{Finding, FlowType};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// A 400-class problem about one query parameter.
pub fn bad_parameter(msg: &str) -> ApiError {
    ApiError::invalid(
        msg.to_owned(),
        Finding::error("invalid_parameter", "", msg.to_owned()),
    )
}

/// An optional query parameter read by `parse`; `message` is the problem when it does not
/// parse.
pub fn optional_param<T>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Option<T>,
    message: &str,
) -> ApiResult<Option<T>> {
    value
        .map(|v| parse(v).ok_or_else(|| bad_parameter(message)))
        .transpose()
}

/// The `type` query parameter of the template and flow lists.
pub fn flow_type_param(value: Option<&str>) -> ApiResult<Option<FlowType>> {
    optional_param(value, FlowType::parse, "type must be module or inbound")
}

/// A validated page request.
pub struct Page {
    pub size: u32,
    /// The key of the last item of the previous page (decoded token).
    pub after: Option<String>,
}

impl Page {
    pub fn parse(page_size: Option<u32>, page_token: Option<&str>) -> ApiResult<Page> {
        let size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(bad_parameter("page_size must be between 1 and 500"));
        }
        let after = page_token
            .map(|t| {
                TOKEN_READER
                    .decode(t)
                    // NUL is in no key, and PostgreSQL takes no NUL in text.
                    .map(|b| String::from_utf8_lossy(&b).replace('\0', ""))
                    .map_err(|_| bad_parameter("page_token is not a token this service issued"))
            })
            .transpose()?;
        Ok(Page { size, after })
    }

    /// Rows to ask the store for: one more than the page, to know whether another follows.
    pub fn limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Cuts `rows` to the page and returns the token of the next page, if there is one.
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> Option<String> {
        if rows.len() <= self.size as usize {
            return None;
        }
        rows.truncate(self.size as usize);
        rows.last().map(|r| URL_SAFE_NO_PAD.encode(key(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bad_input_is_refused() {
        let p = Page::parse(Some(2), None).unwrap();
        let mut rows = vec!["a", "b", "c"];
        let token = p.finish(&mut rows, |r| r.to_string()).unwrap();
        assert_eq!(rows, ["a", "b"]);
        let next = Page::parse(Some(2), Some(&token)).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(Page::parse(Some(0), None).is_err());
        assert!(Page::parse(Some(501), None).is_err());
        assert!(Page::parse(None, Some("%%%")).is_err());
        // Any token of the spec's pattern is a position; a length of 1 modulo 4 is none.
        assert_eq!(
            Page::parse(None, Some("QUI")).unwrap().after.as_deref(),
            Some("AB")
        );
        assert_eq!(
            Page::parse(None, Some("AA")).unwrap().after.as_deref(),
            Some("")
        );
        assert!(
            Page::parse(None, Some("_w")).is_ok(),
            "not UTF-8: read lossily"
        );
        assert!(Page::parse(None, Some("")).is_ok());
        assert!(Page::parse(None, Some("ABCDE")).is_err());
        let mut short = vec!["a"];
        assert!(p.finish(&mut short, |r| r.to_string()).is_none());
    }
}
