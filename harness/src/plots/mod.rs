//! Charts of results (PNG and SVG) drawn with plotters.
