//! A webhook receiver on a real local port: it records every request (headers, body, when) and
//! answers with the scripted statuses. `0`: take the request and never answer; `302`: redirect
//! to itself. With the script empty it answers 200.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::fake_twilio::{read_request, FakeRequest};

/// A request as received: the fakes' own reading of HTTP.
pub type Received = FakeRequest;

impl FakeRequest {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
pub struct WebhookReceiver {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

impl WebhookReceiver {
    pub async fn start(script: Vec<u16>) -> WebhookReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let receiver = WebhookReceiver {
            base,
            received: Arc::default(),
            script: Arc::new(Mutex::new(script)),
        };
        let server = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.serve(stream).await;
                });
            }
        });
        receiver
    }

    /// The URL of a path on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn script(&self, statuses: Vec<u16>) {
        *self.script.lock().unwrap() = statuses;
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        let request = read_request(&mut reader).await?;
        let path = request.path.clone();
        self.received.lock().unwrap().push(request);
        let status = {
            let mut script = self.script.lock().unwrap();
            if script.is_empty() {
                200
            } else {
                script.remove(0)
            }
        };
        if status == 0 {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            return Ok(());
        }
        let body = match status {
            200..=299 => "ok".to_owned(),
            // Receivers echo what they were sent: the log keeps no email address of it.
            _ => "failed for ada@example.com \u{7} try later".to_owned(),
        };
        let location = if status == 302 {
            format!("Location: {path}\r\n")
        } else {
            String::new()
        };
        let response = format!(
            "HTTP/1.1 {status} Scripted\r\n{location}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        reader.get_mut().write_all(response.as_bytes()).await
    }
}

/// A Standard Webhooks verifier written from the specification, independent of berth's code:
/// HMAC-SHA256 (RFC 2104) built here over `sha2::Sha256`, the signed content
/// `{webhook-id}.{webhook-timestamp}.{body}`, any one of the space-separated `v1,` signatures,
/// and a timestamp within five minutes of `now`.
pub fn verify(secret: &str, received: &Received, now: i64) -> Result<(), String> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").ok_or("no whsec_ prefix")?)
        .map_err(|_| "secret is not base64")?;
    let id = received.header("webhook-id");
    let timestamp = received.header("webhook-timestamp");
    let seconds: i64 = timestamp.parse().map_err(|_| "bad timestamp")?;
    if (now - seconds).abs() > 300 {
        return Err(format!("timestamp {seconds} is too far from {now}"));
    }
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(&received.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, &content))
    );
    let header = received.header("webhook-signature");
    if header.split(' ').any(|candidate| candidate == expected) {
        Ok(())
    } else {
        Err(format!("no signature matches: {header}"))
    }
}

/// RFC 2104 HMAC with SHA-256 (64-byte blocks).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner);
    outer.finalize().into()
}

#[test]
fn the_verifier_accepts_the_specifications_test_vector() {
    let received = Received {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![
            ("webhook-id".into(), "msg_p5jXN8AQM9LWM0D4loKWxJek".into()),
            ("webhook-timestamp".into(), "1614265330".into()),
            (
                "webhook-signature".into(),
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into(),
            ),
        ],
        body: br#"{"test": 2432232314}"#.to_vec(),
    };
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert_eq!(verify(secret, &received, 1_614_265_330), Ok(()));
    assert!(
        verify(secret, &received, 1_614_265_330 + 301).is_err(),
        "stale"
    );
    let mut tampered = received.clone();
    tampered.body = br#"{"test": 2432232315}"#.to_vec();
    assert!(verify(secret, &tampered, 1_614_265_330).is_err());
}
