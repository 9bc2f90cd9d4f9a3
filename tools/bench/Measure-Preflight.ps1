<#
.SYNOPSIS
    Measures Invoke-RelocationPreflight over many hosts: wall time at several -ThrottleLimit values against the
    ceil(hosts / parallelism) x probe-latency model.
.DESCRIPTION
    Builds a synthetic estate in a temp folder: -Targets services in status applied, each on its own to_host
    (so each host is required), every ssh target pointing at one loopback listener that accepts TCP connections
    and never sends an SSH banner (a hung host). Each probe therefore costs exactly the connect timeout
    (-TimeoutSeconds), which makes the expected wall time ceil(Targets / p) x timeout. Prints a markdown table.
.EXAMPLE
    dotnet pwsh tools/bench/Measure-Preflight.ps1 -Targets 200 -Parallelism 1,16,64
#>
[CmdletBinding()]
param(
    [string]$ModulePath,
    [string]$RepoRoot = (Join-Path $PSScriptRoot '..' '..'),
    [int]$Targets = 200,
    [int[]]$Parallelism = @(1, 16, 64),
    [double]$TimeoutSeconds = 1
)
$ErrorActionPreference = 'Stop'
if (-not $ModulePath) {
    $version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'InfraRelocation.psd1')).ModuleVersion
    $ModulePath = Join-Path $RepoRoot 'output' 'InfraRelocation' $version 'InfraRelocation.psd1'
}
Import-Module $ModulePath -Force
. (Join-Path $RepoRoot 'tests/Pester/HttpFixture.ps1')

$root = Join-Path ([IO.Path]::GetTempPath()) "ir-bench-preflight-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
New-Item -ItemType Directory -Force -Path (Join-Path $root 'ops/bindings') | Out-Null
$hole = Start-TestBlackHole
try {
    $key = Join-Path $root 'id_bench'
    & ssh-keygen -q -t ed25519 -N '' -C ir-bench -f $key | Out-Null
    $ids = 1..$Targets | ForEach-Object { 'h{0:000}' -f $_ }
    $manifest = @('version: 1', 'active_relocation:', '  change_id: "BENCH-1"', '  state: "preflight"', 'services:')
    foreach ($id in $ids) { $manifest += "  - { service: `"svc-$id`", from_host: null, to_host: `"$id`", status: `"applied`" }" }
    Set-Content (Join-Path $root 'ops/bindings/infra.relocation.plan.yaml') $manifest
    $sshLines = @('ssh:', '  defaults:', '    user: "root"', "    identity_file: `"$key`"", '  targets:')
    foreach ($id in $ids) { $sshLines += "    - { id: `"$id`", host: `"127.0.0.1`", port: $($hole.Port), host_key: `"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`" }" }
    Set-Content (Join-Path $root 'ops/bindings/ssh.targets.yaml') $sshLines

    $rows = foreach ($p in $Parallelism) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $receipt = Invoke-RelocationPreflight -Root $root -ThrottleLimit $p -Timeout $TimeoutSeconds -ProgressAction SilentlyContinue |
            Where-Object { $_ -is [InfraRelocation.Receipts.PreflightReceipt] }
        $sw.Stop()
        $model = [math]::Ceiling($Targets / $p) * $TimeoutSeconds
        $timedOut = @($receipt.Hosts | Where-Object { $_.Evidence -match 'SshConnectFailed' }).Count
        [pscustomobject]@{
            Parallelism  = $p
            Hosts        = $receipt.Hosts.Count
            TimedOut     = $timedOut
            WallSeconds  = [math]::Round($sw.Elapsed.TotalSeconds, 2)
            ModelSeconds = $model
            Ratio        = [math]::Round($sw.Elapsed.TotalSeconds / $model, 2)
        }
    }
    $rows | Format-Table -AutoSize | Out-Host
    "| Parallelism | Hosts | Timed out | Wall (s) | Model ceil($Targets/p) x $TimeoutSeconds s | Wall / model |"
    '|---:|---:|---:|---:|---:|---:|'
    foreach ($r in $rows) { "| $($r.Parallelism) | $($r.Hosts) | $($r.TimedOut) | $($r.WallSeconds) | $($r.ModelSeconds) | $($r.Ratio) |" }
}
finally {
    $hole.Dispose()
    Remove-Item -Recurse -Force $root -ErrorAction SilentlyContinue
}
