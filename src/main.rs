fn main() -> std::process::ExitCode {
    ordo::cli::run()
}
