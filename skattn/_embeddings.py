# TEMPORARY SHIM until network-split merges.
class LinearEmbedding:
    n_bins = None


class PiecewiseLinearEmbedding:
    n_bins = 48


NUMERICAL_EMBEDDINGS = {
    "linear": LinearEmbedding,
    "piecewise_linear": PiecewiseLinearEmbedding,
}
