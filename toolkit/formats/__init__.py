"""File formats: pure readers and writers, and the imports built from them.

ISO 9660 settings CD-ROMs (``iso``), VMDK descriptors and sparse extents
(``vmdkformat``, ``vmdk``, ``streamvmdk``), OVF descriptors, packages and
OVF→VMX rendering (``ovf``, ``ovfpackage``, ``ovfvmx``), safe archives
(``archive``), stemcells (``stemcell``) and strict JSON (``strictjson``).
Parsing and rendering work on bytes and file objects; what touches host files
goes through a ``Runner``. This floor sits on ``toolkit.host`` and
``toolkit.vmware``; nothing below imports it.
"""
