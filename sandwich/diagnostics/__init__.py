"""Proxy diagnostics: fidelity of rate, distortion and gradient to the real codec; speed."""
