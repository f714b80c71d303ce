"""Every string the simulated vmrun prints, in one table, copied from real vmrun.

Each template comes from ``fixtures/outputs/vmrun/*.txt`` or from the exact-string
catalogue in ``vmware-tools-behaviour.md`` §1.5 (``tests/sim/test_messages.py``
checks the captured ones byte for byte). Templates marked ``[I]`` in a comment are
inferred: the real text was never captured. This module only holds text; it
decides nothing about when a message applies.
"""

from __future__ import annotations

from toolkit.errors import VmrunError

EXIT_OK = 0
EXIT_ERROR = 255  # vmrun's -1 as POSIX sees it
EXIT_TOOLS_UNKNOWN = 254  # checkToolsState printing "unknown" exits -2
EXIT_GUEST_NONZERO = 1  # vmrun's own code when the guest program failed; N is only in the text

VERSION_LINE = "vmrun version 1.17.0 build-24583834"

# vmrun with no arguments starts with an empty line; "(ws|fusion||player)" is literal.
HELP = f"""
{VERSION_LINE}

Usage: vmrun [AUTHENTICATION-FLAGS] COMMAND [PARAMETERS]



AUTHENTICATION-FLAGS
--------------------
These must appear before the command and any command parameters.

   -T <hostType> (ws|fusion||player)
   -vp <password for encrypted virtual machine>
   -gu <userName in guest OS>
   -gp <password in guest OS>



POWER COMMANDS           PARAMETERS           DESCRIPTION
--------------           ----------           -----------
start                    Path to vmx file     Start a VM or Team
                         [gui|nogui]

stop                     Path to vmx file     Stop a VM or Team
                         [hard|soft]

reset                    Path to vmx file     Reset a VM or Team
                         [hard|soft]

suspend                  Path to vmx file     Suspend a VM or Team
                         [hard|soft]

pause                    Path to vmx file     Pause a VM

unpause                  Path to vmx file     Unpause a VM



SNAPSHOT COMMANDS        PARAMETERS           DESCRIPTION
-----------------        ----------           -----------
listSnapshots            Path to vmx file     List all snapshots in a VM
                         [showTree]

snapshot                 Path to vmx file     Create a snapshot of a VM
                         Snapshot name

deleteSnapshot           Path to vmx file     Remove a snapshot from a VM
                         Snapshot name
                         [andDeleteChildren]

revertToSnapshot         Path to vmx file     Set VM state to a snapshot
                         Snapshot name



GUEST OS COMMANDS        PARAMETERS           DESCRIPTION
-----------------        ----------           -----------
runProgramInGuest        Path to vmx file     Run a program in Guest OS
                         [-noWait]
                         [-activeWindow]
                         [-interactive]
                         Complete-Path-To-Program
                         [Program arguments]

fileExistsInGuest        Path to vmx file     Check if a file exists in Guest OS
                         Path to file in guest

directoryExistsInGuest   Path to vmx file     Check if a directory exists in Guest OS
                         Path to directory in guest

setSharedFolderState     Path to vmx file     Modify a Host-Guest shared folder

addSharedFolder          Path to vmx file     Add a Host-Guest shared folder

removeSharedFolder       Path to vmx file     Remove a Host-Guest shared folder

enableSharedFolders      Path to vmx file     Enable shared folders in Guest
                         [runtime]

disableSharedFolders     Path to vmx file     Disable shared folders in Guest
                         [runtime]

listProcessesInGuest     Path to vmx file     List running processes in Guest OS

killProcessInGuest       Path to vmx file     Kill a process in Guest OS
                         process id

runScriptInGuest         Path to vmx file     Run a script in Guest OS
                         [-noWait]
                         [-activeWindow]
                         [-interactive]
                         Interpreter path
                         Script text

deleteFileInGuest        Path to vmx file     Delete a file in Guest OS
                         Path in guest

createDirectoryInGuest   Path to vmx file     Create a Directory in Guest OS
                         Directory path in guest

deleteDirectoryInGuest   Path to vmx file     Delete a Directory in Guest OS
                         Directory path in guest

CreateTempfileInGuest    Path to vmx file     Create a Temporary File in Guest OS

listDirectoryInGuest     Path to vmx file     List a directory in Guest OS
                         Directory path in guest

CopyFileFromHostToGuest  Path to vmx file     Copy a file from host OS to guest OS
                         Path on host
                         Path in guest

CopyFileFromGuestToHost  Path to vmx file     Copy a file from guest OS to host OS
                         Path in guest
                         Path on host

renameFileInGuest        Path to vmx file     Rename a file in Guest OS
                         Original name
                         New name

captureScreen            Path to vmx file     Capture the screen of the VM to a local file
                         Path on host

writeVariable            Path to vmx file     Write a variable in the VM state
                         [runtimeConfig|guestEnv|guestVar]
                         variable name
                         variable value

readVariable             Path to vmx file     Read a variable in the VM state
                         [runtimeConfig|guestEnv|guestVar]
                         variable name

getGuestIPAddress        Path to vmx file     Gets the IP address of the guest
                         [-wait]



GENERAL COMMANDS         PARAMETERS           DESCRIPTION
----------------         ----------           -----------
list                                          List all running VMs

upgradevm                Path to vmx file     Upgrade VM file format, virtual hw

installTools             Path to vmx file     Install Tools in Guest

checkToolsState          Path to vmx file     Check the current Tools state

deleteVM                 Path to vmx file     Delete a VM

clone                    Path to vmx file     Create a copy of the VM
                         Path to destination vmx file
                         full|linked
                         [-snapshot=Snapshot Name]
                         [-cloneName=Name]
"""

# --- errors: "Error: <VIX text>", exit 255 -------------------------------------------

NOT_POWERED_ON = "Error: The virtual machine is not powered on: {vmx}"
ALREADY_RUNNING = "Error: The virtual machine should not be powered on. It is already running."
PAUSED = "Error: The virtual machine is paused: {vmx}"
CANNOT_BE_FOUND = "Error: Cannot open VM: {vmx}, The virtual machine cannot be found"
CANNOT_READ_CONFIG = "Error: Cannot open VM: {vmx}, Cannot read the virtual machine configuration file"
UNKNOWN_SUFFIX = "Error: Cannot open VM: {vmx}, unknown file suffix"
IN_USE = "Error: This VM is in use."
CANCELED = "Error: The operation was canceled"
NOT_SUPPORTED = "Error: The operation is not supported"
INVALID_HOST_TYPE = "Invalid host type '{host_type}' specified\n" + NOT_SUPPORTED
SERVICE_NOT_INSTALLED = (
    "Unable to connect to host.\n"
    "Error: Service type VIX_SERVICEPROVIDER_VMWARE_{service} was specified, but not installed"
)
TOOLS_NOT_RUNNING = "Error: The VMware Tools are not running in the virtual machine: {vmx}"
BAD_LOGIN = "Error: Invalid user name or password for the guest OS"
ANONYMOUS = (
    "Error: Anonymous guest operations are not allowed on this virtual machine. "
    "You must call VixVM_LoginInGuest before performing guest operations"
)
FILE_NOT_FOUND = "Error: A file was not found"
GUEST_PERMISSION = "Error: Insufficient permissions in the guest operating system"  # [I] VIX 3015
HOST_PERMISSION = "Error: Insufficient permissions in the host operating system"  # [R] VIX 3014
FILE_ALREADY_EXISTS = "Error: The file already exists"  # [I] VIX_E_FILE_ALREADY_EXISTS wording
NO_SUCH_PROCESS = "Error: The process does not exist"  # [I]
INVALID_PARAMETERS = "Error: One of the parameters was invalid"  # [I] VIX_E_INVALID_ARG wording
NO_IP = "Error: Unable to get the IP address"
SNAPSHOT_EXISTS = "Error: A snapshot with the name already exists"
SNAPSHOT_MISSING = "Error: The snapshot does not exist"
SNAPSHOT_INVALID = "Error: Invalid snapshot name '{name}'\n"  # real vmrun adds an empty line
STATE_UNCHANGED = "Error: The state of the virtual machine has not changed since the last snapshot operation"
# Not a vmrun message: this simulator refuses to run guest programs unconfined.
NO_SANDBOX = "Error: vmrun-sim cannot run guest programs on this host: {reason}"

# --- answers ---------------------------------------------------------------------------

GUEST_EXIT_NONZERO = "Guest program exited with non-zero exit code: {code}"
LIST_HEADER = "Total running VMs: {count}"
SNAPSHOTS_HEADER = "Total snapshots: {count}"
PROCESS_HEADER = "Process list: {count}"
PROCESS_LINE = "pid={pid}, owner={owner}, cmd={cmd}"
DIRECTORY_HEADER = "Directory list: {count}"
FILE_EXISTS = "The file exists."
FILE_NOT_EXISTS = "The file does not exist."
DIR_EXISTS = "The directory exists."
DIR_NOT_EXISTS = "The directory does not exist."


def refusal(template: str, *, exit_code: int = EXIT_ERROR, **values: object) -> VmrunError:
    """The simulated vmrun's answer to a failed command, raised and rendered by the dispatcher."""
    return VmrunError(template.format(**values), exit_code=exit_code)
