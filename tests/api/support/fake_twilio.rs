//! A fake Twilio Messages API on a real local port: it records every request and answers with
//! the scripted statuses, in Twilio's JSON shapes.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: String,
    pub form: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct FakeTwilio {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// Statuses to answer, in order; when empty, 201. 0 means: take the request and never answer.
    script: Arc<Mutex<Vec<u16>>>,
    /// Whether requests are answered (true) or held, recorded but unanswered, until it opens.
    gate: Arc<tokio::sync::watch::Sender<bool>>,
}

impl FakeTwilio {
    pub async fn start(script: Vec<u16>) -> FakeTwilio {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeTwilio {
            base,
            requests: Arc::default(),
            script: Arc::new(Mutex::new(script)),
            gate: Arc::new(tokio::sync::watch::Sender::new(true)),
        };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.serve(stream).await;
                });
            }
        });
        fake
    }

    pub fn script(&self, statuses: Vec<u16>) {
        *self.script.lock().unwrap() = statuses;
    }

    /// From now on, requests are recorded but held unanswered until [`Self::open_gate`].
    pub fn close_gate(&self) {
        self.gate.send_replace(false);
    }

    /// Answers the held requests and those to come.
    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        let request = read_request(&mut reader).await?;
        self.requests.lock().unwrap().push(Recorded {
            authorization: request.header("authorization"),
            form: form_urlencoded(&String::from_utf8_lossy(&request.body)),
            method: request.method,
            path: request.path,
        });
        let _ = self.gate.subscribe().wait_for(|open| *open).await;
        let status = {
            let mut script = self.script.lock().unwrap();
            if script.is_empty() {
                201
            } else {
                script.remove(0)
            }
        };
        if status == 0 {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            return Ok(());
        }
        let (reason, json) = match status {
            201 => ("Created", r#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}"#.to_owned()),
            400 => ("Bad Request", r#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#.to_owned()),
            429 => ("Too Many Requests", r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#.to_owned()),
            other => ("Internal Server Error", format!(r#"{{"code": 20500, "message": "Internal Server Error", "status": {other}}}"#)),
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        );
        reader.get_mut().write_all(response.as_bytes()).await
    }
}

/// One HTTP/1.1 request as the fakes read it.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl FakeRequest {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Reads a request line, headers and a `Content-Length` body.
pub async fn read_request(
    reader: &mut BufReader<tokio::net::TcpStream>,
) -> std::io::Result<FakeRequest> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(FakeRequest {
        method,
        path,
        headers,
        body,
    })
}

pub fn form_urlencoded(body: &str) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(byte) =
                    u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16)
                {
                    out.push(byte);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}
