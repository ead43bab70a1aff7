//! A task with a structured input and a binary output: render one tile of the Mandelbrot set as
//! grayscale or RGB pixels (see `examples/host/mandelbrot.rs`, which renders a 512×512 image as
//! 64 tiles on the pool and writes `target/mandelbrot.png`).
//!
//! `hecaton run examples/guests/mandelbrot --invoke tile '{"x": 0, "y": 0, "width": 2, "height": 1, "image_width": 2, "image_height": 2, "max_iterations": 100, "rgb": false}'`

use hecaton_guest::task;
use serde::Deserialize;

/// A rectangle of a `image_width`×`image_height` image of the plane from -2.2-1.5i to 0.8+1.5i.
#[derive(Debug, Deserialize)]
pub struct Tile {
    /// Column of the tile's first pixel.
    pub x: u32,
    /// Row of the tile's first pixel.
    pub y: u32,
    /// Tile width in pixels.
    pub width: u32,
    /// Tile height in pixels.
    pub height: u32,
    /// Width of the whole image.
    pub image_width: u32,
    /// Height of the whole image.
    pub image_height: u32,
    /// Iterations before a point counts as inside the set.
    pub max_iterations: u32,
    /// Three bytes (RGB) per pixel instead of one (gray).
    pub rgb: bool,
}

/// The tile's pixels, row by row: 1 byte (gray) or 3 bytes (RGB) each, brighter the longer a
/// point took to escape; the set itself is black.
#[task]
fn tile(spec: Tile) -> Vec<u8> {
    let channels = if spec.rgb { 3 } else { 1 };
    let mut pixels = Vec::with_capacity((spec.width * spec.height * channels) as usize);
    for row in spec.y..spec.y + spec.height {
        for column in spec.x..spec.x + spec.width {
            let re = -2.2 + 3.0 * f64::from(column) / f64::from(spec.image_width);
            let im = -1.5 + 3.0 * f64::from(row) / f64::from(spec.image_height);
            let color = match escape_time(re, im, spec.max_iterations) {
                None => [0; 3],
                Some(n) => palette(f64::from(n).ln() / f64::from(spec.max_iterations).ln()),
            };
            if spec.rgb {
                pixels.extend(color);
            } else {
                pixels.push(color.iter().map(|&c| c / 3).sum());
            }
        }
    }
    pixels
}

/// The iteration at which `z² + c` leaves the radius-2 disc, or `None` if it never does.
fn escape_time(re: f64, im: f64, max_iterations: u32) -> Option<u32> {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for n in 0..max_iterations {
        if zr * zr + zi * zi > 4.0 {
            return Some(n);
        }
        (zr, zi) = (zr * zr - zi * zi + re, 2.0 * zr * zi + im);
    }
    None
}

/// Dark blue through orange to white as `shade` goes from 0 to 1.
fn palette(shade: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 3] = [
        [0.0, 20.0, 80.0],
        [255.0, 140.0, 0.0],
        [255.0, 255.0, 255.0],
    ];
    let (from, to, t) = if shade < 0.5 {
        (STOPS[0], STOPS[1], shade * 2.0)
    } else {
        (STOPS[1], STOPS[2], shade * 2.0 - 1.0)
    };
    [0, 1, 2].map(|i| (from[i] + (to[i] - from[i]) * t) as u8)
}
