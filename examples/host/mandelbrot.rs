//! Tasks with a structured input and a binary output: render a 512×512 Mandelbrot image as 8×8
//! tiles, one task per tile on the pool, assemble them and write `target/mandelbrot.png`.
//!
//! ```text
//! cargo run --release -p hecaton --example mandelbrot
//! ```
//!
//! Each tile is a [`Tile`] (serialized to JSON for the guest, `examples/guests/mandelbrot`) and
//! comes back as its RGB pixels.

use std::path::PathBuf;

use hecaton::{Module, Pool};
use serde::Serialize;

const SIZE: u32 = 512;
const TILES: u32 = 8;
const TILE: u32 = SIZE / TILES;

/// The guest's `Tile`: which pixels of which image to render.
#[derive(Serialize)]
struct Tile {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    image_width: u32,
    image_height: u32,
    max_iterations: u32,
    rgb: bool,
}

fn main() -> anyhow::Result<()> {
    let module = Module::from_file(hecaton_tests::guests::MANDELBROT)?;
    let tiles: Vec<Tile> = (0..TILES * TILES)
        .map(|i| Tile {
            x: i % TILES * TILE,
            y: i / TILES * TILE,
            width: TILE,
            height: TILE,
            image_width: SIZE,
            image_height: SIZE,
            max_iterations: 500,
            rgb: true,
        })
        .collect();
    let pool = Pool::builder().build()?;
    let rendered: Vec<Vec<u8>> = pool.map(&module, "tile", &tiles)?;

    // Copy each tile's rows into the image, 3 bytes a pixel.
    let mut image = vec![0u8; (SIZE * SIZE * 3) as usize];
    for (tile, pixels) in tiles.iter().zip(&rendered) {
        for (row, line) in pixels.chunks_exact((tile.width * 3) as usize).enumerate() {
            let start = (((tile.y + row as u32) * SIZE + tile.x) * 3) as usize;
            image[start..start + line.len()].copy_from_slice(line);
        }
    }

    let path = PathBuf::from(hecaton_tests::guests::ROOT).join("target/mandelbrot.png");
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut encoder = png::Encoder::new(std::fs::File::create(&path)?, SIZE, SIZE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.write_header()?.write_image_data(&image)?;
    println!(
        "{} tiles on {} workers -> {} ({SIZE}x{SIZE})",
        tiles.len(),
        pool.workers(),
        path.display()
    );
    Ok(())
}
