# Real OpenSSH servers on 127.0.0.1 for Pester tests and the demo (dot-source this file).
# Same design as tests/InfraRelocation.Core.Tests/Ssh/SshServerFixture.cs: a generated host key per server,
# one generated user key authorised for the current user, a temporary sshd_config, `sshd -D -e -f`.
# As root with unshare, each server runs in its own UTS + mount namespace where fixture files are bound over
# /etc/hostname, /etc/hosts and /etc/machine-id (and a tmpfs over /run hides the system D-Bus), so identity
# probes and hostname changes are real but never reach this machine.
#
#   $hv = Start-TestSshServer -Name hv-east -Hostname pve -MachineId 0123...
#   ... $hv.Port, $hv.HostKeyFingerprint, $hv.UserKeyPath, $hv.User, $hv.KnownHostsLine ...
#   Stop-TestSshServer $hv        # or: Get-TestSshServer | Stop-TestSshServer
#
# Start-TestSshServer throws "SSH fixture unavailable: ..." when sshd cannot run; callers turn that into a skip
# (Test-TestSshServerAvailable returns the reason, or $null).

# IR_TEST_SSHD overrides the sshd binary (as in the xUnit fixture), e.g. to check the skip path.
$script:SshdPath = if ($env:IR_TEST_SSHD) { $env:IR_TEST_SSHD } else { '/usr/sbin/sshd' }
$script:TestSshServers = [System.Collections.Generic.List[object]]::new()
$script:TestSshRoot = $null

function Test-TestSshServerAvailable {
    [OutputType([string])]
    param()
    if (-not (Test-Path $script:SshdPath)) { return "$($script:SshdPath) not found: install openssh-server." }
    if (-not (Get-Command ssh-keygen -ErrorAction SilentlyContinue)) { return 'ssh-keygen not found: install openssh-client.' }
    return $null
}

function Initialize-TestSshRoot {
    if ($script:TestSshRoot -and (Test-Path $script:TestSshRoot)) { return }
    $script:TestSshRoot = (New-Item -ItemType Directory -Path ([IO.Path]::Combine([IO.Path]::GetTempPath(), "ir-sshd-$([guid]::NewGuid().ToString('N').Substring(0, 8))"))).FullName
    $key = Join-Path $script:TestSshRoot 'id_user'
    & ssh-keygen -q -t ed25519 -N '' -C ir-test -f $key | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "SSH fixture unavailable: ssh-keygen failed ($LASTEXITCODE)." }
    Copy-Item "$key.pub" (Join-Path $script:TestSshRoot 'authorized_keys')
}

function Test-TestSshIsolation {
    if ([Environment]::UserName -ne 'root' -or -not (Test-Path /usr/bin/unshare)) { return $false }
    & /usr/bin/unshare --uts --mount /bin/true 2>$null
    return $LASTEXITCODE -eq 0
}

function Get-TestSshFreePort {
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
    return $port
}

function Start-TestSshServer {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)][ValidatePattern('^[A-Za-z0-9._-]+$')][string]$Name,
        [string]$Hostname = $Name,
        [ValidatePattern('^[0-9a-fA-F]{32}$')][string]$MachineId = [guid]::NewGuid().ToString('N'),
        [string]$Fqdn,
        [int]$Port = 0
    )
    $reason = Test-TestSshServerAvailable
    if ($reason) { throw "SSH fixture unavailable: $reason" }
    Initialize-TestSshRoot
    $dir = (New-Item -ItemType Directory -Force -Path (Join-Path $script:TestSshRoot $Name)).FullName
    $hostKey = Join-Path $dir 'ssh_host_ed25519_key'
    if (-not (Test-Path $hostKey)) {
        & ssh-keygen -q -t ed25519 -N '' -C ir-test -f $hostKey | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "SSH fixture unavailable: ssh-keygen failed ($LASTEXITCODE)." }
    }
    Set-Content -NoNewline -Path (Join-Path $dir 'hostname') -Value "$Hostname`n"
    Set-Content -NoNewline -Path (Join-Path $dir 'machine-id') -Value "$($MachineId.ToLowerInvariant())`n"
    $names = if ($Fqdn) { "$Fqdn $Hostname" } else { $Hostname }
    Set-Content -NoNewline -Path (Join-Path $dir 'hosts') -Value "127.0.0.1 localhost`n127.0.1.1 $names`n"
    if ($Port -eq 0) { $Port = Get-TestSshFreePort }
    $cfg = Join-Path $dir 'sshd_config'
    @(
        'ListenAddress 127.0.0.1', "Port $Port", "HostKey $hostKey", "PidFile $(Join-Path $dir 'sshd.pid')",
        "AuthorizedKeysFile $(Join-Path $script:TestSshRoot 'authorized_keys')", 'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
        'StrictModes no', 'MaxStartups 100:30:200', 'LogLevel INFO'
    ) | Set-Content -Path $cfg

    $isolated = Test-TestSshIsolation
    $log = Join-Path $dir 'sshd.log'
    $run = "exec $($script:SshdPath) -D -e -f $cfg </dev/null >>$log 2>&1"
    $psi = [System.Diagnostics.ProcessStartInfo]::new()
    $psi.UseShellExecute = $false
    if ($isolated) {
        $script = @(
            'mount -t tmpfs -o mode=755 ir-run /run', 'mkdir -m 755 /run/sshd',
            "mount --bind $dir/hostname /etc/hostname", "mount --bind $dir/hosts /etc/hosts",
            "mount --bind $dir/machine-id /etc/machine-id",
            "{ [ ! -e /var/lib/dbus/machine-id ] || mount --bind $dir/machine-id /var/lib/dbus/machine-id; }",
            "hostname `"`$(cat $dir/hostname)`"", $run) -join ' && '
        $psi.FileName = '/usr/bin/unshare'
        foreach ($a in '--uts', '--mount', '--propagation', 'private', '/bin/sh', '-c', "$script >>$log 2>&1") { $psi.ArgumentList.Add($a) }
    } else {
        $psi.FileName = '/bin/sh'
        foreach ($a in '-c', $run) { $psi.ArgumentList.Add($a) }
    }
    $proc = [System.Diagnostics.Process]::Start($psi)

    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    $ready = $false
    while (-not $ready -and [DateTime]::UtcNow -lt $deadline) {
        if ($proc.HasExited) { throw "SSH fixture unavailable: sshd '$Name' exited with $($proc.ExitCode): $(Get-Content -Raw $log)" }
        try {
            $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $Port)
            $c.ReceiveTimeout = 2000
            $ready = $c.GetStream().Read([byte[]]::new(8), 0, 8) -gt 0
            $c.Dispose()
        } catch { Start-Sleep -Milliseconds 50 }
    }
    if (-not $ready) { $proc.Kill($true); throw "SSH fixture unavailable: sshd '$Name' did not answer on port $Port." }

    $pub = (Get-Content -Raw "$hostKey.pub").Trim().Split(' ')
    $fp = (& ssh-keygen -l -E sha256 -f "$hostKey.pub").Split(' ')[1]
    $server = [pscustomobject]@{
        PSTypeName         = 'InfraRelocation.TestSshServer'
        Name               = $Name
        Host               = '127.0.0.1'
        Port               = $Port
        User               = [Environment]::UserName
        UserKeyPath        = Join-Path $script:TestSshRoot 'id_user'
        HostKeyFingerprint = $fp
        KnownHostsLine     = "[127.0.0.1]:$Port $($pub[0]) $($pub[1])"
        Hostname           = $Hostname
        MachineId          = $MachineId.ToLowerInvariant()
        IsolatesIdentity   = $isolated
        Directory          = $dir
        HostnameFile       = Join-Path $dir 'hostname'
        LogPath            = $log
        Process            = $proc
    }
    $script:TestSshServers.Add($server)
    return $server
}

function Get-TestSshServer { $script:TestSshServers.ToArray() }

function Stop-TestSshServer {
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)][object[]]$Server, [switch]$KeepFiles)
    process {
        foreach ($s in $Server) {
            # Kills this server's own process tree only (the listener and its session children).
            if (-not $s.Process.HasExited) { $s.Process.Kill($true); $null = $s.Process.WaitForExit(5000) }
            $null = $script:TestSshServers.Remove($s)
        }
    }
    end {
        if (-not $KeepFiles -and $script:TestSshServers.Count -eq 0 -and $script:TestSshRoot -and (Test-Path $script:TestSshRoot)) {
            Remove-Item -Recurse -Force $script:TestSshRoot
            $script:TestSshRoot = $null
        }
    }
}
