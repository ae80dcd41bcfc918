"""auracodec's built-in plugins, registered through the ``auracodec.plugins``
entry-point group like any third-party plugin."""
