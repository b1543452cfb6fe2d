r"""Symbolic (sympy) derivations behind the book, each with checks that prove its identities.

Every public derivation function returns a :class:`~companion.symbolic.core.Derivation` holding
display steps and :class:`~companion.symbolic.core.Check` results.  ``python -m companion.symbolic``
runs them all (see :func:`run_all`).  The asymptotic formulas (``knight_fu`` onwards) are the
book's own reconstruction, derived from first principles and consistent with Zuo (2018).
"""
from __future__ import annotations

import time

from .asymptotics import kappa_v, knight_fu, logistic_kappa_v, orthogonal, pivotal, soft_threshold_moments
from .core import (Check, Derivation, check_condition, check_equal, check_nonnegative_polynomial,
                   check_not_equal, check_numeric, check_series, is_zero, sign_cases)
from .expansions import first_order
from .fgsm import fgsm_examples, holder_linear, mcp_penalty, noise_direction, scad_penalty
from .related import dual_maximizer, lyu_roth

#: every derivation, in book order (name -> function)
DERIVATIONS = {
    "fgsm_examples": fgsm_examples,
    "holder_linear": holder_linear,
    "noise_direction": noise_direction,
    "first_order": first_order,
    "knight_fu": knight_fu,
    "kappa_v": kappa_v,
    "orthogonal": orthogonal,
    "pivotal": pivotal,
    "lyu_roth": lyu_roth,
}


def run(name: str) -> Derivation:
    """Run one derivation by name and record its wall time in ``Derivation.seconds``."""
    t0 = time.perf_counter()
    d = DERIVATIONS[name]()
    d.seconds = time.perf_counter() - t0
    return d


def run_all(names=None, registry=None, verbose: bool = True, stream=None) -> list:
    """Run the derivations (all by default), print one line each with verdict and time."""
    import sys

    registry = DERIVATIONS if registry is None else registry
    stream = sys.stdout if stream is None else stream
    out = []
    for name in (names or list(registry)):
        t0 = time.perf_counter()
        try:
            d = registry[name]()
        except Exception as exc:  # a crashing derivation is a failed derivation
            d = Derivation(name, name, checks=[Check("derivation raised", False, repr(exc))])
        d.seconds = time.perf_counter() - t0
        out.append(d)
        if verbose:
            n_ok = sum(c.passed for c in d.checks)
            print(f"{'PASS' if d.passed else 'FAIL'}  {name:<16} {n_ok:>3}/{len(d.checks):<3} checks  {d.seconds:6.2f} s",
                  file=stream)
            for c in d.checks:
                if not c.passed:
                    print("      " + c.line(), file=stream)
    return out


def main(argv=None, registry=None) -> int:
    """Command-line entry point; returns 0 when every check passes, 1 otherwise."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m companion.symbolic", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="derivations to run (default: all)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    results = run_all(args.names or None, registry=registry)
    ok = all(d.passed for d in results)
    print(f"{'ALL PASSED' if ok else 'SOME CHECKS FAILED'}: {len(results)} derivations, "
          f"{sum(len(d.checks) for d in results)} checks, {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


__all__ = [
    "Check", "Derivation", "DERIVATIONS", "run", "run_all", "main",
    "check_equal", "check_not_equal", "check_series", "check_numeric", "check_condition",
    "check_nonnegative_polynomial", "is_zero", "sign_cases",
    "fgsm_examples", "holder_linear", "noise_direction", "first_order", "knight_fu", "kappa_v",
    "orthogonal", "pivotal", "lyu_roth",
    "scad_penalty", "mcp_penalty", "dual_maximizer", "soft_threshold_moments", "logistic_kappa_v",
]
