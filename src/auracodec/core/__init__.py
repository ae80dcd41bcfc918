"""auracodec's kernel: hook specs, registry, framing, pipeline, config, stats.

These modules are internal; the public names are re-exported by
:mod:`auracodec`, and plugin authors use :mod:`auracodec.plugin`.
"""
