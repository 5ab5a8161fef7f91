//! The `berth` command: `serve` (default), `migrate`, `operator create`, `check`.

use std::process::ExitCode;

use berth::config::{self, AppConfig};
use berth::{clock::Clock, service};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Seat reservation engine for tours that never overbooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage operators (tenants).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Verify the seat invariant on every departure; exit 1 listing any violation.
    Check,
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create an operator and print its API token (shown once) as the last line.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
}

#[rocket::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let figment = config::figment();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match berth::rocket(figment).launch().await {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("berth stopped: {error}");
                ExitCode::FAILURE
            }
        },
        command => match run_tool(command, &figment).await {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
        },
    }
}

async fn run_tool(
    command: Command,
    figment: &rocket::figment::Figment,
) -> Result<ExitCode, String> {
    let config = AppConfig::from_figment(figment)?;
    let store = berth::open_store(&config).await?;
    let now = Clock::system().now();
    let code = match command {
        Command::Serve => ExitCode::SUCCESS,
        Command::Migrate => {
            println!("migrations applied ({})", store.backend_name());
            ExitCode::SUCCESS
        }
        Command::Operator(OperatorCommand::Create { name, email }) => {
            let (id, token) = service::operators::create_operator(&store, now, &name, &email)
                .await
                .map_err(|e| e.to_string())?;
            println!("operator {id} created; its API token is shown once, below:");
            println!("{token}");
            ExitCode::SUCCESS
        }
        Command::Check => {
            let violations = service::check::all(&store)
                .await
                .map_err(|e| e.to_string())?;
            if violations.is_empty() {
                println!("seat invariant holds on every departure; every booking's ledger matches its status");
                ExitCode::SUCCESS
            } else {
                for v in &violations {
                    println!("VIOLATION occurrence {}: {}", v.occurrence_id, v.detail);
                }
                println!("{} violation(s)", violations.len());
                ExitCode::from(1)
            }
        }
    };
    store.close().await;
    Ok(code)
}
