#Requires -Version 7.4
<#
.SYNOPSIS
    Benchmarks argument completion from the estate (Tab after -Service, -Hostname, -HostId, -Profile) on a
    synthetic 1,000-service estate and records the figures in docs/benchmarks.md (## Completion).

.DESCRIPTION
    The estate comes from tools/bench/GateBench (the gates' benchmark generator, kept with --keep). In this pwsh,
    with the built module imported, each completion runs through TabExpansion2, as the console does on Tab: the
    first one (the file is parsed) and then the median of repeated ones (the loader's digest-keyed cache answers,
    so a Tab costs reading and hashing the file). Goal: under 100 ms.
    build.ps1 bench runs this script with -ModulePath, -RepoRoot and -BenchmarksFile.
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path,
    [string] $BenchmarksFile = (Join-Path $RepoRoot 'docs' 'benchmarks.md'),
    [int] $Services = 1000,
    [int] $Runs = 15,
    # Fresh pwsh processes for the first Tab after the import.
    [int] $FreshRuns = 5,
    # An estate GateBench already generated (its <Services> folder); without it GateBench runs first.
    [string] $EstateRoot
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if (-not $ModulePath) {
    $version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'InfraRelocation.psd1')).ModuleVersion
    $ModulePath = Join-Path $RepoRoot 'output' 'InfraRelocation' $version 'InfraRelocation.psd1'
}

$work = Join-Path ([IO.Path]::GetTempPath()) "completionbench-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory $work | Out-Null
try {
    $root = $EstateRoot
    if (-not $root) {
        $project = Join-Path $RepoRoot 'tools' 'bench' 'GateBench'
        $lines = @(& dotnet run -c Release --project $project -- --sizes $Services --runs 1 --keep $work 2>&1)
        if ($LASTEXITCODE -ne 0) { $lines | Out-Host; throw "GateBench failed with exit code $LASTEXITCODE" }
        $root = Join-Path $work $Services
    }
    Import-Module $ModulePath

    $cases = @(
        @{ Parameter = '-Service'; Line = "Set-RelocationServiceStatus -Root '$root' -Service " }
        @{ Parameter = '-Hostname'; Line = "Get-VmReadiness -Root '$root' -Hostname " }
        @{ Parameter = '-HostId'; Line = "Set-HypervisorHostname -Root '$root' -HostId " }
        @{ Parameter = '-Profile'; Line = "New-ProxmoxVm -Root '$root' -Profile " }
    )
    $rows = foreach ($case in $cases) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $first = TabExpansion2 -inputScript $case.Line -cursorColumn $case.Line.Length
        $firstMs = $sw.Elapsed.TotalMilliseconds
        $times = foreach ($i in 1..$Runs) {
            $sw.Restart()
            $null = TabExpansion2 -inputScript $case.Line -cursorColumn $case.Line.Length
            $sw.Elapsed.TotalMilliseconds
        }
        $median = @($times | Sort-Object)[[int][Math]::Floor($Runs / 2)]
        [pscustomobject]@{ Parameter = $case.Parameter; Candidates = $first.CompletionMatches.Count; FirstMs = $firstMs; MedianMs = $median }
    }
    $rows | Format-Table | Out-Host

    # The first Tab after the import, as a user gets it, split into pwsh's share and ours: in a fresh pwsh, first
    # pwsh's own first completion of a parameter value (-Root, which has no completer of ours: pwsh completes paths;
    # it warms pwsh's completion machinery, which any module's first Tab pays), then the first -Service Tab (our
    # completer: it finds the root and reads the manifest). CPU time of the process is measured around each.
    $pwsh = @([Environment]::ProcessPath; if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    $serviceLine = "Set-RelocationServiceStatus -Root '$($root -replace "'", "''")' -Service "
    $child = "Import-Module '$($ModulePath -replace "'", "''")'; `$self = [Diagnostics.Process]::GetCurrentProcess(); `$cpu = `$self.TotalProcessorTime; `$sw = [Diagnostics.Stopwatch]::StartNew(); " +
        "`$ownLine = 'Set-RelocationServiceStatus -Root '; `$null = TabExpansion2 -inputScript `$ownLine -cursorColumn `$ownLine.Length; `$own = `$sw.Elapsed.TotalMilliseconds; `$self.Refresh(); `$ownCpu = (`$self.TotalProcessorTime - `$cpu).TotalMilliseconds; " +
        "`$line = '$($serviceLine -replace "'", "''")'; `$cpu = `$self.TotalProcessorTime; `$sw.Restart(); " +
        "`$n = (TabExpansion2 -inputScript `$line -cursorColumn `$line.Length).CompletionMatches.Count; `$ms = `$sw.Elapsed.TotalMilliseconds; `$self.Refresh(); " +
        "'{0} {1} {2} {3} {4}' -f `$own, `$ms, `$n, (`$self.TotalProcessorTime - `$cpu).TotalMilliseconds, `$ownCpu"
    $fresh = foreach ($i in 1..$FreshRuns) {
        $own, $firstService, $count, $cpu, $ownCpu = (& $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $child) -split ' '
        if ([int]$count -ne $Services) { throw "The first -Service Tab in a fresh pwsh offered $count names, expected $Services." }
        [pscustomobject]@{ Own = [double]$own; OwnCpu = [double]$ownCpu; FirstService = [double]$firstService; Cpu = [double]$cpu }
    }
    $middle = [int][Math]::Floor($FreshRuns / 2)
    $ownMedian = @($fresh.Own | Sort-Object)[$middle]
    $ownCpuMedian = @($fresh.OwnCpu | Sort-Object)[$middle]
    $freshMedian = @($fresh.FirstService | Sort-Object)[$middle]
    $freshCpu = @($fresh.Cpu | Sort-Object)[$middle]
    Write-Host ("Fresh pwsh: pwsh's own first completion (-Root) {0:n0} ms ({1:n0} ms CPU), then the first -Service Tab {2:n0} ms ({3:n0} ms CPU; medians of {4})" -f $ownMedian, $ownCpuMedian, $freshMedian, $freshCpu, $FreshRuns)

    $load = (Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ' | Select-Object -First 1
    $section = [Text.StringBuilder]::new()
    [void] $section.AppendLine('## Completion')
    [void] $section.AppendLine()
    [void] $section.AppendLine("Measured by ``tools/bench/Measure-Completion.ps1`` (``dotnet pwsh ./build.ps1 bench``) on $([DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm')) UTC:")
    [void] $section.AppendLine("pwsh $($PSVersionTable.PSVersion), $([Environment]::ProcessorCount) cores, load average $load. A synthetic estate of $Services services (GateBench);")
    [void] $section.AppendLine("each completion goes through ``TabExpansion2``, as the console does on Tab. Goal: under 100 ms.")
    [void] $section.AppendLine()
    [void] $section.AppendLine('| Parameter | Candidates | First Tab (file parsed) | Next Tabs (median of ' + $Runs + ') |')
    [void] $section.AppendLine('|---|---|---|---|')
    foreach ($row in $rows) {
        $verdict = if ($row.MedianMs -lt 100) { 'meets' } else { 'misses' }
        [void] $section.AppendLine(('| `{0}` | {1:n0} | {2:n0} ms | **{3:n0} ms** ({4}) |' -f $row.Parameter, $row.Candidates, $row.FirstMs, $row.MedianMs, $verdict))
    }
    [void] $section.AppendLine()
    $freshVerdict = if ($freshCpu -lt 100) { 'meets' } else { 'misses' }
    [void] $section.AppendLine("First Tab after the import, in a fresh ``pwsh -NoProfile`` (median of $FreshRuns processes): pwsh's own first completion")
    [void] $section.AppendLine(("of a parameter value (``Set-RelocationServiceStatus -Root ``+Tab: no completer of ours, pwsh completes paths) takes {0:n0} ms ({1:n0} ms" -f $ownMedian, $ownCpuMedian))
    [void] $section.AppendLine(("of CPU); the first ``-Service`` Tab after it, our share (find the root, read the manifest), **{0:n0} ms of CPU** ({1}; {2:n0} ms wall)." -f $freshCpu, $freshVerdict, $freshMedian))
    [void] $section.AppendLine()

    $existing = if (Test-Path $BenchmarksFile) { Get-Content $BenchmarksFile -Raw } else { "# Benchmarks`n`n" }
    $match = [regex]::Match($existing, '(?ms)^## Completion\r?\n.*?(?=^## |\z)')
    $updated = if ($match.Success) {
        $existing.Remove($match.Index, $match.Length).Insert($match.Index, $section.ToString())
    } else {
        $existing.TrimEnd() + "`n`n" + $section.ToString()
    }
    Set-Content -LiteralPath $BenchmarksFile -Value $updated.TrimEnd() -NoNewline
    Add-Content -LiteralPath $BenchmarksFile -Value ''
    Write-Host "Recorded in $BenchmarksFile"
} finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}
