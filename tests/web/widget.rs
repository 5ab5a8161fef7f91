//! The embeddable widget: an operator lists the sites that may frame its booking pages; a page
//! on such a site pastes one `<script>` tag and a traveler books inside the frame, which grows
//! to fit each page. Served from another site (berth is on 127.0.0.1, the embedding pages on
//! `localhost`), so the frame is cross-site, as on an operator's real site. A site not listed
//! gets nothing: the browser refuses to show the frame.

use chrono::Duration;
use fantoccini::Locator;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::browser::Browser;
use super::{departure_on, local_today, tour};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

on_both_backends!(
    a_traveler_books_inside_the_widget_on_an_allowed_site_and_nowhere_else,
    framing_follows_the_operators_list_and_only_its_booking_pages,
);

/// An HTTP server on a port of its own that answers every request with `html`: a page of the
/// operator's site. Its origin is `http://localhost:<port>`.
async fn site_serving(html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://localhost:{port}")
}

/// The operator's page with the snippet the README documents.
fn page_with_widget(app: &TestApp, attribute: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>Harbour Tours</title></head><body>\
         <h1>Harbour Tours</h1><p>Book below.</p>\
         <script src=\"{}/embed.js\" {attribute} async></script></body></html>",
        app.base
    )
}

async fn set_origins(app: &TestApp, owner: &str, origins: &[&str]) -> crate::support::Reply {
    app.request(
        reqwest::Method::PUT,
        "/v1/operator/embed-origins",
        Some(owner),
        Some(json!({ "origins": origins })),
    )
    .await
}

async fn wait_for(browser: &Browser, css: &str) {
    let found = browser
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await;
    if let Err(error) = found {
        let text = browser.run("return document.body.innerText;").await;
        panic!("{css} never appeared ({error}):\n{text}");
    }
}

async fn click(browser: &Browser, css: &str) {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css} not clickable: {e}"));
}

/// Enters the widget's frame once the script has put it on the page.
async fn enter_widget(browser: &Browser) {
    wait_for(browser, "iframe.berth-widget").await;
    browser
        .client
        .find(Locator::Css("iframe.berth-widget"))
        .await
        .expect("the frame")
        .enter_frame()
        .await
        .expect("into the frame");
}

/// The frame's height as the embedding page laid it out, read from outside the frame.
async fn frame_height(browser: &Browser) -> f64 {
    browser
        .run("return document.querySelector('iframe.berth-widget').getBoundingClientRect().height;")
        .await
        .as_f64()
        .expect("a height")
}

async fn a_traveler_books_inside_the_widget_on_an_allowed_site_and_nowhere_else(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (owner, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &owner, &tour, day, 10, 10).await;
    let allowed = site_serving(page_with_widget(&app, &format!("data-tour=\"{tour}\""))).await;
    let elsewhere = site_serving(page_with_widget(&app, &format!("data-tour=\"{tour}\""))).await;
    set_origins(&app, &owner, &[&allowed]).await.expect(200);

    // On the listed site: the tour page in a frame, grown to fit it.
    browser.goto(&format!("{allowed}/")).await;
    enter_widget(&browser).await;
    wait_for(&browser, "article.tour").await;
    let inner = browser
        .run("return document.documentElement.scrollHeight;")
        .await
        .as_f64()
        .expect("the page's height");
    browser.client.enter_parent_frame().await.expect("back out");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (frame_height(&browser).await - inner).abs() > 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the frame never took the page's height {inner}: {}",
            frame_height(&browser).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_ne!(
        frame_height(&browser).await,
        640.0,
        "the script's first guess"
    );

    // Book inside the frame: a day, its departure, quantities, details, pay on arrival.
    enter_widget(&browser).await;
    click(&browser, &format!("a[href*='day={day}']")).await;
    wait_for(&browser, ".departures .book-link").await;
    browser.click_and_wait(".departures .book-link").await;
    wait_for(&browser, "#qty-adult").await;
    browser.fill("#qty-adult", "2").await;
    click(&browser, "button[value=quote]").await;
    wait_for(&browser, ".quote-total").await;
    browser.fill("#field-name", "Ada Lovelace").await;
    browser.fill("#field-email", "ada@example.com").await;
    browser.click_and_wait("button[value=hold]").await;
    wait_for(&browser, "button[name=confirm]").await;
    browser.click_and_wait("button[name=confirm]").await;
    wait_for(&browser, ".reference").await;
    let reference = browser.text(".reference").await;
    let status = app
        .query_strings(&format!(
            "SELECT status FROM bookings WHERE reference = '{reference}'"
        ))
        .await;
    assert_eq!(status, vec!["confirmed".to_owned()]);
    assert_eq!(app.available(&departure).await, 8);
    browser.assert_accessible("widget confirmation").await;
    browser.client.enter_parent_frame().await.expect("back out");
    browser
        .screenshots(&format!("widget-{}", backend_name(backend)))
        .await;

    // A site the operator did not list: the browser shows no berth page in the frame.
    browser.goto(&format!("{elsewhere}/")).await;
    // Wait until the frame has finished with the answer: Chromium then holds its own error
    // document there instead of berth's page.
    enter_widget(&browser).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let shown = loop {
        let state = browser
            .run(
                "return document.readyState === 'complete' && location.href !== 'about:blank' \
                 ? location.href : '';",
            )
            .await;
        let url = state.as_str().unwrap_or_default().to_owned();
        if !url.is_empty() {
            break url;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refused frame never finished loading"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        shown.starts_with("chrome-error:"),
        "a refused frame showed {shown}"
    );
    let tour = browser
        .run("return document.querySelector('article.tour') === null ? '' : 'tour';")
        .await;
    assert_eq!(tour.as_str(), Some(""), "a refused frame showed the tour");
    browser.close().await;
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::MySql => "mysql",
    }
}

async fn framing_follows_the_operators_list_and_only_its_booking_pages(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (owner, tour) = tour(&app, json!({})).await;
    let day = local_today(&app) + Duration::days(3);
    let departure = departure_on(&app, &owner, &tour, day, 10, 10).await;
    let ancestors = |reply: &crate::support::Reply| {
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("frame-ancestors "))
            .expect("a frame-ancestors directive")
            .to_owned()
    };

    // Nothing listed: no page may be framed.
    let page = app.get(&format!("/tours/{tour}")).await;
    page.expect(200);
    assert_eq!(ancestors(&page), "'none'");
    assert_eq!(page.headers["x-frame-options"], "DENY");

    // Bad entries are refused with the entry named; nothing changes.
    let refused = set_origins(
        &app,
        &owner,
        &["https://ok.example", "http://plain.example"],
    )
    .await;
    refused.expect(422);
    assert!(
        refused.body["error"]["fields"]["origins"]
            .as_str()
            .unwrap()
            .contains("plain.example"),
        "{}",
        refused.text
    );
    let injected = set_origins(&app, &owner, &["https://a.example; script-src *"]).await;
    injected.expect(422);
    assert_eq!(
        ancestors(&app.get(&format!("/tours/{tour}")).await),
        "'none'"
    );

    // Listed (written as the owner typed them, stored canonical).
    let set = set_origins(
        &app,
        &owner,
        &["https://Harbour-Tours.example/", "http://localhost:8080"],
    )
    .await;
    set.expect(200);
    let listed = "http://localhost:8080 https://harbour-tours.example";
    assert_eq!(
        set.body["origins"],
        json!(listed.split(' ').collect::<Vec<_>>())
    );
    let profile = app.get_as(&owner, "/v1/operator").await;
    assert_eq!(profile.body["embed_origins"], set.body["origins"]);

    // The booking pages of this operator's tours: framed by those origins only.
    for path in [
        format!("/tours/{tour}"),
        format!("/book/{departure}"),
        format!("/tours?operator={}", profile.str("id")),
    ] {
        let page = app.get(&path).await;
        page.expect(200);
        assert_eq!(ancestors(&page), listed, "{path}");
        assert!(page.headers.get("x-frame-options").is_none(), "{path}");
    }
    // The console, errors and the API: never.
    for path in ["/console/sign-in", "/tours/01ARZ3NDEKTSV4RRFFQ69G5FAV"] {
        let page = app.get(path).await;
        assert_eq!(ancestors(&page), "'none'", "{path}");
        assert_eq!(page.headers["x-frame-options"], "DENY", "{path}");
    }
    assert_eq!(
        ancestors(&app.get(&format!("/v1/tours/{tour}")).await),
        "'none'"
    );

    // Another operator's tour: its own (empty) list.
    let (_, other_tour) = tour_of_other(&app).await;
    assert_eq!(
        ancestors(&app.get(&format!("/tours/{other_tour}")).await),
        "'none'"
    );

    // Inside a frame the pages' cookies must reach berth across sites, and only there.
    let framed = app
        .client
        .get(format!("{}/book/{departure}", app.base))
        .header("Sec-Fetch-Dest", "iframe")
        .send()
        .await
        .unwrap();
    let cookie = framed.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["SameSite=None", "Secure", "Partitioned", "HttpOnly"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let direct = app.get(&format!("/book/{departure}")).await;
    let cookie = direct.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("SameSite=Strict") && !cookie.contains("Partitioned"),
        "{cookie}"
    );

    // The loader: JavaScript, briefly cached; an empty list stops all framing again.
    let script = app.get("/embed.js").await;
    script.expect(200);
    assert!(script.headers["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(script.headers["cache-control"], "public, max-age=300");
    assert!(script.text.contains("berth:height"));
    set_origins(&app, &owner, &[]).await.expect(200);
    assert_eq!(
        ancestors(&app.get(&format!("/tours/{tour}")).await),
        "'none'"
    );

    // The catalogue page lists the operator's tours; an unknown operator has none.
    let catalogue = app
        .get(&format!("/tours?operator={}", profile.str("id")))
        .await;
    catalogue.expect(200);
    assert!(
        catalogue.text.contains(&tour) && catalogue.text.contains("Harbour cruise"),
        "{}",
        catalogue.text
    );
    app.get("/tours?operator=01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .await
        .expect(404);
    app.get("/tours").await.expect(404);
}

/// A tour of a second operator.
async fn tour_of_other(app: &TestApp) -> (String, String) {
    let token = app.operator("Other Tours").await;
    let tour = app.tour(&token, json!({})).await;
    (token, tour)
}
