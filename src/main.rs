fn main() -> std::process::ExitCode {
    flowsmith::cli::main()
}
