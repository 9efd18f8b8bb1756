//! Image degradations of the robustness experiments (SPEC §5), on 8-bit RGB images.
