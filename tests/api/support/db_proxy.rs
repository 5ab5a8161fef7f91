//! A TCP proxy between berth and MySQL that a test can cut at a chosen point of a transaction.
//!
//! It reads the MySQL client/server protocol only as far as packet framing (3-byte length,
//! sequence number, payload) and the text of `COM_QUERY` packets, which is how sqlx sends
//! `BEGIN` and `COMMIT`. Connections must not use TLS (`ssl-mode=disabled` in the URL it gives).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where the proxy cuts the next transaction it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The first statement after `BEGIN` never reaches the server: a connection lost
    /// mid-transaction.
    AfterBegin,
    /// `COMMIT` never reaches the server: the transaction rolls back.
    BeforeCommit,
    /// `COMMIT` reaches the server and succeeds, but its answer is lost: the client cannot know.
    AfterCommit,
}

#[derive(Default)]
struct State {
    armed: Option<Fault>,
    /// Transactions to let through before the armed one.
    skip: usize,
    /// Bumped by `cut_all`: every connection opened before it closes.
    generation: usize,
}

pub struct DbProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    fired: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const COM_QUERY: u8 = 0x03;

impl DbProxy {
    /// Proxies to the MySQL server of `base_url` (`mysql://user@host:port`).
    pub async fn start(base_url: &str) -> DbProxy {
        let authority = base_url
            .trim_start_matches("mysql://")
            .rsplit('@')
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let fired = Arc::new(AtomicUsize::new(0));
        let task = {
            let (state, fired) = (state.clone(), fired.clone());
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&authority).await else {
                        continue;
                    };
                    tokio::spawn(relay(client, server, state.clone(), fired.clone()));
                }
            })
        };
        DbProxy {
            port,
            state,
            fired,
            task,
        }
    }

    /// `database_url` (a URL on the real server) pointed at this proxy instead.
    pub fn url_for(&self, database_url: &str) -> String {
        let (before, after) = database_url.split_once('@').unwrap();
        let path = after.split_once('/').map_or("", |(_, path)| path);
        let separator = if path.contains('?') { '&' } else { '?' };
        format!(
            "{before}@127.0.0.1:{}/{path}{separator}ssl-mode=disabled",
            self.port
        )
    }

    /// The next transaction on any connection meets `fault`; one transaction only.
    pub fn arm(&self, fault: Fault) {
        self.arm_after(fault, 0);
    }

    /// Lets `skip` transactions through (counted at the statement the fault watches), then
    /// `fault` meets the next one.
    pub fn arm_after(&self, fault: Fault, skip: usize) {
        let mut state = self.state.lock().unwrap();
        state.armed = Some(fault);
        state.skip = skip;
    }

    /// How many armed faults have happened.
    pub fn fired(&self) -> usize {
        self.fired.load(Ordering::SeqCst)
    }

    /// Closes every connection open now (new ones go through).
    pub fn cut_all(&self) {
        self.state.lock().unwrap().generation += 1;
    }
}

/// Complete packets at the front of `buffer`, as (whole packet length, payload range).
fn next_packet(buffer: &[u8]) -> Option<(usize, std::ops::Range<usize>)> {
    if buffer.len() < 4 {
        return None;
    }
    let length =
        usize::from(buffer[0]) | usize::from(buffer[1]) << 8 | usize::from(buffer[2]) << 16;
    (buffer.len() >= 4 + length).then_some((4 + length, 4..4 + length))
}

fn is_query(payload: &[u8], sql: &str) -> bool {
    payload.first() == Some(&COM_QUERY)
        && std::str::from_utf8(&payload[1..])
            .is_ok_and(|text| text.trim().eq_ignore_ascii_case(sql))
}

async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    state: Arc<Mutex<State>>,
    fired: Arc<AtomicUsize>,
) {
    let generation = state.lock().unwrap().generation;
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    let (mut client_chunk, mut server_chunk) = ([0u8; 16384], [0u8; 16384]);
    // Set once this connection took the armed fault: what it does at the next packet.
    let mut cut_next_client_packet = false;
    let mut swallow_next_server_packet = false;
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(10));
    loop {
        tokio::select! {
            read = client.read(&mut client_chunk) => {
                let Ok(n @ 1..) = read else { return };
                from_client.extend_from_slice(&client_chunk[..n]);
                while let Some((length, payload)) = next_packet(&from_client) {
                    if cut_next_client_packet {
                        fired.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    let packet = &from_client[..length];
                    let payload = &packet[payload];
                    let fault = {
                        let mut state = state.lock().unwrap();
                        let hit = match state.armed {
                            Some(fault @ Fault::AfterBegin) => is_query(payload, "BEGIN").then_some(fault),
                            Some(fault) => is_query(payload, "COMMIT").then_some(fault),
                            None => None,
                        };
                        match hit {
                            Some(_) if state.skip > 0 => {
                                state.skip -= 1;
                                None
                            }
                            Some(fault) => {
                                state.armed = None;
                                Some(fault)
                            }
                            None => None,
                        }
                    };
                    match fault {
                        Some(Fault::AfterBegin) => cut_next_client_packet = true,
                        Some(Fault::BeforeCommit) => {
                            fired.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        Some(Fault::AfterCommit) => swallow_next_server_packet = true,
                        None => {}
                    }
                    if server.write_all(packet).await.is_err() {
                        return;
                    }
                    from_client.drain(..length);
                }
            }
            read = server.read(&mut server_chunk) => {
                let Ok(n @ 1..) = read else { return };
                from_server.extend_from_slice(&server_chunk[..n]);
                while let Some((length, _)) = next_packet(&from_server) {
                    if swallow_next_server_packet {
                        fired.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    if client.write_all(&from_server[..length]).await.is_err() {
                        return;
                    }
                    from_server.drain(..length);
                }
            }
            _ = ticker.tick() => {
                if state.lock().unwrap().generation != generation {
                    return;
                }
            }
        }
    }
}
