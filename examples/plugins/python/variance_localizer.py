"""Example subprocess localizer: the local-variance detector of docs/plugins.md in numpy.

map(x, y) = min(1, var / scale), var = population variance of the luma
Y = 0.299 R + 0.587 G + 0.114 B over the (2 radius + 1)^2 window around (x, y) clipped to the
image; score = mean of the map. Parameters: radius (int >= 0, default 2), scale (> 0, default 100).
"""

import numpy as np

from harness_plugin import ParamError, serve


def window_sums(values, radius):
    """Sum of ``values`` over each pixel's window clipped to the image, and the window sizes."""
    h, w = values.shape
    table = np.zeros((h + 1, w + 1))
    table[1:, 1:] = values.cumsum(0).cumsum(1)
    y, x = np.arange(h)[:, None], np.arange(w)[None, :]
    y0, y1 = np.maximum(y - radius, 0), np.minimum(y + radius + 1, h)
    x0, x1 = np.maximum(x - radius, 0), np.minimum(x + radius + 1, w)
    sums = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    return sums, (y1 - y0) * (x1 - x0)


class Variance:
    name = "variance"
    input_size = None
    max_batch = 16

    def __init__(self, params):
        unknown = set(params) - {"radius", "scale"}
        if unknown:
            raise ParamError(sorted(unknown)[0], "unknown parameter; allowed: radius, scale")
        self.radius = params.get("radius", 2)
        self.scale = params.get("scale", 100.0)
        if not isinstance(self.radius, int) or isinstance(self.radius, bool) or self.radius < 0:
            raise ParamError("radius", f"must be a non-negative integer (pixels), got {self.radius!r}")
        if not isinstance(self.scale, (int, float)) or not self.scale > 0:
            raise ParamError("scale", f"must be a positive number (gray levels^2), got {self.scale!r}")

    def localize(self, images):
        results = []
        for _, pixels in images:
            luma = pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
            sums, n = window_sums(luma, self.radius)
            sums_sq, _ = window_sums(luma * luma, self.radius)
            mean = sums / n
            var = np.maximum(sums_sq / n - mean * mean, 0.0)
            prediction = np.minimum(var / self.scale, 1.0).astype(np.float32)
            results.append((prediction, float(prediction.mean(dtype=np.float64))))
        return results


if __name__ == "__main__":
    serve(Variance)
