//! `disorganize`: the image cut into 2×2 tiles, reassembled in a seeded non-identity order.

use image::{ImageBuffer, Pixel, RgbImage};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::DegradationError;

/// Number of orders of 4 tiles (4!).
const ORDERS: usize = 24;

/// The 2×2 tile permutation of `disorganize`, so the ground truth can follow the image.
///
/// Tiles are numbered row-major: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
/// Each tile is `floor(W/2)`×`floor(H/2)`; with an odd side, the last column or row is not in
/// any tile and stays in place, so the size is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePermutation {
    order: [u8; 4],
    width: u32,
    height: u32,
}

impl TilePermutation {
    /// `order()[d]` is the input tile shown at output position `d`; never `[0, 1, 2, 3]`.
    pub fn order(&self) -> [u8; 4] {
        self.order
    }

    /// Size (width, height) of the image the tiles were cut from.
    pub fn image_size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Moves the tiles of any map (ground truth, mask, image) like the degraded image's.
    ///
    /// Uses the map's own tiles (`floor(w/2)`×`floor(h/2)`), so a map of the image's size
    /// moves exactly as the image did; see [`TilePermutation::try_apply`] to check the size.
    pub fn apply<P: Pixel>(
        &self,
        img: &ImageBuffer<P, Vec<P::Subpixel>>,
    ) -> ImageBuffer<P, Vec<P::Subpixel>> {
        let (tile_w, tile_h) = (img.width() / 2, img.height() / 2);
        let channels = usize::from(P::CHANNEL_COUNT);
        let stride = img.width() as usize * channels;
        let run = tile_w as usize * channels;
        let samples: &[P::Subpixel] = img;
        let mut out = img.clone();
        let out_samples: &mut [P::Subpixel] = &mut out;
        for (dst, &src) in self.order.iter().enumerate() {
            let (sx, sy) = tile_origin(u32::from(src), tile_w, tile_h);
            let (dx, dy) = tile_origin(dst as u32, tile_w, tile_h);
            // Copy the tile row by row.
            for y in 0..tile_h as usize {
                let from = (sy as usize + y) * stride + sx as usize * channels;
                let to = (dy as usize + y) * stride + dx as usize * channels;
                out_samples[to..to + run].copy_from_slice(&samples[from..from + run]);
            }
        }
        out
    }

    /// [`TilePermutation::apply`], after checking that the map has the image's size.
    pub fn try_apply<P: Pixel>(
        &self,
        img: &ImageBuffer<P, Vec<P::Subpixel>>,
    ) -> Result<ImageBuffer<P, Vec<P::Subpixel>>, DegradationError> {
        if img.dimensions() != (self.width, self.height) {
            return Err(DegradationError::SizeMismatch {
                width: self.width,
                height: self.height,
                map_width: img.width(),
                map_height: img.height(),
            });
        }
        Ok(self.apply(img))
    }
}

/// Top-left corner of tile `index` (row-major in a 2×2 grid).
fn tile_origin(index: u32, tile_w: u32, tile_h: u32) -> (u32, u32) {
    ((index % 2) * tile_w, (index / 2) * tile_h)
}

/// The `rank`-th permutation of 0..4 in lexicographic order (rank 0 is the identity).
fn permutation(mut rank: usize) -> [u8; 4] {
    let mut left = vec![0u8, 1, 2, 3];
    let mut order = [0u8; 4];
    for (slot, block) in order.iter_mut().zip([6, 2, 1, 1]) {
        *slot = left.remove(rank / block);
        rank %= block;
    }
    order
}

/// Cuts `image` into 2×2 tiles and reassembles them in a non-identity order drawn uniformly
/// from the 23 others with ChaCha20 seeded by `seed`. Returns the image and the permutation,
/// to move the ground truth with [`TilePermutation::apply`].
///
/// Errors if a side is below 2 pixels (the tiles would be empty).
pub fn disorganize(
    image: &RgbImage,
    seed: u64,
) -> Result<(RgbImage, TilePermutation), DegradationError> {
    let (width, height) = image.dimensions();
    if width < 2 || height < 2 {
        return Err(DegradationError::TooSmallToDisorganize { width, height });
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let tiles = TilePermutation {
        order: permutation(rng.random_range(1..ORDERS)),
        width,
        height,
    };
    Ok((tiles.apply(image), tiles))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_are_all_distinct_and_rank_zero_is_identity() {
        let all: Vec<[u8; 4]> = (0..ORDERS).map(permutation).collect();
        assert_eq!(all[0], [0, 1, 2, 3]);
        assert_eq!(all[23], [3, 2, 1, 0]);
        for (i, p) in all.iter().enumerate() {
            let mut sorted = *p;
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2, 3]);
            assert!(all[..i].iter().all(|q| q != p));
        }
    }

    #[test]
    fn every_non_identity_order_is_drawn() {
        let img = RgbImage::new(4, 4);
        let mut seen = std::collections::HashSet::new();
        for seed in 0..400 {
            seen.insert(disorganize(&img, seed).unwrap().1.order());
        }
        assert_eq!(seen.len(), 23);
        assert!(!seen.contains(&[0, 1, 2, 3]));
    }

    #[test]
    fn odd_sides_keep_the_last_row_and_column() {
        let img = RgbImage::from_fn(5, 3, |x, y| {
            image::Rgb([x as u8, y as u8, (10 * y + x) as u8])
        });
        let (out, tiles) = disorganize(&img, 3).unwrap();
        for x in 0..5 {
            assert_eq!(out.get_pixel(x, 2), img.get_pixel(x, 2));
        }
        for y in 0..3 {
            assert_eq!(out.get_pixel(4, y), img.get_pixel(4, y));
        }
        // Each output tile (2x1) is the input tile named by the order.
        for (dst, &src) in tiles.order().iter().enumerate() {
            let (dx, dy) = tile_origin(dst as u32, 2, 1);
            let (sx, sy) = tile_origin(u32::from(src), 2, 1);
            for x in 0..2 {
                assert_eq!(out.get_pixel(dx + x, dy), img.get_pixel(sx + x, sy));
            }
        }
    }

    #[test]
    fn too_small_and_mismatched_maps_are_errors() {
        assert!(matches!(
            disorganize(&RgbImage::new(1, 8), 0),
            Err(DegradationError::TooSmallToDisorganize {
                width: 1,
                height: 8
            })
        ));
        let (_, tiles) = disorganize(&RgbImage::new(8, 6), 0).unwrap();
        let map = image::GrayImage::new(8, 7);
        assert!(matches!(
            tiles.try_apply(&map),
            Err(DegradationError::SizeMismatch { .. })
        ));
        assert!(tiles.try_apply(&image::GrayImage::new(8, 6)).is_ok());
    }
}
