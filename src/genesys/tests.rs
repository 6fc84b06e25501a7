use super::*;

#[test]
fn urls_encode_segments_and_keep_a_base_path() {
    let base = Url::parse("https://api.mypurecloud.com").unwrap();
    assert_eq!(
        join(&base, &["api", "v2", "flows", "a/b c?"]).as_str(),
        "https://api.mypurecloud.com/api/v2/flows/a%2Fb%20c%3F"
    );
    let base = Url::parse("http://127.0.0.1:9090/prefix/").unwrap();
    assert_eq!(
        join(&base, &["oauth", "token"]).as_str(),
        "http://127.0.0.1:9090/prefix/oauth/token"
    );
}

/// The (status, code, message, correlation id) of an API error; panics on another error.
fn api_parts(e: GenesysError) -> (u16, String, String, Option<String>) {
    match e {
        GenesysError::Api {
            status,
            code,
            message,
            correlation_id,
        } => (status, code, message, correlation_id),
        e => panic!("{e:?}"),
    }
}

#[test]
fn error_body_is_parsed() {
    let body = br#"{"message":"The requested operation failed with status 404","code":"not.found","status":404,"contextId":"ctx-1","details":[],"errors":[]}"#;
    let (status, code, message, correlation_id) = api_parts(api_error(404, None, body));
    assert_eq!(status, 404);
    assert_eq!(code, "not.found");
    assert!(message.contains("404"));
    assert_eq!(correlation_id.as_deref(), Some("ctx-1"));
    let (_, code, message, correlation_id) =
        api_parts(api_error(400, Some("hdr".into()), b"<html>bad</html>"));
    assert_eq!(code, "bad.request");
    assert_eq!(message, "<html>bad</html>");
    assert_eq!(correlation_id.as_deref(), Some("hdr"));
}

#[test]
fn s3_errors_are_parsed_loosely() {
    let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestId>r-1</RequestId></Error>";
    let (status, code, message, correlation_id) =
        api_parts(upload_error(403, &HeaderMap::new(), body));
    assert_eq!(status, 403);
    assert_eq!(code, "AccessDenied");
    assert_eq!(message, "Request has expired");
    assert_eq!(correlation_id.as_deref(), Some("r-1"));
}

#[test]
fn job_statuses() {
    assert_eq!(job_status("Success").unwrap(), JobStatus::Success);
    assert_eq!(job_status("Registered").unwrap(), JobStatus::Registered);
    assert!(matches!(
        job_status("Exploded"),
        Err(GenesysError::Protocol(_))
    ));
}

#[test]
fn client_debug_redacts_the_secret() {
    let t = TargetConfig {
        name: "t1".into(),
        api_base_url: "https://api.example.com".into(),
        login_base_url: "https://login.example.com".into(),
        client_id: "cid".into(),
        client_secret: secrecy::SecretString::from("super-secret-value"),
        rate_limit_per_minute: 300,
        concurrency: Some(4),
    };
    let c = GenesysClient::new(&t).unwrap();
    let s = format!("{c:?}");
    assert!(s.contains("t1") && s.contains("cid"), "{s}");
    assert!(!s.contains("super-secret-value"), "{s}");
    let job = RegisteredJob {
        id: "j".into(),
        presigned_url: "https://s3.example.com/x?X-Amz-Signature=abc".into(),
        headers: BTreeMap::new(),
    };
    assert!(!format!("{job:?}").contains("X-Amz-Signature"));
}
