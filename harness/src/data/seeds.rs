//! Every seed the harness derives, in one place. Two schemes exist on purpose and neither may
//! change, since both decide pixels and resamples that committed baselines record:
//! [`from_labels`] seeds per-run randomness (degradations, bootstrap, training batches) from the
//! suite seed and readable labels; [`mix`] and [`fnv1a`] seed the synthetic benchmark's
//! renderer from numeric keys, which fixes every synthetic image.

/// Seed of one random thing, from a base seed and the labels of its key (length-prefixed
/// SHA-256, so `["ab", "c"]` and `["a", "bc"]` differ); stable across platforms and releases.
pub fn from_labels(seed: u64, labels: &[&str]) -> u64 {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(seed.to_le_bytes());
    for label in labels {
        hasher.update((label.len() as u64).to_le_bytes());
        hasher.update(label.as_bytes());
    }
    let digest = hasher.finalize();
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Mixes 64-bit words into one seed (SplitMix64 finaliser over a running state); stable
/// across platforms and releases.
pub fn mix(words: &[u64]) -> u64 {
    let mut h = 0x6A09_E667_F3BC_C909u64;
    for &p in words {
        h = (h ^ p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// FNV-1a hash of a string, a word for [`mix`] that names a thing.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Lower-case hex of bytes (hashes in file names and records).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_length_prefixed() {
        assert_ne!(from_labels(0, &["ab", "c"]), from_labels(0, &["a", "bc"]));
        assert_ne!(from_labels(0, &["a"]), from_labels(1, &["a"]));
    }

    #[test]
    fn fnv1a_matches_the_reference_vector() {
        // FNV-1a 64 of "a" (the published test vector).
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
