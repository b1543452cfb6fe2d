"""companion: estimators, asymptotics and symbolic checks for FGSM adversarial training
as regularization of generalized linear models (Zuo, 2018), with the related gradient- and
operator-norm-regularization results.  See the companion Jupyter Book for the derivations.
"""
from .adversarial import fgsm_examples, fgsm_loss, goodfellow_printed_loss, shifted_margin_loss
from .families import Bernoulli, Family, Gaussian, Poisson, get_family

__version__ = "0.1.0"

__all__ = [
    "Family", "Gaussian", "Bernoulli", "Poisson", "get_family",
    "fgsm_examples", "fgsm_loss", "shifted_margin_loss", "goodfellow_printed_loss",
]
