#Requires -Version 7.4
<#
.SYNOPSIS
    Measures how much `Import-Module InfraRelocation` adds to the start of a fresh pwsh.

.DESCRIPTION
    Starts `pwsh -NoProfile -c exit`, `pwsh -NoProfile -c "Import-Module <built psd1>; exit"` and, side by side,
    the peer `pwsh -NoProfile -c "Import-Module Microsoft.PowerShell.PSResourceGet; exit"` alternately, $Runs
    times each (after one warm-up of each), and reports the median of each and the median extra time of each
    import over the bare pwsh; the two imports also time Import-Module itself inside their process. The goals:
    < 150 ms, and no more than PSResourceGet's import in the same run (issue 17.3; compared per round, see
    Get-PeerVerdict), with the full help and format views present (checked once before the runs). The result
    replaces the "## Module import" section of docs/benchmarks.md.
    Run through `dotnet pwsh ./build.ps1 bench`, which passes the parameters.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string[]] $PwshCommand,
    [string] $BenchmarksFile,
    [int] $Runs = 20,
    [int] $GoalMilliseconds = 150
)

$ErrorActionPreference = 'Stop'

# Wall time of one fresh pwsh; its own CPU time (user + system, written to stderr before it exits) goes to $script:LastCpu:
# on the shared machine wall times inflate with the load, CPU times much less.
function Measure-Start([string] $Command) {
    $exe = $PwshCommand[0]
    $prefix = @($PwshCommand | Select-Object -Skip 1)
    $cpuLine = '[Console]::Error.WriteLine("cpu=" + [long][Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds)'
    $script = [regex]::Replace($Command, '(^|; )exit$', { param($m) $m.Groups[1].Value + $cpuLine + '; exit' })
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $err = & $exe @prefix -NoProfile -NonInteractive -Command $script 2>&1 | Where-Object { $_ -is [Management.Automation.ErrorRecord] } | ForEach-Object { "$_" }
    $watch.Stop()
    if ($LASTEXITCODE -ne 0) { throw "pwsh -c '$Command' failed with exit code $LASTEXITCODE." }
    $script:LastCpu = [double](($err | Where-Object { $_ -match '^cpu=\d+$' } | Select-Object -Last 1) -replace '^cpu=', '')
    $importLine = $err | Where-Object { $_ -match '^import=[\d.]+$' } | Select-Object -Last 1   # only the two timed imports write one
    $script:LastImport = if ($importLine) { [double]($importLine -replace '^import=', '') } else { [double]::NaN }
    $watch.Elapsed.TotalMilliseconds
}

function Get-Median([double[]] $Values) {
    $sorted = $Values | Sort-Object
    $middle = [int][math]::Floor($sorted.Count / 2)
    if ($sorted.Count % 2) { $sorted[$middle] } else { ($sorted[$middle - 1] + $sorted[$middle]) / 2 }
}

# Reference: the fixed cost of the first Import-Module of any script module in a fresh session.
$emptyModule = Join-Path ([IO.Path]::GetTempPath()) "ir-bench-empty-$PID.psm1"
Set-Content $emptyModule '$null = 1'
# Diagnostic: the same module without its format file, to show the format file's share of the time.
$noFormat = Join-Path ([IO.Path]::GetTempPath()) "ir-bench-noformat-$PID"
Copy-Item (Split-Path $ModulePath) $noFormat -Recurse
$noFormatManifest = Join-Path $noFormat (Split-Path $ModulePath -Leaf)
(Get-Content $noFormatManifest -Raw) -replace '(?m)^(\s*FormatsToProcess\s*=\s*).*$', '$1@()' | Set-Content $noFormatManifest
$bare = 'exit'
$empty = "Import-Module '$emptyModule'; exit"
# The two imports also time Import-Module itself with a stopwatch, inside the process: a figure without the noise of
# starting a process, which in the same run shows what the whole-process difference is made of.
$timed = '$watch = [Diagnostics.Stopwatch]::StartNew(); {0}; [Console]::Error.WriteLine("import=" + $watch.Elapsed.TotalMilliseconds); exit'
$import = $timed -f "Import-Module '$($ModulePath -replace "'", "''")'"
$importNoFormat = "Import-Module '$($noFormatManifest -replace "'", "''")'; exit"
# The peer: PSResourceGet, the binary module that ships with pwsh (issue 17.3: at least as cheap as its import).
$peer = $timed -f 'Import-Module Microsoft.PowerShell.PSResourceGet'
# The import measured must keep its full help and format views: checked once, in a fresh pwsh like the runs.
$complete = "Import-Module '$($ModulePath -replace "'", "''")'; if (-not (Get-FormatData -TypeName InfraRelocation.Receipts.RelocationReceipt) -or " +
    "-not ((Get-Help Invoke-RelocationGate -Full).Examples)) { exit 3 }; exit"
try {
    Measure-Start $bare | Out-Null
    Measure-Start $import | Out-Null
    Measure-Start $peer | Out-Null
    Measure-Start $complete | Out-Null   # throws when the help or the format views are missing

    $bareTimes = [Collections.Generic.List[double]]::new()
    $emptyTimes = [Collections.Generic.List[double]]::new()
    $importTimes = [Collections.Generic.List[double]]::new()
    $noFormatTimes = [Collections.Generic.List[double]]::new()
    $peerTimes = [Collections.Generic.List[double]]::new()
    $bareCpu = [Collections.Generic.List[double]]::new()
    $importCpu = [Collections.Generic.List[double]]::new()
    $peerCpu = [Collections.Generic.List[double]]::new()
    $importInside = [Collections.Generic.List[double]]::new()
    $peerInside = [Collections.Generic.List[double]]::new()
    for ($i = 0; $i -lt $Runs; $i++) {
        # Interleave, so a busy moment on the (shared) machine hits every series alike.
        $bareTimes.Add((Measure-Start $bare)); $bareCpu.Add($script:LastCpu)
        $emptyTimes.Add((Measure-Start $empty))
        $importTimes.Add((Measure-Start $import)); $importCpu.Add($script:LastCpu); $importInside.Add($script:LastImport)
        $noFormatTimes.Add((Measure-Start $importNoFormat))
        $peerTimes.Add((Measure-Start $peer)); $peerCpu.Add($script:LastCpu); $peerInside.Add($script:LastImport)
    }
} finally {
    Remove-Item $emptyModule -ErrorAction Ignore
    Remove-Item $noFormat -Recurse -Force -ErrorAction Ignore
}
$bareMedian = Get-Median $bareTimes
$emptyMedian = Get-Median $emptyTimes
$importMedian = Get-Median $importTimes
$extra = Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $importTimes[$i] - $bareTimes[$i] })
$formatShare = Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $importTimes[$i] - $noFormatTimes[$i] })
$overEmpty = Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $importTimes[$i] - $emptyTimes[$i] })
$peerExtra = Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $peerTimes[$i] - $bareTimes[$i] })
$extraCpu = Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $importCpu[$i] - $bareCpu[$i] })
$peerExtraCpu = Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $peerCpu[$i] - $bareCpu[$i] })

# Against the peer, each round's two imports ran a second apart: their difference (ours - peer) is the fair
# comparison. Cheaper when the middle half of the rounds' differences (the interquartile range) is below 0; at least
# as cheap when their median is at most 0; level when the median is above 0 but the middle half still includes 0,
# i.e. the runs cannot tell the two apart.
function Get-PeerVerdict([double[]] $Ours, [double[]] $Peer) {
    $differences = @(for ($i = 0; $i -lt $Ours.Count; $i++) { $Ours[$i] - $Peer[$i] } ) | Sort-Object
    $median = Get-Median $differences
    $low = $differences[[int][math]::Floor(($differences.Count - 1) / 4)]
    $high = $differences[[int][math]::Ceiling(3 * ($differences.Count - 1) / 4)]
    $word = if ($high -lt 0) { 'cheaper than' } elseif ($median -le 0) { 'at least as cheap as' } elseif ($low -le 0) { 'level with' } else { 'MORE EXPENSIVE than' }
    '{0} it (ours minus its, per round: median {1:+0;-0;0} ms, middle half {2:+0;-0;0} to {3:+0;-0;0} ms)' -f $word, $median, $low, $high
}
$peerVerdict = Get-PeerVerdict $importTimes $peerTimes
$peerVerdictCpu = Get-PeerVerdict $importCpu $peerCpu
$peerVerdictInside = Get-PeerVerdict $importInside $peerInside
$load = (Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ' | Select-Object -First 1
$verdict = if ($extra -lt $GoalMilliseconds) { 'meets' } else { 'MISSES' }

$result = [pscustomobject]@{
    Runs               = $Runs
    BareMedianMs       = [math]::Round($bareMedian)
    EmptyModuleMs      = [math]::Round($emptyMedian)
    ImportMedianMs     = [math]::Round($importMedian)
    ExtraMedianMs      = [math]::Round($extra)
    ExtraOverEmptyMs   = [math]::Round($overEmpty)
    FormatFileMs       = [math]::Round($formatShare)
    PSResourceGetExtraMs = [math]::Round($peerExtra)
    ExtraCpuMs         = [math]::Round($extraCpu)
    PSResourceGetExtraCpuMs = [math]::Round($peerExtraCpu)
    ImportInsideMs     = [math]::Round((Get-Median $importInside))
    PSResourceGetInsideMs = [math]::Round((Get-Median $peerInside))
    GoalMs             = $GoalMilliseconds
}
$result | Format-List | Out-Host
Write-Host ("Import-Module adds {0:n0} ms (median of {1} paired runs): {2} the goal of < {3} ms." -f $extra, $Runs, $verdict, $GoalMilliseconds)
Write-Host ("PSResourceGet's import adds {0:n0} ms in the same runs: InfraRelocation's is {1}." -f $peerExtra, $peerVerdict)
Write-Host ("Timed inside the processes: Import-Module InfraRelocation {0:n0} ms, PSResourceGet {1:n0} ms: InfraRelocation's is {2}." -f (Get-Median $importInside), (Get-Median $peerInside), $peerVerdictInside)

if ($BenchmarksFile) {
    $version = (Import-PowerShellDataFile $ModulePath).ModuleVersion
    $cpu = (Get-Content /proc/cpuinfo -ErrorAction Ignore | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $section = @"
## Module import

Measured by ``tools/bench/Measure-ModuleImport.ps1`` (``dotnet pwsh ./build.ps1 bench``) on $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC:
InfraRelocation $version, pwsh $($PSVersionTable.PSVersion) on .NET $([Environment]::Version), $([Environment]::ProcessorCount) cores$(if ($cpu) { " ($cpu)" }), shared machine (load average $load at the end).
Each series is $Runs runs of a fresh ``pwsh -NoProfile -NonInteractive``, interleaved, after one warm-up.

| Series | Median |
|---|---|
| ``pwsh -c exit`` | $([math]::Round($bareMedian)) ms |
| ``pwsh -c "Import-Module <empty .psm1>; exit"`` (reference) | $([math]::Round($emptyMedian)) ms |
| ``pwsh -c "Import-Module <built psd1>; exit"`` | $([math]::Round($importMedian)) ms |
| **Extra time of the import** (median of paired differences) | **$([math]::Round($extra)) ms** (goal < $GoalMilliseconds ms: $verdict) |
| Extra time over importing an empty script module | $([math]::Round($overEmpty)) ms |
| Share of the format file (import with vs without ``FormatsToProcess``) | $([math]::Round($formatShare)) ms |
| ``pwsh -c "Import-Module Microsoft.PowerShell.PSResourceGet; exit"`` (the peer) | $([math]::Round((Get-Median $peerTimes))) ms |
| **Extra time of PSResourceGet's import** (same runs) | **$([math]::Round($peerExtra)) ms**: InfraRelocation's is $peerVerdict |
| Extra CPU time (user + system) of the import (median of paired differences) | $([math]::Round($extraCpu)) ms |
| Extra CPU time of PSResourceGet's import (same runs) | $([math]::Round($peerExtraCpu)) ms: InfraRelocation's is $peerVerdictCpu |
| ``Import-Module`` timed inside the process (stopwatch), InfraRelocation's | $([math]::Round((Get-Median $importInside))) ms |
| ``Import-Module`` timed inside the process, PSResourceGet's (same runs) | $([math]::Round((Get-Median $peerInside))) ms: InfraRelocation's is $peerVerdictInside |

Both imports are whole processes against the same bare pwsh, interleaved in one run. Before the runs, one fresh
pwsh imports the built module and checks that the full help (``Get-Help Invoke-RelocationGate -Full`` has examples)
and the format views (``Get-FormatData`` for the receipts) are there, so the figure is for the complete module.

The manifest's RootModule is the cmdlet assembly itself (``bin/InfraRelocation.Commands.dll``), as PSResourceGet's
is: pwsh loads it and discovers its 30 cmdlets, and its ``IModuleAssemblyInitializer`` only registers a resolver.
The import loads InfraRelocation.Commands.dll and InfraRelocation.dll (the public types), both into the default
context; InfraRelocation.Core, YamlDotNet, SSH.NET and BouncyCastle load into the module's own context from
``bin/private/`` when a cmdlet first needs them (docs/design/load-context.md). Until 2026-12-01 a loader psm1
imported the cmdlet assembly into that context as a nested module, which pwsh had to compile and run on every import.
The figures move by tens of milliseconds with the machine's load: compare only series of one run.

"@
    $existing = if (Test-Path $BenchmarksFile) { Get-Content $BenchmarksFile -Raw } else { "# Benchmarks`n`nEach section is owned and rewritten by the script that measures it.`n`n" }
    $pattern = '(?ms)^## Module import\s*$.*?(?=^## |\z)'
    $updated = if ($existing -match $pattern) { [regex]::Replace($existing, $pattern, { param($m) $section + "`n" }) } else { $existing.TrimEnd() + "`n`n" + $section }
    Set-Content -LiteralPath $BenchmarksFile -Value ($updated.TrimEnd() + "`n") -NoNewline -Encoding utf8NoBOM
    Write-Host "Wrote the '## Module import' section of $BenchmarksFile"
}
