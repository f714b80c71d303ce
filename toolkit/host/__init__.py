"""Host access: the one boundary that runs programs and touches host files.

``runner`` (the ``Runner`` protocol, ``LocalRunner``), ``ssh`` (``SshRunner``
over one paramiko connection), ``clock`` (time, ``wait_until``, ``retry``),
``digest`` (hashing a host file through a Runner) and ``exitcode`` (the code a
wrapper script records). This floor knows nothing of VMware or of file formats:
it imports only ``toolkit.errors`` and itself.
"""
