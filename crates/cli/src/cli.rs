//! The command line: `flowsmith serve`, `flowsmith openapi`, `flowsmith validate`,
//! `flowsmith bench`, `flowsmith sandbox`, `flowsmith healthcheck`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use flowsmith::app::{Application, LocalOrg, StartedOrg, shutdown_signal};
use flowsmith::config::{LogFormat, Overrides, Settings};
use flowsmith::telemetry::LogGuard;

#[derive(Debug, Parser)]
#[command(
    name = "flowsmith",
    version,
    about = "Provision Genesys Cloud common modules and the inbound call flows that call them"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the REST service.
    Serve(ServeArgs),
    /// Print the OpenAPI document (YAML) of this build.
    Openapi {
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compile template documents on disk to Archy YAML (modules they call among the files).
    Compile(flowsmith::offline::CompileArgs),
    /// Import Archy YAML files (inboundCall, commonModule) as template documents.
    Import(flowsmith::offline::ImportArgs),
    /// Simulate a call through template documents on disk: the first is the entry flow, the
    /// others the modules it calls.
    Simulate(flowsmith::offline::SimulateArgs),
    /// Run a Genesys Cloud org emulator (the sandbox) for tests, demos and benchmarks.
    Sandbox(SandboxArgs),
    /// Run a benchmark and print its figures.
    Bench(flowsmith_bench::BenchArgs),
    /// Check that a running service answers (for container health checks); exit 0 or 1.
    Healthcheck(HealthcheckArgs),
    /// Validate template documents on disk (JSON, or YAML by extension); exit 1 on errors.
    Validate {
        /// Template documents; modules they call may be among them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "FLOWSMITH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Database URL [default: sqlite://flowsmith.db].
    #[arg(long, env = "FLOWSMITH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Configuration file [default: ./flowsmith.toml if it exists].
    #[arg(long, env = "FLOWSMITH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, env = "FLOWSMITH_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Also start a sandbox org in-process on a loopback port and add a target `sandbox`.
    #[arg(long)]
    pub sandbox: bool,
    /// Org objects to seed into that sandbox (data actions, data tables, schedule groups,
    /// prompts): the JSON file of `flowsmith sandbox --org`. Default: the objects the
    /// examples name (examples/sandbox-org.json).
    #[arg(long, value_name = "FILE", requires = "sandbox", value_parser = flowsmith_sandbox::parse_org_file)]
    pub sandbox_org: Option<flowsmith_sandbox::org::OrgFile>,
}

#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// URL to GET [default: /healthz on the port the settings give, via loopback].
    #[arg(long)]
    pub url: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

/// GETs the URL and succeeds on a 2xx answer. No log output: health checks run often.
async fn healthcheck(args: HealthcheckArgs) -> ExitCode {
    let url = match args.url {
        Some(url) => url,
        // The port the service listens on, as its settings say (file and environment).
        None => match Settings::load(&Overrides::default()) {
            Ok(s) => format!("http://127.0.0.1:{}/healthz", s.listen.port()),
            Err(e) => {
                eprintln!("flowsmith healthcheck: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(args.timeout_secs.max(1)))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flowsmith healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("flowsmith healthcheck: {url} answered {}", r.status());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("flowsmith healthcheck: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    #[command(flatten)]
    pub command: flowsmith_sandbox::SandboxCommand,
    /// Log format.
    #[arg(long, value_enum, default_value = "text", env = "FLOWSMITH_LOG_FORMAT")]
    pub log_format: LogFormat,
}

async fn sandbox(args: SandboxArgs, log: &mut Option<LogGuard>) -> ExitCode {
    *log = Some(flowsmith::telemetry::init(args.log_format));
    match flowsmith_sandbox::run_command(args.command, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowsmith sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flowsmith: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The log writer outlives the runtime: tasks still running when the command returns
    // (database connections closing, a PostgreSQL listener) log while the runtime drops them,
    // and a writer already gone would print "Unable to write an event" instead of the line.
    let mut log = None;
    let code = rt.block_on(run(cli, &mut log));
    drop(rt);
    drop(log);
    code
}

async fn run(cli: Cli, log: &mut Option<LogGuard>) -> ExitCode {
    match cli.command {
        Command::Serve(args) => serve(args, log).await,
        Command::Openapi { out } => {
            let yaml = flowsmith::api::openapi_yaml();
            match out {
                Some(path) => match std::fs::write(&path, yaml) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("flowsmith: cannot write {}: {e}", path.display());
                        ExitCode::FAILURE
                    }
                },
                None => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Healthcheck(args) => healthcheck(args).await,
        Command::Validate { files } => {
            offline(|out| flowsmith::offline::validate_files(&files, out))
        }
        Command::Compile(args) => offline(|out| flowsmith::offline::compile_files(&args, out)),
        Command::Import(args) => offline(|out| flowsmith::offline::import_files(&args, out)),
        Command::Simulate(args) => offline(|out| flowsmith::offline::simulate_files(&args, out)),
        Command::Sandbox(args) => sandbox(args, log).await,
        Command::Bench(args) => flowsmith_bench::run(args).await,
    }
}

async fn serve(args: ServeArgs, log: &mut Option<LogGuard>) -> ExitCode {
    let overrides = Overrides {
        config_file: args.config,
        listen: args.listen,
        database_url: args.database_url,
        log_format: args.log_format,
    };
    let settings = match Settings::load(&overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("flowsmith: {e}");
            return ExitCode::from(2);
        }
    };
    let org: Option<Box<dyn LocalOrg>> = args.sandbox.then(|| {
        Box::new(BuiltInSandbox(flowsmith_sandbox::SandboxOptions {
            org: Some(match &args.sandbox_org {
                Some(f) => f.clone(),
                None => flowsmith_sandbox::demo_org(),
            }),
            ..Default::default()
        })) as Box<dyn LocalOrg>
    });
    *log = Some(flowsmith::telemetry::init(settings.log_format));
    let app = match Application::build_with_org(settings, org).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("flowsmith: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowsmith: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The sandbox org as the service's built-in org (`serve --sandbox`).
pub struct BuiltInSandbox(pub flowsmith_sandbox::SandboxOptions);

impl LocalOrg for BuiltInSandbox {
    fn start(
        self: Box<Self>,
        kept: Option<std::path::PathBuf>,
    ) -> futures::future::BoxFuture<'static, std::io::Result<StartedOrg>> {
        Box::pin(async move {
            let (base_url, _sandbox) = match kept {
                Some(kept) => flowsmith_sandbox::spawn_local_kept(self.0, kept).await?,
                None => flowsmith_sandbox::spawn_local(self.0).await?,
            };
            Ok(StartedOrg {
                base_url,
                client_id: flowsmith_sandbox::DEFAULT_CLIENT_ID.into(),
                client_secret: flowsmith_sandbox::DEFAULT_CLIENT_SECRET.to_owned().into(),
            })
        })
    }
}

/// Runs an offline command, printing its output; exit 1 on errors.
fn offline(
    f: impl FnOnce(&mut dyn std::io::Write) -> Result<(), flowsmith::offline::OfflineError>,
) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match f(&mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            drop(out);
            eprintln!("flowsmith: {e}");
            ExitCode::FAILURE
        }
    }
}
