<#
.SYNOPSIS
    Measures SSH fan-out: hypervisor identity probes over N real sshd hosts, sequential vs bounded-parallel.
.DESCRIPTION
    Starts -HostCount servers with tests/Pester/SshFixture.ps1 (real /usr/sbin/sshd on 127.0.0.1, each in its
    own namespace with its own hostname and machine-id when run as root), then times
    HypervisorProbe.ReadIdentitiesAsync over all of them with a fresh session pool (so each run pays the
    connections, as a real preflight does) for each -Parallelism value. Uses the built module's assemblies
    (Core and its dependencies are side by side in its bin/private folder).
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh tools/bench/Measure-SshFanOut.ps1 -ModulePath output/InfraRelocation/0.1.0/InfraRelocation.psd1 -HostCount 16
#>
[CmdletBinding()]
param(
    [int]$HostCount = 16,
    [int[]]$Parallelism = @(1, 4, 16),
    [int]$Repeat = 3,
    # Also time hosts that accept TCP but never answer (a hung or firewalled host), each costing ConnectTimeout:
    # this is the latency-bound case where fan-out pays off most (the reference waited 6 s per host in turn).
    [int]$SilentHostCount = 16,
    [double]$ConnectTimeoutSeconds = 1,
    [string]$ModulePath
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'Shared' 'BenchCommon.ps1')
if (-not $ModulePath) { $ModulePath = Get-BuiltModulePath (Join-Path $PSScriptRoot '..' '..') }
$bin = Join-Path (Split-Path (Resolve-Path $ModulePath).Path) 'bin'
Add-Type -Path (Join-Path $bin 'InfraRelocation.dll')
foreach ($dll in 'Microsoft.Extensions.Logging.Abstractions', 'Microsoft.Extensions.DependencyInjection.Abstractions', 'BouncyCastle.Cryptography',
    'Renci.SshNet', 'InfraRelocation.Core') { Add-Type -Path (Join-Path $bin 'private' "$dll.dll") }
. (Join-Path $PSScriptRoot '../../tests/Pester/SshFixture.ps1')

$reason = Test-TestSshServerAvailable
if ($reason) { Write-Warning "Skipped: $reason"; return }

$silent = 1..$SilentHostCount | ForEach-Object {
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(64); $l
}
$servers = 1..$HostCount | ForEach-Object { Start-TestSshServer -Name ('bench-hv{0:00}' -f $_) }
try {
    $endpoints = [System.Collections.Generic.List[InfraRelocation.Core.Ssh.SshEndpoint]]::new()
    foreach ($s in $servers) {
        $e = [InfraRelocation.Core.Ssh.SshEndpoint]::new($s.Name, $s.Host, $s.User, $s.Port)
        # init-only properties: set through reflection (cmdlets will get a factory from the estate model).
        $e.GetType().GetProperty('PrivateKeyFiles').SetValue($e, [string[]]@($s.UserKeyPath))
        $e.GetType().GetProperty('PinnedHostKeys').SetValue($e, [string[]]@($s.HostKeyFingerprint))
        $endpoints.Add($e)
    }
    $silentEndpoints = [System.Collections.Generic.List[InfraRelocation.Core.Ssh.SshEndpoint]]::new()
    foreach ($l in $silent) {
        $e = [InfraRelocation.Core.Ssh.SshEndpoint]::new("silent-$($l.LocalEndpoint.Port)", '127.0.0.1', $servers[0].User, $l.LocalEndpoint.Port)
        $e.GetType().GetProperty('PrivateKeyFiles').SetValue($e, [string[]]@($servers[0].UserKeyPath))
        $e.GetType().GetProperty('PinnedHostKeys').SetValue($e, [string[]]@($servers[0].HostKeyFingerprint))
        $e.GetType().GetProperty('ConnectTimeout').SetValue($e, [TimeSpan]::FromSeconds($ConnectTimeoutSeconds))
        $silentEndpoints.Add($e)
    }
    foreach ($case in @(@{ Name = 'live sshd'; List = $endpoints; MustSucceed = $true }, @{ Name = 'silent'; List = $silentEndpoints; MustSucceed = $false })) {
    if ($case.List.Count -eq 0) { continue }
    foreach ($p in $Parallelism) {
        $times = foreach ($i in 1..$Repeat) {
            $pool = [InfraRelocation.Core.Ssh.SshSessionPool]::new()
            try {
                $probe = [InfraRelocation.Core.Ssh.HypervisorProbe]::new($pool)
                $sw = [Diagnostics.Stopwatch]::StartNew()
                $r = $probe.ReadIdentitiesAsync($case.List, $p, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
                $sw.Stop()
                $failed = @($r | Where-Object { -not $_.Succeeded })
                if ($case.MustSucceed -and $failed) { throw "probe failed: $($failed[0].Error.Message)" }
                $sw.Elapsed.TotalMilliseconds
            } finally { $pool.Dispose() }
        }
        [pscustomobject]@{
            Case = $case.Name; Hosts = $case.List.Count; Parallelism = $p; Rounds = [math]::Ceiling($case.List.Count / $p)
            MedianMs = [math]::Round(($times | Sort-Object)[[int][math]::Floor($times.Count / 2)])
            AllMs = ($times | ForEach-Object { [math]::Round($_) }) -join ' '
        }
    }
    }
} finally {
    $servers | Stop-TestSshServer
    $silent | ForEach-Object { $_.Stop() }
}
