# Run a program inside a Windows guest with its output captured to files.
#
# usage: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass
#            -File run-captured.ps1 DIR PROGRAM [ARG...]
#
# vmrun's runProgramInGuest returns neither the program's output nor (reliably)
# its exit code, so this wrapper writes them where the host copies them back:
#   DIR\stdout, DIR\stderr   the program's output bytes, as they are produced
#   DIR\exit-code            its exit code, written last and atomically
#                            (its presence means "finished")
# The wrapper exits with the program's code. Arguments may contain spaces and
# quotes: each is quoted by the rules of CommandLineToArgvW before the program
# is started, because Start-Process joins -ArgumentList with bare spaces.

param(
    [Parameter(Mandatory = $true, Position = 0)][string]$Dir,
    [Parameter(Mandatory = $true, Position = 1)][string]$Program,
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Arguments = @()
)

function Quote-Argument([string]$Text) {
    if ($Text.Length -gt 0 -and $Text -notmatch '[\s"]') { return $Text }
    # Backslashes are literal except before a quote: double those, then escape the quote;
    # double trailing backslashes too, since the closing quote follows them.
    $escaped = [regex]::Replace($Text, '(\\*)"', '$1$1\"')
    $escaped = [regex]::Replace($escaped, '(\\+)$', '$1$1')
    return '"' + $escaped + '"'
}

$stdout = Join-Path $Dir 'stdout'
$stderr = Join-Path $Dir 'stderr'
$code = 1
try {
    $start = @{
        FilePath = $Program
        NoNewWindow = $true
        PassThru = $true
        RedirectStandardOutput = $stdout
        RedirectStandardError = $stderr
    }
    $line = (@($Arguments) | ForEach-Object { Quote-Argument $_ }) -join ' '
    if ($line.Length -gt 0) { $start.ArgumentList = $line }
    $process = Start-Process @start
    # Touching Handle keeps ExitCode available after the process ends (a known .NET quirk).
    $null = $process.Handle
    $process.WaitForExit()
    $code = $process.ExitCode
} catch {
    # The program could not be started: report why as its stderr, exit 1.
    [System.IO.File]::AppendAllText($stderr, ($_ | Out-String))
    if (-not (Test-Path $stdout)) { [System.IO.File]::WriteAllText($stdout, '') }
}
$tmp = Join-Path $Dir 'exit-code.tmp'
[System.IO.File]::WriteAllText($tmp, "$code`r`n")
Move-Item -Force -LiteralPath $tmp -Destination (Join-Path $Dir 'exit-code')
exit $code
