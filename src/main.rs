// Columns are built in large buffers that live for one partition each.
// glibc's allocator hands such buffers back to the kernel at once, so every
// partition paid page faults and zeroing for fresh pages (a third of a CSV
// job's time was the kernel's); mimalloc keeps and reuses them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(quarry::cli::main());
}
