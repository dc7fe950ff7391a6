"""The sandwich: pre/post nets around a real codec, trained through a differentiable proxy.

This package is a method plug-in of the ``bench`` harness (``sandwich.build`` registers the
``sandwich`` kind); the harness never imports it.
"""
