#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    quarry::allocator::tune();
    std::process::exit(quarry::cli::main());
}
