"""How good the score is, measured on its audio: the report, the baselines, `scorebridge eval`.

``baselines``: the same analysis with information taken away, rendered by the score's own
backend; ``report``: report.html with curves, beat/cut alignment and metrics against the
baselines; ``eval_cli``: the ``eval`` command. The measurements themselves are in
``bridge.eval``, which knows nothing of the composer.
"""
