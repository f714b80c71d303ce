"""Host access: the one boundary that runs programs and touches host files.

``runner`` (the ``Runner`` protocol, ``LocalRunner``), ``ssh`` (``SshRunner``
over one paramiko connection), ``clock`` (time, ``wait_until``, ``retry``),
``digest`` (hashing a host file through a Runner), ``exitcode`` (the code a
wrapper script records) and ``interrupts`` (SIGINT/SIGTERM as an exception,
for the commands' entry points). This floor knows nothing of VMware or of file formats:
it imports only ``toolkit.errors`` and itself.
"""
