//! Where HTTP/1.1 messages begin and end in a byte stream, so the connection guard can time a
//! request's head and body and tell when a connection sits idle. It only watches: the bytes go
//! on unchanged, and Rocket (hyper) still parses and judges every request.
//!
//! When the stream cannot be followed (a malformed head, an unknown transfer coding, a protocol
//! switch) the framing turns [`Phase::Unframed`]; the guard then gives the connection a short
//! final deadline instead of trusting a count it lost.

use std::collections::VecDeque;

/// The longest request or response head followed; longer ones are unframed (Rocket refuses
/// them anyway).
const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size line (size plus extensions).
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Headers parsed per head; hyper's own limit is 100.
const MAX_HEADERS: usize = 128;

/// Where the client is in its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between requests: nothing of the next one has arrived.
    Idle,
    /// Some of a request head has arrived, not all of it.
    Head,
    /// The head is complete; the body is still arriving.
    Body,
    /// The stream could not be followed.
    Unframed,
}

/// What one chunk of client bytes completed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// A new request head began (its first byte arrived).
    pub head_started: bool,
    /// Request heads completed, each `true` for `HEAD` (whose response has no body).
    pub heads: Vec<bool>,
    /// Requests completed (head and body).
    pub requests: usize,
}

/// Follows the requests a client sends.
#[derive(Debug)]
pub struct Requests {
    phase: State,
    head: HeadBuffer,
}

#[derive(Debug)]
enum State {
    Idle,
    Head,
    Body(Body),
    Unframed,
}

impl Default for Requests {
    fn default() -> Self {
        Self::new()
    }
}

impl Requests {
    /// A new connection: its first request head is due, so the head timer runs from the start.
    pub fn new() -> Requests {
        Requests {
            phase: State::Head,
            head: HeadBuffer::default(),
        }
    }

    pub fn phase(&self) -> Phase {
        match self.phase {
            State::Idle => Phase::Idle,
            State::Head => Phase::Head,
            State::Body(_) => Phase::Body,
            State::Unframed => Phase::Unframed,
        }
    }

    /// Follows `bytes`, the next bytes the client sent.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Seen {
        let mut seen = Seen::default();
        while !bytes.is_empty() {
            match &mut self.phase {
                State::Unframed => break,
                // Blank lines between requests are ignored, as RFC 9112 §2.2 allows (some
                // clients send CRLF after a body).
                State::Idle if matches!(bytes[0], b'\r' | b'\n') => bytes = &bytes[1..],
                State::Idle => {
                    self.phase = State::Head;
                    seen.head_started = true;
                }
                State::Head => {
                    let (used, head) = self.head.feed(bytes);
                    bytes = &bytes[used..];
                    match head {
                        HeadEnd::Partial => {}
                        HeadEnd::Invalid => self.phase = State::Unframed,
                        HeadEnd::Complete(end) => {
                            let parsed = parse_request(self.head.take(end));
                            match parsed {
                                Some((is_head, body)) => {
                                    seen.heads.push(is_head);
                                    self.phase = match body {
                                        Some(body) => State::Body(body),
                                        None => {
                                            seen.requests += 1;
                                            State::Idle
                                        }
                                    };
                                }
                                None => self.phase = State::Unframed,
                            }
                        }
                    }
                }
                State::Body(body) => match body.consume(bytes) {
                    Consumed::More => bytes = &[],
                    Consumed::Done(used) => {
                        bytes = &bytes[used..];
                        seen.requests += 1;
                        self.phase = State::Idle;
                    }
                    Consumed::Invalid => self.phase = State::Unframed,
                },
            }
        }
        seen
    }
}

/// Follows the responses Rocket sends back, to know when none is outstanding.
#[derive(Debug, Default)]
pub struct Responses {
    /// One entry per request head sent upstream and not yet answered: whether it was `HEAD`.
    awaited: VecDeque<bool>,
    state: ResponseState,
    head: HeadBuffer,
}

#[derive(Debug, Default)]
enum ResponseState {
    #[default]
    Head,
    Body(Body),
    /// No length: the response ends when Rocket closes the connection.
    UntilClose,
    Unframed,
}

impl Responses {
    /// A request head went upstream; its response is now awaited.
    pub fn expect(&mut self, is_head: bool) {
        self.awaited.push_back(is_head);
    }

    /// Responses still owed to the client (the one being sent included).
    pub fn outstanding(&self) -> usize {
        self.awaited.len()
    }

    pub fn is_unframed(&self) -> bool {
        matches!(self.state, ResponseState::Unframed)
    }

    /// Follows `bytes` from Rocket; returns how many responses they completed.
    pub fn feed(&mut self, mut bytes: &[u8]) -> usize {
        let mut completed = 0;
        while !bytes.is_empty() {
            match &mut self.state {
                ResponseState::UntilClose | ResponseState::Unframed => break,
                ResponseState::Head => {
                    let (used, head) = self.head.feed(bytes);
                    bytes = &bytes[used..];
                    match head {
                        HeadEnd::Partial => {}
                        HeadEnd::Invalid => self.state = ResponseState::Unframed,
                        HeadEnd::Complete(end) => {
                            let head_request = self.awaited.front().copied().unwrap_or(false);
                            match parse_response(self.head.take(end), head_request) {
                                ResponseBody::Informational => {}
                                ResponseBody::Switch | ResponseBody::Invalid => {
                                    self.state = ResponseState::Unframed;
                                }
                                ResponseBody::UntilClose => self.state = ResponseState::UntilClose,
                                ResponseBody::None => {
                                    self.awaited.pop_front();
                                    completed += 1;
                                }
                                ResponseBody::Framed(body) => {
                                    self.state = ResponseState::Body(body)
                                }
                            }
                        }
                    }
                }
                ResponseState::Body(body) => match body.consume(bytes) {
                    Consumed::More => bytes = &[],
                    Consumed::Done(used) => {
                        bytes = &bytes[used..];
                        self.awaited.pop_front();
                        completed += 1;
                        self.state = ResponseState::Head;
                    }
                    Consumed::Invalid => self.state = ResponseState::Unframed,
                },
            }
        }
        completed
    }
}

/// A head being gathered; finds its end without rescanning what it already looked at.
#[derive(Debug, Default)]
struct HeadBuffer {
    bytes: Vec<u8>,
    /// Everything before this index was searched for the end of the head.
    searched: usize,
}

enum HeadEnd {
    Partial,
    /// The head ends at this index of the buffer.
    Complete(usize),
    Invalid,
}

impl HeadBuffer {
    /// Takes what of `bytes` may belong to the head; returns how many it took and whether the
    /// head is complete. Bytes after the head's end are given back (not counted as used).
    fn feed(&mut self, bytes: &[u8]) -> (usize, HeadEnd) {
        let room = MAX_HEAD + 1 - self.bytes.len().min(MAX_HEAD + 1);
        let taken = bytes.len().min(room);
        let before = self.bytes.len();
        self.bytes.extend_from_slice(&bytes[..taken]);
        // A blank line ends the head: CRLF CRLF, or bare LF LF, which hyper also accepts.
        let from = self.searched.saturating_sub(3);
        let end = self.bytes[from..]
            .windows(2)
            .position(|pair| pair == b"\n\n")
            .map(|at| from + at + 2)
            .into_iter()
            .chain(
                self.bytes[from..]
                    .windows(4)
                    .position(|quad| quad == b"\r\n\r\n")
                    .map(|at| from + at + 4),
            )
            .min();
        self.searched = self.bytes.len();
        match end {
            Some(end) => {
                let used = end.saturating_sub(before).min(taken);
                (used, HeadEnd::Complete(end))
            }
            None if self.bytes.len() > MAX_HEAD => (taken, HeadEnd::Invalid),
            None => (taken, HeadEnd::Partial),
        }
    }

    /// The head (its first `end` bytes); the buffer is emptied for the next one.
    fn take(&mut self, end: usize) -> Vec<u8> {
        let mut head = std::mem::take(&mut self.bytes);
        head.truncate(end);
        self.searched = 0;
        head
    }
}

/// How a message body is delimited.
#[derive(Debug)]
enum Body {
    Length(u64),
    Chunked(Chunk),
}

#[derive(Debug)]
enum Chunk {
    /// Reading a chunk-size line.
    Size {
        size: u64,
        digits: u8,
        extension: bool,
        line: usize,
    },
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk; `blank` while the current line is still empty.
    Trailer {
        blank: bool,
        line: usize,
    },
}

const CHUNK_SIZE_LINE: Chunk = Chunk::Size {
    size: 0,
    digits: 0,
    extension: false,
    line: 0,
};

enum Consumed {
    /// All bytes were body; more is due.
    More,
    /// The body ended after this many bytes.
    Done(usize),
    Invalid,
}

impl Body {
    fn consume(&mut self, bytes: &[u8]) -> Consumed {
        match self {
            Body::Length(left) => {
                if (bytes.len() as u64) < *left {
                    *left -= bytes.len() as u64;
                    Consumed::More
                } else {
                    Consumed::Done(*left as usize)
                }
            }
            Body::Chunked(chunk) => consume_chunked(chunk, bytes),
        }
    }
}

fn consume_chunked(chunk: &mut Chunk, bytes: &[u8]) -> Consumed {
    let mut at = 0;
    while at < bytes.len() {
        match chunk {
            Chunk::Data(left) => {
                let take = (bytes.len() - at).min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= take as u64;
                at += take;
                if *left == 0 {
                    *chunk = Chunk::DataEnd;
                }
                continue;
            }
            Chunk::DataEnd => match bytes[at] {
                b'\r' => {}
                b'\n' => *chunk = CHUNK_SIZE_LINE,
                _ => return Consumed::Invalid,
            },
            Chunk::Size {
                size,
                digits,
                extension,
                line,
            } => {
                *line += 1;
                if *line > MAX_CHUNK_LINE {
                    return Consumed::Invalid;
                }
                let byte = bytes[at];
                match (byte, *extension) {
                    (b'\n', _) if *digits == 0 => return Consumed::Invalid,
                    (b'\n', _) if *size == 0 => {
                        *chunk = Chunk::Trailer {
                            blank: true,
                            line: 0,
                        }
                    }
                    (b'\n', _) => *chunk = Chunk::Data(*size),
                    (b'\r', _) | (_, true) => {}
                    (b';' | b' ' | b'\t', false) => *extension = true,
                    (_, false) => {
                        let Some(value) = (byte as char).to_digit(16) else {
                            return Consumed::Invalid;
                        };
                        *digits += 1;
                        if *digits > 16 {
                            return Consumed::Invalid;
                        }
                        *size = *size << 4 | u64::from(value);
                    }
                }
            }
            Chunk::Trailer { blank, line } => {
                *line += 1;
                if *line > MAX_HEAD {
                    return Consumed::Invalid;
                }
                match bytes[at] {
                    b'\n' if *blank => return Consumed::Done(at + 1),
                    b'\n' => *blank = true,
                    b'\r' => {}
                    _ => *blank = false,
                }
            }
        }
        at += 1;
    }
    Consumed::More
}

/// `(is HEAD, body)` of a request head; `None` when it cannot be followed.
fn parse_request(head: Vec<u8>) -> Option<(bool, Option<Body>)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let is_head = request.method == Some("HEAD");
    if request.method == Some("CONNECT") {
        return None;
    }
    let body = match body_of(request.headers)? {
        Delimited::Chunked => Some(Body::Chunked(CHUNK_SIZE_LINE)),
        Delimited::Length(0) | Delimited::Unspecified => None,
        Delimited::Length(n) => Some(Body::Length(n)),
    };
    Some((is_head, body))
}

enum ResponseBody {
    /// 1xx other than 101: the real response follows.
    Informational,
    /// 101: the connection stops being HTTP.
    Switch,
    None,
    Framed(Body),
    UntilClose,
    Invalid,
}

fn parse_response(head: Vec<u8>, head_request: bool) -> ResponseBody {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return ResponseBody::Invalid,
    }
    match response.code {
        Some(101) => return ResponseBody::Switch,
        Some(100..=199) => return ResponseBody::Informational,
        Some(204 | 304) => return ResponseBody::None,
        Some(_) if head_request => return ResponseBody::None,
        Some(_) => {}
        None => return ResponseBody::Invalid,
    }
    match body_of(response.headers) {
        Some(Delimited::Chunked) => ResponseBody::Framed(Body::Chunked(CHUNK_SIZE_LINE)),
        Some(Delimited::Length(0)) => ResponseBody::None,
        Some(Delimited::Length(n)) => ResponseBody::Framed(Body::Length(n)),
        Some(Delimited::Unspecified) => ResponseBody::UntilClose,
        None => ResponseBody::Invalid,
    }
}

enum Delimited {
    Chunked,
    Length(u64),
    Unspecified,
}

/// How the headers delimit the body (RFC 9112 §6.3); `None` when they contradict themselves.
fn body_of(headers: &[httparse::Header<'_>]) -> Option<Delimited> {
    let mut length: Option<u64> = None;
    let mut coding: Option<String> = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let value = std::str::from_utf8(header.value).ok()?;
            // The last coding listed is the one that delimits the body.
            if let Some(last) = value.rsplit(',').next() {
                coding = Some(last.trim().to_ascii_lowercase());
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            for value in std::str::from_utf8(header.value).ok()?.split(',') {
                let value: u64 = value.trim().parse().ok()?;
                if length.is_some_and(|known| known != value) {
                    return None;
                }
                length = Some(value);
            }
        }
    }
    match (coding.as_deref(), length) {
        (Some("chunked"), _) => Some(Delimited::Chunked),
        (Some(_), _) => None,
        (None, Some(n)) => Some(Delimited::Length(n)),
        (None, None) => Some(Delimited::Unspecified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_bytewise(requests: &mut Requests, bytes: &[u8]) -> Seen {
        let mut total = Seen::default();
        for byte in bytes {
            let seen = requests.feed(std::slice::from_ref(byte));
            total.head_started |= seen.head_started;
            total.heads.extend(seen.heads);
            total.requests += seen.requests;
        }
        total
    }

    #[test]
    fn a_get_completes_at_its_blank_line_and_leaves_the_connection_idle() {
        let mut requests = Requests::new();
        assert_eq!(requests.phase(), Phase::Head);
        let seen = requests.feed(b"GET /health HTTP/1.1\r\nHost: x\r\n");
        assert_eq!(seen.requests, 0);
        assert_eq!(requests.phase(), Phase::Head);
        let seen = requests.feed(b"\r\n");
        assert_eq!(seen.heads, vec![false]);
        assert_eq!(seen.requests, 1);
        assert_eq!(requests.phase(), Phase::Idle);
    }

    #[test]
    fn a_post_is_in_its_body_until_content_length_bytes_arrived() {
        let mut requests = Requests::new();
        let seen = requests.feed(b"POST /v1/bookings HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
        assert_eq!((seen.heads.len(), seen.requests), (1, 0));
        assert_eq!(requests.phase(), Phase::Body);
        assert_eq!(requests.feed(b"cd").requests, 0);
        let seen = requests.feed(b"e\r\nGET / HTTP/1.1\r\n");
        assert_eq!(seen.requests, 1);
        assert!(seen.head_started, "the pipelined request began");
        assert_eq!(requests.phase(), Phase::Head);
    }

    #[test]
    fn byte_by_byte_and_all_at_once_agree() {
        let stream: &[u8] = b"POST /a HTTP/1.1\r\ncontent-length: 3\r\n\r\nxyz\
            POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n\
            HEAD /c HTTP/1.1\n\n";
        let mut whole = Requests::new();
        let at_once = whole.feed(stream);
        let mut split = Requests::new();
        let bytewise = feed_bytewise(&mut split, stream);
        assert_eq!(at_once.heads, vec![false, false, true]);
        assert_eq!(at_once.requests, 3);
        assert_eq!(bytewise.heads, at_once.heads);
        assert_eq!(bytewise.requests, 3);
        assert_eq!(whole.phase(), Phase::Idle);
        assert_eq!(split.phase(), Phase::Idle);
    }

    #[test]
    fn a_chunked_body_is_done_only_after_its_last_chunk_and_trailers() {
        let mut requests = Requests::new();
        requests.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(requests.phase(), Phase::Body);
        assert_eq!(requests.feed(b"4\r\nabcd\r\n").requests, 0);
        assert_eq!(requests.feed(b"0\r\n").requests, 0);
        assert_eq!(requests.phase(), Phase::Body);
        assert_eq!(requests.feed(b"\r\n").requests, 1);
        assert_eq!(requests.phase(), Phase::Idle);
    }

    #[test]
    fn heads_and_bodies_that_cannot_be_followed_are_unframed() {
        for stream in [
            &b"NOT HTTP AT ALL\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
        ] {
            let mut requests = Requests::new();
            requests.feed(stream);
            assert_eq!(
                requests.phase(),
                Phase::Unframed,
                "{}",
                String::from_utf8_lossy(stream)
            );
        }
        let mut requests = Requests::new();
        requests.feed(b"GET / HTTP/1.1\r\n");
        requests.feed(&vec![b'a'; MAX_HEAD]);
        assert_eq!(requests.phase(), Phase::Unframed, "an endless head");
    }

    #[test]
    fn responses_are_counted_through_continues_lengths_chunks_and_head() {
        let mut responses = Responses::default();
        responses.expect(false);
        responses.expect(true);
        responses.expect(false);
        assert_eq!(responses.feed(b"HTTP/1.1 100 Continue\r\n\r\n"), 0);
        assert_eq!(
            responses.feed(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}"),
            1
        );
        // The answer to HEAD carries a length but no body.
        assert_eq!(
            responses.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n"),
            1
        );
        assert_eq!(
            responses.feed(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n"),
            0
        );
        assert_eq!(responses.outstanding(), 1);
        assert_eq!(responses.feed(b"0\r\n\r\n"), 1);
        assert_eq!(responses.outstanding(), 0);
    }

    #[test]
    fn a_response_without_a_length_lasts_until_the_connection_closes() {
        let mut responses = Responses::default();
        responses.expect(false);
        assert_eq!(responses.feed(b"HTTP/1.0 200 OK\r\n\r\nabc"), 0);
        assert_eq!(responses.outstanding(), 1);
        responses.expect(false);
        assert_eq!(responses.feed(b"HTTP/1.1 204 No Content\r\n\r\n"), 0);
        assert!(!responses.is_unframed());
    }
}
