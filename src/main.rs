fn main() {
    std::process::exit(rplay::cli::main());
}
