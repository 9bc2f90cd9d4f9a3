<#
.SYNOPSIS
    Measures SSH latency (connect + one command), where it goes per phase, and preflight-style fan-out against a
    real Debian 12 machine, with its sshd as Debian ships it and with one server setting changed.
.DESCRIPTION
    Boots a test machine with the TestKit (systemd-nspawn, see tests/InfraRelocation.TestKit) and times, each
    -Repeat times (medians reported):
      openssh     the OpenSSH client: connect, authenticate, run `true` (the server's share of the cost);
      connect     SshSessionPool: a fresh connection (TCP, key exchange, host key check, authentication);
      connect+cmd a fresh pool: connect, then `echo ok` (what one preflight host costs);
      pooled cmd  `echo ok` on an open connection;
    then the same connect + `echo ok` with SSH.NET's debug log on, split by the log's timestamps into phases
    (TCP + server banner, key exchange, authentication, first channel open, exec until the channel closes); then a
    fan-out: -HostCount endpoint ids (each its own connection) on the machine's sshd, the live identity probe
    (connect + one command reading hostname and machine-id, as Test-HypervisorIdentity -Live does) at each
    -Parallelism, with the CPU time each side spent per connection (client: this process; server: every process of
    the machine, reaped children included). All of it twice: "Debian default" (the machine's sshd and
    /etc/pam.d/sshd as Debian 12 installs them; the test adds only its port, host key and key-only logins) and
    "no pam_motd" (the two pam_motd lines of /etc/pam.d/sshd commented out, see docs/design/ssh-latency.md).
    Needs root (machines); without them it says why and stops. -BenchmarksFile replaces the "SSH latency"
    section of docs/benchmarks.md.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; flock /tmp/ir-machines.lock dotnet pwsh tools/bench/Measure-SshLatency.ps1 -ModulePath output/InfraRelocation/0.1.0/InfraRelocation.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$ModulePath,
    [string]$BenchmarksFile,
    [int]$Repeat = 15,
    [int]$HostCount = 50,
    [int[]]$Parallelism = @(1, 16)
)
$ErrorActionPreference = 'Stop'
$bin = Join-Path (Split-Path (Resolve-Path $ModulePath).Path) 'bin'
Add-Type -Path (Join-Path $bin 'InfraRelocation.dll')
foreach ($dll in 'Microsoft.Extensions.Logging.Abstractions', 'Microsoft.Extensions.DependencyInjection.Abstractions', 'BouncyCastle.Cryptography',
    'Renci.SshNet', 'InfraRelocation.Core') { Add-Type -Path (Join-Path $bin 'private' "$dll.dll") }
$testKit = if ($env:INFRA_RELOCATION_TESTKIT) { $env:INFRA_RELOCATION_TESTKIT } else { Join-Path $PSScriptRoot '../../output/testkit/InfraRelocation.TestKit.dll' }
if (-not (Test-Path $testKit)) { Write-Warning "Skipped: the TestKit is not built ($testKit): run dotnet pwsh ./build.ps1 test -Suite Pester first."; return }
Add-Type -Path $testKit

$why = [InfraRelocation.TestKit.TestMachineSet]::Unavailable()
if ($why) { Write-Warning "Skipped: no test machines here: $why"; return }

function Get-Median([double[]]$Values) { $s = $Values | Sort-Object; [math]::Round($s[[int][math]::Floor($s.Count / 2)], 1) }
function New-Endpoint($Machine, [string]$Id) {
    $e = [InfraRelocation.Core.Ssh.SshEndpoint]::new($Id, $Machine.Host, 'root', $Machine.Port)
    # init-only properties: set through reflection.
    $e.GetType().GetProperty('PrivateKeyFiles').SetValue($e, [string[]]@($Machine.UserKeyPath))
    $e.GetType().GetProperty('PinnedHostKeys').SetValue($e, [string[]]@($Machine.HostKeyFingerprint))
    $e
}
function Wait-Task($Task) { $Task.GetAwaiter().GetResult() }
# CPU (ms) of every process of the machine, children it reaped included: the machine's control group name is in
# each process's /proc/<pid>/cgroup. Clock ticks of 10 ms.
function Get-MachineCpuMs($Machine) {
    $group = Split-Path -Leaf $Machine.Directory
    $ticks = 0
    foreach ($d in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -Match '^\d+$') {
        try {
            if (-not ([IO.File]::ReadAllText("$($d.FullName)/cgroup").Contains($group))) { continue }
            $stat = [IO.File]::ReadAllText("$($d.FullName)/stat"); $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            $ticks += [long]$f[11] + [long]$f[12] + [long]$f[13] + [long]$f[14]
        } catch { } # the process ended meanwhile
    }
    $ticks * 10
}

# SSH.NET's debug log with a timestamp per message: the phases of a connection, read off the messages' times.
Add-Type -IgnoreWarnings -WarningAction Ignore -ReferencedAssemblies 'System.Runtime', 'System.Collections', 'System.Threading', (Join-Path $bin 'private' 'Microsoft.Extensions.Logging.Abstractions.dll') -TypeDefinition @'
using System; using System.Collections.Generic; using System.Diagnostics; using Microsoft.Extensions.Logging;
public sealed class IrBenchSshLog : ILoggerFactory, ILogger
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<KeyValuePair<double, string>> _lines = new List<KeyValuePair<double, string>>();
    public bool Enabled;
    public void Reset() { lock (_lines) _lines.Clear(); _clock.Restart(); }
    public double At(string text) { lock (_lines) foreach (var l in _lines) if (l.Value.Contains(text)) return l.Key; throw new InvalidOperationException("not in SSH.NET's log: " + text); }
    public ILogger CreateLogger(string categoryName) { return this; }
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
    public IDisposable BeginScope<TState>(TState state) { return null; }
    public bool IsEnabled(LogLevel logLevel) { return Enabled; }
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception exception, Func<TState, Exception, string> formatter)
    { if (Enabled) { var t = _clock.Elapsed.TotalMilliseconds; var text = formatter(state, exception); lock (_lines) _lines.Add(new KeyValuePair<double, string>(t, text)); } }
}
'@
$sshLog = [IrBenchSshLog]::new()
[Renci.SshNet.SshNetLoggingConfiguration]::InitializeLogging($sshLog)

function Measure-Config($m, [string]$Config) {
    $ep = New-Endpoint $m 'bench-ssh'
    $none = [Threading.CancellationToken]::None
    # Warm up (JIT, crypto, the machine's first login).
    foreach ($i in 1..3) { $warm = [InfraRelocation.Core.Ssh.SshSessionPool]::new(); $null = Wait-Task ($warm.RunAsync($ep, 'echo ok', $null, $none)); $warm.Dispose() }

    $openssh = foreach ($i in 1..$Repeat) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = $m.Run('true'); if (-not $r.Succeeded) { throw "ssh failed: $($r.Stderr)" }
        $sw.Elapsed.TotalMilliseconds
    }
    $connect = [Collections.Generic.List[double]]::new(); $total = [Collections.Generic.List[double]]::new(); $pooled = [Collections.Generic.List[double]]::new()
    foreach ($i in 1..$Repeat) {
        $pool = [InfraRelocation.Core.Ssh.SshSessionPool]::new()
        try {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $null = Wait-Task ($pool.ConnectAsync($ep, $none)); $connect.Add($sw.Elapsed.TotalMilliseconds)
            $r = Wait-Task ($pool.RunAsync($ep, 'echo ok', $null, $none)); $total.Add($sw.Elapsed.TotalMilliseconds)
            if ($r.Stdout.Trim() -ne 'ok') { throw "echo ok said '$($r.Stdout)'" }
            $sw.Restart(); $null = Wait-Task ($pool.RunAsync($ep, 'echo ok', $null, $none)); $pooled.Add($sw.Elapsed.TotalMilliseconds)
        } finally { $pool.Dispose() }
    }
    $phases = @{ Banner = @(); Kex = @(); Auth = @(); Open = @(); Exec = @(); Total = @() }
    $sshLog.Enabled = $true
    try {
        foreach ($i in 1..$Repeat) {
            $pool = [InfraRelocation.Core.Ssh.SshSessionPool]::new()
            try {
                $sshLog.Reset()
                $null = Wait-Task ($pool.RunAsync($ep, 'echo ok', $null, $none))
                $end = $sshLog.At('Received message SSH_MSG_CHANNEL_CLOSE')
                $banner = $sshLog.At('Server version'); $keys = $sshLog.At('Received message SSH_MSG_NEWKEYS'); $auth = $sshLog.At('SSH_MSG_USERAUTH_SUCCESS')
                $open = $sshLog.At('Sending message SSH_MSG_CHANNEL_OPEN'); $confirmed = $sshLog.At('SSH_MSG_CHANNEL_OPEN_CONFIRMATION')
                $phases.Banner += $banner; $phases.Kex += $keys - $banner; $phases.Auth += $auth - $keys
                $phases.Open += $confirmed - $open; $phases.Exec += $end - $confirmed; $phases.Total += $end
            } finally { $pool.Dispose() }
        }
    } finally { $sshLog.Enabled = $false }

    $endpoints = [Collections.Generic.List[InfraRelocation.Core.Ssh.SshEndpoint]]::new()
    foreach ($i in 1..$HostCount) { $endpoints.Add((New-Endpoint $m ('host{0:00}' -f $i))) }
    $single = Get-Median $total
    $fan = foreach ($p in $Parallelism) {
        $runs = foreach ($i in 1..3) {
            $pool = [InfraRelocation.Core.Ssh.SshSessionPool]::new()
            try {
                $probe = [InfraRelocation.Core.Ssh.HypervisorProbe]::new($pool)
                $client0 = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds; $server0 = Get-MachineCpuMs $m
                $sw = [Diagnostics.Stopwatch]::StartNew()
                $r = Wait-Task ($probe.ReadIdentitiesAsync($endpoints, $p, $none))
                $wall = $sw.Elapsed.TotalMilliseconds
                Start-Sleep -Milliseconds 300 # the machine's last sessions end and are reaped
                [pscustomobject]@{
                    Wall = $wall
                    Client = ([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds - $client0) / $HostCount
                    Server = ((Get-MachineCpuMs $m) - $server0) / $HostCount
                }
                if (@($r | Where-Object { -not $_.Succeeded }).Count) { throw "fan-out: a host failed: $(@($r | Where-Object { -not $_.Succeeded })[0].Error.Message)" }
            } finally { $pool.Dispose() }
        }
        $rounds = [math]::Ceiling($HostCount / $p)
        [pscustomobject]@{ Config = $Config; Hosts = $HostCount; Parallelism = $p; Rounds = $rounds; MedianMs = Get-Median $runs.Wall
            RoundsTimesSingleMs = [math]::Round($rounds * $single); ClientCpuMs = Get-Median $runs.Client; ServerCpuMs = Get-Median $runs.Server }
    }
    [pscustomobject]@{
        Config = $Config
        Rows = @(
            [pscustomobject]@{ Measure = 'OpenSSH client: connect + true'; MedianMs = Get-Median $openssh }
            [pscustomobject]@{ Measure = 'SshSessionPool: connect'; MedianMs = Get-Median $connect }
            [pscustomobject]@{ Measure = 'SshSessionPool: connect + echo ok'; MedianMs = $single }
            [pscustomobject]@{ Measure = 'SshSessionPool: echo ok on an open connection'; MedianMs = Get-Median $pooled }
        )
        Phases = [pscustomobject]@{ Config = $Config; Banner = Get-Median $phases.Banner; Kex = Get-Median $phases.Kex; Auth = Get-Median $phases.Auth
            Open = Get-Median $phases.Open; Exec = Get-Median $phases.Exec; Total = Get-Median $phases.Total }
        Fan = $fan
    }
}

$set = [InfraRelocation.TestKit.TestMachineSet]::new()
try {
    $m = $set.Start('bench-ssh')
    $loads = @((Get-Content /proc/loadavg).Split(' ')[0])
    $results = @(Measure-Config $m 'Debian default')
    # The one server change measured: no message of the day for SSH logins (pam_motd runs /etc/update-motd.d
    # through sh, env and run-parts on every login, also for `ssh host command`). Read per login: no reload needed.
    $r = $m.Run("sed -i 's/^session[[:space:]]*optional[[:space:]]*pam_motd.so/#&/' /etc/pam.d/sshd && ! grep -q '^session.*pam_motd' /etc/pam.d/sshd")
    if (-not $r.Succeeded) { throw "could not turn pam_motd off: $($r.Stderr)" }
    $results += Measure-Config $m 'no pam_motd'
    $loads += (Get-Content /proc/loadavg).Split(' ')[0]

    foreach ($res in $results) { $res.Rows | Format-Table -AutoSize | Out-Host }
    $results.Phases | Format-Table -AutoSize | Out-Host
    $results.Fan | Format-Table -AutoSize | Out-Host
    if ($BenchmarksFile) {
        $cols = @($results.Config)
        $section = @(
            '## SSH latency', '',
            "Written by ``tools/bench/Measure-SshLatency.ps1`` on $(Get-Date -Format 'yyyy-MM-dd HH:mm') UTC, $([Environment]::ProcessorCount) cores, load average $($loads -join ' to ') while it ran",
            "(the machine is shared: other work competes for the same cores); a real Debian 12 machine (systemd-nspawn, OpenSSH 9.2 on 127.0.0.1),",
            "$Repeat runs each, medians. ""Debian default"": sshd and /etc/pam.d/sshd as Debian installs them (the test adds its port,",
            'an ed25519 host key, key-only logins and MaxStartups 100:30:200 so that one sshd takes the fan-out''s 16 connections at once).',
            '"no pam_motd": the same with the two pam_motd lines of /etc/pam.d/sshd commented out.', '',
            "| Measure | $($cols -join ' (ms) | ') (ms) |", "|---|$('---|' * $cols.Count)"
            for ($i = 0; $i -lt $results[0].Rows.Count; $i++) { "| $($results[0].Rows[$i].Measure) | $(($results | ForEach-Object { $_.Rows[$i].MedianMs }) -join ' | ') |" }
            '', 'Per phase (SSH.NET''s debug log, a timestamp per message; logging costs a little, so the sum is slightly above the row above):', '',
            '| Server | TCP + banner | Key exchange | Authentication | First channel open | Exec `echo ok` | Total (ms) |', '|---|---|---|---|---|---|---|'
            $results.Phases | ForEach-Object { "| $($_.Config) | $($_.Banner) | $($_.Kex) | $($_.Auth) | $($_.Open) | $($_.Exec) | $($_.Total) |" }
            '', "Fan-out: the live identity probe (connect + one command) over $HostCount endpoint ids (one connection each) on the machine's sshd, 3 runs each;",
            'CPU per connection: client = this process, server = every process of the machine (sshd, PAM, the shell):', '',
            '| Server | Hosts | Parallelism | Rounds | Median (ms) | Rounds x single connect+cmd (ms) | Client CPU / conn (ms) | Server CPU / conn (ms) |', '|---|---|---|---|---|---|---|---|'
            $results.Fan | ForEach-Object { "| $($_.Config) | $($_.Hosts) | $($_.Parallelism) | $($_.Rounds) | $($_.MedianMs) | $($_.RoundsTimesSingleMs) | $($_.ClientCpuMs) | $($_.ServerCpuMs) |" }
            ''
            'Before (2026-11-30, same script without phases, load 1.69): connect 57.5 ms, connect + echo ok 122 ms, fan-out 50 hosts'
            'at 16 in 1,979 ms. What the phases showed, and what changed (docs/design/ssh-latency.md has the traces):'
            ''
            '- First channel open: 40-50 ms of it was nobody working. Right after authentication OpenSSH writes its host-keys'
            '  notice and a debug message, then the channel confirmation; Nagle''s algorithm holds the confirmation until the'
            '  notice is acknowledged, and the client, having just sent the channel open, delays that ACK by Linux''s 40 ms'
            '  minimum (strace of sshd: confirmation written, then 42.5 ms until the client''s next packet; the OpenSSH client'
            '  shows the same 43 ms gap). `SshSessionPool` now keeps its ACKs immediate (TCP_QUICKACK, re-armed every'
            '  millisecond) while a connection''s first channel opens: notice and confirmation arrive together.'
            '- Fan-out: SSH.NET waits synchronously during key exchange, authentication and channel open (also in'
            '  ConnectAsync). 16 at once blocked 16 thread-pool threads of a 2-core process and waited for the pool to grow'
            '  (2.8 s, and 1.3 s with 40 minimum threads, at load 15). Both now run on threads of their own.'
            '- Key exchange: curve25519-sha256 with an ed25519 host key (what OpenSSH 9.2 and SSH.NET agree on once'
            '  sntrup761 is last); no nistp, no RSA: the user and host keys are ed25519. DNS is not involved (UseDNS no is'
            '  Debian''s default; the address is an IP).'
            '- The rest is the server''s: TCP + banner is sshd forking and re-executing itself for every connection; the'
            '  authentication phase includes its pubkey check, getpwnam and PAM account stage; the first channel open (now'
            '  without the stall) waits for the PAM session (pam_motd''s run-parts among it, which "no pam_motd" removes);'
            '  exec is bash starting as the login shell. That is why the figures are given for both configurations.'
            ''
            'Fan-out is CPU bound here: every connection costs the CPU in the last two columns, client and servers on the'
            "same $([Environment]::ProcessorCount) cores. The floor is $HostCount x (client + server CPU) / $([Environment]::ProcessorCount) cores even on an idle machine; rounds x"
            'single latency (the goal''s model) would need the 16 connections of a round to run on 16 idle cores, as they do'
            'when the hosts are really remote (each server pays its own CPU). Turning pam_motd off shortens the latency but'
            'barely the CPU: most of it is sshd''s re-exec, key exchange and the shell. This run''s floors at 16:'
            ''
            $results.Fan | Where-Object Parallelism -gt 1 | ForEach-Object {
                "- $($_.Config): $HostCount x ($($_.ClientCpuMs) + $($_.ServerCpuMs)) / $([Environment]::ProcessorCount) = $([math]::Round($HostCount * ($_.ClientCpuMs + $_.ServerCpuMs) / [Environment]::ProcessorCount)) ms against $($_.MedianMs) ms measured." }
            ''
        )
        $text = if (Test-Path $BenchmarksFile) { Get-Content -Raw $BenchmarksFile } else { "# Benchmarks`n" }
        $pattern = '(?ms)^## SSH latency\r?\n.*?(?=^## |\z)'
        $new = if ($text -match $pattern) { [regex]::Replace($text, $pattern, { param($x) ($section -join "`n") + "`n" }) } else { $text.TrimEnd() + "`n`n" + ($section -join "`n") + "`n" }
        Set-Content -NoNewline -Path $BenchmarksFile -Value $new
    }
} finally {
    $set.Dispose()
}
