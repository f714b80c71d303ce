"""VMware: the products' files and programs, spoken in Python.

``.vmx`` parsing and editing (``vmx``), typed views over a ``Vmx`` (``devices``,
``nics``), the ``vmrun`` driver and its output table (``vmrun``,
``vmrun_output``), ``ovftool`` and ``vmware-vdiskmanager`` drivers, guest
operations with captured output (``guest``, ``guest_wrapper``) and the BOSH
bootstrap procedure built from them (``bootstrap``). This floor sits on
``toolkit.host``; it never imports ``toolkit.formats`` or anything above the
toolkit.
"""
