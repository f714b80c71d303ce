"""The Runner over SSH: ``SshRunner`` (``runner``), its target and host-key
pinning (``target``), command lines for POSIX shells and cmd.exe (``command``),
SFTP file operations (``files``) and Windows programs started outside the
session's job object (``windows``). paramiko is imported only here.
"""
