//! The database a benchmark runs on: a fresh one each run, so no run sees another's rows.
//! By default a SQLite file in a new temporary directory; with `--postgres ADMIN_URL` a new
//! database on that PostgreSQL cluster, dropped at the end of the run.

use std::path::PathBuf;

use clap::Args;
use sqlx::{Connection, Executor, PgConnection};

/// Prefix of the databases the benchmarks create on a PostgreSQL cluster.
const PG_PREFIX: &str = "flowsmith_bench_";

#[derive(Debug, Clone, Default, Args)]
pub struct DatabaseArgs {
    /// Run on PostgreSQL instead of SQLite: the admin URL of a cluster, e.g.
    /// `postgres://postgres@127.0.0.1:55432/postgres` (what `scripts/pg-test-cluster start`
    /// prints). Each run creates a fresh database `flowsmith_bench_<uuid>` there with that
    /// user and drops it at the end. Default: a fresh SQLite file in a temporary directory.
    #[arg(long, value_name = "ADMIN_URL")]
    pub postgres: Option<String>,
}

/// A database created for one run. `remove` deletes it; a run that is killed leaves it
/// behind (a temporary directory, or a `flowsmith_bench_*` database on the cluster).
#[derive(Debug)]
pub enum FreshDatabase {
    Sqlite {
        dir: PathBuf,
        url: String,
    },
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

/// The URL of database `name` on the cluster of `admin`: same user, password, host, port and
/// query (e.g. `sslmode`), another path. Refuses anything but a `postgres://` or
/// `postgresql://` URL with a host.
pub fn postgres_database_url(admin: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(admin).map_err(|e| format!("--postgres: not a URL: {e}"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(format!(
            "--postgres: expected a postgres:// URL, got a {}: URL",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("--postgres: the URL names no host".into());
    }
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// `url` without its password, for printing.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".into(),
    }
}

impl FreshDatabase {
    /// Creates the run's database.
    pub async fn create(args: &DatabaseArgs) -> Result<Self, String> {
        match &args.postgres {
            None => {
                let dir = super::tempfile_dir()
                    .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
                let url = format!("sqlite://{}", dir.join("bench.db").display());
                Ok(Self::Sqlite { dir, url })
            }
            Some(admin) => {
                let name = format!("{PG_PREFIX}{}", uuid::Uuid::new_v4().simple());
                let url = postgres_database_url(admin, &name)?;
                let mut c = PgConnection::connect(admin)
                    .await
                    .map_err(|e| format!("--postgres {}: {e}", redacted(admin)))?;
                // The name is ours (prefix and hex digits); quoted all the same.
                c.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
                c.close().await.ok();
                Ok(Self::Postgres {
                    admin: admin.clone(),
                    name,
                    url,
                })
            }
        }
    }

    /// The URL the service opens.
    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// One line for the bench's output: which backend, which database, the server's version.
    pub async fn describe(&self) -> String {
        match self {
            Self::Sqlite { url, .. } => {
                format!("SQLite {} (fresh file {url})", sqlite_version().await)
            }
            Self::Postgres { url, .. } => {
                let version = match PgConnection::connect(url).await {
                    Ok(mut c) => {
                        let v: Result<(String,), _> = sqlx::query_as("SHOW server_version")
                            .fetch_one(&mut c)
                            .await;
                        c.close().await.ok();
                        v.map_or_else(|e| format!("(version unknown: {e})"), |(v,)| v)
                    }
                    Err(e) => format!("(version unknown: {e})"),
                };
                format!("PostgreSQL {version} (fresh database {})", redacted(url))
            }
        }
    }

    /// Deletes the database. Call it after the service using it has stopped.
    pub async fn remove(self) {
        match self {
            Self::Sqlite { dir, .. } => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Self::Postgres { admin, name, .. } => {
                let dropped = async {
                    let mut c = PgConnection::connect(&admin).await?;
                    // FORCE: a pool's idle connections may still be closing.
                    c.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                        .await?;
                    c.close().await
                }
                .await;
                if let Err(e) = dropped {
                    println!("could not drop the bench database {name}: {e}");
                }
            }
        }
    }
}

/// The version of the SQLite the service links (sqlx's bundled libsqlite3).
async fn sqlite_version() -> String {
    let version = async {
        let mut c = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
        let (v,): (String,) = sqlx::query_as("SELECT sqlite_version()")
            .fetch_one(&mut c)
            .await?;
        c.close().await?;
        Ok::<_, sqlx::Error>(v)
    };
    version
        .await
        .unwrap_or_else(|e| format!("(version unknown: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_database_is_on_the_admin_urls_cluster_with_its_user_and_options() {
        assert_eq!(
            postgres_database_url(
                "postgres://postgres@127.0.0.1:55432/postgres",
                "flowsmith_bench_1"
            )
            .unwrap(),
            "postgres://postgres@127.0.0.1:55432/flowsmith_bench_1"
        );
        assert_eq!(
            postgres_database_url("postgresql://u:pw@db.local/admin?sslmode=disable", "b").unwrap(),
            "postgresql://u:pw@db.local/b?sslmode=disable"
        );
        // No path at all: the database is still named.
        assert_eq!(
            postgres_database_url("postgres://postgres@127.0.0.1:55432", "b").unwrap(),
            "postgres://postgres@127.0.0.1:55432/b"
        );
    }

    #[test]
    fn only_a_postgres_url_with_a_host_is_an_admin_url() {
        for bad in [
            "sqlite:///tmp/x.db",
            "mysql://root@localhost/x",
            "not a url",
            "postgres:///x",
        ] {
            let e = postgres_database_url(bad, "b").unwrap_err();
            assert!(e.starts_with("--postgres:"), "{bad}: {e}");
        }
    }

    #[test]
    fn printed_urls_hide_the_password() {
        assert_eq!(
            redacted("postgres://u:secret@h:1/d"),
            "postgres://u:***@h:1/d"
        );
        assert_eq!(redacted("postgres://u@h:1/d"), "postgres://u@h:1/d");
        assert!(!redacted("postgres://u:secret@h:1/d?x=1").contains("secret"));
    }

    #[test]
    fn the_default_is_sqlite() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            db: DatabaseArgs,
        }
        assert_eq!(Cli::parse_from(["bench"]).db.postgres, None);
        let with = Cli::parse_from(["bench", "--postgres", "postgres://p@127.0.0.1:5/postgres"]);
        assert_eq!(
            with.db.postgres.as_deref(),
            Some("postgres://p@127.0.0.1:5/postgres")
        );
    }
}
