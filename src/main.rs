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
    /// Create an operator and print its API token (shown once) as the last line. With
    /// `--password-stdin`, also create its owner user (signing in with `--email`), reading the
    /// password from the first line of standard input.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Read the owner user's password from standard input (never from the command line,
        /// where other users of the machine and the shell history could see it).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[rocket::main]
async fn main() -> ExitCode {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // BERTH_LOG_FORMAT=json: one JSON object per line, for log shippers.
    if std::env::var("BERTH_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().init();
    } else {
        logs.init();
    }
    let cli = Cli::parse();
    let figment = config::figment();
    berth::logging::install(
        figment
            .extract_inner::<rocket::config::LogLevel>(rocket::Config::LOG_LEVEL)
            .unwrap_or(rocket::Config::default().log_level),
    );
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
        Command::Operator(OperatorCommand::Create {
            name,
            email,
            password_stdin,
        }) => {
            let (id, token) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
                let password = line.trim_end_matches(['\r', '\n']);
                let created = service::auth::create_operator_with_owner(
                    &store,
                    &service::passwords::Argon2Gate::default(),
                    now,
                    &name,
                    &email,
                    password,
                )
                .await
                .map_err(|e| e.to_string())?;
                println!("owner user {email} created; sign in at POST /v1/auth/login");
                created
            } else {
                service::operators::create_operator(&store, now, &name, &email)
                    .await
                    .map_err(|e| e.to_string())?
            };
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
