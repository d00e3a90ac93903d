//! `shoppingfeed-sim --listen 127.0.0.1:PORT --token TOKEN --store STORE_ID`: the Shopping Feed
//! API simulator as a process (for PHP tests, the demo and benchmarks). Prints the bound address
//! as its first stdout line; exits 0 on SIGTERM or SIGINT.

use std::io::Write;
use std::process::ExitCode;

use shoppingfeed_sim::cli::{parse_args, Command, USAGE};
use shoppingfeed_sim::{spawn, SimConfig};

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(c)) => *c,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("shoppingfeed-sim {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("shoppingfeed-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("shoppingfeed-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shoppingfeed-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: SimConfig) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Install the handlers before announcing the address, so a signal sent right after the
    // first line is never lost.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let handle = spawn(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", handle.addr())?;
        out.flush()?;
    }
    eprintln!(
        "shoppingfeed-sim: listening on {} (control API under /_sim/)",
        handle.base_url()
    );
    let stop = handle.stopper();
    let waiter = tokio::spawn(handle.wait());
    tokio::select! {
        _ = term.recv() => eprintln!("shoppingfeed-sim: SIGTERM, stopping"),
        _ = int.recv() => eprintln!("shoppingfeed-sim: SIGINT, stopping"),
    }
    let _ = stop.send(true);
    match tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        // Connections that do not close in time do not block the exit.
        Err(_) => Ok(()),
    }
}
