//! The playground's entry point (trunk builds this binary to wasm).

fn main() {
    kplay_web::start();
}
