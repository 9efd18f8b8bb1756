//! "Did you mean" suggestions for misspelt names, shared by every crate that rejects a name:
//! the candidate most similar to the word (case-insensitive Jaro–Winkler), if similar enough.

/// Smallest Jaro–Winkler similarity (exclusive) for a suggestion: keeps typos, transpositions
/// and truncations ("oracel", "jpg", "valeu") but not unrelated words.
pub const THRESHOLD: f64 = 0.8;

/// The candidate most similar to `word`, compared case-insensitively, if its Jaro–Winkler
/// similarity is above [`THRESHOLD`]; among equally similar candidates, the first.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let similarity = strsim::jaro_winkler(&word, &candidate.to_lowercase());
        if similarity > THRESHOLD && best.is_none_or(|(b, _)| similarity > b) {
            best = Some((similarity, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `" (did you mean 'x'?)"` for the [`closest`] candidate, or `""` when none is close, to append
/// to a message such as "unknown degradation 'jpg'".
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean '{c}'?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_case_insensitively() {
        assert_eq!(closest("oracel", ["oracle", "constant"]), Some("oracle"));
        assert_eq!(closest("Constnt", ["oracle", "constant"]), Some("constant"));
        assert_eq!(closest("JPEG", ["jpeg", "blur"]), Some("jpeg"));
        assert_eq!(closest("jpeg", ["JPEG", "blur"]), Some("JPEG"));
    }

    #[test]
    fn unrelated_words_get_no_suggestion() {
        assert_eq!(closest("xyz", ["oracle", "constant"]), None);
        assert_eq!(closest("anything", []), None);
        assert_eq!(did_you_mean("xyz", ["oracle"]), "");
    }

    #[test]
    fn ties_go_to_the_first_best() {
        assert_eq!(closest("ab", ["abx", "aby"]), Some("abx"));
        assert_eq!(closest("ab", ["aby", "abx"]), Some("aby"));
    }

    #[test]
    fn did_you_mean_formats_the_phrase() {
        assert_eq!(
            did_you_mean("jpg", ["jpeg", "blur"]),
            " (did you mean 'jpeg'?)"
        );
    }
}
