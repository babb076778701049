//! A fixed-rate HTTP/1.1 load generator for `scripts/bench-proxy`: latency at a steady
//! request rate, in microseconds (hey rounds to 0.1 ms, and wrk2 is not packaged).
//!
//!   fixed-rate URL RATE SECONDS CONNECTIONS [HEADER: VALUE]...
//!
//! Each connection is a thread with a keep-alive socket that sends one `GET` every
//! `CONNECTIONS / RATE` seconds, on a schedule fixed in advance. A request's latency runs
//! from the time it was due, not from when it went out, so a stall counts against every
//! request it delayed (as wrk2 measures; otherwise a slow server would be measured only
//! by the few requests it let through). The first second is a warm-up and not counted.
//! Prints one line: `requests=N errors=N p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(1);

struct Target {
    host: String,
    path: String,
    headers: String,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: fixed-rate URL RATE SECONDS CONNECTIONS [HEADER: VALUE]...");
        std::process::exit(2);
    }
    let (host, path) = match args[0].strip_prefix("http://").and_then(|r| r.split_once('/')) {
        Some((host, path)) => (host.to_string(), format!("/{path}")),
        None => {
            eprintln!("fixed-rate: an http:// URL with a path, please");
            std::process::exit(2);
        }
    };
    let number = |at: usize| -> f64 {
        args[at].parse().unwrap_or_else(|_| {
            eprintln!("fixed-rate: '{}' is not a number", args[at]);
            std::process::exit(2)
        })
    };
    let (rate, seconds, connections) = (number(1), number(2), number(3) as usize);
    if rate <= 0.0 || seconds <= 0.0 || connections == 0 {
        eprintln!("fixed-rate: RATE, SECONDS and CONNECTIONS must be positive");
        std::process::exit(2);
    }
    let headers: String = args[4..].iter().map(|h| format!("{h}\r\n")).collect();
    let target = std::sync::Arc::new(Target { host, path, headers });
    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + WARM_UP + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|n| {
            let target = std::sync::Arc::clone(&target);
            // Spread the connections' schedules over one interval.
            let first = start + interval.mul_f64(n as f64 / connections as f64);
            std::thread::spawn(move || run(&target, first, interval, end))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    for worker in workers {
        let (mut l, e) = worker.join().unwrap_or_default();
        latencies.append(&mut l);
        errors += e;
    }
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let at = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[at] as f64 / 1000.0
    };
    println!(
        "requests={} errors={errors} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        latencies.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
}

/// One connection's requests until `end`: the latencies (µs) after the warm-up, and errors.
fn run(target: &Target, first: Instant, interval: Duration, end: Instant) -> (Vec<u64>, u64) {
    let counted_from = first + WARM_UP;
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut connection: Option<BufReader<TcpStream>> = None;
    let request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n{}\r\n", target.path, target.host, target.headers)
        .into_bytes();
    let mut due = first;
    while due < end {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let ok = (|| -> std::io::Result<bool> {
            if connection.is_none() {
                let stream = TcpStream::connect(&target.host)?;
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                connection = Some(BufReader::new(stream));
            }
            let reader = connection.as_mut().expect("connected above");
            reader.get_mut().write_all(&request)?;
            let (status, keep) = read_response(reader)?;
            if !keep {
                connection = None;
            }
            Ok(status == 200)
        })();
        let took = due.elapsed();
        match ok {
            Ok(true) if due >= counted_from => latencies.push(took.as_micros() as u64),
            Ok(true) => {}
            Ok(false) => errors += 1,
            Err(_) => {
                errors += 1;
                connection = None;
            }
        }
        due += interval;
    }
    (latencies, errors)
}

/// Reads one response: its status and whether the connection stays open.
fn read_response(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, bool)> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(bad("closed"));
    }
    let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("status"))?;
    let (mut length, mut chunked, mut keep) = (None, false, true);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("closed in the head"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_ascii_lowercase());
        match name.as_str() {
            "content-length" => length = value.parse::<u64>().ok(),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" => keep = !value.contains("close"),
            _ => {}
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("chunk size"))?;
            skip(reader, size)?;
            line.clear();
            reader.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(length) = length {
        skip(reader, length)?;
    } else {
        keep = false;
        std::io::copy(reader, &mut std::io::sink())?;
    }
    Ok((status, keep))
}

fn skip(reader: &mut BufReader<TcpStream>, n: u64) -> std::io::Result<()> {
    let copied = std::io::copy(&mut reader.by_ref().take(n), &mut std::io::sink())?;
    if copied == n { Ok(()) } else { Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)) }
}
