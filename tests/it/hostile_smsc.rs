//! A carrier SMSC that misbehaves on purpose, scripted over a raw loopback socket with
//! the daemon as its ESME. After a normal bind it sends frames a broken or hostile
//! carrier could send: impossible lengths, a length that disagrees with the body,
//! truncated TLVs, a receipt full of noise, an unknown command, thousands of
//! enquire_link at once, and a disconnect in the middle of a frame. The daemon must stay
//! up, answer what SMPP 3.4 defines an answer for, reconnect when the connection is lost,
//! and not leak memory or descriptors over the rounds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use bytes::{BufMut, BytesMut};
use rusmpp::{CommandId, CommandStatus};
use smsbridge::smpp::frame::{self, Decoded, Frame};

use crate::harness::{Daemon, HANG, http_get};
use crate::receipts_flow::third_party::config_with;

/// The carrier's frame cap in the daemon's config; the "too long" frame exceeds it.
const MAX_PDU: u32 = 4096;

const ROUNDS: usize = 4;

/// enquire_link sent at once in each round, written in batches so neither side's socket
/// buffer has to hold them all.
const FLOOD: u32 = 5_000;
const FLOOD_BATCH: u32 = 500;

/// The SMSC's listening side: connections the daemon opens arrive on a channel, so a
/// daemon that never reconnects fails the test instead of blocking it.
struct Smsc {
    port: u16,
    connections: mpsc::Receiver<TcpStream>,
}

impl Smsc {
    fn start() -> Smsc {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, connections) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if tx.send(stream).is_err() {
                    return;
                }
            }
        });
        Smsc { port, connections }
    }

    /// Waits for the daemon's next connection and accepts its bind.
    fn accept_bound(&self) -> Conn {
        let stream = self
            .connections
            .recv_timeout(HANG)
            .expect("the daemon connects to its carrier");
        stream.set_read_timeout(Some(HANG)).unwrap();
        let mut conn = Conn {
            stream,
            buf: BytesMut::new(),
        };
        let bind = conn.recv().expect("a bind request");
        assert!(
            matches!(
                bind.command_id,
                CommandId::BindTransceiver | CommandId::BindTransmitter | CommandId::BindReceiver
            ),
            "{bind:?}"
        );
        let resp = u32::from(bind.command_id.matching_response());
        conn.send(&pdu(resp, bind.sequence, b"smsc\0"));
        assert!(conn.ping(1), "the session is up after the bind");
        conn
    }
}

/// One connection from the daemon.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    /// Writes raw octets; the daemon may already have closed the connection, which the
    /// next read reports.
    fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// The next frame the daemon sends, answering its own enquire_link on the way;
    /// `None` when it closed the connection.
    fn recv(&mut self) -> Option<Frame> {
        loop {
            match frame::decode(&mut self.buf, u32::MAX) {
                Ok(Some(Decoded::Frame(f))) if f.command_id == CommandId::EnquireLink => {
                    let resp = u32::from(CommandId::EnquireLinkResp);
                    self.send(&pdu(resp, f.sequence, b""));
                    continue;
                }
                Ok(Some(Decoded::Frame(f))) => return Some(f),
                other @ (Ok(Some(_)) | Err(_)) => panic!("the daemon sent {other:?}"),
                Ok(None) => {}
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("reading from the daemon: {e}"),
            }
        }
    }

    /// The daemon's response to our request `seq`; `None` when it closed instead.
    fn answer(&mut self, seq: u32) -> Option<Frame> {
        loop {
            let f = self.recv()?;
            if f.command_id.is_response() && f.sequence == seq {
                return Some(f);
            }
        }
    }

    /// Whether an enquire_link still gets its response: the stream is in sync.
    fn ping(&mut self, seq: u32) -> bool {
        self.send(&pdu(u32::from(CommandId::EnquireLink), seq, b""));
        match self.answer(seq) {
            Some(f) => {
                assert_eq!(f.command_id, CommandId::EnquireLinkResp, "{f:?}");
                true
            }
            None => false,
        }
    }

    /// Waits until the daemon closes the connection; whatever it sends first must be a
    /// generic_nack with `status` (SMPP 3.4 answers a bad header so, if at all).
    fn expect_closed_after(&mut self, status: CommandStatus) {
        while let Some(f) = self.recv() {
            assert_eq!(
                (f.command_id, f.status),
                (CommandId::GenericNack, status),
                "{f:?}"
            );
        }
    }
}

fn pdu(id: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_u32(16 + body.len() as u32);
    b.put_u32(id);
    b.put_u32(0);
    b.put_u32(seq);
    b.extend_from_slice(body);
    b.to_vec()
}

/// A deliver_sm body (mandatory fields only) from a handset to the sender.
fn deliver_body(esm_class: u8, short_message: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.push(0); // service_type
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(b"14155550123\0");
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(b"18005550100\0");
    b.extend_from_slice(&[esm_class, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.push(short_message.len() as u8);
    b.extend_from_slice(short_message);
    b
}

/// Printable noise of `len` octets, different in every round (a fixed generator, so a
/// failure reproduces).
fn noise(round: usize, len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_u32.wrapping_mul(round as u32 + 1);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b' ' + ((state >> 16) % 95) as u8
        })
        .collect()
}

/// A frame whose header is fine and whose body is not: the daemon answers it and the
/// session goes on, or it closes the connection and binds again. Either keeps it usable.
fn body_fault(smsc: &Smsc, conn: Conn, frame: &[u8], seq: u32) -> Conn {
    let mut conn = conn;
    conn.send(frame);
    if conn.answer(seq).is_some() && conn.ping(seq + 1) {
        return conn;
    }
    smsc.accept_bound()
}

const DELIVER_SM: u32 = 0x0000_0005;

/// One round of abuse on a bound connection; returns the connection bound after it.
fn round(smsc: &Smsc, d: &Daemon, mut conn: Conn, n: usize) -> Conn {
    // An unknown command id: generic_nack ESME_RINVCMDID, the session goes on.
    conn.send(&pdu(0x0000_0099, 10, b"abc"));
    let nack = conn.answer(10).expect("an answer to an unknown command");
    assert_eq!(
        (nack.command_id, nack.status),
        (CommandId::GenericNack, CommandStatus::EsmeRinvcmdid)
    );
    assert!(conn.ping(11));

    // A TLV whose length runs past the end of the frame.
    let mut body = deliver_body(0, b"hello");
    body.extend_from_slice(&[0x04, 0x24, 0x00, 0x64, b'a', b'b']);
    conn = body_fault(smsc, conn, &pdu(DELIVER_SM, 20, &body), 20);

    // A command_length that counts octets the body does not account for.
    let mut body = deliver_body(0, b"hello");
    body.extend_from_slice(b"extra");
    conn = body_fault(smsc, conn, &pdu(DELIVER_SM, 30, &body), 30);

    // A delivery receipt whose text is noise: a well-formed frame, answered.
    let receipt = pdu(DELIVER_SM, 40, &deliver_body(0x04, &noise(n, 120)));
    conn.send(&receipt);
    let resp = conn.answer(40).expect("a response to the receipt");
    assert_eq!(resp.command_id, CommandId::DeliverSmResp, "{resp:?}");
    assert!(conn.ping(41));

    // A flood of enquire_link: every one answered, in order.
    let first = 1_000;
    for batch in (0..FLOOD).step_by(FLOOD_BATCH as usize) {
        let mut out = Vec::new();
        for i in batch..batch + FLOOD_BATCH {
            out.extend(pdu(u32::from(CommandId::EnquireLink), first + i, b""));
        }
        conn.send(&out);
        for i in batch..batch + FLOOD_BATCH {
            let resp = conn.answer(first + i).expect("an enquire_link_resp");
            assert_eq!(resp.command_id, CommandId::EnquireLinkResp);
        }
    }

    // Headers no frame can have: shorter than a header, longer than the cap. The stream
    // cannot be resynchronised after either, so the connection ends.
    let mut short = pdu(DELIVER_SM, 50, b"");
    short[..4].copy_from_slice(&8u32.to_be_bytes());
    conn.send(&short);
    conn.expect_closed_after(CommandStatus::EsmeRinvcmdlen);
    let mut conn = smsc.accept_bound();
    let mut long = pdu(DELIVER_SM, 60, b"");
    long[..4].copy_from_slice(&(MAX_PDU + 1).to_be_bytes());
    conn.send(&long);
    conn.expect_closed_after(CommandStatus::EsmeRinvcmdlen);

    // A carrier that drops the connection in the middle of a frame.
    let mut conn = smsc.accept_bound();
    let frame = pdu(DELIVER_SM, 70, &deliver_body(0, b"cut short"));
    conn.send(&frame[..frame.len() / 2]);
    drop(conn);
    let conn = smsc.accept_bound();

    assert_eq!(http_get(d.admin, "/healthz").0, 200, "round {n}");
    conn
}

/// What the daemon holds: resident memory (kB) and open descriptors.
fn footprint(d: &Daemon) -> (u64, usize) {
    let pid = d.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (rss, fds)
}

#[test]
fn a_hostile_smsc_neither_stops_nor_leaks_the_daemon() {
    let smsc = Smsc::start();
    let d = Daemon::start(
        &config_with(smsc.port, &format!("max_pdu_size = {MAX_PDU}")),
        &[],
    );
    let mut conn = smsc.accept_bound();
    conn = round(&smsc, &d, conn, 1);
    let after_first = footprint(&d);
    for n in 2..=ROUNDS {
        conn = round(&smsc, &d, conn, n);
    }
    let after_last = footprint(&d);
    drop(conn);
    // A leak check, not a performance bound: each round ends in the same state (one
    // bound connection, nothing queued), so what round 1 left behind is what every
    // round leaves. Descriptors may differ by the odd one in flight; memory may grow
    // with allocator caches, not with the number of rounds.
    assert!(
        after_last.1 <= after_first.1 + 2,
        "open descriptors grew from {} to {}",
        after_first.1,
        after_last.1
    );
    assert!(
        after_last.0 <= after_first.0 * 2,
        "resident memory grew from {} kB to {} kB",
        after_first.0,
        after_last.0
    );
}
