//! End-to-end submit_sm throughput through one bind: our ESME session against our
//! simulator over loopback TCP, in one process, with a window of 64.
//!
//! cargo run --release --example submit_throughput -- [submits] [window] [raw]
//!
//! With `raw`, the same traffic runs through the bare codec instead (frames encoded
//! and decoded, 64 in flight, no session, window or timers): the ceiling on this
//! machine at this moment, to quote the session's figure as a ratio of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rusmpp::CommandStatus;
use rusmpp::pdus::SubmitSm;
use rusmpp::pdus::SubmitSmResp;
use rusmpp::types::{COctetString, OctetString};
use smsbridge::config::simulator::SimulatorConfig;
use smsbridge::smpp::esme::{self, BindSpec, SMPP_3_4};
use smsbridge::smpp::frame::{self, Decoded};
use smsbridge::smpp::metrics::SessionLabels;
use smsbridge::smpp::simulator;
use smsbridge::smpp::transport;
use smsbridge::smpp::{BindKind, Frame, PeerHandler, Responder, Role, Session, SessionConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

struct NoInbound;

impl PeerHandler for NoInbound {
    fn on_request(&mut self, _frame: Frame, responder: Responder) {
        responder.respond(CommandStatus::EsmeRxTAppn, None);
    }
}

fn submit() -> SubmitSm {
    SubmitSm::builder()
        .source_addr(COctetString::from_static_slice(b"18005550100\0").unwrap())
        .destination_addr(COctetString::from_static_slice(b"14155550123\0").unwrap())
        .short_message(OctetString::from_static_slice(b"Your code is 123456").unwrap())
        .build()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map_or(400_000, |a| a.parse().expect("submits"));
    let window: usize = args.next().map_or(64, |a| a.parse().expect("window"));
    // Two single-threaded runtimes on two threads, one per side: the layout of an ESME
    // and an SMSC in separate processes, without work-stealing between them.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.next().as_deref() == Some("raw") {
        runtime.block_on(raw(total, window));
    } else {
        runtime.block_on(run(total, window));
    }
}

/// The bare codec over loopback: a client keeping `window` submit_sm in flight, a server
/// (on its own thread, like the simulator) answering each with submit_sm_resp.
async fn raw(total: usize, window: usize) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(raw_server(listener));
    });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let body = submit();
    let (mut rbuf, mut wbuf) = (
        BytesMut::with_capacity(65536),
        BytesMut::with_capacity(65536),
    );
    let started = Instant::now();
    let (mut sent, mut answered, mut seq) = (0usize, 0usize, 0u32);
    while answered < total {
        while sent < total && sent - answered < window {
            seq += 1;
            let request = Frame::new(CommandStatus::EsmeRok, seq, body.clone());
            frame::encode(&request, &mut wbuf, 65536).unwrap();
            sent += 1;
        }
        stream.write_all(&wbuf).await.unwrap();
        wbuf.clear();
        stream.read_buf(&mut rbuf).await.unwrap();
        while let Some(Decoded::Frame(_)) = frame::decode(&mut rbuf, 65536).unwrap() {
            answered += 1;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{total} submit_sm through the bare codec, {window} in flight: {:.2} s, {:.0} submit_sm/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    drop(stream);
    server.join().unwrap();
}

async fn raw_server(listener: std::net::TcpListener) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let (mut stream, _) = listener.accept().await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut rbuf, mut wbuf) = (
        BytesMut::with_capacity(65536),
        BytesMut::with_capacity(65536),
    );
    let mut id = 0u64;
    loop {
        if stream.read_buf(&mut rbuf).await.unwrap() == 0 {
            return;
        }
        while let Some(Decoded::Frame(request)) = frame::decode(&mut rbuf, 65536).unwrap() {
            id += 1;
            let resp = SubmitSmResp::builder()
                .message_id(COctetString::from_string(format!("{id:x}")).unwrap())
                .build();
            let resp = Frame::new(CommandStatus::EsmeRok, request.sequence, resp);
            frame::encode(&resp, &mut wbuf, 65536).unwrap();
        }
        stream.write_all(&wbuf).await.unwrap();
        wbuf.clear();
    }
}

/// Runs the simulator on its own thread and runtime; returns its address and a way to
/// stop it.
fn simulator_thread() -> (
    std::net::SocketAddr,
    CancellationToken,
    std::thread::JoinHandle<()>,
) {
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let cfg = SimulatorConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..SimulatorConfig::default()
            };
            let sim = simulator::start(cfg, cancel).await.unwrap();
            tx.send(sim.local_addr()).unwrap();
            sim.wait().await;
        });
    });
    (rx.recv().unwrap(), stop, thread)
}

async fn run(total: usize, window: usize) {
    let cancel = CancellationToken::new();
    let (sim_addr, stop_sim, sim_thread) = simulator_thread();
    let (reader, writer) =
        transport::connect("127.0.0.1", sim_addr.port(), None, Duration::from_secs(5))
            .await
            .unwrap();
    let labels = SessionLabels {
        carrier: Arc::from("bench"),
        bind: Arc::from("0"),
    };
    let config = SessionConfig {
        window,
        ..SessionConfig::new(Role::Esme, labels)
    };
    let (session, handle) = Session::new(reader, writer, config, NoInbound, &cancel);
    let session = tokio::spawn(session.run());
    let spec = BindSpec {
        kind: BindKind::Transmitter,
        system_id: "bench".into(),
        password: "bench".into(),
        system_type: String::new(),
        interface_version: SMPP_3_4,
        address_range: String::new(),
    };
    esme::bind(&handle, &spec, Duration::from_secs(5))
        .await
        .unwrap();

    let body = submit();
    let started = Instant::now();
    let per_task = total / window;
    let mut tasks = Vec::new();
    for _ in 0..window {
        let handle = handle.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                let resp = handle.request(body.clone()).await.unwrap();
                assert_eq!(resp.status, CommandStatus::EsmeRok);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let done = per_task * window;
    println!(
        "{done} submit_sm through one bind, window {window}: {:.2} s, {:.0} submit_sm/s",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    handle.close();
    let _ = session.await;
    stop_sim.cancel();
    sim_thread.join().unwrap();
}
