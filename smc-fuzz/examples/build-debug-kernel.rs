//! Builds (or finds in the cache) the debug kernel flavor and prints its path.
fn main() {
    match smc_fuzz::lab::kernel::CustomKernel::ensure_flavor(
        2,
        smc_fuzz::lab::kernel::Flavor::Debug,
    ) {
        Ok(k) => println!("{} {}", k.release, k.bzimage.display()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}
