//! `disciplines processes …`: the processes a server offers.

use clap::{Args, Subcommand};

use super::output::processes_table;
use super::{Client, ClientOptions, Printer};

/// `disciplines processes`: the options and the subcommand.
#[derive(Debug, Args)]
pub struct ProcessesArgs {
    #[command(flatten)]
    options: ClientOptions,
    #[command(subcommand)]
    command: ProcessesCommand,
}

#[derive(Debug, Subcommand)]
enum ProcessesCommand {
    /// List the processes the server offers (GET /processes).
    List,
}

/// Runs a `processes` subcommand.
pub fn run(args: ProcessesArgs) -> anyhow::Result<()> {
    args.options.run(|client, printer| async move {
        match args.command {
            ProcessesCommand::List => list(&client, printer).await,
        }
    })
}

async fn list(client: &Client, printer: Printer) -> anyhow::Result<()> {
    let list = client.get(&["processes"]).await?;
    printer.document(&list, processes_table);
    Ok(())
}
