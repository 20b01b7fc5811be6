//! Administration on the server's own database, no server needed: `disciplines users …` and
//! `disciplines tokens …`. Secrets are read from standard input and shown once.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::auth::{Role, USER_NAME_RULE, is_valid_user_name, issue_token, secrets};
use crate::config::Config;
use crate::store::{JobStore, Removal};

/// Where the database is: the configuration file and the data directory.
#[derive(Debug, Args, Serialize)]
pub struct DatabaseArgs {
    /// A TOML configuration file.
    #[arg(long, env = "DISCIPLINES_CONFIG", global = true)]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// The server's data directory (its database is `jobs.sqlite` there unless configured).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
}

/// `disciplines users`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a user; with --password-stdin, its password is read from standard input.
    Add {
        /// The user's name (1 to 64 letters, digits, '.', '_', '-' or '@').
        name: String,
        /// `user` or `admin`.
        #[arg(long, default_value = "user", value_parser = parse_role)]
        role: Role,
        /// Read a password (first line of standard input) so that the user can log in.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List,
    /// Remove a user and revoke their tokens (their jobs stay).
    Remove {
        /// The user's name.
        name: String,
    },
    /// Set a user's password, read from standard input.
    Passwd {
        /// The user's name.
        name: String,
    },
}

/// `disciplines tokens`.
#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create an API token for a user; the token is printed once.
    Create {
        /// The user's name.
        user: String,
        /// A label, to recognise it later.
        #[arg(long, default_value = "")]
        label: String,
        /// Lifetime, e.g. 30d or 12h (default: no expiry).
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List tokens (of one user with --user), never their secrets.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token's id (from `tokens list`).
        id: uuid::Uuid,
    },
}

fn parse_role(word: &str) -> Result<Role, String> {
    match word {
        "user" => Ok(Role::User),
        "admin" => Ok(Role::Admin),
        other => Err(format!("{other:?} is not a role: user or admin")),
    }
}

/// Runs a `users` subcommand.
pub fn users(args: UsersArgs) -> anyhow::Result<()> {
    with_store(&args.database, |store| async move {
        match args.command {
            UsersCommand::Add {
                name,
                role,
                password_stdin,
            } => add_user(&store, &name, role, password_stdin).await,
            UsersCommand::List => {
                for user in store.users().await? {
                    let role = serde_json::to_value(user.role)?;
                    let login = if user.has_password {
                        "password"
                    } else {
                        "tokens only"
                    };
                    println!(
                        "{}\t{}\t{login}",
                        user.name,
                        role.as_str().unwrap_or_default()
                    );
                }
                Ok(())
            }
            UsersCommand::Remove { name } => {
                match store.remove_user(&name).await? {
                    Removal::Removed => {}
                    Removal::NoSuchUser => bail!("no user {name:?}"),
                    Removal::LastAdministrator => {
                        bail!("{name} is the only administrator: make another one first")
                    }
                }
                println!("removed {name}");
                Ok(())
            }
            UsersCommand::Passwd { name } => {
                let hash = secrets::hash_password(&read_password()?)?;
                if !store.set_password(&name, &hash).await? {
                    bail!("no user {name:?}");
                }
                println!("password set for {name}");
                Ok(())
            }
        }
    })
}

async fn add_user(
    store: &JobStore,
    name: &str,
    role: Role,
    password_stdin: bool,
) -> anyhow::Result<()> {
    if !is_valid_user_name(name) {
        bail!("{USER_NAME_RULE}, not {name:?}");
    }
    let hash = match password_stdin {
        true => Some(secrets::hash_password(&read_password()?)?),
        false => None,
    };
    if !store.create_user(name, role, hash.as_deref()).await? {
        bail!("a user {name:?} exists already");
    }
    println!("created {name}");
    Ok(())
}

/// Runs a `tokens` subcommand.
pub fn tokens(args: TokensArgs) -> anyhow::Result<()> {
    with_store(&args.database, |store| async move {
        match args.command {
            TokensCommand::Create {
                user,
                label,
                expires_in,
            } => {
                if store.login_record(&user).await?.is_none() {
                    bail!("no user {user:?}");
                }
                let (token, id) = issue_token(&store, &user, &label, expires_in).await?;
                eprintln!("token {id} for {user} (shown once):");
                println!("{token}");
                Ok(())
            }
            TokensCommand::List { user } => {
                for token in store.tokens(user.as_deref()).await? {
                    let state = if token.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    println!("{}\t{}\t{state}\t{}", token.id, token.user, token.label);
                }
                Ok(())
            }
            TokensCommand::Revoke { id } => {
                if store.revoke_token(id, None).await?.is_none() {
                    bail!("no live token {id}");
                }
                println!("revoked {id} (a running server forgets it within auth.cache_ttl)");
                Ok(())
            }
        }
    })
}

/// The first line of standard input (hashing refuses one that is too short).
fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    Ok(input.lines().next().unwrap_or_default().to_owned())
}

/// Opens the configured database and runs `command` on it.
fn with_store<F, Fut>(database: &DatabaseArgs, command: F) -> anyhow::Result<()>
where
    F: FnOnce(JobStore) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let config = Config::load(database.config.as_deref(), database)?;
    let path = config.jobs_database();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = JobStore::open(&path)
            .await
            .with_context(|| format!("opening the database {}", path.display()))?;
        command(store).await
    })
}
