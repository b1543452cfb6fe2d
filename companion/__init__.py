"""companion: estimators, asymptotics and symbolic checks for FGSM adversarial training
as regularization of generalized linear models (Zuo, 2018), with the related gradient- and
operator-norm-regularization results.  See the companion Jupyter Book for the derivations.
"""
from .adversarial import (adversarial_loss, fgsm_examples, fgsm_loss, generalized_examples,
                          goodfellow_printed_loss, shifted_margin_loss, worst_case_examples)
from .estimators import GeneralizedFGSM, PenalizedGLM
from .cv import GeneralizedFGSMCV, PenalizedGLMCV
from .families import Bernoulli, Family, Gaussian, Poisson, get_family
from .paths import alpha_max, eps_max, fgsm_path, penalized_path
from .pivotal import pivotal_eps
from .penalties import L1, MCP, SCAD, Bridge, Penalty, WeightedL1, get_penalty

__version__ = "0.1.0"

__all__ = [
    "Family", "Gaussian", "Bernoulli", "Poisson", "get_family",
    "fgsm_examples", "fgsm_loss", "shifted_margin_loss", "goodfellow_printed_loss",
    "generalized_examples", "worst_case_examples", "adversarial_loss",
    "Penalty", "L1", "Bridge", "SCAD", "MCP", "WeightedL1", "get_penalty",
    "GeneralizedFGSM", "PenalizedGLM", "GeneralizedFGSMCV", "PenalizedGLMCV", "pivotal_eps",
    "eps_max", "alpha_max", "fgsm_path", "penalized_path",
]
