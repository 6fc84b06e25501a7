//! The operator console over HTTP: its policy, its token check, and escaping.

use serde_json::Value;

use crate::compile::hostile_template;
use crate::helpers::*;

fn csp(r: &reqwest::Response) -> String {
    r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_console_is_escaped_strict_and_scriptless_inline() {
    let app = spawn_app().await;
    let (s, body) = app.store(&hostile_template()).await;
    assert_eq!(s, 201, "{body}");

    let r = app.get("/console").await;
    assert_eq!(r.status(), 200);
    let policy = csp(&r);
    assert!(
        policy.starts_with("default-src 'self'; script-src 'self'"),
        "{policy}"
    );
    assert!(!policy.contains("unsafe"), "{policy}");
    let page = r.text().await.unwrap();
    assert!(page.contains("data-auth=\"open\""), "{page}");
    // The only script is the static one; nothing inline.
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("<script src=\"/console/console.js\" defer></script>"));
    let js = app.get("/console/console.js").await;
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().await.unwrap().contains("Authorization"));

    // A hostile name and text come back as text in the views, never as markup.
    let r = app.get("/console/views/templates").await;
    assert!(csp(&r).starts_with("default-src 'self'"));
    let list = r.text().await.unwrap();
    assert!(list.contains(">Tom &amp; Jerry's Line</a>"), "{list}");
    assert!(
        list.contains("href=\"#/templates/Tom%20%26%20Jerry%27s%20Line\""),
        "{list}"
    );
    let r = app
        .get("/console/views/templates/Tom%20%26%20Jerry%27s%20Line")
        .await;
    assert_eq!(r.status(), 200);
    let view = r.text().await.unwrap();
    assert!(!view.contains("<script"), "{view}");
    assert!(
        view.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'q' &lt;/svg&gt;"),
        "{view}"
    );
    assert!(
        view.contains("<h1>Template Tom &amp; Jerry's Line</h1>"),
        "{view}"
    );
    let r = app.get("/console/views/templates/Nope").await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_console_views_need_the_api_token_and_the_page_holds_none() {
    let app = spawn_app_with(|s| s.api_tokens = vec!["console-token".to_owned().into()]).await;
    let r = app.get("/console").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("data-auth=\"required\""));
    assert!(page.contains("id=\"token-form\""));
    assert!(!page.contains("console-token"));
    for view in ["templates", "targets", "jobs"] {
        let r = app.get(&format!("/console/views/{view}")).await;
        assert_eq!(r.status(), 401, "{view}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], 401);
    }
    let r = app
        .client
        .get(app.url("/console/views/templates"))
        .bearer_auth("console-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<h1>Templates</h1>"));
}
