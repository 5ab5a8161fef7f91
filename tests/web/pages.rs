//! Pages over plain HTTP: security headers, caching, CSRF, error pages, languages and assets.

use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION};
use serde_json::json;

use super::{departure_on, hidden_field, local_today, set_cookies, tour};
use crate::on_both_backends;
use crate::support::{Backend, Reply, TestApp};

on_both_backends!(
    pages_get_a_nonce_csp_and_brief_private_caching_while_the_api_keeps_its_headers,
    assets_are_served_under_content_hashed_names_cached_for_a_year,
    errors_under_page_paths_are_html_pages_and_api_errors_stay_json,
    the_language_comes_from_the_query_the_cookie_or_accept_language,
    the_language_switch_refuses_posts_without_a_matching_csrf_token,
    the_readable_url_serves_the_page_and_a_wrong_slug_redirects_to_it,
    operator_text_is_escaped_in_the_html,
);
on_both_backends!(too_many_requests_get_an_html_page_with_retry_after);

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// The `name=value` of the cookie a response sets, if it sets `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    set_cookies(headers)
        .into_iter()
        .find(|pair| pair.starts_with(&format!("{name}=")))
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = app.client.get(format!("{}{path}", app.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    TestApp::reply(request).await
}

#[track_caller]
fn assert_html(reply: &Reply, status: u16) {
    reply.expect(status);
    assert!(
        header(&reply.headers, "content-type").starts_with("text/html"),
        "not HTML: {:?}",
        reply.headers
    );
    assert!(reply.text.starts_with("<!doctype html>"), "{}", reply.text);
}

async fn pages_get_a_nonce_csp_and_brief_private_caching_while_the_api_keeps_its_headers(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour) = tour(&app, json!({})).await;
    let first = get(&app, &format!("/tours/{tour}"), &[]).await;
    assert_html(&first, 200);
    let csp = header(&first.headers, "content-security-policy");
    let nonce = csp
        .split("script-src 'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no script nonce in {csp}"));
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.starts_with("default-src 'none'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // Every script on the page carries this response's nonce.
    let scripts = first.text.matches("<script").count();
    assert!(scripts >= 1);
    assert_eq!(
        first.text.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts
    );
    let second = get(&app, &format!("/tours/{tour}"), &[]).await;
    assert!(
        !header(&second.headers, "content-security-policy").contains(nonce),
        "a nonce is used once"
    );
    assert_eq!(
        header(&first.headers, "cache-control"),
        "private, max-age=60"
    );
    assert_eq!(header(&first.headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&first.headers, "x-frame-options"), "DENY");
    assert_eq!(header(&first.headers, "x-content-type-options"), "nosniff");
    assert!(header(&first.headers, "vary").contains("Accept-Language"));

    // The API is unchanged: nothing cached, framing refused, no script policy of the pages.
    let api = app.get(&format!("/v1/tours/{tour}")).await;
    api.expect(200);
    assert_eq!(header(&api.headers, "cache-control"), "no-store");
    assert_eq!(
        header(&api.headers, "content-security-policy"),
        "frame-ancestors 'none'"
    );
    assert_eq!(header(&api.headers, "referrer-policy"), "no-referrer");
    // Error pages show nothing cacheable either.
    let missing = get(&app, "/tours/01ARZ3NDEKTSV4RRFFQ69G5FAV", &[]).await;
    assert_html(&missing, 404);
    assert_eq!(header(&missing.headers, "cache-control"), "no-store");
}

async fn assets_are_served_under_content_hashed_names_cached_for_a_year(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour) = tour(&app, json!({})).await;
    let page = get(&app, &format!("/tours/{tour}"), &[]).await;
    let href = page
        .text
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a stylesheet link")
        .replace("&#x2f;", "/");
    assert!(
        href.starts_with("/assets/css/site.") && href.ends_with(".css"),
        "{href}"
    );
    let css = get(&app, &href, &[]).await;
    css.expect(200);
    assert_eq!(
        header(&css.headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&css.headers, CONTENT_TYPE.as_str()).starts_with("text/css"));
    let on_disk =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/css/site.css"))
            .expect("assets/css/site.css");
    assert_eq!(css.text, on_disk, "the embedded file is served as it is");

    // The plain name, or the name with another hash, is not an asset.
    for wrong in ["/assets/css/site.css", "/assets/css/site.000000000000.css"] {
        let reply = get(&app, wrong, &[]).await;
        assert_html(&reply, 404);
        assert_eq!(header(&reply.headers, CACHE_CONTROL.as_str()), "no-store");
    }
}

async fn errors_under_page_paths_are_html_pages_and_api_errors_stay_json(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour) = tour(&app, json!({})).await;
    for path in [
        "/tours/not-a-tour".to_owned(),
        "/tours/01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
        "/tours".to_owned(),
        format!("/tours/{tour}/slug/extra"),
        // Months before the current one are not pages.
        "/tours/{tour}?month=2000-01".replace("{tour}", &tour),
    ] {
        let reply = get(&app, &path, &[]).await;
        assert_html(&reply, 404);
        assert!(
            reply.text.contains("This page does not exist"),
            "{path}: {}",
            reply.text
        );
    }
    for query in ["month=banana", "day=2020-02-30", "day=tomorrow"] {
        let reply = get(&app, &format!("/tours/{tour}?{query}"), &[]).await;
        assert_html(&reply, 422);
        assert!(reply.text.contains("not valid"), "{query}: {}", reply.text);
    }
    // A page answers HTML for a wrong method too, and no stack trace anywhere.
    let put = TestApp::reply(app.client.put(format!("{}/tours/{tour}", app.base))).await;
    assert_html(&put, 404);

    // The API keeps its JSON errors.
    app.get("/v1/tours/not-a-tour")
        .await
        .expect_error(404, "not_found");
    app.get("/nope").await.expect_error(404, "not_found");
}

async fn the_language_comes_from_the_query_the_cookie_or_accept_language(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour) = tour(&app, json!({})).await;
    let path = format!("/tours/{tour}");
    let english = get(&app, &path, &[]).await;
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(english.text.contains("€35.00") && english.text.contains("Cancellation policy"));
    assert!(english
        .text
        .contains("Cancel 72 hours or more before the departure: full refund."));

    let spanish = get(
        &app,
        &path,
        &[(ACCEPT_LANGUAGE.as_str(), "es-ES,es;q=0.9,en;q=0.5")],
    )
    .await;
    assert!(spanish.text.contains("<html lang=\"es\">"));
    assert!(spanish.text.contains("35,00\u{a0}€"), "{}", spanish.text);
    assert!(spanish.text.contains("Política de cancelación"));
    assert!(spanish
        .text
        .contains("Si cancelas entre 24 horas y 72 horas antes: reembolso del 50 %."));

    // `?lang=` wins over the header, the cookie over the header.
    let query = get(
        &app,
        &format!("{path}?lang=en"),
        &[(ACCEPT_LANGUAGE.as_str(), "es")],
    )
    .await;
    assert!(query.text.contains("<html lang=\"en\">"));
    let cookie = get(
        &app,
        &path,
        &[
            (COOKIE.as_str(), "lang=es"),
            (ACCEPT_LANGUAGE.as_str(), "en"),
        ],
    )
    .await;
    assert!(cookie.text.contains("<html lang=\"es\">"));
    // A language we do not have falls back to English.
    let french = get(&app, &path, &[(ACCEPT_LANGUAGE.as_str(), "fr-FR")]).await;
    assert!(french.text.contains("<html lang=\"en\">"));
}

async fn the_language_switch_refuses_posts_without_a_matching_csrf_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour) = tour(&app, json!({})).await;
    let page = get(
        &app,
        &format!("/tours/{tour}?month={}", local_today(&app).format("%Y-%m")),
        &[],
    )
    .await;
    let cookie = set_cookie(&page.headers, "berth_csrf").expect("the page sets the CSRF cookie");
    let set = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("berth_csrf="))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let token = hidden_field(&page.text, "csrf_token");
    let next = hidden_field(&page.text, "next");
    assert_eq!(
        next,
        format!("/tours/{tour}?month={}", local_today(&app).format("%Y-%m"))
    );
    assert_ne!(
        token,
        cookie.split('=').nth(1).unwrap(),
        "the field is not the cookie itself"
    );

    // Redirects are looked at, not followed.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |cookie: Option<String>,
                form: Vec<(&'static str, String)>,
                extra: Option<(&'static str, &'static str)>| {
        let mut request = client.post(format!("{}/lang", app.base)).form(&form);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some((name, value)) = extra {
            request = request.header(name, value);
        }
        TestApp::reply(request)
    };
    let form = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("lang", "es".to_owned()),
            ("next", next.clone()),
        ]
    };
    let refusals = [
        (
            "no token",
            post(Some(cookie.clone()), form("")[1..].to_vec(), None).await,
        ),
        ("no cookie", post(None, form(&token), None).await),
        (
            "another token",
            post(Some(cookie.clone()), form(&"0".repeat(64)), None).await,
        ),
        (
            "another browser's cookie",
            post(
                Some(format!("berth_csrf={}", "a".repeat(64))),
                form(&token),
                None,
            )
            .await,
        ),
        (
            "cross-site",
            post(
                Some(cookie.clone()),
                form(&token),
                Some(("Sec-Fetch-Site", "cross-site")),
            )
            .await,
        ),
    ];
    for (case, reply) in &refusals {
        assert_html(reply, 403);
        assert!(
            reply.text.contains("This form could not be accepted"),
            "{case}: {}",
            reply.text
        );
        assert!(
            set_cookie(&reply.headers, "lang").is_none(),
            "{case} changed the language"
        );
    }

    // The same form with its token switches the language and returns to the page.
    let accepted = post(
        Some(cookie.clone()),
        form(&token),
        Some(("Sec-Fetch-Site", "same-origin")),
    )
    .await;
    accepted.expect(303);
    assert_eq!(header(&accepted.headers, LOCATION.as_str()), next);
    assert_eq!(
        set_cookie(&accepted.headers, "lang").as_deref(),
        Some("lang=es")
    );

    // Bad values with a good token: a clear 422, and no open redirect.
    let away = vec![
        ("csrf_token", token.clone()),
        ("lang", "es".to_owned()),
        ("next", "//evil.example/".to_owned()),
    ];
    assert_html(&post(Some(cookie.clone()), away, None).await, 422);
    let klingon = vec![
        ("csrf_token", token.clone()),
        ("lang", "tlh".to_owned()),
        ("next", next.clone()),
    ];
    assert_html(&post(Some(cookie.clone()), klingon, None).await, 422);
    // Not a form: 415, as a page.
    let json_body = TestApp::reply(
        app.client
            .post(format!("{}/lang", app.base))
            .header(COOKIE, cookie)
            .json(&json!({"csrf_token": token, "lang": "es", "next": next})),
    )
    .await;
    assert_html(&json_body, 415);
}

async fn the_readable_url_serves_the_page_and_a_wrong_slug_redirects_to_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, tour) = tour(&app, json!({"name": "Sunset Cruise: the Bay!"})).await;
    let canonical = format!("/tours/{tour}/sunset-cruise-the-bay");
    let page = get(&app, &canonical, &[]).await;
    assert_html(&page, 200);
    assert!(page.text.contains("Sunset Cruise: the Bay!"));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let month = local_today(&app).format("%Y-%m").to_string();
    let stale =
        TestApp::reply(client.get(format!("{}/tours/{tour}/old-name?month={month}", app.base)))
            .await;
    stale.expect(301);
    assert_eq!(
        header(&stale.headers, LOCATION.as_str()),
        format!("{canonical}?month={month}")
    );
    // The short form works too and names the readable one as canonical.
    let short = get(&app, &format!("/tours/{tour}"), &[]).await;
    assert!(short.text.contains(&format!(
        "<link rel=\"canonical\" href=\"{}\">",
        canonical.replace('/', "&#x2f;")
    )));
}

async fn operator_text_is_escaped_in_the_html(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, tour) = tour(
        &app,
        json!({
            "name": "Cruise <b>bold</b>",
            "description": "<script>window.injected = 1</script><img src=x onerror=alert(1)>",
            "meeting_point": "\"><svg onload=alert(2)>",
            "units": [{"code": "adult", "label": "<i>Adult</i>", "price": 3500}]
        }),
    )
    .await;
    departure_on(
        &app,
        &token,
        &tour,
        local_today(&app) + chrono::Duration::days(3),
        10,
        8,
    )
    .await;
    let page = get(&app, &format!("/tours/{tour}"), &[]).await;
    assert_html(&page, 200);
    for raw in [
        "<script>window",
        "<img src=x",
        "<svg",
        "<b>bold",
        "<i>Adult",
    ] {
        assert!(!page.text.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(page
        .text
        .contains("&lt;script&gt;window.injected = 1&lt;&#x2f;script&gt;"));
    assert!(page.text.contains("&lt;i&gt;Adult&lt;&#x2f;i&gt;"));
}

async fn too_many_requests_get_an_html_page_with_retry_after(backend: Backend) {
    let settings = [("rate_limits", json!("reads=3/min"))];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let token = app.operator("Harbour Tours").await;
    let tour = app.tour(&token, json!({})).await;
    let path = format!("/tours/{tour}");
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(get(&app, &path, &[]).await);
    }
    for reply in &replies[..3] {
        reply.expect(200);
    }
    let limited = &replies[3];
    assert_html(limited, 429);
    let wait: u64 = header(&limited.headers, "retry-after")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        limited.text.contains(&format!("Wait {wait} seconds")),
        "{}",
        limited.text
    );
}
