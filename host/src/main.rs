//! The `disciplines` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    host::cli::main()
}
