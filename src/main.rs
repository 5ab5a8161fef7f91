//! The `berth` command: `serve` (default), `migrate`, `operator create`, `operator
//! allow-sender-domain` (and its revoke and list), `reseller create`, `check`.

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
    /// Manage an operator's resellers (OCTO API keys).
    #[command(subcommand)]
    Reseller(ResellerCommand),
    /// Verify the seat invariant, the ledger, promo codes and shared resources; exit 1 listing
    /// any violation.
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
    /// Approve an email domain for one operator's traveler emails (its `mail_from`). Only the
    /// instance owner, who runs this command, can: a domain belongs to at most one operator.
    AllowSenderDomain {
        #[command(flatten)]
        operator: OperatorRef,
        #[arg(long)]
        domain: String,
    },
    /// Withdraw an approval; the operator's `mail_from` in that domain is cleared.
    RevokeSenderDomain {
        #[command(flatten)]
        operator: OperatorRef,
        #[arg(long)]
        domain: String,
    },
    /// List the domains approved for one operator.
    SenderDomains {
        #[command(flatten)]
        operator: OperatorRef,
    },
}

#[derive(Subcommand)]
enum ResellerCommand {
    /// Create a reseller of an operator and print its OCTO API key (shown once) as the last
    /// line.
    Create {
        #[command(flatten)]
        operator: OperatorRef,
        #[arg(long)]
        name: String,
        /// The share of the retail price the reseller keeps, 0–100.
        #[arg(long, default_value_t = 0)]
        commission_percent: i64,
    },
}

/// Which operator: by its contact email (when only one operator has it) or by its id.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct OperatorRef {
    #[arg(long)]
    operator_email: Option<String>,
    #[arg(long)]
    operator_id: Option<String>,
}

impl OperatorRef {
    async fn resolve(
        &self,
        store: &berth::storage::Store,
    ) -> Result<berth::domain::ids::OperatorId, String> {
        match (&self.operator_email, &self.operator_id) {
            (_, Some(id)) => berth::domain::ids::OperatorId::parse(id)
                .ok_or_else(|| format!("{id:?} is not an operator id")),
            (Some(email), None) => service::operators::operator_by_email(store, email)
                .await
                .map_err(|e| e.to_string()),
            (None, None) => Err("name the operator with --operator-email or --operator-id".into()),
        }
    }
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
        Command::Operator(OperatorCommand::AllowSenderDomain { operator, domain }) => {
            let id = operator.resolve(&store).await?;
            let domain = service::operators::allow_sender_domain(&store, now, &id, &domain)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{domain} approved for operator {id}: it may now set mail_from to an address there"
            );
            ExitCode::SUCCESS
        }
        Command::Operator(OperatorCommand::RevokeSenderDomain { operator, domain }) => {
            let id = operator.resolve(&store).await?;
            let domain = service::operators::revoke_sender_domain(&store, now, &id, &domain)
                .await
                .map_err(|e| e.to_string())?;
            println!("{domain} no longer approved for operator {id}");
            ExitCode::SUCCESS
        }
        Command::Operator(OperatorCommand::SenderDomains { operator }) => {
            let id = operator.resolve(&store).await?;
            for domain in service::operators::sender_domains(&store, &id)
                .await
                .map_err(|e| e.to_string())?
            {
                println!("{domain}");
            }
            ExitCode::SUCCESS
        }
        Command::Reseller(ResellerCommand::Create {
            operator,
            name,
            commission_percent,
        }) => {
            let id = operator.resolve(&store).await?;
            let new =
                berth::domain::reseller::NewReseller::parse(&name, Some(commission_percent), &[])
                    .map_err(|e| e.to_string())?;
            let by = service::auth::Principal::cli(&id);
            let (reseller, key) = service::resellers::create(&store, now, &by, new)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "reseller {} ({}) created for operator {id}; its OCTO API key is shown once, below:",
                reseller.id, reseller.name
            );
            println!("{key}");
            ExitCode::SUCCESS
        }
        Command::Check => {
            let violations = service::check::all(&store, Clock::system().now())
                .await
                .map_err(|e| e.to_string())?;
            if violations.is_empty() {
                println!("seat invariant holds on every departure; every booking's ledger matches its status; no promo code is over-redeemed; no shared resource is drawn beyond its capacity");
                ExitCode::SUCCESS
            } else {
                for v in &violations {
                    println!("VIOLATION {}: {}", v.subject, v.detail);
                }
                println!("{} violation(s)", violations.len());
                ExitCode::from(1)
            }
        }
    };
    store.close().await;
    Ok(code)
}
