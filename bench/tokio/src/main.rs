// SPDX-License-Identifier: MIT
//! Tokio doing the work of the C contestants of bench/bench_tcp.c and bench/bench_conns.c,
//! so `make bench` can put tokio next to raw epoll, libuv and gale. The C drivers run this
//! program as a child process, one process per run, and alternate it with the other
//! contestants round by round; the ratios are computed there.
//!
//! Every run uses a current_thread runtime with only the I/O driver enabled: one thread,
//! like the C contestants' single-threaded loops (tokio's multi-thread scheduler would add
//! worker threads and cross-thread wake-ups that the others do not have). Tasks are
//! spawned with tokio::spawn, one per connection end, as gale's benchmarks spawn tasks.
//!
//!   tcp --test throughput --bytes N
//!       both ends of one loopback connection in one runtime: a writer task sends N bytes
//!       in 64 KiB writes (AsyncWrite::write, resumed after short writes), then shuts down;
//!       a reader task reads 64 KiB at a time until EOF. TCP_NODELAY on both ends.
//!   tcp --test pingpong --round-trips N
//!       both ends in one runtime: the client task write_all()s 64 bytes and reads the
//!       64-byte answer, N times; the server task reads and write_all()s back. Reads ask
//!       for RECV_SIZE bytes (as the C contestants do), so tokio's own short-read rule
//!       (clear readiness after a read that did not fill the buffer) applies.
//!   Prints "seconds S" (the timed part: from spawning the two tasks until both finished;
//!   runtime creation, connect and accept are not timed), then exits 0.
//!
//!   conns-server --conns N --backlog B --ready-fd FD
//!   conns-client --conns N --port P --round-trips R --msg-size S --window W
//!       --report-fd FD --go-fd FD
//!       bench_conns.c's server and client, speaking its pipe protocol: the server writes
//!       struct server_ready (its port) to FD and echoes through a 256-byte buffer per
//!       connection until each peer closes; the client connects (at most W connecting or
//!       warming up at once), does one untimed warm-up round trip per connection, writes
//!       struct client_report (REPORT_READY), waits for the parent's "go", runs R round
//!       trips of S bytes on every connection at once (checking each echo), writes
//!       REPORT_FINAL, waits for EOF on the go pipe and closes with a reset (SO_LINGER 0).
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::io::FromRawFd;
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;

const CHUNK_SIZE: usize = 64 * 1024; // Throughput: bytes per write and per read.
const MESSAGE_SIZE: usize = 64; // Ping-pong: bytes per ping and per pong.
const RECV_SIZE: usize = 4096; // Ping-pong: bytes each read asks for (as in C).
const ECHO_BUF_SIZE: usize = 256; // Conns server: buffer per connection (as in C).
const MSG_SIZE_MAX: usize = 256; // Conns client: largest --msg-size (as in C).
const REPORT_READY: i32 = 1;
const REPORT_FINAL: i32 = 2;

/// bench_conns.c's struct client_report, byte for byte (x86-64 and every LP64 ABI).
#[repr(C)]
#[derive(Clone, Copy)]
struct ClientReport {
    phase: i32,
    seconds: f64,
    cpu_seconds: f64,
    setup_seconds: f64,
    round_trips: u64,
    error: i32,
    what: [u8; 96],
}

const _: () = assert!(std::mem::size_of::<ClientReport>() == 144);

impl ClientReport {
    fn new(phase: i32) -> ClientReport {
        ClientReport {
            phase,
            seconds: 0.0,
            cpu_seconds: 0.0,
            setup_seconds: 0.0,
            round_trips: 0,
            error: 0,
            what: [0; 96],
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: repr(C), plain old data; the padding bytes are never read by the parent.
        unsafe {
            std::slice::from_raw_parts(
                self as *const ClientReport as *const u8,
                std::mem::size_of::<ClientReport>(),
            )
        }
    }
}

/// The conns client's report pipe, set once at start, for fail().
static mut REPORT_FD: i32 = -1;

/// A fatal error: tell the parent (conns client) and leave with status 1.
fn fail(what: &str, error: &dyn std::fmt::Display) -> ! {
    eprintln!("gale-bench-tokio: {}: {}", what, error);
    // SAFETY: written once in conns_client before any task runs; one thread.
    let fd = unsafe { REPORT_FD };
    if fd >= 0 {
        let mut report = ClientReport::new(REPORT_FINAL);
        report.error = -5; // -EIO: the parent prints "what".
        let n = what.len().min(report.what.len() - 1);
        report.what[..n].copy_from_slice(&what.as_bytes()[..n]);
        let mut file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
        let _ = file.write_all(report.bytes());
    }
    exit(1);
}

fn check<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(e) => fail(what, &e),
    }
}

fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn runtime() -> tokio::runtime::Runtime {
    let built = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build();
    check(built, "runtime")
}

// ==== tcp: one connection, both ends in one runtime =========================================

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = check(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await, "bind");
    let addr = check(listener.local_addr(), "local_addr");
    let connecting = tokio::spawn(async move { TcpStream::connect(addr).await });
    let (server, _) = check(listener.accept().await, "accept");
    let client = check(check(connecting.await, "connect task"), "connect");
    check(client.set_nodelay(true), "nodelay");
    check(server.set_nodelay(true), "nodelay");
    (client, server)
}

async fn throughput(bytes: u64) -> f64 {
    let (mut client, mut server) = tcp_pair().await;
    let chunk: Vec<u8> = (0..CHUNK_SIZE)
        .map(|i| (i as u32 * 131 + 7) as u8)
        .collect();
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        let mut left = bytes;
        let mut offset = 0usize;
        while left > 0 {
            let len = ((CHUNK_SIZE - offset) as u64).min(left) as usize;
            let n = check(client.write(&chunk[offset..offset + len]).await, "write");
            left -= n as u64;
            offset = (offset + n) % CHUNK_SIZE;
        }
        check(client.shutdown().await, "shutdown");
        client
    });
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; CHUNK_SIZE];
        let (mut total, mut sink) = (0u64, 0u64);
        loop {
            let n = check(server.read(&mut buf).await, "read");
            if n == 0 {
                return (total, sink);
            }
            sink += buf[n - 1] as u64;
            total += n as u64;
        }
    });
    let client = check(writer.await, "writer task");
    let (total, sink) = check(reader.await, "reader task");
    let seconds = start.elapsed().as_secs_f64();
    if total != bytes || sink == 1 {
        fail(
            "throughput",
            &format!("{} bytes read, {} written", total, bytes),
        );
    }
    drop(client);
    seconds
}

/// One 64-byte message, read RECV_SIZE bytes at a time (the peer never sends ahead).
async fn receive(stream: &mut TcpStream, inbox: &mut [u8; RECV_SIZE]) {
    let mut got = 0;
    while got < MESSAGE_SIZE {
        let n = check(stream.read(&mut inbox[..]).await, "read");
        if n == 0 || got + n > MESSAGE_SIZE {
            fail("pingpong read", &format!("{} bytes after {}", n, got));
        }
        got += n;
    }
}

async fn pingpong(round_trips: u64) -> f64 {
    let (mut client, mut server) = tcp_pair().await;
    let start = Instant::now();
    let pinging = tokio::spawn(async move {
        let message = [7u8; MESSAGE_SIZE];
        let mut inbox = [0u8; RECV_SIZE];
        for _ in 0..round_trips {
            check(client.write_all(&message).await, "client write");
            receive(&mut client, &mut inbox).await;
        }
    });
    let ponging = tokio::spawn(async move {
        let mut inbox = [0u8; RECV_SIZE];
        for _ in 0..round_trips {
            receive(&mut server, &mut inbox).await;
            check(server.write_all(&inbox[..MESSAGE_SIZE]).await, "server write");
        }
    });
    check(pinging.await, "client task");
    check(ponging.await, "server task");
    start.elapsed().as_secs_f64()
}

// ==== conns: bench_conns.c's server and client =============================================

async fn echo(mut stream: TcpStream) {
    let mut buf = [0u8; ECHO_BUF_SIZE];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return, // End of stream, or the client's reset.
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn conns_server(conns: usize, backlog: u32, ready_fd: i32) {
    let socket = check(TcpSocket::new_v4(), "socket");
    check(socket.set_reuseaddr(true), "SO_REUSEADDR");
    check(
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        "bind",
    );
    let listener = check(socket.listen(backlog), "listen");
    let port = check(listener.local_addr(), "local_addr").port();
    // SAFETY: the parent's pipe, handed to us open; closed when this File drops.
    let mut ready = unsafe { File::from_raw_fd(ready_fd) };
    check(ready.write_all(&port.to_ne_bytes()), "ready pipe"); // struct server_ready.
    drop(ready);
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (stream, _) = check(listener.accept().await, "accept");
        check(stream.set_nodelay(true), "nodelay");
        tasks.push(tokio::spawn(echo(stream)));
    }
    drop(listener);
    for task in tasks {
        check(task.await, "echo task");
    }
}

fn message_fill(message: &mut [u8], i: u32) {
    for (k, byte) in message.iter_mut().enumerate() {
        *byte = (i
            .wrapping_mul(31)
            .wrapping_add((k as u32).wrapping_mul(7))
            .wrapping_add(1)) as u8;
    }
}

async fn round_trip(stream: &mut TcpStream, message: &[u8], echo: &mut [u8]) {
    check(stream.write_all(message).await, "write");
    check(stream.read_exact(echo).await, "read");
    if echo != message {
        fail("echo", &"the echo differs from the message");
    }
}

struct ClientConn {
    index: u32,
    addr: SocketAddr,
    size: usize,
    round_trips: u32,
}

/// One connection: connect, warm up, release the window permit, wait at the gate, then the
/// timed round trips. Returns the stream (kept open until the parent says close).
async fn client_conn(
    conn: ClientConn,
    window: tokio::sync::OwnedSemaphorePermit,
    gate: Arc<Semaphore>,
) -> TcpStream {
    let mut stream = check(TcpStream::connect(conn.addr).await, "connect");
    check(stream.set_nodelay(true), "nodelay");
    let mut message = [0u8; MSG_SIZE_MAX];
    let mut echo = [0u8; MSG_SIZE_MAX];
    let (message, echo) = (&mut message[..conn.size], &mut echo[..conn.size]);
    message_fill(message, conn.index);
    round_trip(&mut stream, message, echo).await; // Warm-up, untimed.
    drop(window);
    check(gate.acquire().await, "gate").forget();
    for _ in 0..conn.round_trips {
        round_trip(&mut stream, message, echo).await;
    }
    stream
}

struct ClientOptions {
    conns: usize,
    port: u16,
    round_trips: u32,
    msg_size: usize,
    window: usize,
    report_fd: i32,
    go_fd: i32,
}

async fn conns_client(options: ClientOptions) {
    // SAFETY: the parent's pipes, handed to us open; kept for the life of the process.
    let mut report_pipe = unsafe { File::from_raw_fd(options.report_fd) };
    let mut go_pipe = unsafe { File::from_raw_fd(options.go_fd) };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let window = Arc::new(Semaphore::new(options.window));
    let gate = Arc::new(Semaphore::new(0));
    let setup_start = Instant::now();
    let mut tasks = Vec::with_capacity(options.conns);
    for index in 0..options.conns {
        let permit = check(window.clone().acquire_owned().await, "window");
        let conn = ClientConn {
            index: index as u32,
            addr,
            size: options.msg_size,
            round_trips: options.round_trips,
        };
        tasks.push(tokio::spawn(client_conn(conn, permit, gate.clone())));
    }
    // Every permit back: every connection is warmed up (a failure exits the process).
    check(window.acquire_many(options.window as u32).await, "window").forget();
    let mut report = ClientReport::new(REPORT_READY);
    report.setup_seconds = setup_start.elapsed().as_secs_f64();
    check(report_pipe.write_all(report.bytes()), "report pipe");
    let mut go = [0u8; 1];
    if check(go_pipe.read(&mut go), "go pipe") != 1 {
        exit(1);
    }

    let cpu_start = cpu_seconds();
    let start = Instant::now();
    gate.add_permits(options.conns);
    let mut streams = Vec::with_capacity(options.conns);
    for task in tasks {
        streams.push(check(task.await, "connection task"));
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.cpu_seconds = cpu_seconds() - cpu_start;
    report.phase = REPORT_FINAL;
    report.round_trips = options.conns as u64 * options.round_trips as u64;
    check(report_pipe.write_all(report.bytes()), "report pipe");
    while let Ok(n) = go_pipe.read(&mut go) {
        if n == 0 {
            break; // EOF: the parent sampled the server; close.
        }
    }
    for stream in &streams {
        let _ = stream.set_linger(Some(Duration::ZERO)); // A reset: no TIME_WAIT left.
    }
    drop(streams);
}

// ==== command line ==========================================================================

fn usage() -> ! {
    eprintln!(
        "usage: gale-bench-tokio tcp --test throughput|pingpong [--bytes N] [--round-trips N]\n\
         \x20      gale-bench-tokio conns-server --conns N --backlog B --ready-fd FD\n\
         \x20      gale-bench-tokio conns-client --conns N --port P --round-trips R \
         --msg-size S --window W --report-fd FD --go-fd FD"
    );
    exit(2);
}

/// The value of --name among argv's "--name value" pairs.
fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: Option<T>) -> T {
    let mut i = 0;
    while i + 1 < args.len() {
        if args[i] == name {
            match args[i + 1].parse() {
                Ok(value) => return value,
                Err(_) => usage(),
            }
        }
        i += 2;
    }
    match default {
        Some(value) => value,
        None => usage(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.len() % 2 == 0 {
        usage();
    }
    let rest = &args[1..];
    match args[0].as_str() {
        "tcp" => {
            let test: String = flag(rest, "--test", None);
            let seconds = match test.as_str() {
                "throughput" => {
                    runtime().block_on(throughput(flag(rest, "--bytes", Some(1 << 30))))
                }
                "pingpong" => {
                    runtime().block_on(pingpong(flag(rest, "--round-trips", Some(100_000))))
                }
                _ => usage(),
            };
            println!("seconds {:.9}", seconds);
        }
        "conns-server" => {
            let conns = flag(rest, "--conns", None);
            let backlog = flag(rest, "--backlog", Some(1024));
            let ready_fd = flag(rest, "--ready-fd", None);
            runtime().block_on(conns_server(conns, backlog, ready_fd));
        }
        "conns-client" => {
            let options = ClientOptions {
                conns: flag(rest, "--conns", None),
                port: flag(rest, "--port", None),
                round_trips: flag(rest, "--round-trips", None),
                msg_size: flag(rest, "--msg-size", Some(32)),
                window: flag(rest, "--window", Some(512)),
                report_fd: flag(rest, "--report-fd", None),
                go_fd: flag(rest, "--go-fd", None),
            };
            if options.msg_size == 0 || options.msg_size > MSG_SIZE_MAX || options.window == 0 {
                usage();
            }
            // SAFETY: before the runtime starts; one thread.
            unsafe { REPORT_FD = options.report_fd };
            runtime().block_on(conns_client(options));
        }
        _ => usage(),
    }
}
