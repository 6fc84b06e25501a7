fn main() -> std::process::ExitCode {
    flowsmith_cli::cli::main()
}
