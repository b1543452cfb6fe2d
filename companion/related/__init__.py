"""Experiments of the chapters on related results: gradient regularization (Lyu et al. 2015),
operator-norm regularization (Roth et al. 2020) and less confident networks (Wen et al. 2020)."""
